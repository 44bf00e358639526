//! What the cluster keeps when one failure domain is lost whole.
//!
//! A loss touches only the workloads with an eligible node kind in the lost domain: every other
//! keeps every pod where it runs (when the control plane keeps serving). So each loss lists the
//! workloads it touches, with the node kinds each loses, and the whole prediction costs
//! O(domains + kinds + Σ per workload its eligible kinds), not domains × workloads × kinds.

use std::collections::HashMap;

use crate::cluster::{Cluster, DomainKind};
use crate::quorum;

use super::{NodeKind, Workload};

/// A failure domain some group is spread across: every group's machines in it are lost
/// together.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FailureDomain {
    /// Cabinet or zone.
    pub kind: DomainKind,
    /// Its name.
    pub name: String,
}

/// What one workload keeps when a domain with some of its eligible nodes is lost.
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
    /// The workloads the loss touches (an eligible node kind of theirs is in the domain), in
    /// [`Cluster::workloads`] order. Every other workload keeps what it has at rest.
    pub touched: Vec<WorkloadLoss>,
}

impl DomainLoss {
    /// What workload `w` keeps: how many pods run, of how many it wants, and whether it keeps
    /// an eligible node kind. Untouched, what it has at rest (`at_rest`: its fit and wanted).
    /// O(log touched).
    pub fn of(&self, w: usize, at_rest: (u32, u32), has_eligible: bool) -> (u32, u32, bool) {
        match self.touched.binary_search_by_key(&w, |t| t.workload) {
            Ok(i) => (self.touched[i].fit, self.touched[i].wanted, self.touched[i].any_left),
            Err(_) => (at_rest.0, at_rest.1, has_eligible),
        }
    }

    /// Whether workload `w` keeps every pod it wants (see [`DomainLoss::of`]).
    pub fn keeps(&self, w: usize, at_rest: (u32, u32), has_eligible: bool) -> bool {
        let (fit, wanted, left) = self.of(w, at_rest, has_eligible);
        self.control_plane && fit >= wanted && left
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
        // Per domain, the workloads with eligible kinds there and those kinds, in workload order.
        let mut touched: Vec<Vec<(usize, Vec<usize>)>> = vec![Vec::new(); domains.len()];
        for (w, workload) in workloads.iter().enumerate() {
            for &k in &workload.eligible {
                let Some(d) = domain_of[k] else { continue };
                match touched[d].last_mut() {
                    Some((last, lost)) if *last == w => lost.push(k),
                    _ => touched[d].push((w, vec![k])),
                }
            }
        }
        let at_rest: Vec<u32> = workloads.iter().map(|w| w.nodes(kinds, |_| true)).collect();
        domains
            .into_iter()
            .zip(touched)
            .enumerate()
            .map(|(d, (domain, touched))| {
                let lost = members_lost[d].min(members);
                let control_plane = quorum::survives(members, lost) && members > lost;
                let touched = touched
                    .into_iter()
                    .map(|(w, lost)| {
                        let workload = &workloads[w];
                        let gone: u32 = lost.iter().map(|&k| kinds[k].count.min).sum();
                        let left = at_rest[w].saturating_sub(gone);
                        WorkloadLoss {
                            workload: w,
                            fit: workload.fit_on(left),
                            wanted: workload.wanted_on(left),
                            any_left: lost.len() < workload.eligible.len(),
                            lost,
                        }
                    })
                    .collect();
                DomainLoss { domain, members_left: (members - lost, members), control_plane, touched }
            })
            .collect()
    }
}
