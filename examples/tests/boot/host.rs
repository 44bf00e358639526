//! The machines' own configuration, proven with the engines that apply it: a Flatcar cluster
//! with a cluster-wide file and mask, a per-group host unit on each group and a per-cabinet
//! drop-in, its configs validated and applied by real Ignition and the applied trees read back;
//! the same declaration on CoreOS, its cloud-configs read back with a YAML 1.1 reader as
//! coreos-cloudinit would apply them, and every host unit verified by systemd-analyze.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::Command;

use clusterdef::{Cluster, Render, cluster};
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
        let out = Command::new("/usr/bin/ignition-validate").arg(&file).output().expect("ignition-validate");
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && said.trim().is_empty(), "{path}: {said}");
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
