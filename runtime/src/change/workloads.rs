//! Each workload through each step, with Kubernetes: the nodes it may run on at the step's worst
//! moment and how many of its pods run there, and `change_workload_nodes` where a step leaves
//! it none.
//!
//! What runs during the steps is OLD's workloads: their manifests stay OLD's until NEW's are
//! applied (`kubectl apply`) after the last step, and NEW at rest is NEW's plan. The nodes of a
//! moment are the machines up then, each registered with the labels and taints it had when its
//! kubelet registered: OLD's for OLD's machines until a relabelling step gives them NEW's, NEW's
//! for the machines a step adds; an autoscaled pool at its minimum, as in the plan. Dead
//! members' machines are down from the start. A relabelled node keeps the pods it runs (a
//! node's labels are read only when a pod is placed); its new labels count from the next step
//! that places pods again, one that takes nodes away.
//!
//! A step's moments: after it; inside it, a moving member down (its address moves), one node
//! at a time drained (a kubelet upgrade). A join adds its node at the end, a removal takes it
//! away at once, a reconfiguration or a control-plane upgrade takes no node away (a restart
//! is shorter than the eviction timeout).
//!
//! O(kinds × distinct requirement sets) to know where each may run (as the plan's own
//! workloads), then O(steps × workloads) plus each machine's moves: steps are bounded by the
//! members ([`super::MAX_CHANGE_MEMBERS`]) and a few more.

use std::collections::HashMap;

use clusterdef_model::kubernetes::{NodeKind, Workload, WorkloadKind};
use clusterdef_model::{Cluster, GroupPart, GroupRef, Subject, UnitPart};

use super::{Action, ChangeRule, Finding, Step};

/// A workload at one step's worst moment, when it does not keep every pod it wants.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct WorkloadAtStep {
    /// The workload (OLD's).
    pub name: String,
    /// Nodes it may run on at that moment.
    pub nodes: u32,
    /// Its pods that run.
    pub running: u32,
    /// Its pods it wants (a DaemonSet: one per node it may run on).
    pub wanted: u32,
}

/// A workload's node requirements and whether it tolerates the control-plane taint: what
/// decides the nodes it may run on.
type Placement<'a> = (&'a [(String, Vec<String>)], bool);

/// The nodes of the moment, as counts per node kind (OLD's kinds, then NEW's), and for each
/// distinct set of requirements how many of them it may run on.
struct Nodes {
    /// Each machine up, by hostname: the kind it is registered as.
    at: HashMap<String, usize>,
    /// For each kind, the requirement sets that may run on it.
    sets_on: Vec<Vec<usize>>,
    /// For each requirement set, the nodes it may run on.
    nodes: Vec<u32>,
}

impl Nodes {
    fn add(&mut self, kind: usize, by: i64) {
        for &s in &self.sets_on[kind] {
            self.nodes[s] = (i64::from(self.nodes[s]) + by).max(0) as u32;
        }
    }

    fn register(&mut self, hostname: &str, kind: usize) {
        self.unregister(hostname);
        self.at.insert(hostname.to_string(), kind);
        self.add(kind, 1);
    }

    fn unregister(&mut self, hostname: &str) {
        if let Some(kind) = self.at.remove(hostname) {
            self.add(kind, -1);
        }
    }
}

/// Each fixed machine of `cluster` with the index of the node kind it registers as (offset by
/// `base`). O(machines + kinds).
fn kinds_of_machines(cluster: &Cluster, kinds: &[NodeKind], base: usize) -> HashMap<String, usize> {
    let index: HashMap<(GroupRef, Option<usize>), usize> =
        kinds.iter().enumerate().map(|(i, k)| ((k.group, k.domain), base + i)).collect();
    cluster.machines().into_iter().filter_map(|m| Some((m.hostname, *index.get(&(m.group, m.domain))?))).collect()
}

/// `workload`'s pods at a moment with `nodes` nodes it may run on: (running, wanted).
fn pods(workload: &Workload, nodes: u32) -> (u32, u32) {
    (workload.fit_on(nodes), workload.wanted_on(nodes))
}

