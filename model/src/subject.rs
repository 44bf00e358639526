//! Where in a cluster a violation lies. Front ends map subjects to source positions; clusters
//! built at run time show them as paths.

use std::fmt::Write as _;

use crate::cluster::Cluster;
use crate::group_ref::GroupRef;

/// A part of a group's declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupPart {
    /// The whole declaration.
    Whole,
    /// The group's name.
    Name,
    /// The machine count or `autoscale`.
    Size,
    /// The autoscale minimum.
    Min,
    /// The autoscale maximum.
    Max,
    /// The `across` clause.
    Spread,
    /// The domain at this index.
    Domain(usize),
    /// The explicit count of the domain at this index.
    DomainCount(usize),
    /// The channel.
    Channel,
    /// The addresses declaration.
    Addresses,
    /// The listed address at this index (or the range, for a range).
    Address(usize),
    /// The hostnames declaration.
    Hostnames,
    /// The listed hostname at this index (or the pattern).
    Hostname(usize),
    /// The metadata key at this index.
    MetadataKey(usize),
    /// The metadata value at this index.
    MetadataValue(usize),
    /// The role.
    Role,
    /// The reboot strategy.
    Reboot,
    /// The reboot windows.
    Windows,
    /// The per-domain window at this index.
    Window(usize),
    /// The boot method.
    Boot,
    /// The group's SSH key at this index.
    SshKey(usize),
    /// The inventory declaration.
    Inventory,
    /// The inventory entry at this index (its MAC address).
    InventoryEntry(usize),
    /// The `macs` declaration.
    Macs,
    /// The MAC address of the machine at this index.
    Mac(usize),
    /// `install_disk`.
    InstallDisk,
}

/// A part of the `kubernetes` declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KubernetesPart {
    /// The whole block.
    Whole,
    /// `version`.
    Version,
    /// `services`.
    Services,
    /// `pods`.
    Pods,
    /// `cni`.
    Cni,
}

/// A part of the network declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NetworkPart {
    /// The whole declaration.
    Whole,
    /// The subnet.
    Subnet,
    /// The gateway.
    Gateway,
    /// The interface name.
    Interface,
    /// The failure domain network at this index (its name).
    Domain(usize),
    /// The subnet of the failure domain network at this index.
    DomainSubnet(usize),
    /// The gateway of the failure domain network at this index.
    DomainGateway(usize),
}

/// A part of a unit's declaration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum UnitPart {
    /// The whole declaration.
    Whole,
    /// The unit's name.
    Name,
    /// `Global`.
    Global,
    /// The whole `MachineMetadata` declaration.
    Metadata,
    /// The `MachineMetadata` requirement at this index (its key).
    Requirement(usize),
    /// Value `.1` of requirement `.0`.
    RequirementValue(usize, usize),
    /// The `Conflicts` glob at this index.
    Conflict(usize),
    /// `MachineOf`.
    MachineOf,
    /// `MachineID`.
    MachineId,
    /// The `Replaces` glob at this index.
    Replace(usize),
    /// `instances`.
    Instances,
    /// The unit's body.
    Body,
    /// Its container image.
    Image,
    /// The container's port at this index.
    Port(usize),
    /// The container's environment entry at this index.
    Env(usize),
    /// The container's command word at this index.
    Command(usize),
}

/// A part of a scope's host configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostPart {
    /// The whole block.
    Whole,
    /// The file at this index (its path).
    File(usize),
    /// The mode of the file at this index.
    FileMode(usize),
    /// The owner of the file at this index.
    FileOwner(usize),
    /// The group of the file at this index.
    FileGroup(usize),
    /// The contents of the file at this index.
    FileContents(usize),
    /// The host unit at this index (its name).
    Unit(usize),
    /// `mask` of the host unit at this index.
    UnitMask(usize),
    /// `enable` of the host unit at this index.
    UnitEnable(usize),
    /// `command` of the host unit at this index.
    UnitCommand(usize),
    /// The drop-in at this index (its unit and name).
    DropIn(usize),
}

