//! Ignition configs (spec 3.3.0) for Flatcar Container Linux: one per machine of a fixed group,
//! one per pool and failure domain for autoscaled and PXE pools, as the cloud-config renderer
//! splits them.
//!
//! - The spec is 3.3.0: the newest that Debian's `ignition-validate` (2.14) and every Flatcar
//!   with spec-3 Ignition (LTS 2023 included) accept, and what Butane's `flatcar` 1.0.0 emits.
//! - Every file clusterdef writes has `overwrite: true` (Flatcar's `/etc` already holds image
//!   files such as `update.conf`), and its contents are a `data:` URL, so nothing is fetched.
//! - Members run `etcd-member.service` (etcd 3.5 in Docker), configured only through
//!   `Environment=ETCD_*` lines in a drop-in: etcd aborts when a setting comes both as a flag
//!   and from the environment, and the wrapper always exports some. TLS files are passed as
//!   `ETCD_SSL_DIR` (mounted at `/etc/ssl/certs` in the container) and container paths.
//! - Workers reach etcd through `etcd gateway` on `127.0.0.1:2379`, in a unit of its own: it
//!   forwards TCP to the members, so both the v2 API (locksmith) and v3 work, unlike the
//!   grpc-proxy (v3 only); the v2 proxy the CoreOS workers ran is gone from etcd 3.6.
//! - Updates and reboots: `/etc/flatcar/update.conf` carries `GROUP`, `REBOOT_STRATEGY` and the
//!   `LOCKSMITHD_*` settings (locksmithd loads the file as its environment). Members enable the
//!   v2 API where locksmith takes its lock (`etcd-lock`), since locksmith speaks v2.
//! - Units are placed now (`Cluster::compile_placement`): each config carries exactly the units
//!   placed on its machines, enabled, with an `[Install]` section added where the body has none.

use std::collections::BTreeMap;

use clusterdef_model::{
    Cluster, DropIn, EtcdMember, Group, GroupRef, Host, HostFile, Machine, Owner, PlacedGroup, RebootStrategy, Unit,
    UnitEntry, Windows,
};

use super::cloud_config::{client_url, network_unit, peer_url};
use super::context::{Context, EtcdJoin, file_component, give_etcd_its_key};
use super::inputs::{self, Keep, Made};
use super::json::Json;

/// The Ignition spec version every config declares.
pub const SPEC: &str = "3.3.0";

/// The etcd image Flatcar's `etcd-member.service` and the workers' gateway run.
pub const ETCD_IMAGE: &str = "quay.io/coreos/etcd:v3.5.16";

pub use clusterdef_model::own::ETCD_DROPIN;

/// Where the workers' gateway listens, and so where their locksmith and etcdctl point.
pub const GATEWAY_ADDR: &str = "127.0.0.1:2379";

/// The host part of [`GATEWAY_ADDR`]: the name a worker's clients verify a member's
/// certificate against, through the gateway.
pub const GATEWAY_HOST: &str = "127.0.0.1";

pub use clusterdef_model::own::GATEWAY_UNIT;

/// Where Flatcar's etcd container sees the TLS directory.
const CONTAINER_SSL_DIR: &str = "/etc/ssl/certs";

/// The path of a machine's own config.
pub fn machine_config_path(machine: &Machine) -> String {
    format!("ignition/{}.ign", file_component(&machine.hostname))
}

/// The path of the shared config of an autoscaled or PXE pool in a domain.
pub fn pool_config_path(group: &Group, domain: Option<usize>) -> String {
    match domain.and_then(|d| group.spread.as_ref()?.domains.get(d)) {
        Some(d) => format!("ignition/{}-{}.ign", file_component(&group.name), file_component(&d.name)),
        None => format!("ignition/{}.ign", file_component(&group.name)),
    }
}

/// One config to make.
struct Job<'p> {
    path: String,
    host: Host,
    group_ref: GroupRef,
    group: &'p Group,
    machine: Option<&'p Machine>,
    domain: Option<usize>,
}

