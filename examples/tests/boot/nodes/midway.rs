//! What the changes on real nodes share: a failure domain's plug pulled midway through a step,
//! with the outcome the step's midway tolerance gives, and the writes acknowledged through the
//! steps, every one read back at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use clusterdef::Cluster;
use clusterdef::change::Step;

use super::api::{Api, wait_for};
use super::control_plane_runs;
use crate::machines::Booted;

/// The cluster a step runs on: its members (NEW's, in order) with their addresses, and every
/// machine's failure domain by hostname (OLD's and NEW's machines alike).
pub struct Layout<'a> {
    /// NEW, whose members the tolerance names.
    pub new: &'a Cluster,
    /// The members' hostnames, in order.
    pub members: &'a [String],
    /// Every member's address.
    pub addresses: &'a BTreeMap<String, String>,
    /// Each machine's failure domain, by hostname.
    pub domains: BTreeMap<String, Option<String>>,
}

/// Midway through `step`: pulls the plug of the last member's failure domain (every running
/// machine in it); an apiserver left takes a write exactly when the step's midway tolerance says
/// that loss keeps quorum (`moment` says when, for the log); the machines boot again, their
/// nodes are Ready and the control plane runs on every member before the step goes on. The
/// write acknowledged, if the plan says one is.
pub fn plug(
    name: &str,
    moment: &str,
    step: &Step,
    booted: &mut Booted,
    api: &Api,
    layout: &Layout<'_>,
) -> Option<String> {
    let Layout { new, members, addresses, domains } = layout;
    let last = members.last()?;
    // The tolerance names a domain with its kind (`cabinet three`), the plan's machines by name.
    let named = clusterdef::change::members_of(new).expect("static members");
    let domain = named.iter().find(|m| &m.name == last).and_then(|m| m.domain.clone())?;
    let loss = step.midway.domain(&domain).expect("the step's outcome of that domain");
    let value = domains.get(last).cloned().flatten();
    let lost: Vec<String> = domains
        .iter()
        .filter(|(h, d)| **d == value && booted.machines.get(*h).is_some_and(|m| m.is_running()))
        .map(|(h, _)| h.clone())
        .collect();
    let members_lost = named.iter().filter(|m| m.domain.as_deref() == Some(&domain)).count();
    assert_eq!(members_lost as u32, loss.members_lost, "{name}: the members in {domain}");
    for h in &lost {
        booted.machines.get_mut(h).expect("a machine").pull_plug();
    }
    let left: Vec<&String> = members.iter().filter(|m| !lost.contains(m)).collect();
    let wrote = |api: &Api| left.iter().find_map(|m| api.write_named(&addresses[*m]).ok());
    let acknowledged = if loss.keeps_quorum {
        let write = wait_for(&format!("{name}: a write with {domain} lost {moment}"), Duration::from_secs(90), || {
            wrote(api).ok_or_else(|| "no apiserver left took it".to_string())
        });
        Some(write)
    } else {
        // The plan says quorum is gone: no apiserver left takes a write, for as long as the
        // apiservers' own retries last.
        std::thread::sleep(Duration::from_secs(30));
        assert_eq!(wrote(api), None, "{name}: a write succeeded with {domain} lost; the plan says quorum is gone");
        None
    };
    eprintln!("{name}: midway, {domain} lost ({lost:?}) {moment}: a write succeeds: {}", loss.keeps_quorum);
    for h in &lost {
        booted.machines.get_mut(h).expect("a machine").boot();
    }
    for h in &lost {
        booted.machine(h).wait_booted(Duration::from_secs(600));
        super::bed::assert_images_imported(booted.machine(h));
    }
    let first = &addresses[&members[0]];
    wait_for(&format!("{name}: {lost:?} Ready after {domain} returns"), Duration::from_secs(600), || {
        nodes_ready(api, first, &lost)
    });
    wait_for(&format!("{name}: the control plane after {domain} returns"), Duration::from_secs(300), || {
        control_plane_runs(api, first, members)
    });
    acknowledged
}

/// Each of `hosts` that is registered as a node is Ready (one a step adds may register later;
/// the step's own condition waits for it).
fn nodes_ready(api: &Api, at: &str, hosts: &[String]) -> Result<(), String> {
    let nodes = api.get(at, &["nodes"])?;
    for node in nodes["items"].as_array().into_iter().flatten() {
        let name = node["metadata"]["name"].as_str().unwrap_or_default();
        if !hosts.iter().any(|h| h == name) {
            continue;
        }
        if !super::is_ready(node) {
            return Err(format!("{name} is not Ready"));
        }
    }
    Ok(())
}

/// Fails unless every write in `acknowledged` reads back (a ConfigMap of its name).
pub fn read_back(name: &str, api: &Api, at: &str, acknowledged: &[String]) {
    let stored = api.get(at, &["configmaps"]).expect("the ConfigMaps");
    let kept: BTreeSet<&str> =
        stored["items"].as_array().into_iter().flatten().filter_map(|c| c["metadata"]["name"].as_str()).collect();
    let lost: Vec<&String> = acknowledged.iter().filter(|w| !kept.contains(w.as_str())).collect();
    assert!(lost.is_empty(), "{name}: acknowledged writes lost: {lost:?}");
}
