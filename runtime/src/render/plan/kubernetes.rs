//! The Kubernetes layer of the plan: the nodes, where each workload may run, and what each
//! failure domain's loss leaves of it.

use super::*;

/// The Kubernetes layer of a plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KubernetesPlan {
    /// The release.
    pub version: String,
    /// The service range.
    pub services: String,
    /// The pod range.
    pub pods: String,
    /// The pod network.
    pub cni: &'static str,
    /// Seconds an unreachable node's pods wait before they are evicted and placed again.
    pub eviction_seconds: u32,
    /// The machines that run the control plane.
    pub control_plane: Vec<String>,
    /// Each kind of node: group, domain, labels and taints.
    pub nodes: Vec<NodePlan>,
    /// Each workload and where it may run.
    pub workloads: Vec<WorkloadPlan>,
    /// Every pod the cluster places with every domain up: each node's own (the addons', the
    /// static pods on members, the DaemonSets'), CoreDNS's and the Deployments'.
    pub pods_placed: u64,
    /// The pods its nodes hold together (the kubelet's `maxPods` on each; autoscaled pools at
    /// their minimum).
    pub pod_slots: u64,
    /// For each failure domain, what the cluster keeps when it is lost.
    pub losses: Vec<KubernetesLoss>,
}

/// The nodes of one group in one failure domain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct NodePlan {
    /// The group.
    pub group: String,
    /// The failure domain.
    pub domain: Option<String>,
    /// How many machines: `2`, or an autoscaled pool's bounds `0..500`.
    pub count: String,
    /// The labels they register with, `key=value`.
    pub labels: Vec<String>,
    /// Their taints, `key:Effect`.
    pub taints: Vec<String>,
}

/// One workload.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct WorkloadPlan {
    /// The object's name.
    pub name: String,
    /// The units whose containers its pods hold.
    pub units: Vec<String>,
    /// `Deployment` or `DaemonSet`.
    pub kind: &'static str,
    /// How many pods it wants (a DaemonSet: one per eligible node, autoscaled pools at their
    /// minimum).
    pub wanted: u32,
    /// How many fit on the nodes it may run on.
    pub fits: u32,
    /// Its node requirements, `key in [values]`.
    pub requires: Vec<String>,
    /// The workloads it never shares a node with.
    pub avoids: Vec<String>,
    /// Whether it tolerates the control-plane taint.
    pub tolerates_control_plane: bool,
    /// The node kinds it may run on, as `group` or `group/domain`.
    pub eligible: Vec<String>,
}

/// What one failure domain's loss leaves of the Kubernetes cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct KubernetesLoss {
    /// Cabinet or zone.
    pub kind: DomainKind,
    /// The domain.
    pub domain: String,
    /// etcd members left, and of how many.
    pub members_left: u32,
    /// The members in all.
    pub members: u32,
    /// Whether etcd keeps quorum, so the apiserver serves and the controllers and the scheduler
    /// keep a leader: nothing is rescheduled otherwise.
    pub control_plane: bool,
    /// The workloads that do not keep every pod they want after the loss (some stay pending),
    /// and what runs of them. Every other workload keeps every pod it wants: a Deployment its
    /// replicas, a DaemonSet one pod on each of its eligible nodes outside the domain. Listing
    /// only these keeps the plan linear in the cluster (1,000 domains × 1,000 workloads would
    /// otherwise be a million entries of "survives").
    pub workloads: Vec<WorkloadAfterLoss>,
    /// The pods wanted with the domain's nodes gone.
    pub pods_placed: u64,
    /// What the nodes left hold.
    pub pod_slots: u64,
    /// The first set of nodes left (every node, or the kinds some Deployments are confined to)
    /// that holds fewer pods than may run only there: the rest stay pending, and which depends
    /// on the order they are created (so no workload is promised all of its pods).
    pub crowded: Option<CrowdedNodes>,
}

/// Nodes left with fewer pod slots than pods that may run only on them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CrowdedNodes {
    /// The node kinds, as `group` or `group/domain`; empty for every node.
    pub on: Vec<String>,
    /// The pods that may run only there.
    pub pods_placed: u64,
    /// What those nodes hold.
    pub pod_slots: u64,
}

impl CrowdedNodes {
    /// How many pods stay pending.
    pub fn pending(&self) -> u64 {
        self.pods_placed.saturating_sub(self.pod_slots)
    }
}

