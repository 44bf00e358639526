//! Changes executed on booted machines: the production layout grown from three members to five
//! and shrunk from five to three (both booting from a real matchbox, which serves each joiner
//! its step's render, as the plan says), the dev/test node grown into three members, a dead
//! member replaced, a member moved to another cabinet, every member moved to a new address
//! (each taking NEW's configuration on its own disk as the step says), and a change given as two
//! files or drawn at random (the real-etcd test's draw, moved onto a LAN). OLD's machines boot
//! from OLD's Ignition configs (real Ignition, systemd as PID 1, etcd-member from the rendered
//! drop-in); each joining machine is installed afresh (a new disk) with the configuration
//! `render NEW --step N --from OLD` writes and booted at its step; every command of the plan
//! runs, as printed, in a shell on a running member (one that stays when there is one), with the
//! etcdctl a member has. A removed member's machine is powered off once it is removed; a dead
//! member's machine is powered off before the change is planned and never comes back.
//!
//! A client writes through the running members from the hub throughout. Midway through every
//! join (the learner booted, not yet promoted), every removal (the member removed) and every
//! move (the member down between its update and its return at the new address), one failure
//! domain's plug is pulled (one whose loss costs the most voters) and a write through the
//! voters left succeeds exactly when the step's midway tolerance says; the machines boot again.
//! After every step etcd's member list is the plan's and a write succeeds; at the end a
//! linearizable read finds every step's write and every write the client saw acknowledged.

use std::ffi::OsString;

use clusterdef::change::{Action, ChangeOptions, ChangePlan, Step, plan};
use clusterdef::{Artifacts, Render, RenderOptions};

use super::bed::BedMachine;
use super::*;
use crate::writer::{Writer, allow_windows, assert_none_lost, write_within};

static THREE: Cluster = clusterdef::cluster! {
    name: "grow", os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.15" },
    allow(etcd_tls, reason = "the membership change; TLS has its own tests"),
};
static FIVE: Cluster = clusterdef::cluster! {
    name: "grow", os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    central: 5 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.15" },
    allow(etcd_tls, reason = "the membership change; TLS has its own tests"),
};
static MOVED: Cluster = clusterdef::cluster! {
    name: "grow", os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    central: 3 across cabinets [a, b, d] { addresses: "10.0.0.11".."10.0.0.15" },
    allow(etcd_tls, reason = "the membership change; TLS has its own tests"),
};
static RENUMBERED: Cluster = clusterdef::cluster! {
    name: "grow", os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    central: 3 across cabinets [a, b, c] { addresses: "10.0.0.21".."10.0.0.25" },
    allow(etcd_tls, reason = "the membership change; TLS has its own tests"),
};
static DEV: Cluster = clusterdef::cluster! {
    name: "grow", os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    etcd_node: "10.0.0.10",
    allow(etcd_tls, reason = "the membership change; TLS has its own tests"),
};

#[test]
fn change_three_to_five_from_matchbox_on_booted_machines() {
    let _serial = crate::support::heavy();
    let plan = execute_booted(&from_matchbox(&THREE), &from_matchbox(&FIVE), &allow_windows(), "grow");
    assert_eq!(plan.steps.iter().filter(|s| s.action == Action::Join).count(), 2);
}

#[test]
fn change_five_to_three_from_matchbox_on_booted_machines() {
    let _serial = crate::support::heavy();
    let plan = execute_booted(&from_matchbox(&FIVE), &from_matchbox(&THREE), &allow_windows(), "shrink");
    assert_eq!(plan.steps.iter().filter(|s| s.action == Action::Leave).count(), 2);
}

/// `cluster` as the bed boots it, booting from matchbox on its network: each member installed
/// by its MAC (the k-th member the k-th MAC in both declarations).
fn from_matchbox(cluster: &Cluster) -> Cluster {
    let mut c = clusterdef::synthetic::on_matchbox(bootable(cluster), 1);
    c.boot_server = Some("http://10.0.0.5:8080".into());
    c
}

