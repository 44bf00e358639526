//! Rules on addresses and hostnames.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::Ipv4Addr;

use super::pools::is_dns_label;
use super::{Report, join, plural};
use crate::group::{Addressing, DomainKind, Hostnames, Size};
use crate::group_ref::GroupRef;
use crate::net::Ipv4Net;
use crate::rule::Rule;
use crate::subject::{GroupPart, NetworkPart, Subject};
use crate::suggest::closest;

/// Runs the rules on networks, addresses and hostnames.
pub(super) fn check(r: &mut Report<'_>) {
    domain_network(r);
    gateway_in_subnet(r);
    address_count(r);
    address_in_subnet(r);
    address_unique(r);
    hostname_valid(r);
    hostname_unique(r);
}

/// The subject of machine `index`'s address: the listed address, or the range it came from.
fn address_subject(g: GroupRef, addressing: &Addressing, index: u32) -> Subject {
    match addressing {
        Addressing::List(_) => Subject::Group(g, GroupPart::Address(index as usize)),
        _ => Subject::Group(g, GroupPart::Addresses),
    }
}

/// `gateway_in_subnet`: the cluster's gateway, and each failure domain's, is a host address of
/// its subnet, so the machines can reach it.
fn gateway_in_subnet(r: &mut Report<'_>) {
    let Some(net) = &r.cluster.network else {
        return;
    };
    let outside = |gateway: Ipv4Addr, subnet: Ipv4Net| {
        (!subnet.is_host(gateway)).then(|| {
            (
                format!("gateway {gateway} is not a host address of subnet {subnet}, so no machine could reach it"),
                format!("use an address between {} and {}, exclusive", subnet.network(), subnet.broadcast()),
            )
        })
    };
    if let Some((message, help)) = net.gateway.and_then(|g| outside(g, net.subnet)) {
        r.push(Rule::GatewayInSubnet, Subject::Network(NetworkPart::Gateway), message, help);
    }
    for (i, domain) in net.domains.iter().enumerate() {
        if let Some((message, help)) = domain.gateway.and_then(|g| outside(g, domain.subnet)) {
            r.push(Rule::GatewayInSubnet, Subject::Network(NetworkPart::DomainGateway(i)), message, help);
        }
    }
}

