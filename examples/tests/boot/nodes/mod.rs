//! Real nodes: a Kubernetes cluster rendered for Flatcar, booted with real kubelets, containerd,
//! runc, flannel, kube-proxy and CoreDNS on the boot test bed's machines (systemd-nspawn, real
//! Ignition), and held to its plan. Every node joins by TLS bootstrap with the token `clusterdef
//! pki` made and registers its own labels and taints; the members' kubelets run the control
//! plane from the rendered static pods; the first member's bootstrap unit applies the
//! manifests; the workloads' pods run the test's server under the images their cluster
//! declares, and answer through their Services across failure domains. Then each domain's plug
//! is pulled: the control plane serves exactly when the plan says, the workloads run and answer
//! again where the plan says, and the domain returns to rest. A cluster booted one Kubernetes
//! minor back loses a worker and gets it back, has its workers relabelled and restored
//! (`change`), and is upgraded (`upgrade`), each as `clusterdef change` plans it.
//!
//! Emulated, and only that: `docker run` of Typhoon's kubelet image (and of the etcd image) is
//! the binary it holds, with the unit's arguments (`emulated/docker`). What the bed adds to a
//! machine because it is no Flatcar machine is in `bed`; the images it makes are in `images`.

mod api;
mod bed;
mod change;
mod images;
mod midway;
mod room;
pub mod upgrade;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clusterdef::render::plan::KubernetesPlan;
use clusterdef::{Cluster, Render};
use serde_json::Value;

use crate::kubernetes::{Expected, holds};
use crate::machines::Booted;
use crate::support::TempDir;
use api::{Api, wait_for};

/// A node as the plan names it: its kind (`group` or `group/domain`), its domain, the labels
/// and taints it must register.
struct PlannedNode {
    kind: String,
    domain: Option<String>,
    labels: BTreeSet<String>,
    taints: BTreeSet<String>,
}

/// Every machine's node, by hostname, from the plan.
fn planned_nodes(plan: &clusterdef::Plan, k: &KubernetesPlan) -> BTreeMap<String, PlannedNode> {
    let mut out = BTreeMap::new();
    for group in &plan.groups {
        for m in &group.machines {
            let node = k
                .nodes
                .iter()
                .find(|n| n.group == group.name && n.domain == m.domain)
                .unwrap_or_else(|| panic!("the plan names no node kind for {}", m.hostname));
            let kind = clusterdef::kubernetes::kind_name(&group.name, m.domain.as_deref());
            out.insert(
                m.hostname.clone(),
                PlannedNode {
                    kind,
                    domain: m.domain.clone(),
                    labels: node.labels.iter().cloned().collect(),
                    taints: node.taints.iter().cloned().collect(),
                },
            );
        }
    }
    out
}

/// Labels every kubelet sets on its own node (not the plan's to list).
fn kubelet_label(key: &str) -> bool {
    key.starts_with("kubernetes.io/") || key.starts_with("beta.kubernetes.io/")
}

/// Whether a node (as `kubectl get nodes -o json` lists it) is Ready.
fn is_ready(node: &Value) -> bool {
    node["status"]["conditions"].as_array().into_iter().flatten().any(|c| c["type"] == "Ready" && c["status"] == "True")
}

