//! One group assembled from its machines' configs: size, role, metadata, domains, addresses,
//! hostnames, channel, reboot settings, host configuration.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use clusterdef_model::{
    Addressing, Boot, Channel, Domain, Group, Hostnames, Layout, RebootWindow, Size, Spread, Windows,
};

use super::assembly::Assembly;
use super::config::Config;
use super::evidence::Ledger;
use super::{Finding, lossy, note};

/// The group an assembly of configs describes.
#[allow(clippy::too_many_arguments)]
pub(super) fn assemble(
    a: &Assembly,
    at: &str,
    is_members: bool,
    layout: Layout,
    channel: Channel,
    common_keys: usize,
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
) -> Group {
    let first = &a.configs[0];
    let shared = first.is_shared();
    let count = a.count.unwrap_or(a.configs.len() as u32);
    // A PXE pool whose machines are listed by MAC has as many machines as it lists.
    let listed: Vec<(String, Option<String>)> = a
        .configs
        .iter()
        .flat_map(|c| c.inventory.iter().map(|mac| (mac.clone(), c.domain().map(|(_, d)| d.to_string()))))
        .collect();
    // One config without a hostname or an address of its own serves however many machines
    // start from it: what `autoscale` (without bounds) declares. Every size here is read from
    // the files (the members' count, which `--count` may tell, is recorded by `build`).
    let size = match (shared && !is_members, listed.len()) {
        (true, 0) => Size::Autoscale { min: None, max: None },
        (true, n) => Size::Fixed(n as u32),
        (false, _) => Size::Fixed(count),
    };
    if !is_members {
        ledger.read(format!("{at}.size"), &first.path, 0);
    }
    let name_line = Some(first.line_of("coreos.locksmith.group")).filter(|l| *l > 0).unwrap_or(first.metadata_line());
    ledger.read(format!("{at}.name"), &first.path, name_line);
    let role = match first.role() {
        Some(role) => {
            ledger.read(format!("{at}.role"), &first.path, first.metadata_line());
            role.to_string()
        }
        None => {
            // Not said: the language's default, which it publishes.
            let role = if is_members { layout.default_role().to_string() } else { "worker".to_string() };
            let line = first.metadata_line();
            let what = if line == 0 { "fleet metadata" } else { "fleet metadata `role`" };
            let why = if matches!(first.read, super::config::Read::Ignition { .. }) {
                format!(
                    "no fleet on Flatcar, so no `role`: group `{}` takes the language's default role, `{role}`, which places units at render time",
                    a.name
                )
            } else {
                format!(
                    "no `role`: group `{}` takes the language's default role, `{role}`, and the declaration publishes `role={role}` beside the metadata as written",
                    a.name
                )
            };
            ledger.inferred(format!("{at}.role"), note(&first.path, line, what, why), findings);
            role
        }
    };
    let mut group = Group::new(a.name.clone(), role, size);
    // The machines in the order the language deals them out.
    let mut order: Vec<usize> = (0..a.configs.len()).collect();
    // The dev/test etcd node is one machine the language declares without `across`: its
    // cabinet or zone stays in its metadata, which publishes it just the same.
    let can_spread = !(is_members && layout == Layout::DevTest);
    let kind = a.configs.iter().find_map(|c| c.domain().map(|(k, _)| k)).filter(|_| can_spread);
    if let Some(kind) = kind {
        let mut names: Vec<String> = Vec::new();
        for c in &a.configs {
            match c.domain() {
                Some((k, d)) if k == kind => {
                    if !names.iter().any(|n| n == d) {
                        names.push(d.to_string());
                    }
                }
                _ => findings.push(lossy(
                    &c.path,
                    c.metadata_line(),
                    "failure domain",
                    format!("group `{}` is spread across {}, this machine is in none of them", a.name, kind.plural()),
                )),
            }
        }
        // The files' own order: each domain where its first machine is (shared configs by file).
        names.sort_by_key(|n| a.configs.iter().position(|c| c.domain().is_some_and(|(_, d)| d == n)));
        group = group.across(kind, names.clone());
        ledger.read(format!("{at}.spread"), &first.path, first.metadata_line());
        if !shared {
            let wanted: Vec<Option<usize>> =
                a.configs.iter().map(|c| c.domain().and_then(|(_, d)| names.iter().position(|n| n == d))).collect();
            let held = |placement: &[Option<usize>], i: usize| placement.iter().filter(|w| **w == Some(i)).count();
            let dealt = group.placement(count);
            if (0..names.len()).any(|i| held(&dealt, i) != held(&wanted, i)) {
                // Not as many per domain as dealing round-robin gives: say how many each holds.
                if let Some(spread) = &mut group.spread {
                    let domains: Vec<Domain> = names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| Domain { name: n.clone().into(), count: Some(held(&wanted, i) as u32) })
                        .collect();
                    *spread = Spread { kind, domains: domains.into() };
                }
            }
            // The language deals machines out in its own order; each slot takes the next machine
            // of its domain, so every machine keeps its name, address and domain (the names then
            // may need a list rather than a `{n}` pattern).
            let mut queues: BTreeMap<Option<usize>, std::collections::VecDeque<usize>> = BTreeMap::new();
            for (i, w) in wanted.iter().enumerate() {
                queues.entry(*w).or_default().push_back(i);
            }
            order = group.placement(count).iter().filter_map(|slot| queues.get_mut(slot)?.pop_front()).collect();
            if order.len() != a.configs.len() {
                findings.push(lossy(
                    &first.path,
                    first.metadata_line(),
                    format!("group `{}`", a.name),
                    format!("its machines cannot be dealt out across its {} as they are", kind.plural()),
                ));
                order = (0..a.configs.len()).collect();
            }
        }
    }
    let domain_key = group.spread.as_ref().map(|s| s.kind.key());
    group.metadata = first
        .metadata
        .iter()
        .filter(|(k, _)| k != "role" && Some(k.as_str()) != domain_key && (is_members || k != "pool"))
        .map(|(k, v)| (k.clone().into(), v.clone().into()))
        .collect();
    if !is_members && first.metadata.iter().find(|(k, _)| k == "pool").is_some_and(|(_, v)| *v != a.name) {
        findings.push(lossy(
            &first.path,
            first.metadata_line(),
            "fleet metadata `pool`",
            format!("differs from the group's name `{}`; the language publishes the group's name", a.name),
        ));
    }
    group.channel = first.channel.filter(|c| *c != channel);
    group.reboot = first.reboot;
    for (field, setting) in [
        ("metadata", "fleet metadata"),
        ("channel", "coreos.update.group"),
        ("reboot", "coreos.update.reboot-strategy"),
        ("ssh_keys", "ssh_authorized_keys"),
        ("windows", "coreos.locksmith window"),
    ] {
        ledger.read(format!("{at}.{field}"), &first.path, first.line_of(setting));
    }
    if first.pxe.is_some() || !first.inventory.is_empty() {
        // Named by a boot script (and listed by MAC in a dnsmasq config).
        ledger.read(format!("{at}.boot"), &first.path, 0);
        ledger.read(format!("{at}.inventory"), &first.path, 0);
    }
    group.ssh_keys = first.keys[common_keys.min(first.keys.len())..].iter().cloned().map(Into::into).collect();
    // The MACs matchbox serves the machines' configs for, in machine order: all or none.
    let macs: Vec<Option<&(String, String)>> = order.iter().map(|&i| a.configs[i].mac.as_ref()).collect();
    if !shared && !macs.is_empty() && macs.iter().all(Option::is_some) {
        group.macs = macs.iter().flatten().map(|(mac, _)| mac.clone().into()).collect();
        ledger.read(format!("{at}.macs"), macs.iter().flatten().next().map_or("", |(_, f)| f.as_str()), 0);
        if let Some(disk) = first.install_disk.as_deref().filter(|d| *d != "/dev/sda") {
            group.install_disk = Some(disk.to_string().into());
            ledger.read(format!("{at}.install_disk"), &first.path, 0);
        }
    } else if let Some(c) = a.configs.iter().find(|c| c.mac.is_some()) {
        findings.push(lossy(&c.path, 0, format!("group `{}`", a.name), "matchbox serves some of its machines by MAC and not the others: the language knows a group's machines by MAC all or none, so none is declared"));
    }
    if !listed.is_empty() {
        let mut listed = listed;
        listed.sort();
        group.inventory = listed
            .into_iter()
            .map(|(mac, domain)| clusterdef_model::InventoryEntry { mac: mac.into(), domain: domain.map(Into::into) })
            .collect();
    }
    if let Some(base) = &first.pxe {
        group.boot = Boot::Pxe { url: Some(base.clone().into()) };
    } else if shared && !is_members && !first.platform_address {
        // Without `$private_ipv4` a pool may be PXE-booted, or take its address from DHCP or
        // cloud metadata: only a boot script or a dnsmasq config says PXE, and none names it.
        let why = if matches!(first.read, super::config::Read::Ignition { .. }) {
            "a pool config that no boot script or dnsmasq config names: read as disk-booted, its address from DHCP or the platform"
        } else {
            "a pool config without `$private_ipv4` that no boot script or dnsmasq config names: read as disk-booted, its address from DHCP or the platform (the declaration renders `$private_ipv4` for fleet's `public-ip`, which coreos-cloudinit fills in on cloud platforms)"
        };
        findings.push(note(&first.path, 0, format!("group `{}`", a.name), why));
    }
    // Windows: one for all, or one per domain.
    let windows: Vec<(Option<String>, Option<RebootWindow>)> =
        a.configs.iter().map(|c| (c.domain().map(|(_, d)| d.to_string()), c.window)).collect();
    group.windows = if windows.iter().all(|(_, w)| *w == windows[0].1) {
        windows[0].1.map_or(Windows::Any, Windows::All)
    } else {
        let mut per: Vec<(String, RebootWindow)> = Vec::new();
        for (d, w) in &windows {
            match (d, w) {
                (Some(d), Some(w)) => match per.iter().find(|(x, _)| x == d) {
                    Some((_, seen)) if seen != w => findings.push(lossy(
                        &first.path,
                        first.line_of("coreos.locksmith window"),
                        format!("group `{}` reboot windows", a.name),
                        "machines of one domain reboot in different windows",
                    )),
                    Some(_) => {}
                    None => per.push((d.clone(), *w)),
                },
                _ => findings.push(lossy(
                    &first.path,
                    first.line_of("coreos.locksmith window"),
                    format!("group `{}` reboot windows", a.name),
                    "some machines have a window and others of the group none",
                )),
            }
        }
        Windows::PerDomain(per.into_iter().map(|(d, w)| (d.into(), w)).collect())
    };
    // One config every member runs: the language names each of them.
    if let (true, true, None) = (is_members, shared, &first.hostname) {
        let n = count;
        let names: Vec<String> = (0..n).map(|i| group.hostname(i, group.placement(n)[i as usize])).collect();
        findings.push(note(
            &first.path,
            first.line_of("etcd"),
            "hostname",
            format!(
                "no `hostname:`: the declaration names the members {} and writes those hostnames",
                names.join(", ")
            ),
        ));
    }
    if !shared {
        let ordered: Vec<&Config> = order.iter().map(|&i| &a.configs[i]).collect();
        if ordered.iter().all(|c| c.hostname.is_some()) {
            let hostnames: Vec<String> = ordered.iter().map(|c| c.hostname.clone().unwrap_or_default()).collect();
            group.hostnames = hostname_pattern(&group, &hostnames);
            ledger.read(format!("{at}.hostnames"), &first.path, first.line_of("hostname"));
        }
        if let Some(c) = ordered.iter().find(|c| c.address.is_some()) {
            ledger.read(format!("{at}.addressing"), &c.path, c.line_of("address"));
        }
        let addresses: Vec<Option<(Ipv4Addr, &Config)>> =
            ordered.iter().map(|c| c.address.map(|(address, _)| (address, *c))).collect();
        group.addressing = addressing(&addresses, &a.name, findings);
        // Machines known by their address alone are named by the language, and say so.
        let placement = group.placement(count);
        for (i, c) in ordered.iter().enumerate() {
            if let (None, Some((address, evidence))) = (&c.hostname, c.address) {
                let name = group.hostname(i as u32, placement.get(i).copied().flatten());
                findings.push(note(
                    &c.path,
                    evidence.line,
                    "hostname",
                    format!("no `hostname:`: the machine is known by its address {address} (from {}); the declaration names it `{name}` and writes that hostname", evidence.key.replace('_', "-")),
                ));
            }
        }
    }
    group
}

