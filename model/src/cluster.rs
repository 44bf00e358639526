//! The whole cluster: its settings, its groups, its units and the risks it accepts.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::group::{Boot, DomainKind, Group, Size};
use crate::host::HostConfig;
use crate::network::{Network, Segment, Segments};
use crate::rule::Rule;
use crate::settings::{Architecture, BootServerKind, Bootstrap, Channel, EtcdRelease, Layout, Os, Tls};
use crate::text::{List, Text};
use crate::unit::Unit;

/// The most machines a cluster may declare in fixed groups (each machine with a config of its
/// own). Autoscaled pools are not counted: their machines share one config per domain.
pub const MAX_FIXED_MACHINES: u64 = 10_000;

/// A whole cluster: its etcd layout, its machines, its fleet units and the risks it accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Cluster {
    /// The cluster's name; it also seeds the etcd `initial-cluster-token`.
    pub name: Text,
    /// The operating system the machines run, which decides what the cluster renders to.
    #[cfg_attr(feature = "serde", serde(default))]
    pub os: Os,
    /// Whether the cluster is declared as production, which turns on the production rules.
    pub production: bool,
    /// Which of the seed architectures the etcd members follow.
    pub layout: Layout,
    /// The etcd release the machines run.
    pub etcd_release: EtcdRelease,
    /// How the etcd members find each other on first boot.
    pub bootstrap: Bootstrap,
    /// The machines that run etcd members: the small cluster's machines, the dev/test node or the
    /// central-services machines.
    pub members: Group,
    /// Worker pools; their machines reach etcd through a proxy or through endpoints.
    pub pools: List<Group>,
    /// Static networking shared by every statically addressed machine.
    pub network: Option<Network>,
    /// The update channel of every group that does not name its own.
    pub channel: Channel,
    /// SSH keys authorized for user `core` on every machine.
    pub ssh_keys: List<Text>,
    /// The base URL of the boot server PXE pools fetch their kernel line's cloud-config from.
    pub boot_server: Option<Text>,
    /// What the boot server is: a server of the render's files, or matchbox.
    #[cfg_attr(feature = "serde", serde(default))]
    pub boot_server_kind: BootServerKind,
    /// Where every machine finds its etcd TLS files; `None` means plain http.
    pub tls: Option<Tls>,
    /// fleet units and where they may run.
    pub units: List<Unit>,
    /// Rules whose risk this cluster accepts on purpose.
    pub allows: List<Allow>,
    /// Host configuration every machine carries (files, host units, drop-ins).
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "HostConfig::is_empty"))]
    pub host: HostConfig,
    /// Kubernetes on the cluster (Flatcar): the members run its control plane beside their etcd,
    /// every machine is a node, and units that name an image run as its workloads.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub kubernetes: Option<crate::kubernetes::settings::Kubernetes>,
}

/// One etcd member as every config that names it must: its name, its address, and how it is
/// reached. Renderers and generated code format URLs from this, never from each other's text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EtcdMember {
    /// The member's name, which is its hostname.
    pub name: String,
    /// Its static address; `None` when the platform assigns one at boot.
    pub address: Option<Ipv4Addr>,
    /// The port clients use.
    pub client_port: u16,
    /// The port peers use.
    pub peer_port: u16,
    /// Whether clients and peers use TLS (`https`).
    pub tls: bool,
}

impl EtcdMember {
    /// `https` with TLS, else `http`.
    pub const fn scheme(&self) -> &'static str {
        if self.tls { "https" } else { "http" }
    }
}

/// A rule whose risk the cluster accepts on purpose, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Allow {
    /// The rule that no longer rejects the cluster.
    pub rule: Rule,
    /// Why the risk is acceptable; never empty.
    pub reason: Text,
}

impl Cluster {
    /// A cluster with these etcd members and every other setting at its default: etcd2, the
    /// stable channel, no pools, no units, not production. The bootstrap is static when the
    /// members have static addresses and discovery (URL supplied at render time) otherwise.
    pub fn new(name: impl Into<Text>, layout: Layout, members: Group) -> Cluster {
        let bootstrap = if members.addressing.is_static() { Bootstrap::Static } else { Bootstrap::Discovery(None) };
        let mut cluster = Cluster::new_const(name.into(), layout, members);
        cluster.bootstrap = bootstrap;
        cluster
    }

