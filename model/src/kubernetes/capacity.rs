//! How many pods a node holds, and what takes them whatever the order pods are created in.
//!
//! The scheduler counts every pod bound to a node against the kubelet's `maxPods` (static pods'
//! mirrors too) and leaves a pod pending while every node it may run on is full. Which pods
//! those are depends on the order they were created, so the plan cannot name them; what it can
//! say for certain is when some must stay pending: a node kind whose DaemonSets and the
//! cluster's own pods alone pass the most a node holds, or pods that may run only on some set
//! of nodes (every node, or the nodes some Deployments are confined to) passing what those
//! nodes hold together, with every domain up or with one lost. `check` refuses the first two
//! (`node_capacity`); a loss that leaves too little room is `workload_survival`'s.

use std::collections::HashMap;

use crate::cluster::Cluster;

use super::{NodeKind, Workload, WorkloadKind};

/// The most pods a kubelet runs: its `maxPods`, which the renderer writes into every node's
/// kubelet configuration (the kubelet's own default too).
pub const MAX_PODS: u32 = 110;

/// The addons' pods on every node: flannel's and kube-proxy's DaemonSets.
pub const ADDON_PODS_PER_NODE: u32 = 2;

/// The control plane's static pods on each member: the apiserver, the controller manager and
/// the scheduler.
pub const STATIC_PODS_PER_MEMBER: u32 = 3;

impl Cluster {
    /// CoreDNS's replicas: one per member, two at least (placed anywhere, preferring members).
    pub fn coredns_replicas(&self) -> u32 {
        self.members.fixed_count().unwrap_or(1).max(2)
    }
}

/// The pods every node of `kind` runs before any workload's: the addons', and the control
/// plane's static pods on members.
pub fn own_pods(kind: &NodeKind) -> u32 {
    ADDON_PODS_PER_NODE + if kind.control_plane { STATIC_PODS_PER_MEMBER } else { 0 }
}

/// The pods every node of each kind runs whatever the order: its own ([`own_pods`]) and one
/// per DaemonSet workload that may run there. O(kinds + Σ per DaemonSet its eligible kinds).
pub fn pods_per_node(kinds: &[NodeKind], workloads: &[Workload]) -> Vec<u32> {
    let mut out: Vec<u32> = kinds.iter().map(own_pods).collect();
    for w in workloads.iter().filter(|w| w.kind == WorkloadKind::DaemonSet) {
        for &k in &w.eligible {
            out[k] = out[k].saturating_add(1);
        }
    }
    out
}

/// The pods wanted on some nodes against the pods those nodes hold: when `wanted` passes
/// `slots`, that many pods more than fit stay pending.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PodRoom {
    /// The pods that may run only there: each node's own ([`pods_per_node`]), and the
    /// Deployments' confined to those nodes that have a node (with CoreDNS's, on every node).
    pub wanted: u64,
    /// [`MAX_PODS`] on each node.
    pub slots: u64,
}

impl PodRoom {
    /// How many pods more than the nodes hold; 0 when all fit.
    pub fn over(&self) -> u64 {
        self.wanted.saturating_sub(self.slots)
    }
}

/// A set of nodes whose pods the plan counts against what they hold: every node (with every
/// Deployment and CoreDNS), or the node kinds some Deployments may run on, exactly, with those
/// Deployments (their pods may run nowhere else).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KindSet {
    /// The node kinds (indices into [`Cluster::node_kinds`], ascending); `None` for every kind.
    pub kinds: Option<Vec<usize>>,
    /// The Deployments confined to them (indices into [`Cluster::workloads`]), in order.
    pub deployments: Vec<usize>,
}

