//! The workloads a cluster's units become, the node kinds each may run on, and which of them
//! must not share a node.
//!
//! fleet's `Conflicts=` are globs over unit names, symmetric: a unit whose glob matches another's
//! instance never shares a machine with it, and either side's glob is enough. Kubernetes says
//! the same with labels: each distinct glob a workload declares is a label
//! (`clusterdef.dev/conflict-N`, N its index in [`Cluster::conflict_globs`]) on the pods of every
//! workload it matches, and the declaring workload's pods are anti-affine to that label (the
//! scheduler honours a required anti-affinity from either side). So the model keeps, per
//! workload, the globs it declares and the globs that match it: linear in the declaration,
//! where listing every pair that avoids each other would be quadratic.

use std::collections::{HashMap, HashSet};

use crate::cluster::Cluster;
use crate::glob;
use crate::placement::MetadataIndex;
use crate::unit::Unit;

use super::{NodeKind, object_name};

/// Whether a workload tolerates the control-plane taint, and the node kinds it may run on.
type Placement = (bool, Vec<usize>);

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
    /// The conflict globs its units declare (indices into [`Cluster::conflict_globs`]): its
    /// pods never share a node with the pods those globs match.
    pub declares: Vec<usize>,
    /// The conflict globs (of any workload) that match one of its instances: its pods carry
    /// their labels.
    pub matched_by: Vec<usize>,
    /// Whether its replicas must each have a node of their own: its globs match two or more of
    /// its own instances (fleet keeps those instances apart).
    pub spreads: bool,
    /// Whether it tolerates the control-plane taint: when a control-plane node satisfies its
    /// requirements, as fleet would have run it there.
    pub tolerates_control_plane: bool,
    /// The node kinds it may run on (indices into [`Cluster::node_kinds`]).
    pub eligible: Vec<usize>,
}

impl Workload {
    /// The TCP ports its pods' containers declare, ascending, each once: what its Service
    /// forwards. O(ports log ports).
    pub fn ports(&self, cluster: &Cluster) -> Vec<u16> {
        let mut ports: Vec<u16> = self
            .containers
            .iter()
            .filter_map(|&u| cluster.units[u].container.as_ref())
            .flat_map(|c| c.ports.iter().copied())
            .collect();
        ports.sort_unstable();
        ports.dedup();
        ports
    }

    /// Its requirements as the plan and the messages say them: `key in [a, b]`.
    pub fn requirement_texts(&self) -> Vec<String> {
        self.requirements.iter().map(|(k, v)| format!("{k} in [{}]", v.join(", "))).collect()
    }

    /// Whether its pods may run on nodes of `kind`, of this cluster or of another declaration
    /// of it (the nodes a change keeps registered with their old labels, or adds with new
    /// ones). O(requirements × values).
    pub fn may_run_on(&self, kind: &NodeKind) -> bool {
        may_run_on(&self.requirements, self.tolerates_control_plane, kind)
    }

    /// Whether its replicas must each have a node of their own.
    pub fn spreads_per_node(&self) -> bool {
        self.spreads
    }

    /// The machines of the node kinds it may run on that `alive` says remain (an autoscaled pool
    /// counted at its minimum).
    pub fn nodes(&self, kinds: &[NodeKind], alive: impl Fn(usize) -> bool) -> u32 {
        self.eligible.iter().filter(|&&k| alive(k)).map(|&k| kinds[k].count.min).sum()
    }

    /// How many of its pods fit on `nodes` nodes it may run on: every replica when it may share
    /// nodes and one remains; one per node when it avoids itself; one per node for a DaemonSet.
    pub fn fit_on(&self, nodes: u32) -> u32 {
        match self.kind {
            WorkloadKind::DaemonSet => nodes,
            WorkloadKind::Deployment(replicas) if self.spreads => replicas.min(nodes),
            WorkloadKind::Deployment(replicas) => {
                if nodes > 0 {
                    replicas
                } else {
                    0
                }
            }
        }
    }

    /// How many pods it wants with `nodes` nodes it may run on: its replicas, or one per node.
    pub fn wanted_on(&self, nodes: u32) -> u32 {
        match self.kind {
            WorkloadKind::Deployment(replicas) => replicas,
            WorkloadKind::DaemonSet => nodes,
        }
    }

    /// [`Workload::fit_on`] the node kinds `alive` says remain.
    pub fn fit(&self, kinds: &[NodeKind], alive: impl Fn(usize) -> bool) -> u32 {
        self.fit_on(self.nodes(kinds, alive))
    }

    /// [`Workload::wanted_on`] the node kinds `alive` says remain.
    pub fn wanted(&self, kinds: &[NodeKind], alive: impl Fn(usize) -> bool) -> u32 {
        self.wanted_on(self.nodes(kinds, alive))
    }
}