    /// [`Cluster::new`] in a `const` context, with a static bootstrap.
    pub const fn new_const(name: Text, layout: Layout, members: Group) -> Cluster {
        Cluster {
            name,
            os: Os::CoreOs,
            production: false,
            layout,
            etcd_release: EtcdRelease::V2,
            bootstrap: Bootstrap::Static,
            members,
            pools: Cow::Borrowed(&[]),
            network: None,
            channel: Channel::Stable,
            ssh_keys: Cow::Borrowed(&[]),
            boot_server: None,
            boot_server_kind: BootServerKind::Files,
            tls: None,
            units: Cow::Borrowed(&[]),
            allows: Cow::Borrowed(&[]),
            host: HostConfig::EMPTY,
            kubernetes: None,
        }
    }

    /// The architecture of the seed guide this cluster follows.
    pub fn architecture(&self) -> Architecture {
        match self.layout {
            Layout::Small => Architecture::Small,
            Layout::DevTest => Architecture::DevTest,
            Layout::CentralServices => {
                let zoned = self.members.spread.as_ref().is_some_and(|s| s.kind == DomainKind::Zone);
                let pxe = self.pools.iter().any(|p| matches!(p.boot, Boot::Pxe { .. }));
                if zoned && pxe { Architecture::LargeScale } else { Architecture::CentralServices }
            }
        }
    }

    /// Whether matchbox installs `group`'s machines to disk: the cluster boots from matchbox and
    /// the group is a fixed one that boots from disk. The rules, the matchbox files and the
    /// networks' boot scripts all ask this.
    pub fn matchbox_installs(&self, group: &Group) -> bool {
        self.boot_server_kind == BootServerKind::Matchbox
            && matches!(group.boot, Boot::Disk)
            && matches!(group.size, Size::Fixed(_))
    }

    /// The channel a group follows: its own, else the cluster's.
    pub fn channel_of(&self, group: &Group) -> Channel {
        group.channel.unwrap_or(self.channel)
    }

    /// The etcd members, in machine order.
    pub fn etcd_members(&self) -> Vec<EtcdMember> {
        let (client_port, peer_port) = self.etcd_release.ports();
        let tls = self.tls.is_some();
        let group = &self.members;
        let count = group.fixed_count().unwrap_or(0);
        (0..count)
            .zip(group.placement(count))
            .map(|(index, domain)| EtcdMember {
                name: group.hostname(index, domain),
                address: group.addressing.address(index),
                client_port,
                peer_port,
                tls,
            })
            .collect()
    }

    /// The network segment of the machines of `group` in its domain `domain`: the domain's own
    /// network when it has one, else the cluster's; `None` when no network is declared. O(domain
    /// networks): for many machines, ask [`Cluster::segments`] once.
    pub fn segment(&self, group: &Group, domain: Option<usize>) -> Option<Segment> {
        self.segments().of(group, domain)
    }

    /// Every machine's network segment, indexed once: O(domain networks) to make, O(1) a look.
    pub fn segments(&self) -> Segments<'_> {
        Segments::new(self.network.as_ref())
    }

    /// Whether the cluster accepts the risk of `rule`.
    pub fn allows(&self, rule: Rule) -> bool {
        rule.allowable() && self.allows.iter().any(|a| a.rule == rule)
    }

    /// Every group: the members first, then the pools in order.
    pub fn groups(&self) -> impl Iterator<Item = (crate::GroupRef, &Group)> {
        std::iter::once((crate::GroupRef::Members, &self.members))
            .chain(self.pools.iter().enumerate().map(|(i, g)| (crate::GroupRef::Pool(i), g)))
    }

    /// The group a reference points at.
    pub fn group(&self, group: crate::GroupRef) -> Option<&Group> {
        match group {
            crate::GroupRef::Members => Some(&self.members),
            crate::GroupRef::Pool(i) => self.pools.get(i),
        }
    }

    /// A cluster that stands in for one that failed to compile; the `cluster!` macro expands to
    /// it beside its errors so that code using the value still type-checks.
    pub const fn placeholder() -> Cluster {
        let members = Group::new_const(Cow::Borrowed("etcd"), Cow::Borrowed("etcd"), Size::Fixed(1));
        Cluster::new_const(Cow::Borrowed("placeholder"), Layout::DevTest, members)
    }
}