/// The part of a cluster a violation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Subject {
    /// The cluster as a whole.
    Cluster,
    /// The `production` declaration.
    Production,
    /// The cluster-wide channel.
    Channel,
    /// The bootstrap declaration.
    Bootstrap,
    /// The cluster-wide boot server.
    BootServer,
    /// The kind of the boot server (`matchbox`).
    BootServerKind,
    /// The cluster's name.
    Name,
    /// The TLS declaration.
    Tls,
    /// One file of the `tls` block: 0 `ca`, 1 `cert`, 2 `key`.
    TlsFile(usize),
    /// The operating system declaration.
    Os,
    /// The etcd release declaration.
    EtcdRelease,
    /// The cluster-wide SSH key at this index.
    SshKey(usize),
    /// A part of a group.
    Group(GroupRef, GroupPart),
    /// A part of the network declaration.
    Network(NetworkPart),
    /// A part of a unit.
    Unit(usize, UnitPart),
    /// A part of the host configuration of a scope.
    Host(crate::host::HostScope, HostPart),
    /// A part of the `kubernetes` declaration.
    Kubernetes(KubernetesPart),
}

impl Subject {
    /// The enclosing subject, used when a front end has no position for this one.
    pub fn parent(self) -> Option<Subject> {
        Some(match self {
            Subject::Cluster => return None,
            Subject::BootServerKind => Subject::BootServer,
            Subject::Production
            | Subject::Channel
            | Subject::Bootstrap
            | Subject::BootServer
            | Subject::Name
            | Subject::Tls
            | Subject::Kubernetes(KubernetesPart::Whole)
            | Subject::Os
            | Subject::EtcdRelease
            | Subject::SshKey(_) => Subject::Cluster,
            Subject::Group(g, part) => match part {
                GroupPart::Whole => Subject::Cluster,
                GroupPart::Min | GroupPart::Max => Subject::Group(g, GroupPart::Size),
                GroupPart::Domain(_) => Subject::Group(g, GroupPart::Spread),
                GroupPart::DomainCount(i) => Subject::Group(g, GroupPart::Domain(i)),
                GroupPart::Address(_) => Subject::Group(g, GroupPart::Addresses),
                GroupPart::Hostname(_) => Subject::Group(g, GroupPart::Hostnames),
                GroupPart::Window(_) => Subject::Group(g, GroupPart::Windows),
                GroupPart::MetadataValue(i) => Subject::Group(g, GroupPart::MetadataKey(i)),
                GroupPart::InventoryEntry(_) => Subject::Group(g, GroupPart::Inventory),
                GroupPart::Mac(_) => Subject::Group(g, GroupPart::Macs),
                _ => Subject::Group(g, GroupPart::Whole),
            },
            Subject::Kubernetes(_) => Subject::Kubernetes(KubernetesPart::Whole),
            Subject::TlsFile(_) => Subject::Tls,
            Subject::Network(NetworkPart::Whole) => Subject::Cluster,
            Subject::Network(NetworkPart::DomainSubnet(i) | NetworkPart::DomainGateway(i)) => {
                Subject::Network(NetworkPart::Domain(i))
            }
            Subject::Network(_) => Subject::Network(NetworkPart::Whole),
            Subject::Host(scope, part) => match part {
                HostPart::Whole => match scope {
                    crate::host::HostScope::Cluster => Subject::Cluster,
                    crate::host::HostScope::Group(g) | crate::host::HostScope::Domain(g, _) => {
                        Subject::Group(g, GroupPart::Whole)
                    }
                },
                HostPart::FileMode(i) | HostPart::FileOwner(i) | HostPart::FileGroup(i) | HostPart::FileContents(i) => {
                    Subject::Host(scope, HostPart::File(i))
                }
                HostPart::UnitMask(i) | HostPart::UnitEnable(i) | HostPart::UnitCommand(i) => {
                    Subject::Host(scope, HostPart::Unit(i))
                }
                _ => Subject::Host(scope, HostPart::Whole),
            },
            Subject::Unit(u, part) => match part {
                UnitPart::Whole => Subject::Cluster,
                UnitPart::RequirementValue(r, _) => Subject::Unit(u, UnitPart::Requirement(r)),
                UnitPart::Requirement(_) => Subject::Unit(u, UnitPart::Metadata),
                _ => Subject::Unit(u, UnitPart::Whole),
            },
        })
    }