/// Every planned node registered by its own kubelet and Ready, with exactly the plan's labels
/// (besides the kubelet's own) and taints.
fn nodes_as_planned(api: &Api, at: &str, planned: &BTreeMap<String, PlannedNode>) -> Result<(), String> {
    let nodes = api.get(at, &["nodes"])?;
    let mut seen = BTreeSet::new();
    for node in nodes["items"].as_array().into_iter().flatten() {
        let name = node["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let Some(plan) = planned.get(&name) else { return Err(format!("a node the plan does not name: {name}")) };
        let labels: BTreeSet<String> = node["metadata"]["labels"]
            .as_object()
            .into_iter()
            .flatten()
            .filter(|(k, _)| !kubelet_label(k))
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect();
        if labels != plan.labels {
            return Err(format!("{name} has labels {labels:?}, the plan says {:?}", plan.labels));
        }
        // The taints it registered (the lifecycle controller's own come and go).
        let taints: BTreeSet<String> = node["spec"]["taints"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| !t["key"].as_str().unwrap_or_default().starts_with("node.kubernetes.io/"))
            .map(|t| {
                let value = t["value"].as_str().map(|v| format!("={v}")).unwrap_or_default();
                format!("{}{value}:{}", t["key"].as_str().unwrap_or_default(), t["effect"].as_str().unwrap_or_default())
            })
            .collect();
        if taints != plan.taints {
            return Err(format!("{name} has taints {taints:?}, the plan says {:?}", plan.taints));
        }
        if !is_ready(node) {
            return Err(format!("{name} is not Ready"));
        }
        seen.insert(name);
    }
    let missing: Vec<&String> = planned.keys().filter(|h| !seen.contains(*h)).collect();
    if !missing.is_empty() {
        return Err(format!("not registered: {missing:?}"));
    }
    Ok(())
}

/// A pod's phase and readiness, node, name and IP, and what its containers are doing.
struct Pod {
    name: String,
    node: Option<String>,
    ip: String,
    running: bool,
    state: String,
}

/// What a pod's containers are doing, for a failure's message: each container's state (and its
/// reason: `CrashLoopBackOff`, `ContainerCreating`), restarts and how it last ended.
fn containers_state(pod: &Value) -> String {
    let said: Vec<String> = pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| {
            let state = c["state"].as_object().and_then(|s| s.iter().next());
            let now = state.map_or("unknown".to_string(), |(what, detail)| {
                let reason = detail["reason"].as_str().unwrap_or_default();
                let message: String = detail["message"].as_str().unwrap_or_default().chars().take(300).collect();
                format!("{what} {reason} {message:?}")
            });
            let last = &c["lastState"]["terminated"];
            let ended = match last["exitCode"].as_i64() {
                Some(code) => {
                    let message = last["message"].as_str().unwrap_or_default();
                    let tail: String = message.chars().rev().take(300).collect::<Vec<_>>().into_iter().rev().collect();
                    format!(", last ended {code} {} {tail:?}", last["reason"].as_str().unwrap_or_default())
                }
                None => String::new(),
            };
            format!("{} {now}, {} restarts{ended}", c["name"].as_str().unwrap_or_default(), c["restartCount"])
        })
        .collect();
    format!("{} [{}]", pod["status"]["phase"].as_str().unwrap_or("no phase"), said.join("; "))
}

fn pods(api: &Api, at: &str, namespace: &str, selector: &str) -> Result<Vec<Pod>, String> {
    let list = api.get(at, &["pods", "-n", namespace, "-l", selector])?;
    Ok(list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["metadata"]["deletionTimestamp"].is_null())
        .map(|p| Pod {
            name: p["metadata"]["name"].as_str().unwrap_or_default().to_string(),
            node: p["spec"]["nodeName"].as_str().map(str::to_string),
            ip: p["status"]["podIP"].as_str().unwrap_or_default().to_string(),
            running: p["status"]["phase"] == "Running"
                && p["status"]["conditions"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True"),
            state: containers_state(p),
        })
        .collect())
}

/// Where each workload's pods run, counting only Running and Ready pods on `live` nodes:
/// workload → (their nodes, pods not bound to any node).
fn running(api: &Api, at: &str, workloads: &[String], live: &BTreeSet<String>) -> Result<RunMap, String> {
    let mut out: RunMap = workloads.iter().map(|w| (w.clone(), (Vec::new(), 0))).collect();
    for w in workloads {
        for pod in pods(api, at, "default", &format!("clusterdef.dev/unit={w}"))? {
            let entry = out.get_mut(w).expect("listed");
            match &pod.node {
                Some(node) if pod.running && live.contains(node) => entry.0.push(node.clone()),
                Some(node) if live.contains(node) => {
                    return Err(format!("{} on {node} is not running yet: {}", pod.name, pod.state));
                }
                Some(_) => {}
                None => entry.1 += 1,
            }
        }
    }
    Ok(out)
}

type RunMap = BTreeMap<String, (Vec<String>, usize)>;

