//! Synthetic clusters, the one generator every benchmark and property test draws from: of any
//! size (`cluster`), for the benchmarks and the growth tests of every front end (the language's
//! form is this cluster printed), and random ones of every shape (`random_cluster`), for the
//! tests that read rendered files back and round-trip the printer. Also the paired timing the
//! growth tests share.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::{
    Addressing, Boot, Bootstrap, Channel, Cluster, DomainKind, EtcdRelease, Group, Hostnames, Ipv4Net, Layout, Network,
    Os, RebootStrategy, RebootWindow, Requirement, Size, Tls, Unit, UnitBody, Windows,
};

/// `machines` machines in all (5 central, the rest in pools of 100 across three cabinets, all
/// statically addressed, each machine with its own cloud-config), and `units` units, each
/// requiring a role, a tier and two of the three cabinets, and spreading its instances with a
/// `conflicts` glob.
pub fn cluster(machines: u32, units: u32) -> Cluster {
    let machines = machines.saturating_sub(5);
    let mut members = Group::new("central", "central", Size::Fixed(5)).across(DomainKind::Cabinet, ["a", "b", "c"]);
    members.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 15) };
    let mut cluster = Cluster::new("bench", Layout::CentralServices, members);
    cluster.network = Some(Network {
        gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
        dns: Cow::Owned(vec![Ipv4Addr::new(10, 0, 0, 2)]),
        ..Network::new(Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8))
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
                    Requirement {
                        key: Cow::Borrowed("cabinet"),
                        values: Cow::Borrowed(&[Cow::Borrowed("a"), Cow::Borrowed("b")]),
                    },
                ]);
                unit.conflicts = Cow::Owned(vec![Cow::Owned(format!("app-{u}-*.service"))]);
                unit
            })
            .collect(),
    );
    cluster
}

/// [`cluster`] on Flatcar: the same machines and units, members bootstrapping from their
/// static addresses, units placed at render time.
pub fn flatcar_cluster(machines: u32, units: u32) -> Cluster {
    let mut c = cluster(machines, units);
    c.os = Os::Flatcar;
    c.bootstrap = Bootstrap::Static;
    c
}

/// [`flatcar_cluster`] running Kubernetes: every unit a workload (an image instead of a body),
/// service and pod ranges outside the machines' `10.0.0.0/8`, and the risks the draw takes
/// (a workload that cannot survive a cabinet's loss) allowed.
pub fn kubernetes_cluster(machines: u32, units: u32) -> Cluster {
    let mut c = flatcar_cluster(machines, units);
    let mut k = crate::kubernetes::Kubernetes::new("v1.36.3");
    k.services = Ipv4Net::new(Ipv4Addr::new(172, 16, 0, 0), 16);
    k.pods = Ipv4Net::new(Ipv4Addr::new(172, 20, 0, 0), 14);
    c.kubernetes = Some(k);
    let mut list = c.units.to_vec();
    for unit in &mut list {
        unit.container = Some(crate::kubernetes::Container::new(Cow::Borrowed("quay.io/example/app:1.0")));
        unit.body = UnitBody::Inline(Cow::Borrowed(""));
    }
    c.units = Cow::Owned(list);
    c.accept_risks(|_| "synthetic".to_string());
    c
}

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

/// A deterministic generator (xorshift64*): the same seed gives the same sequence, so a cluster
/// generated from a seed can be generated again to replay a failure.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`. The seed is mixed first (splitmix64), so neighbouring
    /// seeds give unrelated sequences, and never leaves the all-zero state xorshift cannot leave.
    pub fn new(seed: u64) -> Rng {
        let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        Rng((z ^ (z >> 31)).max(1))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A number below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// True with `percent` per cent probability.
    pub fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    /// One item of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// A random subset of `items` of at least `min` elements, in their order.
    pub fn subset<T: Clone>(&mut self, items: &[T], min: usize) -> Vec<T> {
        loop {
            let chosen: Vec<T> = items.iter().filter(|_| self.chance(50)).cloned().collect();
            if chosen.len() >= min.min(items.len()) {
                return chosen;
            }
        }
    }
}