/// Every config of the cluster, by path, but those `keep` keeps ([`super::inputs`]); with
/// Kubernetes, each carries its part of `kubernetes`. A config's inputs are what every config
/// shares (the members, and the Kubernetes configuration as built), its group, and its machine,
/// domain and the units placed on it.
pub fn render(ctx: &Context<'_>, kubernetes: Option<&super::kubernetes::Prepared>, keep: &dyn Keep) -> Vec<Made> {
    let cluster = ctx.cluster;
    let members = cluster.etcd_members();
    let on_host = units_by_host(cluster, &ctx.review.placement);
    let shared = Shared {
        cluster,
        segments: &ctx.segments,
        join: ctx.etcd_join.as_ref(),
        gateway: Json::obj([
            ("name", Some(Json::str(GATEWAY_UNIT))),
            ("enabled", Some(Json::Bool(true))),
            ("contents", Some(Json::str(gateway_unit(&members)))),
        ])
        .shared(),
        units: cluster
            .units
            .iter()
            .zip(&ctx.review.placement)
            .map(|(unit, hosts)| (!hosts.is_empty()).then(|| PreparedUnit::new(unit)))
            .collect(),
        kubernetes,
        members,
    };
    let placed = cluster.placed_groups();
    let jobs = jobs(cluster, &placed);
    let inputs = inputs::shared(ctx, "ignition", &(&shared.members, kubernetes));
    let groups = inputs::groups(cluster);
    crate::parallel::map(&jobs, |job| {
        let here = on_host.get(&job.host).map_or(&[][..], Vec::as_slice);
        let fingerprint = inputs::of_config(&inputs, &groups, job.group_ref, &(job.machine, job.domain, here));
        Made::new(&job.path, fingerprint, keep, || config(&shared, here, job).to_text())
    })
}

/// What many configs carry alike, built once per render: with thousands of machines, the
/// units and the gateway are escaped and percent-encoded once, not once per machine.
struct Shared<'c> {
    cluster: &'c Cluster,
    /// Each machine's network segment, indexed once.
    segments: &'c clusterdef_model::Segments<'c>,
    members: Vec<EtcdMember>,
    /// The workers' gateway unit entry.
    gateway: Json,
    /// Per unit of the cluster (`None` where it is placed nowhere).
    units: Vec<Option<PreparedUnit>>,
    /// The Kubernetes configuration, when the cluster runs it.
    kubernetes: Option<&'c super::kubernetes::Prepared>,
    /// A member joining a running cluster (one step of a change).
    join: Option<&'c EtcdJoin>,
}

/// A placed unit as every config that carries it writes it.
struct PreparedUnit {
    /// The unit's entry: enabled, or for a template, the template alone.
    entry: Json,
    /// For a template: its path, and the directories an enabled instance links from.
    template: Option<(String, Vec<String>)>,
}

impl PreparedUnit {
    /// The unit's entry; a body without an `[Install]` section gets one, so enabling it works.
    fn new(unit: &Unit) -> PreparedUnit {
        let mut body = unit.body.text().trim_end_matches('\n').to_string();
        body.push('\n');
        if !clusterdef_model::unit_file::has_install_section(&body) {
            body.push_str("\n[Install]\nWantedBy=multi-user.target\n");
        }
        let name = Some(Json::str(unit.name.to_string()));
        if !unit.is_template() {
            let entry =
                Json::obj([("name", name), ("enabled", Some(Json::Bool(true))), ("contents", Some(Json::Str(body)))]);
            return PreparedUnit { entry: entry.shared(), template: None };
        }
        let template = (format!("/etc/systemd/system/{}", unit.name), clusterdef_model::unit_file::install_dirs(&body));
        let entry = Json::obj([("name", name), ("contents", Some(Json::Str(body)))]);
        PreparedUnit { entry: entry.shared(), template: Some(template) }
    }

    /// The unit's entry, and for a template the links that enable the instances placed here
    /// the way `systemctl enable` does, in each directory its `[Install]` section names.
    /// (Enabling an instance through Ignition's preset needs a running systemd manager, which
    /// the initramfs has and nothing else does; a link works wherever it is applied.)
    fn entries(&self, instances: &[String], links: &mut Vec<Json>) -> Json {
        if let Some((template, dirs)) = &self.template {
            for instance in instances {
                links.extend(dirs.iter().map(|dir| {
                    Json::obj([
                        ("path", Some(Json::str(format!("/etc/systemd/system/{dir}/{instance}")))),
                        ("target", Some(Json::str(template.as_str()))),
                        ("overwrite", Some(Json::Bool(true))),
                    ])
                }));
            }
        }
        self.entry.clone()
    }
}

