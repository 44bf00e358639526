//! Static networking: the cluster's subnet, the failure domains' own, and a machine's segment.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use crate::group::DomainKind;
use crate::net::Ipv4Net;
use crate::text::{List, Text};

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
