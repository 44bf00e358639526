//! The machines read, grouped and turned into the model: members and layout, groups split
//! where their machines differ, domains, addresses, networks, hostnames, windows.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;

use clusterdef_model::{
    Addressing, Boot, Bootstrap, Channel, Cluster, Domain, DomainNetwork, EtcdRelease, Group, Hostnames, Ipv4Net,
    Layout, Network, RebootWindow, Size, Spread, Tls, Unit, Windows,
};

use crate::render::cloud_config::{machine_config_path, pool_config_path};

use super::machine::{Config, Link, url_host};
use super::{Finding, ImportError, lossy, note};

/// A group being assembled: its configs in machine order.
pub(super) struct Assembly {
    pub(super) name: String,
    pub(super) configs: Vec<Config>,
}

/// Machines in order: by the number their hostname ends with (the `{n}` of a pattern such as
/// `core-{domain}-{n}` counts across domains), then by name.
pub(super) fn natural_key(hostname: &str) -> (u64, String) {
    let digits = hostname.chars().rev().take_while(char::is_ascii_digit).count();
    let tail = &hostname[hostname.len() - digits..];
    (tail.parse().unwrap_or(u64::MAX), hostname.to_string())
}

/// The cluster, and each config read with the path of the config the cluster renders for it.
pub(super) fn build(
    configs: Vec<Config>,
    mut units: Vec<Unit>,
    name: Option<&str>,
    findings: &mut Vec<Finding>,
) -> Result<(Cluster, Vec<(Config, String)>), ImportError> {
    let (members, others): (Vec<Config>, Vec<Config>) = configs.into_iter().partition(|c| c.member.is_some());
    if members.is_empty() {
        return Err(ImportError {
            message: "no config runs an etcd member (an etcd2 section that is not a proxy, or an etcd 0.4 section)"
                .into(),
            findings: std::mem::take(findings),
        });
    }
    let release = members.iter().find_map(|c| c.release).unwrap_or(EtcdRelease::V2);
    let mut groups: Vec<Assembly> = Vec::new();
    for config in others {
        let key = config.group_name();
        match groups.iter_mut().find(|g| g.name == key) {
            Some(g) => g.configs.push(config),
            None => groups.push(Assembly { name: key, configs: vec![config] }),
        }
    }
    groups.sort_by(|a, b| (a.name != "worker", &a.name).cmp(&(b.name != "worker", &b.name)));
    let mut pools = Vec::new();
    for group in groups {
        pools.extend(split(group, findings));
    }
    let mut member_assembly = Assembly { name: members[0].group_name(), configs: members };
    sort_machines(&mut member_assembly.configs);
    for c in &member_assembly.configs[1..] {
        let differing = member_assembly.configs[0].differs_from(c);
        if !differing.is_empty() {
            findings.push(lossy(&c.path, 0, "etcd member", format!("differs from `{}` in {}; the members are one group, so the declaration gives them the first member's settings", member_assembly.configs[0].path, differing.join(", "))));
        }
    }
    let member_count = member_assembly.configs.len() as u32;
    let role = member_assembly.configs[0].role().to_string();
    let layout = match (role.as_str(), member_count, pools.is_empty()) {
        ("member", _, _) => Layout::Small,
        ("etcd", 1, _) => Layout::DevTest,
        ("central", _, _) => Layout::CentralServices,
        (_, 1, false) => Layout::DevTest,
        (_, _, true) => Layout::Small,
        _ => Layout::CentralServices,
    };
    let first_member = &member_assembly.configs[0];
    let cluster_name = first_member
        .member
        .as_ref()
        .and_then(|m| m.token.clone())
        .or_else(|| name.map(str::to_string))
        .unwrap_or_else(|| "imported".to_string());
    let channel = first_member.channel.unwrap_or(Channel::Stable);
    let tls = first_member.tls.clone();
    let discovery = first_member.discovery.clone();
    let all_keys: Vec<&Vec<String>> = std::iter::once(&member_assembly)
        .chain(pools.iter())
        .filter_map(|g| g.configs.first())
        .map(|c| &c.keys)
        .collect();
    let common = all_keys.iter().map(|k| k.len()).min().unwrap_or(0);
    let common = (0..common).take_while(|&i| all_keys.iter().all(|k| k[i] == all_keys[0][i])).count();
    let cluster_keys: Vec<String> = all_keys.first().map_or_else(Vec::new, |k| k[..common].to_vec());

    let members_group = assemble(&member_assembly, true, channel, common, findings);
    let mut cluster = Cluster::new(cluster_name, layout, members_group);
    cluster.etcd_release = release;
    cluster.channel = channel;
    cluster.ssh_keys = cluster_keys.into_iter().map(Into::into).collect();
    cluster.tls = tls.map(|(ca, cert, key)| Tls { ca: ca.into(), cert: cert.into(), key: key.into() });
    cluster.bootstrap = match discovery {
        Some(url) => Bootstrap::Discovery(Some(url.into())),
        None => Bootstrap::Static,
    };
    cluster.pools = pools.iter().map(|p| assemble(p, false, channel, common, findings)).collect();
    let assemblies: Vec<&Assembly> = std::iter::once(&member_assembly).chain(pools.iter()).collect();
    let (cluster_host, group_hosts) = super::host::scopes(&assemblies, findings);
    cluster.host = cluster_host;
    let with_host = |group: &mut Group, (own, domains): super::host::GroupHost| {
        group.host = own;
        group.host_in = domains.into_iter().map(|(d, h)| (d.into(), h)).collect();
    };
    let mut group_hosts = group_hosts.into_iter();
    if let Some(h) = group_hosts.next() {
        with_host(&mut cluster.members, h);
    }
    let mut pools_with_host = cluster.pools.to_vec();
    for (pool, h) in pools_with_host.iter_mut().zip(group_hosts) {
        with_host(pool, h);
    }
    cluster.pools = pools_with_host.into();
    let bases: Vec<&String> = pools.iter().filter_map(|p| p.configs.first()?.pxe.as_ref()).collect();
    if let Some(first) = bases.first() {
        cluster.boot_server = Some(first.to_string().into());
        let mut pools_out = cluster.pools.to_vec();
        for pool in &mut pools_out {
            if let Boot::Pxe { url } = &mut pool.boot
                && url.as_deref() == Some(first.as_str())
            {
                *url = None;
            }
        }
        cluster.pools = pools_out.into();
    }
    cluster.network = network(std::iter::once(&member_assembly).chain(pools.iter()), findings);
    let started: Vec<String> = member_assembly.configs.iter().flat_map(|c| c.started.iter().cloned()).collect();
    for unit in units.iter_mut().filter(|u| u.is_template()) {
        let Some((prefix, suffix)) = unit.name.split_once("@.") else { continue };
        let count = (1..).take_while(|i| started.contains(&format!("{prefix}@{i}.{suffix}"))).count();
        if count > 0 {
            unit.instances = Some(count as u32);
        }
    }
    for name in &started {
        let counted = units.iter().any(|u| u.started_instances().contains(name));
        if !counted {
            let path =
                member_assembly.configs.iter().find(|c| c.started.contains(name)).map_or("", |c| c.path.as_str());
            findings.push(lossy(
                path,
                0,
                format!("started instance `{name}`"),
                "not one of instances 1..N of a template here",
            ));
        }
    }
    cluster.units = units.into();
    check_membership(&cluster, &member_assembly, findings);
    // Which rendered config stands for each file read: a machine's by its hostname, a pool's by
    // its group and domain.
    let mut sources = Vec::new();
    let placed_groups = cluster.placed_groups();
    for (assembly, placed) in std::iter::once(member_assembly).chain(pools).zip(&placed_groups) {
        let by_hostname: HashMap<&str, &clusterdef_model::Machine> =
            placed.machines.iter().map(|m| (m.hostname.as_str(), m)).collect();
        for config in assembly.configs {
            let rendered = match &config.hostname {
                Some(h) => by_hostname.get(h.as_str()).map(|m| machine_config_path(m)),
                None => {
                    let domain = config
                        .domain()
                        .and_then(|(_, d)| placed.group.spread.as_ref()?.domains.iter().position(|x| x.name == d));
                    Some(pool_config_path(placed.group, domain))
                }
            };
            if let Some(rendered) = rendered {
                sources.push((config, rendered));
            }
        }
    }
    Ok((cluster, sources))
}

