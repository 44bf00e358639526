//! The model printed back as the language: a `.cluster` declaration (the body of `cluster! { … }`)
//! that compiles to the same [`Cluster`]. What the importer and the synthetic inputs of the
//! benchmarks write; settings at their defaults are left out, as a person would.

use std::fmt::Write as _;

use clusterdef_model::{
    Addressing, Boot, Bootstrap, Channel, Cluster, DomainKind, EtcdRelease, Group, GroupRef, Hostnames, Layout,
    Network, Os, RebootStrategy, Size, Unit, UnitBody, Windows,
};

use crate::symbol;

/// A name as the language writes it: a bare word where the grammar reads one back unchanged,
/// else a string literal.
fn name(text: &str) -> String {
    let bare = text.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && text.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !symbol::RESERVED.contains(&text);
    if bare { text.to_string() } else { string(text) }
}

/// A string literal holding `text` exactly.
fn string(text: &str) -> String {
    format!("{text:?}")
}

/// A list of string literals.
fn strings<S: AsRef<str>>(items: &[S]) -> String {
    let items: Vec<String> = items.iter().map(|s| string(s.as_ref())).collect();
    format!("[{}]", items.join(", "))
}

/// `cluster`, declared in the language.
pub fn print(cluster: &Cluster) -> String {
    let mut out = String::new();
    let mut entry = |text: String| {
        out.push_str(&text);
        out.push_str(",\n");
    };
    entry(format!("name: {}", string(&cluster.name)));
    if cluster.os != Os::CoreOs {
        entry(format!("os: {}", cluster.os.as_str()));
    }
    if cluster.production {
        entry("production: true".to_string());
    }
    if cluster.etcd_release == EtcdRelease::V0_4 {
        entry("etcd: 0.4".to_string());
    }
    if cluster.channel != Channel::Stable {
        entry(format!("channel: {}", cluster.channel.as_str()));
    }
    if let Some(tls) = &cluster.tls {
        entry(format!("tls: {{ ca: {}, cert: {}, key: {} }}", string(&tls.ca), string(&tls.cert), string(&tls.key)));
    }
    if let Some(k) = &cluster.kubernetes {
        let mut parts = vec![format!("version: {}", string(&k.version))];
        if k.services != clusterdef_model::Kubernetes::DEFAULT_SERVICES {
            parts.push(format!("services: {}", string(&k.services.to_string())));
        }
        if k.pods != clusterdef_model::Kubernetes::DEFAULT_PODS {
            parts.push(format!("pods: {}", string(&k.pods.to_string())));
        }
        if k.cni != clusterdef_model::Cni::default() {
            parts.push(format!("cni: {}", k.cni.as_str()));
        }
        if k.eviction_seconds != clusterdef_model::Kubernetes::DEFAULT_EVICTION_SECONDS {
            parts.push(format!("eviction_after: {}", k.eviction_seconds));
        }
        entry(format!("kubernetes: {{ {} }}", parts.join(", ")));
    }
    if !cluster.ssh_keys.is_empty() {
        entry(format!("ssh_keys: {}", strings(&cluster.ssh_keys)));
    }
    if let Some(net) = &cluster.network {
        let mut parts = vec![format!("subnet: {}", string(&net.subnet.to_string()))];
        if let Some(g) = net.gateway {
            parts.push(format!("gateway: {}", string(&g.to_string())));
        }
        if !net.dns.is_empty() {
            let dns: Vec<String> = net.dns.iter().map(|a| a.to_string()).collect();
            parts.push(format!("dns: {}", strings(&dns)));
        }
        if net.interface != Network::DEFAULT_INTERFACE {
            parts.push(format!("interface: {}", string(&net.interface)));
        }
        for kind in [DomainKind::Zone, DomainKind::Cabinet] {
            let domains: Vec<String> = net
                .domains
                .iter()
                .filter(|d| d.kind == kind)
                .map(|d| {
                    let gateway = d.gateway.map_or(String::new(), |g| format!(", gateway: {}", string(&g.to_string())));
                    format!("{}: {{ subnet: {}{gateway} }}", name(&d.name), string(&d.subnet.to_string()))
                })
                .collect();
            if !domains.is_empty() {
                parts.push(format!("{}: {{ {} }}", kind.plural(), domains.join(", ")));
            }
        }
        entry(format!("network: {{ {} }}", parts.join(", ")));
    }
    let derived = if cluster.members.addressing.is_static() { Bootstrap::Static } else { Bootstrap::Discovery(None) };
    if cluster.bootstrap != derived {
        entry(match &cluster.bootstrap {
            Bootstrap::Static => "bootstrap: static".to_string(),
            Bootstrap::Discovery(None) => "bootstrap: discovery".to_string(),
            Bootstrap::Discovery(Some(url)) => format!("bootstrap: discovery {}", string(url)),
        });
    }
    if let Some(url) = &cluster.boot_server {
        match cluster.boot_server_kind.keyword() {
            Some(kind) => entry(format!("boot_server: {kind} {}", string(url))),
            None => entry(format!("boot_server: {}", string(url))),
        }
    }
    entry(members(cluster));
    for (i, pool) in cluster.pools.iter().enumerate() {
        let spec = group(cluster, GroupRef::Pool(i), pool, true);
        entry(if pool.name == "worker" {
            format!("workers: {spec}")
        } else {
            format!("pool {}: {spec}", name(&pool.name))
        });
    }
    for unit in cluster.units.iter() {
        entry(unit_entry(unit));
    }
    if !cluster.host.is_empty() {
        entry(format!("host: {}", host(&cluster.host)));
    }
    for allow in cluster.allows.iter() {
        entry(format!("allow({}, reason = {})", allow.rule.name(), string(&allow.reason)));
    }
    out
}

