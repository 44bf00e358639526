//! Clusters at scale along each dimension a few lines of a declaration can make large: the
//! benchmarks' and growth tests' shapes, each one that once grew faster than its input.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use super::cluster;
use crate::{
    Addressing, Bootstrap, Cluster, DomainKind, Group, Ipv4Net, Layout, Network, Os, Requirement, Size, Unit, UnitBody,
};

/// A Kubernetes cluster on Flatcar at scale, for the scale benchmark and growth tests: 5
/// members across 5 cabinets, `machines − 5` workers across `domains` cabinets (dealt in turn,
/// each a failure domain), every machine statically addressed, and `workloads` workloads of 3
/// replicas on the workers, each keeping its replicas on nodes of their own (a `conflicts` glob
/// on its own instances), the first of every ten global (a DaemonSet). Pod range `100.64.0.0/10`
/// (16,384 node ranges).
pub fn kubernetes_at_scale(machines: u32, domains: u32, workloads: u32) -> Cluster {
    let cabinets = |n: u32| (0..n).map(|d| format!("c{d}")).collect::<Vec<_>>();
    let mut members = Group::new("central", "central", Size::Fixed(5)).across(DomainKind::Cabinet, cabinets(5));
    members.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 15) };
    let mut cluster = Cluster::new("scale", Layout::CentralServices, members);
    cluster.os = Os::Flatcar;
    cluster.bootstrap = Bootstrap::Static;
    cluster.network = Some(Network::new(Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8)));
    let workers = machines.saturating_sub(5).max(1);
    let mut pool =
        Group::new("worker", "worker", Size::Fixed(workers)).across(DomainKind::Cabinet, cabinets(domains.max(1)));
    let last = u32::from(Ipv4Addr::new(10, 1, 0, 1)) + workers - 1;
    pool.addressing = Addressing::Range { first: Ipv4Addr::new(10, 1, 0, 1), last: Ipv4Addr::from(last) };
    cluster.pools = Cow::Owned(vec![pool]);
    let mut k = crate::kubernetes::Kubernetes::new("v1.36.3");
    k.services = Ipv4Net::new(Ipv4Addr::new(172, 16, 0, 0), 16);
    k.pods = Ipv4Net::new(Ipv4Addr::new(100, 64, 0, 0), 10);
    cluster.kubernetes = Some(k);
    cluster.units = Cow::Owned(
        (0..workloads)
            .map(|w| {
                let mut unit = if w % 10 == 0 {
                    let mut u = Unit::new(format!("agent-{w}.service"), UnitBody::Inline(Cow::Borrowed("")));
                    u.global = true;
                    u
                } else {
                    let mut u = Unit::new(format!("app-{w}@.service"), UnitBody::Inline(Cow::Borrowed("")));
                    u.instances = Some(3);
                    u.conflicts = Cow::Owned(vec![Cow::Owned(format!("app-{w}@*.service"))]);
                    u
                };
                unit.machine_metadata = Cow::Owned(vec![Requirement {
                    key: Cow::Borrowed("role"),
                    values: Cow::Borrowed(&[Cow::Borrowed("worker")]),
                }]);
                unit.container = Some(crate::kubernetes::Container::new(Cow::Borrowed("quay.io/example/app:1.0")));
                unit
            })
            .collect(),
    );
    cluster
}

/// `workloads` workloads that all conflict with each other (each declares `conflicts: ["w-*"]`)
/// and may all run on the same workers: the shape that made `check` report one error per pair.
pub fn conflicting_workloads(workloads: u32) -> Cluster {
    let mut cluster = kubernetes_at_scale(20, 3, 0);
    cluster.units = Cow::Owned(
        (0..workloads)
            .map(|w| {
                let mut u = Unit::new(format!("w-{w}.service"), UnitBody::Inline(Cow::Borrowed("")));
                u.conflicts = Cow::Borrowed(&[Cow::Borrowed("w-*")]);
                u.container = Some(crate::kubernetes::Container::new(Cow::Borrowed("quay.io/example/app:1.0")));
                u
            })
            .collect(),
    );
    cluster
}

/// `cabinets` one-machine cabinets of workers with `cabinets` host files declared cluster-wide
/// and one more per cabinet (`host_in`): host configuration × failure domains, the shape that
/// made `host_collision` walk every kind's items.
pub fn host_items_across(cabinets: u32) -> Cluster {
    let mut cluster = cluster(5, 0);
    let names: Vec<String> = (0..cabinets).map(|d| format!("c{d}")).collect();
    let mut pool = Group::new("worker", "worker", Size::Fixed(cabinets)).across(DomainKind::Cabinet, names.clone());
    pool.addressing = Addressing::Range {
        first: Ipv4Addr::new(10, 1, 0, 1),
        last: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 1)) + cabinets),
    };
    let file = |path: String| crate::host::HostFile {
        path: Cow::Owned(path),
        contents: UnitBody::Inline(Cow::Borrowed("x\n")),
        mode: 0o644,
        owner: None,
        group: None,
    };
    pool.host_in = Cow::Owned(
        names
            .iter()
            .map(|d| {
                let h = crate::host::HostConfig {
                    files: Cow::Owned(vec![file(format!("/etc/cabinet/{d}"))]),
                    ..Default::default()
                };
                (Cow::Owned(d.clone()), h)
            })
            .collect(),
    );
    cluster.pools = Cow::Owned(vec![pool]);
    cluster.host.files = Cow::Owned((0..cabinets).map(|i| file(format!("/etc/app/f{i}"))).collect());
    cluster
}