pub(super) fn sort_machines(configs: &mut [Config]) {
    configs.sort_by(|a, b| {
        let key = |c: &Config| (c.hostname.is_none(), c.hostname.as_deref().map(natural_key), c.path.clone());
        key(a).cmp(&key(b))
    });
}

/// Splits an apparent group whose machines differ into groups that agree, saying how.
pub(super) fn split(group: Assembly, findings: &mut Vec<Finding>) -> Vec<Assembly> {
    let mut parts: Vec<Assembly> = Vec::new();
    for config in group.configs {
        match parts.iter_mut().find(|p| p.configs[0].differs_from(&config).is_empty()) {
            Some(p) => p.configs.push(config),
            None => {
                let name =
                    if parts.is_empty() { group.name.clone() } else { format!("{}-{}", group.name, parts.len() + 1) };
                if let Some(first) = parts.first() {
                    let differing = first.configs[0].differs_from(&config);
                    findings.push(note(
                        &config.path,
                        0,
                        format!("group `{}`", group.name),
                        format!(
                            "differs from `{}` in {}; split into group `{name}`",
                            first.configs[0].path,
                            differing.join(", ")
                        ),
                    ));
                }
                parts.push(Assembly { name, configs: vec![config] });
            }
        }
    }
    for p in &mut parts {
        sort_machines(&mut p.configs);
    }
    parts
}

