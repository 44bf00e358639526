//! Kubernetes on the real control plane with emulated kubelets, and the checks of what the render
//! gives Kubernetes (every manifest against the release's schemas, the PKI's names and secrets).
//! The real-node tests (`nodes`) boot the production seed and random clusters with real
//! kubelets; what stays here is what they do not cover in the suite's time: a layout whose
//! cabinet takes etcd's quorum with it, run in about two minutes. The scenario: etcd
//! 3.5 members started from each member's applied drop-in, and kube-apiserver,
//! kube-controller-manager and kube-scheduler (built from the Go module proxy by
//! `scripts/build-control-plane.sh`) started with the flags of the static pod manifests real
//! Ignition applied, reading the PKI `clusterdef pki` made, each member in a network namespace
//! of its own at its declared address, on a bridge the test's clients share.
//!
//! What is emulated, and only that: the kubelets. Each node is registered the way its applied
//! kubelet unit would register it (the labels of `--node-labels`, the taints of
//! `--register-with-taints`, its hostname) and kept alive by renewing its Lease every two
//! seconds; pods are bound by the real scheduler but never run (there is no container
//! runtime); a returning node's kubelet would finish deleting the pods evicted from it, which
//! the test does for it. The controller manager and scheduler get shorter node-monitor and
//! leader-election timings than their defaults (the flags are named in `TEST_FLAGS`), so that
//! a lost cabinet is noticed in seconds; the eviction toleration is the cluster's own, declared.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clusterdef::render::plan::KubernetesPlan;
use clusterdef::{Cluster, Render};
use serde_json::{Value, json};

use crate::applied::{Applied, apply_all, systemd_environment, words};
use crate::support::{Lan, TempDir, etcd_35, get, read_yaml_1_1, tool, yaml_documents};

/// The test's own timings, on top of the rendered flags: node loss noticed within seconds, a
/// lost leader replaced within seconds.
const TEST_FLAGS: &[(&str, &[&str])] = &[
    (
        "kube-controller-manager",
        &[
            "--node-monitor-period=1s",
            "--node-monitor-grace-period=8s",
            "--leader-elect-lease-duration=6s",
            "--leader-elect-renew-deadline=4s",
            "--leader-elect-retry-period=1s",
        ],
    ),
    (
        "kube-scheduler",
        &["--leader-elect-lease-duration=6s", "--leader-elect-renew-deadline=4s", "--leader-elect-retry-period=1s"],
    ),
];

/// The binaries `scripts/build-control-plane.sh` built for `version`. Missing, they fail the
/// test: it never skips.
fn control_plane_binaries(version: &str) -> PathBuf {
    let target = crate::support::target_dir();
    let dir = target.join("control-plane").join(version);
    for c in ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] {
        assert!(
            dir.join(c).is_file(),
            "{c} {version} is not at {}; run `bash scripts/install-test-deps.sh` (it builds the control plane from the Go module proxy)",
            dir.display()
        );
    }
    dir
}

/// The production seed with the test's eviction toleration declared (the seed's is 300 s).
pub fn cluster_under_test() -> Cluster {
    let mut cluster = clusterdef_examples::kubernetes::PRODUCTION.clone();
    if let Some(k) = cluster.kubernetes.as_mut() {
        k.eviction_seconds = 6;
    }
    cluster
}

/// A machine as the test knows it: its applied tree with the PKI's files merged in.
struct MachineRoot {
    hostname: String,
    address: String,
    root: PathBuf,
}

impl MachineRoot {
    /// An absolute path on the machine, in its merged tree.
    fn path(&self, on_machine: &str) -> PathBuf {
        self.root.join(on_machine.trim_start_matches('/'))
    }

    /// `--flag=/etc/…` with the path in the machine's tree; other arguments as they are.
    fn argument(&self, arg: &str) -> String {
        match arg.split_once("=/etc/") {
            Some((flag, rest)) => format!("{flag}={}", self.path(&format!("/etc/{rest}")).display()),
            None => arg.to_string(),
        }
    }
}

/// Copies `from` into `to`, merging directories.
fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp").arg("-a").arg(format!("{}/.", from.display())).arg(to).status().expect("cp");
    assert!(status.success(), "copy {} into {}", from.display(), to.display());
}

/// A process: its argv, its environment, and the directory etcd-member's wrapper would mount at
/// `/etc/ssl/certs`.
type ProcessSpec = (Vec<String>, Vec<(String, String)>, Option<PathBuf>);

/// The running cluster: its processes, all killed when dropped.
struct Running {
    lan: Lan,
    dir: TempDir,
    members: Vec<MachineRoot>,
    /// Per process name (`etcd/central-1`, …): the command, and the child while it runs.
    commands: BTreeMap<String, ProcessSpec>,
    /// The processes that should run, while they run. The kubelet restarts a static pod's
    /// container that exits (a controller manager started before the apiserver's roles exist
    /// exits at once), and [`Running::revive`] does it for the kubelet.
    children: std::cell::RefCell<BTreeMap<String, Child>>,
    /// The administrator's CA, certificate and key, for curl.
    admin: [PathBuf; 3],
}