/// `domain_network`: each failure domain network names a domain some group is spread across,
/// lies inside the cluster's subnet, is declared once, and shares no address with another: a
/// machine's network follows from its domain, so two domains cannot be one network.
fn domain_network(r: &mut Report<'_>) {
    let c = r.cluster;
    let Some(net) = &c.network else {
        return;
    };
    // The domains groups are spread across, gathered once (sorted, once each per kind); D
    // domain networks then cost O(D log D), and "did you mean" is looked for in the first
    // SUGGESTED misses only, since each compares with every name.
    const SUGGESTED: usize = 32;
    let mut spread_names: HashMap<DomainKind, Vec<&str>> = HashMap::new();
    for s in c.groups().filter_map(|(_, g)| g.spread.as_ref()) {
        spread_names.entry(s.kind).or_default().extend(s.domains.iter().map(|d| &*d.name));
    }
    for names in spread_names.values_mut() {
        names.sort_unstable();
        names.dedup();
    }
    let mut suggestions_left = SUGGESTED;
    let mut declared: HashSet<(DomainKind, &str)> = HashSet::new();
    let mut earlier = EarlierSubnets::default();
    for (i, domain) in net.domains.iter().enumerate() {
        let (kind, kinds) = (domain.kind.key(), domain.kind.plural());
        let names: &[&str] = spread_names.get(&domain.kind).map_or(&[], Vec::as_slice);
        if names.binary_search(&&*domain.name).is_err() {
            let suggestion = if suggestions_left > 0 {
                suggestions_left -= 1;
                closest(&domain.name, names.iter().copied())
            } else {
                None
            };
            let hint = match suggestion {
                Some(s) => format!("did you mean `{s}`?"),
                None if names.is_empty() => format!(
                    "no group is spread across {kinds}; remove the network or spread a group with `across {kinds} [...]`"
                ),
                None => format!("the {kinds} groups are spread across are {}", join(names)),
            };
            r.push(
                Rule::DomainNetwork,
                Subject::Network(NetworkPart::Domain(i)),
                format!("the network of {kind} `{}` belongs to no {kind} a group is spread across", domain.name),
                hint,
            );
        }
        let overlapping = earlier.overlapping(domain.subnet);
        earlier.insert(domain.subnet, i);
        if !declared.insert((domain.kind, &*domain.name)) {
            r.push(
                Rule::DomainNetwork,
                Subject::Network(NetworkPart::Domain(i)),
                format!("{kind} `{}` is given a network twice", domain.name),
                format!("declare each {kind}'s network once"),
            );
        } else if !(net.subnet.contains(domain.subnet.network()) && net.subnet.contains(domain.subnet.broadcast())) {
            r.push(
                Rule::DomainNetwork,
                Subject::Network(NetworkPart::DomainSubnet(i)),
                format!(
                    "the subnet {} of {kind} `{}` is not inside the cluster's subnet {}",
                    domain.subnet, domain.name, net.subnet
                ),
                format!("carve the {kinds}' subnets out of {}, or widen it", net.subnet),
            );
        } else if let Some(other) = overlapping.map(|o| &net.domains[o]) {
            r.push(
                Rule::DomainNetwork,
                Subject::Network(NetworkPart::DomainSubnet(i)),
                format!(
                    "the subnets of {kind} `{}` ({}) and {} `{}` ({}) overlap, so the two would be one network",
                    domain.name,
                    domain.subnet,
                    other.kind.key(),
                    other.name,
                    other.subnet
                ),
                format!("give each {kind} a subnet of its own"),
            );
        }
    }
}

/// Subnets seen so far, to find one a new subnet shares an address with in O(log n): two CIDR
/// blocks that overlap are nested, so an earlier one either contains the new one (one of its
/// 33 supernets, looked up exactly) or lies inside it (starts within its range).
#[derive(Default)]
struct EarlierSubnets {
    /// (network, prefix) → the first domain with that block.
    blocks: HashMap<(u32, u8), usize>,
    /// network → the first domain whose block starts there.
    starts: BTreeMap<u32, usize>,
}

impl EarlierSubnets {
    fn insert(&mut self, subnet: Ipv4Net, index: usize) {
        let start = u32::from(subnet.network());
        self.blocks.entry((start, subnet.prefix.min(32))).or_insert(index);
        self.starts.entry(start).or_insert(index);
    }

    /// The first-declared earlier domain whose block contains `subnet`, else the one starting
    /// lowest inside it.
    fn overlapping(&self, subnet: Ipv4Net) -> Option<usize> {
        let containing = (0..=subnet.prefix.min(32))
            .filter_map(|p| self.blocks.get(&(u32::from(Ipv4Net::new(subnet.addr, p).network()), p)).copied())
            .min();
        let (start, end) = (u32::from(subnet.network()), u32::from(subnet.broadcast()));
        containing.or_else(|| self.starts.range(start..=end).next().map(|(_, &i)| i))
    }
}