/// A workload after one domain's loss.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct WorkloadAfterLoss {
    /// The workload.
    pub name: String,
    /// Pods running or placed again.
    pub running: u32,
    /// Pods it wants.
    pub wanted: u32,
    /// Whether it keeps every pod it wants.
    pub survives: bool,
    /// Its eligible node kinds in the lost domain, as `group` or `group/domain`; the rest of its
    /// eligible kinds are left to it.
    pub lost: Vec<String>,
    /// Whether an eligible node kind is left to it.
    pub any_left: bool,
}

impl KubernetesPlan {
    /// The Kubernetes layer of `cluster`'s plan, if it runs Kubernetes.
    pub fn of(cluster: &Cluster) -> Option<KubernetesPlan> {
        let k = cluster.kubernetes.as_ref()?;
        let kinds = cluster.node_kinds();
        // Each kind's name made once: workloads list the kinds they may run on.
        let kind_names: Vec<String> = kinds.iter().map(|k| cluster.node_kind_name(k)).collect();
        let kind_name = |i: usize| kind_names[i].clone();
        let workloads = cluster.workloads();
        let avoided = clusterdef_model::kubernetes::avoided(&workloads, cluster.conflict_globs().len());
        let control_plane = cluster
            .placed_groups()
            .first()
            .map(|p| p.machines.iter().map(|m| m.hostname.clone()).collect())
            .unwrap_or_default();
        let per_node = clusterdef_model::kubernetes::pods_per_node(&kinds, &workloads);
        let every_node = clusterdef_model::kubernetes::KindSet {
            kinds: None,
            deployments: (0..workloads.len())
                .filter(|&w| workloads[w].kind != clusterdef_model::kubernetes::WorkloadKind::DaemonSet)
                .collect(),
        };
        let room = clusterdef_model::kubernetes::room_of(cluster, &kinds, &workloads, &per_node, &every_node);
        Some(KubernetesPlan {
            version: k.version.to_string(),
            pods_placed: room.wanted,
            pod_slots: room.slots,
            services: k.services.to_string(),
            pods: k.pods.to_string(),
            cni: k.cni.as_str(),
            eviction_seconds: k.eviction_seconds,
            control_plane,
            nodes: kinds
                .iter()
                .map(|kind| NodePlan {
                    group: cluster.group(kind.group).map_or(String::new(), |g| g.name.to_string()),
                    domain: kind.domain_name.as_ref().map(|(_, d)| d.clone()),
                    count: if kind.count.min == kind.count.max {
                        kind.count.min.to_string()
                    } else {
                        format!("{}..{}", kind.count.min, kind.count.max)
                    },
                    labels: kind.labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
                    taints: kind.taints.clone(),
                })
                .collect(),
            workloads: workloads
                .iter()
                .enumerate()
                .map(|(i, w)| WorkloadPlan {
                    name: w.name.clone(),
                    units: w.containers.iter().map(|&c| cluster.units[c].name.to_string()).collect(),
                    kind: match w.kind {
                        clusterdef_model::kubernetes::WorkloadKind::Deployment(_) => "Deployment",
                        clusterdef_model::kubernetes::WorkloadKind::DaemonSet => "DaemonSet",
                    },
                    wanted: w.wanted(&kinds, |_| true),
                    fits: w.fit(&kinds, |_| true),
                    requires: w.requirement_texts(),
                    avoids: avoided[i].iter().map(|&o| workloads[o].name.clone()).collect(),
                    tolerates_control_plane: w.tolerates_control_plane,
                    eligible: w.eligible.iter().map(|&i| kind_name(i)).collect(),
                })
                .collect(),
            losses: cluster
                .domain_losses_of(&kinds, &workloads)
                .into_iter()
                .map(|loss| KubernetesLoss {
                    kind: loss.domain.kind,
                    domain: loss.domain.name.clone(),
                    members_left: loss.members_left.0,
                    members: loss.members_left.1,
                    control_plane: loss.control_plane,
                    workloads: loss
                        .short
                        .iter()
                        .map(|t| WorkloadAfterLoss {
                            name: workloads[t.workload].name.clone(),
                            running: if loss.control_plane { t.fit } else { 0 },
                            wanted: t.wanted,
                            survives: loss.control_plane && t.fit >= t.wanted && t.any_left,
                            lost: t.lost.iter().map(|&k| kind_name(k)).collect(),
                            any_left: t.any_left,
                        })
                        .collect(),
                    pods_placed: loss.pods.wanted,
                    pod_slots: loss.pods.slots,
                    crowded: loss.crowded.as_ref().map(|c| CrowdedNodes {
                        on: c.kinds.iter().flatten().map(|&k| kind_name(k)).collect(),
                        pods_placed: c.room.wanted,
                        pod_slots: c.room.slots,
                    }),
                })
                .collect(),
        })
    }
}

