//! What the cluster keeps when one failure domain is lost whole.
//!
//! A loss touches only the workloads with an eligible node kind in the lost domain, and of
//! those most keep every pod they want (a Deployment whose replicas find other nodes, a
//! DaemonSet that wants one pod fewer per node lost). So each loss lists only the workloads that
//! do not (some pods stay pending), with the node kinds each loses; the prediction costs
//! O(domains + kinds + Σ per workload its eligible kinds), not domains × workloads × kinds, and
//! what it lists is what a reader needs.

use std::collections::HashMap;

use crate::cluster::Cluster;
use crate::group::DomainKind;
use crate::quorum;

use super::capacity::{Crowding, MAX_PODS, PodRoom, crowded_after_losses, kind_sets, pods_per_node, room_of};
use super::{NodeKind, Workload, WorkloadKind};

/// A failure domain some group is spread across: every group's machines in it are lost
/// together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureDomain {
    /// Cabinet or zone.
    pub kind: DomainKind,
    /// Its name.
    pub name: String,
}

/// What a workload keeps when a domain with some of its eligible nodes is lost, and it does not
/// keep every pod it wants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WorkloadLoss {
    /// The workload (index into [`Cluster::workloads`]).
    pub workload: usize,
    /// How many pods it keeps running or gets placed again.
    pub fit: u32,
    /// How many it wants with the nodes left.
    pub wanted: u32,
    /// Its eligible node kinds in the lost domain (indices into [`Cluster::node_kinds`]); the
    /// rest of its eligible kinds are left to it.
    pub lost: Vec<usize>,
    /// Whether it keeps an eligible node kind.
    pub any_left: bool,
}

/// What the cluster keeps when one failure domain is lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainLoss {
    /// The domain.
    pub domain: FailureDomain,
    /// Members left, of how many.
    pub members_left: (u32, u32),
    /// Whether etcd keeps quorum, so the apiserver serves and a controller manager and a
    /// scheduler can hold their leases: nothing is rescheduled otherwise.
    pub control_plane: bool,
    /// The workloads that do not keep every pod they want (an eligible node kind of theirs is
    /// in the domain, and what is left does not hold them), in [`Cluster::workloads`] order.
    /// Every other workload keeps every pod it wants: a Deployment its replicas, a DaemonSet
    /// one pod on each of its eligible nodes outside the domain.
    pub short: Vec<WorkloadLoss>,
    /// The pods wanted with the domain's nodes gone, against what the nodes left hold: when
    /// more are wanted, that many stay pending, and which depends on the order they were
    /// created (so no workload is promised all of its pods).
    pub pods: PodRoom,
    /// The first set of nodes (every node first, then the kinds some Deployments are confined
    /// to) whose pods pass what its nodes left hold: that many stay pending.
    pub crowded: Option<Crowding>,
}

impl DomainLoss {
    /// Whether workload `w` keeps every pod it wants: the control plane keeps serving, the nodes
    /// left hold every pod wanted, and `w` is not short. O(log short).
    pub fn keeps(&self, w: usize) -> bool {
        self.control_plane && self.crowded.is_none() && self.short.binary_search_by_key(&w, |t| t.workload).is_err()
    }
}

impl Cluster {
    /// Every failure domain some group is spread across, in first-declared order.
    pub fn failure_domains(&self) -> Vec<FailureDomain> {
        let mut out: Vec<FailureDomain> = Vec::new();
        let mut seen: HashMap<(DomainKind, &str), ()> = HashMap::new();
        for (_, g) in self.groups() {
            let Some(spread) = &g.spread else { continue };
            for d in spread.domains.iter() {
                if seen.insert((spread.kind, &d.name), ()).is_none() {
                    out.push(FailureDomain { kind: spread.kind, name: d.name.to_string() });
                }
            }
        }
        out
    }

    /// For each failure domain, what the cluster keeps when all of its machines are lost at
    /// once: etcd quorum (so a serving apiserver and leaders for the controller manager and
    /// scheduler on the members left), and for each workload with eligible nodes in it the
    /// pods that still have a node. O(domains + kinds + Σ per workload its eligible kinds).
    pub fn domain_losses(&self) -> Vec<DomainLoss> {
        let kinds = self.node_kinds();
        let workloads = self.workloads();
        self.domain_losses_of(&kinds, &workloads)
    }