/// Free-form metadata keys and the values pools draw from.
const METADATA: [(&str, &[&str]); 3] =
    [("disk", &["ssd", "spinning"]), ("gpu", &["yes", "no"]), ("tier", &["t0", "t1", "t2"])];

/// A random cluster of any layout that passes its rules: members of any count the layout
/// allows, spread or not, static or DHCP, etcd2 or 0.4, with or without TLS; up to three pools,
/// fixed or autoscaled, spread over subsets of the domains, some PXE-booted, with metadata; and
/// units, global or not, requiring one or several values of the keys machines publish (now and
/// then one no machine has), with `conflicts`, `machine_of`, `machine_id` and `replaces`. A
/// risk the draw happens to take is allowed, as a user would; a draw that breaks a rule that
/// cannot be allowed is drawn again from the next seed. Returns the cluster and the seed that
/// made it.
pub fn random_cluster(seed: u64) -> (Cluster, u64) {
    accepting_risks(seed, draw)
}

/// A random cluster as [`random_cluster`] draws it, moved to Flatcar: etcd 3.5 members with
/// static addresses on a declared network, bootstrapping from a static initial-cluster, units
/// placed at compile time. Returns the cluster and the seed that made it.
pub fn random_flatcar_cluster(seed: u64) -> (Cluster, u64) {
    accepting_risks(seed, |rng| {
        let mut cluster = draw(rng);
        cluster.os = Os::Flatcar;
        cluster.etcd_release = EtcdRelease::V2;
        cluster.bootstrap = Bootstrap::Static;
        if !cluster.members.addressing.is_static() {
            let count = cluster.members.fixed_count().unwrap_or(1);
            let first = Ipv4Addr::new(10, 0, 200, 10);
            cluster.members.addressing =
                Addressing::Range { first, last: Ipv4Addr::from(u32::from(first) + count - 1) };
        }
        if rng.chance(20) {
            cluster.channel = Channel::Lts;
        }
        cluster.network.get_or_insert_with(random_network);
        cluster
    })
}

/// Draws clusters from `seed` on until one breaks only rules that may be allowed, and allows
/// those, as a user taking the risks would.
fn accepting_risks(seed: u64, draw: impl Fn(&mut Rng) -> Cluster) -> (Cluster, u64) {
    let mut seed = seed;
    loop {
        let mut cluster = draw(&mut Rng::new(seed));
        if cluster.accept_risks(|_| "generated".to_string()).is_empty() && cluster.check().is_ok() {
            return (cluster, seed);
        }
        seed = seed.wrapping_add(0x1_0000_0000);
    }
}

