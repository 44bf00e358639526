//! The plan: what a cluster is, as data and as text. Machines by role and domain, the etcd
//! quorum and what each failure domain's loss does to it, and where each unit may run.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use clusterdef_model::words::plural;
use clusterdef_model::{
    Architecture, Bootstrap, Channel, Cluster, DomainKind, EtcdRelease, Group, GroupRef, Host, HostConfig, Machine,
    Metadata, Os, Owner, RebootStrategy, Rule, Size, Violation, quorum,
};

use super::{cloud_config, ignition};

/// A cluster's plan.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Plan {
    /// The cluster's name.
    pub name: String,
    /// The operating system its machines run.
    pub os: Os,
    /// Which architecture of the guide it follows.
    pub architecture: Architecture,
    /// Whether it is declared production.
    pub production: bool,
    /// The etcd members and their quorum.
    pub etcd: EtcdPlan,
    /// Every group, members first.
    pub groups: Vec<GroupPlan>,
    /// For each failure domain of the members, what losing it leaves.
    pub domain_losses: Vec<DomainLoss>,
    /// Where each unit may run.
    pub units: Vec<UnitPlan>,
    /// The risks the cluster accepts, with their reasons.
    pub accepted_risks: Vec<AcceptedRisk>,
    /// The Kubernetes cluster, when it runs one: its nodes, its workloads and where they go,
    /// and what each failure domain's loss leaves.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub kubernetes: Option<KubernetesPlan>,
}

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
        Some(KubernetesPlan {
            version: k.version.to_string(),
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
            if loss.workloads.len() < self.workloads.len() {
                writeln!(f, "    every other workload keeps every pod it wants")?;
            }
        }
        Ok(())
    }
}

/// A rule the cluster allows on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AcceptedRisk {
    /// The rule.
    pub rule: Rule,
    /// Why the risk is acceptable.
    pub reason: String,
    /// How many violations the `allow` silences; 0 means it is stale and can go.
    pub silenced: usize,
}

/// The etcd cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EtcdPlan {
    /// The etcd release.
    pub release: EtcdRelease,
    /// How many members.
    pub members: u32,
    /// How many members a write needs.
    pub quorum: u32,
    /// How many members may fail.
    pub tolerates: u32,
    /// How the members find each other: `static` or the discovery URL.
    pub bootstrap: String,
    /// Each member, with the URLs the other members and the clients reach it on.
    pub member_urls: Vec<MemberPlan>,
}

/// One etcd member as the configs name it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MemberPlan {
    /// The member's name (its hostname).
    pub name: String,
    /// The URL its peers reach it on, as `initial-cluster` lists it.
    pub peer_url: String,
    /// The URL clients reach it on.
    pub client_url: String,
    /// With TLS, every name the member's serving certificate must carry as a subject
    /// alternative name, because some client verifies it against that name
    /// ([`certificate_names`]); empty without TLS.
    pub certificate_names: Vec<String>,
}

/// The names a member's serving certificate must carry (as `IP:` or `DNS:` subject alternative
/// names) for every client of the cluster to verify it: the address its peers and clients dial
/// (its hostname where it has no static address), and `127.0.0.1` when some group reaches the
/// members through a local `etcd gateway` (Flatcar workers). The gateway forwards TCP, so the
/// TLS session a worker's locksmith or etcdctl opens to `https://127.0.0.1:2379` ends at a
/// member, which must then prove it is `127.0.0.1`. CoreOS proxies terminate their own
/// connections and dial the members by address, so nothing else is needed there. Empty without
/// TLS.
pub fn certificate_names(cluster: &Cluster, member: &clusterdef_model::EtcdMember) -> Vec<String> {
    if cluster.tls.is_none() {
        return Vec::new();
    }
    let mut names = vec![member.address.map_or_else(|| member.name.clone(), |a| a.to_string())];
    if through_gateway(cluster) {
        names.push(ignition::GATEWAY_HOST.to_string());
    }
    names
}

/// Whether some group reaches the members through a local `etcd gateway`: Flatcar's pools.
fn through_gateway(cluster: &Cluster) -> bool {
    cluster.os == Os::Flatcar && !cluster.pools.is_empty()
}

/// How the machines of a group reach etcd.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EtcdAccess {
    /// Each machine is a member and talks to itself, on its own client URL.
    Member,
    /// A local proxy listens on this URL and relays to the members.
    Proxy(String),
    /// Clients list every member's client URL.
    Endpoints(Vec<String>),
    /// A local `etcd gateway` listens on this URL and forwards to the members (Flatcar).
    Gateway(String),
}

