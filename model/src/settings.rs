//! The cluster-wide settings: the operating system, the layout and architecture, the etcd
//! release and bootstrap, TLS, the update channel and reboot strategy.

use std::fmt;

use crate::text::Text;

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

/// What serves the boot files of the machines that boot over the network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum BootServerKind {
    /// Any HTTP server serving the render's directories as they are (`pxe/`, the configs): the
    /// iPXE script of each pool and domain points at its config there.
    #[default]
    Files,
    /// matchbox (`boot_server: matchbox "…"`): the render writes a matchbox data directory
    /// (`matchbox/`: profiles, groups matched by MAC address or by each pool's boot script,
    /// Ignition configs), Flatcar only. Machines of fixed groups are installed to disk by MAC.
    Matchbox,
}

impl BootServerKind {
    /// The word the language uses: none for [`BootServerKind::Files`], `matchbox`.
    pub const fn keyword(self) -> Option<&'static str> {
        match self {
            BootServerKind::Files => None,
            BootServerKind::Matchbox => Some("matchbox"),
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

    /// The channel `update.group` names `name`, if any ([`Channel::as_str`]'s inverse).
    pub fn from_name(name: &str) -> Option<Channel> {
        [Channel::Stable, Channel::Beta, Channel::Alpha, Channel::Lts].into_iter().find(|c| c.as_str() == name)
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

    /// The strategy `reboot-strategy` names `name`, if the language has it
    /// ([`RebootStrategy::as_str`]'s inverse).
    pub fn from_name(name: &str) -> Option<RebootStrategy> {
        [RebootStrategy::EtcdLock, RebootStrategy::Reboot, RebootStrategy::Off].into_iter().find(|r| r.as_str() == name)
    }
}
