//! Synthetic clusters, the one generator every benchmark and property test draws from: of any
//! size (`cluster`), for the benchmarks and the growth tests of every front end (the language's
//! form is this cluster printed), the shapes that grew faster than their input (`scale`), and
//! random ones of every shape (`random`), for the tests that read rendered files back and
//! round-trip the printer. Also the paired timing the growth tests share.

mod random;
mod scale;

pub use random::*;
pub use scale::*;

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::{
    Addressing, Bootstrap, Cluster, DomainKind, Group, Ipv4Net, Layout, Network, Os, RebootStrategy, RebootWindow,
    Requirement, Size, Unit, UnitBody, Windows,
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
