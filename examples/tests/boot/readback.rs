//! What the plan promises is what the files say, read back the way the engines read them.
//!
//! The plan is computed from the model and the files are rendered from it. Here the rendered
//! files are read by readers that follow the consumers' own rules and compared with the plan:
//! each cloud-config through a YAML 1.1 reader (PyYAML), its `fleet.metadata` as fleetd parses
//! it, every unit file (and every copy members carry to submit) as fleet parses `[X-Fleet]`, and
//! fleet's matching of the two. For every seed cluster and a few hundred random ones:
//!
//! - the configs rendered are exactly the configs the plan names, each per-machine config
//!   naming its machine and each shared config naming none;
//! - the configs a unit may run on, matched from the files, are the plan's eligible ones, and
//!   `Global`, `MachineOf`, `MachineID`, `Conflicts` and `Replaces` read back as planned;
//! - each member's etcd section names it and its URLs as planned, `initial-cluster` (or the
//!   discovery URL) lists the planned members, and every machine's fleet, locksmith and etcdctl
//!   reach etcd the way the plan says.
//!
//! The random clusters come from a seed, printed on failure; `CLUSTERDEF_READBACK_SEED` replays
//! it and `CLUSTERDEF_READBACK_COUNT` changes how many are drawn.

use std::collections::{BTreeMap, BTreeSet};

use clusterdef::read::fleet::{Placement, expand_specifiers, parse_machine_metadata, parse_unit_file};
use clusterdef::render::cloud_config::{ENV_FILE, FLEET_UNITS_DIR, SUBMIT_UNIT, shares_configs};
use clusterdef::render::plan::EtcdAccess;
use clusterdef::synthetic::random_cluster;
use clusterdef::{Bootstrap, Cluster, EtcdRelease, Plan, Render, RenderOptions, cluster};
use clusterdef_examples::seed;
use serde_json::Value;

use crate::support::{get, read_yaml_1_1};

/// The discovery URL given at render time to clusters that leave it out.
const DISCOVERY: &str = "https://discovery.etcd.io/render-time-token";

/// A rendered cluster and what is known of it.
struct Rendered {
    label: String,
    cluster: Cluster,
    plan: Plan,
    files: BTreeMap<String, String>,
    discovery: Option<String>,
}

fn render(label: String, cluster: Cluster) -> Rendered {
    let options = RenderOptions { discovery_url: Some(DISCOVERY.to_string()), ..Default::default() };
    let artifacts = cluster.render_with(&options).unwrap_or_else(|e| panic!("{label} renders: {e}"));
    let files = artifacts.into_iter().map(|(p, b)| (p, String::from_utf8(b).expect("utf-8"))).collect();
    let discovery = match &cluster.bootstrap {
        Bootstrap::Static => None,
        Bootstrap::Discovery(url) => Some(url.as_deref().unwrap_or(DISCOVERY).to_string()),
    };
    Rendered { label, plan: cluster.plan(), cluster, files, discovery }
}

/// Reads every cloud-config of every cluster with one YAML 1.1 reader run.
fn read_configs(rendered: &[Rendered]) -> Vec<BTreeMap<String, Value>> {
    let mut texts = Vec::new();
    for r in rendered {
        texts.extend(r.files.iter().filter(|(p, _)| p.starts_with("cloud-config/")).map(|(_, t)| t.as_str()));
    }
    let mut values = read_yaml_1_1(&texts).into_iter();
    rendered
        .iter()
        .map(|r| {
            let configs = r.files.keys().filter(|p| p.starts_with("cloud-config/"));
            configs.map(|p| (p.clone(), values.next().expect("one value per text"))).collect()
        })
        .collect()
}

fn text<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    get(value, path).and_then(Value::as_str)
}