#[test]
fn change_the_dev_node_grown_into_three_members_on_booted_machines() {
    let _serial = crate::support::heavy();
    let plan = execute_booted(&bootable(&DEV), &bootable(&THREE), &allow_windows(), "dev-to-3");
    let order: Vec<(Action, Option<&str>)> = plan.steps.iter().map(|s| (s.action, s.member.as_deref())).collect();
    assert_eq!(order.iter().filter(|(a, _)| *a == Action::Join).count(), 3, "{order:?}");
    assert_eq!(order.iter().filter_map(|(_, m)| *m).next_back(), Some("etcd-1"), "the dev node leaves last");
}

#[test]
fn change_a_dead_member_replaced_on_booted_machines() {
    let _serial = crate::support::heavy();
    let options = ChangeOptions { dead: vec!["central-2".into()], ..allow_windows() };
    let plan = execute_booted(&bootable(&THREE), &bootable(&THREE), &options, "dead");
    let order: Vec<(Action, Option<&str>)> = plan.steps.iter().map(|s| (s.action, s.member.as_deref())).collect();
    assert_eq!(order[..2], [(Action::RemoveDead, Some("central-2")), (Action::Join, Some("central-2"))]);
}

#[test]
fn change_members_moved_to_new_addresses_on_booted_machines() {
    let _serial = crate::support::heavy();
    let plan = execute_booted(&bootable(&THREE), &bootable(&RENUMBERED), &allow_windows(), "renumbered");
    assert_eq!(plan.steps.iter().filter(|s| s.action == Action::MoveAddress).count(), 3, "{plan}");
}

#[test]
fn change_a_member_moved_to_another_cabinet_on_booted_machines() {
    let _serial = crate::support::heavy();
    let plan = execute_booted(&bootable(&THREE), &bootable(&MOVED), &allow_windows(), "moved");
    let order: Vec<(Action, Option<&str>)> = plan.steps.iter().map(|s| (s.action, s.member.as_deref())).collect();
    assert_eq!(order[..2], [(Action::Leave, Some("central-3")), (Action::Join, Some("central-3"))]);
}

