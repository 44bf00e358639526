//! `clusterdef import` of hand-written clusters: CoreOS cloud-configs and fleet units, and
//! Flatcar Ignition configs in the styles of real clusters (Typhoon's, Flatcar's docs'), each
//! with its expected declaration and findings, and every change in behaviour a finding.

use std::path::Path;

mod support;

use support::*;

fn import_fixture(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import").join(name).display().to_string()
}

/// The declaration `clusterdef import` printed for a fixture, against the expected one kept
/// beside it (`UPDATE_GOLDEN=1` rewrites it).
fn assert_expected_declaration(name: &str, printed: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import").join(format!("{name}.cluster"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, printed).expect("write the expected declaration");
    }
    let expected = std::fs::read_to_string(&path).expect("the expected declaration");
    assert_eq!(printed, expected, "the import of {name} changed; rerun with UPDATE_GOLDEN=1 if that is intended");
}

/// The parts of a plan an import must keep: machines, members, metadata and unit placement.
fn architecture(plan: &serde_json::Value) -> serde_json::Value {
    let groups: Vec<serde_json::Value> = plan["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|g| {
            serde_json::json!({
                "name": g["name"], "role": g["role"], "members": g["members"], "channel": g["channel"],
                "reboot": g["reboot"], "domains": g["domains"], "etcd_access": g["etcd_access"],
                "machines": g["machines"].as_array().into_iter().flatten()
                    .map(|m| serde_json::json!([m["hostname"], m["address"], m["domain"]])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let units: Vec<serde_json::Value> = plan["units"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|u| {
            let eligible: Vec<serde_json::Value> = u["eligible"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|e| serde_json::json!([e["group"], e["domain"], e["hostnames"]]))
                .collect();
            (
                u["name"].as_str().unwrap_or_default().to_string(),
                serde_json::json!({
                    "global": u["global"], "conflicts": u["conflicts"], "follows": u["follows"], "eligible": eligible,
                }),
            )
        })
        .collect::<std::collections::BTreeMap<_, _>>()
        .into_values()
        .collect();
    serde_json::json!({ "etcd": plan["etcd"]["member_urls"], "groups": groups, "units": units })
}

#[test]
fn the_hand_written_production_cluster_imports_to_the_same_architecture() {
    let scratch = Scratch::new("import-production");
    let out = scratch.path("prod.cluster");
    let imported = clusterdef(&["import", &import_fixture("production"), "--out", &out]);
    let (printed, errors) = (std::fs::read_to_string(&out).unwrap_or_default(), stderr(&imported));
    assert_eq!(imported.status.code(), Some(0), "{errors}");
    assert_expected_declaration("production", &printed);
    // What the declaration writes differently is said, on the line it differs on.
    assert!(errors.contains("central-1.yml:13: note: coreos.etcd2.listen_client_urls: the declaration renders `https://10.0.0.101:2379` (here `https://0.0.0.0:2379,https://0.0.0.0:4001`)"), "{errors}");
    assert!(errors.contains("worker-one.yml:19: note: coreos.fleet.metadata"), "{errors}");
    assert!(!errors.contains("lossy"), "{errors}");
    let check = clusterdef(&["check", &out]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    // Same machines, members, metadata and unit placement as the guide's production cluster
    // declared by hand (which is also `production: true`, something no machine's file says).
    let plan = |file: &str| -> serde_json::Value {
        let o = clusterdef(&["plan", "--format", "json", file]);
        serde_json::from_str(&stdout(&o)).expect("plan JSON")
    };
    assert_eq!(architecture(&plan(&out)), architecture(&plan(&production())));

    // Declared production, as the guide's cluster is, it passes the production rules too; the
    // dev/test fixture cannot be production.
    let as_production = clusterdef(&["import", &import_fixture("production"), "--production"]);
    assert_eq!(as_production.status.code(), Some(0), "{}", stderr(&as_production));
    assert!(stdout(&as_production).contains("production: true,"), "{}", stdout(&as_production));
    let devtest = clusterdef(&["import", &import_fixture("lossy"), "--production", "--allow-lossy"]);
    assert_eq!(devtest.status.code(), Some(1), "{}", stderr(&devtest));
    assert!(stderr(&devtest).contains("rule `"), "{}", stderr(&devtest));
}

/// Imports a fixture that fails: exit 1, the expected declaration printed all the same.
/// Returns the fixture's path and what was said on stderr.
fn import_failing(name: &str) -> (String, String) {
    let fixture = import_fixture(name);
    let imported = clusterdef(&["import", &fixture]);
    let errors = stderr(&imported);
    assert_eq!(imported.status.code(), Some(1), "{errors}");
    assert_expected_declaration(name, &stdout(&imported));
    (fixture, errors)
}

#[test]
fn a_risky_cluster_imports_with_its_rule_errors_and_allow_risks_keeps_them_visible() {
    let (fixture, errors) = import_failing("risky");
    assert!(errors.contains("error: 4 etcd members tolerate 1 failure, the same as 3"), "{errors}");
    assert!(errors.contains(" --> <imported declaration>:3:11"), "{errors}");
    assert!(
        errors.contains("error: cabinet a holds 2 of 4 etcd members; losing it leaves 2, and quorum is 3"),
        "{errors}"
    );
    assert!(errors.contains(" --> <imported declaration>:3:30"), "{errors}");
    assert_eq!(errors.matches("error:").count(), 2, "{errors}");

    let accepted = clusterdef(&["import", &fixture, "--allow-risks"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", stderr(&accepted));
    let declaration = stdout(&accepted);
    assert!(
        declaration.contains("allow(even_members, reason = \"imported: 4 etcd members tolerate 1 failure"),
        "{declaration}"
    );
    assert!(
        declaration.contains("allow(failure_domain_quorum, reason = \"imported: cabinet a holds 2 of 4"),
        "{declaration}"
    );
}

#[test]
fn what_the_language_cannot_say_fails_the_import_with_file_and_line() {
    let (fixture, errors) = import_failing("lossy");
    for expected in [
        "etcd.yml:14: lossy: coreos.etcd2.heartbeat_interval: the language has no setting for it",
        "worker.yml:14: lossy: coreos.flannel.interface: `$private_ipv4` is filled in by coreos-cloudinit at boot",
        "worker.yml:37: lossy: users: clusterdef does not model it",
        "hello.service:9: lossy: MachineMetadata=role=worker role=etcd: not one key=value pair",
        "4 setting(s) of the running cluster cannot be declared",
    ] {
        assert!(errors.contains(expected), "missing `{expected}` in:\n{errors}");
    }
    let report = clusterdef(&["import", &fixture, "--format", "json"]);
    assert_eq!(report.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&report)).expect("one JSON object");
    assert_eq!(report["ok"], false);
    let flannel = report["findings"].as_array().into_iter().flatten().find(|f| f["what"] == "coreos.flannel.interface");
    let flannel = flannel.expect("the flannel finding");
    assert_eq!(
        (&flannel["file"], &flannel["line"], &flannel["severity"]),
        (&"worker.yml".into(), &14.into(), &"lossy".into())
    );
    assert!(report["declaration"].as_str().is_some_and(|d| d.contains("etcd_node: \"192.168.7.10\"")), "{report}");
    let allowed = clusterdef(&["import", &fixture, "--allow-lossy"]);
    assert_eq!(allowed.status.code(), Some(0), "{}", stderr(&allowed));
    assert!(stderr(&allowed).contains("worker.yml:14: lossy: coreos.flannel"), "still listed when allowed");
}

#[test]
fn import_of_a_directory_without_a_cluster_says_what_is_missing() {
    let scratch = Scratch::new("import-empty");
    scratch.file("notes.txt", "nothing here\n");
    let o = clusterdef(&["import", &scratch.0.display().to_string()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("no `#cloud-config` file and no Ignition config"), "{}", stderr(&o));
    scratch.file("m.ign", "{\"ignition\":{\"version\":\"3.3.0\"}}\n");
    let o = clusterdef(&["import", &scratch.0.display().to_string()]);
    assert!(stderr(&o).contains("no config runs an etcd member"), "{}", stderr(&o));
    assert!(stderr(&o).contains("`ETCD_NAME`"), "{}", stderr(&o));
    let o = clusterdef(&["import", &scratch.path("absent")]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn the_worked_example_of_docs_import_md_runs_as_written() {
    // The production fixture, its central machines rebooting freely inside one shared window.
    let scratch = Scratch::new("import-worked-example");
    let configs = scratch.0.join("cloud-configs");
    std::fs::create_dir_all(configs.join("units")).expect("scratch dirs");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import/production");
    for entry in
        std::fs::read_dir(&fixture).expect("fixture").chain(std::fs::read_dir(fixture.join("units")).expect("units"))
    {
        let path = entry.expect("entry").path();
        if path.is_file() {
            let text = std::fs::read_to_string(&path).expect("fixture file");
            let rel = path.strip_prefix(&fixture).expect("inside");
            let text = if rel.to_string_lossy().starts_with("central-") {
                text.replace("reboot-strategy: etcd-lock", "reboot-strategy: reboot")
            } else {
                text
            };
            std::fs::write(configs.join(rel), text).expect("copy");
        }
    }
    let declaration = scratch.path("prod.cluster");
    let imported = clusterdef(&["import", &configs.display().to_string(), "--out", &declaration]);
    let errors = stderr(&imported);
    assert_eq!(imported.status.code(), Some(1), "{errors}");
    assert!(
        errors.contains("error: one reboot window (Sun 04:00 for 2h) for every etcd member lets all 5 reboot at once"),
        "{errors}"
    );
    assert!(errors.contains(&format!(" --> {declaration}:5:104")), "{errors}");

    let text = std::fs::read_to_string(&declaration).expect("the declaration is written all the same");
    let fixed = text.replace(
        "window: \"Sun 04:00\" for \"2h\"",
        "window: { one: \"Sun 04:00\" for \"1h\", two: \"Sun 05:00\" for \"1h\", three: \"Sun 06:00\" for \"1h\" }",
    );
    assert_ne!(fixed, text, "the shared window is in the declaration");
    std::fs::write(&declaration, fixed).expect("fix");
    let check = clusterdef(&["check", &declaration]);
    assert_eq!(check.status.code(), Some(0), "{}", stderr(&check));
    let out = scratch.path("boot");
    let render = clusterdef(&["render", &declaration, "--out", &out]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    let central_2 = std::fs::read_to_string(Path::new(&out).join("cloud-config/central-2.yml")).expect("rendered");
    assert!(central_2.contains("window_start: \"Sun 05:00\""), "{central_2}");

    // On Flatcar nothing schedules at run time: the units only autoscaled workers can run are
    // refused, and a fixed count of workers places them.
    let fixed = std::fs::read_to_string(&declaration).expect("declaration");
    let flatcar = scratch.file("flatcar.cluster", &format!("os: flatcar,\n{fixed}"));
    let check = clusterdef(&["check", &flatcar]);
    let errors = stderr(&check);
    assert_eq!(check.status.code(), Some(1), "{errors}");
    assert_eq!(errors.matches("rule `unit_placement`").count(), 2, "{errors}");
    let placed = fixed.replace("workers: autoscale across", "workers: 4 across");
    assert_ne!(placed, fixed);
    let flatcar = scratch.file("flatcar.cluster", &format!("os: flatcar,\n{placed}"));
    let render = clusterdef(&["render", &flatcar, "--out", &scratch.path("flatcar")]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    assert!(Path::new(&scratch.path("flatcar")).join("ignition/worker-1.ign").is_file());
}

#[test]
fn an_etcd_0_4_cluster_written_by_hand_imports_with_its_hostname_pattern() {
    let imported = clusterdef(&["import", &import_fixture("etcd04")]);
    let errors = stderr(&imported);
    assert_eq!(imported.status.code(), Some(0), "{errors}");
    assert_expected_declaration("etcd04", &stdout(&imported));
    assert!(
        errors.contains(
            "node1.yml:11: note: coreos.fleet.etcd_servers: the declaration adds `http://$private_ipv4:4001`"
        ),
        "{errors}"
    );
    assert!(!errors.contains("lossy"), "{errors}");
}

/// Hand-written fixtures in the styles real clusters were written in (docs/import.md): the
/// directory, the arguments beyond it, and the exit code the import ends with.
const REAL_STYLES: &[(&str, &[&str], i32)] = &[
    ("no-hostnames", &[], 0),
    ("url-addresses", &[], 1),
    ("discovery-worker", &["--count", "3"], 0),
    ("shared-member", &[], 1),
    ("public-ipv4", &[], 1),
    ("cloud-pool", &[], 0),
    ("host-units", &[], 0),
    ("script", &[], 1),
    ("placeholders", &[], 1),
    ("devtest-cabinet", &[], 1),
    ("repeated-keys", &[], 1),
    // Flatcar: Ignition configs as Typhoon's bare-metal module renders them (domain names,
    // etcd in a container with an environment file, kubelets), and as Flatcar's docs write
    // them (an etcd-member drop-in, base64 and gzip contents, a merged config, remote files).
    ("typhoon", &[], 1),
    ("flatcar-dropin", &[], 1),
    // Butane (`variant: flatcar`) by hand: inline contents, and contents from the author's
    // files (`local`, `contents_local`, `trees`), which the YAML does not hold.
    ("butane", &[], 1),
    // Typhoon's matchbox data directory: two groups per machine by MAC (the install stage and
    // `os: installed`), profiles, and the Ignition configs they name.
    ("typhoon-matchbox", &[], 1),
];

/// The findings as text lines (`file:line: severity: what: why`, or `file: …` for the whole
/// file), against the expected ones kept beside the fixture (`UPDATE_GOLDEN=1` rewrites them).
fn assert_expected_findings(name: &str, findings: &[serde_json::Value]) {
    let mut text = String::new();
    for f in findings {
        let at = match f["line"].as_u64() {
            Some(line) => format!("{}:{line}", f["file"].as_str().unwrap_or_default()),
            None => format!("{} (the whole file)", f["file"].as_str().unwrap_or_default()),
        };
        let (severity, what, why) = (&f["severity"], &f["what"], &f["why"]);
        text.push_str(&format!(
            "{at}: {}: {}: {}\n",
            severity.as_str().unwrap_or_default(),
            what.as_str().unwrap_or_default(),
            why.as_str().unwrap_or_default()
        ));
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/import").join(format!("{name}.findings"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write the expected findings");
    }
    let expected = std::fs::read_to_string(&path).expect("the expected findings");
    assert_eq!(text, expected, "the findings of {name} changed; rerun with UPDATE_GOLDEN=1 if that is intended");
}

/// What a machine does, as its config tells coreos-cloudinit, etcd and fleet: each fact with
/// the key it is read from and that key's line (0 when the file does not have it). Lists whose
/// order the engines ignore are compared as sets; `initial-cluster` by its peer URLs (names are
/// labels the comparison of `name` covers); write_files by their decoded contents.
fn behaviour(text: &str) -> Vec<(String, usize, String)> {
    use base64::Engine as _;
    if text.trim_start().starts_with('{') {
        return ignition_behaviour(text);
    }
    if clusterdef::read::butane::is_butane(text) {
        return ignition_behaviour(&clusterdef::read::butane::translate(text).expect("a Butane config").ignition);
    }
    use clusterdef::read::cloud_config::{Field, Section, parse};
    let cc = parse(text).expect("a cloud-config");
    let mut facts = Vec::new();
    let set = |v: &str| {
        let mut items: Vec<&str> = v.split(',').map(str::trim).filter(|i| !i.is_empty()).collect();
        items.sort();
        items.join(",")
    };
    let mut fact = |key: String, field: Option<&Field>, value: String| {
        facts.push((key, field.map_or(0, |f| f.line), value));
    };
    fact("hostname".into(), cc.hostname.as_ref(), cc.hostname.as_ref().map(|f| f.value.clone()).unwrap_or_default());
    let get = |s: &Option<Section>, k: &str| s.as_ref().and_then(|s| s.get(k)).cloned();
    let proxy = get(&cc.etcd2, "proxy").is_some_and(|p| p.value != "off");
    let role = match (&cc.etcd2, &cc.etcd) {
        (Some(_), _) if proxy => "proxy",
        (Some(_), _) | (None, Some(_)) => "member",
        (None, None) => "none",
    };
    fact("coreos.etcd2".into(), cc.etcd2.as_ref().and_then(|s| s.get("proxy")), role.into());
    for key in ["name", "initial_advertise_peer_urls", "advertise_client_urls", "listen_client_urls", "discovery"] {
        let f = get(&cc.etcd2, key);
        fact(format!("coreos.etcd2.{key}"), f.as_ref(), f.as_ref().map(|f| set(&f.value)).unwrap_or_default());
    }
    let initial = get(&cc.etcd2, "initial_cluster");
    let urls = initial.as_ref().map(|f| {
        set(&f.value.split(',').filter_map(|e| e.split_once('=')).map(|(_, u)| u).collect::<Vec<_>>().join(","))
    });
    fact("coreos.etcd2.initial_cluster".into(), initial.as_ref(), urls.unwrap_or_default());
    let metadata = get(&cc.fleet, "metadata");
    fact(
        "coreos.fleet.metadata".into(),
        metadata.as_ref(),
        metadata.as_ref().map(|f| set(&f.value)).unwrap_or_default(),
    );
    let public = get(&cc.fleet, "public_ip");
    fact(
        "coreos.fleet.public_ip".into(),
        public.as_ref(),
        public.as_ref().map(|f| f.value.clone()).unwrap_or_default(),
    );
    for unit in &cc.units {
        let name = unit.name.as_ref().map(|n| n.value.clone()).unwrap_or_default();
        let dropins: Vec<String> = unit.drop_ins.iter().map(|(n, c)| format!("{}={}", n.value, c.value)).collect();
        let value = format!(
            "content={:?} command={:?} enable={} mask={} runtime={} dropins={dropins:?}",
            unit.content.as_ref().map(|c| &c.value),
            unit.command.as_ref().map(|c| &c.value),
            unit.enable,
            unit.mask,
            unit.runtime
        );
        facts.push((format!("coreos.units `{name}`"), unit.name.as_ref().map_or(unit.line, |n| n.line), value));
    }
    for file in &cc.write_files {
        let path = file.path.as_ref().map(|p| p.value.clone()).unwrap_or_default();
        let raw = file.content.as_ref().map(|c| c.value.clone()).unwrap_or_default();
        let content = match file.encoding.as_ref().map(|e| e.value.as_str()) {
            Some("b64" | "base64") => base64::engine::general_purpose::STANDARD
                .decode(raw.split_whitespace().collect::<String>())
                .map_or(raw.clone(), |b| String::from_utf8_lossy(&b).into_owned()),
            _ => raw,
        };
        let value = format!(
            "{content:?} {:?} {:?}",
            file.permissions.as_ref().map(|p| &p.value),
            file.owner.as_ref().map(|o| &o.value)
        );
        facts.push((format!("write_files `{path}`"), file.path.as_ref().map_or(file.line, |p| p.line), value));
    }
    facts
}

/// What a Flatcar machine gets, as Ignition reads its config: each user's keys, each file
/// (decoded contents, mode, owners, overwrite), directory, link and unit (body, enabled, mask,
/// drop-ins), named as the importer's findings name them.
fn ignition_behaviour(text: &str) -> Vec<(String, usize, String)> {
    let config = clusterdef::read::ignition::parse(text).expect("an Ignition config");
    let mut facts = Vec::new();
    for u in &config.users {
        facts.push((format!("user `{}`", u.name), 0, format!("{:?}", u.ssh_authorized_keys)));
    }
    for f in &config.files {
        let value =
            format!("{:?} {:?} {:?} {:?} {:?} {:?}", f.contents, f.append, f.mode, f.user, f.group, f.overwrite);
        facts.push((format!("file `{}`", f.path), 0, value));
    }
    for (path, mode) in &config.directories {
        facts.push((format!("directory `{path}`"), 0, format!("{mode:?}")));
    }
    for (path, target, hard) in &config.links {
        facts.push((format!("link `{path}`"), 0, format!("{target} {hard}")));
    }
    for u in &config.units {
        let value = format!("{:?} {:?} {:?} {:?}", u.contents, u.enabled, u.mask, u.dropins);
        facts.push((format!("unit `{}`", u.name), 0, value));
    }
    facts
}

#[test]
fn hand_written_clusters_import_as_expected_and_every_change_in_behaviour_is_a_finding() {
    let scratch = Scratch::new("import-real-styles");
    for (name, args, code) in REAL_STYLES {
        let fixture = import_fixture(name);
        let mut with = vec!["import", fixture.as_str()];
        with.extend_from_slice(args);
        let report = clusterdef(&[&with[..], &["--format", "json"]].concat());
        assert_eq!(report.status.code(), Some(*code), "{name}: {}", stdout(&report));
        let report: serde_json::Value = serde_json::from_str(&stdout(&report)).expect("one JSON object");
        let declaration = report["declaration"].as_str().unwrap_or_default();
        assert_expected_declaration(name, declaration);
        let findings = report["findings"].as_array().cloned().unwrap_or_default();
        assert_expected_findings(name, &findings);
        let text = clusterdef(&with);
        assert_eq!(stdout(&text), declaration, "{name}: text and JSON print one declaration");
        // Every field the declaration sets is read from a line, inferred with its finding, or
        // told by an option.
        let (files, _) = clusterdef::import::read_dir(Path::new(&fixture)).expect("the fixture reads");
        let member_count = args.iter().position(|a| *a == "--count").and_then(|i| args.get(i + 1)?.parse().ok());
        let options = clusterdef::import::Options { name: Some(name), member_count };
        if let Ok(imported) = clusterdef::import::import_with(&files, &options) {
            assert_eq!(imported.fields_without_evidence(), Vec::<String>::new(), "{name}");
        }
        // Rendered again, with its risks accepted, each machine does what its file did, or a
        // finding on that file says what changes.
        let decl = scratch.path(&format!("{name}.cluster"));
        let accepted = clusterdef(&[&with[..], &["--allow-lossy", "--allow-risks", "--out", &decl]].concat());
        let out = scratch.path(&format!("{name}-out"));
        let rendered =
            clusterdef(&["render", &decl, "--out", &out, "--discovery-url", "https://discovery.etcd.io/fixture"]);
        if !accepted.status.success() || !rendered.status.success() {
            assert_eq!(*code, 1, "{name} renders only when the import fails saying why: {}", stderr(&rendered));
            continue;
        }
        for pair in report["counterparts"].as_array().into_iter().flatten() {
            let (file, twin) =
                (pair["file"].as_str().unwrap_or_default(), pair["rendered"].as_str().unwrap_or_default());
            let source = std::fs::read_to_string(Path::new(&fixture).join(file)).expect("the source");
            let again = std::fs::read_to_string(Path::new(&out).join(twin))
                .unwrap_or_else(|e| panic!("{name}: the rendered counterpart of {file}, {twin}: {e}"));
            let (was, now) = (behaviour(&source), behaviour(&again));
            let said = |key: &str, line: usize| {
                findings.iter().any(|f| {
                    f["file"] == file
                        && (line != 0 && f["line"].as_u64() == Some(line as u64)
                            || f["what"].as_str().is_some_and(|w| {
                                key.starts_with(w) || w.starts_with(key) || w.replace('-', "_").starts_with(key)
                            }))
                })
            };
            for (key, line, value) in &was {
                let after = now.iter().find(|(k, _, _)| k == key).map(|(_, _, v)| v.as_str()).unwrap_or_default();
                if after != value {
                    assert!(
                        said(key, *line),
                        "{name}/{file}:{line}: `{key}` changes from {value:?} to {after:?} without a finding"
                    );
                }
            }
            for (key, _, value) in &now {
                if !value.is_empty() && !was.iter().any(|(k, _, _)| k == key) {
                    let section = key.split(' ').next().unwrap_or_default();
                    assert!(said(section, 0), "{name}/{file}: the render adds `{key}` = {value:?} without a finding");
                }
            }
        }
    }
}

/// `--count` where the members have configs of their own: said in a finding, never ignored
/// without a word; and an import that stops early still lists what it found as findings.
#[test]
fn options_that_do_not_apply_and_early_stops_are_findings() {
    let out = clusterdef(&["import", &import_fixture("no-hostnames"), "--count", "5", "--format", "json"]);
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let said = report["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|f| f["what"] == "--count" && f["why"].as_str().is_some_and(|w| w.contains("it is not used")));
    assert!(said, "{report:#}");
    let s = Scratch::new("early-stop");
    s.file("run.sh", "#!/bin/sh\necho hi\n");
    let out = clusterdef(&["import", &s.0.display().to_string(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON object");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    assert!(
        findings.iter().any(|f| f["file"] == "run.sh" && f["severity"] == "lossy" && f["line"] == 1),
        "the script's finding is a finding, not only text in the error: {report:#}"
    );
}
