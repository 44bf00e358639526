//! Rules on the shape of groups: spreads, autoscaling, PXE boot and pool names.

use std::collections::{HashMap, HashSet};

use super::{Report, join, plural};
use crate::MAX_FIXED_MACHINES;
use crate::group::{Addressing, Boot, Size};
use crate::group_ref::GroupRef;
use crate::net::Ipv4Net;
use crate::rule::Rule;
use crate::subject::{GroupPart, Subject};

/// Runs the rules on the shape of groups (except `cluster_size`, which runs first of all).
pub(super) fn check(r: &mut Report<'_>) {
    domain_spread(r);
    autoscale_bounds(r);
    pxe_boot(r);
    pxe_boot_network(r);
    machine_inventory(r);
    pool_name(r);
}

/// `cluster_size`: every machine of a fixed group gets its own config and is checked one by one,
/// and every instance of a template is named, placed and listed one by one, so these counts are
/// what bounds the work (everything else a declaration lists is bounded by its text). Past
/// [`MAX_FIXED_MACHINES`] machines, or as many instances in all, the declaration is refused
/// before anything is expanded: no CoreOS, fleet or etcd deployment of that size runs from one
/// declaration, and a pool that large is an autoscaled one, whose machines share a config.
/// O(groups + units).
pub(super) fn cluster_size(r: &mut Report<'_>) {
    let c = r.cluster;
    let groups = c.groups().filter_map(|(g, group)| match group.size {
        Size::Fixed(n) => Some(((g, group), n)),
        Size::Autoscale { .. } => None,
    });
    for ((g, group), n, fault) in over_the_limit(groups) {
        let whole = match fault {
            Fault::Alone => format!("`{}` declares {n} machines", group.name),
            Fault::Total(total) => format!("with the {n} machines of `{}`, the cluster declares {total}", group.name),
        };
        let help = match g {
            GroupRef::Members => {
                "an etcd cluster has 1 to 9 members; declare the other machines as an autoscaled worker pool, \
                                  `workers: autoscale`"
                    .to_string()
            }
            GroupRef::Pool(_) => {
                format!("autoscale a large pool instead, `autoscale ..{n}`: its machines share one config per domain")
            }
        };
        r.push(Rule::ClusterSize,
            Subject::Group(g, GroupPart::Size),
            format!(
                "{whole}, beyond the {MAX_FIXED_MACHINES} machines a cluster may list one by one: each gets a config of \
                 its own, and no CoreOS, fleet or etcd deployment of that size runs from one declaration"
            ),
            help,
        );
    }
    let templates = c
        .units
        .iter()
        .enumerate()
        .filter_map(|(u, unit)| unit.instances.filter(|_| unit.is_template()).map(|n| ((u, unit), n)));
    for ((u, unit), n, fault) in over_the_limit(templates) {
        let whole = match fault {
            Fault::Alone => format!("`{}` declares {n} instances", unit.name),
            Fault::Total(total) => format!("with the {n} instances of `{}`, the cluster declares {total}", unit.name),
        };
        r.push(
            Rule::ClusterSize,
            Subject::Unit(u, crate::subject::UnitPart::Instances),
            format!(
                "{whole}, beyond the {MAX_FIXED_MACHINES} instances a cluster may declare: each is named, placed and \
                 listed one by one"
            ),
            "make the unit `global` to run one copy on every machine that matches, or lower `instances`".to_string(),
        );
    }
}

/// Why a count is at fault in `cluster_size`.
enum Fault {
    /// It is over the limit on its own.
    Alone,
    /// It takes the total of the others over the limit, to this total.
    Total(u64),
}

/// The counts at fault against [`MAX_FIXED_MACHINES`]: each one too large on its own, and the
/// one that takes the total of the others over (once). O(counts).
fn over_the_limit<T>(counts: impl Iterator<Item = (T, u32)>) -> Vec<(T, u32, Fault)> {
    let mut total: u64 = 0;
    let mut out = Vec::new();
    for (item, n) in counts {
        if u64::from(n) > MAX_FIXED_MACHINES {
            out.push((item, n, Fault::Alone));
            continue;
        }
        let before = total;
        total += u64::from(n);
        if before <= MAX_FIXED_MACHINES && total > MAX_FIXED_MACHINES {
            out.push((item, n, Fault::Total(total)));
        }
    }
    out
}