fn members(cluster: &Cluster) -> String {
    let key = cluster.layout.members_key();
    if cluster.layout == Layout::DevTest
        && let (Addressing::List(list), Size::Fixed(1)) = (&cluster.members.addressing, cluster.members.size)
        && let [address] = &list[..]
    {
        let mut node = cluster.members.clone();
        node.addressing = Addressing::Dhcp;
        let options = options(cluster, GroupRef::Members, &node);
        return format!("{key}: {}{options}", string(&address.to_string()));
    }
    format!("{key}: {}", group(cluster, GroupRef::Members, &cluster.members, true))
}

/// A group's size, spread and options, as after `central:` or `pool NAME:`.
fn group(cluster: &Cluster, g: GroupRef, group: &Group, with_options: bool) -> String {
    let mut out = match group.size {
        Size::Fixed(n) => n.to_string(),
        Size::Autoscale { min: None, max: None } => "autoscale".to_string(),
        Size::Autoscale { min, max: None } => format!("autoscale {}..", min.unwrap_or(0)),
        Size::Autoscale { min, max: Some(max) } => {
            format!("autoscale {}..={max}", min.map_or(String::new(), |m| m.to_string()))
        }
    };
    if let Some(spread) = &group.spread {
        let domains: Vec<String> = spread
            .domains
            .iter()
            .map(|d| match d.count {
                Some(c) => format!("{}: {c}", name(&d.name)),
                None => name(&d.name),
            })
            .collect();
        let _ = write!(out, " across {} [{}]", spread.kind.plural(), domains.join(", "));
    }
    if with_options {
        out.push_str(&options(cluster, g, group));
    }
    out
}

/// ` { option, … }`, or nothing when every option is at its default.
fn options(cluster: &Cluster, g: GroupRef, group: &Group) -> String {
    let mut parts = Vec::new();
    match &group.addressing {
        Addressing::Dhcp => {}
        Addressing::Range { first, last } => {
            parts.push(format!("addresses: {}..={}", string(&first.to_string()), string(&last.to_string())))
        }
        Addressing::List(list) => {
            let list: Vec<String> = list.iter().map(|a| a.to_string()).collect();
            parts.push(format!("addresses: {}", strings(&list)));
        }
    }
    match &group.hostnames {
        Hostnames::Default => {}
        Hostnames::Pattern(p) => parts.push(format!("hostnames: {}", string(p))),
        Hostnames::List(list) => {
            let names: Vec<String> = list.iter().map(|h| name(h)).collect();
            parts.push(format!("hostnames: [{}]", names.join(", ")));
        }
    }
    if let Some(channel) = group.channel {
        parts.push(format!("channel: {}", channel.as_str()));
    }
    if !group.metadata.is_empty() {
        let entries: Vec<String> = group.metadata.iter().map(|(k, v)| format!("{} = {}", name(k), name(v))).collect();
        parts.push(format!("metadata: {{ {} }}", entries.join(", ")));
    }
    let default_role = match g {
        GroupRef::Members => cluster.layout.default_role(),
        GroupRef::Pool(_) => "worker",
    };
    if group.role != default_role {
        parts.push(format!("role: {}", name(&group.role)));
    }
    if group.reboot != RebootStrategy::EtcdLock {
        parts.push(format!("reboot: {}", if group.reboot == RebootStrategy::Off { "off" } else { "reboot" }));
    }
    match &group.windows {
        Windows::Any => {}
        Windows::All(w) => parts.push(format!("window: {} for {}", string(&w.start_text()), string(&w.length_text()))),
        Windows::PerDomain(list) => {
            let windows: Vec<String> = list
                .iter()
                .map(|(d, w)| format!("{}: {} for {}", name(d), string(&w.start_text()), string(&w.length_text())))
                .collect();
            parts.push(format!("window: {{ {} }}", windows.join(", ")));
        }
    }
    if !group.ssh_keys.is_empty() {
        parts.push(format!("ssh_keys: {}", strings(&group.ssh_keys)));
    }
    match &group.boot {
        Boot::Disk => {}
        Boot::Pxe { url: None } => parts.push("boot: pxe".to_string()),
        Boot::Pxe { url: Some(url) } => parts.push(format!("boot: pxe {}", string(url))),
    }
    if !group.inventory.is_empty() {
        if group.inventory.iter().all(|e| e.domain.is_none()) {
            let macs: Vec<&str> = group.inventory.iter().map(|e| &*e.mac).collect();
            parts.push(format!("inventory: {}", strings(&macs)));
        } else {
            let entries: Vec<String> = group
                .inventory
                .iter()
                .map(|e| format!("{}: {}", string(&e.mac), name(e.domain.as_deref().unwrap_or_default())))
                .collect();
            parts.push(format!("inventory: {{ {} }}", entries.join(", ")));
        }
    }
    if !group.macs.is_empty() {
        parts.push(format!("macs: {}", strings(&group.macs)));
    }
    if let Some(disk) = &group.install_disk {
        parts.push(format!("install_disk: {}", string(disk)));
    }
    if !group.host.is_empty() {
        parts.push(format!("host: {}", host(&group.host)));
    }
    if !group.host_in.is_empty() {
        let domains: Vec<String> = group.host_in.iter().map(|(d, h)| format!("{}: {}", name(d), host(h))).collect();
        parts.push(format!("host_in: {{ {} }}", domains.join(", ")));
    }
    if parts.is_empty() { String::new() } else { format!(" {{ {} }}", parts.join(", ")) }
}

