//! Changes executed on booted machines: the production layout grown from three members to five,
//! and shrunk from five to three. OLD's machines boot from OLD's Ignition configs (real Ignition, systemd as PID
//! 1, etcd-member from the rendered drop-in); each joining machine is installed with the
//! configuration `render NEW --step N --from OLD` writes and booted at its step; every command
//! of the plan runs, as printed, in a shell on the first member, with the etcdctl a member has.
//! A removed member's machine is powered off once it is removed. After every step etcd's member
//! list is the plan's and a write succeeds; at the end a linearizable read finds every step's
//! write.

use clusterdef::change::{Action, ChangeOptions, ChangeRule, plan};
use clusterdef::{Artifacts, Render, RenderOptions};

use super::*;

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

#[test]
fn change_three_to_five_on_booted_machines() {
    let _serial = crate::support::heavy();
    execute_booted(&bootable(&THREE), &bootable(&FIVE), "grow");
}

#[test]
fn change_five_to_three_on_booted_machines() {
    let _serial = crate::support::heavy();
    execute_booted(&bootable(&FIVE), &bootable(&THREE), "shrink");
}

/// Runs the change from `old` to `new` on booted machines, as the module says. One of the two
/// declarations holds every machine of the other (a growth or a shrink at the same addresses);
/// the bed is laid out for that one. Removed members are powered off after their removal.
fn execute_booted(old: &Cluster, new: &Cluster, tag: &str) {
    let options =
        ChangeOptions { dead: Vec::new(), allow: vec![(ChangeRule::DomainQuorum, "proven step by step".into())] };
    let plan = plan(old, new, &options).expect("the change plans");
    let larger = if new.etcd_members().len() >= old.etcd_members().len() { new } else { old };
    // Each machine's first-boot configuration: OLD's for its members, the step's for a joiner.
    let mut configs = Artifacts::default();
    let first = old.render().expect("OLD renders");
    for m in old.etcd_members() {
        let path = format!("ignition/{}.ign", m.name);
        configs.insert(path.clone(), first.get(&path).expect("a member's config").to_vec());
    }
    for step in &plan.steps {
        if let Some(join) = &step.join {
            let options = RenderOptions { etcd_join: Some(join.clone()), ..RenderOptions::default() };
            let rendered = new.render_with(&options).expect("the step renders");
            let path = format!("ignition/{}.ign", join.member);
            configs.insert(path.clone(), rendered.get(&path).expect("the joiner's config").to_vec());
        }
    }
    let mut booted = Booted::install(tag, larger, &configs);
    let members: Vec<String> = old.etcd_members().into_iter().map(|m| m.name).collect();
    for name in &members {
        booted.machines.get_mut(name).expect("a member").boot();
    }
    for name in &members {
        booted.machine(name).wait_booted(Duration::from_secs(120));
    }
    // The operator works on a member that stays.
    let stays: BTreeSet<String> = new.etcd_members().into_iter().map(|m| m.name).collect();
    let operator = members.iter().find(|m| stays.contains(*m)).cloned().expect("a member that stays");
    let endpoints = |names: &BTreeSet<String>| -> String {
        new.etcd_members()
            .into_iter()
            .chain(old.etcd_members())
            .filter(|m| names.contains(&m.name))
            .map(|m| clusterdef::render::cloud_config::client_url(&m))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(",")
    };
    let mut membership: BTreeSet<String> = members.iter().cloned().collect();
    let (ok, health) = eventually(Duration::from_secs(90), || {
        etcdctl(old, booted.machine(&operator), &endpoints(&membership), "endpoint health")
    });
    assert!(ok, "{tag}: OLD's members are healthy: {health}");
    // The commands as a script on the operator's member, run by `sh` under a time limit (a
    // learner that never catches up would keep the promotion loop going).
    let run = |booted: &Booted, commands: &[String]| {
        let body = format!("set -e\nexport PATH=/opt/etcd-3.5:$PATH\n{}\n", commands.join("\n"));
        let script = format!("cat >/run/step.sh <<'STEP'\n{body}STEP\ntimeout 180 sh /run/step.sh");
        let (ok, said) = booted.machine(&operator).sh(&script);
        assert!(ok, "{tag}: the step's commands, run on {operator}:\n{body}\n{said}");
    };
    for step in &plan.steps {
        let name = step.member.clone().unwrap_or_default();
        match step.action {
            Action::Join => {
                run(&booted, &step.commands[..1]);
                booted.machines.get_mut(&name).expect("the joiner").boot();
                booted.machine(&name).wait_booted(Duration::from_secs(120));
                run(&booted, &step.commands[1..]);
                membership.insert(name.clone());
            }
            Action::Leave => {
                run(&booted, &step.commands);
                booted.machines.get_mut(&name).expect("the leaver").pull_plug();
                membership.remove(&name);
            }
            Action::Reconfigure => continue,
            other => panic!("{tag}: step {} ({other:?}) is not part of this change", step.number),
        }
        let (ok, list) = eventually(Duration::from_secs(60), || {
            etcdctl(old, booted.machine(&operator), &endpoints(&membership), "member list -w json")
        });
        assert!(ok, "{tag}: member list after step {}: {list}", step.number);
        let listed = crate::support::members_listed(&list);
        let wanted: BTreeSet<(String, bool)> = membership.iter().map(|n| (n.clone(), false)).collect();
        assert_eq!(listed, wanted, "{tag}: etcd's membership after step {} ({})", step.number, step.title);
        let key = format!("/change/step-{}", step.number);
        let (wrote, said) = eventually(Duration::from_secs(30), || {
            etcdctl(old, booted.machine(&operator), &endpoints(&membership), &format!("put {key} done"))
        });
        assert!(wrote, "{tag}: a write after step {}: {said}", step.number);
    }
    let (read, said) = etcdctl(
        old,
        booted.machine(&operator),
        &endpoints(&membership),
        "get /change/ --prefix --keys-only --consistency=l",
    );
    assert!(read, "{said}");
    for step in plan.steps.iter().filter(|s| s.member.is_some()) {
        assert!(
            said.contains(&format!("/change/step-{}", step.number)),
            "{tag}: step {}'s write is kept: {said}",
            step.number
        );
    }
    assert_eq!(membership, stays, "{tag}: NEW's members");
}
