//! The types a cluster is made of.

use std::borrow::Cow;

use crate::host::HostConfig;
use std::fmt;
use std::net::Ipv4Addr;

use crate::net::Ipv4Net;
use crate::rule::Rule;
use crate::window::RebootWindow;

/// A string of the model: borrowed from the binary for `cluster!` output, owned when built at run time.
pub type Text = Cow<'static, str>;

/// A list of the model: borrowed for `cluster!` output, owned when built at run time.
pub type List<T> = Cow<'static, [T]>;

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
    pub kubernetes: Option<crate::kubernetes::Kubernetes>,
}

/// The operating system a cluster's machines run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Os {
    /// CoreOS Container Linux, as the architecture guide describes it: cloud-configs, etcd2 and
    /// fleet. End of life since 2020; kept for the guide's clusters and their migration.
    #[default]
    CoreOs,
    /// Flatcar Container Linux, CoreOS's maintained successor: Ignition configs, etcd 3.5 in
    /// `etcd-member.service`, no fleet (unit placement is decided when the cluster is rendered).
    Flatcar,
}

impl Os {
    /// The name the language uses: `coreos` or `flatcar`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Os::CoreOs => "coreos",
            Os::Flatcar => "flatcar",
        }
    }
}

/// The etcd layouts of the seed architecture guide.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Layout {
    /// 3–9 machines with an etcd member on every machine.
    Small,
    /// One etcd node; every other machine reads from it. Never production.
    DevTest,
    /// 3–5 central-services machines run etcd; workers run a proxy.
    CentralServices,
}

impl Layout {
    /// The name the DSL uses for the key that declares this layout's members.
    pub const fn members_key(self) -> &'static str {
        match self {
            Layout::Small => "machines",
            Layout::DevTest => "etcd_node",
            Layout::CentralServices => "central",
        }
    }

    /// The fleet `role` the members publish unless the cluster names another.
    pub const fn default_role(self) -> &'static str {
        match self {
            Layout::Small => "member",
            Layout::DevTest => "etcd",
            Layout::CentralServices => "central",
        }
    }
}

/// The four architectures of the seed guide, as derived from a cluster's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Architecture {
    /// Small cluster: etcd on every machine.
    Small,
    /// Easy development/testing cluster: one etcd node.
    DevTest,
    /// Central services: 3–5 machines run etcd, workers reach it (production or not).
    CentralServices,
    /// Large-scale cluster: central services across availability zones and PXE-booted workers.
    LargeScale,
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Architecture::Small => "small cluster",
            Architecture::DevTest => "dev/test cluster",
            Architecture::CentralServices => "central-services cluster",
            Architecture::LargeScale => "large-scale cluster with central services",
        })
    }
}

/// The etcd release the machines run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum EtcdRelease {
    /// etcd 0.4 (`coreos.etcd`): workers get the members' endpoints in their environment.
    V0_4,
    /// etcd2 (`coreos.etcd2`): workers run a local proxy.
    V2,
}

impl EtcdRelease {
    /// The client and peer ports the release listens on: 2379/2380 for etcd2, 4001/7001 for 0.4.
    pub const fn ports(self) -> (u16, u16) {
        match self {
            EtcdRelease::V2 => (2379, 2380),
            EtcdRelease::V0_4 => (4001, 7001),
        }
    }
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

/// How etcd members find each other on first boot.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Bootstrap {
    /// A static `initial-cluster` list built from the members' addresses.
    Static,
    /// A discovery URL; `None` means the URL is supplied when the cluster is rendered.
    Discovery(Option<Text>),
}

/// The etcd TLS files, at the same paths on every machine (each machine's own certificate).
/// With them, etcd peers and clients use https and certificates on both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Tls {
    /// The CA certificate that signs every member's and client's certificate.
    pub ca: Text,
    /// The machine's certificate, for serving and as a client (serverAuth and clientAuth).
    pub cert: Text,
    /// The certificate's private key.
    pub key: Text,
}

