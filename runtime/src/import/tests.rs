//! The importer's own tests: grouping, windows, units, host configuration, proxies.

use std::net::Ipv4Addr;

use clusterdef_model::{Addressing, Channel, EtcdRelease, RebootStrategy, Windows};

use super::assembly::natural_key;
use super::units::body_without_fleet_section;
use super::*;

fn file(path: &str, text: &str) -> SourceFile {
    SourceFile { path: path.to_string(), text: text.to_string() }
}

/// A machine's config: an etcd2 member (by discovery) or a proxy, with `extra` lines under
/// `coreos:`.
fn machine(hostname: &str, member: bool, metadata: &str, extra: &str) -> String {
    let etcd2 = if member {
        "  etcd2:\n    discovery: https://discovery.etcd.io/abc\n    listen-peer-urls: http://$private_ipv4:2380\n"
    } else {
        "  etcd2:\n    proxy: on\n    discovery: https://discovery.etcd.io/abc\n"
    };
    format!(
        "#cloud-config\nhostname: {hostname}\ncoreos:\n{etcd2}  fleet:\n    public-ip: $private_ipv4\n    metadata: {metadata}\n{extra}"
    )
}

#[test]
fn machines_of_one_group_that_differ_are_split_and_the_keys_named() {
    let files = [
        file("m1.yml", &machine("m-1", true, "role=central", "")),
        file("m2.yml", &machine("m-2", true, "role=central", "")),
        file("m3.yml", &machine("m-3", true, "role=central", "")),
        file("w1.yml", &machine("worker-1", false, "role=worker", "  update:\n    group: beta\n")),
        file("w2.yml", &machine("worker-2", false, "role=worker", "  update:\n    group: alpha\n")),
    ];
    let imported = import(&files, Some("t")).expect("imports");
    let pools: Vec<(&str, Option<Channel>)> =
        imported.cluster.pools.iter().map(|p| (p.name.as_ref(), p.channel)).collect();
    assert_eq!(pools, [("worker", Some(Channel::Beta)), ("worker-2", Some(Channel::Alpha))]);
    let split = imported.findings.iter().find(|f| f.what == "group `worker`").expect("the split is said");
    assert_eq!((split.file.as_str(), split.severity), ("w2.yml", Severity::Note));
    assert!(split.why.contains("coreos.update.group") && split.why.contains("`worker-2`"), "{}", split.why);
}

#[test]
fn windows_per_domain_and_etcd_0_4_members_are_read() {
    let member = |n: u8, cabinet: &str, start: &str| {
        file(
            &format!("c{n}.yml"),
            &format!(
                "#cloud-config\nhostname: central-{n}\ncoreos:\n  etcd:\n    name: central-{n}\n    addr: 10.0.0.1{n}:4001\n    peer-addr: 10.0.0.1{n}:7001\n  fleet:\n    metadata: role=central,cabinet={cabinet}\n  update:\n    reboot-strategy: reboot\n  locksmith:\n    window-start: {start}\n    window-length: 1h\n  units:\n    - name: 00-eth0.network\n      runtime: true\n      content: |\n        [Match]\n        Name=eth0\n        [Network]\n        Address=10.0.0.1{n}/24\n"
            ),
        )
    };
    let files = [member(1, "a", "Mon 01:00"), member(2, "b", "Mon 03:00"), member(3, "c", "Mon 05:00")];
    let imported = import(&files, Some("t")).expect("imports");
    let cluster = &imported.cluster;
    assert_eq!(cluster.etcd_release, EtcdRelease::V0_4);
    assert_eq!(cluster.members.reboot, RebootStrategy::Reboot);
    let Windows::PerDomain(windows) = &cluster.members.windows else { panic!("{:?}", cluster.members.windows) };
    let starts: Vec<(&str, String)> = windows.iter().map(|(d, w)| (d.as_ref(), w.start_text())).collect();
    assert_eq!(
        starts,
        [("a", "Mon 01:00".to_string()), ("b", "Mon 03:00".to_string()), ("c", "Mon 05:00".to_string())]
    );
    assert_eq!(
        cluster.members.addressing,
        Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 13) }
    );
    assert!(!imported.is_lossy(), "{:#?}", imported.findings);
}

