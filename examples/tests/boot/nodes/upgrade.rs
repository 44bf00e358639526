//! A Kubernetes upgrade across one minor on real nodes, as `clusterdef change` plans it: the
//! cluster booted at OLD's release, then each step's machine actions and commands as printed.
//! The control plane: on each member in turn, NEW's three static pod manifests (read from its
//! NEW Ignition config) written in place, which its kubelet restarts by itself, the other
//! members' apiservers taking writes meanwhile, and the member's apiserver at NEW's release and
//! ready before the next; after the first member (apiservers at both releases), a failure
//! domain's plug pulled with the outcome the step's midway tolerance gives; then the step's
//! commands (NEW's kube-proxy applied) from the hub in NEW's render. The kubelets: each node
//! drained as printed, NEW's `kubelet.service` written in place and restarted, the node Ready at
//! NEW's release, the workloads where the step predicts them while it is drained, then
//! uncordoned. Throughout, a write is acknowledged after each member's and each node's turn; at
//! the end every one reads back, every node and control plane pod runs NEW's release, and the
//! workloads are at rest and answer.
//!
//! Both releases are built from the Go module proxy (`scripts/build-control-plane.sh`) and
//! bound on every node under their versions; NEW's images are imported with OLD's at boot (an
//! image pull, emulated).

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use clusterdef::change::{Action, ChangeOptions, plan};
use clusterdef::own::kubernetes::{KUBELET_UNIT, MANIFESTS_DIR};
use clusterdef::read::ignition::{Config, Contents};
use clusterdef::render::plan::KubernetesPlan;
use clusterdef::{Cluster, Render};

use super::api::{Api, wait_for};
use super::change::operator_shell;
use super::midway::{self, Layout};
use super::{answers, control_plane_runs, nodes_as_planned, planned_nodes, running};
use crate::kubernetes::{Expected, holds};
use crate::machines::{Booted, put_file};
use crate::support::TempDir;

/// The control plane's components, each a static pod on every member.
const COMPONENTS: [&str; 3] = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

/// The default OLD: the guide's production layout at its smallest (three members across three
/// cabinets, three workers across two of them, so that a worker fewer still spreads), one
/// Kubernetes minor behind the seed, a workload on every node and one on the workers, each
/// with a Service.
static OLD: Cluster = clusterdef::cluster! {
    name: "upgrade",
    os: flatcar,
    production: true,
    kubernetes: { version: "v1.35.4" },
    tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.2"] },
    central: 3 across cabinets [one, two, three] {
        addresses: "10.0.0.101".."10.0.0.103",
        hostnames: "central-{n}",
    },
    workers: 3 across cabinets [one, two] {
        addresses: "10.0.0.111".."10.0.0.113",
    },
    unit "monitoring.service" { global, image: "quay.io/prometheus/node-exporter:v1.8.2", ports: [9100] },
    unit "webapp@.service" {
        metadata: { role = worker },
        instances: 2,
        image: "quay.io/example/webapp:1.4",
        ports: [8080],
        env: ["LISTEN=:8080"],
    },
};

/// The seed's release: OLD's next minor, the one NEW declares.
const NEW_VERSION: &str = "v1.36.3";

/// Whether `old` to `new` upgrades Kubernetes (both run it, at different releases): the change
/// this test runs, and the booted machines' test does not.
pub fn is_upgrade(old: &Cluster, new: &Cluster) -> bool {
    match (&old.kubernetes, &new.kubernetes) {
        (Some(a), Some(b)) => a.version != b.version,
        _ => false,
    }
}

/// The upgrade to run: a pair given as two files (`CLUSTERDEF_CHANGE_FROM`/`_TO`) when both
/// run Kubernetes at different releases (each built here from the Go module proxy), else OLD
/// above and OLD at the seed's release. Its name, OLD and NEW.
pub fn pair() -> (String, Cluster, Cluster) {
    if let Some((old, new)) = crate::etcd::change::given_change() {
        if is_upgrade(&old, &new) {
            return ("the upgrade given as two files".to_string(), old, new);
        }
        eprintln!("CLUSTERDEF_CHANGE_FROM/_TO is no Kubernetes upgrade; this test runs its own");
    }
    let mut new = OLD.clone();
    new.kubernetes.as_mut().expect("OLD runs Kubernetes").version = NEW_VERSION.into();
    ("the smallest production layout".to_string(), OLD.clone(), new)
}

