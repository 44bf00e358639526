//! The guide's four architectures on Flatcar: every Ignition config passes Debian's and
//! upstream's newest `ignition-validate` with no output at all (they print warnings and still
//! exit 0), and the
//! configs, read back as JSON, carry what the plan says: each unit in exactly the configs it is
//! placed on, each member's etcd settings from the plan's member list, and every other machine's
//! gateway to those members.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use clusterdef::render::ignition::{ETCD_DROPIN, GATEWAY_UNIT};
use clusterdef::{Render, Rule};
use clusterdef_examples::seed::flatcar;
use serde_json::Value;

use crate::support::TempDir;

fn configs(cluster: &clusterdef::Cluster) -> BTreeMap<String, String> {
    let artifacts = cluster.render().expect("the Flatcar seeds render");
    artifacts
        .iter()
        .filter(|(p, _)| p.ends_with(".ign"))
        .map(|(p, b)| (p.to_string(), String::from_utf8(b.to_vec()).expect("utf-8")))
        .collect()
}

#[test]
fn every_flatcar_config_passes_ignition_validate_silently() {
    let dir = TempDir::new("ignition-validate");
    let mut checked = 0;
    let kubernetes = [("kubernetes", &clusterdef_examples::kubernetes::PRODUCTION)];
    for (name, cluster) in flatcar::all().into_iter().chain(kubernetes) {
        for (path, text) in configs(cluster) {
            let file = dir.path().join(format!("{name}-{}", path.replace('/', "-")));
            std::fs::write(&file, &text).expect("write config");
            if let Err(said) = crate::support::validate_ignition(&file) {
                panic!("{name}/{path}: {said}\n{text}");
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "{checked} configs validated");
    // And the check has teeth: a config with a relative path fails.
    let bad = dir.path().join("bad.ign");
    std::fs::write(&bad, r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"path":"etc/x"}]}}"#).expect("write");
    for validator in crate::support::ignition_validators() {
        let out = Command::new(&validator).arg(&bad).output().expect("run");
        assert!(!out.status.success() || !out.stdout.is_empty(), "{} accepted it", validator.display());
    }
}

/// The `ETCD_*` settings of a drop-in, as systemd reads its `Environment=` lines.
fn environment(dropin: &str) -> BTreeMap<String, String> {
    crate::applied::systemd_environment(&[dropin]).into_iter().collect()
}

