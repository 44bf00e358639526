//! The machines read, grouped and turned into the model: members and layout, groups split
//! where their machines differ, domains, addresses, networks, hostnames, windows.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use clusterdef_model::{
    Boot, Bootstrap, Channel, Cluster, DomainNetwork, EtcdRelease, Group, Ipv4Net, Layout, Network, Os, Tls, Unit,
};

use crate::render::{cloud_config, ignition};

use super::assembly::{Assembly, sort_machines, split};
use super::config::{Config, Link, Read, url_host};
use super::evidence::Ledger;
use super::group::assemble;
use super::{Finding, ImportError, lossy, note};

/// Where a render writes a machine's config, and a pool's (per domain).
type MachinePath = fn(&clusterdef_model::Machine) -> String;
type PoolPath = fn(&Group, Option<usize>) -> String;

/// The cluster, and each config read with the path of the config the cluster renders for it.
pub(super) fn build(
    configs: Vec<Config>,
    mut units: Vec<Unit>,
    options: &super::Options<'_>,
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
) -> Result<(Cluster, Vec<(Config, String)>), ImportError> {
    let name = options.name;
    // Ignition configs are Flatcar's (the import refuses a mix of languages).
    let flatcar = configs.first().is_some_and(|c| matches!(c.read, Read::Ignition { .. }));
    let (members, others): (Vec<Config>, Vec<Config>) = configs.into_iter().partition(|c| c.member.is_some());
    if members.is_empty() {
        return Err(ImportError {
            message: "no config runs an etcd member (a cloud-config's etcd2 section that is not a proxy or etcd 0.4 section; an Ignition config's etcd with its `ETCD_NAME`)"
                .into(),
            findings: std::mem::take(findings),
        });
    }
    let release = members.iter().find_map(|c| c.release).unwrap_or(EtcdRelease::V2);
    let mut groups: Vec<Assembly> = Vec::new();
    for config in others {
        let key = config.group_name().unwrap_or_else(|| "worker".to_string());
        match groups.iter_mut().find(|g| g.name == key) {
            Some(g) => g.configs.push(config),
            None => groups.push(Assembly { name: key, configs: vec![config], count: None }),
        }
    }
    groups.sort_by(|a, b| (a.name != "worker", &a.name).cmp(&(b.name != "worker", &b.name)));
    let mut pools = Vec::new();
    for group in groups {
        pools.extend(split(group, findings));
    }
    let mut members = members;
    sort_machines(&mut members);
    for c in &members[1..] {
        let (differing, line) = c.first_difference(&members[0]);
        if !differing.is_empty() {
            findings.push(lossy(&c.path, line, "etcd member", format!("differs from `{}` in {}; the members are one group, so the declaration gives them the first member's settings", members[0].path, differing.join(", "))));
        }
    }
    // One config for every member (no hostname, no address of its own): how many machines run
    // it is in the launcher, not in the files.
    let shared_count = match (&members[..], options.member_count) {
        ([one], Some(n)) if one.is_shared() => {
            ledger.told("members.size");
            findings.push(note(
                &one.path,
                one.line_of("etcd"),
                "etcd members",
                format!("one config, no hostname or address of its own: every member runs it; {n} members, as `--count {n}` says"),
            ));
            Some(n)
        }
        ([one], None) if one.is_shared() => {
            ledger.inferred("members.size", lossy(
                &one.path,
                one.line_of("etcd"),
                "etcd members",
                "one config, no hostname or address of its own: every member runs it, and how many machines do is in the launcher (a Vagrantfile, an autoscaling group), not in the files; declared as one member: pass `--count N`",
            ), findings);
            None
        }
        (_, told) => {
            ledger.read("members.size", &members[0].path, 0);
            if let Some(n) = told {
                // Said, never silently dropped: the option counts a shared member config only.
                findings.push(note(
                    &members[0].path,
                    members[0].line_of("etcd"),
                    "--count",
                    format!(
                        "`--count {n}` counts the machines of one member config several machines share; these {} members have configs of their own, which count them, so it is not used",
                        members.len()
                    ),
                ));
            }
            None
        }
    };
    let member_count = shared_count.unwrap_or(members.len() as u32);
    let role = members[0].role().map(str::to_string);
    let layout = match (role.as_deref(), member_count, pools.is_empty()) {
        (Some("member"), _, _) => Layout::Small,
        (Some("etcd"), 1, _) => Layout::DevTest,
        (Some("central"), _, _) => Layout::CentralServices,
        (_, 1, false) => Layout::DevTest,
        (_, _, true) => Layout::Small,
        _ => Layout::CentralServices,
    };
    // The dev/test layout names its etcd node by the static address every proxy points at.
    let layout = match (layout, members[0].address) {
        (Layout::DevTest, None) => {
            let (first, central) =
                (&members[0], if pools.is_empty() { Layout::Small } else { Layout::CentralServices });
            ledger.inferred("layout", lossy(
                &first.path,
                first.line_of("etcd"),
                "etcd member",
                format!("one etcd member without a static address of its own: the dev/test layout declares its etcd node by the address every worker's proxy names, so it is declared as one `{}` member instead (the rules say what that risks)", central.members_key()),
            ), findings);
            central
        }
        (layout, _) => {
            // The layout follows from the members' role, their count and whether there are
            // workers, all read.
            ledger.read("layout", &members[0].path, members[0].line_of("etcd"));
            layout
        }
    };
    // The members' group is named as the language names it (its layout's), whatever their
    // locksmith group or role: that is the name the printed declaration gives them back.
    let member_name = layout.default_role().to_string();
    let member_assembly = Assembly { name: member_name, configs: members, count: shared_count };
    let first_member = &member_assembly.configs[0];
    let token = first_member.member.as_ref().and_then(|m| m.token.clone());
    match &token {
        Some(_) => {
            ledger.read("name", &first_member.path, first_member.line_of("initial-cluster-token"));
        }
        None => ledger.told("name"),
    }
    let cluster_name = token.or_else(|| name.map(str::to_string)).unwrap_or_else(|| "imported".to_string());
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

    let members_group = assemble(&member_assembly, "members", true, layout, channel, common, ledger, findings);
    let mut cluster = Cluster::new(cluster_name, layout, members_group);
    let first_member = &member_assembly.configs[0];
    if flatcar {
        cluster.os = Os::Flatcar;
        ledger.read("os", &first_member.path, 1);
        // No fleet metadata on Flatcar: nothing on a machine says its failure domain.
        findings.push(note(&first_member.path, 0, "failure domains", "a Flatcar machine's config says no cabinet or zone (they place units at render time and are written nowhere on the machine), so none is declared: add `across` to the groups"));
        if first_member.channel.is_none() {
            findings.push(note(&first_member.path, 0, "update channel", "no `GROUP` in `update.conf` and no installer that names one: the machine updates on the channel it was installed from, which its config does not say; declared `stable` (the language's default): say `channel:` if it is another"));
        }
    }
    ledger.read("etcd_release", &first_member.path, first_member.line_of("etcd"));
    ledger.read("channel", &first_member.path, first_member.line_of("coreos.update.group"));
    ledger.read("ssh_keys", &first_member.path, first_member.line_of("ssh_authorized_keys"));
    ledger.read("tls", &first_member.path, first_member.line_of("etcd"));
    cluster.etcd_release = release;
    cluster.channel = channel;
    cluster.ssh_keys = cluster_keys.into_iter().map(Into::into).collect();
    cluster.tls = tls.map(|(ca, cert, key)| Tls { ca: ca.into(), cert: cert.into(), key: key.into() });
    let discovery_line = first_member.line_of("discovery");
    cluster.bootstrap = match discovery {
        Some(Some(url)) => {
            ledger.read("bootstrap", &first_member.path, discovery_line);
            Bootstrap::Discovery(Some(url.into()))
        }
        // The placeholder's note says it.
        Some(None) => {
            ledger.said("bootstrap", &first_member.path, discovery_line, "coreos.etcd2.discovery");
            Bootstrap::Discovery(None)
        }
        None => {
            let unbootstrapped = member_assembly.configs.iter().find(|c| {
                c.release == Some(EtcdRelease::V2) && c.member.is_some() && c.line_of("initial-cluster") == 0
            });
            match unbootstrapped {
                Some(c) => ledger.inferred("bootstrap", lossy(&c.path, c.line_of("etcd"), "coreos.etcd2", "neither `initial-cluster` nor `discovery`: etcd2 would start a one-member cluster of its own; the declaration bootstraps the members statically, from their addresses"), findings),
                None => ledger.read("bootstrap", &first_member.path, first_member.line_of("initial-cluster")),
            }
            Bootstrap::Static
        }
    };
    cluster.pools = pools
        .iter()
        .enumerate()
        .map(|(i, p)| assemble(p, &format!("pools[{i}]"), false, layout, channel, common, ledger, findings))
        .collect();
    let assemblies: Vec<&Assembly> = std::iter::once(&member_assembly).chain(pools.iter()).collect();
    let (cluster_host, group_hosts) = super::scopes::scopes(&assemblies, findings);
    cluster.host = cluster_host;
    // Host configuration is read item by item, each from its line (scoped by `host::scopes`).
    let host_line = |c: &Config| c.host.first().map_or(0, |(line, _)| *line);
    ledger.read("host", &first_member.path, host_line(first_member));
    for (at, a) in std::iter::once(("members".to_string(), &member_assembly))
        .chain(pools.iter().enumerate().map(|(i, p)| (format!("pools[{i}]"), p)))
    {
        let first = &a.configs[0];
        ledger.read(format!("{at}.host"), &first.path, host_line(first));
        ledger.read(format!("{at}.host_in"), &first.path, host_line(first));
    }
    let with_host = |group: &mut Group, (own, domains): super::scopes::GroupHost| {
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
        if let Some(c) = pools.iter().find_map(|p| p.configs.first().filter(|c| c.pxe.is_some())) {
            ledger.read("boot_server", &c.path, 0);
        }
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
    cluster.network = network(std::iter::once(&member_assembly).chain(pools.iter()), ledger, findings);
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
            let config = member_assembly.configs.iter().find(|c| c.started.contains(name));
            let (path, line) = config.map_or(("", 0), |c| (c.path.as_str(), c.started_line));
            findings.push(lossy(
                path,
                line,
                format!("started instance `{name}`"),
                "not one of instances 1..N of a template here",
            ));
        }
    }
    cluster.units = units.into();
    check_membership(&member_assembly, findings);
    // Which rendered config stands for each file read: a machine's by its hostname, a pool's by
    // its group and domain.
    let mut sources = Vec::new();
    let (machine_config_path, pool_config_path): (MachinePath, PoolPath) = if flatcar {
        (ignition::machine_config_path, ignition::pool_config_path)
    } else {
        (cloud_config::machine_config_path, cloud_config::pool_config_path)
    };
    let placed_groups = cluster.placed_groups();
    for (assembly, placed) in std::iter::once(member_assembly).chain(pools).zip(&placed_groups) {
        let by_hostname: HashMap<&str, &clusterdef_model::Machine> =
            placed.machines.iter().map(|m| (m.hostname.as_str(), m)).collect();
        let by_address: HashMap<Ipv4Addr, &clusterdef_model::Machine> =
            placed.machines.iter().filter_map(|m| Some((m.address?, m))).collect();
        // Members always have configs of their own; one they share stands for the first's.
        let shared_members = placed.group_ref == clusterdef_model::GroupRef::Members;
        for config in assembly.configs {
            let rendered = match (&config.hostname, config.address) {
                (Some(h), _) => by_hostname.get(h.as_str()).map(|m| machine_config_path(m)),
                (None, Some((address, _))) => by_address.get(&address).map(|m| machine_config_path(m)),
                // One config every member runs: the first member's stands for it.
                (None, None) if shared_members => placed.machines.first().map(machine_config_path),
                (None, None) => {
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

/// The network the static addresses are on: one subnet for all, or one per failure domain.
pub(super) fn network<'a>(
    groups: impl Iterator<Item = &'a Assembly> + Clone,
    ledger: &mut Ledger,
    findings: &mut Vec<Finding>,
) -> Option<Network> {
    let mut links: Vec<(&Config, &Link)> = Vec::new();
    for g in groups.clone() {
        links.extend(g.configs.iter().filter_map(|c| Some((c, c.link.as_ref()?))));
    }
    let Some(&(first_config, first)) = links.first() else {
        // Addresses from etcd URLs alone (a DHCP reservation, the platform): the language
        // declares a static address on a subnet, which no file gives.
        let (c, (address, evidence)) = groups.flat_map(|g| g.configs.iter()).find_map(|c| Some((c, c.address?)))?;
        let subnet = Ipv4Net::new(Ipv4Net::new(address, 24).network(), 24);
        let network = Network {
            subnet,
            gateway: None,
            dns: Vec::new().into(),
            interface: "eth0".into(),
            domains: Vec::new().into(),
        };
        ledger.inferred("network", lossy(
            &c.path,
            evidence.line,
            "static networking",
            format!("the machines' addresses are read from their etcd URLs, and no `.network` unit gives their subnet: the declaration assumes {subnet} on `eth0` without a gateway, and writes a `.network` unit for each machine (here the address came from DHCP or the platform); check the subnet"),
        ), findings);
        return Some(network);
    };
    ledger.read("network", &first_config.path, first_config.line_of("address"));
    let segment = |l: &Link| (Ipv4Net::new(Ipv4Net::new(l.address, l.prefix).network(), l.prefix), l.gateway);
    for (c, l) in &links[1..] {
        if l.interface != first.interface || l.dns != first.dns {
            findings.push(lossy(
                &c.path,
                c.line_of("address"),
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
                c.line_of("address"),
                "static networking",
                "machines outside any failure domain are on different subnets",
            ));
            continue;
        };
        let (subnet, gateway) = segment(l);
        match domains.iter().find(|x| x.kind == kind && x.name == d) {
            Some(x) if x.subnet != subnet || x.gateway != gateway => findings.push(lossy(
                &c.path,
                c.line_of("address"),
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

/// Members the `initial-cluster` (or 0.4's `peers`) names that no config here runs, matched
/// as etcd matches them: by etcd name, by the peer URL a member advertises, or by the address
/// a peer URL names. Each missing member is said once, on the first file that lists it; a
/// member the declaration names differently is said by the comparison with the render, on its
/// `name:` line. O(members × entries).
pub(super) fn check_membership(members: &Assembly, findings: &mut Vec<Finding>) {
    let runs = |name: &str, url: &str| {
        let host = url_host(url).and_then(|h| h.parse::<Ipv4Addr>().ok());
        members.configs.iter().any(|x| {
            let etcd_name = x.member.as_ref().and_then(|m| m.name.as_deref());
            (!name.is_empty() && (etcd_name == Some(name) || x.hostname.as_deref() == Some(name)))
                || x.peer_url.as_deref().is_some_and(|p| p.trim_end_matches('/') == url.trim_end_matches('/'))
                || host.is_some_and(|h| x.address.is_some_and(|(a, _)| a == h))
        })
    };
    let mut said: Vec<(&str, &str)> = Vec::new();
    for c in &members.configs {
        let Some(m) = &c.member else { continue };
        for (name, url) in &m.initial_cluster {
            if runs(name, url) || said.contains(&(name.as_str(), url.as_str())) {
                continue;
            }
            said.push((name, url));
            let what =
                if name.is_empty() { format!("etcd peer `{url}`") } else { format!("initial-cluster member `{name}`") };
            findings.push(lossy(
                &c.path,
                c.line_of("initial-cluster"),
                what,
                format!("no config here runs it ({url}); the declaration has only the members it has configs for"),
            ));
        }
    }
}
