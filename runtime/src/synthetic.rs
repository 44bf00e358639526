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

#[cfg(test)]
/// A Flatcar cluster turned into one that boots from matchbox: every fixed group that boots
/// from disk gets a MAC per machine, no pool keeps a URL of its own.
pub(crate) fn on_matchbox(mut cluster: clusterdef_model::Cluster, seed: u8) -> clusterdef_model::Cluster {
    cluster.boot_server = Some("http://10.9.0.5:8080".into());
    cluster.boot_server_kind = clusterdef_model::BootServerKind::Matchbox;
    let mut next = 0u32;
    let mut macs = |n: u32| -> Vec<std::borrow::Cow<'static, str>> {
        (0..n)
            .map(|_| {
                next += 1;
                format!("52:54:{seed:02X}:{:02x}:{:02x}:{:02x}", next >> 16 & 255, next >> 8 & 255, next & 255).into()
            })
            .collect()
    };
    if let (clusterdef_model::Boot::Disk, clusterdef_model::Size::Fixed(n)) =
        (&cluster.members.boot, cluster.members.size)
    {
        cluster.members.macs = std::borrow::Cow::Owned(macs(n));
    }
    for pool in cluster.pools.to_mut() {
        if let clusterdef_model::Boot::Pxe { url } = &mut pool.boot {
            *url = None;
        }
        if let (clusterdef_model::Boot::Disk, clusterdef_model::Size::Fixed(n)) = (&pool.boot, pool.size) {
            pool.macs = std::borrow::Cow::Owned(macs(n));
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