    /// A path naming the subject in `cluster`, such as `units["db.service"].metadata["cabinet"]`.
    pub fn describe(self, cluster: &Cluster) -> String {
        let mut out = String::new();
        match self {
            Subject::Cluster => out.push_str("cluster"),
            Subject::Production => out.push_str("production"),
            Subject::Channel => out.push_str("channel"),
            Subject::Bootstrap => out.push_str("bootstrap"),
            Subject::BootServer => out.push_str("boot_server"),
            Subject::BootServerKind => out.push_str("boot_server.kind"),
            Subject::Name => out.push_str("name"),
            Subject::Tls => out.push_str("tls"),
            Subject::TlsFile(i) => {
                out.push_str(["tls.ca", "tls.cert", "tls.key"].get(i).copied().unwrap_or("tls"));
            }
            Subject::Kubernetes(part) => out.push_str(match part {
                KubernetesPart::Whole => "kubernetes",
                KubernetesPart::Version => "kubernetes.version",
                KubernetesPart::Services => "kubernetes.services",
                KubernetesPart::Pods => "kubernetes.pods",
                KubernetesPart::Cni => "kubernetes.cni",
            }),
            Subject::Os => out.push_str("os"),
            Subject::EtcdRelease => out.push_str("etcd"),
            Subject::SshKey(i) => {
                let _ = write!(out, "ssh_keys[{i}]");
            }
            Subject::Network(part) => {
                out.push_str("network");
                match part {
                    NetworkPart::Whole => {}
                    NetworkPart::Subnet => out.push_str(".subnet"),
                    NetworkPart::Gateway => out.push_str(".gateway"),
                    NetworkPart::Interface => out.push_str(".interface"),
                    NetworkPart::Domain(i) | NetworkPart::DomainSubnet(i) | NetworkPart::DomainGateway(i) => {
                        let net = cluster.network.as_ref().and_then(|n| n.domains.get(i));
                        let _ = match net {
                            Some(net) => write!(out, ".{}[{:?}]", net.kind.plural(), net.name),
                            None => write!(out, ".domains[{i}]"),
                        };
                        match part {
                            NetworkPart::DomainSubnet(_) => out.push_str(".subnet"),
                            NetworkPart::DomainGateway(_) => out.push_str(".gateway"),
                            _ => {}
                        }
                    }
                }
            }
            Subject::Group(g, part) => {
                let group = cluster.group(g);
                match (g, group) {
                    (GroupRef::Members, _) => out.push_str(cluster.layout.members_key()),
                    (GroupRef::Pool(_), Some(group)) => {
                        let _ = write!(out, "pool[{:?}]", group.name);
                    }
                    (GroupRef::Pool(i), None) => {
                        let _ = write!(out, "pool[{i}]");
                    }
                }
                let domain = |i: usize| {
                    group
                        .and_then(|g| g.spread.as_ref())
                        .and_then(|s| s.domains.get(i))
                        .map_or_else(|| i.to_string(), |d| format!("{:?}", d.name))
                };
                let key = |i: usize| {
                    group.and_then(|g| g.metadata.get(i)).map_or_else(|| i.to_string(), |(k, _)| format!("{k:?}"))
                };
                let _ = match part {
                    GroupPart::Whole => Ok(()),
                    GroupPart::Name => write!(out, ".name"),
                    GroupPart::Size => write!(out, ".size"),
                    GroupPart::Min => write!(out, ".size.min"),
                    GroupPart::Max => write!(out, ".size.max"),
                    GroupPart::Spread => write!(out, ".across"),
                    GroupPart::Domain(i) => write!(out, ".across[{}]", domain(i)),
                    GroupPart::DomainCount(i) => write!(out, ".across[{}].count", domain(i)),
                    GroupPart::Channel => write!(out, ".channel"),
                    GroupPart::Addresses => write!(out, ".addresses"),
                    GroupPart::Address(i) => write!(out, ".addresses[{i}]"),
                    GroupPart::Hostnames => write!(out, ".hostnames"),
                    GroupPart::Hostname(i) => write!(out, ".hostnames[{i}]"),
                    GroupPart::MetadataKey(i) => write!(out, ".metadata[{}]", key(i)),
                    GroupPart::MetadataValue(i) => write!(out, ".metadata[{}].value", key(i)),
                    GroupPart::Role => write!(out, ".role"),
                    GroupPart::Reboot => write!(out, ".reboot"),
                    GroupPart::Windows => write!(out, ".window"),
                    GroupPart::Window(i) => write!(out, ".window[{i}]"),
                    GroupPart::Boot => write!(out, ".boot"),
                    GroupPart::SshKey(i) => write!(out, ".ssh_keys[{i}]"),
                    GroupPart::Inventory => write!(out, ".inventory"),
                    GroupPart::InventoryEntry(i) => {
                        let mac = group.and_then(|g| g.inventory.get(i));
                        match mac {
                            Some(entry) => write!(out, ".inventory[{:?}]", entry.mac),
                            None => write!(out, ".inventory[{i}]"),
                        }
                    }
                    GroupPart::Macs => write!(out, ".macs"),
                    GroupPart::InstallDisk => write!(out, ".install_disk"),
                    GroupPart::Mac(i) => match group.and_then(|g| g.macs.get(i)) {
                        Some(mac) => write!(out, ".macs[{mac:?}]"),
                        None => write!(out, ".macs[{i}]"),
                    },
                };
            }
            Subject::Host(scope, part) => {
                use crate::host::HostScope;
                let config = match scope {
                    HostScope::Cluster => {
                        out.push_str("host");
                        Some(&cluster.host)
                    }
                    HostScope::Group(g) | HostScope::Domain(g, _) => {
                        out.push_str(&Subject::Group(g, GroupPart::Whole).describe(cluster));
                        let group = cluster.group(g);
                        match scope {
                            HostScope::Domain(_, i) => {
                                let entry = group.and_then(|g| g.host_in.get(i));
                                let _ = match entry {
                                    Some((name, _)) => write!(out, ".host_in[{name:?}]"),
                                    None => write!(out, ".host_in[{i}]"),
                                };
                                entry.map(|(_, c)| c)
                            }
                            _ => {
                                out.push_str(".host");
                                group.map(|g| &g.host)
                            }
                        }
                    }
                };
                let file = |i: usize| {
                    config.and_then(|c| c.files.get(i)).map_or_else(|| i.to_string(), |f| format!("{:?}", f.path))
                };
                let unit = |i: usize| {
                    config.and_then(|c| c.units.get(i)).map_or_else(|| i.to_string(), |u| format!("{:?}", u.name))
                };
                let _ = match part {
                    HostPart::Whole => Ok(()),
                    HostPart::File(i) => write!(out, ".files[{}]", file(i)),
                    HostPart::FileMode(i) => write!(out, ".files[{}].mode", file(i)),
                    HostPart::FileOwner(i) => write!(out, ".files[{}].owner", file(i)),
                    HostPart::FileGroup(i) => write!(out, ".files[{}].group", file(i)),
                    HostPart::FileContents(i) => write!(out, ".files[{}].contents", file(i)),
                    HostPart::Unit(i) => write!(out, ".units[{}]", unit(i)),
                    HostPart::UnitMask(i) => write!(out, ".units[{}].mask", unit(i)),
                    HostPart::UnitEnable(i) => write!(out, ".units[{}].enable", unit(i)),
                    HostPart::UnitCommand(i) => write!(out, ".units[{}].command", unit(i)),
                    HostPart::DropIn(i) => {
                        let d = config.and_then(|c| c.dropins.get(i));
                        match d {
                            Some(d) => write!(out, ".dropins[{:?}]", format!("{}/{}", d.unit, d.name)),
                            None => write!(out, ".dropins[{i}]"),
                        }
                    }
                };
            }
            Subject::Unit(u, part) => {
                let unit = cluster.units.get(u);
                match unit {
                    Some(unit) => {
                        let _ = write!(out, "units[{:?}]", unit.name);
                    }
                    None => {
                        let _ = write!(out, "units[{u}]");
                    }
                }
                let req = |i: usize| {
                    unit.and_then(|u| u.machine_metadata.get(i))
                        .map_or_else(|| i.to_string(), |r| format!("{:?}", r.key))
                };
                let _ = match part {
                    UnitPart::Whole => Ok(()),
                    UnitPart::Name => write!(out, ".name"),
                    UnitPart::Global => write!(out, ".global"),
                    UnitPart::Metadata => write!(out, ".metadata"),
                    UnitPart::Requirement(i) => write!(out, ".metadata[{}]", req(i)),
                    UnitPart::RequirementValue(i, j) => write!(out, ".metadata[{}][{j}]", req(i)),
                    UnitPart::Conflict(i) => write!(out, ".conflicts[{i}]"),
                    UnitPart::MachineOf => write!(out, ".machine_of"),
                    UnitPart::MachineId => write!(out, ".machine_id"),
                    UnitPart::Image => write!(out, ".image"),
                    UnitPart::Port(i) => write!(out, ".ports[{i}]"),
                    UnitPart::Env(i) => write!(out, ".env[{i}]"),
                    UnitPart::Command(i) => write!(out, ".command[{i}]"),
                    UnitPart::Replace(i) => write!(out, ".replaces[{i}]"),
                    UnitPart::Instances => write!(out, ".instances"),
                    UnitPart::Body => write!(out, ".body"),
                };
            }
        }
        out
    }
}