impl Drop for Running {
    fn drop(&mut self) {
        for child in self.children.get_mut().values_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Running {
    fn start(&self, name: &str) {
        let (argv, env, ssl_dir) = self.commands.get(name).expect("known process").clone();
        let host = name.split_once('/').map_or(name, |(_, h)| h);
        let mut command = Command::new(tool("ip"));
        command.args(["netns", "exec", &self.lan.machines[host]]);
        if let Some(dir) = &ssl_dir {
            // etcd-member's wrapper mounts ETCD_SSL_DIR at /etc/ssl/certs in its container.
            command
                .arg(tool("unshare"))
                .args(["--mount", "--propagation", "private", "sh", "-c"])
                .arg("mount --bind -o ro \"$1\" /etc/ssl/certs && shift && exec \"$@\"")
                .arg("sh")
                .arg(dir);
        }
        let log_path = self.dir.path().join(format!("{}.log", name.replace('/', "-")));
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&log_path).expect("log");
        let child = command
            .args(&argv)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap_or_else(|e| panic!("start {name}: {e}"));
        self.children.borrow_mut().insert(name.to_string(), child);
    }

    /// SIGKILL: a lost machine does not shut down cleanly.
    fn kill(&self, name: &str) {
        if let Some(mut child) = self.children.borrow_mut().remove(name) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts again every control-plane process that exited, as the kubelet restarts a static
    /// pod's container (etcd-member's `Restart=always` does the same for etcd).
    fn revive(&self) {
        let exited: Vec<String> = self
            .children
            .borrow_mut()
            .iter_mut()
            .filter_map(|(n, c)| c.try_wait().ok().flatten().map(|_| n.clone()))
            .collect();
        for name in exited {
            self.children.borrow_mut().remove(&name);
            self.start(&name);
        }
    }

    fn processes_of(&self, hostname: &str) -> Vec<String> {
        self.commands.keys().filter(|k| k.ends_with(&format!("/{hostname}"))).cloned().collect()
    }

    /// One request to the apiserver at `address` as the administrator: the status and the body.
    fn api(&self, address: &str, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        self.revive();
        api_call(&self.lan.hub, &self.admin, address, method, path, body)
    }

    fn log_tail(&self, name: &str) -> String {
        let text = std::fs::read_to_string(self.dir.path().join(format!("{}.log", name.replace('/', "-"))))
            .unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    }
}

/// curl inside the namespace, with the administrator's certificate; verifies the apiserver's.
fn api_call(
    ns: &str,
    admin: &[PathBuf; 3],
    address: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let content = if method == "PATCH" { "application/merge-patch+json" } else { "application/json" };
    api_request(ns, admin, address, method, path, body, content, 10)
}

/// One request, with its content type.
#[allow(clippy::too_many_arguments)]
fn api_request(
    ns: &str,
    [ca, cert, key]: &[PathBuf; 3],
    address: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    content_type: &str,
    max_seconds: u32,
) -> (u16, Value) {
    let mut command = Command::new(tool("ip"));
    command
        .args(["netns", "exec", ns])
        .arg(tool("curl"))
        .args(["-sS", "--max-time", &max_seconds.to_string(), "-X", method, "-w", "\n%{http_code}"])
        .arg("--cacert")
        .arg(ca)
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .args(["-H", &format!("Content-Type: {content_type}"), "-H", "Accept: application/json"]);
    if body.is_some() {
        command.args(["--data-binary", "@-"]);
    }
    let mut child = command
        .arg(format!("https://{address}:6443{path}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl");
    if let Some(b) = body {
        // curl may have given up (a refused connection) before reading: its status says so.
        let _ = child.stdin.take().expect("stdin").write_all(b.to_string().as_bytes());
    }
    drop(child.stdin.take());
    let out = child.wait_with_output().expect("curl finishes");
    let text = String::from_utf8_lossy(&out.stdout);
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (code.trim().parse().unwrap_or(0), serde_json::from_str(body).unwrap_or(Value::Null))
}

/// Waits until `check` says yes (`Ok`), or fails with what it last said.
pub fn wait_for<T>(what: &str, within: Duration, mut check: impl FnMut() -> Result<T, String>) -> T {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return v,
            Err(why) if start.elapsed() > within => panic!("{what} within {within:?}: {why}"),
            Err(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}

/// The RFC 3339 time the apiserver takes for `MicroTime`.
fn micro_now() -> String {
    let out = Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%S.%6NZ"]).output().expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The labels and taints a node registers with, read from its applied kubelet unit the way the
/// kubelet reads its flags, and its hostname.
fn registration(tree: &Applied) -> (String, BTreeMap<String, String>, Vec<(String, String)>) {
    let hostname = tree.read("/etc/hostname").expect("hostname").trim().to_string();
    let unit = tree.read("/etc/systemd/system/kubelet.service").expect("the kubelet unit");
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
    let mut labels = BTreeMap::new();
    let mut taints = Vec::new();
    for word in words(exec) {
        if let Some(list) = word.strip_prefix("--node-labels=") {
            for pair in list.split(',') {
                let (k, v) = pair.split_once('=').expect("key=value");
                labels.insert(k.to_string(), v.to_string());
            }
        }
        if let Some(list) = word.strip_prefix("--register-with-taints=") {
            for t in list.split(',') {
                let (key, effect) = t.split_once(':').expect("key:Effect");
                taints.push((key.to_string(), effect.to_string()));
            }
        }
    }
    // What every kubelet adds on its own.
    labels.insert("kubernetes.io/hostname".into(), hostname.clone());
    labels.insert("kubernetes.io/os".into(), "linux".into());
    (hostname, labels, taints)
}

/// The node kind (`group/domain`) a node's labels say, as the plan names kinds.
fn kind_of(labels: &BTreeMap<String, String>) -> String {
    let group = labels.get("pool").or_else(|| labels.get("role")).cloned().unwrap_or_default();
    match labels.get("cabinet").or_else(|| labels.get("zone")) {
        Some(d) => format!("{group}/{d}"),
        None => group,
    }
}

/// Where each workload's live pods are bound: workload → (bound node names, unbound count).
fn placements(run: &Running, at: &str, workloads: &[String]) -> Result<BTreeMap<String, (Vec<String>, usize)>, String> {
    let (code, pods) = run.api(at, "GET", "/api/v1/namespaces/default/pods", None);
    if code != 200 {
        return Err(format!("listing pods answered {code}"));
    }
    let mut out: BTreeMap<String, (Vec<String>, usize)> =
        workloads.iter().map(|w| (w.clone(), (Vec::new(), 0))).collect();
    for pod in pods["items"].as_array().into_iter().flatten() {
        if !pod["metadata"]["deletionTimestamp"].is_null() {
            continue;
        }
        let Some(w) = pod["metadata"]["labels"]["clusterdef.dev/unit"].as_str() else { continue };
        let entry = out.entry(w.to_string()).or_default();
        match pod["spec"]["nodeName"].as_str() {
            Some(node) => entry.0.push(node.to_string()),
            None => entry.1 += 1,
        }
    }
    Ok(out)
}

/// The plan's promise for every workload, against where its pods are: each bound pod on a node
/// of a kind the plan allows, as many bound as the plan says fit, DaemonSets on exactly the
/// allowed nodes, pods that avoid each other on distinct nodes; and a Deployment's pods that the
/// plan says have no node wait unbound, exactly as many.
pub fn holds(
    placed: &BTreeMap<String, (Vec<String>, usize)>,
    nodes: &BTreeMap<String, String>,
    expected: &[Expected],
) -> Result<(), String> {
    for Expected { name, fits, wanted, kinds, daemon, spreads } in expected {
        let (bound, unbound) = placed.get(name).cloned().unwrap_or_default();
        for node in &bound {
            let kind = nodes.get(node).cloned().unwrap_or_default();
            if !kinds.contains(&kind) {
                return Err(format!("{name} has a pod on {node} ({kind}), which the plan does not allow ({kinds:?})"));
            }
        }
        if bound.len() != *fits as usize {
            return Err(format!("{name}: {} pods bound ({bound:?}), the plan says {fits}", bound.len()));
        }
        if *daemon {
            let want: BTreeSet<&String> = nodes.iter().filter(|(_, k)| kinds.contains(k)).map(|(n, _)| n).collect();
            let have: BTreeSet<&String> = bound.iter().collect();
            if want != have {
                return Err(format!("{name}: on {have:?}, the plan says each of {want:?}"));
            }
        }
        if *spreads && bound.iter().collect::<BTreeSet<_>>().len() != bound.len() {
            return Err(format!("{name}: replicas share a node: {bound:?}"));
        }
        if !*daemon && unbound != (*wanted - *fits) as usize {
            return Err(format!(
                "{name}: {unbound} pods wait unbound, the plan says {} of its {wanted} find no node",
                wanted - fits
            ));
        }
    }
    Ok(())
}

/// Each member runs in a network namespace of its own at its declared address (`Lan`), so the
/// addresses exist without touching the host's network and each member connects from its own.
/// Returns what each domain's loss did, in words.
fn run_scenario(cluster: &Cluster, tag: &str) -> Vec<String> {
    // One control plane at a time: on two cores, two would slow each other past the waits. A
    // failed run poisons the lock; the next still runs.
    let _one_at_a_time = crate::support::heavy();
    let k = cluster.kubernetes.clone().expect("the cluster runs Kubernetes");
    let full_plan = cluster.plan();
    let plan: KubernetesPlan = cluster.plan().kubernetes.expect("a Kubernetes plan");
    let bin = control_plane_binaries(&k.version);
    let dir = TempDir::new(tag);

    // The PKI, as `clusterdef pki` writes it.
    let pki_dir = dir.path().join("pki");
    clusterdef_pki::generate(cluster).expect("the PKI").write_to(&pki_dir).expect("written");
    let admin_conf = std::fs::read_to_string(pki_dir.join("admin.conf")).expect("admin.conf");
    let admin = admin_files(&admin_conf, dir.path());

    // Every config, applied by real Ignition; the members' trees with their PKI merged in.
    let applied = apply_all(tag, cluster);
    let machines = cluster.machines();
    let mut members = Vec::new();
    for m in machines.iter().filter(|m| m.group == clusterdef::GroupRef::Members) {
        let config = full_plan
            .groups
            .iter()
            .flat_map(|g| g.machines.iter())
            .find(|p| p.hostname == m.hostname)
            .map(|p| p.config.clone())
            .expect("the member is planned");
        let tree = applied.get(&config).expect("the member's config");
        let root = dir.path().join("machines").join(&m.hostname);
        std::fs::create_dir_all(&root).expect("root");
        copy_tree(&tree.root(), &root);
        crate::support::install_pki(&pki_dir.join("machines").join(&m.hostname), &root);
        members.push(MachineRoot {
            hostname: m.hostname.clone(),
            address: m.address.expect("static").to_string(),
            root,
        });
    }
    let on_lan: Vec<(String, String)> = members.iter().map(|m| (m.hostname.clone(), m.address.clone())).collect();
    // One flat network for every member, whatever subnets the domains have: the plug is pulled
    // on processes, not on routes.
    assert!(on_lan.iter().all(|(_, a)| a.starts_with("10.")), "members in 10.0.0.0/8: {on_lan:?}");
    let lan = Lan::new(tag, "10.255.255.250", 8, &on_lan);

    // Each member's processes, from its applied files.
    let mut commands = BTreeMap::new();
    for m in &members {
        let dropin = std::fs::read_to_string(m.path("/etc/systemd/system/etcd-member.service.d/20-clusterdef.conf"))
            .expect("drop-in");
        let mut env = systemd_environment(&[crate::applied::ETCD_MEMBER_UNIT, &dropin]);
        // Without TLS the wrapper's default (`/etc/ssl/certs`) is mounted on itself: nothing to do.
        let ssl = env
            .iter()
            .find(|(k, _)| k == "ETCD_SSL_DIR")
            .filter(|(_, v)| v != "/etc/ssl/certs")
            .map(|(_, v)| m.path(v));
        env.retain(|(k, _)| k != "ETCD_DATA_DIR");
        env.push(("ETCD_DATA_DIR".into(), dir.path().join("etcd-data").join(&m.hostname).display().to_string()));
        commands.insert(format!("etcd/{}", m.hostname), (vec![etcd_35("etcd").display().to_string()], env, ssl));
        let manifests: Vec<String> = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"]
            .iter()
            .map(|c| {
                std::fs::read_to_string(m.path(&format!("/etc/kubernetes/manifests/{c}.yaml"))).expect("static pod")
            })
            .collect();
        let pods = read_yaml_1_1(&manifests.iter().map(String::as_str).collect::<Vec<_>>());
        for pod in &pods {
            let container = &get(pod, &["spec", "containers"]).and_then(Value::as_array).expect("containers")[0];
            let command: Vec<String> = get(container, &["command"])
                .and_then(Value::as_array)
                .expect("command")
                .iter()
                .map(|v| v.as_str().expect("string").to_string())
                .collect();
            let component = command[0].clone();
            let mut argv = vec![bin.join(&component).display().to_string()];
            argv.extend(command[1..].iter().map(|a| m.argument(a)));
            for (c, flags) in TEST_FLAGS {
                if *c == component {
                    argv.extend(flags.iter().map(|f| f.to_string()));
                }
            }
            commands.insert(format!("{component}/{}", m.hostname), (argv, Vec::new(), None));
        }
        // The kubeconfigs name the machine's paths: read in its tree.
        for conf in ["controller-manager.conf", "scheduler.conf"] {
            let path = m.path(&format!("/etc/kubernetes/{conf}"));
            let text = std::fs::read_to_string(&path).expect("kubeconfig");
            std::fs::write(&path, text.replace("\"/etc/", &format!("\"{}/etc/", m.root.display())))
                .expect("kubeconfig");
        }
    }
    let run = Running { lan, dir, members, commands, children: Default::default(), admin };
    let names: Vec<String> = run.commands.keys().cloned().collect();
    for name in names.iter().filter(|n| n.starts_with("etcd/")) {
        run.start(name);
    }
    for name in names.iter().filter(|n| !n.starts_with("etcd/")) {
        run.start(name);
    }
    let first = run.members[0].address.clone();
    wait_for("the apiserver answers", Duration::from_secs(90), || match run.api(&first, "GET", "/readyz", None) {
        (200, _) => Ok(()),
        (code, body) => {
            Err(format!("{code} {body}: {}", run.log_tail(&format!("kube-apiserver/{}", run.members[0].hostname))))
        }
    });

    // Nodes, as each applied kubelet unit registers them; their Leases renewed in the background.
    let mut nodes: BTreeMap<String, String> = BTreeMap::new();
    for (config, tree) in &applied {
        let (hostname, labels, taints) = registration(tree);
        let address = machines.iter().find(|m| m.hostname == hostname).and_then(|m| m.address).map(|a| a.to_string());
        let node = json!({
            "apiVersion": "v1", "kind": "Node",
            "metadata": { "name": hostname, "labels": labels },
            "spec": { "taints": taints.iter().map(|(k, e)| json!({"key": k, "effect": e})).collect::<Vec<_>>() },
        });
        let (code, said) = run.api(&first, "POST", "/api/v1/nodes", Some(&node));
        assert_eq!(code, 201, "{config}: register {hostname}: {said}");
        let status = node_status(address.as_deref());
        let patch = run.api(&first, "PATCH", &format!("/api/v1/nodes/{hostname}/status"), Some(&status));
        assert_eq!(patch.0, 200, "{hostname} status: {}", patch.1);
        nodes.insert(hostname, kind_of(&labels));
    }
    let alive: Arc<Mutex<BTreeSet<String>>> = Arc::new(Mutex::new(nodes.keys().cloned().collect()));
    let endpoint = Arc::new(Mutex::new(first.clone()));
    let stop = Arc::new(Mutex::new(false));
    // A kubelet renews its Lease every few seconds through whichever apiserver answers: each
    // renewal gets 3 s, then the next member's apiserver is tried, so one apiserver waiting on
    // a lost etcd peer does not let every node's Lease lapse past the 8 s grace.
    let members: Vec<String> = run.members.iter().map(|m| m.address.clone()).collect();
    let renewer = {
        let (alive, endpoint, stop) = (alive.clone(), endpoint.clone(), stop.clone());
        let (ns, admin) = (run.lan.hub.clone(), run.admin.clone());
        std::thread::spawn(move || {
            while !*stop.lock().expect("lock") {
                let current = endpoint.lock().expect("lock").clone();
                let names: Vec<String> = alive.lock().expect("lock").iter().cloned().collect();
                let order: Vec<&String> =
                    std::iter::once(&current).chain(members.iter().filter(|m| **m != current)).collect();
                for n in names {
                    let lease = json!({
                        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                        "metadata": { "name": n, "namespace": "kube-node-lease" },
                        "spec": { "holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": micro_now() },
                    });
                    let path = format!("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{n}");
                    let renew = json!({ "spec": { "holderIdentity": n, "leaseDurationSeconds": 40, "renewTime": micro_now() } });
                    let merge = "application/merge-patch+json";
                    for at in &order {
                        match api_request(&ns, &admin, at, "PATCH", &path, Some(&renew), merge, 3).0 {
                            200 => break,
                            404 => {
                                let create = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases";
                                let json = "application/json";
                                if api_request(&ns, &admin, at, "POST", create, Some(&lease), json, 3).0 == 201 {
                                    break;
                                }
                            }
                            _ => {}
                        }
                    }
                }
                std::thread::sleep(Duration::from_secs(2));
            }
        })
    };

    // The manifests, as the first member's bootstrap unit applies them (with the token the PKI
    // made); pods need the default ServiceAccount the controller manager creates.
    wait_for("the default ServiceAccount", Duration::from_secs(60), || {
        match run.api(&first, "GET", "/api/v1/namespaces/default/serviceaccounts/default", None) {
            (200, _) => Ok(()),
            (code, body) => Err(format!("{code} {body}")),
        }
    });
    let bootstrap = run.members[0].path("/etc/kubernetes/bootstrap");
    let mut texts = Vec::new();
    let files = walk_like_kubectl(&bootstrap);
    for f in &files {
        texts.push(std::fs::read_to_string(f).expect("manifest"));
    }
    for (file, docs) in files.iter().zip(yaml_documents(&texts.iter().map(String::as_str).collect::<Vec<_>>())) {
        for doc in docs {
            let path = collection(&doc);
            let (code, said) = run.api(&first, "POST", &path, Some(&doc));
            assert_eq!(code, 201, "{}: {said}", file.display());
        }
    }

    // The plan's promise, at rest.
    let names: Vec<String> = plan.workloads.iter().map(|w| w.name.clone()).collect();
    let at_rest = Expected::at_rest(&plan);
    wait_for("every workload placed as the plan says", Duration::from_secs(60), || {
        holds(&placements(&run, &first, &names)?, &nodes, &at_rest)
    });

    // The plug, domain by domain.
    let mut outcomes = Vec::new();
    for loss in &plan.losses {
        let lost_hosts: Vec<String> = nodes
            .iter()
            .filter(|(_, kind)| kind.ends_with(&format!("/{}", loss.domain)))
            .map(|(n, _)| n.clone())
            .collect();
        let lost_members: Vec<String> =
            run.members.iter().filter(|m| lost_hosts.contains(&m.hostname)).map(|m| m.hostname.clone()).collect();
        let lost_what = format!("{} {}", loss.kind.key(), loss.domain);
        let survivor = run.members.iter().find(|m| !lost_members.contains(&m.hostname)).map(|m| m.address.clone());
        let started = Instant::now();
        for h in &lost_members {
            for p in run.processes_of(h) {
                run.kill(&p);
            }
        }
        alive.lock().expect("lock").retain(|n| !lost_hosts.contains(n));
        // The domain returns: its members start again on their data, its nodes renew again.
        let bring_back = || {
            for h in &lost_members {
                for p in run.processes_of(h) {
                    run.start(&p);
                }
            }
            alive.lock().expect("lock").extend(lost_hosts.iter().cloned());
            recover(&run, &machines, &lost_hosts, &lost_what, &names, &nodes, &at_rest);
        };
        let Some(survivor) = survivor.filter(|_| loss.control_plane) else {
            // The plan says etcd loses quorum: no surviving apiserver serves (a write needs a
            // quorum, and readiness checks etcd), until the domain returns.
            for m in run.members.iter().filter(|m| !lost_members.contains(&m.hostname)) {
                wait_for(
                    &format!("{} stops serving without quorum after {lost_what}'s loss", m.hostname),
                    Duration::from_secs(60),
                    || {
                        let probe = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "probe-", "namespace": "default"}});
                        match run.api(&m.address, "POST", "/api/v1/namespaces/default/configmaps", Some(&probe)).0 {
                            201 => Err("a write succeeded".to_string()),
                            _ => Ok(()),
                        }
                    },
                );
            }
            outcomes.push(format!("{lost_what}: the control plane stopped, as planned"));
            bring_back();
            continue;
        };
        *endpoint.lock().expect("lock") = survivor.clone();
        let alive_nodes: BTreeMap<String, String> =
            nodes.iter().filter(|(n, _)| !lost_hosts.contains(n)).map(|(n, k)| (n.clone(), k.clone())).collect();
        let after = Expected::after(&at_rest, loss, &alive_nodes);
        // The lost nodes are tainted unreachable by the node lifecycle controller: after the
        // node-monitor grace, or, when the domain held the controller manager's leader, after a
        // new election (a 15 s lease) and the new leader's own grace; generous under load.
        wait_for(&format!("{lost_what}'s nodes tainted unreachable"), Duration::from_secs(150), || {
            for n in &lost_hosts {
                let (code, node) = run.api(&survivor, "GET", &format!("/api/v1/nodes/{n}"), None);
                let tainted = node["spec"]["taints"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|t| t["key"] == "node.kubernetes.io/unreachable" && t["effect"] == "NoExecute");
                if code != 200 || !tainted {
                    return Err(format!("{n}: {code}, not tainted yet"));
                }
            }
            Ok(())
        });
        // The node-monitor grace and the toleration, then eviction at the per-zone rate and the
        // scheduler; generous, since the suite's other tests share the two cores.
        let within = Duration::from_secs(8 + u64::from(k.eviction_seconds) + 150);
        wait_for(&format!("the workloads placed again after {lost_what}'s loss"), within, || {
            let placed = placements(&run, &survivor, &names)?;
            // DaemonSet pods on lost nodes are never evicted (they tolerate it): only the live
            // nodes' are compared.
            let live: BTreeMap<String, (Vec<String>, usize)> = placed
                .into_iter()
                .map(|(w, (bound, unbound))| {
                    (w, (bound.into_iter().filter(|n| !lost_hosts.contains(n)).collect(), unbound))
                })
                .collect();
            holds(&live, &alive_nodes, &after)
        });
        let replaced = started.elapsed();
        outcomes.push(format!("{lost_what}: placed again as planned after {replaced:?}"));

        bring_back();
    }
    *stop.lock().expect("lock") = true;
    let _ = renewer.join();
    outcomes
}

/// What the plan says of a workload: its name, the pods that fit and the pods it wants, the
/// node kinds it may run on, whether it is a DaemonSet, whether its replicas avoid each other.
#[derive(Clone)]
pub struct Expected {
    name: String,
    fits: u32,
    wanted: u32,
    kinds: Vec<String>,
    daemon: bool,
    spreads: bool,
}

impl Expected {
    /// The plan's promise for every workload at rest.
    pub fn at_rest(plan: &KubernetesPlan) -> Vec<Expected> {
        plan.workloads
            .iter()
            .map(|w| Expected {
                name: w.name.clone(),
                fits: w.fits,
                wanted: w.wanted,
                kinds: w.eligible.clone(),
                daemon: w.kind == "DaemonSet",
                spreads: w.avoids.contains(&w.name),
            })
            .collect()
    }

    /// The plan's promise after `loss`, with `alive_nodes` (node → kind) left: the plan lists
    /// the workloads the loss leaves short; every other keeps every pod it wants (a Deployment
    /// its replicas, a DaemonSet one on each eligible node left).
    pub fn after(
        at_rest: &[Expected],
        loss: &clusterdef::render::plan::KubernetesLoss,
        alive_nodes: &BTreeMap<String, String>,
    ) -> Vec<Expected> {
        at_rest
            .iter()
            .map(|rest| match loss.workloads.iter().find(|w| w.name == rest.name) {
                Some(w) => Expected {
                    fits: w.running,
                    wanted: w.wanted,
                    kinds: rest.kinds.iter().filter(|k| !w.lost.contains(k)).cloned().collect(),
                    ..rest.clone()
                },
                None if rest.daemon => {
                    let left = alive_nodes.values().filter(|k| rest.kinds.contains(k)).count() as u32;
                    Expected { fits: left, wanted: left, ..rest.clone() }
                }
                None => rest.clone(),
            })
            .collect()
    }
}

/// After a lost domain's members were started again and its nodes renew again: every
/// apiserver serves, each returning kubelet posts its node's status (Ready), the node lifecycle
/// controller lifts the taints, the returned kubelets finish deleting the pods evicted from
/// them, and every workload is as at rest.
fn recover(
    run: &Running,
    machines: &[clusterdef::Machine],
    lost_hosts: &[String],
    lost_what: &str,
    names: &[String],
    nodes: &BTreeMap<String, String>,
    at_rest: &[Expected],
) {
    wait_for(&format!("every member's apiserver ready after {lost_what} returns"), Duration::from_secs(120), || {
        for m in &run.members {
            if run.api(&m.address, "GET", "/readyz", None).0 != 200 {
                return Err(format!("{} not ready", m.hostname));
            }
        }
        Ok(())
    });
    let at = run.members[0].address.clone();
    for n in lost_hosts {
        let address = machines.iter().find(|m| m.hostname == *n).and_then(|m| m.address).map(|a| a.to_string());
        let (code, said) =
            run.api(&at, "PATCH", &format!("/api/v1/nodes/{n}/status"), Some(&node_status(address.as_deref())));
        assert_eq!(code, 200, "{n} status: {said}");
    }
    wait_for(&format!("{lost_what}'s nodes untainted"), Duration::from_secs(90), || {
        for n in lost_hosts {
            let (_, node) = run.api(&at, "GET", &format!("/api/v1/nodes/{n}"), None);
            if node["spec"]["taints"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|t| t["key"] == "node.kubernetes.io/unreachable")
            {
                return Err(format!("{n} still tainted"));
            }
        }
        Ok(())
    });
    let (_, pods) = run.api(&at, "GET", "/api/v1/namespaces/default/pods", None);
    for pod in pods["items"].as_array().into_iter().flatten().filter(|p| !p["metadata"]["deletionTimestamp"].is_null())
    {
        let name = pod["metadata"]["name"].as_str().unwrap_or_default();
        let path = format!("/api/v1/namespaces/default/pods/{name}?gracePeriodSeconds=0");
        run.api(&at, "DELETE", &path, Some(&json!({"gracePeriodSeconds": 0})));
    }
    // A controller manager that lost its lease with the domain elects again, and its
    // ReplicaSets and the scheduler then act; generous, since the suite's other tests share the
    // two cores.
    wait_for(&format!("the workloads back as at rest after {lost_what} returns"), Duration::from_secs(180), || {
        holds(&placements(run, &at, names)?, nodes, at_rest)
    });
}

/// The status a kubelet posts: capacity for the scheduler's fit checks (pods included), the
/// node's address, and Ready now.
fn node_status(address: Option<&str>) -> Value {
    let now = micro_now().split('.').next().map(|s| format!("{s}Z"));
    json!({ "status": {
        "capacity": { "cpu": "8", "memory": "32Gi", "pods": "110" },
        "allocatable": { "cpu": "8", "memory": "32Gi", "pods": "110" },
        "addresses": address.iter().map(|a| json!({"type": "InternalIP", "address": a})).collect::<Vec<_>>(),
        "conditions": [{ "type": "Ready", "status": "True", "reason": "KubeletReady", "message": "emulated kubelet",
                         "lastHeartbeatTime": now, "lastTransitionTime": now }],
    }})
}

/// The collection an object is created in.
fn collection(doc: &Value) -> String {
    let api = doc["apiVersion"].as_str().unwrap_or_default();
    let kind = doc["kind"].as_str().unwrap_or_default();
    let plural = format!("{}s", kind.to_lowercase());
    let base = if api.contains('/') { format!("/apis/{api}") } else { format!("/api/{api}") };
    match doc["metadata"]["namespace"].as_str() {
        Some(ns) => format!("{base}/namespaces/{ns}/{plural}"),
        None => format!("{base}/{plural}"),
    }
}

/// The administrator's CA, certificate and key from `admin.conf`, as files for curl (0600).
fn admin_files(conf: &str, dir: &Path) -> [PathBuf; 3] {
    use base64::Engine as _;
    let field = |key: &str| -> Vec<u8> {
        let line = conf
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("{key} in admin.conf"));
        base64::engine::general_purpose::STANDARD.decode(line.trim_matches('"')).expect("base64")
    };
    let paths = [dir.join("admin-ca.crt"), dir.join("admin.crt"), dir.join("admin.key")];
    for (path, key) in paths.iter().zip(["certificate-authority-data", "client-certificate-data", "client-key-data"]) {
        std::fs::write(path, field(key)).expect("write");
    }
    paths
}

/// kubernetes-validate, installed by `scripts/install-test-deps.sh`: its directory (for
/// `PYTHONPATH`) and script. Missing, it fails the test.
fn kubernetes_validate() -> (PathBuf, PathBuf) {
    let target = crate::support::target_dir();
    let dir = target.join("test-engines/kubernetes-validate-1.37.0");
    let script = dir.join("bin/kubernetes-validate");
    assert!(
        script.is_file(),
        "kubernetes-validate is not at {}; run `bash scripts/install-test-deps.sh`",
        script.display()
    );
    (dir, script)
}

/// Every manifest the render makes, and every static pod, passes `kubernetes-validate --strict`
/// (unknown fields fail) against the schemas of the declared release.
#[test]
fn every_manifest_passes_kubernetes_validate_strict_at_the_declared_version() {
    let cluster = &clusterdef_examples::kubernetes::PRODUCTION;
    let version =
        cluster.kubernetes.as_ref().and_then(|k| k.minor_patch()).map(|(m, _)| format!("1.{m}")).expect("version");
    let artifacts = cluster.render().expect("renders");
    let dir = TempDir::new("k8s-validate");
    let mut files = Vec::new();
    for (path, bytes) in artifacts.iter().filter(|(p, _)| p.starts_with("kubernetes/")) {
        let file = dir.path().join(path.replace('/', "_"));
        std::fs::write(&file, bytes).expect("write");
        files.push(file);
    }
    assert!(files.len() >= 7, "manifests, workloads and static pods: {files:?}");
    let validate = |files: &[PathBuf]| {
        let (path, script) = kubernetes_validate();
        Command::new(tool("python3"))
            .arg(&script)
            .args(["-k", &version, "--strict"])
            .args(files)
            .env("PYTHONPATH", &path)
            .output()
            .expect("run kubernetes-validate")
    };
    let out = validate(&files);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kubernetes-validate --strict -k {version}:\n{said}");
    let passed = said.matches(" passed for resource ").count();
    assert!(passed >= files.len(), "each object is validated: {said}");
    // A manifest with a field the schema does not have fails, so the check is not vacuous.
    let bad = dir.path().join("bad.yaml");
    let webapp =
        std::fs::read_to_string(dir.path().join("kubernetes_manifests_workloads_webapp.yaml")).expect("webapp");
    std::fs::write(&bad, webapp.replace("  replicas: 3", "  replicas: 3\n  replica: 3")).expect("write");
    let out = validate(&[bad]);
    assert!(!out.status.success(), "an unknown field must fail --strict");
}

/// What `openssl x509` says of a certificate.
fn x509(cert: &Path, what: &[&str]) -> String {
    let out = Command::new(tool("openssl"))
        .arg("x509")
        .arg("-in")
        .arg(cert)
        .arg("-noout")
        .args(what)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl x509 {}: {}", cert.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The PKI as openssl reads it: every certificate verifies against its CA; the apiservers'
/// names every address and name a client may verify them by; subjects are what RBAC expects;
/// keys are 0600 in 0700 directories; a second write refuses the directory; no key or token
/// reaches the rendered configs or the plan, and `{:?}` prints none.
#[test]
fn the_pki_names_what_clients_verify_and_keeps_its_secrets() {
    use std::os::unix::fs::PermissionsExt as _;
    let cluster = &clusterdef_examples::kubernetes::PRODUCTION;
    let pki = clusterdef_pki::generate(cluster).expect("the PKI");
    let dir = TempDir::new("pki");
    let out = dir.path().join("pki");
    let written = pki.write_to(&out).expect("written");
    assert_eq!(written.len(), pki.files.len());
    for f in &pki.files {
        let path = out.join(&f.path);
        let mode = std::fs::metadata(&path).expect("written").permissions().mode() & 0o777;
        assert_eq!(mode, if f.secret { 0o600 } else { 0o644 }, "{}", f.path);
        let text = String::from_utf8_lossy(&f.contents);
        assert_eq!(
            f.secret,
            text.contains("PRIVATE KEY") || text.contains("token") || f.path.ends_with(".conf"),
            "{} secret={}",
            f.path,
            f.secret
        );
        // Every file lies under a 0700 directory of the PKI's top (`ca/`, `machines/`, `pools/`,
        // or the output directory itself): no other account of the operator's machine reaches
        // it, whatever the modes inside a machine's tree (which are the machine's own).
        let guard = match f.path.split('/').next() {
            Some(top @ ("ca" | "machines" | "pools")) => out.join(top),
            _ => out.clone(),
        };
        let guard_mode = std::fs::metadata(&guard).expect("dir").permissions().mode() & 0o777;
        assert_eq!(guard_mode, 0o700, "{}: {}", f.path, guard.display());
        assert_eq!(std::fs::metadata(&out).expect("out").permissions().mode() & 0o777, 0o700);
    }
    let member = out.join("machines/central-1");
    let k8s_ca = out.join("ca/kubernetes-ca.crt");
    let etcd_ca = out.join("ca/etcd-ca.crt");
    let verify = |ca: &Path, cert: &Path| {
        let v = Command::new(tool("openssl")).arg("verify").arg("-CAfile").arg(ca).arg(cert).output().expect("openssl");
        assert!(
            v.status.success(),
            "{} against {}: {}",
            cert.display(),
            ca.display(),
            String::from_utf8_lossy(&v.stdout)
        );
    };
    for c in ["apiserver", "controller-manager", "scheduler"] {
        verify(&k8s_ca, &member.join(format!("etc/kubernetes/pki/{c}.crt")));
    }
    verify(&etcd_ca, &member.join("etc/kubernetes/pki/etcd-client.crt"));
    let tls = cluster.tls.as_ref().expect("tls");
    for m in cluster.machines() {
        let cert = out.join("machines").join(&m.hostname).join(tls.cert.trim_start_matches('/'));
        verify(&etcd_ca, &cert);
        let sans = x509(&cert, &["-ext", "subjectAltName"]);
        let address = m.address.expect("static").to_string();
        assert!(
            sans.contains(&format!("IP Address:{address}")) && sans.contains("IP Address:127.0.0.1"),
            "{}: {sans}",
            m.hostname
        );
    }
    let sans = x509(&member.join("etc/kubernetes/pki/apiserver.crt"), &["-ext", "subjectAltName"]);
    let k = cluster.kubernetes.as_ref().expect("kubernetes");
    for m in cluster.etcd_members() {
        assert!(sans.contains(&format!("IP Address:{}", m.address.expect("static"))), "{sans}");
        assert!(sans.contains(&format!("DNS:{}", m.name)), "{sans}");
    }
    for name in [
        format!("IP Address:{}", k.service_ip(1)),
        "IP Address:127.0.0.1".into(),
        "DNS:kubernetes.default.svc.cluster.local".into(),
        format!("DNS:{}", clusterdef::own::kubernetes::API_NAME),
    ] {
        assert!(sans.contains(&name), "{name} in {sans}");
    }
    let subject = |c: &str| x509(&member.join(format!("etc/kubernetes/pki/{c}.crt")), &["-subject"]);
    assert!(subject("controller-manager").contains("CN = system:kube-controller-manager"));
    assert!(subject("scheduler").contains("CN = system:kube-scheduler"));
    // Never overwritten.
    match pki.write_to(&out) {
        Err(clusterdef_pki::PkiError::Exists(d)) => assert_eq!(d, out),
        other => panic!("a second write must refuse the directory: {other:?}"),
    }
    // No secret in what the render writes, nor in the plan, nor in {:?}.
    let artifacts = cluster.render().expect("renders");
    let secrets: Vec<String> = pki
        .files
        .iter()
        .filter(|f| f.secret)
        .flat_map(|f| {
            // A key's body, a token, a kubeconfig's key: the lines that are the secret.
            let text = String::from_utf8_lossy(&f.contents).into_owned();
            let key_body = text.contains("PRIVATE KEY");
            text.lines()
                .filter(|l| {
                    (key_body && !l.starts_with("-----"))
                        || ["token:", "client-key-data:", "token-secret:"].iter().any(|k| l.trim().starts_with(k))
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!secrets.is_empty());
    for (path, bytes) in artifacts.iter() {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("PRIVATE KEY"), "{path} holds a key");
        assert!(!secrets.iter().any(|s| text.contains(s.trim())), "{path} holds a secret line");
    }
    let debug = format!("{pki:?}");
    assert!(
        !debug.contains("PRIVATE KEY") && !secrets.iter().any(|s| debug.contains(s.trim())),
        "{{:?}} prints a secret"
    );
}

/// A random Flatcar cluster (`random_flatcar_cluster`) running Kubernetes, small enough to run
/// here: at most five members and fourteen machines, fixed pools booting from disk, every unit
/// a workload (its image instead of a body; `machine_id` and `replaces`, which Kubernetes has no
/// form for, dropped; `machine_of` kept where the follower declares neither `global` nor
/// `instances`), a six-second eviction toleration. Risks the draw takes are allowed, as a user
/// would (the plan then says what does not survive, and the run checks that too); a draw that
/// breaks a rule that cannot be allowed is drawn again. Returns the cluster and its seed.
pub(crate) fn random_kubernetes_cluster(seed: u64) -> (Cluster, u64) {
    use std::borrow::Cow;
    let mut seed = seed;
    loop {
        let (mut c, drawn) = clusterdef::synthetic::random_flatcar_cluster(seed);
        seed = drawn.wrapping_add(0x1_0000_0000);
        let mut pools = c.pools.to_vec();
        for p in &mut pools {
            if !matches!(p.size, clusterdef::Size::Fixed(n) if n <= 4) {
                p.size = clusterdef::Size::Fixed(2);
            }
            p.boot = clusterdef::Boot::Disk;
            p.inventory = Cow::Borrowed(&[]);
        }
        c.pools = Cow::Owned(pools);
        let mut k = clusterdef::Kubernetes::new("v1.36.3");
        k.services = "172.16.0.0/16".parse().expect("subnet");
        k.pods = "172.20.0.0/14".parse().expect("subnet");
        k.eviction_seconds = 6;
        c.kubernetes = Some(k);
        let mut units = c.units.to_vec();
        for u in &mut units {
            u.container = Some(clusterdef::Container::new(Cow::Borrowed("quay.io/example/app:1")));
            u.body = clusterdef::UnitBody::Inline(Cow::Borrowed(""));
            u.machine_id = None;
            u.replaces = Cow::Borrowed(&[]);
            if u.global || u.instances.is_some() {
                u.machine_of = None;
            }
        }
        c.units = Cow::Owned(units);
        c.allows = Cow::Borrowed(&[]);
        let machines = c.machines().len();
        let members = c.members.fixed_count().unwrap_or(0);
        if members > 5 || machines > 14 {
            continue;
        }
        if c.accept_risks(|_| "drawn".to_string()).is_empty() && c.check().is_ok() {
            return (c, drawn);
        }
    }
}

/// A layout the rules reject, accepted on purpose: three members over two cabinets, so losing
/// cabinet `a` (two members) takes etcd's quorum. The plan says the control plane stops there,
/// and on the real control plane no surviving apiserver accepts a write until the cabinet
/// returns; losing cabinet `b` keeps quorum and the workload is placed again.
static RISKY: clusterdef::Cluster = clusterdef::cluster! {
    name: "risky",
    os: flatcar,
    kubernetes: { version: "v1.36.3", eviction_after: 6 },
    network: { subnet: "10.0.0.0/24" },
    central: 3 across cabinets [a, b] { addresses: "10.0.0.11".."10.0.0.13" },
    workers: 2 across cabinets [a, b] { addresses: "10.0.0.21".."10.0.0.22" },
    unit "web.service" { metadata: { role = worker }, image: "quay.io/example/web:1" },
    allow(failure_domain_quorum, reason = "shows what losing the larger cabinet does"),
    allow(etcd_tls, reason = "quorum behaviour; TLS has the production seed's test"),
};

#[test]
fn emulated_kubelets_a_cabinet_whose_loss_takes_quorum_stops_the_control_plane_as_the_plan_says() {
    let plan = RISKY.plan().kubernetes.expect("a Kubernetes plan");
    let keeps: Vec<(String, bool)> = plan.losses.iter().map(|l| (l.domain.clone(), l.control_plane)).collect();
    assert_eq!(keeps, [("a".to_string(), false), ("b".to_string(), true)], "the plan");
    let outcomes = run_scenario(&RISKY, "k8s-risky");
    assert!(outcomes[0].contains("the control plane stopped"), "{outcomes:?}");
    assert!(outcomes[1].contains("placed again"), "{outcomes:?}");
    eprintln!("{}", outcomes.join("\n"));
}

/// The files under `dir` in the order `kubectl apply -R` applies them: Go's `filepath.Walk`,
/// each directory's entries in lexical order, a subdirectory walked where it sorts.
fn walk_like_kubectl(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("manifests dir").flatten().map(|e| e.path()).collect();
    entries.sort();
    entries.into_iter().flat_map(|p| if p.is_dir() { walk_like_kubectl(&p) } else { vec![p] }).collect()
}