/// The units each host runs, in declaration order, with the names that run there
/// (`Unit::placed_names`). Built once, so each config looks up its own.
fn units_by_host(cluster: &Cluster, placement: &[Vec<Host>]) -> BTreeMap<Host, Vec<(usize, Vec<String>)>> {
    let mut out: BTreeMap<Host, Vec<(usize, Vec<String>)>> = BTreeMap::new();
    for (u, unit) in cluster.units.iter().enumerate() {
        let hosts = placement.get(u).map_or(&[][..], Vec::as_slice);
        for (host, name) in unit.placed_names(hosts) {
            let entries = out.entry(host).or_default();
            match entries.last_mut() {
                Some((last, list)) if *last == u => list.push(name),
                _ => entries.push((u, vec![name])),
            }
        }
    }
    out
}

fn jobs<'p>(cluster: &Cluster, placed: &'p [PlacedGroup<'p>]) -> Vec<Job<'p>> {
    let mut out = Vec::new();
    for p in placed {
        if p.group.shares_configs() {
            for domain in cluster.group_domains(p.group_ref) {
                let (path, host) = (pool_config_path(p.group, domain), Host::Pool(p.group_ref, domain));
                out.push(Job { path, host, group_ref: p.group_ref, group: p.group, machine: None, domain });
            }
        } else {
            for m in &p.machines {
                let (path, host) = (machine_config_path(m), Host::Machine(p.group_ref, m.index));
                out.push(Job {
                    path,
                    host,
                    group_ref: p.group_ref,
                    group: p.group,
                    machine: Some(m),
                    domain: m.domain,
                });
            }
        }
    }
    out
}

/// A host file as Ignition writes it: its mode, owner and group (by name or id), replacing
/// whatever is there.
fn host_file(f: &HostFile) -> Json {
    let account = |o: &Owner| match o {
        Owner::Name(n) => Json::obj([("name", Some(Json::str(n.to_string()))), ("id", None)]),
        Owner::Id(id) => Json::obj([("name", None), ("id", Some(Json::Int(i64::from(*id))))]),
    };
    Json::obj([
        ("path", Some(Json::str(f.path.to_string()))),
        ("mode", Some(Json::Int(i64::from(f.mode)))),
        ("overwrite", Some(Json::Bool(true))),
        ("user", f.owner.as_ref().map(account)),
        ("group", f.group.as_ref().map(account)),
        ("contents", Some(Json::obj([("source", Some(Json::data_url(f.contents.text().as_bytes())))]))),
    ])
}

/// The host units and drop-ins as Ignition's `systemd.units` entries, one per unit name:
/// `contents`, `enabled` (an enabled unit starts at first boot), `mask`, `dropins`. Drop-ins on
/// `etcd-member.service` are already in clusterdef's entry for a member. O(items).
fn host_units(entries: &[UnitEntry<'_>], member: bool) -> Vec<Json> {
    entries
        .iter()
        .filter(|e| !(member && e.name == "etcd-member.service"))
        .map(|UnitEntry { name, unit, dropins }| {
            Json::obj([
                ("name", Some(Json::str(*name))),
                ("contents", unit.and_then(|u| u.body.as_ref()).map(|b| Json::str(b.text()))),
                (
                    "enabled",
                    unit.filter(|u| !u.mask && (u.enable.is_some() || u.enabled())).map(|u| Json::Bool(u.enabled())),
                ),
                ("mask", unit.filter(|u| u.mask).map(|_| Json::Bool(true))),
                ("dropins", (!dropins.is_empty()).then(|| Json::Arr(dropins.iter().map(|d| dropin(d)).collect()))),
            ])
        })
        .collect()
}

/// A drop-in as Ignition writes it.
fn dropin(d: &DropIn) -> Json {
    Json::obj([("name", Some(Json::str(d.name.to_string()))), ("contents", Some(Json::str(d.body.text())))])
}

/// `passwd` with user `core` authorized for the cluster's and `group`'s SSH keys (none: no key).
pub(super) fn core_user(cluster: &Cluster, group: &Group) -> Option<Json> {
    let keys: Vec<Json> =
        cluster.ssh_keys.iter().chain(group.ssh_keys.iter()).map(|k| Json::str(k.to_string())).collect();
    (!keys.is_empty()).then(|| {
        Json::obj([(
            "users",
            Some(Json::Arr(vec![Json::obj([
                ("name", Some(Json::str("core"))),
                ("sshAuthorizedKeys", Some(Json::Arr(keys))),
            ])])),
        )])
    })
}

/// A file clusterdef owns: replaced whatever is there, contents inline.
pub(super) fn file(path: &str, mode: i64, contents: &str) -> Json {
    Json::obj([
        ("path", Some(Json::str(path))),
        ("mode", Some(Json::Int(mode))),
        ("overwrite", Some(Json::Bool(true))),
        ("contents", Some(Json::obj([("source", Some(Json::data_url(contents.as_bytes())))]))),
    ])
}

fn config(shared: &Shared<'_>, here: &[(usize, Vec<String>)], job: &Job<'_>) -> Json {
    let (cluster, members) = (shared.cluster, shared.members.as_slice());
    let is_member = job.group_ref == GroupRef::Members;
    let mut files = Vec::new();
    if let Some(m) = job.machine {
        files.push(file("/etc/hostname", 0o644, &format!("{}\n", m.hostname)));
        let segment = shared.segments.of(job.group, m.domain);
        if let Some((name, content)) = segment.zip(m.address).and_then(|(s, a)| network_unit(cluster, s, a)) {
            files.push(file(&format!("/etc/systemd/network/{name}"), 0o644, &content));
        }
    }
    let member = job.machine.filter(|_| is_member).and_then(|m| members.iter().find(|e| e.name == m.hostname));
    // The gateway forwards TCP, so a worker's clients speak the members' scheme (and, with TLS,
    // present the machine's certificate) through it.
    let endpoint = match member {
        Some(member) => client_url(member),
        None => format!("{}://{GATEWAY_ADDR}", if cluster.tls.is_some() { "https" } else { "http" }),
    };
    files.push(file("/etc/flatcar/update.conf", 0o644, &update_conf(cluster, job, &endpoint)));
    let mut host = cluster.host_items(job.group_ref, job.domain);
    // Kubernetes' files and units go through the same writers as the declared ones
    // (`host_collision` keeps the two apart: they are clusterdef's own).
    let kubernetes =
        shared.kubernetes.as_ref().map(|k| k.machine_host(job.group_ref, job.domain, job.machine)).unwrap_or_default();
    host.files.extend(kubernetes.files.iter().enumerate().map(|(i, f)| (clusterdef_model::HostScope::Cluster, i, f)));
    host.units.extend(kubernetes.units.iter().enumerate().map(|(i, u)| (clusterdef_model::HostScope::Cluster, i, u)));
    files.extend(host.files.iter().map(|(_, _, f)| host_file(f)));

    let mut units = Vec::new();
    let by_unit = host.by_unit();
    match member {
        Some(member) => {
            // Ignition takes one entry per unit: the machine's own drop-ins on etcd-member join
            // clusterdef's (`host_collision` keeps their names apart).
            let mut dropins = vec![Json::obj([
                ("name", Some(Json::str(ETCD_DROPIN))),
                ("contents", Some(Json::str(etcd_dropin(cluster, members, member, shared.join)))),
            ])];
            let own = by_unit.iter().filter(|e| e.name == "etcd-member.service");
            dropins.extend(own.flat_map(|e| e.dropins.iter().map(|d| dropin(d))));
            units.push(Json::obj([
                ("name", Some(Json::str("etcd-member.service"))),
                ("enabled", Some(Json::Bool(true))),
                ("dropins", Some(Json::Arr(dropins))),
            ]))
        }
        None => units.push(shared.gateway.clone()),
    }
    units.extend(host_units(&by_unit, member.is_some()));
    let mut links = Vec::new();
    for (u, names) in here {
        if let Some(Some(prepared)) = shared.units.get(*u) {
            units.push(prepared.entries(names, &mut links));
        }
    }

    let passwd = core_user(cluster, job.group);
    Json::obj([
        ("ignition", Some(Json::obj([("version", Some(Json::str(SPEC)))]))),
        ("passwd", passwd),
        (
            "storage",
            Some(Json::obj([
                ("files", Some(Json::Arr(files))),
                ("links", (!links.is_empty()).then_some(Json::Arr(links))),
            ])),
        ),
        ("systemd", Some(Json::obj([("units", Some(Json::Arr(units)))]))),
    ])
}

/// One `Environment=` line that gives `key` exactly `value` as systemd reads it: systemd
/// expands specifiers on the whole line before splitting it into words, so `%` is written `%%`;
/// the assignment is one double-quoted word (a value with spaces stays whole), in which `\` and
/// `"` are escaped. O(value).
pub fn environment_line(key: &str, value: &str) -> String {
    let mut line = format!("Environment=\"{key}=");
    for c in value.chars() {
        match c {
            '%' => line.push_str("%%"),
            '\\' | '"' => {
                line.push('\\');
                line.push(c);
            }
            c => line.push(c),
        }
    }
    line.push_str("\"\n");
    line
}

/// The member's `etcd-member.service` drop-in: `Environment=ETCD_*` lines and, with TLS, the
/// step that gives etcd its key. etcd runs as the `etcd` user inside its container, and the
/// key arrives 0600 root (copied from `clusterdef pki` as docs/kubernetes.md says, whenever
/// the operator copies it): so before each start, as root (Flatcar's unit has no `User=`), the
/// key is given to `etcd`. A missing key is no failure of this step (`-`): etcd then fails on
/// it and `Restart=always` tries again until the key is there.
///
/// A member that `join`s a running cluster (one step of a change) starts with that moment's
/// membership and `existing`; every other member with the declared one and `new`.
pub fn etcd_dropin(cluster: &Cluster, members: &[EtcdMember], member: &EtcdMember, join: Option<&EtcdJoin>) -> String {
    let (peer, client) = (peer_url(member), client_url(member));
    let (initial, state) = match join.filter(|j| j.member == member.name) {
        Some(j) => (j.initial_cluster.clone(), "existing"),
        None => (members.iter().map(|m| format!("{}={}", m.name, peer_url(m))).collect::<Vec<_>>().join(","), "new"),
    };
    let mut env: Vec<(String, String)> = vec![
        ("IMAGE_TAG".into(), ETCD_IMAGE.rsplit(':').next().unwrap_or_default().to_string()),
        ("NAME".into(), member.name.clone()),
        ("INITIAL_CLUSTER".into(), initial),
        ("INITIAL_CLUSTER_STATE".into(), state.to_string()),
        ("INITIAL_CLUSTER_TOKEN".into(), cluster.name.to_string()),
        ("INITIAL_ADVERTISE_PEER_URLS".into(), peer.clone()),
        ("LISTEN_PEER_URLS".into(), peer),
        ("LISTEN_CLIENT_URLS".into(), client.clone()),
        ("ADVERTISE_CLIENT_URLS".into(), client),
    ];
    // locksmith takes its reboot lock through etcd's v2 API, off by default since etcd 3.4.
    if cluster.groups().any(|(_, g)| g.reboot == RebootStrategy::EtcdLock) {
        env.push(("ENABLE_V2".into(), "true".to_string()));
    }
    if let Some(tls) = &cluster.tls {
        // `tls_directory` keeps the three files in one directory, which the wrapper mounts at
        // CONTAINER_SSL_DIR; etcd reads each file there by its name.
        let dir = tls.directory().unwrap_or("/").to_string();
        let inside = |path: &str| format!("{CONTAINER_SSL_DIR}/{}", path.rsplit('/').next().unwrap_or(path));
        env.push(("SSL_DIR".into(), dir));
        for side in ["", "PEER_"] {
            env.push((format!("{side}TRUSTED_CA_FILE"), inside(&tls.ca)));
            env.push((format!("{side}CERT_FILE"), inside(&tls.cert)));
            env.push((format!("{side}KEY_FILE"), inside(&tls.key)));
            env.push((format!("{side}CLIENT_CERT_AUTH"), "true".to_string()));
        }
    }
    let mut text = String::from("[Service]\n");
    for (key, value) in env {
        text.push_str(&environment_line(&format!("ETCD_{key}"), &value));
    }
    if let Some(tls) = &cluster.tls {
        // The wrapper runs as root (Flatcar's unit has no `User=`), so the step runs as root too.
        text.push_str(&give_etcd_its_key(&tls.key, false));
    }
    text
}

/// The workers' gateway: `etcd gateway` from the same image, forwarding `127.0.0.1:2379` to the
/// members' client ports.
pub fn gateway_unit(members: &[EtcdMember]) -> String {
    let endpoints: Vec<String> = members
        .iter()
        .map(|m| client_url(m).split_once("://").map_or_else(String::new, |(_, h)| h.to_string()))
        .collect();
    format!(
        "[Unit]\nDescription=etcd gateway to the cluster's members\nWants=network-online.target\nAfter=network-online.target docker.service\n\n[Service]\nExecStartPre=-/usr/bin/docker rm -f etcd-gateway\nExecStart=/usr/bin/docker run --name etcd-gateway --network=host {ETCD_IMAGE} /usr/local/bin/etcd gateway start --endpoints={} --listen-addr={GATEWAY_ADDR}\nExecStop=/usr/bin/docker stop etcd-gateway\nRestart=always\nRestartSec=10s\n\n[Install]\nWantedBy=multi-user.target\n",
        endpoints.join(",")
    )
}

/// `/etc/flatcar/update.conf`: the channel, the reboot strategy, and locksmith's endpoint,
/// group, window and, with TLS, the machine's client certificate (all three files, as
/// locksmith requires).
fn update_conf(cluster: &Cluster, job: &Job<'_>, endpoint: &str) -> String {
    let group = job.group;
    let mut text = format!(
        "GROUP={}\nREBOOT_STRATEGY={}\nLOCKSMITHD_ENDPOINT={endpoint}\nLOCKSMITHD_GROUP={}\n",
        cluster.channel_of(group).as_str(),
        group.reboot.as_str(),
        group.name
    );
    let window = match &group.windows {
        Windows::Any => None,
        Windows::All(w) => Some(*w),
        Windows::PerDomain(list) => {
            let name = job.domain.and_then(|d| group.spread.as_ref()?.domains.get(d)).map(|d| &d.name);
            list.iter().find(|(d, _)| Some(d) == name).map(|(_, w)| *w)
        }
    };
    if let Some(w) = window {
        text.push_str(&format!(
            "LOCKSMITHD_REBOOT_WINDOW_START=\"{}\"\nLOCKSMITHD_REBOOT_WINDOW_LENGTH={}\n",
            w.start_text(),
            w.length_text()
        ));
    }
    if let Some(tls) = &cluster.tls {
        text.push_str(&format!(
            "LOCKSMITHD_ETCD_CAFILE={}\nLOCKSMITHD_ETCD_CERTFILE={}\nLOCKSMITHD_ETCD_KEYFILE={}\n",
            tls.ca, tls.cert, tls.key
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::environment_line;
    use crate::render::context::exec_word;

    #[test]
    fn environment_lines_escape_what_systemd_would_expand_or_split() {
        assert_eq!(environment_line("K", "plain"), "Environment=\"K=plain\"\n");
        assert_eq!(environment_line("K", "a b %n 100%"), "Environment=\"K=a b %%n 100%%\"\n");
        assert_eq!(environment_line("K", "say \"hi\" \\ é"), "Environment=\"K=say \\\"hi\\\" \\\\ é\"\n");
    }

    #[test]
    fn exec_words_escape_what_systemd_would_expand_or_split() {
        assert_eq!(exec_word("/etc/ssl/etcd/k.pem"), "\"/etc/ssl/etcd/k.pem\"");
        assert_eq!(exec_word("/a b/%n/$X/\"q\"/\\"), "\"/a b/%%n/$$X/\\\"q\\\"/\\\\\"");
    }
}