impl fmt::Display for KubernetesPlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "
kubernetes {} (services {}, pods {}, {}; pods of a lost node are placed again after {} s)",
            self.version, self.services, self.pods, self.cni, self.eviction_seconds
        )?;
        writeln!(f, "  control plane: {}", self.control_plane.join(", "))?;
        writeln!(f, "  nodes")?;
        for n in &self.nodes {
            let domain = n.domain.as_ref().map_or(String::new(), |d| format!("/{d}"));
            let taints = if n.taints.is_empty() { String::new() } else { format!(", tainted {}", n.taints.join(" ")) };
            writeln!(f, "    {}{domain} ({}): {}{taints}", n.group, n.count, n.labels.join(" "))?;
        }
        if !self.workloads.is_empty() {
            writeln!(f, "  workloads")?;
            for w in &self.workloads {
                let mut how = Vec::new();
                if !w.requires.is_empty() {
                    how.push(format!("requires {}", w.requires.join(", ")));
                }
                if !w.avoids.is_empty() {
                    how.push(format!("never beside {}", w.avoids.join(", ")));
                }
                if w.tolerates_control_plane {
                    how.push("tolerates the control plane".to_string());
                }
                let how = if how.is_empty() { String::new() } else { format!(" ({})", how.join("; ")) };
                let on = if w.eligible.is_empty() { "no node".to_string() } else { w.eligible.join(", ") };
                writeln!(f, "    {} {}: {} of {} pods fit on {on}{how}", w.kind, w.name, w.fits, w.wanted)?;
            }
        }
        writeln!(f, "  {}", room_line(self.pods_placed, self.pod_slots))?;
        for loss in &self.losses {
            let keeps = if loss.control_plane {
                "the control plane keeps serving"
            } else {
                "etcd loses quorum: the control plane stops and nothing is placed again"
            };
            writeln!(
                f,
                "  losing {} {}: {} of {} members left, {keeps}",
                loss.kind.key(),
                loss.domain,
                loss.members_left,
                loss.members
            )?;
            if !loss.control_plane {
                continue;
            }
            for w in &loss.workloads {
                let left = if w.any_left { "" } else { ", no node kind left" };
                let verdict = if w.survives { "survives" } else { "DOES NOT SURVIVE" };
                writeln!(
                    f,
                    "    {}: {} of {} pods without {}{left}, {verdict}",
                    w.name,
                    w.running,
                    w.wanted,
                    w.lost.join(", ")
                )?;
            }
            if let Some(crowded) = &loss.crowded {
                writeln!(f, "    {}", crowded_line(crowded))?;
            } else if loss.workloads.is_empty() && !self.workloads.is_empty() {
                writeln!(f, "    every workload keeps every pod it wants")?;
            } else if loss.workloads.len() < self.workloads.len() {
                writeln!(f, "    every other workload keeps every pod it wants")?;
            }
        }
        Ok(())
    }
}

/// The pods placed against the room for them, as the plan says it.
pub(super) fn room_line(placed: u64, slots: u64) -> String {
    format!(
        "pods: {placed} placed on nodes that hold {slots} ({} a node, its own pods among them)",
        clusterdef_model::kubernetes::MAX_PODS
    )
}

/// What a loss that leaves too little room does, as the plan says it.
pub(super) fn crowded_line(crowded: &CrowdedNodes) -> String {
    let on =
        if crowded.on.is_empty() { "on every node".to_string() } else { format!("only on {}", crowded.on.join(", ")) };
    format!(
        "{} pods may run {on}, and the nodes left there hold {}: {} stay pending, and which depends on the order they are created",
        crowded.pods_placed,
        crowded.pod_slots,
        crowded.pending()
    )
}
