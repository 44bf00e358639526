//! The machines' own configuration, proven with the engines that apply it: a Flatcar cluster
//! with a cluster-wide file and mask, a per-group host unit on each group and a per-cabinet
//! drop-in, its configs validated and applied by real Ignition and the applied trees read back;
//! the same declaration on CoreOS, its cloud-configs read back with a YAML 1.1 reader as
//! coreos-cloudinit would apply them, and every host unit verified by systemd-analyze.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;

use clusterdef::synthetic::Rng;
use clusterdef::{
    Cluster, DropIn, GroupRef, HostConfig, HostFile, HostPart, HostUnit, Os, Owner, Render, Subject, UnitBody, cluster,
};
use serde_json::Value;

use crate::support::{TempDir, get, prepare_systemd_root, read_yaml_1_1, verify_unit};

const MOUNT: &str = "[Unit]\nDescription=Data disk\n\n[Mount]\nWhat=/dev/disk/by-label/data\nWhere=/var/lib/data\nType=ext4\n\n[Install]\nWantedBy=local-fs.target\n";
const SOCKET: &str = "[Unit]\nDescription=Docker over TCP\n\n[Socket]\nListenStream=2375\nBindIPv6Only=both\nService=docker.service\n\n[Install]\nWantedBy=sockets.target\n";
const LIMITS: &str = "[Service]\nLimitNOFILE=1048576\n";

/// The declaration, on Flatcar: every scope used once.
static FLATCAR_HOSTS: Cluster = cluster! {
    name: "hosts",
    os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    host: {
        file "/etc/motd" { contents: "welcome to the cluster\n" },
        file "/home/core/notes.txt" { contents: "core's own\n", mode: 0o600, owner: "core", group: 500 },
        unit "systemd-timesyncd.service" { mask },
    },
    central: 3 across cabinets [a, b, c] {
        addresses: "10.0.0.11".."10.0.0.13",
        host: { unit "var-lib-data.mount" { body: "[Unit]\nDescription=Data disk\n\n[Mount]\nWhat=/dev/disk/by-label/data\nWhere=/var/lib/data\nType=ext4\n\n[Install]\nWantedBy=local-fs.target\n" } },
    },
    workers: 2 across cabinets [a, b] {
        addresses: "10.0.0.21".."10.0.0.22",
        host: { unit "docker-tcp.socket" { body: "[Unit]\nDescription=Docker over TCP\n\n[Socket]\nListenStream=2375\nBindIPv6Only=both\nService=docker.service\n\n[Install]\nWantedBy=sockets.target\n" } },
        host_in: { a: { dropin "docker.service" "10-limits.conf" { body: "[Service]\nLimitNOFILE=1048576\n" } } },
    },
};

/// What each machine of the cluster must carry: (config path, files, enabled units, drop-in?).
fn expectations(config: &str) -> (bool, bool, bool) {
    let central = config.contains("central");
    let worker_a = config.contains("worker-1");
    (central, !central, worker_a)
}

