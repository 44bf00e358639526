//! Change plans executed on real etcd 3.5, on loopback: OLD's members started from their
//! drop-ins as real Ignition applies them, then every step of `clusterdef change` as the plan
//! prints it: its commands run by `sh` exactly as printed, each joining member started from
//! the drop-in `render NEW --step N` writes (applied by Ignition), each leaving member killed
//! and wiped once removed, each moving member killed after its `member update` and started
//! from NEW's drop-in on its own data. A client writes through the running members throughout.
//!
//! Midway through every join (the learner running, not yet promoted), one failure domain's
//! members are killed, and midway through every move (the member down) each domain's in turn;
//! a write through the voters left succeeds exactly when the step's midway tolerance says.
//! After every step: etcd's own member list is the step's membership (voters, no learner); a
//! write succeeds; one failure domain's members are killed (round-robin over the step's
//! domains) and a write succeeds exactly when the plan says; they start again. At the end:
//! NEW's members, and every write the client saw acknowledged is there (a linearizable read).

use std::collections::BTreeSet;

use clusterdef::change::{Action, ChangeOptions, ChangePlan, plan};
use clusterdef::render::EtcdJoin;

use super::*;
use crate::writer::{Writer, allow_windows, assert_none_lost};

static THREE: Cluster = cluster! {
    name: "change", os: flatcar, network: { subnet: "127.0.0.0/8" },
    central: 3 across cabinets [a, b, c] { addresses: "127.0.20.11".."127.0.20.15" },
    allow(etcd_tls, reason = "membership changes on loopback; TLS has its own test"),
};
static FIVE: Cluster = cluster! {
    name: "change", os: flatcar, network: { subnet: "127.0.0.0/8" },
    central: 5 across cabinets [a, b, c] { addresses: "127.0.20.11".."127.0.20.15" },
    allow(etcd_tls, reason = "membership changes on loopback; TLS has its own test"),
};
static DEV: Cluster = cluster! {
    name: "change", os: flatcar, network: { subnet: "127.0.0.0/8" },
    etcd_node: "127.0.20.10",
    allow(etcd_tls, reason = "membership changes on loopback; TLS has its own test"),
};

/// `cluster` on its own loopback block `127.0.<octet>.*`, so the tests run side by side.
fn at(cluster: &Cluster, octet: u8) -> Cluster {
    let mut c = cluster.clone();
    if let clusterdef::Addressing::Range { first, last } = &mut c.members.addressing {
        let [.., f] = first.octets();
        let [.., l] = last.octets();
        *first = std::net::Ipv4Addr::new(127, 0, octet, f);
        *last = std::net::Ipv4Addr::new(127, 0, octet, l);
    }
    if let clusterdef::Addressing::List(list) = &mut c.members.addressing {
        let moved: Vec<_> = list.iter().map(|a| std::net::Ipv4Addr::new(127, 0, octet, a.octets()[3])).collect();
        *list = std::borrow::Cow::Owned(moved);
    }
    c
}

impl Etcd {
    /// The commands, run by `sh` in one shell (`ID` carries from one line to the next), with
    /// etcd 3.5's `etcdctl` first on the PATH. Panics with what they printed when they fail.
    fn sh(&self, commands: &[String]) {
        self.sh_with_tls(commands, None);
    }

    /// [`Etcd::sh`], with `tls` (the directory of the TLS files the commands name, as on the
    /// machine, and where a member's tree of the PKI holds it on the host) mounted there in a
    /// private mount namespace: the commands run as printed, as on that member.
    pub(super) fn sh_with_tls(&self, commands: &[String], tls: Option<(&str, &Path)>) {
        let bin = self.etcdctl.parent().expect("etcdctl's directory");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let script = format!("set -e\n{}\n", commands.join("\n"));
        // Under a time limit: a learner that never catches up would keep the promotion going.
        let mut command = match tls {
            None => {
                let mut c = Command::new(tool("timeout"));
                c.args(["180", "sh", "-c"]).arg(&script);
                c
            }
            Some((on_machine, on_host)) => {
                // A tmpfs over its parent (which the host has) holds the mount point.
                let parent = Path::new(on_machine).parent().expect("a directory under /");
                assert!(parent.is_dir(), "{} is no directory here to mount over", parent.display());
                let mut c = Command::new(tool("unshare"));
                c.args(["--mount", "--propagation", "private", "sh", "-c"])
                    .arg("mount -t tmpfs tmpfs \"$1\" && mkdir -p \"$2\" && mount --bind -o ro \"$3\" \"$2\" && exec timeout 180 sh -c \"$4\"")
                    .arg("sh")
                    .arg(parent)
                    .arg(on_machine)
                    .arg(on_host)
                    .arg(&script);
                c
            }
        };
        let out = command.env("PATH", path).output().expect("run sh");
        assert!(
            out.status.success(),
            "the step's commands failed:\n{script}\n{}{}; logs in {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.dir.path().display()
        );
    }

