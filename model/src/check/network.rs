//! Rules on addresses and hostnames.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use super::pools::is_dns_label;
use super::{Report, plural};
use crate::cluster::{Addressing, Hostnames, Size};
use crate::rule::Rule;
use crate::subject::{GroupPart, GroupRef, NetworkPart, Subject};

pub(super) fn check(r: &mut Report<'_>) {
    gateway_in_subnet(r);
    address_count(r);
    address_in_subnet(r);
    address_unique(r);
    hostnames(r);
}

/// The subject of machine `index`'s address: the listed address, or the range it came from.
fn address_subject(g: GroupRef, addressing: &Addressing, index: u32) -> Subject {
    match addressing {
        Addressing::List(_) => Subject::Group(g, GroupPart::Address(index as usize)),
        _ => Subject::Group(g, GroupPart::Addresses),
    }
}

fn gateway_in_subnet(r: &mut Report<'_>) {
    let Some(net) = &r.cluster.network else {
        return;
    };
    let Some(gateway) = net.gateway else { return };
    if !net.subnet.is_host(gateway) {
        r.push(
            Rule::GatewayInSubnet,
            Subject::Network(NetworkPart::Gateway),
            format!("gateway {gateway} is not a host address of subnet {}, so no machine could reach it", net.subnet),
            format!("use an address between {} and {}, exclusive", net.subnet.network(), net.subnet.broadcast()),
        );
    }
}

fn address_count(r: &mut Report<'_>) {
    let mut pushes = Vec::new();
    for (g, group) in r.cluster.groups() {
        let Some(capacity) = group.addressing.capacity() else {
            continue;
        };
        let at = Subject::Group(g, GroupPart::Addresses);
        match group.size {
            Size::Autoscale { .. } => pushes.push((
                at,
                format!(
                    "`{}` autoscales and shares one cloud-config, so its machines cannot have static addresses",
                    group.name
                ),
                "write `addresses: dhcp` (the default) for autoscaled pools".to_string(),
            )),
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
                pushes.push((
                    at,
                    format!("`{}` has {}, but {what}", group.name, plural(n, "machine", "machines")),
                    format!("provide {n} addresses"),
                ));
            }
            Size::Fixed(n) if capacity > u64::from(n) && matches!(group.addressing, Addressing::List(_)) => {
                pushes.push((
                    Subject::Group(g, GroupPart::Address(n as usize)),
                    format!(
                        "`{}` has {} but lists {}; the extra ones would never be used",
                        group.name,
                        plural(n, "machine", "machines"),
                        plural(capacity, "address", "addresses")
                    ),
                    format!("list exactly {n}, or raise the machine count"),
                ));
            }
            Size::Fixed(_) => {}
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::AddressCount, subject, message, help);
    }
}

fn address_in_subnet(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut pushes = Vec::new();
    for (g, group) in c.groups() {
        if !group.addressing.is_static() {
            continue;
        }
        let Some(net) = &c.network else {
            pushes.push((
                Subject::Group(g, GroupPart::Addresses),
                format!("`{}` has static addresses, but the cluster declares no subnet for them", group.name),
                "add `network: { subnet: \"10.0.0.0/24\", gateway: \"10.0.0.1\", dns: [\"10.0.0.1\"] }`".to_string(),
            ));
            continue;
        };
        let subnet = net.subnet;
        let outside = |a: Ipv4Addr| !subnet.is_host(a);
        let why = |a: Ipv4Addr| {
            if subnet.contains(a) {
                format!("{a} is the network or broadcast address of {subnet}")
            } else {
                format!("{a} is outside subnet {subnet}")
            }
        };
        match &group.addressing {
            Addressing::Dhcp => {}
            Addressing::Range { first, last } => {
                if let Some(a) = [*first, *last].into_iter().find(|a| outside(*a)) {
                    pushes.push((
                        Subject::Group(g, GroupPart::Addresses),
                        format!("the address range of `{}` leaves the subnet: {}", group.name, why(a)),
                        format!("keep the range between {} and {}, exclusive", subnet.network(), subnet.broadcast()),
                    ));
                }
            }
            Addressing::List(list) => {
                for (i, a) in list.iter().enumerate() {
                    if outside(*a) {
                        pushes.push((
                            Subject::Group(g, GroupPart::Address(i)),
                            format!("{}, so the machine could not reach its neighbours", why(*a)),
                            format!(
                                "use an address between {} and {}, exclusive",
                                subnet.network(),
                                subnet.broadcast()
                            ),
                        ));
                    }
                }
            }
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::AddressInSubnet, subject, message, help);
    }
}