/// The control plane's static pods, one of each component Running on every member.
fn control_plane_runs(api: &Api, at: &str, members: &[String]) -> Result<(), String> {
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        let listed = pods(api, at, "kube-system", &format!("k8s-app={c}"))?;
        let on: BTreeSet<String> = listed.iter().filter(|p| p.running).filter_map(|p| p.node.clone()).collect();
        let want: BTreeSet<String> = members.iter().cloned().collect();
        if on != want {
            let others: Vec<String> =
                listed.iter().filter(|p| !p.running).map(|p| format!("{}: {}", p.name, p.state)).collect();
            return Err(format!("{c} runs on {on:?}, the plan says every member: {want:?}; the others: {others:?}"));
        }
    }
    Ok(())
}

/// The addons: flannel and kube-proxy Running on every live node, CoreDNS's replicas Running.
fn addons_run(api: &Api, at: &str, live: &BTreeSet<String>) -> Result<(), String> {
    for app in ["flannel", "kube-proxy"] {
        let on: BTreeSet<String> = pods(api, at, "kube-system", &format!("k8s-app={app}"))?
            .into_iter()
            .filter(|p| p.running)
            .filter_map(|p| p.node)
            .filter(|n| live.contains(n))
            .collect();
        if &on != live {
            return Err(format!("{app} runs on {on:?}, not on every node {live:?}"));
        }
    }
    let dns = pods(api, at, "kube-system", "k8s-app=coredns")?;
    if !dns.iter().any(|p| p.running && p.node.as_ref().is_some_and(|n| live.contains(n))) {
        return Err("no CoreDNS pod runs".to_string());
    }
    Ok(())
}

/// Each workload with ports answers through its Service, by DNS name and by cluster IP, asked
/// from a running workload pod; and each of its pods answers at its own IP from a pod in
/// another failure domain where there is one (the pod network across domains). The answers.
fn answers(
    api: &Api,
    at: &str,
    cluster: &Cluster,
    planned: &BTreeMap<String, PlannedNode>,
    live: &BTreeSet<String>,
) -> Result<Vec<String>, String> {
    // Each workload's ports and its pods running on live nodes, listed once.
    let mut workloads: Vec<(String, Vec<u16>, Vec<Pod>)> = Vec::new();
    for w in cluster.workloads() {
        let running: Vec<Pod> = pods(api, at, "default", &format!("clusterdef.dev/unit={}", w.name))?
            .into_iter()
            .filter(|p| p.running && p.node.as_ref().is_some_and(|n| live.contains(n)))
            .collect();
        workloads.push((w.name.clone(), w.ports(cluster), running));
    }
    let clients: Vec<&Pod> = workloads.iter().flat_map(|(_, _, pods)| pods).collect();
    let Some(&client) = clients.first() else { return Ok(Vec::new()) };
    let domain_of = |pod: &Pod| pod.node.as_ref().and_then(|n| planned.get(n)).and_then(|p| p.domain.clone());
    let mut said = Vec::new();
    let ask = |from: &Pod, url: &str| -> Result<String, String> {
        api.run(at, &["exec", &from.name, "--", "/server", "get", url])
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("from {} ({:?}): {url}: {e}", from.name, from.node))
    };
    for (w, ports, targets) in workloads.iter().filter(|(_, p, t)| !p.is_empty() && !t.is_empty()) {
        let service = api.get(at, &["service", w])?;
        let ip = service["spec"]["clusterIP"].as_str().unwrap_or_default().to_string();
        for port in ports {
            let by_name = ask(client, &format!("http://{w}.default.svc.cluster.local:{port}/"))?;
            let by_ip = ask(client, &format!("http://{ip}:{port}/"))?;
            said.push(format!("{w}:{port} by name: {by_name}; by cluster IP {ip}: {by_ip}"));
            for target in targets {
                // From a pod in another domain, if one runs.
                let from = clients.iter().copied().find(|c| domain_of(c) != domain_of(target)).unwrap_or(client);
                let direct = ask(from, &format!("http://{}:{port}/", target.ip))?;
                if direct != format!("pod={}", target.name) {
                    return Err(format!("{} at {} answered {direct}", target.name, target.ip));
                }
            }
        }
    }
    Ok(said)
}