#[test]
fn flatcar_configs_carry_the_planned_units_and_etcd_settings() {
    for (name, cluster) in flatcar::all() {
        let plan = cluster.plan();
        // The machines' configs (matchbox's copies are the same bytes: the matchbox render's test).
        let parsed: BTreeMap<String, Value> = configs(cluster)
            .into_iter()
            .filter(|(p, _)| p.starts_with("ignition/"))
            .map(|(p, t)| (p, serde_json::from_str(&t).expect("JSON")))
            .collect();
        let units_in = |config: &Value| -> BTreeSet<String> {
            config["systemd"]["units"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|u| u["name"].as_str().map(str::to_string))
                .collect()
        };
        // Each unit is in exactly the configs the plan places it on.
        for unit in &plan.units {
            let carrying: BTreeSet<String> = unit.placed_configs.iter().cloned().collect();
            let found: BTreeSet<String> =
                parsed.iter().filter(|(_, c)| units_in(c).contains(&unit.name)).map(|(p, _)| p.clone()).collect();
            assert!(!found.is_empty(), "{name}: {} is placed nowhere", unit.name);
            assert_eq!(
                found, carrying,
                "{name}: {} is carried by {found:?}, the plan says {:?}",
                unit.name, unit.placed_on
            );
        }
        // Members carry etcd-member with the plan's settings; every other machine a gateway to them.
        let initial: Vec<String> = plan.etcd.member_urls.iter().map(|m| format!("{}={}", m.name, m.peer_url)).collect();
        for group in &plan.groups {
            for path in &group.configs {
                let config = &parsed[path];
                let units = config["systemd"]["units"].as_array().expect("units");
                if group.members {
                    let member = units.iter().find(|u| u["name"] == "etcd-member.service").expect("etcd-member");
                    assert_eq!(member["enabled"], true, "{name}/{path}");
                    let dropin = &member["dropins"][0];
                    assert_eq!(dropin["name"], ETCD_DROPIN);
                    let env = environment(dropin["contents"].as_str().expect("contents"));
                    assert_eq!(env.get("ETCD_INITIAL_CLUSTER"), Some(&initial.join(",")), "{name}/{path}");
                    let me = group.machines.iter().find(|m| &m.config == path).expect("the member");
                    let urls = plan.etcd.member_urls.iter().find(|u| u.name == me.hostname).expect("its URLs");
                    assert_eq!(env.get("ETCD_NAME"), Some(&me.hostname));
                    assert_eq!(env.get("ETCD_INITIAL_ADVERTISE_PEER_URLS"), Some(&urls.peer_url));
                    assert_eq!(env.get("ETCD_ADVERTISE_CLIENT_URLS"), Some(&urls.client_url));
                    assert!(!env.contains_key("ETCD_DISCOVERY"), "static bootstrap only");
                } else {
                    let gateway = units.iter().find(|u| u["name"] == GATEWAY_UNIT).expect("the gateway");
                    let text = gateway["contents"].as_str().expect("contents");
                    let hosts: Vec<String> = plan
                        .etcd
                        .member_urls
                        .iter()
                        .map(|m| m.client_url.split_once("://").map(|(_, h)| h.to_string()).unwrap_or_default())
                        .collect();
                    assert!(text.contains(&format!("--endpoints={}", hosts.join(","))), "{name}/{path}: {text}");
                }
                // Every file clusterdef owns replaces what the image ships.
                for file in config["storage"]["files"].as_array().into_iter().flatten() {
                    assert_eq!(file["overwrite"], true, "{name}/{path}: {}", file["path"]);
                    assert!(file["contents"]["source"].as_str().is_some_and(|s| s.starts_with("data:")));
                }
            }
        }
    }
}

/// The design card on Flatcar has no member addresses, and Ignition substitutes nothing for
/// `$private_ipv4`; at run time the same rule stops it, and no `allow` silences it (the
/// compile-time error is `ui-tests/fail/member_addresses.rs`).
#[test]
fn the_card_on_flatcar_needs_static_members() {
    let mut card = clusterdef::cluster! { central: 5 across cabinets [a, b, c], workers: autoscale };
    card.os = clusterdef::Os::Flatcar;
    let rules: Vec<Rule> = card.violations().iter().map(|v| v.rule).collect();
    assert_eq!(rules, [Rule::MemberAddresses]);
    assert!(
        card.accept_risks(|_| "tried".to_string()).iter().any(|v| v.rule == Rule::MemberAddresses),
        "not allowable"
    );
    assert!(card.render().is_err(), "nothing renders");
}

/// Every path a config writes: files, links, units and drop-ins, where Ignition puts them.
fn written_paths(config: &Value) -> Vec<String> {
    let list = |v: &Value| v.as_array().cloned().unwrap_or_default();
    let mut paths: Vec<String> = ["files", "links", "directories"]
        .iter()
        .flat_map(|kind| list(&config["storage"][kind]))
        .filter_map(|node| node["path"].as_str().map(str::to_string))
        .collect();
    for unit in list(&config["systemd"]["units"]) {
        let name = unit["name"].as_str().unwrap_or_default();
        if unit.get("contents").is_some() {
            paths.push(format!("/etc/systemd/system/{name}"));
        }
        for dropin in list(&unit["dropins"]) {
            paths.push(format!("/etc/systemd/system/{name}.d/{}", dropin["name"].as_str().unwrap_or_default()));
        }
    }
    paths
}

