//! Kubernetes on Flatcar: the settings a cluster declares, the nodes its machines register as
//! (labels and taints), the workloads its units become, and what the cluster keeps when a
//! failure domain is lost. The rules, the plan and the renderers all read these from here.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::cluster::{Cluster, DomainKind, Layout, List, Requirement, Size, Text};
use crate::glob;
use crate::net::Ipv4Net;
use crate::placement::Metadata;
use crate::quorum;
use crate::subject::GroupRef;

/// The label every control-plane node carries (Typhoon's).
pub const CONTROLLER_LABEL: &str = "node.kubernetes.io/controller";
/// The label every other node carries, with an empty value (Typhoon's).
pub const NODE_LABEL: &str = "node.kubernetes.io/node";
/// The zone label; node lifecycle's per-zone eviction limits read it.
pub const ZONE_LABEL: &str = "topology.kubernetes.io/zone";
/// The label naming the node (the kubelet sets it to the hostname).
pub const HOSTNAME_LABEL: &str = "kubernetes.io/hostname";
/// The taint that keeps pods that do not ask for the control plane off it (Typhoon's).
pub const CONTROLLER_TAINT: &str = "node-role.kubernetes.io/controller";
/// The label each workload's pods carry, naming the unit they come from; anti-affinity for
/// `conflicts` selects on it.
pub const UNIT_LABEL: &str = "clusterdef.dev/unit";
/// The namespace workloads go in.
pub const NAMESPACE: &str = "default";
/// The oldest and newest minor versions whose flags and schemas the renderer writes.
pub const SUPPORTED_MINORS: (u32, u32) = (33, 37);

/// The `kubernetes: { … }` settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Kubernetes {
    /// The release, `v1.MINOR.PATCH`.
    pub version: Text,
    /// The service range (`--service-cluster-ip-range`); its first address is the apiserver's
    /// service IP, its tenth the cluster DNS.
    #[cfg_attr(feature = "serde", serde(default = "default_services"))]
    pub services: Ipv4Net,
    /// The pod range (`--cluster-cidr`).
    #[cfg_attr(feature = "serde", serde(default = "default_pods"))]
    pub pods: Ipv4Net,
    /// The pod network.
    #[cfg_attr(feature = "serde", serde(default))]
    pub cni: Cni,
    /// How long pods stay bound to an unreachable node before they are evicted and placed
    /// again, in seconds (the apiserver's default not-ready and unreachable tolerations).
    #[cfg_attr(feature = "serde", serde(default = "default_eviction"))]
    pub eviction_seconds: u32,
}

#[cfg(feature = "serde")]
fn default_services() -> Ipv4Net {
    Kubernetes::DEFAULT_SERVICES
}
#[cfg(feature = "serde")]
fn default_pods() -> Ipv4Net {
    Kubernetes::DEFAULT_PODS
}
#[cfg(feature = "serde")]
fn default_eviction() -> u32 {
    Kubernetes::DEFAULT_EVICTION_SECONDS
}

impl Kubernetes {
    /// Typhoon's bare-metal service range.
    pub const DEFAULT_SERVICES: Ipv4Net = Ipv4Net { addr: Ipv4Addr::new(10, 3, 0, 0), prefix: 16 };
    /// Typhoon's pod range.
    pub const DEFAULT_PODS: Ipv4Net = Ipv4Net { addr: Ipv4Addr::new(10, 20, 0, 0), prefix: 14 };
    /// The apiserver's default toleration of not-ready and unreachable nodes.
    pub const DEFAULT_EVICTION_SECONDS: u32 = 300;

    /// Settings for `version`, the rest Typhoon's defaults.
    pub fn new(version: impl Into<Text>) -> Kubernetes {
        Kubernetes {
            version: version.into(),
            services: Kubernetes::DEFAULT_SERVICES,
            pods: Kubernetes::DEFAULT_PODS,
            cni: Cni::default(),
            eviction_seconds: Kubernetes::DEFAULT_EVICTION_SECONDS,
        }
    }

    /// `(minor, patch)` of a `v1.MINOR.PATCH` version.
    pub fn minor_patch(&self) -> Option<(u32, u32)> {
        let rest = self.version.strip_prefix("v1.")?;
        let (minor, patch) = rest.split_once('.')?;
        let number = |s: &str| {
            (!s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
        };
        Some((number(minor)?, number(patch)?))
    }

    /// The `n`th address of the service range (1 = the apiserver's service IP).
    pub fn service_ip(&self, n: u32) -> Ipv4Addr {
        Ipv4Addr::from(u32::from(self.services.network()).wrapping_add(n))
    }
}

/// The pod network a cluster runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(rename_all = "lowercase"))]
pub enum Cni {
    /// flannel (VXLAN), with kube-proxy.
    #[default]
    Flannel,
    /// Cilium, which replaces kube-proxy.
    Cilium,
}

impl Cni {
    /// The name as written.
    pub const fn as_str(self) -> &'static str {
        match self {
            Cni::Flannel => "flannel",
            Cni::Cilium => "cilium",
        }
    }
}

