//! The `kubernetes: { … }` settings a cluster declares, and the container a workload unit runs.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::net::Ipv4Net;
use crate::text::{List, Text};

use super::names::is_canonical_number;

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
    /// The prefix of the pod range each node is given (`--node-cidr-mask-size`, rendered
    /// explicitly): a /24, 254 pods a node.
    pub const NODE_CIDR_MASK: u8 = 24;

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

    /// `(minor, patch)` of a `v1.MINOR.PATCH` version written canonically (no leading zeros).
    pub fn minor_patch(&self) -> Option<(u32, u32)> {
        let rest = self.version.strip_prefix("v1.")?;
        let (minor, patch) = rest.split_once('.')?;
        // Canonical only: `v1.036.03` names image tags that do not exist.
        let number = |s: &str| is_canonical_number(s, 4).then(|| s.parse().ok()).flatten();
        Some((number(minor)?, number(patch)?))
    }

    /// How many node ranges of [`Kubernetes::NODE_CIDR_MASK`] the pod range holds: the most
    /// nodes that can have a pod network (0 when the pod range is narrower than one).
    pub fn node_ranges(&self) -> u64 {
        let mask = Kubernetes::NODE_CIDR_MASK;
        if self.pods.prefix > mask { 0 } else { 1u64 << (mask - self.pods.prefix) }
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