/// Random Flatcar clusters of every shape: no config writes one path twice or a path inside
/// another file's (newer Ignition rejects both at boot; Debian's 2.14 validator does not), every
/// config passes `ignition-validate` silently and applies with real Ignition, and read back from
/// the applied roots each unit runs where the plan places it.
#[test]
fn random_flatcar_clusters_validate_apply_and_place_as_planned() {
    let (first, count) = crate::readback::seed_range(40);
    let dir = TempDir::new("random-flatcar");
    let mut configs_seen = 0;
    for n in 0..count {
        let (cluster, seed) = clusterdef::synthetic::random_flatcar_cluster(first + n);
        let name =
            format!("random Flatcar cluster drawn from seed {seed} (replay with CLUSTERDEF_READBACK_SEED={first})");
        for (path, text) in configs(&cluster) {
            let config: Value = serde_json::from_str(&text).expect("JSON");
            let written = written_paths(&config);
            for (i, a) in written.iter().enumerate() {
                for b in &written[i + 1..] {
                    assert_ne!(a, b, "{name}/{path}: {a} is written twice");
                    let nested = |x: &str, y: &str| y.starts_with(&format!("{x}/"));
                    assert!(!nested(a, b) && !nested(b, a), "{name}/{path}: {a} and {b} nest");
                }
            }
            let file = dir.path().join(format!("{seed}-{}", path.replace('/', "-")));
            std::fs::write(&file, &text).expect("write config");
            if let Err(said) = crate::support::validate_ignition(&file) {
                panic!("{name}/{path}: {said}\n{text}");
            }
            configs_seen += 1;
        }
        let applied = crate::applied::apply_all(&format!("random-{seed}"), &cluster);
        for (config, tree) in &applied {
            let found = tree.cloud_init_substitutions();
            assert!(
                found.is_empty(),
                "{name}/{config}: Ignition substitutes nothing, yet the applied tree holds {found:?}"
            );
        }
        let plan = cluster.plan();
        crate::applied::placement_holds(&name, &plan, &applied);
        // A unit placed nowhere is one a rule reported (and the draw allowed, as a user would).
        let violations = cluster.all_violations();
        for (u, unit) in plan.units.iter().enumerate() {
            if unit.placed_configs.is_empty() {
                let reported =
                    violations.iter().any(|v| matches!(v.subject, clusterdef::Subject::Unit(i, _) if i == u));
                assert!(reported, "{name}: {} is placed nowhere and no rule said so", unit.name);
            }
        }
    }
    assert!(configs_seen >= count as usize, "{configs_seen} configs from {count} clusters");
}

/// Random clusters of every addressing and bootstrap (members with or without addresses, by
/// discovery or static), moved to Flatcar with every allowable risk accepted, as a user could:
/// each is refused by a rule no `allow` silences, or renders configs whose applied trees hold no
/// value only coreos-cloudinit would fill in.
#[test]
fn no_cloud_init_substitution_reaches_a_flatcar_machine() {
    let (first, count) = crate::readback::seed_range(60);
    let (mut refused, mut rendered) = (0, 0);
    for n in 0..count {
        let (mut cluster, seed) = clusterdef::synthetic::random_cluster(first + n);
        cluster.os = clusterdef::Os::Flatcar;
        cluster.etcd_release = clusterdef::EtcdRelease::V2;
        if cluster.bootstrap == clusterdef::Bootstrap::Discovery(None) {
            cluster.bootstrap = clusterdef::Bootstrap::Discovery(Some("https://discovery.etcd.io/t".into()));
        }
        cluster.accept_risks(|_| "generated".to_string());
        let name = format!("random cluster from seed {seed} on Flatcar (replay with CLUSTERDEF_READBACK_SEED={first})");
        if cluster.check().is_err() {
            refused += 1;
            continue;
        }
        rendered += 1;
        for (config, tree) in crate::applied::apply_all(&format!("subst-{seed}"), &cluster) {
            let found = tree.cloud_init_substitutions();
            assert!(found.is_empty(), "{name}/{config}: {found:?}");
        }
        if !cluster.members.addressing.is_static() {
            panic!("{name}: members without addresses rendered for Flatcar");
        }
    }
    assert!(refused > 0 && rendered > 0, "both kinds drawn: {refused} refused, {rendered} rendered");
}