/// Every disagreement between the plan and the files of one cluster.
fn disagreements(r: &Rendered, configs: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let planned: BTreeSet<&String> = r.plan.groups.iter().flat_map(|g| &g.configs).collect();
    let rendered: BTreeSet<&String> = configs.keys().collect();
    if planned != rendered {
        out.push(format!("configs: the plan names {planned:?}, the files are {rendered:?}"));
    }
    for group in &r.plan.groups {
        let shared = r.cluster.groups().any(|(_, g)| g.name == group.name && shares_configs(g));
        for m in &group.machines {
            let Some(value) = configs.get(&m.config) else { continue };
            let named = text(value, &["hostname"]);
            let want = (!shared).then_some(m.hostname.as_str());
            if named != want {
                out.push(format!("{}: it is {}'s config in the plan, but it names {named:?}", m.config, m.hostname));
            }
        }
    }
    // Machine metadata, as fleetd reads `fleet.metadata`.
    let mut metadata = BTreeMap::new();
    for (path, value) in configs {
        match text(value, &["coreos", "fleet", "metadata"]) {
            Some(raw) => {
                metadata.insert(path.clone(), parse_machine_metadata(raw));
            }
            None => out.push(format!("{path}: coreos.fleet.metadata is not a string")),
        }
    }
    out.extend(unit_disagreements(r, configs, &metadata));
    out.extend(etcd_disagreements(r, configs));
    out
}

fn unit_disagreements(
    r: &Rendered,
    configs: &BTreeMap<String, Value>,
    metadata: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<String> {
    let mut out = Vec::new();
    // The copies members carry for the unit that submits them, by unit name.
    let mut carried: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for (path, value) in configs {
        for file in get(value, &["write_files"]).and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = text(file, &["path"]).and_then(|p| p.strip_prefix(FLEET_UNITS_DIR)) else { continue };
            let content = text(file, &["content"]).unwrap_or_default().to_string();
            carried.entry(name.trim_start_matches('/').to_string()).or_default().push((path.clone(), content));
        }
    }
    for unit in &r.plan.units {
        let file = format!("units/{}", unit.name);
        let Some(body) = r.files.get(&file) else {
            out.push(format!("{}: no unit file {file}", unit.name));
            continue;
        };
        let placement = match parse_unit_file(body) {
            Ok(options) => Placement::of(&unit.name, &options),
            Err(e) => {
                out.push(format!("{file}: fleet cannot parse it: {e}"));
                continue;
            }
        };
        for (path, copy) in carried.get(&unit.name).into_iter().flatten() {
            let copy = parse_unit_file(copy).map(|o| Placement::of(&unit.name, &o));
            if copy.as_ref() != Ok(&placement) {
                out.push(format!(
                    "{path}: its copy of {} reads as {copy:?}, the unit file as {placement:?}",
                    unit.name
                ));
            }
        }
        let fleet_reads: BTreeSet<&String> =
            metadata.iter().filter(|(_, m)| placement.runs_on(m)).map(|(path, _)| path).collect();
        let plan_says: BTreeSet<&String> = unit.eligible.iter().flat_map(|e| e.configs.iter()).collect();
        if fleet_reads != plan_says {
            out.push(format!(
                "unit {}: the plan says it may run on machines booted from {plan_says:?}; fleet, reading the files, \
                 would run it on {fleet_reads:?}\n--- {file} ---\n{body}",
                unit.name
            ));
        }
        let expand = |globs: &[String]| globs.iter().map(|g| expand_specifiers(g, &unit.name)).collect::<Vec<_>>();
        let want = Placement {
            global: unit.global,
            metadata: placement.metadata.clone(),
            dropped_metadata: Vec::new(),
            machine_id: unit.machine_id.clone(),
            machine_of: unit.follows.iter().map(|f| expand_specifiers(f, &unit.name)).collect(),
            conflicts: expand(&unit.conflicts),
            replaces: expand(&unit.replaces),
            unknown_keys: Vec::new(),
        };
        if placement != want {
            out.push(format!("unit {}: the plan says {want:?}; fleet reads {placement:?}", unit.name));
        }
    }
    // The instances the members' submit unit starts by name, as systemd reads its ExecStart
    // lines, against the instances the plan says fleet starts.
    let planned: Vec<String> =
        r.plan.units.iter().filter(|u| u.placed_on.is_empty()).flat_map(|u| u.instances.iter().cloned()).collect();
    for (path, value) in configs {
        let units = get(value, &["coreos", "units"]).and_then(Value::as_array).into_iter().flatten();
        for submit in units.filter(|u| text(u, &["name"]) == Some(SUBMIT_UNIT)) {
            let Ok(options) = parse_unit_file(text(submit, &["content"]).unwrap_or_default()) else {
                out.push(format!("{path}: the submit unit does not parse"));
                continue;
            };
            let started: Vec<String> = options
                .iter()
                .filter(|o| o.section == "Service" && o.name == "ExecStart")
                .filter_map(|o| o.value.strip_prefix("/usr/bin/fleetctl start "))
                .flat_map(|names| names.split_whitespace().filter(|n| !n.contains('/')).map(str::to_string))
                .collect();
            expect(&mut out, path, "the instances the submit unit starts", started, planned.clone());
        }
    }
    out
}