/// One group of machines.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct GroupPlan {
    /// The group's name.
    pub name: String,
    /// Its fleet role.
    pub role: String,
    /// Whether it runs the etcd members.
    pub members: bool,
    /// `5`, or `autoscale 3..50`.
    pub size: String,
    /// Its update channel.
    pub channel: Channel,
    /// Its reboot strategy.
    pub reboot: RebootStrategy,
    /// Cabinets or zones, if spread.
    pub domain_kind: Option<DomainKind>,
    /// The domains it is spread across.
    pub domains: Vec<String>,
    /// Its machines (none for an autoscaled group).
    pub machines: Vec<MachinePlan>,
    /// How its machines' fleet, locksmith and etcdctl reach etcd.
    pub etcd_access: EtcdAccess,
    /// Every config its machines boot from.
    pub configs: Vec<String>,
    /// The host configuration its machines carry, by scope: the cluster's, the group's, then
    /// each failure domain's.
    pub host: Vec<HostItemPlan>,
}

/// One piece of a group's host configuration.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct HostItemPlan {
    /// Where it is declared: `cluster`, `group`, or a failure domain such as `cabinet a`.
    pub scope: String,
    /// `file`, `unit` or `drop-in`.
    pub kind: &'static str,
    /// The file's path, the unit's name, or `UNIT/NAME.conf` for a drop-in.
    pub name: String,
    /// What it does: a file's mode and owner, a unit's enablement, mask and command.
    pub detail: String,
}

/// The host items of `group` as the plan lists them. O(items).
fn host_plan(cluster: &Cluster, group: &Group) -> Vec<HostItemPlan> {
    let account = |o: Option<&Owner>| match o {
        None => "root".to_string(),
        Some(Owner::Name(n)) => n.to_string(),
        Some(Owner::Id(id)) => id.to_string(),
    };
    let mut scopes: Vec<(String, &HostConfig)> =
        vec![("cluster".to_string(), &cluster.host), ("group".to_string(), &group.host)];
    let kind = group.spread.as_ref().map_or("domain", |s| s.kind.key());
    scopes.extend(group.host_in.iter().map(|(domain, config)| (format!("{kind} {domain}"), config)));
    let mut out = Vec::new();
    for (scope, config) in scopes {
        for f in config.files.iter() {
            let detail = format!("mode {:04o}, {}:{}", f.mode, account(f.owner.as_ref()), account(f.group.as_ref()));
            out.push(HostItemPlan { scope: scope.clone(), kind: "file", name: f.path.to_string(), detail });
        }
        for u in config.units.iter() {
            let mut what = Vec::new();
            if u.body.is_some() {
                what.push("written".to_string());
            }
            if u.mask {
                what.push("masked".to_string());
            } else if u.enabled() {
                what.push("enabled".to_string());
            } else if u.enable == Some(false) {
                what.push("not enabled".to_string());
            }
            if let Some(c) = u.command {
                what.push(format!("{} at boot", c.as_str()));
            }
            out.push(HostItemPlan {
                scope: scope.clone(),
                kind: "unit",
                name: u.name.to_string(),
                detail: what.join(", "),
            });
        }
        for d in config.dropins.iter() {
            let name = format!("{}/{}", d.unit, d.name);
            out.push(HostItemPlan { scope: scope.clone(), kind: "drop-in", name, detail: String::new() });
        }
    }
    out
}

/// One machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MachinePlan {
    /// The hostname.
    pub hostname: String,
    /// The static address, if any.
    pub address: Option<Ipv4Addr>,
    /// The failure domain, if any.
    pub domain: Option<String>,
    /// The config it boots from: its own, or its pool's for the domain.
    pub config: String,
}

/// What losing one failure domain of the etcd members does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainLoss {
    /// Cabinet or zone.
    pub kind: DomainKind,
    /// The domain.
    pub domain: String,
    /// Members in it.
    pub members_lost: u32,
    /// Members left when it is gone.
    pub members_left: u32,
    /// Members a write needs.
    pub quorum: u32,
    /// Whether the cluster keeps accepting writes.
    pub keeps_quorum: bool,
}