/// Which failure domains' plugs a real-node run pulls once the cluster is at rest.
#[derive(Clone, Copy, Default)]
pub enum Losses {
    /// The one this picks (modulo their count), or each in turn when [`every_plug_asked`].
    One(u64),
    /// None.
    #[default]
    None,
}

/// What a real-node run does after the cluster is at rest.
#[derive(Clone, Copy, Default)]
pub struct Scenario<'a> {
    /// The plugs pulled.
    pub losses: Losses,
    /// After the losses, the change to each of these declarations and back (a worker removed
    /// and added back; workers relabelled and their labels restored), each way as `clusterdef
    /// change` plans it; a plug is pulled midway through every step of the way there when
    /// [`every_plug_asked`] (each costs a member's reboot, about 105 s on two cores).
    pub changes: &'a [Cluster],
    /// After the losses, the Kubernetes upgrade to this declaration (the cluster at its next
    /// minor), as `clusterdef change` plans it.
    pub upgrade_to: Option<&'a Cluster>,
}

/// The whole scenario on `cluster`; a line per phase with its time.
pub fn real_nodes(name: &str, tag: &str, cluster: &Cluster, scenario: Scenario<'_>) -> Vec<String> {
    let _one_at_a_time = crate::support::heavy();
    let k = cluster.kubernetes.clone().expect("the cluster runs Kubernetes");
    let plan = cluster.plan();
    let kplan = plan.kubernetes.clone().expect("a Kubernetes plan");
    let mut software = images::Software::built(&k.version);
    let artifacts = cluster.render().expect("the cluster renders");
    let image_dir = TempDir::new(&format!("{tag}-images"));
    let named = images::named_images(&artifacts);
    let mut made = images::make(cluster, &named, &software, image_dir.path());
    if let Some(new) = scenario.upgrade_to {
        // NEW's release beside OLD's on every node, and NEW's images imported at boot (an image
        // pull, emulated: nothing is pulled here).
        let version = &new.kubernetes.as_ref().expect("NEW runs Kubernetes").version;
        let release = images::Software::built(version);
        software.releases.extend(release.releases.iter().cloned());
        let more = images::named_images(&new.render().expect("NEW renders"));
        let more = more.difference(&named).cloned().collect();
        let also = images::make(new, &more, &release, image_dir.path());
        made.names.extend(also.names);
        made.unpacked_all += also.unpacked_all;
        made.unpacked_members += also.unpacked_members;
    }
    eprintln!("{name}: images made locally: {:?}", made.names);
    bed::raise_host_inotify_limits();
    let count: usize = plan.groups.iter().map(|g| g.machines.len()).sum();
    let member_count = plan.groups.iter().filter(|g| g.members).map(|g| g.machines.len()).sum();
    bed::assert_room_for(count, member_count, &made);
    let mut booted = Booted::install(tag, cluster, &artifacts);
    let members: Vec<String> =
        plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines).map(|m| m.hostname.clone()).collect();
    let addresses: BTreeMap<String, String> = plan
        .groups
        .iter()
        .flat_map(|g| &g.machines)
        .filter_map(|m| m.address.map(|a| (m.hostname.clone(), a.to_string())))
        .collect();
    for (hostname, machine) in booted.machines.iter_mut() {
        let member = members.contains(hostname);
        bed::prepare(machine, &software, image_dir.path(), member, members.first() == Some(hostname));
    }
    let started = Instant::now();
    booted.start_all(Duration::from_secs(600));
    for machine in booted.machines.values() {
        bed::assert_images_imported(machine);
    }
    let api = Api {
        hub: booted.hub().to_string(),
        kubectl: software.kubernetes.join("kubectl"),
        kubeconfig: booted.pki().expect("a PKI").join("admin.conf"),
    };
    let planned = planned_nodes(&plan, &kplan);
    let all: BTreeSet<String> = planned.keys().cloned().collect();
    let first = addresses[&members[0]].clone();
    let mut phases = Vec::new();
    // Each phase said as it ends, so a failure's log shows how far the run came.
    let said_phase = |phases: &mut Vec<String>, line: String| {
        eprintln!("{name}: {line}");
        phases.push(line);
    };
    wait_for(&format!("{name}: every node Ready as planned"), Duration::from_secs(600), || {
        nodes_as_planned(&api, &first, &planned)
    });
    said_phase(&mut phases, format!("boot to every node Ready: {:?}", started.elapsed()));
    wait_for(&format!("{name}: the control plane's static pods"), Duration::from_secs(300), || {
        control_plane_runs(&api, &first, &members)
    });
    wait_for(&format!("{name}: the addons"), Duration::from_secs(300), || addons_run(&api, &first, &all));
    let at_rest = Expected::at_rest(&kplan);
    let names: Vec<String> = kplan.workloads.iter().map(|w| w.name.clone()).collect();
    let kinds: BTreeMap<String, String> = planned.iter().map(|(h, p)| (h.clone(), p.kind.clone())).collect();
    wait_for(&format!("{name}: every workload Running as planned"), Duration::from_secs(300), || {
        holds(&running(&api, &first, &names, &all)?, &kinds, &at_rest)
    });
    let said = wait_for(&format!("{name}: the workloads answer"), Duration::from_secs(120), || {
        answers(&api, &first, cluster, &planned, &all)
    });
    said_phase(&mut phases, format!("boot to every workload answering: {:?} ({said:?})", started.elapsed()));
    let room = wait_for(&format!("{name}: the pods the plan places, bound"), Duration::from_secs(120), || {
        room::as_planned(&api, &first, &kplan)
    });
    said_phase(&mut phases, room);
    let every_plug = every_plug_asked();
    let pulled_domains: Vec<&clusterdef::render::plan::KubernetesLoss> = match scenario.losses {
        Losses::One(_) if every_plug => kplan.losses.iter().collect(),
        Losses::One(pick) => kplan.losses.get(pick as usize % kplan.losses.len().max(1)).into_iter().collect(),
        Losses::None => Vec::new(),
    };
    for loss in pulled_domains {
        let lost: Vec<String> =
            planned.iter().filter(|(_, p)| p.domain.as_deref() == Some(&loss.domain)).map(|(h, _)| h.clone()).collect();
        let live: BTreeSet<String> = all.iter().filter(|h| !lost.contains(h)).cloned().collect();
        let what = format!("{} {}", loss.kind.key(), loss.domain);
        let survivor = members.iter().find(|m| !lost.contains(m)).map(|m| addresses[m].clone());
        let pulled = Instant::now();
        for hostname in &lost {
            booted.machines.get_mut(hostname).expect("a machine").pull_plug();
        }
        match survivor.filter(|_| loss.control_plane) {
            None => {
                // The plan says etcd loses quorum: no surviving apiserver takes a write.
                for m in members.iter().filter(|m| !lost.contains(m)) {
                    wait_for(
                        &format!("{name}: {m} refuses writes after {what}'s loss"),
                        Duration::from_secs(90),
                        || match api.write(&addresses[m]) {
                            Ok(_) => Err("a write succeeded".to_string()),
                            Err(_) => Ok(()),
                        },
                    );
                }
                said_phase(&mut phases, format!("{what}: the control plane stopped, as planned"));
            }
            Some(at) => {
                // The plan says the control plane serves: a surviving apiserver takes a write.
                wait_for(&format!("{name}: a write after {what}'s loss"), Duration::from_secs(90), || api.write(&at));
                let alive: BTreeMap<String, String> =
                    kinds.iter().filter(|(h, _)| live.contains(*h)).map(|(h, k)| (h.clone(), k.clone())).collect();
                let after = Expected::after(&at_rest, loss, &alive);
                let within = Duration::from_secs(120 + u64::from(k.eviction_seconds) + 240);
                wait_for(&format!("{name}: the workloads Running again after {what}'s loss"), within, || {
                    holds(&running(&api, &at, &names, &live)?, &alive, &after)
                });
                let said = wait_for(&format!("{name}: answers after {what}'s loss"), Duration::from_secs(120), || {
                    answers(&api, &at, cluster, &planned, &live)
                });
                said_phase(&mut phases, format!("{what}: loss to answering again: {:?} ({said:?})", pulled.elapsed()));
            }
        }
        let back = Instant::now();
        for hostname in &lost {
            booted.machines.get_mut(hostname).expect("a machine").boot();
        }
        for hostname in &lost {
            booted.machine(hostname).wait_booted(Duration::from_secs(600));
            bed::assert_images_imported(booted.machine(hostname));
        }
        wait_for(&format!("{name}: every node Ready after {what} returns"), Duration::from_secs(600), || {
            nodes_as_planned(&api, &first, &planned)
        });
        wait_for(&format!("{name}: the control plane after {what} returns"), Duration::from_secs(300), || {
            control_plane_runs(&api, &first, &members)
        });
        wait_for(&format!("{name}: the workloads at rest after {what} returns"), Duration::from_secs(400), || {
            holds(&running(&api, &first, &names, &all)?, &kinds, &at_rest)
        });
        wait_for(&format!("{name}: answers after {what} returns"), Duration::from_secs(120), || {
            answers(&api, &first, cluster, &planned, &all)
        });
        said_phase(&mut phases, format!("{what}: return to rest: {:?}", back.elapsed()));
    }
    // A worker added back gets a fresh disk, NEW's configuration, its tree of the renewed PKI,
    // and is made a node as at first.
    let provision = |booted: &mut Booted, hostname: &str, config: &str, files: &std::path::Path| {
        let machine = booted.reinstall_with(tag, hostname, config, Some(files));
        bed::prepare(machine, &software, image_dir.path(), false, false);
    };
    let reach = change::Reach { api: &api, addresses: &addresses };
    for new in scenario.changes {
        let line = change::run_change(name, cluster, new, &mut booted, &reach, &provision, every_plug);
        said_phase(&mut phases, format!("changed: {line}"));
        let line = change::run_change(name, new, cluster, &mut booted, &reach, &provision, false);
        said_phase(&mut phases, format!("and back: {line}"));
    }
    if let Some(new) = scenario.upgrade_to {
        let line = upgrade::run_upgrade(name, cluster, new, &mut booted, &api, &addresses);
        said_phase(&mut phases, format!("upgraded: {line}"));
    }
    phases
}