/// `cabinets` one-machine cabinets of workers, each with a /24 network of its own carved out of
/// the cluster's /8: the failure-domain network rules over many domains.
pub fn domain_networks(cabinets: u32) -> Cluster {
    let mut cluster = cluster(5, 0);
    let names: Vec<String> = (0..cabinets).map(|d| format!("c{d}")).collect();
    let mut pool = Group::new("worker", "worker", Size::Fixed(cabinets)).across(DomainKind::Cabinet, names.clone());
    // Cabinet d's /24 is 10.(16 + d / 256).(d % 256).0, its machine the .10 in it.
    let subnet = |d: u32| Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 16, 0, 0)) + (d << 8));
    pool.addressing =
        Addressing::List(Cow::Owned((0..cabinets).map(|d| Ipv4Addr::from(u32::from(subnet(d)) + 10)).collect()));
    cluster.pools = Cow::Owned(vec![pool]);
    if let Some(network) = &mut cluster.network {
        network.domains = Cow::Owned(
            names
                .iter()
                .zip(0..)
                .map(|(name, d)| crate::network::DomainNetwork {
                    kind: DomainKind::Cabinet,
                    name: Cow::Owned(name.clone()),
                    subnet: Ipv4Net::new(subnet(d), 24),
                    gateway: Some(Ipv4Addr::from(u32::from(subnet(d)) + 1)),
                })
                .collect(),
        );
    }
    cluster
}

/// A cluster whose workers publish `keys` metadata keys, and a unit requiring every one: the
/// metadata rules over what one line of a declaration can make long.
pub fn many_metadata_keys(keys: u32) -> Cluster {
    let mut cluster = cluster(10, 1);
    let mut pools = cluster.pools.to_vec();
    pools[0].metadata =
        Cow::Owned((0..keys).map(|k| (Cow::Owned(format!("k{k}")), Cow::Owned(format!("v{k}")))).collect());
    cluster.pools = Cow::Owned(pools);
    let mut units = cluster.units.to_vec();
    units[0].machine_metadata = Cow::Owned(
        (0..keys)
            .map(|k| Requirement {
                key: Cow::Owned(format!("k{k}")),
                values: Cow::Owned(vec![Cow::Owned(format!("v{k}"))]),
            })
            .collect(),
    );
    cluster.units = Cow::Owned(units);
    cluster
}

/// One pod whose two containers (`web.service` and `log.service`, which follows it) each list
/// `ports` ports, 50 distinct ones over and over: the shape that made `check` report one error
/// per repeated port.
pub fn ports_in_one_pod(ports: u32) -> Cluster {
    let mut cluster = kubernetes_at_scale(20, 3, 0);
    let list: Vec<u16> = (0..ports).map(|i| 8000 + (i % 50) as u16).collect();
    let unit = |name: &str, follows: Option<&str>| {
        let mut u = Unit::new(name.to_string(), UnitBody::Inline(Cow::Borrowed("")));
        u.machine_of = follows.map(|f| Cow::Owned(f.to_string()));
        let mut container = crate::kubernetes::Container::new(Cow::Borrowed("quay.io/example/app:1.0"));
        container.ports = Cow::Owned(list.clone());
        u.container = Some(container);
        u
    };
    cluster.units = Cow::Owned(vec![unit("web.service", None), unit("log.service", Some("web.service"))]);
    cluster
}

/// `workloads` workloads on `workloads` cabinets of three workers, each confined to its own
/// cabinet (`cabinet = cN` beside `role = worker`): as many sets of nodes whose pods are
/// counted against their room as workloads, and each failure domain's loss touching one of
/// them. Each workload's outage with its cabinet is accepted, so the cluster passes every rule
/// (up to 1,000 workloads: 3 replicas each, under the cluster's 10,000 instances).
pub fn confined_workloads(workloads: u32) -> Cluster {
    let mut cluster = kubernetes_at_scale(3 * workloads + 5, workloads, workloads);
    let mut units = cluster.units.to_vec();
    for (w, unit) in units.iter_mut().enumerate() {
        let mut requirements = unit.machine_metadata.to_vec();
        requirements
            .push(Requirement { key: Cow::Borrowed("cabinet"), values: Cow::Owned(vec![Cow::Owned(format!("c{w}"))]) });
        unit.machine_metadata = Cow::Owned(requirements);
    }
    cluster.units = Cow::Owned(units);
    cluster.accept_risks(|_| "each workload waits for its cabinet".to_string());
    cluster
}