/// Where one unit may run.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct UnitPlan {
    /// The unit's name.
    pub name: String,
    /// Whether it runs on every eligible machine (`Global=true`) or on one of them.
    pub global: bool,
    /// The unit it follows (`MachineOf`), whose machine it runs on.
    pub follows: Option<String>,
    /// The one machine it is pinned to (`MachineID`), among the eligible ones.
    pub machine_id: Option<String>,
    /// Globs of units it never runs beside (`Conflicts`).
    pub conflicts: Vec<String>,
    /// Globs of units it pushes to other machines (`Replaces`).
    pub replaces: Vec<String>,
    /// Where it runs when nothing schedules at run time (Flatcar): the machines, or the pools'
    /// configs, that carry it. Empty for CoreOS, where fleet chooses among the eligible ones.
    pub placed_on: Vec<String>,
    /// The configs that carry it, where it is placed at compile time.
    pub placed_configs: Vec<String>,
    /// For a template placed at compile time (not global): the instance on each entry of
    /// `placed_on`, in the same order (`web@1.service`, …). On CoreOS, for a template that
    /// declares `instances`: the instances the members' submit unit starts, each placed by
    /// fleet. Empty otherwise.
    pub instances: Vec<String>,
    /// The eligible machines, by group and failure domain.
    pub eligible: Vec<Eligible>,
}

/// Machines of one group and failure domain that may run a unit.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Eligible {
    /// The group.
    pub group: String,
    /// The failure domain, if the group is spread.
    pub domain: Option<String>,
    /// Their hostnames; empty for an autoscaled group, whose machines are not known in advance.
    /// Shared between the units that may run on the same machines.
    pub hostnames: Arc<[String]>,
    /// The configs those machines boot from: one per machine, or one shared by all of them.
    pub configs: Arc<[String]>,
}

/// The config a machine boots from.
fn config_of(os: Os, group: &Group, machine: &Machine) -> String {
    if group.shares_configs() { pool_config(os, group, machine.domain) } else { machine_config(os, machine) }
}

/// The path of a machine's own config, in the OS's format.
fn machine_config(os: Os, machine: &Machine) -> String {
    match os {
        Os::CoreOs => cloud_config::machine_config_path(machine),
        Os::Flatcar => ignition::machine_config_path(machine),
    }
}

/// The path of a pool's shared config in a domain, in the OS's format.
fn pool_config(os: Os, group: &Group, domain: Option<usize>) -> String {
    match os {
        Os::CoreOs => cloud_config::pool_config_path(group, domain),
        Os::Flatcar => ignition::pool_config_path(group, domain),
    }
}

impl Plan {
    /// The plan of `cluster`.
    pub fn of(cluster: &Cluster) -> Plan {
        let review = cluster.review();
        Plan::from_review(cluster, &review.placement, &review.violations)
    }

