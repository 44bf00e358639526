//! What the cluster keeps when one failure domain is lost whole.

use crate::cluster::{Cluster, DomainKind};
use crate::quorum;

use super::NodeKind;

/// A failure domain some group is spread across: every group's machines in it are lost
/// together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureDomain {
    /// Cabinet or zone.
    pub kind: DomainKind,
    /// Its name.
    pub name: String,
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
    /// Per workload (in [`Cluster::workloads`] order): how many pods it keeps running or gets
    /// placed again, of how many it wants, and the node kinds left to it.
    pub workloads: Vec<(u32, u32, Vec<usize>)>,
}

impl DomainLoss {
    /// Whether workload `w` keeps every pod it wants.
    pub fn keeps(&self, w: usize) -> bool {
        self.control_plane && self.workloads.get(w).is_some_and(|(fit, wanted, left)| fit >= wanted && !left.is_empty())
    }
}

impl Cluster {
    /// Every failure domain some group is spread across, in first-declared order.
    pub fn failure_domains(&self) -> Vec<FailureDomain> {
        let mut out: Vec<FailureDomain> = Vec::new();
        for (_, g) in self.groups() {
            let Some(spread) = &g.spread else { continue };
            for d in spread.domains.iter() {
                let domain = FailureDomain { kind: spread.kind, name: d.name.to_string() };
                if !out.contains(&domain) {
                    out.push(domain);
                }
            }
        }
        out
    }

    /// For each failure domain, what the cluster keeps when all of its machines are lost at
    /// once: etcd quorum (so a serving apiserver and leaders for the controller manager and
    /// scheduler on the members left), and per workload the pods that still have a node.
    /// O(domains × (kinds + workloads × kinds)).
    pub fn domain_losses(&self) -> Vec<DomainLoss> {
        let kinds = self.node_kinds();
        let workloads = self.workloads();
        let members = self.members.fixed_count().unwrap_or(0);
        self.failure_domains()
            .into_iter()
            .map(|domain| {
                let lost = |k: &NodeKind| {
                    k.domain_name.as_ref().is_some_and(|(kind, name)| *kind == domain.kind && *name == domain.name)
                };
                let members_lost: u32 = kinds.iter().filter(|k| k.control_plane && lost(k)).map(|k| k.count.max).sum();
                let control_plane = quorum::survives(members, members_lost) && members > members_lost;
                let per_workload = workloads
                    .iter()
                    .map(|w| {
                        let left: Vec<usize> = w.eligible.iter().copied().filter(|&k| !lost(&kinds[k])).collect();
                        let alive = |k: usize| !lost(&kinds[k]);
                        (w.fit(&kinds, alive), w.wanted(&kinds, alive), left)
                    })
                    .collect();
                DomainLoss {
                    domain,
                    members_left: (members - members_lost.min(members), members),
                    control_plane,
                    workloads: per_workload,
                }
            })
            .collect()
    }
}
