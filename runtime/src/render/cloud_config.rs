//! cloud-configs: one per machine of a fixed group, one per group and failure domain for
//! autoscaled and PXE-booted pools (their machines are alike, and take their address from DHCP
//! or the platform).
//!
//! Addresses: etcd members listen and advertise on their own address only (not on `0.0.0.0`
//! or loopback), so each member can be reached by its address and several members can share one
//! host in tests; their local fleet, locksmith and etcdctl use that address too. Workers of an
//! etcd2 cluster run a proxy on `127.0.0.1:2379` and point everything at it; workers of an etcd
//! 0.4 cluster run no etcd and list every member's endpoint.

use std::net::Ipv4Addr;

use clusterdef_model::{
    Boot, Cluster, EtcdMember, EtcdRelease, Group, GroupRef, HostItems, Machine, Owner, PlacedGroup, RebootWindow,
    Segment, UnitEntry, Windows,
};

use super::context::{Context, file_component, give_etcd_its_key};
use super::inputs::{self, Keep, Made};
use super::yaml::{self, MapBuilder, Yaml};

pub use clusterdef_model::own::FLEET_UNITS_DIR;

pub use clusterdef_model::own::ENV_FILE;

pub use clusterdef_model::own::ETCDCTL_PROFILE;

pub use clusterdef_model::own::FLEETCTL_PROFILE;

pub use clusterdef_model::own::SUBMIT_UNIT;

use clusterdef_model::own::ETCD_DROPIN;

/// The address a machine's config names for itself: its static address, or the platform's
/// `$private_ipv4` (which coreos-cloudinit substitutes; not available on PXE/bare metal).
fn host_of(address: Option<Ipv4Addr>) -> String {
    address.map_or_else(|| "$private_ipv4".to_string(), |a| a.to_string())
}

/// `https` when the cluster's etcd uses TLS, else `http`.
fn scheme(cluster: &Cluster) -> &'static str {
    if cluster.tls.is_some() { "https" } else { "http" }
}

/// The TLS file keys of a section, when the cluster has TLS: `names` are the keys for the CA,
/// the certificate and the key, in that order.
fn tls_files(cluster: &Cluster, section: MapBuilder, names: [&str; 3]) -> MapBuilder {
    match &cluster.tls {
        Some(tls) => section
            .str(names[0], tls.ca.to_string())
            .str(names[1], tls.cert.to_string())
            .str(names[2], tls.key.to_string()),
        None => section,
    }
}

/// A member's client URL as cloud-configs write it.
pub fn client_url(member: &EtcdMember) -> String {
    format!("{}://{}:{}", member.scheme(), host_of(member.address), member.client_port)
}

/// A member's peer URL as cloud-configs write it.
pub fn peer_url(member: &EtcdMember) -> String {
    format!("{}://{}:{}", member.scheme(), host_of(member.address), member.peer_port)
}

/// The path of the shared config of an autoscaled or PXE pool in a domain.
pub fn pool_config_path(group: &Group, domain: Option<usize>) -> String {
    let domain = domain.and_then(|d| group.spread.as_ref()?.domains.get(d)).map(|d| &d.name);
    match domain {
        Some(d) => format!("cloud-config/{}-{}.yml", file_component(&group.name), file_component(d)),
        None => format!("cloud-config/{}.yml", file_component(&group.name)),
    }
}

/// The path of the config of a machine that has one of its own.
pub fn machine_config_path(machine: &Machine) -> String {
    format!("cloud-config/{}.yml", file_component(&machine.hostname))
}

/// Where an etcd2 worker's proxy listens, and so where its fleet, locksmith and etcdctl point.
pub const PROXY_URL: &str = "http://127.0.0.1:2379";

/// Whether a group's machines share one config per domain rather than one each.
pub fn shares_configs(group: &Group) -> bool {
    group.shares_configs()
}

/// The etcd membership as every config writes it, worked out once per render.
pub struct Membership {
    members: Vec<EtcdMember>,
    /// `name=http://host:2380,…`, as every member's and proxy's `initial-cluster` must read.
    pub initial_cluster: String,
    /// Every member's client URL, comma-separated.
    pub client_endpoints: String,
}

impl Membership {
    /// The membership of `cluster`.
    pub fn of(cluster: &Cluster) -> Membership {
        let members = cluster.etcd_members();
        let initial_cluster =
            members.iter().map(|m| format!("{}={}", m.name, peer_url(m))).collect::<Vec<_>>().join(",");
        let client_endpoints = members.iter().map(client_url).collect::<Vec<_>>().join(",");
        Membership { members, initial_cluster, client_endpoints }
    }
}