    /// The plan of `cluster` from what its rules found: units placed as `placement` says, and
    /// the accepted risks counted from `violations` (those of rules the cluster does not allow
    /// are not counted), so the render context's one run of the rules serves the plan too.
    pub(crate) fn from_review(cluster: &Cluster, placement: &[Vec<Host>], violations: &[Violation]) -> Plan {
        let members = cluster.members.fixed_count().unwrap_or(0);
        let placed = cluster.placed_groups();
        let domain_name = |g: GroupRef, d: Option<usize>| -> Option<String> {
            let group = cluster.group(g)?;
            Some(group.spread.as_ref()?.domains.get(d?)?.name.to_string())
        };
        let member_list = cluster.etcd_members();
        let etcd_access = |g: GroupRef| match (g, cluster.etcd_release) {
            (GroupRef::Members, _) => EtcdAccess::Member,
            (GroupRef::Pool(_), _) if cluster.os == Os::Flatcar => {
                let scheme = if cluster.tls.is_some() { "https" } else { "http" };
                EtcdAccess::Gateway(format!("{scheme}://{}", ignition::GATEWAY_ADDR))
            }
            (GroupRef::Pool(_), EtcdRelease::V2) => EtcdAccess::Proxy(cloud_config::PROXY_URL.to_string()),
            (GroupRef::Pool(_), EtcdRelease::V0_4) => {
                EtcdAccess::Endpoints(member_list.iter().map(cloud_config::client_url).collect())
            }
        };
        let groups = placed
            .iter()
            .map(|p| GroupPlan {
                name: p.group.name.to_string(),
                role: p.group.role.to_string(),
                members: p.group_ref == GroupRef::Members,
                size: match p.group.size {
                    Size::Fixed(n) => n.to_string(),
                    Size::Autoscale { min, max } => format!(
                        "autoscale {}..{}",
                        min.map_or(String::new(), |m| m.to_string()),
                        max.map_or(String::new(), |m| m.to_string())
                    ),
                },
                channel: cluster.channel_of(p.group),
                reboot: p.group.reboot,
                domain_kind: p.group.spread.as_ref().map(|s| s.kind),
                domains: p.group.spread.iter().flat_map(|s| s.domains.iter().map(|d| d.name.to_string())).collect(),
                machines: p
                    .machines
                    .iter()
                    .map(|m| MachinePlan {
                        hostname: m.hostname.clone(),
                        address: m.address,
                        domain: domain_name(m.group, m.domain),
                        config: config_of(cluster.os, p.group, m),
                    })
                    .collect(),
                etcd_access: etcd_access(p.group_ref),
                configs: if p.group.shares_configs() {
                    cluster
                        .group_domains(p.group_ref)
                        .into_iter()
                        .map(|d| pool_config(cluster.os, p.group, d))
                        .collect()
                } else {
                    p.machines.iter().map(|m| machine_config(cluster.os, m)).collect()
                },
                host: host_plan(cluster, p.group),
            })
            .collect();

        let domain_losses = match &cluster.members.spread {
            Some(spread) if members > 0 => spread
                .domains
                .iter()
                .zip(cluster.members.domain_counts(members))
                .map(|(d, lost)| DomainLoss {
                    kind: spread.kind,
                    domain: d.name.to_string(),
                    members_lost: lost,
                    members_left: members - lost,
                    quorum: quorum::majority(members),
                    keeps_quorum: quorum::survives(members, lost),
                })
                .collect(),
            _ => Vec::new(),
        };

        // Each kind of machine (group and domain) is matched once; its machines follow.
        struct Kind {
            group: GroupRef,
            domain: Option<usize>,
            metadata: Metadata,
            hostnames: Arc<[String]>,
            configs: Arc<[String]>,
        }
        let mut kinds = Vec::new();
        for p in &placed {
            for domain in cluster.group_domains(p.group_ref) {
                let machines: Vec<&Machine> = p.machines.iter().filter(|m| m.domain == domain).collect();
                let mut configs: Vec<String> = machines.iter().map(|m| config_of(cluster.os, p.group, m)).collect();
                configs.dedup();
                if machines.is_empty() {
                    configs.push(pool_config(cluster.os, p.group, domain));
                }
                kinds.push(Kind {
                    group: p.group_ref,
                    domain,
                    metadata: cluster.fleet_metadata(p.group_ref, domain),
                    hostnames: machines.iter().map(|m| m.hostname.clone()).collect(),
                    configs: configs.into(),
                });
            }
        }
        let host_name = |h: &Host| match *h {
            Host::Machine(g, i) => placed
                .iter()
                .find(|p| p.group_ref == g)
                .and_then(|p| p.machines.get(i as usize))
                .map_or_else(String::new, |m| m.hostname.clone()),
            Host::Pool(g, d) => {
                let group = cluster.group(g).map_or_else(String::new, |g| g.name.to_string());
                match domain_name(g, d) {
                    Some(d) => format!("{group} in {d} (every machine)"),
                    None => format!("{group} (every machine)"),
                }
            }
        };
        let host_config = |h: &Host| match *h {
            Host::Machine(g, i) => placed
                .iter()
                .find(|p| p.group_ref == g)
                .and_then(|p| Some(config_of(cluster.os, p.group, p.machines.get(i as usize)?)))
                .unwrap_or_default(),
            Host::Pool(g, d) => cluster.group(g).map_or_else(String::new, |group| pool_config(cluster.os, group, d)),
        };
        let units = cluster
            .units
            .iter()
            .enumerate()
            .filter(|(u, _)| !cluster.is_workload(*u))
            .map(|(u, unit)| UnitPlan {
                name: unit.name.to_string(),
                global: unit.global,
                follows: unit.machine_of.as_ref().map(|m| m.to_string()),
                machine_id: unit.machine_id.as_ref().map(|m| m.to_string()),
                conflicts: unit.conflicts.iter().map(|c| c.to_string()).collect(),
                replaces: unit.replaces.iter().map(|c| c.to_string()).collect(),
                placed_on: placement.get(u).map_or_else(Vec::new, |hosts| hosts.iter().map(&host_name).collect()),
                placed_configs: placement
                    .get(u)
                    .map_or_else(Vec::new, |hosts| hosts.iter().map(&host_config).collect()),
                instances: match (cluster.os, placement.get(u)) {
                    (Os::Flatcar, Some(hosts)) if unit.is_template() && !unit.global => {
                        unit.placed_names(hosts).into_iter().map(|(_, name)| name).collect()
                    }
                    // On CoreOS the members' submit unit starts them and fleet places them.
                    (Os::CoreOs, _) => unit.started_instances(),
                    _ => Vec::new(),
                },
                eligible: kinds
                    .iter()
                    .filter(|kind| unit.runs_on(&kind.metadata))
                    .map(|kind| Eligible {
                        group: cluster.group(kind.group).map(|g| g.name.to_string()).unwrap_or_default(),
                        domain: domain_name(kind.group, kind.domain),
                        hostnames: kind.hostnames.clone(),
                        configs: kind.configs.clone(),
                    })
                    .collect(),
            })
            .collect();

        Plan {
            name: cluster.name.to_string(),
            os: cluster.os,
            architecture: cluster.architecture(),
            production: cluster.production,
            etcd: EtcdPlan {
                release: cluster.etcd_release,
                members,
                quorum: quorum::majority(members),
                tolerates: quorum::tolerance(members),
                bootstrap: match &cluster.bootstrap {
                    Bootstrap::Static => "static".to_string(),
                    Bootstrap::Discovery(Some(url)) => format!("discovery {url}"),
                    Bootstrap::Discovery(None) => "discovery (URL given at render time)".to_string(),
                },
                member_urls: member_list
                    .iter()
                    .map(|m| MemberPlan {
                        name: m.name.clone(),
                        peer_url: cloud_config::peer_url(m),
                        client_url: cloud_config::client_url(m),
                        certificate_names: certificate_names(cluster, m),
                    })
                    .collect(),
            },
            groups,
            domain_losses,
            units,
            kubernetes: KubernetesPlan::of(cluster),
            accepted_risks: cluster
                .allows
                .iter()
                .map(|a| AcceptedRisk {
                    rule: a.rule,
                    reason: a.reason.to_string(),
                    silenced: violations.iter().filter(|v| v.rule == a.rule).count(),
                })
                .collect(),
        }
    }
}

