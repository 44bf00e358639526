//! Change plans executed on real etcd 3.5, on loopback: OLD's members started from their
//! drop-ins as real Ignition applies them, then every step of `clusterdef change` as the plan
//! prints it: its commands run by `sh` exactly as printed, each joining member started from
//! the drop-in `render NEW --step N` writes (applied by Ignition), each leaving member killed
//! and wiped once removed. A client writes through the running members throughout.
//!
//! After every step: etcd's own member list is the step's membership (voters, no learner); a
//! write succeeds; one failure domain's members are killed (round-robin over the step's
//! domains) and a write succeeds exactly when the plan says; they start again. At the end:
//! NEW's members, and every write the client saw acknowledged is there (a linearizable read).

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use clusterdef::change::{Action, ChangeOptions, ChangePlan, ChangeRule, plan};
use clusterdef::render::EtcdJoin;

use super::*;

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

/// The client writing through the running members, one key after another.
struct Writer {
    stop: Arc<AtomicBool>,
    endpoints: Arc<Mutex<Vec<String>>>,
    acknowledged: Arc<Mutex<Vec<u64>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(etcdctl: PathBuf, endpoints: Vec<String>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let endpoints = Arc::new(Mutex::new(endpoints));
        let acknowledged = Arc::new(Mutex::new(Vec::new()));
        let (s, e, a) = (stop.clone(), endpoints.clone(), acknowledged.clone());
        let thread = std::thread::spawn(move || {
            let mut i = 0u64;
            while !s.load(Ordering::Relaxed) {
                let list = e.lock().unwrap_or_else(|p| p.into_inner()).join(",");
                let ok = Command::new(&etcdctl)
                    .env_clear()
                    .args([&format!("--endpoints={list}"), "--command-timeout=2s", "put", &format!("/w/{i:08}"), "x"])
                    .output()
                    .is_ok_and(|o| o.status.success());
                if ok {
                    a.lock().unwrap_or_else(|p| p.into_inner()).push(i);
                }
                i += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
        });
        Writer { stop, endpoints, acknowledged, thread: Some(thread) }
    }

    fn finish(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        std::mem::take(&mut *self.acknowledged.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

impl Etcd {
    /// The commands, run by `sh` in one shell (`ID` carries from one line to the next), with
    /// etcd 3.5's `etcdctl` first on the PATH. Panics with what they printed when they fail.
    fn sh(&self, commands: &[String]) {
        let bin = self.etcdctl.parent().expect("etcdctl's directory");
        let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
        let script = format!("set -e\n{}\n", commands.join("\n"));
        let out = Command::new("sh").arg("-c").arg(&script).env("PATH", path).output().expect("run sh");
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
        let list: serde_json::Value = serde_json::from_str(&out).expect("member list JSON");
        list["members"]
            .as_array()
            .expect("members")
            .iter()
            .map(|m| (m["name"].as_str().unwrap_or_default().to_string(), m["isLearner"].as_bool().unwrap_or(false)))
            .collect()
    }

    /// The joining member, from the drop-in `render NEW --step N` writes, applied by Ignition.
    fn prepare_joiner(&mut self, new: &Cluster, join: &EtcdJoin, tag: &str) {
        let options = RenderOptions { etcd_join: Some(join.clone()), ..RenderOptions::default() };
        let artifacts = new.render_with(&options).expect("NEW renders");
        let config = artifacts.text(&format!("ignition/{}.ign", join.member)).expect("the joiner's config");
        let applied = crate::applied::apply(&format!("{tag}-{}", join.member), config);
        let dropin = applied
            .read(&format!("/etc/systemd/system/etcd-member.service.d/{}", clusterdef::render::ignition::ETCD_DROPIN))
            .expect("the joiner's drop-in");
        let mut env = crate::applied::systemd_environment(&[crate::applied::ETCD_MEMBER_UNIT, &dropin]);
        let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
        assert_eq!(get("ETCD_INITIAL_CLUSTER_STATE").as_deref(), Some("existing"), "{dropin}");
        let client = get("ETCD_ADVERTISE_CLIENT_URLS").expect("a client URL");
        env.retain(|(k, _)| k != "ETCD_DATA_DIR");
        env.push(("ETCD_DATA_DIR".into(), self.dir.path().join(&join.member).display().to_string()));
        let log = self.dir.path().join(format!("{}.log", join.member));
        self.clients.insert(join.member.clone(), client);
        self.processes.insert(
            join.member.clone(),
            Process { env, args: Vec::new(), ssl_dir: None, pre: Vec::new(), child: None, log },
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
    let writer = Writer::start(etcd.etcdctl.clone(), etcd.running_endpoints().iter().map(|s| s.to_string()).collect());
    let mut membership: BTreeSet<String> = old.etcd_members().into_iter().map(|m| m.name).collect();
    for (k, step) in plan.steps.iter().enumerate() {
        let name = step.member.clone().unwrap_or_default();
        match step.action {
            Action::Join => {
                let join = step.join.as_ref().expect("a joiner's membership");
                etcd.sh(&step.commands[..1]);
                etcd.prepare_joiner(new, join, tag);
                etcd.start(&name);
                etcd.sh(&step.commands[1..]);
                membership.insert(name.clone());
            }
            Action::Leave | Action::RemoveDead => {
                etcd.sh(&step.commands);
                etcd.forget(&name);
                membership.remove(&name);
            }
            Action::Reconfigure | Action::Workers => continue,
            other => panic!("{tag}: step {} ({other:?}) is not run here", step.number),
        }
        *writer.endpoints.lock().unwrap_or_else(|p| p.into_inner()) =
            etcd.running_endpoints().iter().map(|s| s.to_string()).collect();
        etcd.wait_healthy(Duration::from_secs(60));
        let listed = etcd.member_list();
        let wanted: BTreeSet<(String, bool)> = membership.iter().map(|n| (n.clone(), false)).collect();
        assert_eq!(listed, wanted, "{tag}: etcd's membership after step {} ({})", step.number, step.title);
        assert_eq!(step.after.voters as usize, membership.len(), "{tag}: the plan's voters after step {}", step.number);
        assert!(
            etcd.write_succeeds(&format!("/step/{k}"), Duration::from_secs(20)),
            "{tag}: step {} serves",
            step.number
        );
        // One failure domain lost after the step, round-robin over the step's domains.
        if let Some(loss) = step.after.domains.get(k % step.after.domains.len().max(1)) {
            let lost: BTreeSet<String> =
                domain_members(old, new, &loss.domain).into_iter().filter(|n| membership.contains(n)).collect();
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
            let within = if loss.keeps_quorum { Duration::from_secs(20) } else { Duration::from_secs(6) };
            let wrote = etcd.write_succeeds(&format!("/step/{k}/without"), within);
            assert_eq!(
                wrote,
                loss.keeps_quorum,
                "{tag}: after step {} ({}), losing {}: the plan says keeps quorum = {}; logs in {}",
                step.number,
                step.title,
                loss.domain,
                loss.keeps_quorum,
                etcd.dir.path().display()
            );
            for m in &lost {
                etcd.start(m);
            }
            etcd.wait_healthy(Duration::from_secs(60));
        }
    }
    let acknowledged = writer.finish();
    let wanted: BTreeSet<String> = new.etcd_members().into_iter().map(|m| m.name).collect();
    assert_eq!(membership, wanted, "{tag}: the steps end at NEW's members");
    let endpoints = etcd.running_endpoints();
    let keys = etcd.etcdctl("3", &endpoints, &["get", "/w/", "--prefix", "--keys-only"]).expect("read back");
    let stored: BTreeSet<u64> =
        keys.lines().filter_map(|l| l.strip_prefix("/w/")).filter_map(|n| n.parse().ok()).collect();
    let lost: Vec<&u64> = acknowledged.iter().filter(|i| !stored.contains(i)).collect();
    assert!(lost.is_empty(), "{tag}: acknowledged writes lost: {lost:?}");
    assert!(acknowledged.len() > 5, "{tag}: the client wrote throughout ({} writes)", acknowledged.len());
    println!("{tag}: {} steps, {} acknowledged writes, none lost", plan.steps.len(), acknowledged.len());
    plan
}

/// The members of `old` or `new` in `domain` (`cabinet a`).
fn domain_members(old: &Cluster, new: &Cluster, domain: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for c in [old, new] {
        let group = &c.members;
        let count = group.fixed_count().unwrap_or(0);
        let spread = group.spread.as_ref();
        for (i, d) in group.placement(count).into_iter().enumerate() {
            let name = d.and_then(|d| spread.map(|s| format!("{} {}", s.kind.key(), s.domains[d].name)));
            if name.as_deref() == Some(domain) {
                out.insert(group.hostname(i as u32, d));
            }
        }
    }
    out
}

fn allow_windows() -> ChangeOptions {
    ChangeOptions { dead: Vec::new(), allow: vec![(ChangeRule::DomainQuorum, "proven step by step".into())] }
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