fn draw(rng: &mut Rng) -> Cluster {
    let kind = if rng.chance(50) { DomainKind::Cabinet } else { DomainKind::Zone };
    let names: &[&str] = match kind {
        DomainKind::Cabinet => &["a", "b", "c", "d"],
        DomainKind::Zone => &["z-1a", "z-1b", "z-1c", "z-1d"],
    };
    let layout = *rng.pick(&[Layout::Small, Layout::DevTest, Layout::CentralServices, Layout::CentralServices]);
    let release = if rng.chance(20) { EtcdRelease::V0_4 } else { EtcdRelease::V2 };
    let mut next_address = u32::from(Ipv4Addr::new(10, 0, 1, 10));
    let mut take_addresses = |n: u32| {
        let first = Ipv4Addr::from(next_address);
        next_address += n;
        Addressing::Range { first, last: Ipv4Addr::from(next_address - 1) }
    };

    let count = match layout {
        Layout::Small => *rng.pick(&[3, 5, 7]),
        Layout::DevTest => 1,
        Layout::CentralServices => *rng.pick(&[3, 5]),
    };
    let mut members = Group::new(layout.default_role(), layout.default_role(), Size::Fixed(count));
    if count > 1 && rng.chance(70) {
        let domains = rng.subset(names, 3);
        members = members.across(kind, domains);
        if rng.chance(30) {
            members.hostnames = Hostnames::Pattern(Cow::Borrowed("{role}-{domain}-{n}"));
        }
    }
    // etcd 0.4 workers list the members' addresses, so those are static; dev/test's node always is.
    if layout == Layout::DevTest || release == EtcdRelease::V0_4 || rng.chance(60) {
        members.addressing = take_addresses(count);
        // The language declares the dev/test node by its one address.
        if let (Layout::DevTest, Addressing::Range { first, .. }) = (layout, &members.addressing) {
            members.addressing = Addressing::List(Cow::Owned(vec![*first]));
        }
    }
    members.channel = rng.chance(20).then(|| *rng.pick(&[Channel::Stable, Channel::Beta]));
    members.reboot = *rng.pick(&[RebootStrategy::EtcdLock, RebootStrategy::EtcdLock, RebootStrategy::Off]);
    members.windows = random_windows(rng, &members);
    let mut cluster = Cluster::new(format!("gen{}", rng.below(1000)), layout, members);
    cluster.etcd_release = release;
    if let Bootstrap::Discovery(_) = cluster.bootstrap {
        cluster.bootstrap =
            Bootstrap::Discovery(Some(Cow::Owned(format!("https://discovery.etcd.io/{:032x}", rng.next_u64()))));
    }
    if rng.chance(30) {
        cluster.ssh_keys =
            Cow::Owned(vec![Cow::Borrowed("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGdlbmVyYXRlZA ops@example.com")]);
    }
    if rng.chance(30) {
        cluster.tls = Some(Tls {
            ca: Cow::Borrowed("/etc/ssl/etcd/ca.pem"),
            cert: Cow::Borrowed("/etc/ssl/etcd/node.pem"),
            key: Cow::Borrowed("/etc/ssl/etcd/node-key.pem"),
        });
    }

    let mut pools = Vec::new();
    let pool_count = if layout == Layout::Small { 0 } else { rng.below(4) };
    for p in 0..pool_count {
        let name = if p == 0 { "worker".to_string() } else { format!("pool{p}") };
        let size = if rng.chance(50) {
            Size::Fixed(1 + rng.below(4) as u32)
        } else {
            Size::Autoscale { min: rng.chance(50).then(|| rng.below(3) as u32), max: Some(5 + rng.below(50) as u32) }
        };
        let role = *rng.pick(&["worker", "worker", "batch"]);
        let mut pool = Group::new(name, role, size);
        if rng.chance(60) {
            let domains = rng.subset(names, 1);
            pool = pool.across(kind, domains);
        }
        let keys = rng.subset(&METADATA, 0);
        pool.metadata =
            Cow::Owned(keys.iter().map(|(k, values)| (Cow::Borrowed(*k), Cow::Borrowed(*rng.pick(values)))).collect());
        match size {
            Size::Autoscale { .. } if rng.chance(30) => pool.boot = Boot::Pxe { url: None },
            Size::Fixed(n) if rng.chance(50) => pool.addressing = take_addresses(n),
            _ => {}
        }
        if let (Size::Fixed(n), true) = (size, rng.chance(15)) {
            // Names that count down, so the order of names is not the order of machines.
            pool.hostnames =
                Hostnames::List(Cow::Owned((0..n).map(|i| Cow::Owned(format!("{}-x{}", pool.name, n - i))).collect()));
        }
        pool.channel = rng.chance(30).then(|| *rng.pick(&[Channel::Stable, Channel::Beta, Channel::Alpha]));
        pool.reboot = *rng.pick(&[RebootStrategy::EtcdLock, RebootStrategy::Reboot, RebootStrategy::Off]);
        pool.windows = random_windows(rng, &pool);
        if rng.chance(20) {
            pool.ssh_keys = Cow::Owned(vec![Cow::Owned(format!(
                "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHBvb2wt{p} pool{p}@example.com"
            ))]);
        }
        pools.push(pool);
    }
    if pools.iter().any(|p| matches!(p.boot, Boot::Pxe { .. })) {
        cluster.boot_server = Some(Cow::Borrowed("http://10.0.0.5:8080"));
    }
    cluster.pools = Cow::Owned(pools);
    if cluster.groups().any(|(_, g)| g.addressing.is_static()) {
        cluster.network = Some(random_network());
    }
    cluster.units = Cow::Owned(random_units(rng, &cluster));
    cluster
}

