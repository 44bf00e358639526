//! The workloads a cluster's units become, and the node kinds each may run on.

use crate::cluster::{Cluster, Requirement, Text};
use crate::glob;

use super::{NodeKind, object_name};

/// What Kubernetes object a workload becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WorkloadKind {
    /// A Deployment with this many replicas.
    Deployment(u32),
    /// A DaemonSet: one pod on every eligible node.
    DaemonSet,
}

/// A unit that runs as a Kubernetes workload, and where it may run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Workload {
    /// The unit's index.
    pub unit: usize,
    /// The object's name: the unit's name without its type and template `@`.
    pub name: String,
    /// What object it is.
    pub kind: WorkloadKind,
    /// The units whose containers its pods hold: the unit, then each unit declared
    /// `machine_of` it (one pod holds both, so they share a node and move together).
    pub containers: Vec<usize>,
    /// The node requirements (one `In` expression per key), the pod's units' together.
    pub requirements: Vec<(String, Vec<String>)>,
    /// The workloads its pods must not share a node with (its own name when it conflicts with
    /// its own instances).
    pub avoids: Vec<String>,
    /// Whether it tolerates the control-plane taint: when a control-plane node satisfies its
    /// requirements, as fleet would have run it there.
    pub tolerates_control_plane: bool,
    /// The node kinds it may run on (indices into [`Cluster::node_kinds`]).
    pub eligible: Vec<usize>,
}

impl Workload {
    /// Its requirements as the plan and the messages say them: `key in [a, b]`.
    pub fn requirement_texts(&self) -> Vec<String> {
        self.requirements.iter().map(|(k, v)| format!("{k} in [{}]", v.join(", "))).collect()
    }

    /// Whether its replicas must each have a node of their own.
    pub fn spreads_per_node(&self) -> bool {
        self.avoids.contains(&self.name)
    }

    /// The machines of the node kinds it may run on that `alive` says remain (an autoscaled pool
    /// counted at its minimum).
    fn nodes(&self, kinds: &[NodeKind], alive: &impl Fn(usize) -> bool) -> u32 {
        self.eligible.iter().filter(|&&k| alive(k)).map(|&k| kinds[k].count.min).sum()
    }

    /// How many of its pods fit on the node kinds `alive` says remain: every replica when it
    /// may share nodes and one remains; one per node when it avoids itself; one per eligible
    /// node for a DaemonSet.
    pub fn fit(&self, kinds: &[NodeKind], alive: impl Fn(usize) -> bool) -> u32 {
        let nodes = self.nodes(kinds, &alive);
        match self.kind {
            WorkloadKind::DaemonSet => nodes,
            WorkloadKind::Deployment(replicas) if self.spreads_per_node() => replicas.min(nodes),
            WorkloadKind::Deployment(replicas) => {
                if nodes > 0 {
                    replicas
                } else {
                    0
                }
            }
        }
    }

    /// How many pods it wants while the node kinds `alive` says remain: its replicas, or one
    /// per eligible node left.
    pub fn wanted(&self, kinds: &[NodeKind], alive: impl Fn(usize) -> bool) -> u32 {
        match self.kind {
            WorkloadKind::Deployment(replicas) => replicas,
            WorkloadKind::DaemonSet => self.nodes(kinds, &alive),
        }
    }
}

impl Cluster {
    /// The workloads: one per unit that names an image and follows no other unit, holding the
    /// containers of the units that follow it. `global` becomes a DaemonSet, anything else a
    /// Deployment of `instances` replicas (one without). Requirements are fleet's (AND across
    /// keys, one `In` per key); `conflicts` globs become anti-affinity against every workload
    /// whose unit they match. O(units² × globs), as fleet's own conflict check.
    pub fn workloads(&self) -> Vec<Workload> {
        if !self.runs_kubernetes() {
            return Vec::new();
        }
        let kinds = self.node_kinds();
        let leaders: Vec<usize> =
            (0..self.units.len()).filter(|&u| self.is_workload(u) && self.units[u].machine_of.is_none()).collect();
        // Per leader: the units its pods hold, their instance names and their conflict globs.
        let pods: Vec<(Vec<usize>, Vec<String>, Vec<&Text>)> = leaders
            .iter()
            .map(|&u| {
                let name = &self.units[u].name;
                let containers: Vec<usize> = std::iter::once(u)
                    .chain(
                        (0..self.units.len())
                            .filter(|&f| self.is_workload(f) && self.units[f].machine_of.as_deref() == Some(&**name)),
                    )
                    .collect();
                let instances = containers.iter().flat_map(|&c| self.units[c].instance_names()).collect();
                let globs = containers.iter().flat_map(|&c| self.units[c].conflicts.iter()).collect();
                (containers, instances, globs)
            })
            .collect();
        let matches = |globs: &[&Text], names: &[String]| -> usize {
            names.iter().filter(|n| globs.iter().any(|g| glob::matches(g, n))).count()
        };
        leaders
            .iter()
            .enumerate()
            .map(|(l, &u)| {
                let unit = &self.units[u];
                let (containers, instances, globs) = &pods[l];
                let mut requirements: Vec<(String, Vec<String>)> = Vec::new();
                for &c in containers {
                    for req in self.units[c].machine_metadata.iter() {
                        add_requirement(&mut requirements, req);
                    }
                }
                // fleet's Conflicts is symmetric: either side's globs matching an instance of the
                // other keeps them apart; a workload avoids itself when its globs match two of
                // its own instances (its replicas).
                let avoids = pods
                    .iter()
                    .enumerate()
                    .filter(|(o, (_, other_instances, other_globs))| {
                        if *o == l {
                            matches(globs, instances) > 1
                        } else {
                            matches(globs, other_instances) > 0 || matches(other_globs, instances) > 0
                        }
                    })
                    .map(|(o, _)| object_name(&self.units[leaders[o]].name).to_string())
                    .collect();
                let kind = if unit.global {
                    WorkloadKind::DaemonSet
                } else {
                    WorkloadKind::Deployment(unit.instances.unwrap_or(1))
                };
                let satisfies = |k: &NodeKind| {
                    requirements
                        .iter()
                        .all(|(key, values)| k.metadata.get(key).is_some_and(|v| values.iter().any(|w| w == v)))
                };
                let tolerates_control_plane =
                    kinds.iter().any(|k| k.control_plane && !k.taints.is_empty() && satisfies(k));
                let eligible = kinds
                    .iter()
                    .enumerate()
                    .filter(|(_, k)| satisfies(k) && (k.taints.is_empty() || tolerates_control_plane))
                    .map(|(i, _)| i)
                    .collect();
                Workload {
                    unit: u,
                    name: object_name(&unit.name).to_string(),
                    kind,
                    containers: containers.clone(),
                    requirements,
                    avoids,
                    tolerates_control_plane,
                    eligible,
                }
            })
            .collect()
    }
}

fn add_requirement(requirements: &mut Vec<(String, Vec<String>)>, req: &Requirement) {
    let values: Vec<String> = req.values.iter().map(|v| v.to_string()).collect();
    match requirements.iter_mut().find(|(k, _)| **k == *req.key) {
        // Two units in one pod that both constrain a key: the node needs a value both allow.
        Some((_, existing)) => existing.retain(|v| values.contains(v)),
        None => requirements.push((req.key.to_string(), values)),
    }
}