/// Fills each step's `workloads` with OLD's workloads that do not keep every pod they want at
/// its worst moment; the findings of `change_workload_nodes`: a workload that has nodes before
/// the change and none at some step (one finding per workload, naming its steps).
pub fn predict(old: &Cluster, new: &Cluster, dead: &[String], steps: &mut [Step]) -> Vec<Finding> {
    if old.kubernetes.is_none() || new.kubernetes.is_none() {
        return Vec::new();
    }
    let (old_kinds, new_kinds) = (old.node_kinds(), new.node_kinds());
    let workloads = old.workloads();
    // Workloads with the same requirements and toleration may run on the same kinds: worked
    // out once per set.
    let mut set_of: HashMap<Placement<'_>, usize> = HashMap::new();
    let mut sets: Vec<usize> = Vec::with_capacity(workloads.len());
    let mut sets_on: Vec<Vec<usize>> = vec![Vec::new(); old_kinds.len() + new_kinds.len()];
    for w in &workloads {
        let next = set_of.len();
        let set = *set_of.entry((&w.requirements, w.tolerates_control_plane)).or_insert(next);
        if set == next {
            // OLD's kinds as the plan placed it, NEW's by its requirements.
            for &k in &w.eligible {
                sets_on[k].push(set);
            }
            for (k, kind) in new_kinds.iter().enumerate() {
                if w.may_run_on(kind) {
                    sets_on[old_kinds.len() + k].push(set);
                }
            }
        }
        sets.push(set);
    }
    let mut nodes = Nodes { at: HashMap::new(), sets_on, nodes: vec![0; set_of.len()] };
    for (k, kind) in old_kinds.iter().enumerate() {
        nodes.add(k, i64::from(kind.count.min));
    }
    let old_at = kinds_of_machines(old, &old_kinds, 0);
    let new_at = kinds_of_machines(new, &new_kinds, old_kinds.len());
    nodes.at = old_at;
    let at_rest: Vec<u32> = sets.iter().map(|&s| nodes.nodes[s]).collect();
    for d in dead {
        nodes.unregister(d);
    }
    let (old_workers, new_workers) = (super::workers::workers(old), super::workers::workers(new));
    let (added, removed) = super::workers::worker_changes(&old_workers, &new_workers);
    let mut stranded: Vec<Vec<usize>> = vec![Vec::new(); workloads.len()];
    // Since a relabelling, the nodes the pods were placed by, until a step places them again
    // (one that takes nodes away).
    let mut unmoved: Option<Vec<u32>> = None;
    for (s, step) in steps.iter_mut().enumerate() {
        // The step's inside, as the least nodes each requirement set has in it.
        let mut inside: Option<Vec<u32>> = None;
        let mut one_at_a_time = false;
        let member = step.member.clone().unwrap_or_default();
        match step.action {
            Action::Join => {
                if let Some(&k) = new_at.get(&member) {
                    nodes.register(&member, k);
                }
            }
            Action::Leave => {
                unmoved = None;
                nodes.unregister(&member);
            }
            Action::MoveAddress => {
                unmoved = None;
                if let Some(&k) = nodes.at.get(&member) {
                    nodes.unregister(&member);
                    inside = Some(nodes.nodes.clone());
                    nodes.register(&member, k);
                }
            }
            Action::Workers => {
                // The added first, as the step orders it.
                for m in &added {
                    if let Some(&k) = new_at.get(&m.hostname) {
                        nodes.register(&m.hostname, k);
                    }
                }
                if !removed.is_empty() {
                    unmoved = None;
                }
                for m in &removed {
                    nodes.unregister(&m.hostname);
                }
            }
            Action::Relabel => {
                // A node's labels are read when a pod is placed, never again
                // (`IgnoredDuringExecution`): the pods stay where they run, and the new labels
                // count from the next step on, which places pods again.
                unmoved.get_or_insert_with(|| nodes.nodes.clone());
                let up: Vec<String> = nodes.at.keys().filter(|h| new_at.contains_key(*h)).cloned().collect();
                for hostname in up {
                    nodes.register(&hostname, new_at[&hostname]);
                }
            }
            Action::UpgradeNodes => {
                unmoved = None;
                one_at_a_time = true;
            }
            Action::RemoveDead | Action::Reconfigure | Action::UpgradeControlPlane => {}
        }
        step.workloads = Vec::new();
        for (w, workload) in workloads.iter().enumerate() {
            let after = unmoved.as_ref().map_or(nodes.nodes[sets[w]], |u| u[sets[w]]);
            let mut least = inside.as_ref().map_or(after, |i| i[sets[w]].min(after));
            if one_at_a_time {
                least = least.saturating_sub(1);
            }
            let (running, wanted) = pods(workload, least);
            if running < wanted || (least == 0 && at_rest[w] > 0) {
                step.workloads.push(WorkloadAtStep { name: workload.name.clone(), nodes: least, running, wanted });
            }
            if least == 0 && at_rest[w] > 0 {
                stranded[w].push(s);
            }
        }
    }
    workloads
        .iter()
        .enumerate()
        .filter(|(w, _)| !stranded[*w].is_empty())
        .map(|(w, workload)| {
            let numbers: Vec<String> = stranded[w].iter().map(|&s| steps[s].number.to_string()).collect();
            let what = match workload.kind {
                WorkloadKind::Deployment(replicas) => format!("its {replicas} pods stay Pending"),
                WorkloadKind::DaemonSet => "no pod of it runs".to_string(),
            };
            let subject = new
                .units
                .iter()
                .position(|u| u.name == old.units[workload.unit].name)
                .map_or(Subject::Group(GroupRef::Members, GroupPart::Whole), |u| Subject::Unit(u, UnitPart::Whole));
            Finding {
                rule: ChangeRule::WorkloadNodes,
                subject,
                message: format!(
                    "workload `{}` has {} node{} it may run on before the change and none during step{} {}: {what}",
                    workload.name,
                    at_rest[w],
                    if at_rest[w] == 1 { "" } else { "s" },
                    if numbers.len() == 1 { "" } else { "s" },
                    numbers.join(", ")
                ),
                help: "add nodes it may run on before those steps (a change adding workers first, then this one), keep the nodes it runs on, or apply NEW's manifest for it before those steps when NEW places it elsewhere".to_string(),
            }
        })
        .collect()
}
