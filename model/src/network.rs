//! Static networking: the cluster's subnet, the failure domains' own, and a machine's segment.

use std::borrow::Cow;
use std::collections::HashMap;
use std::net::Ipv4Addr;

use crate::group::{DomainKind, Group};
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

/// Each machine's network segment, looked up in O(1): the failure-domain networks indexed by
/// kind and name once (O(domain networks)), so placing M machines on D domain networks costs
/// O(M + D), not O(M × D). [`crate::Cluster::segments`] makes one.
#[derive(Clone, Debug)]
pub struct Segments<'a> {
    network: Option<&'a Network>,
    /// (kind, name) → the first domain network declared for it.
    index: HashMap<(DomainKind, &'a str), usize>,
}

impl<'a> Segments<'a> {
    /// The segments of `network` (none: no network is declared).
    pub fn new(network: Option<&'a Network>) -> Segments<'a> {
        let mut index = HashMap::new();
        for (i, d) in network.map_or(&[][..], |n| &n.domains[..]).iter().enumerate() {
            index.entry((d.kind, &*d.name)).or_insert(i);
        }
        Segments { network, index }
    }

    /// The network segment of the machines of `group` in its domain `domain`: the domain's own
    /// network when it has one, else the cluster's; `None` when no network is declared.
    pub fn of(&self, group: &Group, domain: Option<usize>) -> Option<Segment> {
        let network = self.network?;
        let own = group.spread.as_ref().zip(domain).and_then(|(spread, d)| {
            let name = &spread.domains.get(d)?.name;
            self.index.get(&(spread.kind, &**name)).copied()
        });
        Some(match own {
            Some(i) => {
                let n = &network.domains[i];
                Segment { subnet: n.subnet, gateway: n.gateway.or(network.gateway), domain_network: Some(i) }
            }
            None => Segment { subnet: network.subnet, gateway: network.gateway, domain_network: None },
        })
    }
}