/// `domain_spread`: a spread's domains are distinct and hold machines, and explicit counts are
/// given for all or none and add up to the group's size (never on an autoscaled group).
fn domain_spread(r: &mut Report<'_>) {
    for (g, group) in r.cluster.groups() {
        let Some(spread) = &group.spread else {
            continue;
        };
        let (kind, kinds) = (spread.kind.key(), spread.kind.plural());
        let at = |part| Subject::Group(g, part);
        if spread.domains.is_empty() {
            r.push(
                Rule::DomainSpread,
                at(GroupPart::Spread),
                format!("`across {kinds} []` names no {kind}"),
                format!("list the {kinds}, e.g. `across {kinds} [a, b, c]`, or drop `across`"),
            );
            continue;
        }
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, domain) in spread.domains.iter().enumerate() {
            if !seen.insert(&*domain.name) {
                r.push(
                    Rule::DomainSpread,
                    at(GroupPart::Domain(i)),
                    format!("{kind} `{}` is listed twice, so it would hold the share of two {kinds}", domain.name),
                    format!("list each {kind} once"),
                );
            }
        }
        let explicit = spread.domains.iter().filter(|d| d.count.is_some()).count();
        if explicit > 0 && explicit < spread.domains.len() {
            for (i, domain) in spread.domains.iter().enumerate() {
                if domain.count.is_none() {
                    r.push(Rule::DomainSpread,
                        at(GroupPart::Domain(i)),
                        format!("{kind} `{}` has no machine count while other {kinds} have one", domain.name),
                        format!("give every {kind} a count, e.g. `{}: 1`, or give none and let machines be dealt out in turn", domain.name),
                    );
                }
            }
            continue;
        }
        match group.size {
            Size::Fixed(n) => {
                if explicit > 0 {
                    let sum: u64 = spread.domains.iter().map(|d| u64::from(d.count.unwrap_or(0))).sum();
                    if sum != u64::from(n) {
                        r.push(
                            Rule::DomainSpread,
                            at(GroupPart::Spread),
                            format!(
                                "the {kind} counts add up to {sum}, but `{}` has {}",
                                group.name,
                                plural(n, "machine", "machines")
                            ),
                            format!("make the counts add up to {n}"),
                        );
                        continue;
                    }
                }
                let counts = group.domain_counts(n);
                let empty: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] == 0).collect();
                for i in empty {
                    let name = &spread.domains[i].name;
                    let subject = if explicit > 0 { GroupPart::DomainCount(i) } else { GroupPart::Domain(i) };
                    r.push(
                        Rule::DomainSpread,
                        at(subject),
                        format!(
                            "{kind} `{name}` holds none of the {} of `{}`, so it protects nothing",
                            plural(n, "machine", "machines"),
                            group.name
                        ),
                        format!("remove `{name}` from the {kinds}, or add machines"),
                    );
                }
            }
            Size::Autoscale { .. } if explicit > 0 => {
                r.push(
                    Rule::DomainSpread,
                    at(GroupPart::Spread),
                    format!("`{}` autoscales, so its machines cannot be counted per {kind}", group.name),
                    format!("drop the counts: an autoscaled group is dealt across its {kinds} in turn"),
                );
            }
            Size::Autoscale { .. } => {}
        }
    }
}

/// `autoscale_bounds`: an autoscale minimum is at most its maximum, and the maximum is above 0.
fn autoscale_bounds(r: &mut Report<'_>) {
    for (g, group) in r.cluster.groups() {
        if let Size::Autoscale { min, max } = group.size {
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                r.push(
                    Rule::AutoscaleBounds,
                    Subject::Group(g, GroupPart::Min),
                    format!("`{}` autoscales from {min} to {max}, but the minimum is above the maximum", group.name),
                    format!("write `autoscale {max}..{min}`"),
                );
            }
            if max == Some(0) {
                r.push(
                    Rule::AutoscaleBounds,
                    Subject::Group(g, GroupPart::Max),
                    format!("`{}` autoscales to at most 0 machines, so it never runs anything", group.name),
                    "raise the maximum, or remove the pool".to_string(),
                );
            }
        }
    }
}