/// `address_count`: static addressing provides exactly one address per machine, and autoscaled
/// pools (one shared config) have none.
fn address_count(r: &mut Report<'_>) {
    for (g, group) in r.cluster.groups() {
        let Some(capacity) = group.addressing.capacity() else {
            continue;
        };
        let at = Subject::Group(g, GroupPart::Addresses);
        match group.size {
            Size::Autoscale { .. } => r.push(
                Rule::AddressCount,
                at,
                format!(
                    "`{}` autoscales and shares one cloud-config, so its machines cannot have static addresses",
                    group.name
                ),
                "write `addresses: dhcp` (the default) for autoscaled pools".to_string(),
            ),
            Size::Fixed(n) if capacity < u64::from(n) => {
                let what = match &group.addressing {
                    Addressing::Range { first, last } if u32::from(*first) > u32::from(*last) => {
                        format!("the range {first}..{last} runs backwards and holds no address")
                    }
                    Addressing::Range { first, last } => {
                        format!("the range {first}..{last} holds {}", plural(capacity, "address", "addresses"))
                    }
                    _ => format!("{} are listed", plural(capacity, "address", "addresses")),
                };
                r.push(
                    Rule::AddressCount,
                    at,
                    format!("`{}` has {}, but {what}", group.name, plural(n, "machine", "machines")),
                    format!("provide {n} addresses"),
                );
            }
            Size::Fixed(n) if capacity > u64::from(n) && matches!(group.addressing, Addressing::List(_)) => {
                r.push(
                    Rule::AddressCount,
                    Subject::Group(g, GroupPart::Address(n as usize)),
                    format!(
                        "`{}` has {} but lists {}; the extra ones would never be used",
                        group.name,
                        plural(n, "machine", "machines"),
                        plural(capacity, "address", "addresses")
                    ),
                    format!("list exactly {n}, or raise the machine count"),
                );
            }
            Size::Fixed(_) => {}
        }
    }
}

/// `address_in_subnet`: each static address is a host address of the machine's own segment: its
/// failure domain's network when the domain has one, else the cluster's subnet.
fn address_in_subnet(r: &mut Report<'_>) {
    let c = r.cluster;
    let segments = c.segments();
    for placed in c.placed_groups() {
        let (g, group) = (placed.group_ref, placed.group);
        if !group.addressing.is_static() {
            continue;
        }
        if c.network.is_none() {
            r.push(
                Rule::AddressInSubnet,
                Subject::Group(g, GroupPart::Addresses),
                format!("`{}` has static addresses, but the cluster declares no subnet for them", group.name),
                "add `network: { subnet: \"10.0.0.0/24\", gateway: \"10.0.0.1\", dns: [\"10.0.0.1\"] }`".to_string(),
            );
            continue;
        }
        for m in &placed.machines {
            let (Some(a), Some(segment)) = (m.address, segments.of(group, m.domain)) else { continue };
            let subnet = segment.subnet;
            if subnet.is_host(a) {
                continue;
            }
            let why = if subnet.contains(a) {
                format!("{a} is the network or broadcast address of {subnet}")
            } else {
                format!("{a} is outside subnet {subnet}")
            };
            // Whose subnet it is, when the machine's domain has a network of its own.
            let whose = segment.domain_network.and_then(|_| {
                let spread = group.spread.as_ref()?;
                Some(format!(", the network of {} {}", spread.kind.key(), spread.domains.get(m.domain?)?.name))
            });
            let help = format!("use an address between {} and {}, exclusive", subnet.network(), subnet.broadcast());
            let message = match (&group.addressing, whose) {
                (Addressing::Range { .. }, None) => {
                    format!("the address range of `{}` leaves the subnet: {why}", group.name)
                }
                (_, None) => format!("{why}, so the machine could not reach its neighbours"),
                (_, Some(whose)) => {
                    format!("{} would take {a}, but {why}{whose}, so it could not reach its neighbours", m.hostname)
                }
            };
            r.push(Rule::AddressInSubnet, address_subject(g, &group.addressing, m.index), message, help);
        }
    }
}