/// Whether a cluster given from outside is one the real-node scenario runs.
fn runs_kubernetes(cluster: &Cluster) -> Result<(), &'static str> {
    if cluster.kubernetes.is_some() { Ok(()) } else { Err("runs no Kubernetes") }
}

/// The production seed (or `CLUSTERDEF_SCENARIO_CLUSTER`) on real nodes: at rest as planned,
/// then one cabinet's loss and return, drawn from the seed it prints, so that runs cover each
/// cabinet in turn (each plug and return costs about four minutes on two cores);
/// `CLUSTERDEF_READBACK_SEED` replays a draw and `CLUSTERDEF_REAL_NODE_LOSSES=each` pulls each
/// cabinet's plug in one run ([`every_plug_asked`]).
#[test]
fn real_nodes_run_the_production_seed_and_a_drawn_cabinets_loss_as_the_plan_says() {
    let (called, cluster) = crate::support::scenario_cluster(
        "the production seed",
        &crate::kubernetes::cluster_under_test(),
        runs_kubernetes,
    );
    let (seed, _) = crate::readback::seed_range(1);
    let name = format!("{called} (its loss drawn from seed {seed}: CLUSTERDEF_READBACK_SEED={seed} replays)");
    real_nodes(&name, "real", &cluster, Scenario { losses: Losses::One(seed), ..Scenario::default() });
}