    /// etcd's own membership: (name, is learner) of each member.
    fn member_list(&self) -> BTreeSet<(String, bool)> {
        let endpoints = self.running_endpoints();
        let out = self.etcdctl("3", &endpoints, &["member", "list", "-w", "json"]).expect("member list");
        crate::support::members_listed(&out)
    }

    /// The joining member, from the drop-in `render NEW --step N` writes, applied by Ignition.
    fn prepare_joiner(&mut self, new: &Cluster, join: &EtcdJoin, tag: &str) {
        let options = RenderOptions { etcd_join: Some(join.clone()), ..RenderOptions::default() };
        let state = self.prepare(&new.render_with(&options).expect("NEW renders"), &join.member, tag);
        assert_eq!(state.as_deref(), Some("existing"), "{tag}: {} joins an existing cluster", join.member);
    }

    /// The member `name` as `artifacts` configure it, its drop-in applied by Ignition, its
    /// data directory and TLS directory where they were (a moved member keeps its data); the
    /// initial cluster state its drop-in gives.
    pub(super) fn prepare(&mut self, artifacts: &clusterdef::Artifacts, name: &str, tag: &str) -> Option<String> {
        let config = artifacts.text(&format!("ignition/{name}.ign")).expect("the member's config");
        let applied = crate::applied::apply(&format!("{tag}-{name}"), config);
        let dropin = applied
            .read(&format!("/etc/systemd/system/etcd-member.service.d/{}", clusterdef::render::ignition::ETCD_DROPIN))
            .expect("the member's drop-in");
        let mut env = crate::applied::systemd_environment(&[crate::applied::ETCD_MEMBER_UNIT, &dropin]);
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        let state = get("ETCD_INITIAL_CLUSTER_STATE");
        let client = get("ETCD_ADVERTISE_CLIENT_URLS").expect("a client URL");
        env.retain(|(k, _)| k != "ETCD_DATA_DIR");
        env.push(("ETCD_DATA_DIR".into(), self.dir.path().join(name).display().to_string()));
        let log = self.dir.path().join(format!("{name}.log"));
        self.clients.insert(name.to_string(), client);
        // A member prepared again keeps the TLS directory its machine mounts.
        let ssl_dir = self.processes.get(name).and_then(|p| p.ssl_dir.clone());
        self.processes
            .insert(name.to_string(), Process { env, args: Vec::new(), ssl_dir, pre: Vec::new(), child: None, log });
        state
    }

    /// Inside a join step, with the learner `joiner` (in its domain) running: pulls the plug of
    /// one failure domain (round-robin over the step's domains by `k`) as [`Etcd::lose_midway`]
    /// does, once the learner answers.
    fn plug_midway(
        &mut self,
        tag: &str,
        step: &clusterdef::change::Step,
        k: usize,
        voters: &BTreeMap<String, Option<String>>,
        joiner: (&str, Option<&str>),
    ) {
        let Some(loss) = step.midway.domains.get(k % step.midway.domains.len().max(1)) else { return };
        // The learner answers `endpoint status` once it runs (nothing else).
        let learner = [self.clients[joiner.0].as_str()];
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.etcdctl("3", &learner, &["--command-timeout=2s", "endpoint", "status"]).is_none() {
            assert!(Instant::now() < deadline, "{tag}: the learner {} never answered", joiner.0);
            std::thread::sleep(Duration::from_millis(300));
        }
        self.lose_midway(tag, step, &format!("{k}"), loss, voters, joiner);
    }