/// A body as the language writes it after `key:`.
fn body_text(key: &str, body: &UnitBody) -> String {
    match body {
        UnitBody::Inline(text) => format!("{key}: {}", string(text)),
        UnitBody::File { path, .. } => format!("{key}: file {}", string(path)),
    }
}

/// A user or group as the language writes it.
fn owner(o: &clusterdef_model::Owner) -> String {
    match o {
        clusterdef_model::Owner::Name(n) => string(n),
        clusterdef_model::Owner::Id(id) => id.to_string(),
    }
}

/// `{ file "…" { … }, unit "…" { … }, dropin "…" "…" { … } }`.
fn host(config: &clusterdef_model::HostConfig) -> String {
    let mut items = Vec::new();
    for f in config.files.iter() {
        let mut parts = vec![body_text("contents", &f.contents)];
        if f.mode != 0o644 {
            parts.push(format!("mode: 0o{:o}", f.mode));
        }
        if let Some(o) = &f.owner {
            parts.push(format!("owner: {}", owner(o)));
        }
        if let Some(g) = &f.group {
            parts.push(format!("group: {}", owner(g)));
        }
        items.push(format!("file {} {{ {} }}", string(&f.path), parts.join(", ")));
    }
    for u in config.units.iter() {
        let mut parts = Vec::new();
        if let Some(b) = &u.body {
            parts.push(body_text("body", b));
        }
        if let Some(e) = u.enable {
            parts.push(format!("enable: {e}"));
        }
        if u.mask {
            parts.push("mask".to_string());
        }
        if let Some(c) = u.command {
            parts.push(format!("command: {}", c.as_str()));
        }
        items.push(format!("unit {} {{ {} }}", string(&u.name), parts.join(", ")));
    }
    for d in config.dropins.iter() {
        items.push(format!("dropin {} {} {{ {} }}", string(&d.unit), string(&d.name), body_text("body", &d.body)));
    }
    format!("{{ {} }}", items.join(", "))
}