/// The file at `path` in a parsed Ignition config, as text.
fn file_of(config: &Config, path: &str) -> String {
    let file = config.files.iter().find(|f| f.path == path).unwrap_or_else(|| panic!("NEW's config writes {path}"));
    match &file.contents {
        Some(Contents::Data(bytes)) => String::from_utf8(bytes.clone()).expect("a manifest is text"),
        _ => panic!("{path}: inline contents"),
    }
}

/// A write acknowledged by some member's apiserver other than `but`'s: its name.
fn write_elsewhere(
    api: &Api,
    addresses: &BTreeMap<String, String>,
    members: &[String],
    but: &str,
) -> Result<String, String> {
    let mut why = Vec::new();
    for m in members.iter().filter(|m| *m != but) {
        match api.write_named(&addresses[m]) {
            Ok(name) => return Ok(name),
            Err(e) => why.push(format!("{m}: {e}")),
        }
    }
    Err(why.join("; "))
}

/// `member`'s apiserver reports `version` and is ready, and its three static pods run NEW's
/// images.
fn member_upgraded(
    api: &Api,
    at: &str,
    member: &str,
    images: &BTreeMap<&str, String>,
    version: &str,
) -> Result<(), String> {
    let said: serde_json::Value =
        serde_json::from_str(&api.run(at, &["version", "-o", "json"])?).map_err(|e| format!("kubectl version: {e}"))?;
    let serving = said["serverVersion"]["gitVersion"].as_str().unwrap_or_default();
    if serving != version {
        return Err(format!("{member}'s apiserver reports {serving}"));
    }
    let ready = api.run(at, &["get", "--raw", "/readyz"])?;
    if ready.trim() != "ok" {
        return Err(format!("{member}'s /readyz: {ready}"));
    }
    for c in COMPONENTS {
        let listed = api.get(at, &["pods", "-n", "kube-system", "-l", &format!("k8s-app={c}")])?;
        let on: Vec<&serde_json::Value> = listed["items"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|p| p["spec"]["nodeName"] == member && p["status"]["phase"] == "Running")
            .collect();
        let image = on.first().map(|p| p["spec"]["containers"][0]["image"].as_str().unwrap_or_default());
        if image != Some(images[c].as_str()) {
            return Err(format!("{c} on {member} runs {image:?}, NEW's is {}", images[c]));
        }
    }
    Ok(())
}

/// Every node's kubelet at `version`, by its own report.
fn kubelets_at(api: &Api, at: &str, nodes: &[&String], version: &str) -> Result<(), String> {
    let listed = api.get(at, &["nodes"])?;
    for n in nodes {
        let node = listed["items"].as_array().into_iter().flatten().find(|i| i["metadata"]["name"] == n.as_str());
        let reports = node.map(|i| i["status"]["nodeInfo"]["kubeletVersion"].as_str().unwrap_or_default());
        if reports != Some(version) {
            return Err(format!("{n}'s kubelet reports {reports:?}"));
        }
    }
    Ok(())
}

/// kube-proxy's pods each Running NEW's image, one on every node.
fn proxies_at(api: &Api, at: &str, image: &str, all: &BTreeSet<String>) -> Result<(), String> {
    let listed = api.get(at, &["pods", "-n", "kube-system", "-l", "k8s-app=kube-proxy"])?;
    let mut on = BTreeSet::new();
    for p in listed["items"].as_array().into_iter().flatten() {
        let node = p["spec"]["nodeName"].as_str().unwrap_or_default().to_string();
        let runs = p["spec"]["containers"][0]["image"].as_str().unwrap_or_default();
        if runs != image || p["status"]["phase"] != "Running" {
            return Err(format!("kube-proxy on {node} runs {runs} ({})", p["status"]["phase"]));
        }
        on.insert(node);
    }
    if &on != all { Err(format!("kube-proxy runs on {on:?}, not every node")) } else { Ok(()) }
}

/// No pod of a workload but a DaemonSet's on the drained `node`.
fn drained_of_deployments(placed: &super::RunMap, kplan: &KubernetesPlan, node: &str) -> Result<(), String> {
    for w in kplan.workloads.iter().filter(|w| w.kind != "DaemonSet") {
        if placed.get(&w.name).is_some_and(|(on, _)| on.iter().any(|n| n == node)) {
            return Err(format!("{} still has a pod on {node}, which is drained", w.name));
        }
    }
    Ok(())
}