/// The container a workload unit runs: what a pod needs beside the image.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Container {
    /// The image reference, `registry/name:tag` or `…@sha256:…`.
    pub image: Text,
    /// The command and its arguments; empty runs the image's entrypoint.
    #[cfg_attr(feature = "serde", serde(default))]
    pub command: List<Text>,
    /// TCP ports the container listens on.
    #[cfg_attr(feature = "serde", serde(default))]
    pub ports: List<u16>,
    /// `NAME=value` environment entries.
    #[cfg_attr(feature = "serde", serde(default))]
    pub env: List<Text>,
}

impl Container {
    /// A container running `image` as it is.
    pub const fn new(image: Text) -> Container {
        Container { image, command: Cow::Borrowed(&[]), ports: Cow::Borrowed(&[]), env: Cow::Borrowed(&[]) }
    }
}

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

/// The object name a unit becomes: its name without the type suffix and a template's `@`.
pub fn object_name(unit: &str) -> &str {
    let base = unit.rsplit_once('.').map_or(unit, |(b, _)| b);
    base.strip_suffix('@').unwrap_or(base)
}

/// Whether `name` is a DNS-1123 label: at most 63 lower-case letters, digits and `-`, starting
/// and ending with a letter or digit. O(len).
pub fn is_dns_label(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 63
        && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == b'-')
        && b[0] != b'-'
        && b[b.len() - 1] != b'-'
}

/// Why `key` is no label key a kubelet may set on itself with `--node-labels`, if it is not:
/// syntax and lengths (an optional DNS-subdomain prefix of at most 253 characters, `/`, a name
/// of at most 63 alphanumerics with `-_.` inside), then the `kubernetes.io` and `k8s.io`
/// prefixes, of which the kubelet accepts only its own few. O(len).
pub fn label_key_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    if let Some(why) = label_name_problem(name) {
        return Some(why);
    }
    let prefix = prefix?;
    if prefix.is_empty() || prefix.len() > 253 || !prefix.split('.').all(is_dns_label) {
        return Some(format!("its prefix `{prefix}` is no lower-case DNS subdomain of at most 253 characters"));
    }
    let reserved = |domain: &str| prefix == domain || prefix.ends_with(&format!(".{domain}"));
    let kubelets = ["kubelet.kubernetes.io", "node.kubernetes.io"].iter().any(|d| reserved(d));
    let fixed = [
        HOSTNAME_LABEL,
        "kubernetes.io/os",
        "kubernetes.io/arch",
        "beta.kubernetes.io/os",
        "beta.kubernetes.io/arch",
        "beta.kubernetes.io/instance-type",
        "node.kubernetes.io/instance-type",
        ZONE_LABEL,
        "topology.kubernetes.io/region",
        "failure-domain.beta.kubernetes.io/zone",
        "failure-domain.beta.kubernetes.io/region",
    ];
    if (reserved("kubernetes.io") || reserved("k8s.io")) && !kubelets && !fixed.contains(&key) {
        return Some(format!(
            "the prefix `{prefix}` is reserved for Kubernetes, and a kubelet refuses to start with such a label in `--node-labels`"
        ));
    }
    None
}

/// Why `name` is no label name (or, with `allow_empty`, value), if it is not. O(len).
fn label_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("it is empty".to_string());
    }
    label_value_problem(name)
}

/// Why `value` is no label value, if it is not: at most 63 characters, empty or alphanumeric
/// at both ends with `-`, `_` and `.` inside. O(len).
pub fn label_value_problem(value: &str) -> Option<String> {
    let b = value.as_bytes();
    if b.len() > 63 {
        return Some(format!("it is {} characters long; a label allows 63", value.chars().count()));
    }
    if b.is_empty() {
        return None;
    }
    let alnum = |c: &u8| c.is_ascii_alphanumeric();
    if !b.iter().all(|c| alnum(c) || matches!(c, b'-' | b'_' | b'.')) || !alnum(&b[0]) || !alnum(&b[b.len() - 1]) {
        return Some(
            "a label holds only ASCII letters, digits, `-`, `_` and `.`, and starts and ends with a letter or digit"
                .to_string(),
        );
    }
    None
}