/// Every config of the cluster, by path, but those `keep` keeps ([`super::inputs`]). Configs
/// are independent of each other, so they are formatted on every core. A config's inputs are
/// what every config shares (the membership among them), its group, and its machine and domain.
pub fn render(ctx: &Context<'_>, keep: &dyn Keep) -> Vec<Made> {
    let membership = Membership::of(ctx.cluster);
    let placed = ctx.cluster.placed_groups();
    let jobs = jobs(ctx.cluster, &placed);
    let shared = inputs::shared(ctx, "cloud-config", &membership.members);
    let groups = inputs::groups(ctx.cluster);
    crate::parallel::map(&jobs, |job| {
        let fingerprint = inputs::of_config(&shared, &groups, job.group_ref, &(job.machine, job.domain));
        Made::new(&job.path, fingerprint, keep, || yaml::document("#cloud-config", &job.config(ctx, &membership)))
    })
}

/// Every config of the cluster as a YAML value, by path.
pub fn documents(ctx: &Context<'_>) -> Vec<(String, Yaml)> {
    let membership = Membership::of(ctx.cluster);
    let placed = ctx.cluster.placed_groups();
    jobs(ctx.cluster, &placed).into_iter().map(|job| (job.path.clone(), job.config(ctx, &membership))).collect()
}

/// One config to make: a machine's own, or a pool's for one domain.
struct Job<'p> {
    path: String,
    group_ref: GroupRef,
    group: &'p Group,
    machine: Option<&'p Machine>,
    domain: Option<usize>,
}

impl Job<'_> {
    fn config(&self, ctx: &Context<'_>, membership: &Membership) -> Yaml {
        config(ctx, membership, self.group_ref, self.group, self.machine, self.domain)
    }
}