/// Runs the upgrade from `old` (booted, at rest) to `new` as the module says. A line saying
/// what it did and how long it took.
pub fn run_upgrade(
    name: &str,
    old: &Cluster,
    new: &Cluster,
    booted: &mut Booted,
    api: &Api,
    addresses: &BTreeMap<String, String>,
) -> String {
    let planned_change = plan(old, new, &ChangeOptions::default()).unwrap_or_else(|f| panic!("{name}: {f:?}"));
    eprintln!("{name}: the change:\n{planned_change}");
    let k = new.kubernetes.as_ref().expect("NEW runs Kubernetes");
    let version = k.version.to_string();
    let new_plan = new.plan();
    let kplan = new_plan.kubernetes.clone().expect("a Kubernetes plan");
    let planned = planned_nodes(&new_plan, &kplan);
    let all: BTreeSet<String> = planned.keys().cloned().collect();
    let kinds: BTreeMap<String, String> = planned.iter().map(|(h, p)| (h.clone(), p.kind.clone())).collect();
    let at_rest = Expected::at_rest(&kplan);
    let names: Vec<String> = kplan.workloads.iter().map(|w| w.name.clone()).collect();
    let members: Vec<String> =
        new_plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines).map(|m| m.hostname.clone()).collect();
    let images: BTreeMap<&str, String> =
        COMPONENTS.iter().map(|c| (*c, clusterdef::render::kubernetes::component_image(k, c))).collect();
    let configs = new.render().expect("NEW renders");
    let config_of = |hostname: &str| -> Config {
        let m = new_plan.groups.iter().flat_map(|g| &g.machines).find(|m| m.hostname == hostname).expect("planned");
        clusterdef::read::ignition::parse(configs.text(&m.config).expect("its config")).expect("NEW's Ignition")
    };
    // NEW's render where the operator runs the commands (`clusterdef render NEW --out .`), with
    // the bed's kube-proxy exception (bed.rs).
    let scratch = TempDir::new(&format!("{name}-upgrade").replace(' ', "-"));
    for (path, bytes) in &configs {
        if path.starts_with("kubernetes/") {
            let text = String::from_utf8_lossy(bytes);
            let text = if path.ends_with("kube-proxy.yaml") {
                super::bed::kube_proxy_in_a_container(&text)
            } else {
                text.into_owned()
            };
            put_file(scratch.path(), path, &text, 0o644);
        }
    }
    let first = addresses[&members[0]].clone();
    let mut acknowledged: Vec<String> = Vec::new();
    let started = Instant::now();
    for step in &planned_change.steps {
        assert!(step.workloads.is_empty(), "{name}: step {} predicts {:?}", step.number, step.workloads);
        match step.action {
            Action::UpgradeControlPlane => {
                for (i, m) in members.iter().enumerate() {
                    if i == 1 {
                        let layout = Layout {
                            new,
                            members: &members,
                            addresses,
                            domains: planned.iter().map(|(h, p)| (h.clone(), p.domain.clone())).collect(),
                        };
                        let mixed = format!(
                            "(apiservers at {version} and {})",
                            old.kubernetes.as_ref().expect("OLD runs Kubernetes").version
                        );
                        acknowledged.extend(midway::plug(name, &mixed, step, booted, api, &layout));
                    }
                    let config = config_of(m);
                    let root = booted.machine(m).root();
                    for c in COMPONENTS {
                        let path = format!("{MANIFESTS_DIR}/{c}.yaml");
                        put_file(&root, &path, &file_of(&config, &path), 0o644);
                    }
                    let write = wait_for(
                        &format!("{name}: a write through another apiserver while {m}'s restarts"),
                        Duration::from_secs(90),
                        || write_elsewhere(api, addresses, &members, m),
                    );
                    acknowledged.push(write);
                    let at = &addresses[m];
                    wait_for(&format!("{name}: {m}'s control plane at {version}"), Duration::from_secs(300), || {
                        member_upgraded(api, at, m, &images, &version)
                    });
                    acknowledged.push(wait_for(
                        &format!("{name}: a write through {m}"),
                        Duration::from_secs(60),
                        || api.write_named(at),
                    ));
                }
                let said = operator_shell(api, &first, &scratch, &step.commands.join("\n"))
                    .unwrap_or_else(|e| panic!("{name}: step {}'s commands: {e}", step.number));
                eprintln!("{name}: step {}: {said}", step.number);
                if let Some(manifest) = clusterdef::render::kubernetes::addons::kube_proxy_manifest(k) {
                    assert!(step.commands.iter().any(|c| c.ends_with(&manifest)), "{name}: kube-proxy applied");
                    let image = clusterdef::render::kubernetes::component_image(k, "kube-proxy");
                    wait_for(&format!("{name}: kube-proxy at {version}"), Duration::from_secs(300), || {
                        proxies_at(api, &first, &image, &all)
                    });
                }
            }
            Action::UpgradeNodes => {
                for pair in step.commands.chunks(2) {
                    let node = pair[0].split_whitespace().nth(2).expect("kubectl drain NODE").to_string();
                    assert_eq!(pair.get(1), Some(&format!("kubectl uncordon {node}")), "{name}: drain, then uncordon");
                    let said = operator_shell(api, &first, &scratch, &pair[0])
                        .unwrap_or_else(|e| panic!("{name}: {}: {e}", pair[0]));
                    eprintln!("{name}: {said}");
                    // Drained: every workload keeps every pod it wants, as the step predicts,
                    // a Deployment's on the other nodes (a DaemonSet's stays: drain leaves it).
                    wait_for(&format!("{name}: the workloads with {node} drained"), Duration::from_secs(300), || {
                        let placed = running(api, &first, &names, &all)?;
                        holds(&placed, &kinds, &at_rest)?;
                        drained_of_deployments(&placed, &kplan, &node)
                    });
                    let unit = config_of(&node).units.into_iter().find(|u| u.name == KUBELET_UNIT);
                    let unit = unit.and_then(|u| u.contents).expect("NEW's kubelet.service");
                    let machine = booted.machine(&node);
                    put_file(&machine.root(), &format!("/etc/systemd/system/{KUBELET_UNIT}"), &unit, 0o644);
                    let (ok, said) =
                        machine.sh(&format!("systemctl daemon-reload && systemctl restart {KUBELET_UNIT}"));
                    assert!(ok, "{name}: {node}: the kubelet restarted: {said}");
                    wait_for(&format!("{name}: {node}'s kubelet at {version}"), Duration::from_secs(300), || {
                        kubelets_at(api, &first, &[&node], &version)?;
                        nodes_as_planned(api, &first, &planned)
                    });
                    operator_shell(api, &first, &scratch, &pair[1])
                        .unwrap_or_else(|e| panic!("{name}: {}: {e}", pair[1]));
                    acknowledged.push(wait_for(
                        &format!("{name}: a write after {node}"),
                        Duration::from_secs(60),
                        || api.write_named(&first),
                    ));
                }
            }
            other => panic!("{name}: step {} ({other:?}) is not part of an upgrade", step.number),
        }
    }
    let every: Vec<&String> = all.iter().collect();
    wait_for(&format!("{name}: every node Ready at {version}"), Duration::from_secs(300), || {
        kubelets_at(api, &first, &every, &version)?;
        nodes_as_planned(api, &first, &planned)
    });
    wait_for(&format!("{name}: the control plane after the upgrade"), Duration::from_secs(300), || {
        control_plane_runs(api, &first, &members)
    });
    wait_for(&format!("{name}: the workloads at rest after the upgrade"), Duration::from_secs(300), || {
        holds(&running(api, &first, &names, &all)?, &kinds, &at_rest)
    });
    let said = wait_for(&format!("{name}: answers after the upgrade"), Duration::from_secs(120), || {
        answers(api, &first, new, &planned, &all)
    });
    midway::read_back(name, api, &first, &acknowledged);
    format!(
        "{} steps to {version} ({} writes acknowledged, none lost), at rest, answering: {:?} ({said:?})",
        planned_change.steps.len(),
        acknowledged.len(),
        started.elapsed()
    )
}

/// A cluster booted one Kubernetes minor back (v1.35.4) on real nodes: a worker removed and
/// added back, its workers relabelled and restored (`change`), then Kubernetes upgraded to the
/// seed's release (v1.36.3, the module says how), each as `clusterdef change` plans it. A plug
/// is pulled midway through the upgrade; `CLUSTERDEF_REAL_NODE_LOSSES=each` pulls one midway
/// through every step of the changes' ways there too.
#[test]
fn change_workers_then_kubernetes_upgraded_a_minor_on_real_nodes() {
    let (name, old, new) = pair();
    let changes: Vec<Cluster> =
        super::change::one_worker_fewer(&old).into_iter().chain(super::change::relabelled(&old)).collect();
    super::real_nodes(
        &name,
        "realup",
        &old,
        super::Scenario { losses: super::Losses::None, changes: &changes, upgrade_to: Some(&new) },
    );
}