/// For every workload, the others it must not share a node with (itself too when its replicas
/// spread), as indices: those a glob it declares matches, and those declaring a glob that
/// matches it. The output is what it is (every pair, when every workload conflicts with every
/// other); building it is linear in that. For the plan, which names them.
pub fn avoided(workloads: &[Workload], globs: usize) -> Vec<Vec<usize>> {
    let mut matched: Vec<Vec<usize>> = vec![Vec::new(); globs];
    let mut declarers: Vec<Vec<usize>> = vec![Vec::new(); globs];
    for (w, workload) in workloads.iter().enumerate() {
        for &g in &workload.matched_by {
            matched[g].push(w);
        }
        for &g in &workload.declares {
            declarers[g].push(w);
        }
    }
    workloads
        .iter()
        .enumerate()
        .map(|(w, workload)| {
            let mut out: Vec<usize> = workload
                .declares
                .iter()
                .flat_map(|&g| matched[g].iter().copied())
                .chain(workload.matched_by.iter().flat_map(|&g| declarers[g].iter().copied()))
                .filter(|&o| o != w || workload.spreads)
                .collect();
            out.sort_unstable();
            out.dedup();
            out
        })
        .collect()
}

impl Cluster {
    /// The distinct `conflicts` globs of the units that run as workloads, in the order first
    /// declared: the labels that keep conflicting pods apart are numbered by this list.
    /// O(units × globs), with a hash of globs.
    pub fn conflict_globs(&self) -> Vec<String> {
        let mut seen: HashMap<&str, ()> = HashMap::new();
        let mut out = Vec::new();
        for (_, unit) in self.units.iter().enumerate().filter(|(u, _)| self.is_workload(*u)) {
            for g in unit.conflicts.iter() {
                if seen.insert(g, ()).is_none() {
                    out.push(g.to_string());
                }
            }
        }
        out
    }

    /// The workloads: one per unit that names an image and follows no other unit, holding the
    /// containers of the units that follow it. `global` becomes a DaemonSet, anything else a
    /// Deployment of `instances` replicas (one without). Requirements are fleet's (AND across
    /// keys, one `In` per key); `conflicts` globs are matched against every workload's instance
    /// names once, through a sorted index of the names (a glob's literal prefix picks the names
    /// it can match). O(units + instances × log instances + Σ per glob the names sharing its
    /// literal prefix), with hashes of names.
    pub fn workloads(&self) -> Vec<Workload> {
        if !self.runs_kubernetes() {
            return Vec::new();
        }
        let kinds = self.node_kinds();
        let index = KindIndex::of(&kinds);
        let globs = self.conflict_globs();
        let glob_index: HashMap<&str, usize> = globs.iter().enumerate().map(|(i, g)| (g.as_str(), i)).collect();
        // The followers of each unit (`machine_of`), by the name they follow.
        let mut followers: HashMap<&str, Vec<usize>> = HashMap::new();
        for u in 0..self.units.len() {
            if let Some(target) = self.units[u].machine_of.as_deref().filter(|_| self.is_workload(u)) {
                followers.entry(target).or_default().push(u);
            }
        }
        let leaders: Vec<usize> =
            (0..self.units.len()).filter(|&u| self.is_workload(u) && self.units[u].machine_of.is_none()).collect();
        let pods: Vec<Vec<usize>> = leaders
            .iter()
            .map(|&u| {
                let name: &str = &self.units[u].name;
                std::iter::once(u).chain(followers.get(name).into_iter().flatten().copied()).collect()
            })
            .collect();
        // Every instance name of every pod's units, sorted, for the globs to look up.
        let mut names: Vec<(String, usize)> = pods
            .iter()
            .enumerate()
            .flat_map(|(l, containers)| {
                containers.iter().flat_map(move |&c| self.units[c].instance_names().into_iter().map(move |n| (n, l)))
            })
            .collect();
        names.sort_unstable();
        // Per workload, the globs that match one of its instances.
        let mut matched_by: Vec<Vec<usize>> = vec![Vec::new(); leaders.len()];
        for (g, pattern) in globs.iter().enumerate() {
            let literal = &pattern[..pattern.find(['*', '?', '[', '\\']).unwrap_or(pattern.len())];
            let start = names.partition_point(|(n, _)| n.as_str() < literal);
            for (name, l) in names[start..].iter().take_while(|(n, _)| n.starts_with(literal)) {
                if matched_by[*l].last() != Some(&g) && glob::matches(pattern, name) {
                    matched_by[*l].push(g);
                }
            }
        }
        let mut placements: HashMap<Vec<(String, Vec<String>)>, Placement> = HashMap::new();
        leaders
            .iter()
            .enumerate()
            .map(|(l, &u)| {
                let unit = &self.units[u];
                let containers = &pods[l];
                let requirements = pod_requirements(containers.iter().map(|&c| &self.units[c]));
                let mut declares: Vec<usize> = containers
                    .iter()
                    .flat_map(|&c| self.units[c].conflicts.iter().filter_map(|g| glob_index.get(&**g).copied()))
                    .collect();
                declares.sort_unstable();
                declares.dedup();
                let mut by = std::mem::take(&mut matched_by[l]);
                by.sort_unstable();
                by.dedup();
                // fleet keeps apart two of its own instances that its own globs match: its
                // replicas then spread one per node. O(instances × its globs).
                let own = containers
                    .iter()
                    .flat_map(|&c| self.units[c].instance_names())
                    .filter(|n| declares.iter().any(|&g| by.binary_search(&g).is_ok() && glob::matches(&globs[g], n)))
                    .count();
                let kind = if unit.global {
                    WorkloadKind::DaemonSet
                } else {
                    WorkloadKind::Deployment(unit.instances.unwrap_or(1))
                };
                // Workloads with the same requirements may run on the same kinds: worked out
                // once per distinct set of requirements, from the kinds that publish the
                // rarest required pair (O(requirements + values + those kinds) each).
                let (tolerates_control_plane, eligible) = placements
                    .entry(requirements.clone())
                    .or_insert_with(|| index.place(&kinds, &requirements))
                    .clone();
                Workload {
                    unit: u,
                    name: object_name(&unit.name).to_string(),
                    kind,
                    containers: containers.clone(),
                    requirements,
                    declares,
                    matched_by: by,
                    spreads: own > 1,
                    tolerates_control_plane,
                    eligible,
                }
            })
            .collect()
    }
}