/// The hostnames as the language's default, a pattern the first one suggests (its domain and its
/// number replaced by `{domain}` and `{n}`), or a list.
pub(super) fn hostname_pattern(group: &Group, hostnames: &[String]) -> Hostnames {
    let mut candidates = vec![Hostnames::Default];
    if let Some(first) = hostnames.first() {
        let digits = first.chars().rev().take_while(char::is_ascii_digit).count();
        let (head, tail) = first.split_at(first.len() - digits);
        if tail == "1" {
            let mut pattern = format!("{head}{{n}}");
            let domain = group.placement(1).first().copied().flatten();
            if let Some(d) = domain.and_then(|d| group.spread.as_ref()?.domains.get(d)) {
                pattern = pattern.replacen(d.name.as_ref(), "{domain}", 1);
            }
            candidates.push(Hostnames::Pattern(pattern.into()));
        }
    }
    for candidate in candidates {
        let mut g = group.clone();
        g.hostnames = candidate.clone();
        let placement = g.placement(hostnames.len() as u32);
        if placement.iter().enumerate().all(|(i, d)| g.hostname(i as u32, *d) == hostnames[i]) {
            return candidate;
        }
    }
    Hostnames::List(hostnames.iter().cloned().map(Into::into).collect())
}

pub(super) fn addressing(
    addresses: &[Option<(Ipv4Addr, &Config)>],
    group: &str,
    findings: &mut Vec<Finding>,
) -> Addressing {
    let known: Vec<Ipv4Addr> = addresses.iter().flatten().map(|(a, _)| *a).collect();
    if known.is_empty() {
        return Addressing::Dhcp;
    }
    if let Some((_, c)) = addresses.iter().flatten().next()
        && known.len() != addresses.len()
    {
        findings.push(lossy(
            &c.path,
            c.line_of("address"),
            format!("group `{group}` addresses"),
            "some machines have static addresses and others none; the declaration gives every machine one",
        ));
    }
    let contiguous = known.windows(2).all(|w| u32::from(w[1]) == u32::from(w[0]).wrapping_add(1));
    if contiguous && known.len() > 1 {
        Addressing::Range { first: known[0], last: known[known.len() - 1] }
    } else {
        Addressing::List(known.into())
    }
}