/// Every node first, then each distinct set of eligible kinds some Deployment has that is not
/// every kind, in first-declared order. O(Σ per Deployment its eligible kinds), with a hash of
/// the sets.
pub fn kind_sets(kinds: &[NodeKind], workloads: &[Workload]) -> Vec<KindSet> {
    let deployments = |w: &&Workload| w.kind != WorkloadKind::DaemonSet;
    let mut out = vec![KindSet {
        kinds: None,
        deployments: (0..workloads.len()).filter(|&w| deployments(&&workloads[w])).collect(),
    }];
    let mut index: HashMap<&[usize], usize> = HashMap::new();
    for (w, workload) in workloads.iter().enumerate().filter(|(_, w)| deployments(w)) {
        if workload.eligible.is_empty() || workload.eligible.len() == kinds.len() {
            continue;
        }
        let at = *index.entry(&workload.eligible).or_insert_with(|| {
            out.push(KindSet { kinds: Some(workload.eligible.clone()), deployments: Vec::new() });
            out.len() - 1
        });
        out[at].deployments.push(w);
    }
    out
}

/// The room on `set`'s nodes with every domain up, each kind at its fewest machines.
/// O(its kinds + its Deployments' eligible kinds).
pub fn room_of(
    cluster: &Cluster,
    kinds: &[NodeKind],
    workloads: &[Workload],
    per_node: &[u32],
    set: &KindSet,
) -> PodRoom {
    let mut room = PodRoom::default();
    let mut count = |k: usize| {
        room.wanted += u64::from(kinds[k].count.min) * u64::from(per_node[k]);
        room.slots += u64::from(kinds[k].count.min) * u64::from(MAX_PODS);
    };
    match &set.kinds {
        None => (0..kinds.len()).for_each(&mut count),
        Some(some) => some.iter().copied().for_each(&mut count),
    }
    if set.kinds.is_none() && room.slots > 0 {
        room.wanted += u64::from(cluster.coredns_replicas());
    }
    for &w in &set.deployments {
        room.wanted += u64::from(workloads[w].fit(kinds, |_| true));
    }
    room
}

/// Pods that must stay pending: more wanted on a set of nodes than they hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Crowding {
    /// The node kinds (ascending); `None` for every node.
    pub kinds: Option<Vec<usize>>,
    /// The pods wanted there and what the nodes hold.
    pub room: PodRoom,
}

/// For each domain (`domain_of` gives each kind's), the first of `sets` (confined ones, not
/// every node) whose pods pass what its nodes hold once the domain is lost, if any: its kinds'
/// nodes there are gone with their own pods, and its Deployments place what the nodes left
/// allow. O(Σ per set its kinds + Σ per Deployment its eligible kinds).
pub fn crowded_after_losses(
    cluster: &Cluster,
    kinds: &[NodeKind],
    workloads: &[Workload],
    per_node: &[u32],
    sets: &[KindSet],
    domain_of: &[Option<usize>],
    domains: usize,
) -> Vec<Option<Crowding>> {
    let mut out: Vec<Option<Crowding>> = vec![None; domains];
    // Per domain the set touches: its machines there, and their pods. Dense, reset through
    // the list of domains touched.
    let (mut gone, mut own_gone) = (vec![0u32; domains], vec![0u64; domains]);
    let mut hit: Vec<usize> = Vec::new();
    for set in sets {
        let Some(set_kinds) = &set.kinds else { continue };
        for &k in set_kinds {
            let Some(d) = domain_of[k] else { continue };
            if gone[d] == 0 && own_gone[d] == 0 {
                hit.push(d);
            }
            gone[d] += kinds[k].count.min;
            own_gone[d] += u64::from(kinds[k].count.min) * u64::from(per_node[k]);
        }
        let at_rest = room_of(cluster, kinds, workloads, per_node, set);
        // Its Deployments' eligible kinds are the set's: one count of nodes for all of them.
        let nodes: u32 = set_kinds.iter().map(|&k| kinds[k].count.min).sum();
        for d in hit.drain(..) {
            let mut room = at_rest;
            room.slots -= u64::from(gone[d]) * u64::from(MAX_PODS);
            room.wanted -= own_gone[d];
            for &w in &set.deployments {
                let w = &workloads[w];
                room.wanted -= u64::from(w.fit_on(nodes) - w.fit_on(nodes.saturating_sub(gone[d])));
            }
            if room.over() > 0 && out[d].is_none() {
                out[d] = Some(Crowding { kinds: set.kinds.clone(), room });
            }
            (gone[d], own_gone[d]) = (0, 0);
        }
    }
    out
}