#[test]
fn flatcar_host_configuration_validates_applies_and_reads_back_as_declared() {
    let artifacts = FLATCAR_HOSTS.render().expect("renders");
    let dir = TempDir::new("host-validate");
    let mut configs = 0;
    for (path, bytes) in artifacts.iter().filter(|(p, _)| p.ends_with(".ign")) {
        let file = dir.path().join(path.replace('/', "-"));
        std::fs::write(&file, bytes).expect("config");
        if let Err(said) = crate::support::validate_ignition(&file) {
            panic!("{path}: {said}");
        }
        configs += 1;
    }
    assert_eq!(configs, 5);
    for (config, tree) in crate::applied::apply_all("host", &FLATCAR_HOSTS) {
        let (central, worker, cabinet_a) = expectations(&config);
        let at = |p: &str| tree.root().join(p.trim_start_matches('/'));
        assert_eq!(tree.read("/etc/motd").as_deref(), Some("welcome to the cluster\n"), "{config}");
        let motd = std::fs::metadata(at("/etc/motd")).expect("motd");
        assert_eq!((motd.mode() & 0o7777, motd.uid()), (0o644, 0), "{config}: root's, 0644");
        assert_eq!(tree.read("/home/core/notes.txt").as_deref(), Some("core's own\n"), "{config}");
        let notes = std::fs::metadata(at("/home/core/notes.txt")).expect("notes");
        assert_eq!(
            (notes.mode() & 0o7777, notes.uid(), notes.gid()),
            (0o600, 500, 500),
            "{config}: core's, by name and id"
        );
        let mask = std::fs::read_link(at("/etc/systemd/system/systemd-timesyncd.service")).expect("a mask is a link");
        assert_eq!(mask, Path::new("/dev/null"), "{config}");
        let enabled = tree.enabled();
        assert_eq!(
            tree.read("/etc/systemd/system/var-lib-data.mount").as_deref(),
            central.then_some(MOUNT),
            "{config}"
        );
        assert_eq!(enabled.contains("var-lib-data.mount"), central, "{config}: enabled where declared: {enabled:?}");
        assert_eq!(tree.read("/etc/systemd/system/docker-tcp.socket").as_deref(), worker.then_some(SOCKET), "{config}");
        assert_eq!(enabled.contains("docker-tcp.socket"), worker, "{config}: {enabled:?}");
        assert!(!enabled.contains("systemd-timesyncd.service"), "{config}: a masked unit is not enabled");
        let dropin = tree.read("/etc/systemd/system/docker.service.d/10-limits.conf");
        assert_eq!(dropin.as_deref(), cabinet_a.then_some(LIMITS), "{config}: the drop-in is cabinet a's alone");
        crate::applied::verify_applied_units(&tree, &config);
    }
}

/// The entry named `name` of a parsed list of mappings.
fn named<'v>(list: Option<&'v Value>, key: &str, name: &str) -> Option<&'v Value> {
    list?.as_array()?.iter().find(|item| get(item, &[key]).and_then(Value::as_str) == Some(name))
}

