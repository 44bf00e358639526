//! Random clusters of every shape, drawn from a seed so that a failure can be replayed.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::{
    Addressing, Boot, Bootstrap, Channel, Cluster, DomainKind, EtcdRelease, Group, Hostnames, Ipv4Net, Layout, Network,
    Os, RebootStrategy, RebootWindow, Requirement, Size, Tls, Unit, UnitBody, Windows,
};

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