fn unit_entry(unit: &Unit) -> String {
    let mut parts = Vec::new();
    if unit.global {
        parts.push("global".to_string());
    }
    if !unit.machine_metadata.is_empty() {
        let reqs: Vec<String> = unit
            .machine_metadata
            .iter()
            .map(|req| match &req.values[..] {
                [one] => format!("{} = {}", name(&req.key), name(one)),
                values => {
                    let values: Vec<String> = values.iter().map(|v| name(v)).collect();
                    format!("{} = [{}]", name(&req.key), values.join(", "))
                }
            })
            .collect();
        parts.push(format!("metadata: {{ {} }}", reqs.join(", ")));
    }
    if !unit.conflicts.is_empty() {
        parts.push(format!("conflicts: {}", strings(&unit.conflicts)));
    }
    if let Some(target) = &unit.machine_of {
        parts.push(format!("machine_of: {}", string(target)));
    }
    if let Some(id) = &unit.machine_id {
        parts.push(format!("machine_id: {}", string(id)));
    }
    if !unit.replaces.is_empty() {
        parts.push(format!("replaces: {}", strings(&unit.replaces)));
    }
    if let Some(n) = unit.instances {
        parts.push(format!("instances: {n}"));
    }
    if let Some(c) = &unit.container {
        parts.push(format!("image: {}", string(&c.image)));
        if !c.command.is_empty() {
            parts.push(format!("command: {}", strings(&c.command)));
        }
        if !c.ports.is_empty() {
            let ports: Vec<String> = c.ports.iter().map(u16::to_string).collect();
            parts.push(format!("ports: [{}]", ports.join(", ")));
        }
        if !c.env.is_empty() {
            parts.push(format!("env: {}", strings(&c.env)));
        }
    }
    // A workload's image is what it runs; an empty body is left out.
    if unit.container.is_none() || !unit.body.text().is_empty() {
        parts.push(body_text("body", &unit.body));
    }
    format!("unit {} {{ {} }}", string(&unit.name), parts.join(", "))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use clusterdef_model::synthetic::{cluster, random_cluster};

    use super::*;

    /// Prints `cluster` and compiles the text back; the two must be the same cluster.
    fn round_trip(cluster: &Cluster, load: crate::FileLoader<'_>) {
        let text = print(cluster);
        let source = crate::source::compile_source(&text, load);
        let back = source.unwrap_or_else(|e| panic!("the printed cluster does not compile: {e:?}\n{text}"));
        assert_eq!(back.cluster(), cluster, "the printed cluster compiles to another one:\n{text}");
    }

    #[test]
    fn host_configuration_at_every_scope_prints_and_compiles_back() {
        let text = "central: 3 across cabinets [a, b, c] { host: { unit \"data.mount\" { body: \"[Mount]\\nWhat=/dev/vdb\\nWhere=/data\\n\", enable: false } }, host_in: { b: { dropin \"docker.service\" \"10-x.conf\" { body: \"[Service]\\nLimitNOFILE=1\\n\" } } } }, host: { file \"/etc/motd\" { contents: \"hi\\n\", mode: 0o600, owner: \"core\", group: 500 }, unit \"timesync.service\" { mask }, unit \"x.service\" { command: restart } }";
        let compiled =
            crate::source::compile_source(text, &|p| Err(p.to_string())).expect("compiles").checked.into_cluster();
        assert_eq!(compiled.host.files[0].mode, 0o600);
        assert_eq!(compiled.members.host_in[0].0, "b");
        round_trip(&compiled, &|p| Err(p.to_string()));
        assert!(print(&compiled).contains("mode: 0o600"), "{}", print(&compiled));
    }

    /// A cluster served by matchbox: the boot server's kind, MAC addresses and the install disk
    /// print and compile back.
    #[test]
    fn a_matchbox_cluster_prints_and_compiles_back() {
        let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus/matchbox.cluster");
        let text = std::fs::read_to_string(corpus).expect("the corpus file");
        let compiled =
            crate::source::compile_source(&text, &|p| Err(p.to_string())).expect("compiles").checked.into_cluster();
        assert_eq!(compiled.boot_server_kind, clusterdef_model::BootServerKind::Matchbox);
        assert!(compiled.members.install_disk.is_some() && compiled.members.macs.len() == 3);
        round_trip(&compiled, &|p| Err(p.to_string()));
        let printed = print(&compiled);
        assert!(printed.contains("boot_server: matchbox \"") && printed.contains("install_disk: "), "{printed}");
    }

    #[test]
    fn printed_clusters_compile_to_themselves() {
        let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
        let load = |p: &str| std::fs::read_to_string(examples.join(p)).map_err(|e| e.to_string());
        let production = std::fs::read_to_string(examples.join("cluster/production.cluster")).expect("the example");
        let production =
            crate::source::compile_source(&production, &load).expect("the example compiles").checked.into_cluster();
        round_trip(&production, &load);
        round_trip(&cluster(1_000, 20), &load);
        let seed: u64 = std::env::var("CLUSTERDEF_PRINT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
        for i in 0..300 {
            let (random, drawn) = random_cluster(seed.wrapping_add(i));
            let text = print(&random);
            let back = crate::source::compile_source(&text, &load)
                .unwrap_or_else(|e| panic!("seed {drawn}: the printed cluster does not compile: {e:?}\n{text}"));
            assert_eq!(back.cluster(), &random, "seed {drawn}: the printed cluster compiles to another one:\n{text}");
        }
    }

    #[test]
    fn names_are_bare_where_they_read_back_unchanged() {
        assert_eq!(name("one"), "one");
        assert_eq!(name("us-east-1a"), "\"us-east-1a\"");
        assert_eq!(name("true"), "\"true\"");
        assert_eq!(name("1"), "\"1\"");
    }
}
