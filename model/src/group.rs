//! A group of machines (the etcd members or a worker pool) and how its machines are counted,
//! spread, addressed, named, rebooted and booted.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::host::HostConfig;
use crate::settings::{Channel, RebootStrategy};
use crate::text::{List, Text};
use crate::window::RebootWindow;

/// A set of machines configured alike: the etcd members or one worker pool.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Group {
    /// The group's name: `central`, `machines`, `etcd_node`, `workers` or the pool's name.
    pub name: Text,
    /// The fleet `role` metadata every machine of the group publishes.
    pub role: Text,
    /// How many machines the group has.
    pub size: Size,
    /// The failure domains the machines are spread across, if any.
    pub spread: Option<Spread>,
    /// Where the machines' addresses come from.
    pub addressing: Addressing,
    /// How the machines are named.
    pub hostnames: Hostnames,
    /// The update channel; `None` follows the cluster's.
    pub channel: Option<Channel>,
    /// Free-form fleet metadata, beside the generated `role`, domain and `pool` keys.
    pub metadata: List<(Text, Text)>,
    /// The locksmith reboot strategy.
    pub reboot: RebootStrategy,
    /// When the machines may reboot.
    pub windows: Windows,
    /// SSH keys authorized on this group's machines in addition to the cluster's.
    pub ssh_keys: List<Text>,
    /// How the machines boot.
    pub boot: Boot,
    /// The machines known by MAC address, with the failure domain each is in: how a PXE pool
    /// that shares a boot network with other pools or domains tells its machines apart.
    #[cfg_attr(feature = "serde", serde(default))]
    pub inventory: List<InventoryEntry>,
    /// The MAC address each machine of a fixed group boots from, in machine order: how a boot
    /// server that installs machines to disk (matchbox) knows them.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "<[_]>::is_empty"))]
    pub macs: List<Text>,
    /// The disk matchbox's installer writes Flatcar to on each machine (`None`: `/dev/sda`).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub install_disk: Option<Text>,
    /// Host configuration every machine of the group carries, beside the cluster's.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "HostConfig::is_empty"))]
    pub host: HostConfig,
    /// Host configuration for the machines of one failure domain of the group, by domain name.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "<[_]>::is_empty"))]
    pub host_in: List<(Text, HostConfig)>,
}

/// A machine of a PXE pool, known by its MAC address.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct InventoryEntry {
    /// The MAC address of the NIC it boots from, such as `52:54:00:12:34:01`.
    pub mac: Text,
    /// The failure domain it stands in, for a pool spread across domains.
    pub domain: Option<Text>,
}

/// A MAC address as dnsmasq and matchbox compare it: lowercase, colons between the pairs.
/// Rules, renderers and the matchbox files all key machines by this form.
pub fn normalised_mac(mac: &str) -> String {
    mac.to_ascii_lowercase().replace('-', ":")
}

impl Group {
    /// A group of `size` machines with every option at its default.
    pub fn new(name: impl Into<Text>, role: impl Into<Text>, size: Size) -> Group {
        Group::new_const(name.into(), role.into(), size)
    }

    /// [`Group::new`] in a `const` context.
    pub const fn new_const(name: Text, role: Text, size: Size) -> Group {
        Group {
            name,
            role,
            size,
            spread: None,
            addressing: Addressing::Dhcp,
            hostnames: Hostnames::Default,
            channel: None,
            metadata: Cow::Borrowed(&[]),
            reboot: RebootStrategy::EtcdLock,
            windows: Windows::Any,
            ssh_keys: Cow::Borrowed(&[]),
            boot: Boot::Disk,
            inventory: Cow::Borrowed(&[]),
            macs: Cow::Borrowed(&[]),
            install_disk: None,
            host: HostConfig::EMPTY,
            host_in: Cow::Borrowed(&[]),
        }
    }

    /// The group spread across these failure domains, machines dealt out in turn.
    pub fn across<S: Into<Text>>(mut self, kind: DomainKind, domains: impl IntoIterator<Item = S>) -> Group {
        let domains = domains.into_iter().map(|name| Domain { name: name.into(), count: None }).collect();
        self.spread = Some(Spread { kind, domains: Cow::Owned(domains) });
        self
    }

