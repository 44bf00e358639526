//! Rules on the shape of groups: spreads, autoscaling, PXE boot and pool names.

use super::{Report, join, plural};
use crate::cluster::{Addressing, Boot, Size};
use crate::rule::Rule;
use crate::subject::{GroupPart, GroupRef, Subject};

pub(super) fn check(r: &mut Report<'_>) {
    domain_spread(r);
    autoscale_bounds(r);
    pxe_boot(r);
    pool_name(r);
}

fn domain_spread(r: &mut Report<'_>) {
    let mut pushes = Vec::new();
    for (g, group) in r.cluster.groups() {
        let Some(spread) = &group.spread else {
            continue;
        };
        let (kind, kinds) = (spread.kind.key(), spread.kind.plural());
        let at = |part| Subject::Group(g, part);
        if spread.domains.is_empty() {
            pushes.push((
                at(GroupPart::Spread),
                format!("`across {kinds} []` names no {kind}"),
                format!("list the {kinds}, e.g. `across {kinds} [a, b, c]`, or drop `across`"),
            ));
            continue;
        }
        for (i, domain) in spread.domains.iter().enumerate() {
            if spread.domains[..i].iter().any(|d| d.name == domain.name) {
                pushes.push((
                    at(GroupPart::Domain(i)),
                    format!("{kind} `{}` is listed twice, so it would hold the share of two {kinds}", domain.name),
                    format!("list each {kind} once"),
                ));
            }
        }
        let explicit = spread.domains.iter().filter(|d| d.count.is_some()).count();
        if explicit > 0 && explicit < spread.domains.len() {
            for (i, domain) in spread.domains.iter().enumerate() {
                if domain.count.is_none() {
                    pushes.push((
                        at(GroupPart::Domain(i)),
                        format!("{kind} `{}` has no machine count while other {kinds} have one", domain.name),
                        format!("give every {kind} a count, e.g. `{}: 1`, or give none and let machines be dealt out in turn", domain.name),
                    ));
                }
            }
            continue;
        }
        match group.size {
            Size::Fixed(n) => {
                if explicit > 0 {
                    let sum: u64 = spread.domains.iter().map(|d| u64::from(d.count.unwrap_or(0))).sum();
                    if sum != u64::from(n) {
                        pushes.push((
                            at(GroupPart::Spread),
                            format!(
                                "the {kind} counts add up to {sum}, but `{}` has {}",
                                group.name,
                                plural(n, "machine", "machines")
                            ),
                            format!("make the counts add up to {n}"),
                        ));
                        continue;
                    }
                }
                let counts = group.domain_counts(n);
                let empty: Vec<usize> = (0..counts.len()).filter(|&i| counts[i] == 0).collect();
                for i in empty {
                    let name = &spread.domains[i].name;
                    let subject = if explicit > 0 { GroupPart::DomainCount(i) } else { GroupPart::Domain(i) };
                    pushes.push((
                        at(subject),
                        format!(
                            "{kind} `{name}` holds none of the {} of `{}`, so it protects nothing",
                            plural(n, "machine", "machines"),
                            group.name
                        ),
                        format!("remove `{name}` from the {kinds}, or add machines"),
                    ));
                }
            }
            Size::Autoscale { .. } if explicit > 0 => {
                pushes.push((
                    at(GroupPart::Spread),
                    format!("`{}` autoscales, so its machines cannot be counted per {kind}", group.name),
                    format!("drop the counts: an autoscaled group is dealt across its {kinds} in turn"),
                ));
            }
            Size::Autoscale { .. } => {}
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::DomainSpread, subject, message, help);
    }
}

fn autoscale_bounds(r: &mut Report<'_>) {
    let mut pushes = Vec::new();
    for (g, group) in r.cluster.groups() {
        if let Size::Autoscale { min, max } = group.size {
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                pushes.push((
                    Subject::Group(g, GroupPart::Min),
                    format!("`{}` autoscales from {min} to {max}, but the minimum is above the maximum", group.name),
                    format!("write `autoscale {max}..{min}`"),
                ));
            }
            if max == Some(0) {
                pushes.push((
                    Subject::Group(g, GroupPart::Max),
                    format!("`{}` autoscales to at most 0 machines, so it never runs anything", group.name),
                    "raise the maximum, or remove the pool".to_string(),
                ));
            }
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::AutoscaleBounds, subject, message, help);
    }
}

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
    let mut pushes = Vec::new();
    for (i, pool) in c.pools.iter().enumerate() {
        let Boot::Pxe { url } = &pool.boot else {
            continue;
        };
        let g = GroupRef::Pool(i);
        if !matches!(pool.addressing, Addressing::Dhcp) {
            pushes.push((
                Subject::Group(g, GroupPart::Addresses),
                format!(
                    "PXE pool `{}` has static addresses, but PXE machines get their address from DHCP before \
                     they can read any config",
                    pool.name
                ),
                "remove `addresses:` from the pool (or write `addresses: dhcp`)".to_string(),
            ));
        }
        let (subject, url) = match url {
            Some(url) => (Subject::Group(g, GroupPart::Boot), Some(url)),
            None => (Subject::BootServer, c.boot_server.as_ref()),
        };
        match url {
            None => pushes.push((
                Subject::Group(g, GroupPart::Boot),
                format!(
                    "PXE pool `{}` has no boot server: its kernel line needs `cloud-config-url=` pointing at the \
                     pool's cloud-config",
                    pool.name
                ),
                "add `boot_server: \"http://10.0.0.2:8080\"` to the cluster, or `boot: pxe \"http://...\"` to the pool"
                    .to_string(),
            )),
            Some(url) if !url.starts_with("http://") => pushes.push((
                subject,
                format!(
                    "the boot server URL `{url}` is not plain http://: stock iPXE and the CoreOS PXE image fetch \
                     `cloud-config-url` over http only"
                ),
                "serve the configs over http:// on the provisioning network".to_string(),
            )),
            Some(_) => {}
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::PxeBoot, subject, message, help);
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

fn pool_name(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut pushes = Vec::new();
    for (i, pool) in c.pools.iter().enumerate() {
        let subject = Subject::Group(GroupRef::Pool(i), GroupPart::Name);
        if !is_dns_label(&pool.name) {
            pushes.push((
                subject,
                format!("pool name `{}` is not a DNS label, and it names the pool's machines and files", pool.name),
                "use letters, digits and hyphens, e.g. `db-ssd`".to_string(),
            ));
        }
        let earlier: Vec<&str> =
            std::iter::once(&*c.members.name).chain(c.pools[..i].iter().map(|p| &*p.name)).collect();
        if earlier.contains(&&*pool.name) {
            pushes.push((
                subject,
                format!("pool name `{}` is used twice; the groups' machines and files would collide", pool.name),
                format!("rename one of them; the names in use are {}", join(&earlier)),
            ));
        }
    }
    for (subject, message, help) in pushes {
        r.push(Rule::PoolName, subject, message, help);
    }
}