/// `pxe_boot`: PXE machines can find their config: etcd members never PXE-boot (RAM loses their
/// data), PXE pools take their address from DHCP, and each has a plain-http boot server.
fn pxe_boot(r: &mut Report<'_>) {
    let c = r.cluster;
    if let Boot::Pxe { .. } = c.members.boot {
        r.push(
            Rule::PxeBoot,
            Subject::Group(GroupRef::Members, GroupPart::Boot),
            "etcd members cannot PXE-boot: a PXE machine runs from RAM, so every reboot wipes the member's data \
             and it rejoins as a stranger",
            "boot the members from disk, and PXE-boot a worker pool instead",
        );
    }
    for (i, pool) in c.pools.iter().enumerate() {
        let Boot::Pxe { url } = &pool.boot else {
            continue;
        };
        let g = GroupRef::Pool(i);
        if !matches!(pool.addressing, Addressing::Dhcp) {
            r.push(
                Rule::PxeBoot,
                Subject::Group(g, GroupPart::Addresses),
                format!(
                    "PXE pool `{}` has static addresses, but PXE machines get their address from DHCP before \
                     they can read any config",
                    pool.name
                ),
                "remove `addresses:` from the pool (or write `addresses: dhcp`)".to_string(),
            );
        }
        let (subject, url) = match url {
            Some(url) => (Subject::Group(g, GroupPart::Boot), Some(url)),
            None => (Subject::BootServer, c.boot_server.as_ref()),
        };
        match url {
            None => r.push(
                Rule::PxeBoot,
                Subject::Group(g, GroupPart::Boot),
                format!(
                    "PXE pool `{}` has no boot server: its kernel line needs `cloud-config-url=` pointing at the \
                     pool's cloud-config",
                    pool.name
                ),
                "add `boot_server: \"http://10.0.0.2:8080\"` to the cluster, or `boot: pxe \"http://...\"` to the pool"
                    .to_string(),
            ),
            Some(url) if !url.starts_with("http://") => r.push(
                Rule::PxeBoot,
                subject,
                format!(
                    "the boot server URL `{url}` is not plain http://: stock iPXE and the CoreOS PXE image fetch \
                     `cloud-config-url` over http only"
                ),
                "serve the configs over http:// on the provisioning network".to_string(),
            ),
            Some(_) => {}
        }
    }
}

/// A kind of PXE machine: a pool, by index, and its failure domain.
type PxeKind = (usize, Option<usize>);