/// `name=url,…` as etcd splits `initial-cluster`.
fn initial_cluster(list: &str) -> Vec<(String, String)> {
    list.split(',').filter_map(|e| e.split_once('=')).map(|(n, u)| (n.to_string(), u.to_string())).collect()
}

/// Records a disagreement when what a file says differs from what the plan says.
fn expect<T: PartialEq + std::fmt::Debug>(out: &mut Vec<String>, path: &str, what: &str, found: T, want: T) {
    if found != want {
        out.push(format!("{path}: {what} reads back as {found:?}, the plan says {want:?}"));
    }
}

/// `host:port` of a URL, as etcd 0.4's `addr` and `peer-addr` take it.
fn host_port(url: &str) -> String {
    url.split_once("://").map_or(url, |(_, h)| h).to_string()
}

fn etcd_disagreements(r: &Rendered, configs: &BTreeMap<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    let members = &r.plan.etcd.member_urls;
    let planned: Vec<(String, String)> = members.iter().map(|m| (m.name.clone(), m.peer_url.clone())).collect();
    let v2 = r.cluster.etcd_release == EtcdRelease::V2;
    for group in &r.plan.groups {
        for path in &group.configs {
            let Some(value) = configs.get(path) else { continue };
            let o = &mut out;
            let endpoint = match &group.etcd_access {
                EtcdAccess::Member => {
                    let machine = group.machines.iter().find(|m| &m.config == path);
                    let Some(member) = machine.and_then(|m| members.iter().find(|u| u.name == m.hostname)) else {
                        o.push(format!("{path}: a member's config that no planned member boots from"));
                        continue;
                    };
                    let section = get(value, &["coreos", if v2 { "etcd2" } else { "etcd" }]);
                    let Some(etcd) = section else {
                        o.push(format!("{path}: a member's config without an etcd section"));
                        continue;
                    };
                    let field = |key: &str| text(etcd, &[key]);
                    expect(o, path, "the member's name", field("name"), Some(member.name.as_str()));
                    if v2 {
                        let peer = Some(member.peer_url.as_str());
                        let client = Some(member.client_url.as_str());
                        expect(o, path, "initial-advertise-peer-urls", field("initial-advertise-peer-urls"), peer);
                        expect(o, path, "listen-peer-urls", field("listen-peer-urls"), peer);
                        expect(o, path, "advertise-client-urls", field("advertise-client-urls"), client);
                        expect(o, path, "listen-client-urls", field("listen-client-urls"), client);
                    } else {
                        expect(o, path, "addr", field("addr").map(str::to_string), Some(host_port(&member.client_url)));
                        let peer = Some(host_port(&member.peer_url));
                        expect(o, path, "peer-addr", field("peer-addr").map(str::to_string), peer);
                    }
                    match (&r.discovery, v2) {
                        (Some(url), _) => expect(o, path, "discovery", field("discovery"), Some(url.as_str())),
                        (None, true) => {
                            let list = field("initial-cluster").map(initial_cluster);
                            expect(o, path, "initial-cluster", list, Some(planned.clone()));
                            expect(o, path, "initial-cluster-state", field("initial-cluster-state"), Some("new"));
                        }
                        (None, false) => {
                            let others: Vec<String> = members
                                .iter()
                                .filter(|m| m.name != member.name)
                                .map(|m| host_port(&m.peer_url))
                                .collect();
                            let peers: Vec<String> =
                                field("peers").map(|p| p.split(',').map(str::to_string).collect()).unwrap_or_default();
                            expect(o, path, "peers", peers, others);
                        }
                    }
                    member.client_url.clone()
                }
                EtcdAccess::Proxy(url) => {
                    let Some(etcd2) = get(value, &["coreos", "etcd2"]) else {
                        o.push(format!("{path}: a worker's config without its proxy"));
                        continue;
                    };
                    let field = |key: &str| text(etcd2, &[key]);
                    expect(o, path, "proxy", field("proxy"), Some("on"));
                    expect(o, path, "the proxy's listen-client-urls", field("listen-client-urls"), Some(url.as_str()));
                    match &r.discovery {
                        Some(d) => expect(o, path, "the proxy's discovery", field("discovery"), Some(d.as_str())),
                        None => {
                            let list = field("initial-cluster").map(initial_cluster);
                            expect(o, path, "the proxy's initial-cluster", list, Some(planned.clone()));
                        }
                    }
                    url.clone()
                }
                EtcdAccess::Gateway(url) => {
                    o.push(format!("{path}: a cloud-config's plan names a gateway ({url}), which only Flatcar runs"));
                    continue;
                }
                EtcdAccess::Endpoints(list) => {
                    let own = get(value, &["coreos", "etcd2"]).or_else(|| get(value, &["coreos", "etcd"]));
                    expect(o, path, "a worker's own etcd section", own, None);
                    list.join(",")
                }
            };
            let endpoint = Some(endpoint.as_str());
            expect(o, path, "fleet.etcd_servers", text(value, &["coreos", "fleet", "etcd_servers"]), endpoint);
            expect(o, path, "locksmith.endpoint", text(value, &["coreos", "locksmith", "endpoint"]), endpoint);
            let env = get(value, &["write_files"])
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .find(|f| text(f, &["path"]) == Some(ENV_FILE))
                .and_then(|f| text(f, &["content"]))
                .unwrap_or_default();
            let endpoints = env.lines().find_map(|l| l.strip_prefix("ETCD_ENDPOINTS="));
            expect(o, path, "ETCD_ENDPOINTS", endpoints, endpoint);
        }
    }
    out
}