#[test]
fn a_unit_file_that_differs_from_the_copy_members_submit_yields_to_the_copy() {
    let copy = "[Service]\nExecStart=/bin/true\n";
    let member = format!(
        "{}write_files:\n  - path: /etc/clusterdef/fleet-units/a.service\n    content: |\n      [Service]\n      ExecStart=/bin/true\n",
        machine("m-1", true, "role=member", "")
    );
    let files = [file("m.yml", &member), file("units/a.service", "[Service]\nExecStart=/bin/false\n")];
    let imported = import(&files, None).expect("imports");
    assert_eq!(imported.cluster.units[0].body.text(), copy);
    let finding = imported.findings.iter().find(|f| f.file == "units/a.service").expect("the difference is said");
    assert_eq!(finding.severity, Severity::Lossy);
    assert!(finding.why.contains("the copy is what runs"), "{}", finding.why);
}

#[test]
fn what_coreos_cloudinit_reads_otherwise_is_reported_at_its_line() {
    let text = machine(
        "m-1",
        true,
        "role=member",
        "  units:\n    - name: x.service\n      enable: \"true\"\n      command: reload\n  update:\n    reboot-strategy: best-effort\n",
    );
    let imported = import(&[file("m.yml", &text), file("notes.md", "# hello\n")], None).expect("imports");
    let at: Vec<(usize, &str, Severity)> = imported
        .findings
        .iter()
        .filter(|f| f.file == "m.yml" && f.line > 0 && f.severity == Severity::Lossy)
        .map(|f| (f.line, f.what.as_str(), f.severity))
        .collect();
    assert!(at.contains(&(12, "coreos.units[0].enable", Severity::Lossy)), "{at:?}");
    assert!(at.contains(&(13, "coreos.units `x.service`", Severity::Lossy)), "{at:?}");
    assert!(at.contains(&(15, "coreos.update.reboot-strategy", Severity::Lossy)), "{at:?}");
    assert!(imported.findings.iter().any(|f| f.file == "notes.md" && f.severity == Severity::Note));
    assert_eq!(imported.cluster.name, "imported");
    let none = import(&[file("w.yml", &machine("w", false, "role=worker", ""))], None).expect_err("no member");
    assert!(none.message.contains("no config runs an etcd member"), "{none}");
}

#[test]
fn host_configuration_is_read_at_the_scope_its_machines_share_and_the_rest_is_lossy_at_its_line() {
    let motd = "write_files:\n  - path: /etc/motd\n    permissions: \"0600\"\n    owner: core:500\n    content: hi\n";
    let member = |n: u8, cabinet: &str, extra: &str| {
        let text = machine(&format!("central-{n}"), true, &format!("role=central,cabinet={cabinet}"), extra);
        file(&format!("c{n}.yml"), &format!("{text}{motd}"))
    };
    let a_unit = "  units:\n    - name: a.service\n      content: |\n        [Service]\n        ExecStart=/bin/true\n";
    let dropin = "  units:\n    - name: docker.service\n      drop-ins:\n        - name: 10-x.conf\n          content: |\n            [Service]\n            Environment=X=1\n";
    let worker = |n: u8, extra: &str| {
        let text = machine(&format!("worker-{n}"), false, "role=worker", dropin);
        file(&format!("w{n}.yml"), &format!("{text}{motd}{extra}"))
    };
    let only = "  - path: /etc/only\n    content: one\n";
    let files = [member(1, "a", a_unit), member(2, "b", ""), member(3, "c", ""), worker(1, only), worker(2, "")];
    let imported = import(&files, Some("t")).expect("imports");
    let cluster = &imported.cluster;
    let paths: Vec<(&str, u32)> = cluster.host.files.iter().map(|f| (f.path.as_ref(), f.mode)).collect();
    assert_eq!(paths, [("/etc/motd", 0o600)], "every machine's file is the cluster's");
    let motd_file = &cluster.host.files[0];
    assert_eq!(
        (motd_file.owner.clone(), motd_file.group.clone()),
        (Some(clusterdef_model::Owner::Name("core".into())), Some(clusterdef_model::Owner::Id(500)))
    );
    let workers = &cluster.pools[0];
    let dropins: Vec<(&str, &str)> = workers.host.dropins.iter().map(|d| (d.unit.as_ref(), d.name.as_ref())).collect();
    assert_eq!(dropins, [("docker.service", "10-x.conf")], "what every worker carries is the pool's");
    let domains: Vec<(&str, Vec<&str>)> = cluster
        .members
        .host_in
        .iter()
        .map(|(d, h)| (d.as_ref(), h.units.iter().map(|u| u.name.as_ref()).collect()))
        .collect();
    assert_eq!(domains, [("a", vec!["a.service"])], "what one cabinet's members carry is the cabinet's");
    assert!(cluster.members.host.is_empty());
    let lossy: Vec<(&str, usize, &str)> = imported
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Lossy)
        .map(|f| (f.file.as_str(), f.line, f.what.as_str()))
        .collect();
    assert_eq!(lossy, [("w1.yml", 22, "write_files `/etc/only`")], "{:#?}", imported.findings);
}

