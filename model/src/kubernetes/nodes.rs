//! The nodes a cluster's machines register as: one kind per group and failure domain, with its
//! labels, taints and count.

use crate::cluster::Cluster;
use crate::group::{DomainKind, Size};
use crate::group_ref::GroupRef;
use crate::placement::Metadata;
use crate::settings::Layout;

use super::{CONTROLLER_LABEL, CONTROLLER_TAINT, NODE_LABEL, ZONE_LABEL};

/// How many machines a kind of node has: fixed, or an autoscaled pool's bounds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NodeCount {
    /// The fewest there are.
    pub min: u32,
    /// The most there are.
    pub max: u32,
}

/// One kind of node: the machines of one group in one failure domain, which register alike.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeKind {
    /// The group.
    pub group: GroupRef,
    /// The failure domain's index in the group's spread.
    pub domain: Option<usize>,
    /// The domain's kind and name.
    pub domain_name: Option<(DomainKind, String)>,
    /// Whether these machines run the control plane.
    pub control_plane: bool,
    /// What fleet metadata these machines publish; the node labels carry it as written.
    pub metadata: Metadata,
    /// The node labels the kubelet registers, in order.
    pub labels: Vec<(String, String)>,
    /// The taints it registers with (`key:Effect`).
    pub taints: Vec<String>,
    /// How many machines.
    pub count: NodeCount,
}

impl Cluster {
    /// Whether the members' nodes are tainted: they run the control plane, and there are other
    /// nodes for pods that do not ask for it (a small cluster's members are its only nodes).
    pub fn control_plane_tainted(&self) -> bool {
        self.layout != Layout::Small && self.pools.iter().any(|p| !matches!(p.size, Size::Fixed(0)))
    }

    /// Every kind of node: one per group and failure domain, with the labels its kubelet
    /// registers (the fleet metadata as written, Typhoon's role label, the domain as a zone) and
    /// its taints. Cabinets are zones too: node lifecycle limits evictions per zone, and a
    /// cabinet lost whole must be seen as a zone lost whole, or its pods are evicted at the
    /// rate of a partial outage. O(machines + groups × domains + metadata).
    pub fn node_kinds(&self) -> Vec<NodeKind> {
        let tainted = self.control_plane_tainted();
        // Each fixed group's machines per domain, dealt out once (not once per kind).
        let dealt: Vec<(GroupRef, Vec<u32>)> =
            self.groups().filter_map(|(r, g)| Some((r, g.domain_counts(g.fixed_count()?)))).collect();
        self.metadata_profiles()
            .into_iter()
            .map(|p| {
                let g = self.group(p.group);
                let control_plane = p.group == GroupRef::Members;
                let domain_name = g.and_then(|g| {
                    let spread = g.spread.as_ref()?;
                    Some((spread.kind, spread.domains.get(p.domain?)?.name.to_string()))
                });
                let mut labels: Vec<(String, String)> = p.metadata.pairs().to_vec();
                if control_plane {
                    labels.push((CONTROLLER_LABEL.to_string(), "true".to_string()));
                } else {
                    labels.push((NODE_LABEL.to_string(), String::new()));
                }
                if let Some((_, name)) = &domain_name {
                    labels.push((ZONE_LABEL.to_string(), name.clone()));
                }
                let taints =
                    if control_plane && tainted { vec![format!("{CONTROLLER_TAINT}:NoSchedule")] } else { Vec::new() };
                let count = match (g.map(|g| g.size), p.domain) {
                    (Some(Size::Fixed(_)), Some(d)) => {
                        let counts = dealt.iter().find(|(r, _)| *r == p.group).map(|(_, c)| c.as_slice());
                        let c = counts.and_then(|c| c.get(d).copied()).unwrap_or(0);
                        NodeCount { min: c, max: c }
                    }
                    (Some(Size::Fixed(n)), None) => NodeCount { min: n, max: n },
                    (Some(Size::Autoscale { min, max }), d) => {
                        let (min, max) = (min.unwrap_or(0), max.unwrap_or(u32::MAX));
                        let domains = g.and_then(|g| g.spread.as_ref()).map_or(1, |s| s.domains.len() as u32).max(1);
                        // An autoscaled pool keeps at least `min` machines in all; per domain, the
                        // fewest it is sure of is what an even spread gives the smallest domain.
                        let floor = if d.is_some() { min / domains } else { min };
                        NodeCount { min: floor, max }
                    }
                    (None, _) => NodeCount { min: 0, max: 0 },
                };
                NodeKind {
                    group: p.group,
                    domain: p.domain,
                    domain_name,
                    control_plane,
                    metadata: p.metadata,
                    labels,
                    taints,
                    count,
                }
            })
            .collect()
    }

    /// A node kind as the plan and the messages name it: `group` or `group/domain`.
    pub fn node_kind_name(&self, kind: &NodeKind) -> String {
        let group = self.group(kind.group).map_or("", |g| &g.name);
        kind_name(group, kind.domain_name.as_ref().map(|(_, d)| d.as_str()))
    }
}

/// A node kind's name as the plan and the messages say it: `group`, or `group/domain` for a
/// group spread over failure domains.
pub fn kind_name(group: &str, domain: Option<&str>) -> String {
    match domain {
        Some(d) => format!("{group}/{d}"),
        None => group.to_string(),
    }
}