#[test]
fn coreos_host_configuration_reads_back_as_coreos_cloudinit_applies_it() {
    let mut cluster = FLATCAR_HOSTS.clone();
    cluster.os = clusterdef::Os::CoreOs;
    assert_eq!(cluster.check().map_err(|v| v.to_string()), Ok(()));
    let artifacts = cluster.render().expect("renders");
    let configs: Vec<(&str, &str)> = artifacts
        .iter()
        .filter(|(p, _)| p.starts_with("cloud-config/"))
        .map(|(p, b)| (p, std::str::from_utf8(b).expect("utf-8")))
        .collect();
    let parsed = read_yaml_1_1(&configs.iter().map(|(_, t)| *t).collect::<Vec<_>>());
    assert_eq!(parsed.len(), 5);
    for ((config, _), doc) in configs.iter().zip(&parsed) {
        let (central, worker, cabinet_a) = expectations(config);
        let files = get(doc, &["write_files"]);
        let motd = named(files, "path", "/etc/motd").expect("motd");
        assert_eq!(get(motd, &["content"]).and_then(Value::as_str), Some("welcome to the cluster\n"), "{config}");
        assert_eq!(
            get(motd, &["permissions"]).and_then(Value::as_str),
            Some("0644"),
            "{config}: a string, read as octal"
        );
        assert_eq!(get(motd, &["owner"]), None, "{config}: root's");
        let notes = named(files, "path", "/home/core/notes.txt").expect("notes");
        assert_eq!(get(notes, &["permissions"]).and_then(Value::as_str), Some("0600"));
        assert_eq!(get(notes, &["owner"]).and_then(Value::as_str), Some("core:500"), "{config}: chown's form");
        let units = get(doc, &["coreos", "units"]);
        let mask = named(units, "name", "systemd-timesyncd.service").expect("the mask");
        assert_eq!(get(mask, &["mask"]), Some(&Value::Bool(true)));
        assert_eq!(get(mask, &["enable"]), None);
        for (unit, body, here) in [("var-lib-data.mount", MOUNT, central), ("docker-tcp.socket", SOCKET, worker)] {
            let entry = named(units, "name", unit);
            assert_eq!(entry.is_some(), here, "{config}: {unit}");
            if let Some(entry) = entry {
                assert_eq!(get(entry, &["content"]).and_then(Value::as_str), Some(body), "{config}");
                assert_eq!(get(entry, &["enable"]), Some(&Value::Bool(true)), "{config}: [Install] honoured");
                assert_eq!(
                    get(entry, &["command"]).and_then(Value::as_str),
                    Some("start"),
                    "{config}: runs at this boot"
                );
            }
        }
        let docker = named(units, "name", "docker.service");
        assert_eq!(docker.is_some(), cabinet_a, "{config}");
        if let Some(docker) = docker {
            let dropin = named(get(docker, &["drop-ins"]), "name", "10-limits.conf").expect("the drop-in");
            assert_eq!(get(dropin, &["content"]).and_then(Value::as_str), Some(LIMITS));
            assert_eq!(get(docker, &["command"]), None, "a drop-in alone starts nothing");
        }
        // The host units come before clusterdef's start commands, so a drop-in is in place first.
        let names: Vec<&str> =
            units.and_then(Value::as_array).into_iter().flatten().filter_map(|u| get(u, &["name"])?.as_str()).collect();
        let first_own = names.iter().position(|n| *n == "etcd2.service").expect("etcd2");
        assert!(names.iter().position(|n| *n == "systemd-timesyncd.service").expect("mask") < first_own, "{names:?}");
    }
    // systemd reads each host unit without a complaint.
    let root = TempDir::new("host-verify");
    prepare_systemd_root(root.path(), &[MOUNT, SOCKET]);
    let system = root.path().join("etc/systemd/system");
    std::fs::create_dir_all(&system).expect("system");
    for (name, body) in [("var-lib-data.mount", MOUNT), ("docker-tcp.socket", SOCKET)] {
        std::fs::write(system.join(name), body).expect("unit");
        verify_unit(root.path(), &system.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

/// Random host configuration at every scope of `cluster`: the cluster's, each group's, and one
/// domain's of each spread group.
pub(crate) fn add_random_host(cluster: &mut Cluster, rng: &mut Rng) {
    let os = cluster.os;
    cluster.host = random_host(rng, os, "cluster");
    cluster.members.host = random_host(rng, os, "members");
    let domains: Vec<String> =
        cluster.members.spread.iter().flat_map(|s| s.domains.iter().map(|d| d.name.to_string())).collect();
    if let Some(d) = domains.first() {
        cluster.members.host_in = Cow::Owned(vec![(Cow::Owned(d.clone()), random_host(rng, os, "members-domain"))]);
    }
    let mut pools = cluster.pools.to_vec();
    for (p, pool) in pools.iter_mut().enumerate() {
        pool.host = random_host(rng, os, &format!("pool-{p}"));
        if let Some(d) = pool.spread.as_ref().and_then(|s| s.domains.last()) {
            pool.host_in = Cow::Owned(vec![(d.name.clone(), random_host(rng, os, &format!("pool-{p}-domain")))]);
        }
    }
    cluster.pools = Cow::Owned(pools);
}

/// Paths a host file is drawn from: some nest (`/etc/dir`, `/etc/dir/inner`, with `/etc/dir-x`
/// sorting between them bytewise), some are what clusterdef writes on one OS and not the other.
const FILE_POOL: &[&str] = &[
    "/etc/motd",
    "/etc/app/a.conf",
    "/etc/dir",
    "/etc/dir/inner",
    "/etc/dir-x",
    "/etc/hostname",
    "/etc/flatcar/update.conf",
    "/etc/coreos/update.conf",
    "/opt/bin/tool",
];
/// Units with a body: two of the machine's own, two clusterdef configures on one OS or group.
const UNIT_POOL: &[&str] = &["app.service", "app.socket", "etcd-member.service", "etcd2.service"];
/// Drop-ins: on a shipped unit, on etcd-member (one under clusterdef's own name), on the
/// gateway clusterdef writes whole on Flatcar's workers.
const DROPIN_POOL: &[(&str, &str)] = &[
    ("docker.service", "10-a.conf"),
    ("docker.service", "20-b.conf"),
    ("etcd-member.service", "30-c.conf"),
    ("etcd-member.service", "20-clusterdef.conf"),
    ("etcd-gateway.service", "10-x.conf"),
];

/// A random block of host configuration: files, units (with a body, enabled or not; a shipped
/// unit enabled, disabled on Flatcar, or masked) and drop-ins, a quarter of them from small
/// pools so that collisions happen, the rest under names of the scope's own.
fn random_host(rng: &mut Rng, os: Os, salt: &str) -> HostConfig {
    let text = |s: String| -> clusterdef::Text { Cow::Owned(s) };
    let mut host = HostConfig::default();
    let mut files = Vec::new();
    for n in 0..rng.below(3) {
        let owner = match rng.below(3) {
            0 => None,
            1 => Some(Owner::Name(text("core".to_string()))),
            _ => Some(Owner::Id(500)),
        };
        files.push(HostFile {
            path: text(if rng.chance(25) { rng.pick(FILE_POOL).to_string() } else { format!("/etc/{salt}/file-{n}") }),
            contents: UnitBody::Inline(text(format!("{salt} file {n}\n"))),
            mode: *rng.pick(&[0o644, 0o600, 0o755]),
            owner: owner.clone(),
            group: owner,
        });
    }
    let mut units = Vec::new();
    for n in 0..rng.below(3) {
        let unit = match rng.below(4) {
            0 | 1 => {
                let install = if rng.chance(50) { "\n[Install]\nWantedBy=multi-user.target\n" } else { "" };
                let body = format!("[Unit]\nDescription={salt} {n}\n\n[Service]\nExecStart=/bin/true\n{install}");
                let from_pool = rng.chance(25);
                HostUnit {
                    name: text(if from_pool { rng.pick(UNIT_POOL).to_string() } else { format!("{salt}-{n}.service") }),
                    body: Some(UnitBody::Inline(text(body))),
                    // Disabling one of clusterdef's own units is `host_mask`'s (they collide anyway).
                    enable: if rng.chance(30) && !from_pool { Some(false) } else { None },
                    mask: false,
                    command: None,
                }
            }
            2 => HostUnit {
                name: text("docker.service".to_string()),
                body: None,
                enable: Some(os == Os::CoreOs || rng.chance(50)),
                mask: false,
                command: None,
            },
            _ => HostUnit {
                name: text("systemd-timesyncd.service".to_string()),
                body: None,
                enable: None,
                mask: true,
                command: None,
            },
        };
        units.push(unit);
    }
    let mut dropins = Vec::new();
    for n in 0..rng.below(3) {
        let (unit, name) = if rng.chance(25) {
            let (unit, name) = rng.pick(DROPIN_POOL);
            (unit.to_string(), name.to_string())
        } else {
            ("docker.service".to_string(), format!("50-{salt}-{n}.conf"))
        };
        dropins.push(DropIn {
            unit: text(unit),
            name: text(name),
            body: UnitBody::Inline(text(format!("[Service]\nEnvironment=FROM={salt}-{n}\n"))),
        });
    }
    host.files = Cow::Owned(files);
    host.units = Cow::Owned(units);
    host.dropins = Cow::Owned(dropins);
    host
}

/// What one rendered config writes by itself, read from the file: paths, and the units it has
/// an entry for (with whether it writes the unit's contents).
struct Own {
    paths: BTreeSet<String>,
    units: BTreeMap<String, bool>,
}

fn own_of_ignition(text: &str) -> Own {
    let config: Value = serde_json::from_str(text).expect("JSON");
    let mut own = Own { paths: BTreeSet::new(), units: BTreeMap::new() };
    for f in config.pointer("/storage/files").and_then(Value::as_array).into_iter().flatten() {
        own.paths.insert(f["path"].as_str().expect("path").to_string());
    }
    for u in config.pointer("/systemd/units").and_then(Value::as_array).into_iter().flatten() {
        let name = u["name"].as_str().expect("name");
        own.units.insert(name.to_string(), u.get("contents").is_some());
        own.paths.insert(format!("/etc/systemd/system/{name}"));
        for d in u.get("dropins").and_then(Value::as_array).into_iter().flatten() {
            let dropin = d["name"].as_str().expect("drop-in name");
            own.paths.insert(format!("/etc/systemd/system/{name}.d/{dropin}"));
        }
    }
    own
}

fn own_of_cloud_config(text: &str) -> Own {
    let config = clusterdef::read::cloud_config::parse(text).expect("a cloud-config");
    let mut own = Own { paths: BTreeSet::new(), units: BTreeMap::new() };
    // What coreos-cloudinit writes from the config's own keys.
    if config.hostname.is_some() {
        own.paths.insert("/etc/hostname".to_string());
    }
    if config.update.is_some() {
        own.paths.insert("/etc/coreos/update.conf".to_string());
    }
    for f in &config.write_files {
        own.paths.insert(f.path.as_ref().expect("path").value.clone());
    }
    for u in &config.units {
        let name = &u.name.as_ref().expect("name").value;
        own.units.insert(name.clone(), u.content.is_some());
        let dir = if name.ends_with(".network") { "/etc/systemd/network" } else { "/etc/systemd/system" };
        own.paths.insert(format!("{dir}/{name}"));
        for (d, _) in &u.drop_ins {
            own.paths.insert(format!("/etc/systemd/system/{name}.d/{}", d.value));
        }
    }
    own
}

/// Every config of the cluster with the group and failure domain its machines are in, from the
/// plan.
pub(crate) fn config_kinds(cluster: &Cluster) -> Vec<(String, GroupRef, Option<String>)> {
    let plan = cluster.plan();
    let mut out = Vec::new();
    for (g, group) in plan.groups.iter().enumerate() {
        let group_ref = if g == 0 { GroupRef::Members } else { GroupRef::Pool(g - 1) };
        assert_eq!(cluster.group(group_ref).map(|x| &*x.name), Some(group.name.as_str()));
        if group.machines.is_empty() {
            let domains = group.domains.iter().map(|d| Some(d.clone()));
            let domains: Vec<Option<String>> = if group.domains.is_empty() { vec![None] } else { domains.collect() };
            assert_eq!(domains.len(), group.configs.len(), "{}: a config per domain", group.name);
            out.extend(group.configs.iter().cloned().zip(domains).map(|(c, d)| (c, group_ref, d)));
        } else {
            for m in &group.machines {
                if !out.iter().any(|(c, _, _)| *c == m.config) {
                    out.push((m.config.clone(), group_ref, m.domain.clone()));
                }
            }
        }
    }
    out
}

/// The items of every scope that reach a machine of `group` in `domain`, in the order they
/// apply, each with its subject.
pub(crate) fn reaching<'c>(
    cluster: &'c Cluster,
    group: GroupRef,
    domain: Option<&str>,
) -> Vec<(clusterdef::HostScope, &'c HostConfig)> {
    let g = cluster.group(group).expect("group");
    let mut out = vec![(clusterdef::HostScope::Cluster, &cluster.host), (clusterdef::HostScope::Group(group), &g.host)];
    for (i, (name, config)) in g.host_in.iter().enumerate() {
        if Some(&**name) == domain {
            out.push((clusterdef::HostScope::Domain(group, i), config));
        }
    }
    out
}

/// The collisions a machine whose own render is `own` would have with `scopes`, worked out
/// from the paths alone: a path written twice (by clusterdef or an earlier declaration), a unit
/// declared where clusterdef has an entry of that name, a drop-in on a unit clusterdef writes
/// whole, a file inside another's path (the later of the two).
fn expected_collisions(own: &Own, scopes: &[(clusterdef::HostScope, &HostConfig)], out: &mut BTreeSet<Subject>) {
    let mut taken = own.paths.clone();
    let mut files: Vec<(&str, Subject)> = Vec::new();
    for (scope, config) in scopes {
        for (i, f) in config.files.iter().enumerate() {
            let subject = Subject::Host(*scope, HostPart::File(i));
            if !taken.insert(f.path.to_string()) {
                out.insert(subject);
            }
            files.push((&f.path, subject));
        }
    }
    for (scope, config) in scopes {
        for (i, u) in config.units.iter().enumerate() {
            if own.units.contains_key(&*u.name) || !taken.insert(format!("/etc/systemd/system/{}", u.name)) {
                out.insert(Subject::Host(*scope, HostPart::Unit(i)));
            }
        }
    }
    for (scope, config) in scopes {
        for (i, d) in config.dropins.iter().enumerate() {
            let whole = own.units.get(&*d.unit) == Some(&true);
            if whole || !taken.insert(format!("/etc/systemd/system/{}.d/{}", d.unit, d.name)) {
                out.insert(Subject::Host(*scope, HostPart::DropIn(i)));
            }
        }
    }
    // A file inside another file's path: the later declaration of the two is at fault.
    for (o, (outer, outer_subject)) in files.iter().enumerate() {
        for (i, (inner, inner_subject)) in files.iter().enumerate() {
            if inner.strip_prefix(outer).is_some_and(|rest| rest.starts_with('/')) {
                out.insert(if i > o { *inner_subject } else { *outer_subject });
            }
        }
    }
}

/// Reads an applied Flatcar tree back against the items that reach it.
fn applied_holds(at: &str, tree: &crate::applied::Applied, scopes: &[(clusterdef::HostScope, &HostConfig)]) {
    let enabled = tree.enabled();
    for (_, config) in scopes {
        for f in config.files.iter() {
            assert_eq!(tree.read(&f.path).as_deref(), Some(f.contents.text()), "{at}: {}", f.path);
            let meta = std::fs::metadata(tree.root().join(f.path.trim_start_matches('/'))).expect("file");
            let id = |o: &Option<Owner>| if o.is_some() { 500 } else { 0 };
            assert_eq!(
                (meta.mode() & 0o7777, meta.uid(), meta.gid()),
                (f.mode, id(&f.owner), id(&f.group)),
                "{at}: {}",
                f.path
            );
        }
        for u in config.units.iter() {
            let path = format!("/etc/systemd/system/{}", u.name);
            if u.mask {
                let link = std::fs::read_link(tree.root().join(path.trim_start_matches('/'))).expect("a mask");
                assert_eq!(link, Path::new("/dev/null"), "{at}: {}", u.name);
                continue;
            }
            if let Some(body) = &u.body {
                assert_eq!(tree.read(&path).as_deref(), Some(body.text()), "{at}: {}", u.name);
            }
            // A shipped unit this root lacks is enabled by preset alone.
            assert_eq!(enabled.contains(&*u.name), u.enabled(), "{at}: {} enabled? {enabled:?}", u.name);
        }
        for d in config.dropins.iter() {
            let path = format!("/etc/systemd/system/{}.d/{}", d.unit, d.name);
            assert_eq!(tree.read(&path).as_deref(), Some(d.body.text()), "{at}: {path}");
        }
    }
}

/// Reads a cloud-config back, with the project's coreos-cloudinit reader, against the items
/// that reach it.
fn cloud_config_holds(at: &str, text: &str, scopes: &[(clusterdef::HostScope, &HostConfig)]) {
    let config = clusterdef::read::cloud_config::parse(text).unwrap_or_else(|e| panic!("{at}: {e:?}"));
    let value = |f: &Option<clusterdef::read::cloud_config::Field>| f.as_ref().map(|f| f.value.clone());
    for (_, host) in scopes {
        for f in host.files.iter() {
            let file = config.write_files.iter().find(|w| value(&w.path).as_deref() == Some(&*f.path));
            let file = file.unwrap_or_else(|| panic!("{at}: {} is not written", f.path));
            assert_eq!(value(&file.content).as_deref(), Some(f.contents.text()), "{at}: {}", f.path);
            assert_eq!(value(&file.permissions), Some(format!("{:04o}", f.mode)), "{at}: {}", f.path);
            let account = |o: &Option<Owner>| match o {
                None => String::new(),
                Some(Owner::Name(n)) => n.to_string(),
                Some(Owner::Id(id)) => id.to_string(),
            };
            let owner = match (&f.owner, &f.group) {
                (None, None) => None,
                (o, None) => Some(account(o)),
                (o, g) => Some(format!("{}:{}", account(o), account(g))),
            };
            assert_eq!(value(&file.owner), owner, "{at}: {}", f.path);
        }
        for u in host.units.iter() {
            let entry = config.units.iter().find(|e| value(&e.name).as_deref() == Some(&*u.name));
            let entry = entry.unwrap_or_else(|| panic!("{at}: no entry for {}", u.name));
            assert_eq!(value(&entry.content).as_deref(), u.body.as_ref().map(|b| b.text()), "{at}: {}", u.name);
            assert_eq!(entry.mask, u.mask, "{at}: {}", u.name);
            assert_eq!(entry.enable, u.enabled() && !u.mask, "{at}: {}", u.name);
            let started = (u.enabled() && !u.mask).then(|| "start".to_string());
            assert_eq!(value(&entry.command), started, "{at}: {}", u.name);
        }
        for d in host.dropins.iter() {
            let entry = config.units.iter().find(|e| value(&e.name).as_deref() == Some(&*d.unit));
            let entry = entry.unwrap_or_else(|| panic!("{at}: no entry for {}", d.unit));
            let dropin = entry.drop_ins.iter().find(|(n, _)| n.value == *d.name);
            let (_, body) = dropin.unwrap_or_else(|| panic!("{at}: no drop-in {} on {}", d.name, d.unit));
            assert_eq!(body.value, d.body.text(), "{at}: {}/{}", d.unit, d.name);
        }
    }
}

/// Random clusters of both OSes with random host configuration at all three scopes: the
/// collisions `host_collision` reports are exactly those worked out from each rendered config's
/// own paths (rendered without the host configuration) and the declared paths, and a cluster
/// without one renders configs that (on Flatcar) validate, apply with real Ignition and hold
/// every item where declared, and (on CoreOS) read back with the project's coreos-cloudinit
/// reader as declared.
#[test]
fn random_host_configuration_collides_exactly_where_paths_meet_and_reads_back_as_declared() {
    let (first, count) = crate::readback::seed_range(40);
    let (mut refused, mut accepted) = (0, 0);
    let dir = TempDir::new("host-random");
    for n in 0..count {
        let seed = first.wrapping_add(n);
        let mut rng = Rng::new(seed);
        let (mut cluster, drawn) = if rng.chance(50) {
            clusterdef::synthetic::random_flatcar_cluster(seed)
        } else {
            clusterdef::synthetic::random_cluster(seed)
        };
        let name =
            format!("cluster from seed {drawn}, host from seed {seed} (replay with CLUSTERDEF_READBACK_SEED={first})");
        let bare = cluster.clone();
        let os = cluster.os;
        add_random_host(&mut cluster, &mut rng);

        let options = clusterdef::RenderOptions {
            discovery_url: Some("https://discovery.etcd.io/t".to_string()),
            ..Default::default()
        };
        let bare_files = bare.render_with(&options).unwrap_or_else(|e| panic!("{name}: renders bare: {e}"));
        let mut expected = BTreeSet::new();
        for (config, group, domain) in config_kinds(&bare) {
            let bytes = bare_files.iter().find(|(p, _)| *p == config).map(|(_, b)| b).expect("config rendered");
            let text = std::str::from_utf8(bytes).expect("utf-8");
            let own = if os == Os::Flatcar { own_of_ignition(text) } else { own_of_cloud_config(text) };
            expected_collisions(&own, &reaching(&cluster, group, domain.as_deref()), &mut expected);
        }
        let violations = cluster.all_violations();
        let found: BTreeSet<Subject> =
            violations.iter().filter(|v| v.rule == clusterdef::Rule::HostCollision).map(|v| v.subject).collect();
        let said: Vec<String> = violations
            .iter()
            .filter(|v| v.rule == clusterdef::Rule::HostCollision)
            .map(|v| format!("{:?}: {}", v.subject, v.message))
            .collect();
        assert_eq!(
            found,
            expected,
            "{name}: host_collision against the paths: {said:#?}\n{:#?}",
            (
                &cluster.os,
                &cluster.host,
                &cluster.members.host,
                &cluster.pools.iter().map(|p| (&p.host, &p.host_in)).collect::<Vec<_>>()
            )
        );
        let others: Vec<String> = violations
            .iter()
            .filter(|v| v.rule != clusterdef::Rule::HostCollision && !cluster.allows(v.rule))
            .map(|v| v.to_string())
            .collect();
        assert!(others.is_empty(), "{name}: no other rule breaks: {others:?}");
        if !expected.is_empty() {
            refused += 1;
            continue;
        }
        accepted += 1;
        let artifacts = cluster.render_with(&options).unwrap_or_else(|e| panic!("{name}: renders: {e}"));
        for (config, group, domain) in config_kinds(&cluster) {
            let scopes = reaching(&cluster, group, domain.as_deref());
            let bytes = artifacts.iter().find(|(p, _)| *p == config).map(|(_, b)| b).expect("config rendered");
            let text = std::str::from_utf8(bytes).expect("utf-8");
            let at = format!("{name}/{config}");
            if os == Os::CoreOs {
                cloud_config_holds(&at, text, &scopes);
                continue;
            }
            let file = dir.path().join(format!("{seed}-{}", config.replace('/', "-")));
            std::fs::write(&file, text).expect("config");
            if let Err(said) = crate::support::validate_ignition(&file) {
                panic!("{at}: {said}");
            }
            let tree = crate::applied::apply(&format!("host-{seed}-{}", config.replace('/', "-")), text);
            applied_holds(&at, &tree, &scopes);
        }
    }
    eprintln!("host configuration: {refused} clusters refused for collisions, {accepted} accepted and read back");
    assert!(refused > 0 && accepted > 0, "both drawn: {refused} refused, {accepted} accepted");
}