/// Whether `CLUSTERDEF_REAL_NODE_LOSSES=each` asks a real-node run for every plug it can pull:
/// each failure domain's instead of the one drawn, and one midway through every step of a
/// change. The suite pulls fewer, each a member's reboot on two cores.
fn every_plug_asked() -> bool {
    match std::env::var("CLUSTERDEF_REAL_NODE_LOSSES") {
        Ok(value) if value == "each" => true,
        Ok(other) => panic!("CLUSTERDEF_REAL_NODE_LOSSES={other}: the one value read is `each`"),
        Err(std::env::VarError::NotPresent) => false,
        Err(std::env::VarError::NotUnicode(_)) => panic!("CLUSTERDEF_REAL_NODE_LOSSES: not UTF-8"),
    }
}

/// Each workload that declares ports gets a Service of its name that selects its pods and
/// forwards each declared port to the same port, read as Kubernetes reads the manifest (YAML
/// 1.1 documents); a workload without ports gets none.
#[test]
fn every_workload_with_ports_gets_a_service_selecting_its_pods() {
    let cluster = &clusterdef_examples::kubernetes::PRODUCTION;
    let artifacts = cluster.render().expect("renders");
    let mut with_ports = 0;
    for w in cluster.workloads() {
        let text = artifacts.text(&format!("kubernetes/manifests/workloads/{}.yaml", w.name)).expect("a manifest");
        let docs = crate::support::yaml_documents(&[text]).remove(0);
        let services: Vec<&serde_json::Value> = docs.iter().filter(|d| d["kind"] == "Service").collect();
        let ports = w.ports(cluster);
        if ports.is_empty() {
            assert!(services.is_empty(), "{}: a Service without ports", w.name);
            continue;
        }
        with_ports += 1;
        assert_eq!(services.len(), 1, "{}: one Service", w.name);
        let service = services[0];
        assert_eq!(service["metadata"]["name"], w.name.as_str());
        assert_eq!(service["spec"]["selector"]["clusterdef.dev/unit"], w.name.as_str(), "it selects the pods");
        let pod_labels = docs.iter().find(|d| d["kind"] != "Service").expect("the workload")["spec"]["template"]
            ["metadata"]["labels"]["clusterdef.dev/unit"]
            .clone();
        assert_eq!(pod_labels, w.name.as_str(), "the pods carry what the Service selects");
        let forwarded: BTreeSet<(u64, u64)> = service["spec"]["ports"]
            .as_array()
            .expect("ports")
            .iter()
            .map(|p| (p["port"].as_u64().expect("a port"), p["targetPort"].as_u64().expect("a target")))
            .collect();
        let want: BTreeSet<(u64, u64)> = ports.iter().map(|&p| (u64::from(p), u64::from(p))).collect();
        assert_eq!(forwarded, want, "{}: each declared port to the same port", w.name);
    }
    assert_eq!(with_ports, 2, "the seed's node exporter and web app have ports");
}