/// Every config of the cluster, in path order within each group.
fn jobs<'p>(cluster: &Cluster, placed: &'p [PlacedGroup<'p>]) -> Vec<Job<'p>> {
    let mut out = Vec::new();
    for p in placed {
        if shares_configs(p.group) {
            for domain in cluster.group_domains(p.group_ref) {
                let path = pool_config_path(p.group, domain);
                out.push(Job { path, group_ref: p.group_ref, group: p.group, machine: None, domain });
            }
        } else {
            for machine in &p.machines {
                let path = machine_config_path(machine);
                let (group_ref, group, domain) = (p.group_ref, p.group, machine.domain);
                out.push(Job { path, group_ref, group, machine: Some(machine), domain });
            }
        }
    }
    out
}

fn config(
    ctx: &Context<'_>,
    membership: &Membership,
    g: GroupRef,
    group: &Group,
    machine: Option<&Machine>,
    domain: Option<usize>,
) -> Yaml {
    let cluster = ctx.cluster;
    let is_member = g == GroupRef::Members;
    let pxe = matches!(group.boot, Boot::Pxe { .. });
    let address = machine.and_then(|m| m.address);
    // PXE machines get no `$private_ipv4`: coreos-cloudinit substitutes it only on cloud platforms.
    let host = (!pxe).then(|| host_of(address));
    let keys: Vec<Yaml> =
        cluster.ssh_keys.iter().chain(group.ssh_keys.iter()).map(|k| Yaml::str(k.to_string())).collect();

    let (client, _) = cluster.etcd_release.ports();
    let local_endpoint = match (is_member, cluster.etcd_release) {
        (true, _) => format!("{}://{}:{client}", scheme(cluster), host.clone().unwrap_or_default()),
        (false, EtcdRelease::V2) => PROXY_URL.to_string(),
        (false, EtcdRelease::V0_4) => membership.client_endpoints.clone(),
    };

    let host_items = cluster.host_items(g, domain);
    let mut coreos = MapBuilder::new();
    coreos = match (is_member, cluster.etcd_release) {
        (true, EtcdRelease::V2) => {
            coreos.set("etcd2", etcd2_member(ctx, membership, machine, host.as_deref().unwrap_or_default()))
        }
        (true, EtcdRelease::V0_4) => {
            coreos.set("etcd", etcd04_member(ctx, membership, machine, host.as_deref().unwrap_or_default()))
        }
        (false, EtcdRelease::V2) => coreos.set("etcd2", etcd2_proxy(ctx, membership)),
        (false, EtcdRelease::V0_4) => coreos,
    };
    // Clients that talk to members directly present the machine's certificate; workers of an
    // etcd2 cluster talk to their local proxy, which does.
    let direct = local_endpoint.starts_with("https://");
    let client_tls = |section: MapBuilder| {
        if direct { tls_files(cluster, section, ["etcd_cafile", "etcd_certfile", "etcd_keyfile"]) } else { section }
    };
    let fleet = client_tls(
        MapBuilder::new()
            .str("metadata", cluster.fleet_metadata(g, domain).to_fleet())
            .opt_str("public-ip", host.clone())
            .str("etcd_servers", local_endpoint.clone()),
    );
    let locksmith = client_tls(locksmith(group, domain, &local_endpoint));
    coreos = coreos
        .set("fleet", fleet.build())
        .set("locksmith", locksmith.build())
        .set(
            "update",
            MapBuilder::new()
                .str("group", cluster.channel_of(group).as_str())
                .str("reboot-strategy", group.reboot.as_str())
                .build(),
        )
        .non_empty("units", Yaml::Seq(units(cluster, is_member, ctx.segments.of(group, domain), address, &host_items)));

    MapBuilder::new()
        .opt_str("hostname", machine.map(|m| m.hostname.clone()))
        .non_empty("ssh_authorized_keys", Yaml::Seq(keys))
        .non_empty("write_files", Yaml::Seq(write_files(cluster, is_member, &local_endpoint, direct, &host_items)))
        .set("coreos", coreos.build())
        .build()
}

fn etcd2_member(ctx: &Context<'_>, membership: &Membership, machine: Option<&Machine>, host: &str) -> Yaml {
    let name = machine.map_or_else(String::new, |m| m.hostname.clone());
    let scheme = scheme(ctx.cluster);
    let client = format!("{scheme}://{host}:2379");
    let peer = format!("{scheme}://{host}:2380");
    let section = MapBuilder::new()
        .str("name", name)
        .str("advertise-client-urls", client.clone())
        .str("initial-advertise-peer-urls", peer.clone())
        .str("listen-client-urls", client)
        .str("listen-peer-urls", peer);
    let section = bootstrap(ctx, membership, section);
    // Both sides authenticate: clients and peers must present a certificate the CA signed.
    let section = tls_files(ctx.cluster, section, ["trusted-ca-file", "cert-file", "key-file"]);
    let section = tls_files(ctx.cluster, section, ["peer-trusted-ca-file", "peer-cert-file", "peer-key-file"]);
    if ctx.cluster.tls.is_some() {
        section.set("client-cert-auth", Yaml::Bool(true)).set("peer-client-cert-auth", Yaml::Bool(true)).build()
    } else {
        section.build()
    }
}

/// `initial-cluster` and its companions, or `discovery`: members and proxies must agree.
fn bootstrap(ctx: &Context<'_>, membership: &Membership, section: MapBuilder) -> MapBuilder {
    match &ctx.discovery {
        Some(url) => section.str("discovery", url.clone()),
        None => section
            .str("initial-cluster", membership.initial_cluster.clone())
            .str("initial-cluster-state", "new")
            .str("initial-cluster-token", ctx.cluster.name.to_string()),
    }
}

/// The proxy listens on loopback without TLS; towards the members it presents the machine's
/// certificate, on their client URLs (`cert-file`) and their peer URLs (`peer-cert-file`).
fn etcd2_proxy(ctx: &Context<'_>, membership: &Membership) -> Yaml {
    let section = MapBuilder::new().str("proxy", "on").str("listen-client-urls", PROXY_URL);
    let section = match &ctx.discovery {
        Some(url) => section.str("discovery", url.clone()),
        None => section.str("initial-cluster", membership.initial_cluster.clone()),
    };
    let section = tls_files(ctx.cluster, section, ["trusted-ca-file", "cert-file", "key-file"]);
    tls_files(ctx.cluster, section, ["peer-trusted-ca-file", "peer-cert-file", "peer-key-file"]).build()
}

fn etcd04_member(ctx: &Context<'_>, membership: &Membership, machine: Option<&Machine>, host: &str) -> Yaml {
    let name = machine.map_or_else(String::new, |m| m.hostname.clone());
    let section = MapBuilder::new()
        .str("name", name.clone())
        .str("addr", format!("{host}:4001"))
        .str("peer-addr", format!("{host}:7001"));
    let section = tls_files(ctx.cluster, section, ["ca-file", "cert-file", "key-file"]);
    let section = tls_files(ctx.cluster, section, ["peer-ca-file", "peer-cert-file", "peer-key-file"]);
    match &ctx.discovery {
        Some(url) => section.str("discovery", url.clone()).build(),
        None => {
            let peers: Vec<String> = membership
                .members
                .iter()
                .filter(|m| m.name != name)
                .map(|m| format!("{}:{}", host_of(m.address), m.peer_port))
                .collect();
            let section = if peers.is_empty() { section } else { section.str("peers", peers.join(",")) };
            section.build()
        }
    }
}

fn window_of(group: &Group, domain: Option<usize>) -> Option<RebootWindow> {
    match &group.windows {
        Windows::Any => None,
        Windows::All(w) => Some(*w),
        Windows::PerDomain(list) => {
            let name = domain.and_then(|d| group.spread.as_ref()?.domains.get(d))?;
            list.iter().find(|(d, _)| *d == name.name).map(|(_, w)| *w)
        }
    }
}

/// Each group has its own locksmith group, so members reboot one at a time among themselves
/// whatever the workers do.
fn locksmith(group: &Group, domain: Option<usize>, endpoint: &str) -> MapBuilder {
    let window = window_of(group, domain);
    MapBuilder::new()
        .str("endpoint", endpoint)
        .str("group", group.name.to_string())
        .opt_str("window_start", window.map(|w| w.start_text()))
        .opt_str("window_length", window.map(|w| w.length_text()))
}

/// The `.network` unit of a statically addressed machine, on its segment (its failure domain's
/// network, or the cluster's). Its `00-` prefix sorts before the image's catch-all
/// `zz-default.network`, which networkd would otherwise apply first.
pub fn network_unit(cluster: &Cluster, segment: Segment, address: Ipv4Addr) -> Option<(String, String)> {
    let net = cluster.network.as_ref()?;
    let mut content =
        format!("[Match]\nName={}\n\n[Network]\nAddress={address}/{}\n", net.interface, segment.subnet.prefix);
    if let Some(gateway) = segment.gateway {
        content.push_str(&format!("Gateway={gateway}\n"));
    }
    for dns in net.dns.iter() {
        content.push_str(&format!("DNS={dns}\n"));
    }
    Some((cluster.network_file_name()?, content))
}

fn units(
    cluster: &Cluster,
    is_member: bool,
    segment: Option<Segment>,
    address: Option<Ipv4Addr>,
    host: &HostItems<'_>,
) -> Vec<Yaml> {
    let mut out = Vec::new();
    if let Some((name, content)) = segment.zip(address).and_then(|(s, a)| network_unit(cluster, s, a)) {
        out.push(MapBuilder::new().str("name", name).set("runtime", Yaml::Bool(true)).str("content", content).build());
    }
    // The machine's own units, before clusterdef's start commands, so a drop-in on etcd2 or
    // fleet is in place when they start.
    out.extend(host_units(host));
    let command = |name: &str, command: &str| MapBuilder::new().str("name", name).str("command", command).build();
    // etcd runs as `etcd` and must read its key, which the operator copies 0600 root: a drop-in
    // gives it the key before each start (docs/rendering.md).
    let started_etcd = |name: &str| {
        let entry = MapBuilder::new().str("name", name).str("command", "start");
        match &cluster.tls {
            Some(tls) => entry
                .set(
                    "drop-ins",
                    Yaml::Seq(vec![
                        MapBuilder::new()
                            .str("name", ETCD_DROPIN)
                            .str("content", format!("[Service]\n{}", give_etcd_its_key(&tls.key, true)))
                            .build(),
                    ]),
                )
                .build(),
            None => entry.build(),
        }
    };
    match (is_member, cluster.etcd_release) {
        (_, EtcdRelease::V2) => out.push(started_etcd("etcd2.service")),
        (true, EtcdRelease::V0_4) => out.push(started_etcd("etcd.service")),
        (false, EtcdRelease::V0_4) => out.push(command("etcd.service", "stop")),
    }
    out.push(command("fleet.service", "start"));
    if is_member && !cluster.units.is_empty() {
        out.push(
            MapBuilder::new()
                .str("name", SUBMIT_UNIT)
                .str("command", "start")
                .str("content", submit_unit(cluster))
                .build(),
        );
    }
    out
}

/// The unit that hands the cluster's fleet units to fleet once it answers. Every member runs
/// it; fleet takes the same unit twice as one. Templates are submitted, the rest started, then
/// the instances a template declares (`instances: N`) are started by name: fleet instantiates
/// each from the submitted template (or, failing that, from the file in the working directory).
pub fn submit_unit(cluster: &Cluster) -> String {
    let path = |name: &str| format!("{FLEET_UNITS_DIR}/{name}");
    let (templates, units): (Vec<_>, Vec<_>) = cluster.units.iter().partition(|u| u.name.contains("@."));
    let mut text = String::from(
        "[Unit]\nDescription=Submit the cluster's fleet units\nRequires=fleet.service\nAfter=fleet.service\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nTimeoutStartSec=600\nExecStartPre=/bin/sh -c 'until /usr/bin/fleetctl list-machines >/dev/null 2>&1; do sleep 5; done'\n",
    );
    if !templates.is_empty() {
        let files: Vec<String> = templates.iter().map(|u| path(&u.name)).collect();
        text.push_str(&format!("ExecStart=/usr/bin/fleetctl submit {}\n", files.join(" ")));
    }
    if !units.is_empty() {
        let files: Vec<String> = units.iter().map(|u| path(&u.name)).collect();
        text.push_str(&format!("ExecStart=/usr/bin/fleetctl start {}\n", files.join(" ")));
    }
    let instances: Vec<String> = started_instances(cluster);
    if !instances.is_empty() {
        text.push_str(&format!("WorkingDirectory={FLEET_UNITS_DIR}\n"));
        text.push_str(&format!("ExecStart=/usr/bin/fleetctl start {}\n", instances.join(" ")));
    }
    text
}

/// The instances the members' submit unit starts, in declaration order.
pub fn started_instances(cluster: &Cluster) -> Vec<String> {
    cluster.units.iter().flat_map(clusterdef_model::Unit::started_instances).collect()
}

/// The host units and drop-ins as coreos-cloudinit's `coreos.units` entries, one per unit name
/// (its drop-ins gathered under it): `content`, `enable`, `mask`, `drop-ins`, and `command`
/// (as declared; `start` for an enabled unit, so it runs at this boot too). O(items).
fn host_units(host: &HostItems<'_>) -> Vec<Yaml> {
    host.by_unit()
        .into_iter()
        .map(|UnitEntry { name, unit, dropins }| {
            let mut entry = MapBuilder::new().str("name", name.to_string());
            if let Some(u) = unit {
                if let Some(body) = &u.body {
                    entry = entry.str("content", body.text().to_string());
                }
                if u.mask {
                    entry = entry.set("mask", Yaml::Bool(true));
                } else if u.enabled() {
                    entry = entry.set("enable", Yaml::Bool(true));
                }
                let command = u.command.map(|c| c.as_str()).or((u.enabled() && !u.mask).then_some("start"));
                if let Some(command) = command {
                    entry = entry.str("command", command);
                }
            }
            let dropins: Vec<Yaml> = dropins
                .iter()
                .map(|d| {
                    MapBuilder::new().str("name", d.name.to_string()).str("content", d.body.text().to_string()).build()
                })
                .collect();
            entry.non_empty("drop-ins", Yaml::Seq(dropins)).build()
        })
        .collect()
}

/// `owner[:group]` as coreos-cloudinit hands it to `chown`.
fn chown_spec(owner: Option<&Owner>, group: Option<&Owner>) -> Option<String> {
    let text = |o: &Owner| match o {
        Owner::Name(n) => n.to_string(),
        Owner::Id(id) => id.to_string(),
    };
    match (owner, group) {
        (None, None) => None,
        (Some(o), None) => Some(text(o)),
        (o, Some(g)) => Some(format!("{}:{}", o.map(text).unwrap_or_default(), text(g))),
    }
}

fn write_files(cluster: &Cluster, is_member: bool, endpoint: &str, direct: bool, host: &HostItems<'_>) -> Vec<Yaml> {
    let file = |path: &str, content: String| {
        MapBuilder::new().str("path", path).str("permissions", "0644").str("content", content).build()
    };
    // The endpoints as a systemd environment file, for units (`EnvironmentFile=`, then
    // `${ETCD_ENDPOINTS}`), and loaded into login shells for etcdctl.
    let mut env = format!("ETCD_ENDPOINTS={endpoint}\nETCDCTL_ENDPOINT={endpoint}\nETCDCTL_PEERS={endpoint}\n");
    if let (Some(tls), true) = (&cluster.tls, direct) {
        // etcdctl's v2 and v3 names for the same files.
        env.push_str(&format!(
            "ETCDCTL_CA_FILE={ca}\nETCDCTL_CERT_FILE={cert}\nETCDCTL_KEY_FILE={key}\nETCDCTL_CACERT={ca}\nETCDCTL_CERT={cert}\nETCDCTL_KEY={key}\n",
            ca = tls.ca,
            cert = tls.cert,
            key = tls.key
        ));
    }
    let mut out = vec![file(ENV_FILE, env), file(ETCDCTL_PROFILE, format!("set -a\n. {ENV_FILE}\nset +a\n"))];
    if cluster.etcd_release == EtcdRelease::V0_4 {
        out.push(file(
            FLEETCTL_PROFILE,
            "export FLEETCTL_ENDPOINT=unix:///var/run/fleet.sock\nexport FLEETCTL_EXPERIMENTAL_API=true\n".to_string(),
        ));
    }
    if is_member {
        for unit in cluster.units.iter() {
            out.push(file(&format!("{FLEET_UNITS_DIR}/{}", unit.name), super::fleet::unit_file(unit)));
        }
    }
    for (_, _, f) in &host.files {
        out.push(
            MapBuilder::new()
                .str("path", f.path.to_string())
                .str("permissions", format!("0{:o}", f.mode))
                .opt_str("owner", chown_spec(f.owner.as_ref(), f.group.as_ref()))
                .str("content", f.contents.text().to_string())
                .build(),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::net::Ipv4Addr;

    use clusterdef_model::{Addressing, DomainKind, Layout, Network, Size};

    use super::*;
    use crate::RenderOptions;

    fn central(release: EtcdRelease) -> Cluster {
        let mut members = Group::new("central", "central", Size::Fixed(3)).across(DomainKind::Cabinet, ["a", "b", "c"]);
        members.addressing =
            Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 13) };
        let mut cluster = Cluster::new("c", Layout::CentralServices, members);
        cluster.etcd_release = release;
        cluster.network = Some(Network::new("10.0.0.0/24".parse().expect("subnet")));
        cluster.pools = Cow::Owned(vec![Group::new("worker", "worker", Size::Fixed(1))]);
        cluster
    }

    fn texts(cluster: &Cluster) -> Vec<(String, String)> {
        render(&Context::new(cluster, &RenderOptions::default()).expect("checks"), &crate::render::KeepNothing)
            .into_iter()
            .map(|made| (made.path, made.text.expect("nothing is kept")))
            .collect()
    }

    #[test]
    fn etcd_0_4_workers_list_every_member_and_run_no_etcd() {
        let configs = texts(&central(EtcdRelease::V0_4));
        let worker = &configs.iter().find(|(p, _)| p == "cloud-config/worker-1.yml").expect("worker").1;
        let endpoints = "http://10.0.0.11:4001,http://10.0.0.12:4001,http://10.0.0.13:4001";
        assert!(worker.contains(&format!("etcd_servers: \"{endpoints}\"")), "{worker}");
        assert!(worker.contains(&format!("endpoint: \"{endpoints}\"")), "{worker}");
        assert!(worker.contains("- name: \"etcd.service\"\n      command: \"stop\""), "{worker}");
        assert!(worker.contains("FLEETCTL_ENDPOINT=unix:///var/run/fleet.sock"), "{worker}");
        assert!(!worker.contains("etcd2"), "{worker}");
        let member = &configs.iter().find(|(p, _)| p == "cloud-config/central-1.yml").expect("member").1;
        assert!(member.contains("  etcd:\n    name: \"central-1\"\n    addr: \"10.0.0.11:4001\"\n    peer-addr: \"10.0.0.11:7001\"\n    peers: \"10.0.0.12:7001,10.0.0.13:7001\""), "{member}");
    }

    #[test]
    fn etcd2_workers_proxy_through_loopback_with_the_members_list() {
        let configs = texts(&central(EtcdRelease::V2));
        let worker = &configs.iter().find(|(p, _)| p == "cloud-config/worker-1.yml").expect("worker").1;
        assert!(worker.contains("proxy: \"on\"\n    listen-client-urls: \"http://127.0.0.1:2379\"\n    initial-cluster: \"central-1=http://10.0.0.11:2380,central-2=http://10.0.0.12:2380,central-3=http://10.0.0.13:2380\""), "{worker}");
        assert!(worker.contains("etcd_servers: \"http://127.0.0.1:2379\""), "{worker}");
    }
}