/// `address_unique`: no two machines take one address, and none takes the gateway's.
fn address_unique(r: &mut Report<'_>) {
    let c = r.cluster;
    let gateway = c.network.as_ref().and_then(|n| n.gateway);
    let mut owners: HashMap<Ipv4Addr, String> = HashMap::new();
    for placed in c.placed_groups() {
        for m in &placed.machines {
            let Some(address) = m.address else { continue };
            let subject = address_subject(m.group, &placed.group.addressing, m.index);
            if Some(address) == gateway {
                r.push(
                    Rule::AddressUnique,
                    subject,
                    format!("{} would take address {address}, which is the gateway's", m.hostname),
                    "give the machine another address, or move the gateway".to_string(),
                );
            } else if let Some(owner) = owners.get(&address) {
                r.push(
                    Rule::AddressUnique,
                    subject,
                    format!("{} and {owner} would both take address {address}", m.hostname),
                    "give every machine its own address; check ranges that overlap".to_string(),
                );
            } else {
                owners.insert(address, m.hostname.clone());
            }
        }
    }
}

/// The groups whose hostnames the hostname rules judge, with their machines placed. Default
/// hostnames come from the group's name, so a group with a bad or reused name is left to
/// `pool_name`, which reports the name once rather than every machine.
fn named_groups(c: &crate::Cluster) -> Vec<crate::PlacedGroup<'_>> {
    let mut names_seen: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    for placed in c.placed_groups() {
        let name = &*placed.group.name;
        let named_badly = !is_dns_label(name) || !names_seen.insert(name);
        if !(named_badly && placed.group.hostnames == Hostnames::Default) {
            out.push(placed);
        }
    }
    out
}

/// Where machine `index`'s hostname was declared: the listed name, else the pattern or the list,
/// else the group's name (the default `{group}-{n}`).
fn hostname_subject(g: GroupRef, hostnames: &Hostnames, index: u32) -> Subject {
    match hostnames {
        Hostnames::Default => Subject::Group(g, GroupPart::Name),
        Hostnames::List(list) if (index as usize) < list.len() => {
            Subject::Group(g, GroupPart::Hostname(index as usize))
        }
        Hostnames::Pattern(_) | Hostnames::List(_) => Subject::Group(g, GroupPart::Hostnames),
    }
}

/// `hostname_valid`: every machine's hostname, as the pattern or list expands it, is a DNS label
/// (it names the machine, its cloud-config file and its etcd member), in lower case where the
/// machine is a Kubernetes node, and a hostname list has one name per machine.
fn hostname_valid(r: &mut Report<'_>) {
    let kubernetes = r.cluster.kubernetes.is_some();
    for placed in named_groups(r.cluster) {
        let (g, group) = (placed.group_ref, placed.group);
        if kubernetes {
            capitals_in_node_names(r, g, &group.hostnames, &placed.machines);
        }
        for m in placed.machines.iter().filter(|m| !is_dns_label(&m.hostname)) {
            r.push(
                Rule::HostnameValid,
                hostname_subject(g, &group.hostnames, m.index),
                format!(
                    "hostname `{}` is not a valid DNS label: it must be 1 to 63 letters, digits and hyphens, \
                     and not start or end with a hyphen",
                    m.hostname
                ),
                match &group.hostnames {
                    Hostnames::Pattern(_) => {
                        "use only letters, digits, hyphens and the placeholders {n}, {group}, {role} and {domain}"
                    }
                    _ => "rename the machine, e.g. `central-1`",
                },
            );
        }
        if let Hostnames::List(list) = &group.hostnames
            && let Size::Fixed(n) = group.size
            && list.len() != n as usize
        {
            r.push(
                Rule::HostnameValid,
                Subject::Group(g, GroupPart::Hostnames),
                format!(
                    "`{}` has {} but lists {}",
                    group.name,
                    plural(n, "machine", "machines"),
                    plural(list.len() as u64, "hostname", "hostnames")
                ),
                format!("list exactly {n} hostnames, or use a pattern such as \"{}-{{n}}\"", group.name),
            );
        }
    }
}