/// etcdctl 3.5 run from the hub (the operator's workstation: it reaches every machine), through
/// `endpoints`; its stdout when it succeeds.
fn from_hub(booted: &Booted, endpoints: &[String], args: &[&str]) -> Option<String> {
    let out = Command::new(tool("ip"))
        .args(["netns", "exec", booted.hub()])
        .arg(crate::support::etcd_35("etcdctl"))
        .env_clear()
        .arg(format!("--endpoints={}", endpoints.join(",")))
        .args(["--dial-timeout=2s", "--command-timeout=3s"])
        .args(args)
        .output()
        .ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `endpoint health` from the hub reports each of `endpoints` healthy within `within`,
/// and what it said last.
fn healthy_within(booted: &Booted, endpoints: &[String], within: Duration) -> (bool, String) {
    eventually(within, || {
        let answer = from_hub(booted, endpoints, &["endpoint", "health"]);
        (answer.is_some(), answer.unwrap_or_default())
    })
}

/// Whether a write through `endpoints` from the hub succeeds, as [`write_within`] tries.
fn write_from_hub(booted: &Booted, endpoints: &[String], key: &str, kept: bool) -> bool {
    write_within(kept, || from_hub(booted, endpoints, &["put", key, "written"]).is_some())
}

/// The change's bed: every machine of OLD and NEW, each member of OLD installed from OLD's
/// config, each machine only NEW has from its first join's; and which of them were installed
/// with that join's config (the others are installed afresh when they join).
fn bed_of(old: &Cluster, new: &Cluster, plan: &ChangePlan) -> (Vec<BedMachine>, Artifacts, BTreeSet<String>) {
    let mut configs = Artifacts::default();
    let mut bed: BTreeMap<String, (String, Option<String>)> = BTreeMap::new();
    let first = old.render().expect("OLD renders");
    for (hostname, config, domain) in machines_of(&old.plan()) {
        configs.insert(config.clone(), first.get(&config).expect("a machine's config").to_vec());
        bed.insert(hostname, (config, domain));
    }
    let mut fresh = BTreeSet::new();
    for (hostname, _, domain) in machines_of(&new.plan()) {
        if bed.contains_key(&hostname) {
            continue;
        }
        let step = plan.steps.iter().find(|s| s.join.as_ref().is_some_and(|j| j.member == hostname));
        let step = step.unwrap_or_else(|| panic!("{hostname} is only NEW's and joins at no step"));
        let config = format!("step-{}/ignition/{hostname}.ign", step.number);
        configs.insert(config.clone(), step_config(new, step));
        bed.insert(hostname.clone(), (config, domain));
        fresh.insert(hostname);
    }
    let machines = bed.into_iter().map(|(hostname, (config, domain))| (hostname, config, domain)).collect();
    (machines, configs, fresh)
}

/// The config the joiner of `step` boots with: what `render NEW --step N` writes for it.
fn step_config(new: &Cluster, step: &Step) -> Vec<u8> {
    let join = step.join.as_ref().expect("a joiner's membership");
    let options = RenderOptions { etcd_join: Some(join.clone()), ..RenderOptions::default() };
    let rendered = new.render_with(&options).expect("the step renders");
    rendered.get(&format!("ignition/{}.ign", join.member)).expect("the joiner's config").to_vec()
}

/// Runs the change from `old` to `new` on booted machines, as the module says.
fn execute_booted(old: &Cluster, new: &Cluster, options: &ChangeOptions, tag: &str) -> ChangePlan {
    assert!(old.tls.is_none() && new.tls.is_none(), "{tag}: the hub's client speaks plain HTTP");
    let plan = plan(old, new, options).unwrap_or_else(|f| panic!("{tag}: the change is refused: {f:?}"));
    println!("{tag}:\n{plan}");
    let (machines, configs, mut fresh) = bed_of(old, new, &plan);
    // From matchbox, OLD's machines are installed from OLD's render served, and each joiner
    // from its step's render served when its step comes (as the plan's lines say).
    let from_matchbox = clusterdef::render::matchbox::base_of(new).is_some();
    let mut booted = if from_matchbox {
        let first = old.render().expect("OLD renders");
        Booted::install_machines_but(tag, (Some(old), new), new.plan(), &machines, &first, &fresh)
    } else {
        Booted::install_machines(tag, new, new.plan(), &machines, &configs)
    };
    // Each member as it runs now: OLD's, then NEW's for each that joins.
    let members = |c: &Cluster| -> BTreeMap<String, clusterdef::change::Member> {
        clusterdef::change::members_of(c).expect("static members").into_iter().map(|m| (m.name.clone(), m)).collect()
    };
    let (mut membership, joining) = (members(old), members(new));
    for name in membership.keys() {
        booted.machines.get_mut(name).expect("a member").boot();
    }
    for name in membership.keys() {
        booted.machine(name).wait_booted(Duration::from_secs(120));
    }
    let urls = |of: &BTreeMap<String, clusterdef::change::Member>, without: &[String]| -> Vec<String> {
        of.values().filter(|m| !without.contains(&m.name)).map(|m| m.client_url.clone()).collect()
    };
    let (ok, health) = healthy_within(&booted, &urls(&membership, &[]), Duration::from_secs(90));
    assert!(ok, "{tag}: OLD's members are healthy: {health}");
    // A dead member's machine is gone for good before the change is planned; its name may
    // come back as a new member.
    let mut dead: Vec<String> = options.dead.clone();
    for name in &dead {
        booted.machines.get_mut(name).expect("the dead member's machine").pull_plug();
    }
    let writer = Writer::start(
        vec![tool("ip").into(), "netns".into(), "exec".into(), booted.hub().into(), etcd_35_ctl()],
        urls(&membership, &dead),
    );
    let stays: BTreeSet<&String> = joining.keys().collect();
    for (k, step) in plan.steps.iter().enumerate() {
        let name = step.member.clone().unwrap_or_default();
        // The commands run on a running member other than the step's, one that stays if any.
        let running: Vec<String> = membership.keys().filter(|m| **m != name && !dead.contains(m)).cloned().collect();
        let operator = running.iter().find(|m| stays.contains(m)).or(running.first()).cloned();
        let operator = operator.unwrap_or_else(|| panic!("{tag}: no member to run step {} on", step.number));
        let run = |booted: &Booted, commands: &[String]| {
            // A script on the operator's member, under a time limit (a learner that never
            // catches up would keep the promotion loop going).
            let body = format!("set -e\nexport PATH=/opt/etcd-3.5:$PATH\n{}\n", commands.join("\n"));
            let script = format!("cat >/run/step.sh <<'STEP'\n{body}STEP\ntimeout 180 sh /run/step.sh");
            let (ok, said) = booted.machine(&operator).sh(&script);
            assert!(ok, "{tag}: the step's commands, run on {operator}:\n{body}\n{said}");
        };
        match step.action {
            Action::Join => {
                run(&booted, &step.commands[..1]);
                let config = format!("step-{}/ignition/{name}.ign", step.number);
                if from_matchbox {
                    fresh.remove(&name);
                    install_joiner_from_matchbox(&mut booted, tag, new, step);
                } else if !fresh.remove(&name) {
                    let text = String::from_utf8(step_config(new, step)).expect("a config is text");
                    booted.reinstall(tag, &name, &config, &text);
                }
                booted.machines.get_mut(&name).expect("the joiner").boot();
                // A learner is ready once it has caught up with the leader: with the suite's
                // other tests on the 2 cores that took over 120 s once; 300 s is the margin.
                booted.machine(&name).wait_booted(Duration::from_secs(300));
                let voters = running_voters(&membership, &dead, None);
                plug_midway(&mut booted, tag, step, k, &voters, Some(&joining[&name]));
                run(&booted, &step.commands[1..]);
                membership.insert(name.clone(), joining[&name].clone());
            }
            Action::Leave => {
                // As the step's line says: after `member remove`, etcd stops itself; then the
                // machine is powered off. The etcd that ran before the removal has exited.
                let (_, pid) = booted.machine(&name).sh("systemctl show -p MainPID --value etcd-member.service");
                assert!(
                    pid.parse::<u32>().is_ok_and(|p| p > 0),
                    "{tag}: {name}'s etcd runs before its removal: {pid:?}"
                );
                run(&booted, &step.commands);
                let (stopped, _) = eventually(Duration::from_secs(30), || {
                    booted.machine(&name).sh(&format!("! kill -0 {pid} 2>/dev/null"))
                });
                assert!(stopped, "{tag}: {name}'s etcd (pid {pid}) did not stop itself after its removal");
                booted.machines.get_mut(&name).expect("the leaver").pull_plug();
                membership.remove(&name);
                // Midway is once removed: the plug of the domain whose loss costs the most of
                // the voters left, with the outcome the step's midway tolerance gives.
                let voters = running_voters(&membership, &dead, None);
                plug_midway(&mut booted, tag, step, k, &voters, None);
                if from_matchbox {
                    // As the step says: matchbox still installs the machine that left.
                    let mac = booted.mac_of(&name).to_string();
                    assert!(
                        step.machines.iter().any(|l| l.contains(&mac) && l.contains("installs it again")),
                        "{tag}: step {} names {name}'s groups: {:#?}",
                        step.number,
                        step.machines
                    );
                    assert!(
                        booted.matchbox().answers_mac(&mac, "install"),
                        "{tag}: matchbox still answers {name} ({mac})"
                    );
                }
            }
            Action::RemoveDead => {
                run(&booted, &step.commands);
                membership.remove(&name);
                dead.retain(|d| *d != name);
                let voters = running_voters(&membership, &dead, None);
                plug_midway(&mut booted, tag, step, k, &voters, None);
            }
            Action::MoveAddress => {
                run(&booted, &step.commands);
                // As the step's line says: NEW's configuration applied again by Ignition on
                // the member's own disk (`first_boot` and a reboot), its data kept. From the
                // update until it runs there, the others reach it only at its new address:
                // midway, with it down, a domain's plug has the outcome the plan gives.
                assert!(
                    step.machines
                        .iter()
                        .any(|l| l.contains("/boot/flatcar/first_boot") && l.contains("data directory stays")),
                    "{tag}: step {} says how NEW's configuration reaches {name}: {:#?}",
                    step.number,
                    step.machines
                );
                booted.machines.get_mut(&name).expect("the moving member").pull_plug();
                let voters = running_voters(&membership, &dead, Some(&name));
                plug_midway(&mut booted, tag, step, k, &voters, None);
                let text = new.render().expect("NEW renders");
                let config = text.text(&format!("ignition/{name}.ign")).expect("the member's config in NEW");
                let machine = booted.machines.get_mut(&name).expect("the moving member");
                machine.apply_again(tag, config);
                machine.boot();
                booted.machine(&name).wait_booted(Duration::from_secs(300));
                membership.insert(name.clone(), joining[&name].clone());
            }
            Action::Reconfigure => continue,
            other => panic!("{tag}: step {} ({other:?}) is not part of this change", step.number),
        }
        writer.write_through(urls(&membership, &dead));
        let listed_by = running.iter().find(|m| membership.contains_key(*m)).unwrap_or(&operator).clone();
        let listed_at = membership.values().map(|m| m.client_url.clone()).collect::<Vec<_>>().join(",");
        let (ok, list) = eventually(Duration::from_secs(60), || {
            etcdctl(old, booted.machine(&listed_by), &listed_at, "member list -w json")
        });
        assert!(ok, "{tag}: member list after step {}: {list}", step.number);
        let listed = crate::support::members_listed(&list);
        let wanted: BTreeSet<(String, bool)> = membership.keys().map(|n| (n.clone(), false)).collect();
        assert_eq!(listed, wanted, "{tag}: etcd's membership after step {} ({})", step.number, step.title);
        assert_eq!(step.after.voters as usize, membership.len(), "{tag}: the plan's voters after step {}", step.number);
        let key = format!("/change/step-{}", step.number);
        let wrote = write_from_hub(&booted, &urls(&membership, &dead), &key, true);
        assert!(wrote, "{tag}: a write after step {}", step.number);
        // Before the next step, as the step's last line says: `endpoint health` reports every
        // running member healthy (each answers a linearizable read of its own).
        let (healthy, said) = healthy_within(&booted, &urls(&membership, &dead), Duration::from_secs(90));
        if !healthy {
            let running = running_voters(&membership, &dead, None);
            panic!(
                "{tag}: not every member is healthy after step {}: {said}\n{}",
                step.number,
                etcd_state(&booted, &running.values().collect::<Vec<_>>())
            );
        }
    }
    let acknowledged = writer.finish();
    let names = |m: &BTreeMap<String, clusterdef::change::Member>| m.keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(names(&membership), names(&joining), "{tag}: NEW's members");
    let endpoints = urls(&membership, &[]);
    let said = from_hub(&booted, &endpoints, &["get", "/", "--prefix", "--keys-only", "--consistency=l"])
        .unwrap_or_else(|| panic!("{tag}: a linearizable read at the end"));
    for step in plan.steps.iter().filter(|s| s.member.is_some() && s.action != Action::Reconfigure) {
        let key = format!("/change/step-{}", step.number);
        assert!(said.lines().any(|l| l == key), "{tag}: step {}'s write is kept", step.number);
    }
    assert_none_lost(tag, plan.steps.len(), &acknowledged, &said);
    if from_matchbox {
        // NEW's render served, as the plan's note says: every member of NEW is answered, and
        // no machine that left is.
        assert!(plan.notes.iter().any(|n| n.starts_with("matchbox: once the last step is done")), "{:?}", plan.notes);
        booted.matchbox().serve(tag, &new.render().expect("NEW renders"));
        for name in members(old).keys().chain(joining.keys()) {
            let mac = booted.mac_of(name).to_string();
            let stays = joining.contains_key(name);
            assert_eq!(
                booted.matchbox().answers_mac(&mac, "install"),
                stays,
                "{tag}: NEW's matchbox answers {name} ({mac})"
            );
        }
    }
    plan
}

/// The voters of `membership` that run: not dead, and not `down` (a member between its update
/// and its return at a new address).
fn running_voters(
    membership: &BTreeMap<String, clusterdef::change::Member>,
    dead: &[String],
    down: Option<&str>,
) -> BTreeMap<String, clusterdef::change::Member> {
    membership
        .iter()
        .filter(|(n, _)| !dead.contains(n) && Some(n.as_str()) != down)
        .map(|(n, m)| (n.clone(), m.clone()))
        .collect()
}

/// Installs the joiner of `step` from what matchbox serves once the step's render is served,
/// as the step's lines say (its MAC, the render they name), and checks that what matchbox
/// served is the step's configuration, read as Ignition reads both (matchbox serves spec 3.4.0).
fn install_joiner_from_matchbox(booted: &mut Booted, tag: &str, new: &Cluster, step: &Step) {
    let join = step.join.as_ref().expect("a joiner's membership");
    let name = &join.member;
    let mac = booted.mac_of(name).to_string();
    let render = format!("`clusterdef render NEW --step {} --from OLD`", step.number);
    assert!(
        step.machines.iter().any(|l| l.starts_with(&format!("{name}: installed by matchbox"))
            && l.contains(&mac)
            && l.contains(&render)),
        "{tag}: step {} says how matchbox installs {name} ({mac}): {:#?}",
        step.number,
        step.machines
    );
    let options = RenderOptions { etcd_join: Some(join.clone()), ..RenderOptions::default() };
    booted.matchbox().serve(tag, &new.render_with(&options).expect("the step renders"));
    let served = booted.install_from_matchbox(tag, name, &format!("step-{}/ignition/{name}.ign", step.number));
    let read = |text: &str| {
        let mut config = clusterdef::read::ignition::parse(text).unwrap_or_else(|e| panic!("{tag}: {e}"));
        config.version.clear();
        config
    };
    let rendered = String::from_utf8(step_config(new, step)).expect("a config is text");
    assert_eq!(read(&served), read(&rendered), "{tag}: matchbox serves {name} its step's configuration");
}

/// etcd 3.5's etcdctl on the host, for the hub's client.
fn etcd_35_ctl() -> OsString {
    crate::support::etcd_35("etcdctl").into()
}

/// Inside a join step, with the learner `joiner` booted: pulls the plug of one failure domain
/// (of those costing the most voters, round-robin by `k`): its running voters' machines (`voters` are
/// those running), and the learner's if it is there. A write through the voters left succeeds exactly when the step's midway
/// tolerance says; then the machines boot again and the voters take writes.
fn plug_midway(
    booted: &mut Booted,
    tag: &str,
    step: &Step,
    k: usize,
    voters: &BTreeMap<String, clusterdef::change::Member>,
    joiner: Option<&clusterdef::change::Member>,
) {
    // The domain whose loss costs the most voters (the one a plan is most often wrong about),
    // the steps taking turns among equals.
    let most = step.midway.domains.iter().map(|d| d.members_lost).max().unwrap_or(0);
    let worst: Vec<_> = step.midway.domains.iter().filter(|d| d.members_lost == most).collect();
    let Some(loss) = worst.get(k % worst.len().max(1)).copied() else { return };
    if let Some(joiner) = joiner {
        // The learner answers `endpoint status` once its etcd runs.
        let learner = [joiner.client_url.clone()];
        let (ok, _) = eventually(Duration::from_secs(60), || {
            (from_hub(booted, &learner, &["endpoint", "status"]).is_some(), String::new())
        });
        assert!(ok, "{tag}: the learner {} never answered", joiner.name);
    }
    let voting = voters.values().map(|m| (m.name.as_str(), m.domain.as_deref()));
    let joiner = joiner.map_or(("", None), |j| (j.name.as_str(), j.domain.as_deref()));
    let lost = crate::writer::lost_midway(tag, step, loss, voting, joiner);
    for m in &lost {
        booted.machines.get_mut(m).expect("a machine of the domain").pull_plug();
    }
    let survivors: Vec<&clusterdef::change::Member> = voters.values().filter(|m| !lost.contains(&m.name)).collect();
    let left: Vec<String> = survivors.iter().map(|m| m.client_url.clone()).collect();
    let key = format!("/midway/{k}");
    let wrote = write_from_hub(booted, &left, &key, loss.keeps_quorum);
    println!("{tag}: midway through step {}, {} lost ({lost:?}): a write succeeds: {wrote}", step.number, loss.domain);
    if wrote != loss.keeps_quorum {
        panic!(
            "{tag}: midway through step {} ({}), losing {}: the plan says keeps quorum = {}, a write succeeded: {wrote}\n{}",
            step.number,
            step.title,
            loss.domain,
            loss.keeps_quorum,
            etcd_state(booted, &survivors)
        );
    }
    for m in &lost {
        booted.machines.get_mut(m).expect("a machine of the domain").boot();
    }
    for m in &lost {
        booted.machine(m).wait_booted(Duration::from_secs(300));
    }
    let all: Vec<String> = voters.values().map(|m| m.client_url.clone()).collect();
    let (back, _) = eventually(Duration::from_secs(60), || {
        (from_hub(booted, &all, &["put", &format!("{key}/back"), "x"]).is_some(), String::new())
    });
    assert!(back, "{tag}: the voters take no write after step {}'s plug", step.number);
}

/// What each of `members` says of the cluster, for a failure's message: its own `endpoint
/// status` and `member list` (each asked of it alone) and its etcd's last journal lines.
fn etcd_state(booted: &Booted, members: &[&clusterdef::change::Member]) -> String {
    let mut said = String::new();
    for m in members {
        let one = [m.client_url.clone()];
        let status = from_hub(booted, &one, &["endpoint", "status", "-w", "json"]);
        let list = from_hub(booted, &one, &["member", "list"]);
        let (_, journal) = booted.machine(&m.name).sh("journalctl -u etcd-member.service --no-pager -o cat -n 25");
        said.push_str(&format!(
            "{}: endpoint status {}\nmember list:\n{}\njournal:\n{journal}\n",
            m.name,
            status.as_deref().unwrap_or("(no answer)"),
            list.as_deref().unwrap_or("(no answer)")
        ));
    }
    said
}

/// Declarations on loopback (the real-etcd tests') moved onto a LAN of booted machines:
/// `10.0.0.0/24`, each address's last byte kept.
fn onto_lan(cluster: &Cluster) -> Cluster {
    let mut c = cluster.clone();
    let lan = |a: std::net::Ipv4Addr| std::net::Ipv4Addr::new(10, 0, 0, a.octets()[3]);
    match &mut c.members.addressing {
        clusterdef::Addressing::Range { first, last } => (*first, *last) = (lan(*first), lan(*last)),
        clusterdef::Addressing::List(list) => *list = list.iter().map(|a| lan(*a)).collect(),
        _ => {}
    }
    c.network = Some(clusterdef::Network {
        gateway: Some(std::net::Ipv4Addr::new(10, 0, 0, 1)),
        ..clusterdef::Network::new("10.0.0.0/24".parse().expect("subnet"))
    });
    c
}

/// A change given as two files (`CLUSTERDEF_CHANGE_FROM`, `CLUSTERDEF_CHANGE_TO`: Flatcar
/// declarations the bed can boot, at most 15 machines on a declared network) executed on booted
/// machines; without them, a random pair the real-etcd test draws for the same seed
/// (`CLUSTERDEF_READBACK_SEED` replays), moved onto a LAN.
#[test]
fn change_given_as_two_files_or_drawn_on_booted_machines() {
    let _serial = crate::support::heavy();
    let given = crate::etcd::change::given_change().filter(|(old, new)| {
        let upgrade = crate::nodes::upgrade::is_upgrade(old, new);
        if upgrade {
            eprintln!(
                "CLUSTERDEF_CHANGE_FROM/_TO upgrade Kubernetes: nodes::upgrade runs them; this test draws a pair"
            );
        }
        !upgrade
    });
    let (old, new, options, tag) = match given {
        Some((old, new)) => {
            assert_eq!(old.os, clusterdef::Os::Flatcar, "the booted machines run Flatcar");
            (old, new, allow_windows(), "files".to_string())
        }
        None => {
            let (first, _) = crate::readback::seed_range(1);
            let (old, new, options) = crate::etcd::change::random_pair(first);
            println!("drawn-{first}: replay with CLUSTERDEF_READBACK_SEED={first}");
            (onto_lan(&old), onto_lan(&new), options, format!("drawn-{}", first % 1000))
        }
    };
    execute_booted(&bootable(&old), &bootable(&new), &options, &tag);
}