impl Tls {
    /// The directories holding the three files, each once, in `ca`, `cert`, `key` order (`/`
    /// for a file at the root).
    pub fn directories(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for path in [&self.ca, &self.cert, &self.key] {
            let dir = match path.rsplit_once('/') {
                Some(("", _)) => "/",
                Some((dir, _)) => dir,
                None => "",
            };
            if !out.contains(&dir) {
                out.push(dir);
            }
        }
        out
    }

    /// The one directory all three files are in, if they share one (Flatcar's etcd-member
    /// mounts a single directory into its container).
    pub fn directory(&self) -> Option<&str> {
        match self.directories()[..] {
            [one] => Some(one),
            _ => None,
        }
    }
}

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

/// A CoreOS update channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Channel {
    /// The stable channel; production etcd members must use it.
    Stable,
    /// The beta channel.
    Beta,
    /// The alpha channel.
    Alpha,
    /// Flatcar's long-term-support channel.
    Lts,
}

impl Channel {
    /// The channel's name as `update.group` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Channel::Stable => "stable",
            Channel::Beta => "beta",
            Channel::Alpha => "alpha",
            Channel::Lts => "lts",
        }
    }
}

/// The locksmith reboot strategy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum RebootStrategy {
    /// Take a semaphore in etcd before rebooting.
    EtcdLock,
    /// Reboot as soon as an update is staged (inside the reboot window, if any).
    Reboot,
    /// Never reboot for updates.
    Off,
}

impl RebootStrategy {
    /// The strategy as `update.reboot-strategy` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            RebootStrategy::EtcdLock => "etcd-lock",
            RebootStrategy::Reboot => "reboot",
            RebootStrategy::Off => "off",
        }
    }
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

/// Static networking shared by statically addressed machines.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Network {
    /// The subnet every static address lies in.
    pub subnet: Ipv4Net,
    /// The default gateway.
    pub gateway: Option<Ipv4Addr>,
    /// DNS servers.
    pub dns: List<Ipv4Addr>,
    /// The interface the `.network` unit matches.
    pub interface: Text,
    /// Failure domains that are networks of their own (a cloud subnet lives in one availability
    /// zone; a cabinet may have its own VLAN), inside `subnet`.
    #[cfg_attr(feature = "serde", serde(default))]
    pub domains: List<DomainNetwork>,
}

impl Network {
    /// The interface a network's `.network` unit matches unless the declaration names another.
    pub const DEFAULT_INTERFACE: &'static str = "eth0";

    /// `subnet` with the declaration's defaults: no gateway, no DNS servers, the default
    /// interface, no failure-domain networks.
    pub fn new(subnet: Ipv4Net) -> Network {
        Network {
            subnet,
            gateway: None,
            dns: Cow::Borrowed(&[]),
            interface: Cow::Borrowed(Network::DEFAULT_INTERFACE),
            domains: Cow::Borrowed(&[]),
        }
    }
}

/// The network of one failure domain.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct DomainNetwork {
    /// Whether the domain is a cabinet or a zone.
    pub kind: DomainKind,
    /// The domain's name, as groups spread across it name it.
    pub name: Text,
    /// Its subnet.
    pub subnet: Ipv4Net,
    /// Its gateway; `None` uses the cluster's.
    pub gateway: Option<Ipv4Addr>,
}

/// The network segment a machine is on: the subnet its address lies in and the gateway it uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Segment {
    /// The subnet.
    pub subnet: Ipv4Net,
    /// The gateway.
    pub gateway: Option<Ipv4Addr>,
    /// The index of the failure domain's network in [`Network::domains`], or `None` for the
    /// cluster's network.
    pub domain_network: Option<usize>,
}