    /// Midway through `step`: kills the members of `loss`'s domain, the running `voters` there
    /// and the `joiner` if it is there (`("", None)` for none), checks that a write through the
    /// voters left succeeds exactly when the plan says, then starts them again and waits until
    /// the voters take writes.
    fn lose_midway(
        &mut self,
        tag: &str,
        step: &clusterdef::change::Step,
        at: &str,
        loss: &clusterdef::change::DomainOutcome,
        voters: &BTreeMap<String, Option<String>>,
        joiner: (&str, Option<&str>),
    ) {
        let voting = voters.iter().map(|(n, d)| (n.as_str(), d.as_deref()));
        let lost = crate::writer::lost_midway(tag, step, loss, voting, joiner);
        for m in &lost {
            self.kill(m);
        }
        let left: Vec<String> = voters.keys().filter(|n| !lost.contains(n)).map(|n| self.clients[n].clone()).collect();
        let left: Vec<&str> = left.iter().map(String::as_str).collect();
        let key = format!("/midway/{at}");
        let wrote = self.write_within(&left, &key, loss.keeps_quorum);
        let said = format!("midway through step {} ({})", step.number, step.title);
        self.assert_loss(tag, &said, &loss.domain, wrote, loss.keeps_quorum);
        for m in &lost {
            self.start(m);
        }
        let all: Vec<String> = voters.keys().map(|n| self.clients[n].clone()).collect();
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.etcdctl("3", &all, &["--command-timeout=2s", "put", &format!("{key}/back"), "x"]).is_none() {
            assert!(Instant::now() < deadline, "{tag}: the voters take no write after step {}'s plug", step.number);
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Whether a write through `endpoints` succeeds, as [`crate::writer::write_within`] tries.
    fn write_within(&self, endpoints: &[&str], key: &str, kept: bool) -> bool {
        crate::writer::write_within(kept, || {
            self.etcdctl("3", endpoints, &["--command-timeout=2s", "put", key, "written"]).is_some()
        })
    }

    /// A domain's loss had the outcome the plan gives, or the test fails saying where.
    fn assert_loss(&self, tag: &str, at: &str, domain: &str, wrote: bool, kept: bool) {
        assert_eq!(
            wrote,
            kept,
            "{tag}: {at}, losing {domain}: the plan says keeps quorum = {kept}; logs in {}",
            self.dir.path().display()
        );
    }

    /// A member gone: killed, its data wiped, no longer a client endpoint.
    fn forget(&mut self, name: &str) {
        self.kill(name);
        let _ = std::fs::remove_dir_all(self.dir.path().join(name));
        self.clients.remove(name);
        self.processes.remove(name);
    }
}

/// Runs `plan` from `old` to `new` on real etcd, checking every step as the module says.
fn execute(old: &Cluster, new: &Cluster, options: &ChangeOptions, tag: &str) -> ChangePlan {
    let plan = plan(old, new, options).unwrap_or_else(|f| panic!("{tag}: the change is refused: {f:?}"));
    println!("{tag}:\n{plan}");
    let mut etcd = Etcd::from_applied(old, &format!("change-{tag}"));
    etcd.start_members();
    for dead in &options.dead {
        etcd.forget(dead);
    }
    let writer = Writer::start(
        vec![etcd.etcdctl.clone().into()],
        etcd.running_endpoints().iter().map(|s| s.to_string()).collect(),
    );
    // Each member's failure domain as it runs now: OLD's, then NEW's for each that joins.
    let domain_of = |c: &Cluster| -> BTreeMap<String, Option<String>> {
        clusterdef::change::members_of(c).expect("static members").into_iter().map(|m| (m.name, m.domain)).collect()
    };
    let (mut membership, joining) = (domain_of(old), domain_of(new));
    for (k, step) in plan.steps.iter().enumerate() {
        let name = step.member.clone().unwrap_or_default();
        match step.action {
            Action::Join => {
                let join = step.join.as_ref().expect("a joiner's membership");
                etcd.sh(&step.commands[..1]);
                etcd.prepare_joiner(new, join, tag);
                etcd.start(&name);
                // Midway: the learner runs, not yet promoted. A domain's plug pulled now has
                // the outcome the step's midway tolerance gives.
                let joiner_domain = joining[&name].clone();
                etcd.plug_midway(tag, step, k, &membership, (&name, joiner_domain.as_deref()));
                etcd.sh(&step.commands[1..]);
                membership.insert(name.clone(), joining[&name].clone());
            }
            Action::Leave | Action::RemoveDead => {
                etcd.sh(&step.commands);
                etcd.forget(&name);
                membership.remove(&name);
            }
            Action::MoveAddress => {
                etcd.sh(&step.commands);
                // From `member update` on, the others reach the member only at its new
                // address: it is down until it runs NEW's configuration. Midway, each failure
                // domain's loss in turn has the outcome the step's midway tolerance gives.
                etcd.kill(&name);
                let running: BTreeMap<String, Option<String>> =
                    membership.iter().filter(|(n, _)| **n != name).map(|(n, d)| (n.clone(), d.clone())).collect();
                for (d, loss) in step.midway.domains.iter().enumerate() {
                    etcd.lose_midway(tag, step, &format!("{k}-{d}"), loss, &running, ("", None));
                }
                etcd.prepare(&new.render().expect("NEW renders"), &name, tag);
                etcd.start(&name);
                membership.insert(name.clone(), joining[&name].clone());
            }
            Action::Reconfigure | Action::Workers => continue,
            other => panic!("{tag}: step {} ({other:?}) is not run here", step.number),
        }
        writer.write_through(etcd.running_endpoints().iter().map(|s| s.to_string()).collect());
        etcd.wait_healthy(Duration::from_secs(60));
        let listed = etcd.member_list();
        let wanted: BTreeSet<(String, bool)> = membership.keys().map(|n| (n.clone(), false)).collect();
        assert_eq!(listed, wanted, "{tag}: etcd's membership after step {} ({})", step.number, step.title);
        assert_eq!(step.after.voters as usize, membership.len(), "{tag}: the plan's voters after step {}", step.number);
        assert!(
            etcd.write_succeeds(&format!("/step/{k}"), Duration::from_secs(20)),
            "{tag}: step {} serves",
            step.number
        );
        // One failure domain lost after the step, round-robin over the step's domains.
        if let Some(loss) = step.after.domains.get(k % step.after.domains.len().max(1)) {
            let lost: Vec<String> = membership
                .iter()
                .filter(|(_, d)| d.as_deref() == Some(loss.domain.as_str()))
                .map(|(n, _)| n.clone())
                .collect();
            assert_eq!(
                lost.len() as u32,
                loss.members_lost,
                "{tag}: members in {} after step {}",
                loss.domain,
                step.number
            );
            for m in &lost {
                etcd.kill(m);
            }
            let endpoints: Vec<String> = etcd.running_endpoints().into_iter().map(str::to_string).collect();
            let endpoints: Vec<&str> = endpoints.iter().map(String::as_str).collect();
            let wrote = etcd.write_within(&endpoints, &format!("/step/{k}/without"), loss.keeps_quorum);
            let at = format!("after step {} ({})", step.number, step.title);
            etcd.assert_loss(tag, &at, &loss.domain, wrote, loss.keeps_quorum);
            for m in &lost {
                etcd.start(m);
            }
            etcd.wait_healthy(Duration::from_secs(60));
        }
    }
    let acknowledged = writer.finish();
    assert_eq!(membership, joining, "{tag}: the steps end at NEW's members, each in its domain");
    let endpoints = etcd.running_endpoints();
    let keys = etcd.etcdctl("3", &endpoints, &["get", "/w/", "--prefix", "--keys-only"]).expect("read back");
    assert_none_lost(tag, plan.steps.len(), &acknowledged, &keys);
    plan
}

#[test]
fn change_three_to_five_across_cabinets_on_real_etcd() {
    let plan = execute(&at(&THREE, 21), &at(&FIVE, 21), &allow_windows(), "3-to-5");
    assert_eq!(plan.steps.iter().filter(|s| s.action == Action::Join).count(), 2);
}

#[test]
fn change_five_to_three_on_real_etcd() {
    let plan = execute(&at(&FIVE, 22), &at(&THREE, 22), &allow_windows(), "5-to-3");
    assert_eq!(plan.steps.iter().filter(|s| s.action == Action::Leave).count(), 2);
}

#[test]
fn change_the_dev_node_grown_into_three_members_on_real_etcd() {
    let plan = execute(&at(&DEV, 23), &at(&THREE, 23), &allow_windows(), "dev-to-3");
    assert_eq!(
        plan.steps.iter().filter_map(|s| s.member.as_deref()).next_back(),
        Some("etcd-1"),
        "the dev node leaves last"
    );
}

#[test]
fn change_a_dead_member_replaced_on_real_etcd() {
    let options = ChangeOptions { dead: vec!["central-2".into()], ..allow_windows() };
    let plan = execute(&at(&THREE, 24), &at(&THREE, 24), &options, "dead");
    assert_eq!(plan.steps[0].action, Action::RemoveDead);
}

/// The loopback network every member here listens on.
fn lo() -> clusterdef::Network {
    clusterdef::Network {
        interface: std::borrow::Cow::Borrowed("lo"),
        ..clusterdef::Network::new("127.0.0.0/8".parse().expect("subnet"))
    }
}

/// `n` members named `{group}-k` across `cabinets`, from `127.0.<octet>.<first>`, as a Flatcar
/// cluster on loopback; `None` when the architecture rules refuse it.
fn members(group: &str, n: u32, cabinets: &[String], octet: u8, first: u8) -> Option<Cluster> {
    use clusterdef::{Addressing, Allow, Bootstrap, DomainKind, Group, Layout, Os, Rule, Size};
    let mut g = Group::new(group.to_string(), "central", Size::Fixed(n));
    if !cabinets.is_empty() {
        g = g.across(DomainKind::Cabinet, cabinets.iter().cloned());
    }
    g.addressing = Addressing::Range {
        first: std::net::Ipv4Addr::new(127, 0, octet, first),
        last: std::net::Ipv4Addr::new(127, 0, octet, first + 9),
    };
    let mut c = Cluster::new("change", Layout::CentralServices, g);
    c.os = Os::Flatcar;
    c.bootstrap = Bootstrap::Static;
    c.network = Some(lo());
    c.allows = std::borrow::Cow::Owned(vec![Allow {
        rule: Rule::EtcdTls,
        reason: std::borrow::Cow::Borrowed("membership changes on loopback"),
    }]);
    c.check().is_ok().then_some(c)
}

/// A member moved to another cabinet: under its name and at its address it leaves, then joins
/// again in the new cabinet, with an empty data directory.
#[test]
fn change_a_member_moved_to_another_cabinet_on_real_etcd() {
    let cabinets = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let old = members("central", 3, &cabinets(&["a", "b", "c"]), 25, 11).expect("three across a, b, c");
    let new = members("central", 3, &cabinets(&["a", "b", "d"]), 25, 11).expect("three across a, b, d");
    let plan = execute(&old, &new, &allow_windows(), "moved");
    let order: Vec<(Action, Option<&str>)> = plan.steps.iter().map(|s| (s.action, s.member.as_deref())).collect();
    assert_eq!(order[..2], [(Action::Leave, Some("central-3")), (Action::Join, Some("central-3"))]);
}

/// Every member moved to a new address (a renumbered LAN): one `member update` at a time, each
/// member down from the update until it runs NEW's configuration on its own data, each failure
/// domain's loss checked while it is down.
#[test]
fn change_members_moved_to_new_addresses_on_real_etcd() {
    let cabinets = |names: &[&str]| names.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let old = members("central", 3, &cabinets(&["a", "b", "c"]), 29, 11).expect("three at .11–.13");
    let new = members("central", 3, &cabinets(&["a", "b", "c"]), 29, 21).expect("three at .21–.23");
    let plan = execute(&old, &new, &allow_windows(), "renumbered");
    let moves = plan.steps.iter().filter(|s| s.action == Action::MoveAddress).count();
    assert_eq!(moves, 3, "{plan}");
}

/// Two declarations drawn from `seed` (1–5 members over one to three of four cabinets; the same
/// members, the same at shifted addresses (moves) or others; a dead member when OLD tolerates one): the first pair
/// the transition rules accept (domain windows allowed) with a step to take. On loopback, at
/// `127.0.26.x`; the booted-machine test moves them onto a LAN.
pub fn random_pair(seed: u64) -> (Cluster, Cluster, ChangeOptions) {
    let mut rng = clusterdef::synthetic::Rng::new(seed);
    let all: Vec<String> = ["a", "b", "c", "d"].iter().map(|s| s.to_string()).collect();
    (0..1000)
        .find_map(|_| {
            let draw = |rng: &mut clusterdef::synthetic::Rng| {
                let n = 1 + rng.below(5) as u32;
                (n, rng.subset(&all, 1).into_iter().take(3).collect::<Vec<String>>())
            };
            let (n, cabinets) = draw(&mut rng);
            let old = members("central", n, &cabinets, 26, 11)?;
            let new = match rng.below(10) {
                0..=2 => {
                    let (n, cabinets) = draw(&mut rng);
                    members("other", n, &cabinets, 26, 14)?
                }
                // The same members in the same cabinets, five addresses on: moves.
                3..=4 => members("central", n, &cabinets, 26, 16)?,
                _ => {
                    let (n, cabinets) = draw(&mut rng);
                    members("central", n, &cabinets, 26, 11)?
                }
            };
            let tolerates = clusterdef::quorum::tolerance(old.etcd_members().len() as u32);
            let mut options = allow_windows();
            if tolerates > 0 && rng.chance(40) {
                let names: Vec<String> = old.etcd_members().into_iter().map(|m| m.name).collect();
                options.dead.push(rng.pick(&names).clone());
            }
            // A pair with something to do: two equal declarations plan no step, and a change
            // of no step proves nothing (and gives the client no time to write).
            plan(&old, &new, &options).is_ok_and(|p| !p.steps.is_empty()).then_some((old, new, options))
        })
        .expect("an accepted pair among a thousand draws")
}

/// Random changes ([`random_pair`]) executed on etcd. The seed is printed;
/// `CLUSTERDEF_READBACK_SEED` replays, `CLUSTERDEF_READBACK_COUNT` sets how many.
#[test]
fn change_random_declarations_on_real_etcd() {
    let (first, count) = crate::readback::seed_range(2);
    for n in 0..count {
        let seed = first.wrapping_add(n);
        let (old, new, options) = random_pair(seed);
        let tag = format!("random-{seed}");
        println!("{tag}: replay with CLUSTERDEF_READBACK_SEED={seed} CLUSTERDEF_READBACK_COUNT=1");
        execute(&old, &new, &options, &tag);
    }
}

/// A change given as two files, `CLUSTERDEF_CHANGE_FROM` and `CLUSTERDEF_CHANGE_TO` (Flatcar
/// declarations; their members are moved onto loopback, the last byte of each address kept,
/// TLS off), runs through the same test; without them, the production cluster grown from three
/// members to five.
#[test]
fn change_given_as_two_files_on_real_etcd() {
    let onto_loopback = |c: Cluster| {
        assert_eq!(c.os, clusterdef::Os::Flatcar, "the change test runs Flatcar's etcd 3.5");
        let mut c = at(&c, 27);
        c.network = Some(lo());
        c.tls = None;
        let mut allows = c.allows.to_vec();
        allows.push(clusterdef::Allow {
            rule: clusterdef::Rule::EtcdTls,
            reason: std::borrow::Cow::Borrowed("on loopback"),
        });
        c.allows = std::borrow::Cow::Owned(allows);
        c
    };
    let (old, new, tag) = match given_change() {
        Some((old, new)) => (onto_loopback(old), onto_loopback(new), "files"),
        None => (at(&THREE, 27), at(&FIVE, 27), "three-to-five-again"),
    };
    execute(&old, &new, &allow_windows(), tag);
}

/// The change `CLUSTERDEF_CHANGE_FROM` and `CLUSTERDEF_CHANGE_TO` name (two `.cluster` files,
/// read and checked as `clusterdef check` reads them), if they are set; both or neither.
pub fn given_change() -> Option<(Cluster, Cluster)> {
    let read = |var: &str| -> Option<Cluster> {
        let path = PathBuf::from(std::env::var_os(var)?);
        let shown = path.display().to_string();
        let base = clusterdef_build::input::base_dir(&path);
        match clusterdef_build::input::load(&path, &shown, &base, false) {
            Ok(checked) => Some(checked.into_cluster()),
            Err(clusterdef_build::input::Failure::Io(why)) => panic!("{var}: {why}"),
            Err(clusterdef_build::input::Failure::Invalid { rendered, .. }) => {
                panic!("{var}: {shown} is refused:\n{rendered}")
            }
        }
    };
    match (read("CLUSTERDEF_CHANGE_FROM"), read("CLUSTERDEF_CHANGE_TO")) {
        (Some(old), Some(new)) => Some((old, new)),
        (None, None) => None,
        _ => panic!("CLUSTERDEF_CHANGE_FROM and CLUSTERDEF_CHANGE_TO come together"),
    }
}