/// Why `image` is no container image reference, if it is not: `[host[:port]/]path[:tag][@digest]`
/// with a lower-case path of `[a-z0-9]` components joined by `.`, `_`, `__` or `-` runs, a tag of
/// at most 128 `[\w.-]` characters not starting with `.` or `-`, a `sha256:` digest of 64 hex
/// digits; at most 255 characters for the name. O(len).
pub fn image_problem(image: &str) -> Option<String> {
    if image.is_empty() {
        return Some("it is empty".to_string());
    }
    if image.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("it holds whitespace or a control character".to_string());
    }
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    if let Some(d) = digest {
        let ok = d
            .strip_prefix("sha256:")
            .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        if !ok {
            return Some(format!("its digest `{d}` is not `sha256:` and 64 lower-case hex digits"));
        }
    }
    // A tag follows the last `:` after the last `/` (a `:` before it is a registry port).
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    if let Some(t) = tag {
        let b = t.as_bytes();
        if b.is_empty()
            || b.len() > 128
            || !b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
            || matches!(b[0], b'.' | b'-')
        {
            return Some(format!(
                "its tag `{t}` is not 1 to 128 letters, digits, `_`, `.` or `-` (not starting with `.` or `-`)"
            ));
        }
    }
    if name.len() > 255 {
        return Some("its name is longer than 255 characters".to_string());
    }
    let mut parts: Vec<&str> = name.split('/').collect();
    // A first part with a `.` or `:`, or `localhost`, is a registry host.
    if parts.len() > 1 && (parts[0].contains(['.', ':']) || parts[0] == "localhost") {
        let host = parts.remove(0);
        let (h, port) = host.split_once(':').map_or((host, None), |(h, p)| (h, Some(p)));
        let host_ok = !h.is_empty()
            && h.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
        let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
        if !host_ok || !port_ok {
            return Some(format!("its registry `{host}` is no host name with an optional port"));
        }
    }
    for part in &parts {
        let b = part.as_bytes();
        let component_ok = !b.is_empty()
            && b.iter().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, b'.' | b'_' | b'-'))
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && !part.contains("..")
            && !part.contains("___");
        if !component_ok {
            return Some(format!(
                "its path component `{part}` is not lower-case letters and digits joined by `.`, `_`, `__` or `-`"
            ));
        }
    }
    None
}

impl Cluster {
    /// Whether the cluster runs Kubernetes.
    pub fn runs_kubernetes(&self) -> bool {
        self.kubernetes.is_some()
    }

    /// Whether unit `u` runs as a Kubernetes workload: the cluster runs Kubernetes and the unit
    /// names a container image (or follows one that does, through `machine_of`).
    pub fn is_workload(&self, u: usize) -> bool {
        self.runs_kubernetes() && self.units.get(u).is_some_and(|unit| unit.container.is_some())
    }

    /// Whether the members' nodes are tainted: they run the control plane, and there are other
    /// nodes for pods that do not ask for it (a small cluster's members are its only nodes).
    pub fn control_plane_tainted(&self) -> bool {
        self.layout != Layout::Small && self.pools.iter().any(|p| !matches!(p.size, Size::Fixed(0)))
    }

    /// Every kind of node: one per group and failure domain, with the labels its kubelet
    /// registers (the fleet metadata as written, Typhoon's role label, the domain as a zone) and
    /// its taints. Cabinets are zones too: node lifecycle limits evictions per zone, and a
    /// cabinet lost whole must be seen as a zone lost whole, or its pods are evicted at the
    /// rate of a partial outage. O(groups × domains + metadata).
    pub fn node_kinds(&self) -> Vec<NodeKind> {
        let tainted = self.control_plane_tainted();
        self.metadata_profiles()
            .into_iter()
            .map(|p| {
                let g = self.group(p.group);
                let control_plane = p.group == GroupRef::Members;
                let domain_name = g.and_then(|g| {
                    let spread = g.spread.as_ref()?;
                    Some((spread.kind, spread.domains.get(p.domain?)?.name.to_string()))
                });
                let mut labels: Vec<(String, String)> = p.metadata.0.clone();
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
                    (Some(Size::Fixed(n)), Some(d)) => {
                        let c = g.map_or(0, |g| g.domain_counts(n).get(d).copied().unwrap_or(0));
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

    /// A node kind as the plan and the messages name it: `group` or `group/domain`.
    pub fn node_kind_name(&self, kind: &NodeKind) -> String {
        let group = self.group(kind.group).map_or("", |g| &g.name);
        match &kind.domain_name {
            Some((_, d)) => format!("{group}/{d}"),
            None => group.to_string(),
        }
    }

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

fn add_requirement(requirements: &mut Vec<(String, Vec<String>)>, req: &Requirement) {
    let values: Vec<String> = req.values.iter().map(|v| v.to_string()).collect();
    match requirements.iter_mut().find(|(k, _)| **k == *req.key) {
        // Two units in one pod that both constrain a key: the node needs a value both allow.
        Some((_, existing)) => existing.retain(|v| values.contains(v)),
        None => requirements.push((req.key.to_string(), values)),
    }
}
