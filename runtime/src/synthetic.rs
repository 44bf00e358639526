//! Synthetic clusters (the model's generator), and the growth test of rendering.

pub use clusterdef_model::synthetic::*;

/// The clusters the render's own tests go through: a CoreOS, a Flatcar and a Kubernetes one,
/// and `random` random CoreOS and Flatcar clusters each.
#[cfg(test)]
pub(crate) fn sample_clusters(random: u64) -> Vec<clusterdef_model::Cluster> {
    let mut clusters = vec![cluster(40, 4), flatcar_cluster(40, 4), kubernetes_cluster(12, 6)];
    clusters.extend((0..random).map(|seed| random_cluster(seed).0));
    clusters.extend((0..random).map(|seed| random_flatcar_cluster(seed).0));
    clusters
}

/// The `i`-th MAC address of a family of synthetic machines, `52:54:<family>:…` (the QEMU
/// prefix), the family's byte in capitals (so whatever keys machines by MAC must compare case
/// aside, as dnsmasq and matchbox do): distinct for every `(family, i)` below 2^24.
#[doc(hidden)]
pub fn mac(family: u8, i: u32) -> clusterdef_model::Text {
    format!("52:54:{family:02X}:{:02x}:{:02x}:{:02x}", i >> 16 & 255, i >> 8 & 255, i & 255).into()
}

/// `cluster` turned into one that boots from matchbox: every fixed group that boots from disk
/// gets a MAC per machine (of family `family`), no pool keeps a boot URL of its own.
#[doc(hidden)]
pub fn on_matchbox(mut cluster: clusterdef_model::Cluster, family: u8) -> clusterdef_model::Cluster {
    use clusterdef_model::{Boot, Size};
    cluster.boot_server = Some("http://10.9.0.5:8080".into());
    cluster.boot_server_kind = clusterdef_model::BootServerKind::Matchbox;
    let mut next = 0u32;
    let mut macs = |n: u32| -> clusterdef_model::List<clusterdef_model::Text> {
        let first = next;
        next += n;
        (first..next).map(|i| mac(family, i)).collect()
    };
    if let (Boot::Disk, Size::Fixed(n)) = (&cluster.members.boot, cluster.members.size) {
        cluster.members.macs = macs(n);
    }
    for pool in cluster.pools.to_mut() {
        if let Boot::Pxe { url } = &mut pool.boot {
            *url = None;
        }
        if let (Boot::Disk, Size::Fixed(n)) = (&pool.boot, pool.size) {
            pool.macs = macs(n);
        }
    }
    cluster
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Render;

    /// Ten times the machines, or ten times the units, costs at most twelve times as much.
    /// A ratio, not an absolute time, so it holds on any machine; medians of interleaved runs.
    #[test]
    fn rendering_grows_linearly() {
        for (label, small, big) in [
            ("machines", cluster(300, 30), cluster(3_000, 30)),
            ("units", cluster(100, 30), cluster(100, 300)),
            ("Kubernetes machines", kubernetes_cluster(300, 30), kubernetes_cluster(3_000, 30)),
        ] {
            let (s, b) = paired_medians(
                7,
                || {
                    let _ = std::hint::black_box(small.render());
                },
                || {
                    let _ = std::hint::black_box(big.render());
                },
            );
            let ratio = b.as_secs_f64() / s.as_secs_f64();
            assert!(ratio <= 12.0, "10x the {label} took {ratio:.1}x the time ({s:?} -> {b:?})");
        }
    }
}