#[test]
fn host_entries_the_language_cannot_say_are_lossy_at_their_lines() {
    let extra = "  units:\n    - name: r.service\n      runtime: true\n      content: x\nwrite_files:\n  - path: /etc/gz\n    encoding: gzip\n    content: aGk=\n  - path: /etc/odd\n    permissions: \"0999\"\n  - path: /etc/b64\n    encoding: b64\n    content: aGk=\n";
    let imported = import(&[file("m.yml", &machine("m-1", true, "role=member", extra))], None).expect("imports");
    let lossy: Vec<(usize, &str)> =
        imported.findings.iter().filter(|f| f.severity == Severity::Lossy).map(|f| (f.line, f.what.as_str())).collect();
    assert_eq!(
        lossy,
        [(11, "coreos.units `r.service`"), (16, "write_files `/etc/gz`"), (19, "write_files `/etc/odd`")],
        "{:#?}",
        imported.findings
    );
    // base64 is decoded, and said.
    let files: Vec<(&str, &str)> =
        imported.cluster.host.files.iter().map(|f| (f.path.as_ref(), f.contents.text())).collect();
    assert_eq!(files, [("/etc/b64", "hi")]);
    assert!(imported.findings.iter().any(|f| f.line == 21 && f.why.starts_with("base64 decoded")));
    assert!(imported.cluster.host.units.is_empty(), "{:?}", imported.cluster.host);
}

#[test]
fn a_worker_that_falls_back_to_proxy_is_read_as_a_proxy_with_a_note() {
    // The guide's production worker: a discovery URL, no `proxy` key, no peer URLs.
    let worker = "#cloud-config\nhostname: worker-1\ncoreos:\n  etcd2:\n    discovery: https://discovery.etcd.io/abc\n    listen-client-urls: http://0.0.0.0:2379\n  fleet:\n    metadata: role=worker\n";
    let files = [
        file("m1.yml", &machine("m-1", true, "role=central", "")),
        file("m2.yml", &machine("m-2", true, "role=central", "")),
        file("m3.yml", &machine("m-3", true, "role=central", "")),
        file("w1.yml", worker),
    ];
    let imported = import(&files, Some("t")).expect("imports");
    assert_eq!(imported.cluster.members.fixed_count(), Some(3), "the worker is no member");
    assert_eq!(imported.cluster.pools.len(), 1, "{:#?}", imported.cluster.pools);
    let said = imported.findings.iter().find(|f| f.file == "w1.yml" && f.what == "coreos.etcd2").expect("the note");
    assert_eq!((said.line, said.severity), (5, Severity::Note));
    assert!(said.why.contains("read as a proxy"), "{}", said.why);
}

#[test]
fn unit_bodies_lose_only_the_fleet_section_and_hostnames_sort_by_number() {
    assert_eq!(body_without_fleet_section("[Service]\nA=1\n\n[X-Fleet]\nGlobal=true\n"), "[Service]\nA=1\n");
    assert_eq!(
        body_without_fleet_section("[X-Fleet]\nGlobal=true\n[Install]\nWantedBy=x\n"),
        "[Install]\nWantedBy=x\n"
    );
    let mut names = vec!["w-10", "w-2", "w-1"];
    names.sort_by_key(|n| natural_key(n));
    assert_eq!(names, ["w-1", "w-2", "w-10"]);
}