/// A fleet unit and the `[X-Fleet]` options that place it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Unit {
    /// The unit's name, such as `monitoring.service`.
    pub name: Text,
    /// The unit file's `[Unit]`/`[Service]`/`[Install]` text.
    pub body: UnitBody,
    /// `Global=true`: run on every machine that matches the metadata.
    pub global: bool,
    /// `MachineMetadata=`: every requirement must hold (AND); a requirement holds when the
    /// machine's value is one of its values (OR).
    pub machine_metadata: List<Requirement>,
    /// `Conflicts=` globs.
    pub conflicts: List<Text>,
    /// `MachineOf=`: run where this unit runs.
    pub machine_of: Option<Text>,
    /// `MachineID=`: run on this machine only.
    pub machine_id: Option<Text>,
    /// `Replaces=` globs.
    pub replaces: List<Text>,
    /// How many instances of a template unit to run: `name@1.service` … `name@N.service`. Each
    /// is placed on its own (with the unit's metadata, `conflicts` and `machine_of`). `None`:
    /// one instance on Flatcar; on CoreOS, fleet starts what the operator submits.
    #[cfg_attr(feature = "serde", serde(default))]
    pub instances: Option<u32>,
    /// The container image it runs, and what the container needs beside it: on a cluster that
    /// runs Kubernetes, the unit is then a workload the scheduler places, not a host unit.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub container: Option<crate::kubernetes::Container>,
}

impl Unit {
    /// A unit with this name and body and no placement options.
    pub fn new(name: impl Into<Text>, body: UnitBody) -> Unit {
        Unit {
            name: name.into(),
            body,
            global: false,
            machine_metadata: Cow::Borrowed(&[]),
            conflicts: Cow::Borrowed(&[]),
            machine_of: None,
            machine_id: None,
            replaces: Cow::Borrowed(&[]),
            instances: None,
            container: None,
        }
    }

    /// Whether the unit is a template (`name@.service`).
    pub fn is_template(&self) -> bool {
        self.name.contains("@.")
    }

    /// The names of the units that run: a template's instances `name@1.service` …
    /// `name@N.service` (one unless `instances` says otherwise), or the unit itself.
    pub fn instance_names(&self) -> Vec<String> {
        match self.name.split_once("@.") {
            Some((prefix, suffix)) => {
                (1..=self.instances.unwrap_or(1).max(1)).map(|i| format!("{prefix}@{i}.{suffix}")).collect()
            }
            None => vec![self.name.to_string()],
        }
    }

    /// The instances a CoreOS cluster's members start by name, leaving fleet to place each:
    /// those of a template that declares `instances` (a template without a count is only
    /// submitted). Empty for any other unit.
    pub fn started_instances(&self) -> Vec<String> {
        if self.is_template() && self.instances.is_some() { self.instance_names() } else { Vec::new() }
    }
}

/// Where a unit's text came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum UnitBody {
    /// Text written in the declaration.
    Inline(Text),
    /// Text read from a file; `path` is relative to the declaring crate.
    File {
        /// The path as written.
        path: Text,
        /// The file's contents.
        text: Text,
    },
}

impl UnitBody {
    /// The unit file's text.
    pub fn text(&self) -> &str {
        match self {
            UnitBody::Inline(text) | UnitBody::File { text, .. } => text,
        }
    }
}

/// One key of a `MachineMetadata` requirement: the machine's value of `key` must be one of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Requirement {
    /// The metadata key.
    pub key: Text,
    /// The accepted values.
    pub values: List<Text>,
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
    /// network when it has one, else the cluster's; `None` when no network is declared.
    pub fn segment(&self, group: &Group, domain: Option<usize>) -> Option<Segment> {
        let network = self.network.as_ref()?;
        let own = group.spread.as_ref().zip(domain).and_then(|(spread, d)| {
            let name = &spread.domains.get(d)?.name;
            network.domains.iter().position(|n| n.kind == spread.kind && n.name == *name)
        });
        Some(match own {
            Some(i) => {
                let n = &network.domains[i];
                Segment { subnet: n.subnet, gateway: n.gateway.or(network.gateway), domain_network: Some(i) }
            }
            None => Segment { subnet: network.subnet, gateway: network.gateway, domain_network: None },
        })
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