/// Renders, reads back and compares; panics with every disagreement, the cluster and how to
/// replay it.
fn assert_agree(rendered: &[Rendered], replay: &str) {
    let configs = read_configs(rendered);
    let mut failures = Vec::new();
    for (r, configs) in rendered.iter().zip(&configs) {
        let found = disagreements(r, configs);
        if !found.is_empty() {
            failures.push(format!("{}:\n  {}\ncluster: {:#?}\n", r.label, found.join("\n  "), r.cluster));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} clusters disagree with their plan ({replay}):\n{}",
        failures.len(),
        rendered.len(),
        failures.join("\n")
    );
}

#[test]
fn every_seed_cluster_reads_back_as_planned() {
    let rendered: Vec<Rendered> =
        seed::all().into_iter().map(|(name, c)| render(name.to_string(), c.clone())).collect();
    assert_agree(&rendered, "seed clusters");
    // The seeds exercise what the comparison looks at: per-machine and shared configs, a unit
    // requiring several values of one key, members and proxies.
    let large = &rendered[3];
    assert!(large.plan.units.iter().any(|u| u.name == "batch-runner@.service" && u.eligible.len() == 2));
}

/// The first seed and the number of random clusters a test draws: `CLUSTERDEF_READBACK_SEED`
/// replays a run (a new seed each run otherwise), `CLUSTERDEF_READBACK_COUNT` overrides
/// `default_count`.
pub fn seed_range(default_count: u64) -> (u64, u64) {
    let seed: u64 = std::env::var("CLUSTERDEF_READBACK_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(11, |d| d.as_nanos() as u64)
    });
    let count = std::env::var("CLUSTERDEF_READBACK_COUNT").ok().and_then(|s| s.parse().ok()).unwrap_or(default_count);
    (seed, count)
}