impl UnitPlan {
    /// Where a unit placed at render time runs: its machines, or for a template's instances
    /// each instance with its machine (`web@1.service: worker-1, web@2.service: worker-2`).
    fn placed_text(&self) -> String {
        if self.instances.is_empty() {
            self.placed_on.join(", ")
        } else {
            let each: Vec<String> =
                self.instances.iter().zip(&self.placed_on).map(|(i, host)| format!("{i}: {host}")).collect();
            each.join(", ")
        }
    }
}

impl Plan {
    /// The eligible machines in words, one phrase per group: its hostnames when they are few,
    /// else the group, the domains when not all of them, and the count.
    fn describe_eligible(&self, eligible: &[Eligible]) -> Vec<String> {
        let mut out = Vec::new();
        for group in &self.groups {
            let of_group: Vec<&Eligible> = eligible.iter().filter(|e| e.group == group.name).collect();
            if of_group.is_empty() {
                continue;
            }
            let every_domain = group.domains.is_empty() || of_group.len() == group.domains.len();
            let domains = match (every_domain, group.domain_kind) {
                (false, Some(kind)) => {
                    let names: Vec<&str> = of_group.iter().filter_map(|e| e.domain.as_deref()).collect();
                    format!(" in {} {}", if names.len() == 1 { kind.key() } else { kind.plural() }, names.join(", "))
                }
                _ => String::new(),
            };
            let count: usize = of_group.iter().map(|e| e.hostnames.len()).sum();
            out.push(match count {
                0 => format!("{}{domains} (autoscaled)", group.name),
                // Few enough to name, in the group's machine order.
                1..=6 => {
                    let named: Vec<&str> = group
                        .machines
                        .iter()
                        .map(|m| m.hostname.as_str())
                        .filter(|h| of_group.iter().any(|e| e.hostnames.iter().any(|x| x == h)))
                        .collect();
                    named.join(", ")
                }
                n => format!("{}{domains} ({n} machines)", group.name),
            });
        }
        out
    }
}

/// The widest a table column is padded to. A longer cell is written whole and pushes the rest
/// of its row along, so the table stays linear in what it holds: padding every row to one
/// enormous cell would make a small file print rows × that cell's width.
const WIDEST_COLUMN: usize = 64;

/// Lays out rows as columns padded to their widest cell (at most [`WIDEST_COLUMN`]), with a rule
/// under the header. Padding is written by hand: `format!`'s width is limited to `u16`, and a
/// cell may be any length. O(cells + their text).
fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count().min(WIDEST_COLUMN));
        }
    }
    let line = |cells: Vec<String>| {
        let mut text = String::from("  ");
        for (i, (cell, width)) in cells.iter().zip(&widths).enumerate() {
            if i > 0 {
                text.push_str("  ");
            }
            text.push_str(cell);
            let pad = width.saturating_sub(cell.chars().count());
            text.extend(std::iter::repeat_n(' ', pad));
        }
        format!("{}\n", text.trim_end())
    };
    let mut out = line(header.iter().map(|h| h.to_string()).collect());
    out.push_str(&line(widths.iter().map(|w| "-".repeat(*w)).collect()));
    for row in rows {
        out.push_str(&line(row.clone()));
    }
    out
}