/// A Kubernetes node is named by its kubelet, which lower-cases the hostname: a machine named
/// `Central-1` registers as node `central-1`, so every node name the plan gives and every
/// command it prints (`kubectl drain Central-1`) would name no node. Refused once per pattern
/// (or default name), once per listed name.
fn capitals_in_node_names(
    r: &mut Report<'_>,
    g: GroupRef,
    hostnames: &Hostnames,
    machines: &[crate::machines::Machine],
) {
    let capitalised =
        machines.iter().filter(|m| is_dns_label(&m.hostname) && m.hostname.bytes().any(|b| b.is_ascii_uppercase()));
    let once_per_name = matches!(hostnames, Hostnames::List(_));
    for m in capitalised.take(if once_per_name { usize::MAX } else { 1 }) {
        let lower = m.hostname.to_ascii_lowercase();
        r.push(
            Rule::HostnameValid,
            hostname_subject(g, hostnames, m.index),
            format!(
                "hostname `{}` has capitals, but its kubelet registers the node as `{lower}`: the plan's node \
                 names and the commands it prints (`kubectl drain {}`) would name no node",
                m.hostname, m.hostname
            ),
            match hostnames {
                Hostnames::Pattern(_) => "write the hostname pattern in lower case".to_string(),
                Hostnames::Default => {
                    "name the group in lower case, or give it a lower-case `hostnames` pattern".to_string()
                }
                Hostnames::List(_) => format!("rename the machine `{lower}`"),
            },
        );
    }
}

/// `hostname_unique`: no two machines, in any groups, get one hostname; the second is reported,
/// on the pattern when a pattern without `{n}` made them alike. Invalid hostnames are
/// `hostname_valid`'s and are not counted.
fn hostname_unique(r: &mut Report<'_>) {
    // Keyed in lower case: DNS, a Kubernetes node's name and a case-insensitive file system
    // (where the machines' files may be copied) all take `web-1` and `WEB-1` for one name.
    let mut taken: HashMap<String, String> = HashMap::new();
    for placed in named_groups(r.cluster) {
        let (g, group) = (placed.group_ref, placed.group);
        for m in placed.machines.iter().filter(|m| is_dns_label(&m.hostname)) {
            if let Some(first) = taken.get(&m.hostname.to_ascii_lowercase()) {
                let alike = if *first == m.hostname {
                    String::new()
                } else {
                    format!(" (and `{first}`, the same name in DNS)")
                };
                r.push(
                    Rule::HostnameUnique,
                    hostname_subject(g, &group.hostnames, m.index),
                    format!("two machines would be named `{}`{alike}", m.hostname),
                    match &group.hostnames {
                        Hostnames::Pattern(_) => "put `{n}` in the hostname pattern so each machine gets its own name",
                        _ => "give every machine its own hostname",
                    },
                );
            } else {
                taken.insert(m.hostname.to_ascii_lowercase(), m.hostname.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::EarlierSubnets;
    use crate::net::Ipv4Net;

    fn net(text: &str) -> Ipv4Net {
        text.parse().expect("a subnet")
    }

    #[test]
    fn an_earlier_subnet_is_found_whether_it_holds_the_new_one_or_lies_inside_it() {
        let mut earlier = EarlierSubnets::default();
        for (i, s) in ["10.1.0.0/16", "10.2.3.0/24", "10.3.0.0/24"].into_iter().enumerate() {
            earlier.insert(net(s), i);
        }
        assert_eq!(earlier.overlapping(net("10.1.7.0/24")), Some(0), "inside an earlier one");
        assert_eq!(earlier.overlapping(net("10.2.0.0/16")), Some(1), "holding an earlier one");
        assert_eq!(earlier.overlapping(net("10.3.0.9/24")), Some(2), "the same block, host bits set");
        assert_eq!(earlier.overlapping(net("0.0.0.0/0")), Some(0), "everything holds all of them");
        assert_eq!(earlier.overlapping(net("10.4.0.0/24")), None);
        assert_eq!(earlier.overlapping(net("10.2.4.0/24")), None, "a neighbour, not an overlap");
        assert_eq!(earlier.overlapping(net("10.0.255.255/32")), None, "just below 10.1.0.0/16");
    }
}