#[test]
fn random_clusters_read_back_as_planned() {
    let (seed, count) = seed_range(300);
    let rendered: Vec<Rendered> = (0..count)
        .map(|i| {
            let (cluster, drawn) = random_cluster(seed.wrapping_add(i));
            render(format!("random cluster {i} (drawn from seed {drawn})"), cluster)
        })
        .collect();
    // The draws cover what could drift: several values of one key, several pools, domains,
    // global and non-global units, both etcd releases, shared configs.
    let units = rendered.iter().flat_map(|r| r.cluster.units.iter());
    assert!(units.clone().any(|u| u.machine_metadata.iter().any(|q| q.values.len() > 1)));
    assert!(units.clone().any(|u| u.global) && units.clone().any(|u| !u.global));
    assert!(rendered.iter().any(|r| r.cluster.pools.len() >= 2));
    assert!(rendered.iter().any(|r| r.cluster.etcd_release == EtcdRelease::V0_4));
    assert!(rendered.iter().any(|r| r.plan.groups.iter().any(|g| g.configs.len() > 1 && g.machines.is_empty())));
    assert_agree(&rendered, &format!("replay with CLUSTERDEF_READBACK_SEED={seed}"));
}

/// The issue's own case: a unit that asks for one of several zones and one of several roles,
/// in a cluster with a third zone and a GPU pool it must stay off.
fn edge_cluster() -> Cluster {
    cluster! {
        name: "edge",
        network: { subnet: "10.0.0.0/16", gateway: "10.0.0.1" },
        central: 3 across zones ["eu-1a", "eu-1b", "eu-1c"] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 6 across zones ["eu-1a", "eu-1b", "eu-1c"],
        pool gpu: 2 across zones ["eu-1a", "eu-1b"] { role: gpu },
        unit "edge.service" {
            metadata: { zone = ["eu-1a", "eu-1b"], role = [worker, central] },
            body: "[Service]\nExecStart=/usr/bin/edge\n",
        },
    }
}

#[test]
fn a_unit_asking_for_several_values_runs_where_declared() {
    let r = render("edge".to_string(), edge_cluster());
    assert_agree(std::slice::from_ref(&r), "the issue's edge cluster");
    let edge = &r.plan.units[0];
    let hosts: usize = edge.eligible.iter().map(|e| e.hostnames.len()).sum();
    assert_eq!(hosts, 6, "2 central and 4 workers in eu-1a and eu-1b: {:?}", edge.eligible);
}

/// The comparison has teeth: a unit file in the form fleet misreads (several pairs on one
/// unquoted line, which fleet drops, leaving the unit free to run anywhere) is caught, and so is
/// a machine whose metadata is written in a form fleetd reads differently.
#[test]
fn a_misread_file_is_caught() {
    let mut r = render("edge".to_string(), edge_cluster());
    let file = r.files.get_mut("units/edge.service").expect("unit");
    let fleet_section = file.split_off(file.find("[X-Fleet]").expect("section"));
    assert_eq!(
        fleet_section,
        "[X-Fleet]\nMachineMetadata=zone=eu-1a\nMachineMetadata=zone=eu-1b\nMachineMetadata=role=worker\nMachineMetadata=role=central\n"
    );
    file.push_str("[X-Fleet]\nMachineMetadata=zone=eu-1a zone=eu-1b\nMachineMetadata=role=worker role=central\n");
    let mut configs = read_configs(std::slice::from_ref(&r));
    let found = disagreements(&r, &configs[0]);
    let misplaced = found.iter().find(|d| d.starts_with("unit edge.service: the plan says it may run on"));
    let misplaced = misplaced.unwrap_or_else(|| panic!("not caught: {found:?}"));
    assert!(misplaced.contains("cloud-config/central-3.yml") && misplaced.contains("gpu-1.yml"), "{misplaced}");

    let r = render("edge".to_string(), edge_cluster());
    let value = configs[0].get_mut("cloud-config/worker-1.yml").expect("a worker's config");
    let raw = text(value, &["coreos", "fleet", "metadata"]).expect("metadata").to_string();
    set(value, &["coreos", "fleet", "metadata"], raw.replace(',', ";"));
    let found = disagreements(&r, &configs[0]);
    assert!(found.iter().any(|d| d.contains("would run it on") && d.contains("worker-1.yml")), "{found:?}");
}

/// Replaces the string under `path` in a parsed document.
fn set(value: &mut Value, path: &[&str], new: String) {
    let mut current = value;
    for key in path {
        let list = current.get_mut("__map__").and_then(Value::as_array_mut).expect("a mapping");
        let entry = list.iter_mut().find(|e| e[0] == *key).expect("the key");
        current = &mut entry[1];
    }
    *current = Value::String(new);
}