/// `pxe_boot_network`: a PXE machine takes its pool and failure domain from the boot server
/// that answers it. On one network every proxy-DHCP server answers every PXE client, so two
/// pools or two domains booting from one network would leave each machine to boot whichever
/// config answers first, and publish that pool or domain in its metadata. Each kind of PXE
/// machine (pool and domain) needs a network of its own, except that kinds whose machines are
/// listed by MAC (`inventory`) share one, beside at most one kind that takes the unlisted ones.
fn pxe_boot_network(r: &mut Report<'_>) {
    let c = r.cluster;
    // The kinds that take unlisted machines, by the network they boot on (`None`: undeclared).
    let mut unlisted: Vec<(Option<Ipv4Net>, Vec<PxeKind>)> = Vec::new();
    let mut on_network: HashMap<Option<Ipv4Net>, usize> = HashMap::new();
    let segments = c.segments();
    for (i, pool) in c.pools.iter().enumerate() {
        if !matches!(pool.boot, Boot::Pxe { .. }) || !pool.inventory.is_empty() {
            continue;
        }
        for domain in c.group_domains(GroupRef::Pool(i)) {
            let net = segments.of(pool, domain).map(|s| s.subnet);
            let at = *on_network.entry(net).or_insert_with(|| {
                unlisted.push((net, Vec::new()));
                unlisted.len() - 1
            });
            unlisted[at].1.push((i, domain));
        }
    }
    for (net, kinds) in unlisted.iter().filter(|(_, kinds)| kinds.len() > 1) {
        let network = net.map_or_else(|| "one undeclared network".to_string(), |n| format!("one network, {n}"));
        let first = kinds[0].0;
        let mut pools: Vec<usize> = kinds.iter().map(|(p, _)| *p).collect();
        pools.dedup();
        for p in pools {
            let pool = &c.pools[p];
            let domains: Vec<&str> = kinds
                .iter()
                .filter(|(q, _)| *q == p)
                .filter_map(|(_, d)| Some(&*pool.spread.as_ref()?.domains.get((*d)?)?.name))
                .collect();
            let (kind, kinds_word) =
                pool.spread.as_ref().map_or(("zone", "zones"), |s| (s.kind.key(), s.kind.plural()));
            let listing = match domains.first() {
                Some(d) => format!("`inventory: {{ \"52:54:00:00:00:01\": \"{d}\", ... }}`"),
                None => "`inventory: [\"52:54:00:00:00:01\", ...]`".to_string(),
            };
            let help = match (p == first, domains.first()) {
                (true, Some(d)) => format!(
                    "give each {kind} a network of its own, `network: {{ {kinds_word}: {{ \"{d}\": {{ subnet: \"...\", gateway: \"...\" }}, ... }} }}`, \
                     or list the pool's machines by MAC, {listing}"
                ),
                _ => format!(
                    "list the machines of `{}` by MAC, {listing}; machines not listed boot as `{}`",
                    pool.name, c.pools[first].name
                ),
            };
            let why = "every PXE boot server on a network answers every machine on it, so each machine would boot \
                       whichever config answers first and publish that";
            if p == first && domains.len() > 1 {
                r.push(
                    Rule::PxeBootNetwork,
                    Subject::Group(GroupRef::Pool(p), GroupPart::Spread),
                    format!(
                        "PXE pool `{}` boots {kinds_word} {} from {network}: {why} {kind} in its fleet metadata",
                        pool.name,
                        join(&domains)
                    ),
                    help,
                );
            } else if p != first {
                let other = &c.pools[first].name;
                r.push(
                    Rule::PxeBootNetwork,
                    Subject::Group(GroupRef::Pool(p), GroupPart::Boot),
                    format!("PXE pools `{other}` and `{}` boot from {network}: {why} pool", pool.name),
                    help,
                );
            }
        }
    }
}

