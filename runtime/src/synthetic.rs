//! Synthetic clusters of any size, for the benchmarks and the growth tests.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use clusterdef_model::{Addressing, Cluster, DomainKind, Group, Layout, Network, Requirement, Size, Unit, UnitBody};

/// 5 central machines and `machines` more in pools of 100, each machine with its own
/// cloud-config, and `units` units placed by metadata.
pub fn cluster(machines: u32, units: u32) -> Cluster {
    let mut members = Group::new("central", "central", Size::Fixed(5)).across(DomainKind::Cabinet, ["a", "b", "c"]);
    members.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 15) };
    let mut cluster = Cluster::new("bench", Layout::CentralServices, members);
    cluster.network = Some(Network {
        subnet: "10.0.0.0/8".parse().expect("subnet"),
        gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
        dns: Cow::Owned(vec![Ipv4Addr::new(10, 0, 0, 2)]),
        interface: Cow::Borrowed("eth0"),
    });
    let pools: Vec<Group> = (0..machines.div_ceil(100))
        .map(|p| {
            let n = (machines - p * 100).min(100);
            let mut pool =
                Group::new(format!("p{p}"), "worker", Size::Fixed(n)).across(DomainKind::Cabinet, ["a", "b", "c"]);
            pool.addressing = Addressing::Range {
                first: Ipv4Addr::new(10, 1 + (p / 200) as u8, (p % 200) as u8, 1),
                last: Ipv4Addr::new(10, 1 + (p / 200) as u8, (p % 200) as u8, 100),
            };
            pool.metadata = Cow::Owned(vec![(Cow::Borrowed("tier"), Cow::Owned(format!("t{}", p % 4)))]);
            pool
        })
        .collect();
    let tiers = pools.len().clamp(1, 4);
    cluster.pools = Cow::Owned(pools);
    cluster.units = Cow::Owned(
        (0..units)
            .map(|u| {
                let body = format!("[Unit]\nDescription=app {u}\n\n[Service]\nExecStart=/usr/bin/app --id {u}\n");
                let mut unit = Unit::new(format!("app-{u}.service"), UnitBody::Inline(Cow::Owned(body)));
                unit.machine_metadata = Cow::Owned(vec![
                    Requirement { key: Cow::Borrowed("role"), values: Cow::Borrowed(&[Cow::Borrowed("worker")]) },
                    Requirement {
                        key: Cow::Borrowed("tier"),
                        values: Cow::Owned(vec![Cow::Owned(format!("t{}", u as usize % tiers))]),
                    },
                ]);
                unit
            })
            .collect(),
    );
    cluster
}

/// The median time of `runs` calls of `f`, interleaved with `g` so both see the same noise.
#[doc(hidden)]
pub fn paired_medians(
    runs: usize,
    mut f: impl FnMut(),
    mut g: impl FnMut(),
) -> (std::time::Duration, std::time::Duration) {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let t = std::time::Instant::now();
        f();
        a.push(t.elapsed());
        let t = std::time::Instant::now();
        g();
        b.push(t.elapsed());
    }
    a.sort();
    b.sort();
    (a[runs / 2], b[runs / 2])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Render;

    /// Ten times the machines, or ten times the units, costs at most twelve times as much.
    /// A ratio, not an absolute time, so it holds on any machine; medians of interleaved runs.
    #[test]
    fn rendering_grows_linearly() {
        for (label, small, big) in
            [("machines", cluster(300, 30), cluster(3_000, 30)), ("units", cluster(100, 30), cluster(100, 300))]
        {
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
