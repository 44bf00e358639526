//! Changes on real nodes, as `clusterdef change` plans them: a worker removed from the cluster
//! that runs, then added back; workers relabelled (NEW's metadata), then restored. Each step's
//! commands run as printed, from the hub (the operator's workstation) with the release's
//! kubectl and the administrator's kubeconfig; a removed worker's machine is powered off once
//! its node is drained and deleted; an added one is provisioned afresh (a new disk) with NEW's
//! configuration and its tree of the PKI renewed for NEW (`clusterdef_pki::renew`, as
//! `clusterdef pki NEW --renew` writes it), and booted. Midway through each step (between the first half of its commands and the rest; after an
//! added worker boots) the plug of the last member's failure domain is pulled with the outcome
//! the step's midway tolerance gives (`midway`; on the way there, not on the way back, each
//! plug costing a member's reboot), and a write is acknowledged after each step.
//! After each change every node is NEW's, registered as NEW's plan says, every workload runs
//! where and as many as the steps predicted and NEW's plan says at rest, and answers; every
//! acknowledged write reads back.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use clusterdef::change::{Action, ChangeOptions, plan};
use clusterdef::{Cluster, Render};

use super::api::{Api, wait_for};
use super::midway::{self, Layout};
use super::{answers, nodes_as_planned, planned_nodes, running};
use crate::kubernetes::{Expected, holds};
use crate::machines::Booted;
use crate::support::{TempDir, tool};

/// `cluster` with one machine fewer in its first fixed pool of two or more machines: the
/// change this scenario runs; `None` when it has no such pool.
pub fn one_worker_fewer(cluster: &Cluster) -> Option<Cluster> {
    let mut new = cluster.clone();
    let mut pools = new.pools.to_vec();
    let pool = pools.iter_mut().find(|p| matches!(p.size, clusterdef::Size::Fixed(n) if n >= 2))?;
    if let clusterdef::Size::Fixed(n) = &mut pool.size {
        *n -= 1;
    }
    new.pools = std::borrow::Cow::Owned(pools);
    Some(new)
}

/// `cluster` with its first fixed pool's machines labelled anew: their metadata's `disk` set
/// (to `ssd`, or `nvme` where it is `ssd`), the change this scenario relabels nodes by; `None`
/// when no fixed pool has a machine.
pub fn relabelled(cluster: &Cluster) -> Option<Cluster> {
    use std::borrow::Cow;
    let mut new = cluster.clone();
    let mut pools = new.pools.to_vec();
    let pool = pools.iter_mut().find(|p| matches!(p.size, clusterdef::Size::Fixed(n) if n >= 1))?;
    let mut metadata = pool.metadata.to_vec();
    let value = if metadata.iter().any(|(k, v)| k == "disk" && v == "ssd") { "nvme" } else { "ssd" };
    metadata.retain(|(k, _)| k != "disk");
    metadata.push((Cow::Borrowed("disk"), Cow::Borrowed(value)));
    pool.metadata = Cow::Owned(metadata);
    new.pools = Cow::Owned(pools);
    Some(new)
}

/// The operator's shell on the hub, in `scratch` (where a render the commands name is): `sh -c`
/// with the release's kubectl first on the PATH and a copy of the administrator's kubeconfig
/// that names the apiserver at `at` (its own server name resolves only on the machines).
pub(super) fn operator_shell(api: &Api, at: &str, scratch: &TempDir, script: &str) -> Result<String, String> {
    let text = std::fs::read_to_string(&api.kubeconfig).expect("admin.conf");
    let pointed: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("server:") {
                format!("      server: \"https://{at}:6443\"")
            } else {
                l.to_string()
            }
        })
        .map(|l| l + "\n")
        .collect();
    let kubeconfig = scratch.path().join("admin.conf");
    std::fs::write(&kubeconfig, pointed).expect("the operator's kubeconfig");
    let bin = api.kubectl.parent().expect("kubectl's directory");
    let out = std::process::Command::new(tool("ip"))
        .args(["netns", "exec", &api.hub, "sh", "-c"])
        .arg(format!("set -e\n{script}\n"))
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env("KUBECONFIG", &kubeconfig)
        .current_dir(scratch.path())
        .output()
        .expect("run sh");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    if out.status.success() { Ok(said) } else { Err(said) }
}

/// How the operator reaches the cluster: kubectl, and every member's address.
#[derive(Clone, Copy)]
pub struct Reach<'a> {
    /// The test's kubectl.
    pub api: &'a Api,
    /// Every member's address, by hostname.
    pub addresses: &'a BTreeMap<String, String>,
}