/// `machine_inventory`: an inventory belongs to a PXE pool, names each MAC address once in the
/// whole cluster (checked with `macs` by `macs_unique`), and places each machine in one of the
/// pool's domains (and only a spread pool's machines in a domain), since the inventory is what
/// the boot server decides by.
fn machine_inventory(r: &mut Report<'_>) {
    let c = r.cluster;
    for (g, group) in c.groups() {
        if group.inventory.is_empty() {
            continue;
        }
        if !matches!(group.boot, Boot::Pxe { .. }) {
            r.push(
                Rule::MachineInventory,
                Subject::Group(g, GroupPart::Inventory),
                format!("`{}` lists machines by MAC, but only PXE pools boot by MAC", group.name),
                "remove `inventory`, or add `boot: pxe`".to_string(),
            );
            continue;
        }
        // A fixed pool's inventory lists its machines: as many per domain as the pool places there.
        if let Size::Fixed(n) = group.size {
            // Counted by domain once: O(inventory + domains), not a scan per domain.
            let mut by_domain: HashMap<Option<&str>, usize> = HashMap::new();
            for e in group.inventory.iter() {
                *by_domain.entry(e.domain.as_deref()).or_default() += 1;
            }
            let listed = |d: Option<&str>| by_domain.get(&d).copied().unwrap_or(0);
            let mismatch = match &group.spread {
                None => (listed(None) != n as usize).then(|| format!("{} listed", listed(None))),
                Some(spread) => {
                    let counts = group.domain_counts(n);
                    let wrong: Vec<String> = spread
                        .domains
                        .iter()
                        .zip(&counts)
                        .filter(|(d, c)| listed(Some(&d.name)) != **c as usize)
                        .map(|(d, c)| {
                            format!("{} {} holds {c} but {} listed", spread.kind.key(), d.name, listed(Some(&d.name)))
                        })
                        .collect();
                    (!wrong.is_empty()).then(|| wrong.join(", "))
                }
            };
            if let Some(mismatch) = mismatch {
                r.push(Rule::MachineInventory,
                    Subject::Group(g, GroupPart::Inventory),
                    format!(
                        "`{}` has {} but its inventory does not list them: {mismatch}",
                        group.name,
                        plural(n, "machine", "machines")
                    ),
                    "list each machine once, in the domain the pool places it in (machines are dealt across domains in turn)"
                        .to_string(),
                );
            }
        }
        // A MAC address listed twice is `macs_unique`'s (`check/matchbox.rs`), over `macs` too.
        let domains: HashSet<&str> = group.spread.iter().flat_map(|s| s.domains.iter().map(|d| &*d.name)).collect();
        for (i, entry) in group.inventory.iter().enumerate() {
            let at = Subject::Group(g, GroupPart::InventoryEntry(i));
            match (&group.spread, &entry.domain) {
                (Some(spread), Some(domain)) if !domains.contains(&**domain) => {
                    let names: Vec<&str> = spread.domains.iter().map(|d| &*d.name).collect();
                    r.push(
                        Rule::MachineInventory,
                        at,
                        format!(
                            "machine {} is placed in {} `{domain}`, which `{}` is not spread across",
                            entry.mac,
                            spread.kind.key(),
                            group.name
                        ),
                        format!("use one of {}", join(&names)),
                    );
                }
                (Some(spread), None) => r.push(
                    Rule::MachineInventory,
                    at,
                    format!("machine {} of `{}` has no {}", entry.mac, group.name, spread.kind.key()),
                    format!("write `\"{}\": \"{}\"`", entry.mac, spread.domains.first().map_or("a", |d| &*d.name)),
                ),
                (None, Some(domain)) => r.push(
                    Rule::MachineInventory,
                    at,
                    format!(
                        "machine {} is placed in `{domain}`, but `{}` is not spread across domains",
                        entry.mac, group.name
                    ),
                    "list the MAC alone, or spread the pool with `across zones [...]`".to_string(),
                ),
                _ => {}
            }
        }
    }
}

/// Whether `name` is a DNS label: 1–63 letters, digits and hyphens, not starting or ending with one.
pub(crate) fn is_dns_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// `pool_name`: pool names are DNS labels, distinct from each other and from the members' group,
/// since they name machines and files. Cannot be allowed.
fn pool_name(r: &mut Report<'_>) {
    let c = r.cluster;
    // The names in use, in order, and as a set: a repeat is found in O(1), and `join` reads only
    // the first few names it lists.
    let mut names: HashSet<&str> = HashSet::from([&*c.members.name]);
    let mut in_use: Vec<&str> = vec![&c.members.name];
    for (i, pool) in c.pools.iter().enumerate() {
        let subject = Subject::Group(GroupRef::Pool(i), GroupPart::Name);
        if !is_dns_label(&pool.name) {
            r.push(
                Rule::PoolName,
                subject,
                format!("pool name `{}` is not a DNS label, and it names the pool's machines and files", pool.name),
                "use letters, digits and hyphens, e.g. `db-ssd`".to_string(),
            );
        }
        if names.insert(&*pool.name) {
            in_use.push(&pool.name);
        } else {
            r.push(
                Rule::PoolName,
                subject,
                format!("pool name `{}` is used twice; the groups' machines and files would collide", pool.name),
                format!("rename one of them; the names in use are {}", join(&in_use)),
            );
        }
    }
}