/// Every path a Flatcar config writes (files, links, unit files and drop-ins) and every unit it
/// has an entry for is on clusterdef's own list of that machine (`Cluster::own_writes`, which
/// the host-configuration rules check declarations against) or is the machine's declared host
/// configuration: a renderer that writes something the list lacks fails here, so a declaration
/// can never collide with it unchecked. The guide's seeds, the Kubernetes seed, random Flatcar
/// clusters (with random host configuration where it passes the rules) and random Kubernetes
/// clusters.
#[test]
fn every_path_a_render_writes_is_on_clusterdefs_own_list() {
    let (first, count) = crate::readback::seed_range(40);
    let mut clusters: Vec<(String, clusterdef::Cluster)> =
        flatcar::all().into_iter().map(|(n, c)| (n.to_string(), c.clone())).collect();
    clusters.push(("kubernetes".into(), clusterdef_examples::kubernetes::PRODUCTION.clone()));
    for n in 0..count {
        let (mut cluster, seed) = clusterdef::synthetic::random_flatcar_cluster(first + n);
        let bare = cluster.clone();
        crate::host::add_random_host(&mut cluster, &mut clusterdef::synthetic::Rng::new(first + n));
        let keep = if cluster.check().is_ok() { cluster } else { bare };
        clusters.push((format!("random Flatcar {seed} (CLUSTERDEF_READBACK_SEED={first})"), keep));
        let (k8s, seed) = crate::kubernetes::random_kubernetes_cluster(first + n);
        clusters.push((format!("random Kubernetes {seed} (CLUSTERDEF_READBACK_SEED={first})"), k8s));
    }
    let mut checked = 0;
    for (name, cluster) in &clusters {
        let rendered = configs(cluster);
        for (config_path, group, domain) in crate::host::config_kinds(cluster) {
            let own = cluster.own_writes(group);
            let mut allowed: BTreeSet<String> = own.paths().into_iter().map(|(p, _)| p).collect();
            let mut units: BTreeSet<String> = own.units.iter().cloned().collect();
            for (_, config) in crate::host::reaching(cluster, group, domain.as_deref()) {
                allowed.extend(config.files.iter().map(|f| f.path.to_string()));
                allowed.extend(config.units.iter().map(|u| format!("/etc/systemd/system/{}", u.name)));
                allowed.extend(config.dropins.iter().map(|d| format!("/etc/systemd/system/{}.d/{}", d.unit, d.name)));
                units.extend(config.units.iter().map(|u| u.name.to_string()));
                units.extend(config.dropins.iter().map(|d| d.unit.to_string()));
            }
            let on_list = |path: &str| {
                allowed.contains(path)
                    || own
                        .directories
                        .iter()
                        .any(|(d, _)| path.strip_prefix(d.as_str()).is_some_and(|r| r.starts_with('/')))
            };
            let text = rendered.get(&config_path).unwrap_or_else(|| panic!("{name}: {config_path} rendered"));
            let config: Value = serde_json::from_str(text).expect("JSON");
            for path in written_paths(&config) {
                assert!(on_list(&path), "{name}/{config_path}: writes {path}, which is not on clusterdef's own list");
                checked += 1;
            }
            for unit in config["systemd"]["units"].as_array().into_iter().flatten() {
                let unit = unit["name"].as_str().unwrap_or_default();
                assert!(units.contains(unit), "{name}/{config_path}: an entry for {unit}, which is not on the list");
            }
        }
    }
    assert!(checked > 1000, "{checked} paths checked");
}