fn address_unique(r: &mut Report<'_>) {
    let c = r.cluster;
    let gateway = c.network.as_ref().and_then(|n| n.gateway);
    let mut owners: HashMap<Ipv4Addr, String> = HashMap::new();
    let mut pushes = Vec::new();
    for placed in c.placed_groups() {
        for m in &placed.machines {
            let Some(address) = m.address else { continue };
            let subject = address_subject(m.group, &placed.group.addressing, m.index);
            if Some(address) == gateway {
                pushes.push((
                    subject,
                    format!("{} would take address {address}, which is the gateway's", m.hostname),
                    "give the machine another address, or move the gateway".to_string(),
                ));
            } else if let Some(owner) = owners.get(&address) {
                pushes.push((
                    subject,
                    format!("{} and {owner} would both take address {address}", m.hostname),
                    "give every machine its own address; check ranges that overlap".to_string(),
                ));
            } else {
                owners.insert(address, m.hostname.clone());
            }
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::AddressUnique, subject, message, help);
    }
}

fn hostnames(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut owners: HashMap<String, GroupRef> = HashMap::new();
    let mut invalid = Vec::new();
    let mut duplicate = Vec::new();
    let mut names_seen: Vec<&str> = Vec::new();
    for placed in c.placed_groups() {
        let g = placed.group_ref;
        let name = &*placed.group.name;
        // Default hostnames come from the group's name; `pool_name` reports a bad or reused one.
        let named_badly = !is_dns_label(name) || names_seen.contains(&name);
        names_seen.push(name);
        if named_badly && placed.group.hostnames == Hostnames::Default {
            continue;
        }
        for m in &placed.machines {
            let subject = match &placed.group.hostnames {
                Hostnames::Default => Subject::Group(g, GroupPart::Name),
                Hostnames::Pattern(_) => Subject::Group(g, GroupPart::Hostnames),
                Hostnames::List(list) if (m.index as usize) < list.len() => {
                    Subject::Group(g, GroupPart::Hostname(m.index as usize))
                }
                Hostnames::List(_) => Subject::Group(g, GroupPart::Hostnames),
            };
            if !is_dns_label(&m.hostname) {
                invalid.push((
                    subject,
                    format!(
                        "hostname `{}` is not a valid DNS label: it must be 1 to 63 letters, digits and hyphens, \
                         and not start or end with a hyphen",
                        m.hostname
                    ),
                    match &placed.group.hostnames {
                        Hostnames::Pattern(_) => {
                            "use only letters, digits, hyphens and the placeholders {n}, {group}, {role} and {domain}"
                                .to_string()
                        }
                        _ => "rename the machine, e.g. `central-1`".to_string(),
                    },
                ));
            } else if let Some(_owner) = owners.get(&m.hostname) {
                duplicate.push((
                    subject,
                    format!("two machines would be named `{}`", m.hostname),
                    match &placed.group.hostnames {
                        Hostnames::Pattern(_) => "put `{n}` in the hostname pattern so each machine gets its own name",
                        _ => "give every machine its own hostname",
                    }
                    .to_string(),
                ));
            } else {
                owners.insert(m.hostname.clone(), g);
            }
        }
        if let Hostnames::List(list) = &placed.group.hostnames
            && let Size::Fixed(n) = placed.group.size
            && list.len() != n as usize
        {
            invalid.push((
                Subject::Group(g, GroupPart::Hostnames),
                format!(
                    "`{}` has {} but lists {}",
                    placed.group.name,
                    plural(n, "machine", "machines"),
                    plural(list.len() as u64, "hostname", "hostnames")
                ),
                format!("list exactly {n} hostnames, or use a pattern such as \"{}-{{n}}\"", placed.group.name),
            ));
        }
    }
    for (subject, message, help) in invalid {
        r.push(Rule::HostnameValid, subject, message, help);
    }
    for (subject, message, help) in duplicate {
        r.push(Rule::HostnameUnique, subject, message, help);
    }
}
