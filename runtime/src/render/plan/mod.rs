//! The plan: what a cluster is, as data and as text. Machines by role and domain, the etcd
//! quorum and what each failure domain's loss does to it, and where each unit may run. The
//! rooms: this one the plan as data; `kubernetes` its Kubernetes layer; `text` the plan as
//! text.

use std::fmt;
use std::net::Ipv4Addr;
use std::sync::Arc;

use clusterdef_model::words::plural;
use clusterdef_model::{
    Architecture, Bootstrap, Channel, Cluster, DomainKind, EtcdRelease, Group, GroupRef, Host, HostConfig, Machine,
    Metadata, Os, Owner, RebootStrategy, Rule, Size, Violation, quorum,
};

use super::{cloud_config, ignition};

mod kubernetes;
#[cfg(test)]
mod tests;
mod text;

pub use kubernetes::{CrowdedNodes, KubernetesLoss, KubernetesPlan, NodePlan, WorkloadAfterLoss, WorkloadPlan};

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
    /// What matchbox serves, when the cluster boots from it: each group, the machine or kind it
    /// serves, its profile, and every request each machine makes.
    #[cfg_attr(feature = "serde", serde(skip_serializing_if = "Option::is_none"))]
    pub matchbox: Option<super::matchbox::Layout>,
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
            matchbox: super::matchbox::layout(cluster),
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