    /// [`Cluster::domain_losses`] from the node kinds and workloads already worked out.
    pub fn domain_losses_of(&self, kinds: &[NodeKind], workloads: &[Workload]) -> Vec<DomainLoss> {
        let members = self.members.fixed_count().unwrap_or(0);
        let domains = self.failure_domains();
        let index: HashMap<(DomainKind, &str), usize> =
            domains.iter().enumerate().map(|(i, d)| ((d.kind, d.name.as_str()), i)).collect();
        let domain_of: Vec<Option<usize>> = kinds
            .iter()
            .map(|k| k.domain_name.as_ref().and_then(|(kind, name)| index.get(&(*kind, name.as_str())).copied()))
            .collect();
        let mut members_lost = vec![0u32; domains.len()];
        for (k, kind) in kinds.iter().enumerate() {
            if let (true, Some(d)) = (kind.control_plane, domain_of[k]) {
                members_lost[d] += kind.count.max;
            }
        }
        // The pods wanted and held at rest, less what each domain's loss takes: its kinds' nodes
        // with their own pods, and what each Deployment it touches can no longer place.
        // O(kinds), and O(1) more per workload and domain the loop below visits.
        let per_node = pods_per_node(kinds, workloads);
        let sets = kind_sets(kinds, workloads);
        let at_rest = room_of(self, kinds, workloads, &per_node, &sets[0]);
        let mut rooms = vec![at_rest; domains.len()];
        for (k, kind) in kinds.iter().enumerate() {
            if let Some(d) = domain_of[k] {
                rooms[d].wanted -= u64::from(kind.count.min) * u64::from(per_node[k]);
                rooms[d].slots -= u64::from(kind.count.min) * u64::from(MAX_PODS);
            }
        }
        // Per workload, the nodes each domain takes from it (a dense array reused, reset through
        // the list of domains touched); a workload short somewhere is recorded there, with its
        // eligible kinds in that domain. O(Σ eligible kinds), plus the short ones' kinds again.
        let mut short: Vec<Vec<WorkloadLoss>> = vec![Vec::new(); domains.len()];
        let mut gone = vec![0u32; domains.len()];
        let mut kinds_in = vec![0usize; domains.len()];
        let mut hit: Vec<usize> = Vec::new();
        for (w, workload) in workloads.iter().enumerate() {
            let at_rest_nodes = workload.nodes(kinds, |_| true);
            for &k in &workload.eligible {
                let Some(d) = domain_of[k] else { continue };
                if kinds_in[d] == 0 {
                    hit.push(d);
                }
                gone[d] += kinds[k].count.min;
                kinds_in[d] += 1;
            }
            for d in hit.drain(..) {
                let left = at_rest_nodes.saturating_sub(gone[d]);
                let (fit, wanted) = (workload.fit_on(left), workload.wanted_on(left));
                if workload.kind != WorkloadKind::DaemonSet {
                    rooms[d].wanted -= u64::from(workload.fit_on(at_rest_nodes) - fit);
                }
                let any_left = kinds_in[d] < workload.eligible.len();
                if fit < wanted || !any_left {
                    let lost = workload.eligible.iter().copied().filter(|&k| domain_of[k] == Some(d)).collect();
                    short[d].push(WorkloadLoss { workload: w, fit, wanted, lost, any_left });
                }
                gone[d] = 0;
                kinds_in[d] = 0;
            }
        }
        let confined = crowded_after_losses(self, kinds, workloads, &per_node, &sets, &domain_of, domains.len());
        domains
            .into_iter()
            .zip(short.into_iter().zip(rooms.into_iter().zip(confined)))
            .enumerate()
            .map(|(d, (domain, (short, (pods, confined))))| {
                let lost = members_lost[d].min(members);
                let control_plane = quorum::survives(members, lost) && members > lost;
                let crowded = if pods.over() > 0 { Some(Crowding { kinds: None, room: pods }) } else { confined };
                DomainLoss { domain, members_left: (members - lost, members), control_plane, short, pods, crowded }
            })
            .collect()
    }
}
