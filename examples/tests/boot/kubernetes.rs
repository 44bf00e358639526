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

mod expected;
mod render_checks;
mod scenario;

pub use expected::{Expected, holds};
use scenario::run_scenario;

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

/// The status a kubelet posts: capacity for the scheduler's fit checks (pods included), the
/// node's address, and Ready now.
fn node_status(address: Option<&str>) -> Value {
    let now = micro_now().split('.').next().map(|s| format!("{s}Z"));
    // The pods a kubelet allows: the `maxPods` the render writes.
    let pods = clusterdef::kubernetes::MAX_PODS.to_string();
    json!({ "status": {
        "capacity": { "cpu": "8", "memory": "32Gi", "pods": pods },
        "allocatable": { "cpu": "8", "memory": "32Gi", "pods": pods },
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