/// Runs the change from `old` to `new` on the booted real nodes, as the module says (a plug
/// pulled midway through each step `with_plug`);
/// `provision` installs an added machine (its hostname, its config, its PKI tree) ready to
/// boot. A line saying what changed and how long it took.
pub fn run_change(
    name: &str,
    old: &Cluster,
    new: &Cluster,
    booted: &mut Booted,
    reach: &Reach<'_>,
    provision: &dyn Fn(&mut Booted, &str, &str, &Path),
    with_plug: bool,
) -> String {
    let Reach { api, addresses } = *reach;
    let planned_change = plan(old, new, &ChangeOptions::default()).unwrap_or_else(|f| panic!("{name}: {f:?}"));
    eprintln!("{name}: the change:\n{planned_change}");
    let scratch = TempDir::new(&format!("{name}-operator").replace(' ', "-"));
    let (old_plan, new_plan) = (old.plan(), new.plan());
    let new_kplan = new_plan.kubernetes.clone().expect("a Kubernetes plan");
    let before = planned_nodes(&old_plan, old_plan.kubernetes.as_ref().expect("a Kubernetes plan"));
    let planned = planned_nodes(&new_plan, &new_kplan);
    let removed: Vec<String> = before.keys().filter(|h| !planned.contains_key(*h)).cloned().collect();
    let added: Vec<String> = planned.keys().filter(|h| !before.contains_key(*h)).cloned().collect();
    let relabels = planned_change.steps.iter().filter(|s| s.action == Action::Relabel).count();
    assert!(
        !removed.is_empty() || !added.is_empty() || relabels > 0,
        "{name}: the change adds or removes a worker or relabels nodes"
    );
    // The PKI renewed for NEW, read from the bed's (what `clusterdef pki` wrote at first).
    let renewed = scratch.path().join("pki");
    if !added.is_empty() {
        let old_pki = booted.pki().expect("the cluster's PKI");
        let pki = clusterdef_pki::renew(new, &old_pki).expect("the PKI renewed for NEW");
        pki.pki.write_to(&renewed).expect("written");
    }
    let configs = new.render().expect("NEW renders");
    let config_of = |hostname: &str| -> String {
        let m = new_plan.groups.iter().flat_map(|g| &g.machines).find(|m| m.hostname == hostname).expect("planned");
        configs.text(&m.config).expect("its config").to_string()
    };
    let members: Vec<String> =
        new_plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines).map(|m| m.hostname.clone()).collect();
    let at = &addresses[&members[0]];
    let layout = Layout {
        new,
        members: &members,
        addresses,
        domains: before.iter().chain(&planned).map(|(h, p)| (h.clone(), p.domain.clone())).collect(),
    };
    let mut acknowledged = Vec::new();
    let started = Instant::now();
    for step in &planned_change.steps {
        assert!(
            matches!(step.action, Action::Workers | Action::Relabel),
            "{name}: step {} ({:?}) is not part of a worker's removal or addition",
            step.number,
            step.action
        );
        if step.action == Action::Workers {
            // Added first (the step says so), each booted and Ready before a drain.
            for hostname in &added {
                provision(booted, hostname, &config_of(hostname), &renewed.join("machines").join(hostname));
                let machine = booted.machines.get_mut(hostname).expect("an added worker");
                machine.boot();
                machine.wait_booted(Duration::from_secs(600));
                super::bed::assert_images_imported(machine);
            }
        }
        // The commands' first half, a domain's plug midway, then the rest.
        let run = |commands: &[String]| {
            if commands.is_empty() {
                return;
            }
            let said = operator_shell(api, at, &scratch, &commands.join("\n"))
                .unwrap_or_else(|e| panic!("{name}: step {}'s commands:\n{}\n{e}", step.number, commands.join("\n")));
            eprintln!("{name}: step {}: {said}", step.number);
        };
        let (first_half, rest) = step.commands.split_at(step.commands.len().div_ceil(2));
        run(first_half);
        if with_plug {
            let moment = format!("midway through step {} ({})", step.number, step.title);
            acknowledged.extend(midway::plug(name, &moment, step, booted, api, &layout));
        }
        run(rest);
        if step.action == Action::Workers {
            for hostname in &removed {
                booted.machines.get_mut(hostname).expect("a removed worker").pull_plug();
            }
        }
        // The step's prediction: every workload keeps every pod it wants, or those it lists.
        assert!(step.workloads.is_empty(), "{name}: step {} predicts {:?}", step.number, step.workloads);
        acknowledged.push(wait_for(
            &format!("{name}: a write after step {}", step.number),
            Duration::from_secs(60),
            || api.write_named(at),
        ));
    }
    let all: BTreeSet<String> = planned.keys().cloned().collect();
    wait_for(&format!("{name}: every node NEW's after the change"), Duration::from_secs(600), || {
        nodes_as_planned(api, at, &planned)
    });
    let at_rest = Expected::at_rest(&new_kplan);
    let names: Vec<String> = new_kplan.workloads.iter().map(|w| w.name.clone()).collect();
    let kinds: BTreeMap<String, String> = planned.iter().map(|(h, p)| (h.clone(), p.kind.clone())).collect();
    wait_for(&format!("{name}: the workloads as NEW's plan says after the change"), Duration::from_secs(300), || {
        holds(&running(api, at, &names, &all)?, &kinds, &at_rest)
    });
    let said = wait_for(&format!("{name}: answers after the change"), Duration::from_secs(120), || {
        answers(api, at, new, &planned, &all)
    });
    midway::read_back(name, api, at, &acknowledged);
    format!(
        "change ({} steps; removed {removed:?}, added {added:?}, {relabels} relabelling; {} writes acknowledged, none lost) to NEW at rest, answering: {:?} ({said:?})",
        planned_change.steps.len(),
        acknowledged.len(),
        started.elapsed()
    )
}