/// No window, one for the whole group, or (for a spread group) one per domain, hours apart.
fn random_windows(rng: &mut Rng, group: &Group) -> Windows {
    let window = |hour: usize| RebootWindow::parse(&format!("Sun {hour:02}:00"), "1h").ok();
    match (rng.below(3), &group.spread) {
        (1, _) => window(rng.below(20)).map_or(Windows::Any, Windows::All),
        (2, Some(spread)) => Windows::PerDomain(Cow::Owned(
            spread.domains.iter().enumerate().filter_map(|(i, d)| Some((d.name.clone(), window(2 * i + 1)?))).collect(),
        )),
        _ => Windows::Any,
    }
}

/// The network of random clusters with static addresses: 10.0.0.0/16.
fn random_network() -> Network {
    Network {
        gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
        dns: Cow::Owned(vec![Ipv4Addr::new(10, 0, 0, 2)]),
        ..Network::new(Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 16))
    }
}

fn random_units(rng: &mut Rng, cluster: &Cluster) -> Vec<Unit> {
    // What the machines publish, by key, to draw requirements from.
    let mut published: Vec<(String, Vec<String>)> = Vec::new();
    for profile in cluster.metadata_profiles() {
        for (k, v) in profile.metadata.pairs() {
            match published.iter_mut().find(|(key, _)| key == k) {
                Some((_, values)) if !values.contains(v) => values.push(v.clone()),
                Some(_) => {}
                None => published.push((k.clone(), vec![v.clone()])),
            }
        }
    }
    let mut units: Vec<Unit> = Vec::new();
    for u in 0..1 + rng.below(6) {
        let template = rng.chance(30);
        let name = if template { format!("t{u}@.service") } else { format!("u{u}.service") };
        let body = format!("[Unit]\nDescription=generated {u}\n\n[Service]\nExecStart=/usr/bin/sleep {u}\n");
        let mut unit = Unit::new(name, UnitBody::Inline(Cow::Owned(body)));
        unit.global = rng.chance(40);
        let keys = rng.subset(&published, 0);
        unit.machine_metadata = Cow::Owned(
            keys.into_iter()
                .take(3)
                .map(|(key, values)| {
                    let mut wanted = rng.subset(&values, 1);
                    if rng.chance(10) {
                        wanted.push("nowhere".to_string());
                    }
                    Requirement {
                        key: Cow::Owned(key),
                        values: Cow::Owned(wanted.into_iter().map(Cow::Owned).collect()),
                    }
                })
                .collect(),
        );
        if !unit.global {
            if template && rng.chance(40) {
                unit.instances = Some(1 + rng.below(3) as u32);
            }
            if rng.chance(30) {
                let glob = if template { format!("t{u}@*.service") } else { "u*.service".to_string() };
                unit.conflicts = Cow::Owned(vec![Cow::Owned(glob)]);
            }
            let anchors: Vec<&Unit> = units.iter().filter(|a| !a.global && a.machine_of.is_none()).collect();
            if !anchors.is_empty() && unit.conflicts.is_empty() && rng.chance(20) {
                unit.machine_of = Some(rng.pick(&anchors).name.clone());
            } else if unit.conflicts.is_empty() && rng.chance(10) {
                unit.machine_id = Some(Cow::Owned(format!("{:016x}{:016x}", rng.next_u64(), rng.next_u64())));
            } else if unit.conflicts.is_empty() && rng.chance(10) {
                unit.replaces = Cow::Owned(vec![Cow::Borrowed("u*.service")]);
            }
        }
        units.push(unit);
    }
    units
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

/// Asserts that `work(n)` grows no faster than n log n: for the sizes `n`, 10 n and 100 n, the
/// median time of the larger (interleaved with the smaller, so both see the same noise) is at
/// most twice n log n's ratio, plus a little for timer noise. A ratio within one run, so it
/// holds on any machine; a quadratic algorithm takes 100× and 10,000× and fails.
#[doc(hidden)]
pub fn assert_near_linear(label: &str, n: usize, work: impl Fn(usize)) {
    let n_log_n = |n: usize| (n as f64) * (n as f64).log2().max(1.0);
    for factor in [10, 100] {
        let big = n * factor;
        let runs = if factor == 100 { 3 } else { 5 };
        let (small_time, big_time) = paired_medians(runs, || work(n), || work(big));
        let ratio = big_time.as_secs_f64() / small_time.as_secs_f64().max(1e-6);
        let bound = 2.0 * n_log_n(big) / n_log_n(n) + 2.0;
        assert!(
            ratio <= bound,
            "{label}: {factor}x the size ({n} -> {big}) took {ratio:.1}x the time ({small_time:?} -> {big_time:?}); \
             n log n allows {bound:.0}x"
        );
    }
}

/// A Flatcar cluster of `workers` fixed workers (and 5 central machines) with one template
/// whose `instances` (as many as the workers) are spread one per machine by `conflicts`: the
/// shape that makes compile-time placement quadratic when each instance scans every machine.
pub fn spread_template(workers: u32) -> Cluster {
    let mut members = Group::new("central", "central", Size::Fixed(5)).across(DomainKind::Cabinet, ["a", "b", "c"]);
    members.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 15) };
    let mut cluster = Cluster::new("spread", Layout::CentralServices, members);
    cluster.os = Os::Flatcar;
    cluster.bootstrap = Bootstrap::Static;
    cluster.network = Some(Network::new(Ipv4Net::new(Ipv4Addr::new(10, 0, 0, 0), 8)));
    let mut pool = Group::new("worker", "worker", Size::Fixed(workers));
    pool.addressing = Addressing::Range {
        first: Ipv4Addr::new(10, 1, 0, 1),
        last: Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 1, 0, 0)) + workers),
    };
    cluster.pools = Cow::Owned(vec![pool]);
    let mut web = Unit::new("web@.service", UnitBody::Inline(Cow::Borrowed("[Service]\nExecStart=/bin/true\n")));
    web.instances = Some(workers);
    web.conflicts = Cow::Owned(vec![Cow::Borrowed("web@*.service")]);
    web.machine_metadata =
        Cow::Owned(vec![Requirement { key: Cow::Borrowed("role"), values: Cow::Owned(vec![Cow::Borrowed("worker")]) }]);
    cluster.units = Cow::Owned(vec![web]);
    cluster
}

/// Five members across `cabinets` cabinets, rebooting on their own (`reboot: reboot`), each
/// cabinet with its own window, every other one overlapping the next: the shape that makes
/// `reboot_quorum` cubic when each window is compared with every other and each overlap with
/// every domain.
pub fn many_windows(cabinets: usize) -> Cluster {
    let names: Vec<String> = (0..cabinets).map(|c| format!("c{c}")).collect();
    let mut members = Group::new("central", "central", Size::Fixed(5)).across(DomainKind::Cabinet, names.clone());
    members.reboot = RebootStrategy::Reboot;
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    members.windows = Windows::PerDomain(Cow::Owned(
        names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let start = format!("{} {:02}:{:02}", days[(i / 96) % 7], (i / 4) % 24, (i % 4) * 15);
                let window = RebootWindow::parse(&start, "20m")
                    .unwrap_or_else(|_| RebootWindow::parse("Sun 04:00", "1h").expect("a window"));
                (Cow::Owned(name.clone()), window)
            })
            .collect(),
    ));
    Cluster::new("windows", Layout::CentralServices, members)
}