/// A random Kubernetes cluster on real nodes (the real control plane test's generator, every
/// unit given an image and a port of its own, from 8080, so each Service is asked too), kept to at most eight machines so that
/// a run fits the suite's time: at rest, then one failure domain's loss (drawn with the
/// cluster, or each with `CLUSTERDEF_REAL_NODE_LOSSES=each`), as its plan says. One per run;
/// `CLUSTERDEF_READBACK_SEED` replays one, `CLUSTERDEF_READBACK_COUNT` runs more.
#[test]
fn real_nodes_run_a_random_kubernetes_cluster_as_its_plan_says() {
    let (first, count) = crate::readback::seed_range(1);
    let mut seed = first;
    for _ in 0..count {
        let (cluster, drawn) = loop {
            let (mut cluster, drawn) = crate::kubernetes::random_kubernetes_cluster(seed);
            seed = drawn.wrapping_add(1);
            // An image and a port of its own for each unit: the containers of one pod (a unit
            // and those that follow it) share its network, and `check` refuses one port twice.
            let mut units = cluster.units.to_vec();
            for (i, u) in units.iter_mut().enumerate() {
                let image = format!("quay.io/example/{}:1", clusterdef::kubernetes::object_name(&u.name));
                if let Some(c) = u.container.as_mut() {
                    c.image = std::borrow::Cow::Owned(image);
                    c.ports = std::borrow::Cow::Owned(vec![8080 + u16::try_from(i).expect("few units")]);
                }
            }
            cluster.units = std::borrow::Cow::Owned(units);
            if cluster.machines().len() <= 8 && cluster.check().is_ok() {
                break (cluster, drawn);
            }
        };
        let name =
            format!("random Kubernetes cluster drawn from seed {drawn} (replay with CLUSTERDEF_READBACK_SEED={first})");
        real_nodes(
            &name,
            &format!("realr-{}", drawn % 100_000),
            &cluster,
            Scenario { losses: Losses::One(drawn), ..Scenario::default() },
        );
    }
}