/// The group an assembly of configs describes.
pub(super) fn assemble(
    a: &Assembly,
    is_members: bool,
    channel: Channel,
    common_keys: usize,
    findings: &mut Vec<Finding>,
) -> Group {
    let first = &a.configs[0];
    let shared = first.hostname.is_none();
    let count = a.configs.len() as u32;
    // A PXE pool whose machines are listed by MAC has as many machines as it lists.
    let listed: Vec<(String, Option<String>)> = a
        .configs
        .iter()
        .flat_map(|c| c.inventory.iter().map(|mac| (mac.clone(), c.domain().map(|(_, d)| d.to_string()))))
        .collect();
    let size = match (shared && !is_members, listed.len()) {
        (true, 0) => Size::Autoscale { min: None, max: None },
        (true, n) => Size::Fixed(n as u32),
        (false, _) => Size::Fixed(count),
    };
    let mut group = Group::new(a.name.clone(), first.role().to_string(), size);
    // The machines in the order the language deals them out.
    let mut order: Vec<usize> = (0..a.configs.len()).collect();
    let kind = a.configs.iter().find_map(|c| c.domain().map(|(k, _)| k));
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
                    0,
                    "failure domain",
                    format!("group `{}` is spread across {}, this machine is in none of them", a.name, kind.plural()),
                )),
            }
        }
        if !shared {
            names.sort_by_key(|n| a.configs.iter().position(|c| c.domain().is_some_and(|(_, d)| d == n)));
        } else {
            names.sort();
        }
        group = group.across(kind, names.clone());
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
                    0,
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
            0,
            "fleet metadata `pool`",
            format!("differs from the group's name `{}`; the language publishes the group's name", a.name),
        ));
    }
    group.channel = first.channel.filter(|c| *c != channel);
    group.reboot = first.reboot;
    group.ssh_keys = first.keys[common_keys.min(first.keys.len())..].iter().cloned().map(Into::into).collect();
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
        // Only PXE pools' configs go without the platform's address.
        group.boot = Boot::Pxe { url: None };
        findings.push(lossy(&first.path, 0, format!("group `{}`", a.name), "a pool config without `$private_ipv4` is PXE-booted, but no boot script names it, so the boot server is unknown"));
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
                        0,
                        format!("group `{}` reboot windows", a.name),
                        "machines of one domain reboot in different windows",
                    )),
                    Some(_) => {}
                    None => per.push((d.clone(), *w)),
                },
                _ => findings.push(lossy(
                    &first.path,
                    0,
                    format!("group `{}` reboot windows", a.name),
                    "some machines have a window and others of the group none",
                )),
            }
        }
        Windows::PerDomain(per.into_iter().map(|(d, w)| (d.into(), w)).collect())
    };
    if !shared {
        let ordered: Vec<&Config> = order.iter().map(|&i| &a.configs[i]).collect();
        let hostnames: Vec<String> = ordered.iter().map(|c| c.hostname.clone().unwrap_or_default()).collect();
        group.hostnames = hostname_pattern(&group, &hostnames);
        let addresses: Vec<Option<Ipv4Addr>> = ordered.iter().map(|c| c.link.as_ref().map(|l| l.address)).collect();
        group.addressing = addressing(&addresses, &a.name, &first.path, findings);
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
    addresses: &[Option<Ipv4Addr>],
    group: &str,
    path: &str,
    findings: &mut Vec<Finding>,
) -> Addressing {
    let known: Vec<Ipv4Addr> = addresses.iter().flatten().copied().collect();
    if known.is_empty() {
        return Addressing::Dhcp;
    }
    if known.len() != addresses.len() {
        findings.push(lossy(
            path,
            0,
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

/// The network the static addresses are on: one subnet for all, or one per failure domain.
pub(super) fn network<'a>(groups: impl Iterator<Item = &'a Assembly>, findings: &mut Vec<Finding>) -> Option<Network> {
    let mut links: Vec<(&Config, &Link)> = Vec::new();
    for g in groups {
        links.extend(g.configs.iter().filter_map(|c| Some((c, c.link.as_ref()?))));
    }
    let (first_config, first) = *links.first()?;
    let segment = |l: &Link| (Ipv4Net::new(Ipv4Net::new(l.address, l.prefix).network(), l.prefix), l.gateway);
    for (c, l) in &links[1..] {
        if l.interface != first.interface || l.dns != first.dns {
            findings.push(lossy(
                &c.path,
                0,
                "static networking",
                format!(
                    "interface or DNS differ from `{}`; the language has one of each per cluster",
                    first_config.path
                ),
            ));
        }
    }
    let mut network = Network {
        subnet: segment(first).0,
        gateway: first.gateway,
        dns: first.dns.clone().into(),
        interface: first.interface.clone().into(),
        domains: Vec::new().into(),
    };
    if links.iter().all(|(_, l)| segment(l) == segment(first)) {
        return Some(network);
    }
    // Segments per failure domain: each domain's machines share one.
    let mut domains: Vec<DomainNetwork> = Vec::new();
    for (c, l) in &links {
        let Some((kind, d)) = c.domain() else {
            findings.push(lossy(
                &c.path,
                0,
                "static networking",
                "machines outside any failure domain are on different subnets",
            ));
            continue;
        };
        let (subnet, gateway) = segment(l);
        match domains.iter().find(|x| x.kind == kind && x.name == d) {
            Some(x) if x.subnet != subnet || x.gateway != gateway => findings.push(lossy(
                &c.path,
                0,
                "static networking",
                format!("machines of {} `{d}` are on different subnets", kind.key()),
            )),
            Some(_) => {}
            None => domains.push(DomainNetwork { kind, name: d.to_string().into(), subnet, gateway }),
        }
    }
    let Some(first_domain) = domains.first() else { return Some(network) };
    // The cluster's subnet is the smallest that holds every domain's.
    let mut prefix = domains.iter().map(|d| d.subnet.prefix).min().unwrap_or(32);
    let base = first_domain.subnet.addr;
    let within = |addr: Ipv4Addr, prefix: u8| Ipv4Net::new(addr, prefix).network();
    while prefix > 0 && !domains.iter().all(|d| within(d.subnet.addr, prefix) == within(base, prefix)) {
        prefix -= 1;
    }
    network.subnet = Ipv4Net::new(within(base, prefix), prefix);
    network.gateway = None;
    network.domains = domains.into();
    Some(network)
}

/// Members the `initial-cluster` names but no config runs, and names that disagree.
pub(super) fn check_membership(cluster: &Cluster, members: &Assembly, findings: &mut Vec<Finding>) {
    let expected: Vec<String> = cluster.etcd_members().iter().map(|m| m.name.clone()).collect();
    for c in &members.configs {
        let Some(m) = &c.member else { continue };
        if let Some(name) = &m.name
            && c.hostname.as_ref().is_some_and(|h| h != name)
        {
            findings.push(lossy(
                &c.path,
                0,
                "etcd member name",
                format!("`{name}` is not the hostname; the language names each member after its machine"),
            ));
        }
        for (name, url) in &m.initial_cluster {
            if !name.is_empty() && !expected.contains(name) {
                findings.push(lossy(
                    &c.path,
                    0,
                    format!("initial-cluster member `{name}`"),
                    format!("no config here runs it ({url}); the declaration has only the members it has configs for"),
                ));
            }
            let host = url_host(url).unwrap_or_default();
            if name.is_empty()
                && host.parse::<Ipv4Addr>().is_ok()
                && !members.configs.iter().any(|x| x.link.as_ref().is_some_and(|l| l.address.to_string() == host))
            {
                findings.push(lossy(&c.path, 0, format!("etcd peer `{url}`"), "no config here runs it"));
            }
        }
    }
}