    /// The number of machines the group has when it is not autoscaled.
    pub fn fixed_count(&self) -> Option<u32> {
        match self.size {
            Size::Fixed(n) => Some(n),
            Size::Autoscale { .. } => None,
        }
    }
}

/// How many machines a group has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Size {
    /// Exactly this many machines, each with its own cloud-config.
    Fixed(u32),
    /// An autoscaled group that shares one cloud-config; the bounds are inclusive.
    Autoscale {
        /// The fewest machines the group scales down to.
        min: Option<u32>,
        /// The most machines the group scales up to.
        max: Option<u32>,
    },
}

/// Whether failure domains are cabinets (racks) or availability zones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum DomainKind {
    /// Cabinets or racks in one data centre; published as fleet metadata `cabinet=`.
    Cabinet,
    /// Availability zones; published as fleet metadata `zone=`.
    Zone,
}

impl DomainKind {
    /// The fleet metadata key and the singular noun: `cabinet` or `zone`.
    pub const fn key(self) -> &'static str {
        match self {
            DomainKind::Cabinet => "cabinet",
            DomainKind::Zone => "zone",
        }
    }

    /// The plural the DSL uses after `across`: `cabinets` or `zones`.
    pub const fn plural(self) -> &'static str {
        match self {
            DomainKind::Cabinet => "cabinets",
            DomainKind::Zone => "zones",
        }
    }
}

/// The failure domains a group's machines are spread across.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Spread {
    /// Cabinets or zones.
    pub kind: DomainKind,
    /// The domains, in declaration order.
    pub domains: List<Domain>,
}

/// One failure domain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Domain {
    /// The domain's name, published as the value of the `cabinet`/`zone` metadata key.
    pub name: Text,
    /// How many of the group's machines it holds; `None` deals machines out round-robin.
    pub count: Option<u32>,
}

/// Where a group's addresses come from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Addressing {
    /// DHCP or the cloud platform (`$private_ipv4` in cloud-configs).
    Dhcp,
    /// Static addresses from an inclusive range, dealt out in order.
    Range {
        /// The first address.
        first: Ipv4Addr,
        /// The last address, inclusive.
        last: Ipv4Addr,
    },
    /// Static addresses, one per machine, in order.
    List(List<Ipv4Addr>),
}

impl Addressing {
    /// Whether the machines have static addresses.
    pub fn is_static(&self) -> bool {
        !matches!(self, Addressing::Dhcp)
    }

    /// How many addresses the declaration provides; `None` for DHCP.
    pub fn capacity(&self) -> Option<u64> {
        match self {
            Addressing::Dhcp => None,
            Addressing::Range { first, last } => {
                let (first, last) = (u32::from(*first), u32::from(*last));
                Some(if last >= first { u64::from(last - first) + 1 } else { 0 })
            }
            Addressing::List(list) => Some(list.len() as u64),
        }
    }

    /// The address of the machine with this zero-based index, if the declaration has one.
    pub fn address(&self, index: u32) -> Option<Ipv4Addr> {
        match self {
            Addressing::Dhcp => None,
            Addressing::Range { first, last } => {
                let candidate = u32::from(*first).checked_add(index)?;
                (candidate <= u32::from(*last)).then(|| Ipv4Addr::from(candidate))
            }
            Addressing::List(list) => list.get(index as usize).copied(),
        }
    }
}

/// How a group's machines are named.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Hostnames {
    /// `{group}-{n}`: the group's name and the machine's 1-based number.
    Default,
    /// A pattern with the placeholders `{n}`, `{group}`, `{role}` and `{domain}`.
    Pattern(Text),
    /// One name per machine, in order.
    List(List<Text>),
}

/// When a group's machines may reboot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Windows {
    /// At any time.
    Any,
    /// One window for every machine of the group.
    All(RebootWindow),
    /// One window per failure domain, keyed by domain name.
    PerDomain(List<(Text, RebootWindow)>),
}

/// How a group's machines boot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Boot {
    /// From disk (or a cloud image).
    Disk,
    /// From the network by PXE; `url` overrides the cluster's `boot_server`.
    Pxe {
        /// The boot server's base URL for this pool, if it differs from the cluster's.
        url: Option<Text>,
    },
}