/// The node kinds by each metadata pair they publish, and the tainted control-plane kinds: a
/// set of requirements is looked up, not matched against every kind.
struct KindIndex<'a> {
    publishing: MetadataIndex<'a>,
    tainted_control_plane: Vec<usize>,
}

impl<'a> KindIndex<'a> {
    /// O(Σ per kind its metadata).
    fn of(kinds: &'a [NodeKind]) -> KindIndex<'a> {
        let tainted_control_plane =
            kinds.iter().enumerate().filter(|(_, k)| k.control_plane && !k.taints.is_empty()).map(|(i, _)| i).collect();
        KindIndex { publishing: MetadataIndex::of(kinds.iter().map(|k| &k.metadata)), tainted_control_plane }
    }

    /// Whether a pod with `requirements` tolerates the control-plane taint (some tainted
    /// control-plane kind satisfies them, as fleet would have run it there), and the kinds it
    /// may run on, ascending, from the index's candidates. O(requirements × values +
    /// candidates × requirements + the tainted control-plane kinds).
    fn place(&self, kinds: &[NodeKind], requirements: &[(String, Vec<String>)]) -> Placement {
        let tolerates = self.tainted_control_plane.iter().any(|&k| satisfies(requirements, &kinds[k]));
        let mut candidates =
            self.publishing.candidates(requirements.iter().map(|(key, values)| (key.as_str(), values.as_slice())));
        candidates.retain(|&k| may_run_on(requirements, tolerates, &kinds[k]));
        (tolerates, candidates)
    }
}

/// Whether nodes of `kind` publish, for every key `requirements` name, a value it allows.
/// O(requirements × values).
fn satisfies(requirements: &[(String, Vec<String>)], kind: &NodeKind) -> bool {
    requirements.iter().all(|(key, values)| kind.metadata.get(key).is_some_and(|v| values.iter().any(|w| w == v)))
}

/// Whether a pod with `requirements`, tolerating the control-plane taint or not, may run on
/// nodes of `kind`: they satisfy its requirements and are untainted, or it tolerates them.
fn may_run_on(requirements: &[(String, Vec<String>)], tolerates_control_plane: bool, kind: &NodeKind) -> bool {
    satisfies(requirements, kind) && (kind.taints.is_empty() || tolerates_control_plane)
}

/// What a node must publish to run a pod of these units, in the order first required: two units
/// that both constrain a key need a value both allow. O(requirements + values), with a key's
/// position and its values' set looked up, not scanned.
fn pod_requirements<'a>(units: impl Iterator<Item = &'a Unit>) -> Vec<(String, Vec<String>)> {
    let mut requirements: Vec<(String, Vec<String>)> = Vec::new();
    let mut position: HashMap<&str, usize> = HashMap::new();
    for req in units.flat_map(|u| u.machine_metadata.iter()) {
        match position.get(&*req.key) {
            Some(&p) => {
                let allowed: HashSet<&str> = req.values.iter().map(|v| &**v).collect();
                requirements[p].1.retain(|v| allowed.contains(v.as_str()));
            }
            None => {
                position.insert(&req.key, requirements.len());
                requirements.push((req.key.to_string(), req.values.iter().map(|v| v.to_string()).collect()));
            }
        }
    }
    requirements
}