impl Plan {
    /// The plan as tables: machines, failure domains of the etcd members, units.
    pub fn tables(&self) -> String {
        let production = if self.production { "production" } else { "not production" };
        let mut out = format!("{} `{}` ({production})\n", self.architecture, self.name);
        out.push_str(&format!(
            "etcd: {}, quorum {}, tolerates {}; bootstrap {}\n\nmachines\n",
            plural(self.etcd.members, "member", "members"),
            self.etcd.quorum,
            plural(self.etcd.tolerates, "failure", "failures"),
            self.etcd.bootstrap
        ));
        let mut rows = Vec::new();
        for g in &self.groups {
            let etcd = if g.members { "member" } else { "" };
            if g.machines.is_empty() {
                let domains = if g.domains.is_empty() { "-".to_string() } else { g.domains.join(" ") };
                rows.push(vec![
                    format!("({})", g.size),
                    g.name.clone(),
                    g.role.clone(),
                    domains,
                    "dhcp".to_string(),
                    g.channel.as_str().to_string(),
                    etcd.to_string(),
                ]);
            }
            for m in &g.machines {
                rows.push(vec![
                    m.hostname.clone(),
                    g.name.clone(),
                    g.role.clone(),
                    m.domain.clone().unwrap_or_else(|| "-".to_string()),
                    m.address.map_or_else(|| "dhcp".to_string(), |a| a.to_string()),
                    g.channel.as_str().to_string(),
                    etcd.to_string(),
                ]);
            }
        }
        out.push_str(&table(&["MACHINE", "GROUP", "ROLE", "DOMAIN", "ADDRESS", "CHANNEL", "ETCD"], &rows));
        if !self.domain_losses.is_empty() {
            out.push_str("\nlosing one failure domain\n");
            let rows: Vec<Vec<String>> = self
                .domain_losses
                .iter()
                .map(|l| {
                    vec![
                        format!("{} {}", l.kind.key(), l.domain),
                        l.members_lost.to_string(),
                        l.members_left.to_string(),
                        l.quorum.to_string(),
                        if l.keeps_quorum { "keeps quorum".to_string() } else { "LOSES QUORUM".to_string() },
                    ]
                })
                .collect();
            out.push_str(&table(&["DOMAIN", "MEMBERS LOST", "LEFT", "QUORUM", "OUTCOME"], &rows));
        }
        if !self.units.is_empty() {
            out.push_str("\nunits\n");
            let rows: Vec<Vec<String>> = self
                .units
                .iter()
                .map(|u| {
                    let places = self.describe_eligible(&u.eligible);
                    let (how, places) = match (u.placed_on.is_empty(), u.global) {
                        (false, _) => ("placed on", u.placed_text()),
                        // With no scheduler, a unit not placed now never runs.
                        (true, _) if self.os == Os::Flatcar => {
                            ("placed on", "no machine, so it never runs".to_string())
                        }
                        (true, true) => ("each", places.join(", ")),
                        (true, false) if !u.instances.is_empty() => {
                            ("one of", format!("{} (started as {})", places.join(", "), u.instances.join(" ")))
                        }
                        (true, false) => ("one of", places.join(", ")),
                    };
                    vec![
                        u.name.clone(),
                        how.to_string(),
                        if places.is_empty() { "no eligible machine".to_string() } else { places },
                    ]
                })
                .collect();
            out.push_str(&table(&["UNIT", "RUNS ON", "ELIGIBLE"], &rows));
        }
        if let Some(k) = &self.kubernetes {
            out.push_str(&format!(
                "\nkubernetes {} (services {}, pods {}, {}; a lost node's pods are placed again after {} s)\n",
                k.version, k.services, k.pods, k.cni, k.eviction_seconds
            ));
            let rows: Vec<Vec<String>> = k
                .nodes
                .iter()
                .map(|n| {
                    let kind = n.domain.as_ref().map_or(n.group.clone(), |d| format!("{}/{d}", n.group));
                    vec![kind, n.count.clone(), n.labels.join(" "), n.taints.join(" ")]
                })
                .collect();
            out.push_str(&table(&["NODES", "COUNT", "LABELS", "TAINTS"], &rows));
            if !k.workloads.is_empty() {
                out.push('\n');
                let rows: Vec<Vec<String>> = k
                    .workloads
                    .iter()
                    .map(|w| {
                        vec![
                            w.name.clone(),
                            w.kind.to_string(),
                            format!("{} of {}", w.fits, w.wanted),
                            if w.eligible.is_empty() { "no node".to_string() } else { w.eligible.join(", ") },
                        ]
                    })
                    .collect();
                out.push_str(&table(&["WORKLOAD", "KIND", "PODS FIT", "MAY RUN ON"], &rows));
                out.push('\n');
                let rows: Vec<Vec<String>> = k
                    .losses
                    .iter()
                    .flat_map(|loss| {
                        let lost = format!("{} {}", loss.kind.key(), loss.domain);
                        let serving = if loss.control_plane { "serves" } else { "stops (no quorum)" };
                        let mut rows: Vec<Vec<String>> = loss
                            .workloads
                            .iter()
                            .map(|w| {
                                vec![
                                    lost.clone(),
                                    serving.to_string(),
                                    w.name.clone(),
                                    format!("{} of {}", w.running, w.wanted),
                                    if w.survives { "survives".to_string() } else { "does not survive".to_string() },
                                ]
                            })
                            .collect();
                        if rows.is_empty() {
                            let outcome =
                                if loss.control_plane { "every one keeps its pods" } else { "none is placed again" };
                            rows.push(vec![
                                lost,
                                serving.to_string(),
                                "(all)".to_string(),
                                String::new(),
                                outcome.to_string(),
                            ]);
                        }
                        rows
                    })
                    .collect();
                out.push_str(&table(&["LOSING", "CONTROL PLANE", "WORKLOAD", "PODS", "OUTCOME"], &rows));
                out.push_str("  (a workload not listed under a loss keeps every pod it wants)\n");
            }
        }
        if !self.accepted_risks.is_empty() {
            out.push_str("\naccepted risks\n");
            let rows: Vec<Vec<String>> = self
                .accepted_risks
                .iter()
                .map(|r| vec![r.rule.to_string(), r.silenced.to_string(), r.reason.clone()])
                .collect();
            out.push_str(&table(&["RULE", "SILENCES", "REASON"], &rows));
        }
        out
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let production = if self.production { "production" } else { "not production" };
        writeln!(f, "{} `{}` ({production})", self.architecture, self.name)?;
        let release = match (self.os, self.etcd.release) {
            (Os::Flatcar, _) => "etcd 3.5 in etcd-member, Flatcar",
            (_, EtcdRelease::V2) => "etcd2",
            (_, EtcdRelease::V0_4) => "etcd 0.4",
        };
        writeln!(
            f,
            "etcd: {} ({release}), quorum {}, tolerates {}; bootstrap {}",
            plural(self.etcd.members, "member", "members"),
            self.etcd.quorum,
            plural(self.etcd.tolerates, "failure", "failures"),
            self.etcd.bootstrap
        )?;
        let named: Vec<String> = self
            .etcd
            .member_urls
            .iter()
            .filter(|m| !m.certificate_names.is_empty())
            .map(|m| format!("{}: {}", m.name, m.certificate_names.join(", ")))
            .collect();
        if !named.is_empty() {
            writeln!(f, "TLS: member certificates must name (as subject alternative names) {}", named.join("; "))?;
        }
        writeln!(f, "\nmachines")?;
        for g in &self.groups {
            let domains = match g.domain_kind {
                Some(kind) => format!(", across {} {}", kind.plural(), g.domains.join(", ")),
                None => String::new(),
            };
            let etcd = match &g.etcd_access {
                EtcdAccess::Member => ", etcd members".to_string(),
                EtcdAccess::Proxy(url) => format!(", etcd through a local proxy on {url}"),
                EtcdAccess::Endpoints(_) => ", etcd at the members' endpoints".to_string(),
                EtcdAccess::Gateway(url) => format!(", etcd through a local gateway on {url}"),
            };
            writeln!(
                f,
                "  {}: {}, role={}, channel {}, reboot {}{domains}{etcd}",
                g.name,
                g.size,
                g.role,
                g.channel.as_str(),
                g.reboot.as_str()
            )?;
            for m in &g.machines {
                let address = m.address.map_or_else(|| "dhcp".to_string(), |a| a.to_string());
                let domain = m.domain.as_ref().map_or(String::new(), |d| format!("  {d}"));
                writeln!(f, "    {:<24} {address:<16}{domain}", m.hostname)?;
            }
            for h in &g.host {
                let detail = if h.detail.is_empty() { String::new() } else { format!(" ({})", h.detail) };
                writeln!(f, "    host ({}): {} {}{detail}", h.scope, h.kind, h.name)?;
            }
        }
        if !self.domain_losses.is_empty() {
            writeln!(f, "\nfailure domains of the etcd members")?;
            for loss in &self.domain_losses {
                let verdict = if loss.keeps_quorum { "keeps quorum" } else { "LOSES QUORUM" };
                writeln!(
                    f,
                    "  lose {} {}: {} of {} down, {} left, quorum {}: {verdict}",
                    loss.kind.key(),
                    loss.domain,
                    loss.members_lost,
                    self.etcd.members,
                    loss.members_left,
                    loss.quorum
                )?;
            }
        }
        if !self.units.is_empty() {
            writeln!(f, "\nunits")?;
            for u in &self.units {
                let how = if u.global { "runs on each of" } else { "runs on one of" };
                let mut follows = u.follows.as_ref().map_or(String::new(), |t| format!(", beside {t}"));
                if let Some(id) = &u.machine_id {
                    follows.push_str(&format!(", only on machine ID {id}"));
                }
                if !u.conflicts.is_empty() {
                    follows.push_str(&format!(", never beside {}", u.conflicts.join(" ")));
                }
                if !u.replaces.is_empty() {
                    follows.push_str(&format!(", moving away {}", u.replaces.join(" ")));
                }
                if u.placed_on.is_empty() && !u.instances.is_empty() {
                    follows.push_str(&format!(", started as {}", u.instances.join(" ")));
                }
                let places = self.describe_eligible(&u.eligible);
                if !u.placed_on.is_empty() {
                    writeln!(f, "  {}: placed on {}{follows}", u.name, u.placed_text())?;
                } else if self.os == Os::Flatcar {
                    writeln!(f, "  {}: placed on no machine, so it never runs{follows}", u.name)?;
                } else if places.is_empty() {
                    writeln!(f, "  {}: no eligible machine{follows}", u.name)?;
                } else {
                    writeln!(f, "  {}: {how} {}{follows}", u.name, places.join(", "))?;
                }
            }
        }
        if let Some(k) = &self.kubernetes {
            write!(f, "{k}")?;
        }
        if !self.accepted_risks.is_empty() {
            writeln!(f, "\naccepted risks")?;
            for risk in &self.accepted_risks {
                let effect = match risk.silenced {
                    0 => "silences nothing: remove this allow".to_string(),
                    n => format!("silences {}", plural(n as u64, "violation", "violations")),
                };
                writeln!(f, "  {}: {} ({effect})", risk.rule, risk.reason)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::net::Ipv4Addr;

    use clusterdef_model::{Addressing, Layout, Network, Unit, UnitBody};

    use super::*;

    #[test]
    fn each_placed_instance_is_named_with_its_machine_in_the_text_and_the_tables() {
        let mut members = Group::new("central", "central", Size::Fixed(3));
        members.addressing =
            Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 13) };
        let mut cluster = Cluster::new("t", Layout::CentralServices, members);
        cluster.os = Os::Flatcar;
        cluster.bootstrap = Bootstrap::Static;
        cluster.network = Some(Network::new("10.0.0.0/24".parse().expect("subnet")));
        cluster.pools = Cow::Owned(vec![Group::new("worker", "worker", Size::Fixed(3))]);
        let mut web = Unit::new("web@.service", UnitBody::Inline(Cow::Borrowed("[Service]\nExecStart=/bin/true\n")));
        web.instances = Some(2);
        web.machine_metadata = Cow::Owned(vec![clusterdef_model::Requirement {
            key: Cow::Borrowed("role"),
            values: Cow::Owned(vec![Cow::Borrowed("worker")]),
        }]);
        cluster.units = Cow::Owned(vec![web]);
        let plan = Plan::of(&cluster);
        let placed = "web@1.service: worker-1, web@2.service: worker-2";
        assert!(plan.to_string().contains(&format!("web@.service: placed on {placed}")), "{plan}");
        assert!(plan.tables().contains(placed), "{}", plan.tables());
    }

    #[test]
    fn cells_of_any_length_lay_out_without_padding_every_row_to_them() {
        let long = "z".repeat(70_000);
        let rows = vec![vec![long.clone(), "a".to_string()], vec!["b".to_string(), "c".to_string()]];
        let text = table(&["name", "x"], &rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[2], format!("  {long}  a"), "the long cell is written whole");
        assert_eq!(lines[3], format!("  b{}  c", " ".repeat(WIDEST_COLUMN - 1)), "other rows pad to the cap");
        assert!(text.len() < 70_000 + 4 * WIDEST_COLUMN + 64, "{} bytes", text.len());
    }
}
