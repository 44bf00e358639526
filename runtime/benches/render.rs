//! What rendering costs: every artifact, in memory, for clusters of growing size.
//!
//! Run with `cargo bench -p clusterdef --bench render`.

use std::borrow::Cow;
use std::hint::black_box;
use std::net::Ipv4Addr;

use clusterdef::{Addressing, Cluster, DomainKind, Group, Layout, Network, Render, Requirement, Size, Unit, UnitBody};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

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

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("render");
    group.sample_size(20);
    for machines in [1_000u32, 10_000] {
        let cluster = cluster(machines, 100);
        let bytes: usize = cluster.render().expect("the benchmark cluster renders").values().map(Vec::len).sum();
        group.throughput(Throughput::Bytes(bytes as u64));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{machines}m_100u")), &cluster, |b, cluster| {
            b.iter_with_large_drop(|| black_box(cluster.render()))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
