//! What the tests share: finding the real tools, temporary directories, and reading YAML the
//! way a YAML 1.1 reader of the CoreOS era does.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use clusterdef::render::yaml::Yaml;
use serde_json::Value;

/// The path of a program the tests need. A missing program fails the test: it never skips.
pub fn tool(name: &str) -> PathBuf {
    let dirs = std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect::<Vec<_>>()).unwrap_or_default();
    dirs.into_iter()
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("`{name}` is not installed; run `bash scripts/install-test-deps.sh`"))
}

/// The etcd release the rendered drop-in pins (the tag of [`clusterdef::render::ignition::ETCD_IMAGE`],
/// which [`etcd_35`] checks), built from the Go module proxy by `scripts/install-test-deps.sh`
/// under the target directory.
pub const ETCD_35: &str = "3.5.16";

/// Serialises the tests that run many real processes at once (the Kubernetes control planes,
/// the booted machines): on two cores, two of them would slow each other past their waits. A
/// failed test poisons the lock; the next still runs.
pub fn heavy() -> std::sync::MutexGuard<'static, ()> {
    static HEAVY: std::sync::Mutex<()> = std::sync::Mutex::new(());
    HEAVY.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The target directory, where the test script installs and builds the engines the tests run.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"))
}

/// The Ignition validators every rendered config must pass silently: Debian's 2.14 and
/// upstream's newest (v2.26.0, built by the test script), which refuses more.
pub fn ignition_validators() -> [PathBuf; 2] {
    let debian = PathBuf::from("/usr/bin/ignition-validate");
    let upstream = target_dir().join("test-engines/ignition-2.26.0/validate");
    for v in [&debian, &upstream] {
        assert!(v.is_file(), "{} is not installed; run `bash scripts/install-test-deps.sh`", v.display());
    }
    [debian, upstream]
}

/// Whether `config` declares a spec Debian's Ignition 2.14 does not know (3.4.0: what matchbox
/// serves, re-marshalling every config it serves), which upstream's Ignition validates and applies.
pub fn beyond_debians_ignition(config: &str) -> bool {
    config.contains("\"version\":\"3.4.0\"")
}

/// `file` through both Ignition validators: each exits 0 and prints nothing, else what each
/// said. A config of spec 3.4.0 (what matchbox serves: it re-marshals every config it serves
/// as 3.4.0) goes through upstream's alone: Debian's 2.14 knows specs up to 3.3.0.
pub fn validate_ignition(file: &Path) -> Result<(), String> {
    let mut said = Vec::new();
    let text = std::fs::read_to_string(file).unwrap_or_default();
    let newer = beyond_debians_ignition(&text);
    for validator in ignition_validators().into_iter().skip(usize::from(newer)) {
        let out = Command::new(&validator).arg(file).output().expect("run an Ignition validator");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if !out.status.success() || !text.trim().is_empty() {
            said.push(format!("{}: {}", validator.display(), text.trim()));
        }
    }
    if said.is_empty() { Ok(()) } else { Err(said.join("\n")) }
}

/// Installs a machine's share of the PKI (`tree`, one of `clusterdef pki`'s
/// `machines/<hostname>` or `pools/<group>` directories) onto the machine's disk `root` with the
/// command docs/kubernetes.md gives the operator, `rsync -a --no-owner --no-group TREE/ ROOT/`,
/// and nothing more.
pub fn install_pki(tree: &Path, root: &Path) {
    let out = Command::new(tool("rsync"))
        .args(["-a", "--no-owner", "--no-group"])
        .arg(format!("{}/", tree.display()))
        .arg(format!("{}/", root.display()))
        .output()
        .expect("run rsync");
    assert!(
        out.status.success(),
        "rsync {} into {}: {}",
        tree.display(),
        root.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The release of the etcd image the render pins (`3.5.16` of `quay.io/coreos/etcd:v3.5.16`).
pub fn pinned_etcd_release() -> Option<&'static str> {
    clusterdef::render::ignition::ETCD_IMAGE.rsplit_once(":v").map(|(_, release)| release)
}

/// A program of etcd 3.5 (`etcd`, `etcdctl`), for the Flatcar tests: the release the render
/// pins, as a machine pulling its image would run. Missing, or of another release, it fails
/// the test: it never skips, and never falls back to Debian's 3.4.
pub fn etcd_35(name: &str) -> PathBuf {
    assert_eq!(pinned_etcd_release(), Some(ETCD_35), "the tests run the etcd release the render pins");
    let target = target_dir();
    let path = target.join(format!("test-engines/etcd-{ETCD_35}/{name}"));
    assert!(
        path.is_file(),
        "etcd {ETCD_35}'s `{name}` is not at {}; run `bash scripts/install-test-deps.sh`",
        path.display()
    );
    let out = Command::new(&path).arg(if name == "etcd" { "--version" } else { "version" }).output().expect("run it");
    let said = String::from_utf8_lossy(&out.stdout);
    // `etcd Version: 3.5.16` or `etcdctl version: 3.5.16`, the whole line.
    assert!(
        said.lines().any(|l| l.eq_ignore_ascii_case(&format!("{name} version: {ETCD_35}"))),
        "{}: {said}",
        path.display()
    );
    path
}

/// A directory removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A new, empty directory for `tag`.
    pub fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("clusterdef-test-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create a temporary directory");
        TempDir(dir)
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // CLUSTERDEF_KEEP_TMP keeps logs and data for a post-mortem.
        if std::env::var_os("CLUSTERDEF_KEEP_TMP").is_none() {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

const READER: &str = r#"
import json, sys, yaml
texts = json.load(sys.stdin)
def plain(v):
    if isinstance(v, dict):
        return {"__map__": [[plain(k), plain(x)] for k, x in v.items()]}
    if isinstance(v, list):
        return [plain(x) for x in v]
    if v is None or isinstance(v, (bool, int, str)):
        return v
    return {"__other__": type(v).__name__ + ":" + repr(v)}
print(json.dumps([plain(yaml.safe_load(t)) for t in texts]))
"#;

/// Parses each text with PyYAML's `safe_load`, a YAML 1.1 reader, and returns the values as
/// JSON. Mappings come back as `{"__map__": [[key, value], …]}` in document order, so key types
/// and order are kept; anything that is not a string, integer, boolean, null, list or mapping
/// (a float, a date) comes back as `{"__other__": "type:repr"}`.
pub fn read_yaml_1_1(texts: &[&str]) -> Vec<Value> {
    serde_json::from_value(run_pyyaml(READER, texts)).expect("a list of values")
}

/// Runs a PyYAML `script` that reads a JSON list of texts on stdin and prints JSON.
fn run_pyyaml(script: &str, texts: &[&str]) -> Value {
    let mut child = Command::new(tool("python3"))
        .args(["-c", script])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start python3");
    let input = serde_json::to_vec(texts).expect("encode texts");
    child.stdin.take().expect("stdin").write_all(&input).expect("send texts");
    let out = child.wait_with_output().expect("python3 finishes");
    assert!(
        out.status.success(),
        "PyYAML could not read the YAML (is it installed? scripts/install-test-deps.sh): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python3 prints JSON")
}

/// What a YAML 1.1 reader must return for `yaml`, in the form [`read_yaml_1_1`] returns.
pub fn expected(yaml: &Yaml) -> Value {
    match yaml {
        Yaml::Str(s) => Value::String(s.clone()),
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Int(i) => Value::from(*i),
        Yaml::Seq(items) => Value::Array(items.iter().map(expected).collect()),
        Yaml::Map(entries) => serde_json::json!({
            "__map__": entries.iter().map(|(k, v)| Value::Array(vec![Value::String(k.clone()), expected(v)])).collect::<Vec<_>>()
        }),
    }
}

/// The value under `path` in a parsed document (mapping keys only).
pub fn get<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    let mut current = value;
    for key in path {
        let entries = current.get("__map__")?.as_array()?;
        current = entries.iter().find(|e| e[0] == *key).map(|e| &e[1])?;
    }
    Some(current)
}

/// The entries of a parsed mapping, as (key, value) pairs.
pub fn entries(value: &Value) -> Vec<(String, Value)> {
    value
        .get("__map__")
        .and_then(Value::as_array)
        .map(|list| list.iter().map(|e| (e[0].as_str().unwrap_or_default().to_string(), e[1].clone())).collect())
        .unwrap_or_default()
}
/// The absolute paths of the programs a unit's `Exec*=` lines run.
fn executables(unit: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| k.trim().starts_with("Exec"))
        .filter_map(|(_, v)| {
            v.trim().trim_start_matches(['-', '@', '+', '!', ':']).split_whitespace().next().map(str::to_string)
        })
        .filter(|p| p.starts_with('/'))
        .collect()
}

/// The units a unit names in its dependencies.
fn dependencies(unit: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.split_once('='))
        .filter(|(k, _)| {
            // `Service=` of a socket and `Unit=` of a timer or path name the unit they start.
            matches!(
                k.trim(),
                "Requires" | "Wants" | "After" | "Before" | "BindsTo" | "PartOf" | "Requisite" | "Service" | "Unit"
            )
        })
        .flat_map(|(_, v)| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect()
}

/// Makes `root` a tree `systemd-analyze verify --root` can check `units` in: a copy of this
/// machine's system units, a stub for every program the units run and every unit they name that
/// is not there, and an empty `etc/systemd/system`.
pub fn prepare_systemd_root(root: &Path, units: &[&str]) {
    let system = root.join("usr/lib/systemd/system");
    std::fs::create_dir_all(&system).expect("root");
    let copied = Command::new("cp").arg("-a").arg("/usr/lib/systemd/system/.").arg(&system).status().expect("cp");
    assert!(copied.success(), "copy the system units");
    let etc = root.join("etc/systemd/system");
    std::fs::create_dir_all(&etc).expect("etc");
    for text in units {
        for exe in executables(text) {
            let stub = root.join(exe.trim_start_matches('/'));
            if stub.exists() {
                continue;
            }
            std::fs::create_dir_all(stub.parent().expect("parent")).expect("stub dir");
            std::fs::write(&stub, "#!/bin/sh\nexit 0\n").expect("stub");
            let made = Command::new("chmod").arg("755").arg(&stub).status().expect("chmod");
            assert!(made.success());
        }
        for dep in dependencies(text) {
            if !system.join(&dep).exists() && !etc.join(&dep).exists() {
                std::fs::write(etc.join(&dep), "[Unit]\nDescription=stub\n\n[Service]\nExecStart=/bin/true\n")
                    .expect("stub unit");
            }
        }
    }
}

/// `systemd-analyze verify --root=root unit`: `Err` with what it said, if it failed or said
/// anything at all.
pub fn verify_unit(root: &Path, unit: &Path) -> Result<(), String> {
    let out = Command::new(tool("systemd-analyze"))
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .arg(unit)
        .output()
        .expect("run systemd-analyze");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let complaints: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if out.status.success() && complaints.is_empty() { Ok(()) } else { Err(stderr.into_owned()) }
}

/// A network namespace of the test's own, removed when dropped, whose loopback answers on
/// `addresses` with each address as the source of connections to it. On the host's loopback every
/// connection comes from 127.0.0.1, so etcd's peer check (the connecting peer's certificate must
/// name its source address) would demand `127.0.0.1` of every member certificate; here a member
/// dials its peers from a member's address, as it does on a real network.
pub struct NetNs(pub String);

impl NetNs {
    /// A namespace for `tag` answering on `addresses`.
    pub fn new(tag: &str, addresses: &[String]) -> NetNs {
        let name = format!("clusterdef-{tag}-{}", std::process::id());
        let ip = |args: &[&str]| {
            let out = Command::new(tool("ip")).args(args).output().expect("run ip");
            assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let _ = Command::new(tool("ip")).args(["netns", "del", &name]).output();
        ip(&["netns", "add", &name]);
        let ns = NetNs(name);
        ip(&["-n", &ns.0, "link", "set", "lo", "up"]);
        for a in addresses {
            ip(&["-n", &ns.0, "route", "add", "local", &format!("{a}/32"), "dev", "lo", "src", a, "table", "local"]);
        }
        ns
    }
}

impl Drop for NetNs {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

const JSON_READER: &str = r#"
import json, sys, yaml
texts = json.load(sys.stdin)
print(json.dumps([[d for d in yaml.safe_load_all(t) if d is not None] for t in texts]))
"#;

/// Each text's YAML documents as plain JSON values, as a Kubernetes client reads a manifest
/// (PyYAML's `safe_load_all`): the objects to send to an apiserver.
pub fn yaml_documents(texts: &[&str]) -> Vec<Vec<Value>> {
    serde_json::from_value(run_pyyaml(JSON_READER, texts)).expect("lists of documents")
}

/// A private network of machines, each in a network namespace of its own (so each connects from
/// its own address, as on a real network), joined by a bridge in a hub namespace that also has
/// an address for the test's clients. Everything is removed when dropped; nothing touches the
/// host's own network.
pub struct Lan {
    /// The hub namespace (the clients'), and the machines' by name.
    pub hub: String,
    /// Each machine's namespace.
    pub machines: std::collections::BTreeMap<String, String>,
}

impl Lan {
    /// A network for `tag`: the hub at `hub_address`/`prefix`, each machine at its address.
    pub fn new(tag: &str, hub_address: &str, prefix: u8, machines: &[(String, String)]) -> Lan {
        let machines: Vec<(String, Option<String>)> =
            machines.iter().map(|(name, address)| (name.clone(), Some(address.clone()))).collect();
        Lan::build(tag, &[(hub_address.to_string(), prefix, machines)])
    }

    /// Segments of their own (a bridge each, `br0`, `br1`, …), the hub at `hub_address`/`prefix`
    /// on each and routing between them, as a site's router between its zones' networks; the
    /// machines' `eth0` left for their own networkd.
    pub fn segmented(tag: &str, segments: &[(String, u8, Vec<String>)]) -> Lan {
        let segments: Vec<Segment> = segments
            .iter()
            .map(|(hub, prefix, machines)| (hub.clone(), *prefix, machines.iter().map(|m| (m.clone(), None)).collect()))
            .collect();
        let lan = Lan::build(tag, &segments);
        let out = Command::new(tool("ip"))
            .args(["netns", "exec", &lan.hub, "sysctl", "-q", "-w", "net.ipv4.ip_forward=1"])
            .output()
            .expect("run sysctl");
        assert!(out.status.success(), "forwarding in the hub: {}", String::from_utf8_lossy(&out.stderr));
        lan
    }

    /// The segments: the hub's address and prefix on each, and its machines (each with the
    /// address the test gives it, or none).
    fn build(tag: &str, segments: &[Segment]) -> Lan {
        let ip = |args: &[&str]| {
            let out = Command::new(tool("ip")).args(args).output().expect("run ip");
            assert!(out.status.success(), "ip {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        };
        let id = std::process::id();
        let hub = format!("cd-{tag}-hub-{id}");
        let _ = Command::new(tool("ip")).args(["netns", "del", &hub]).output();
        ip(&["netns", "add", &hub]);
        let mut lan = Lan { hub: hub.clone(), machines: std::collections::BTreeMap::new() };
        ip(&["-n", &hub, "link", "set", "lo", "up"]);
        let mut i = 0;
        for (j, (hub_address, prefix, machines)) in segments.iter().enumerate() {
            let bridge = format!("br{j}");
            ip(&["-n", &hub, "link", "add", &bridge, "type", "bridge"]);
            ip(&["-n", &hub, "addr", "add", &format!("{hub_address}/{prefix}"), "dev", &bridge]);
            ip(&["-n", &hub, "link", "set", &bridge, "up"]);
            for (name, address) in machines {
                let ns = format!("cd-{tag}-{i}-{id}");
                let _ = Command::new(tool("ip")).args(["netns", "del", &ns]).output();
                ip(&["netns", "add", &ns]);
                lan.machines.insert(name.clone(), ns.clone());
                let veth = format!("v{i}");
                ip(&["-n", &hub, "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns]);
                ip(&["-n", &hub, "link", "set", &veth, "master", &bridge, "up"]);
                if let Some(address) = address {
                    ip(&["-n", &ns, "link", "set", "lo", "up"]);
                    ip(&["-n", &ns, "addr", "add", &format!("{address}/{prefix}"), "dev", "eth0"]);
                    ip(&["-n", &ns, "link", "set", "eth0", "up"]);
                }
                i += 1;
            }
        }
        lan
    }
}

/// A segment of a [`Lan`]: the hub's address and prefix on it, and its machines, each with the
/// address the test gives it or none.
type Segment = (String, u8, Vec<(String, Option<String>)>);

impl Drop for Lan {
    fn drop(&mut self) {
        for ns in self.machines.values().chain(std::iter::once(&self.hub)) {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// The cluster a scenario test runs: the `.cluster` file `CLUSTERDEF_SCENARIO_CLUSTER` names
/// (read and checked as `clusterdef check` reads it; a refused one fails the test with the
/// rules' messages) when it is a cluster the test runs (`fits`: Kubernetes for the real-node
/// tests, plain Flatcar for the boot tests; one that does not is said on stderr), else `default`,
/// called `called`; with the name to say in messages.
pub fn scenario_cluster(
    called: &str,
    default: &clusterdef::Cluster,
    fits: fn(&clusterdef::Cluster) -> Result<(), &'static str>,
) -> (String, clusterdef::Cluster) {
    let Some(path) = std::env::var_os("CLUSTERDEF_SCENARIO_CLUSTER") else {
        return (called.to_string(), default.clone());
    };
    let path = PathBuf::from(path);
    let shown = path.display().to_string();
    let base = clusterdef_build::input::base_dir(&path);
    match clusterdef_build::input::load(&path, &shown, &base, false) {
        Ok(checked) => match fits(checked.cluster()) {
            Ok(()) => (shown, checked.into_cluster()),
            Err(why) => {
                eprintln!("CLUSTERDEF_SCENARIO_CLUSTER: {shown} {why}; this test runs {called}");
                (called.to_string(), default.clone())
            }
        },
        Err(clusterdef_build::input::Failure::Io(why)) => panic!("CLUSTERDEF_SCENARIO_CLUSTER: {why}"),
        Err(clusterdef_build::input::Failure::Invalid { rendered, .. }) => {
            panic!("CLUSTERDEF_SCENARIO_CLUSTER: {shown} is refused:\n{rendered}")
        }
    }
}

/// etcd's membership from `etcdctl member list -w json`: (name, is learner) of each member.
pub fn members_listed(json: &str) -> std::collections::BTreeSet<(String, bool)> {
    let list: serde_json::Value = serde_json::from_str(json).expect("member list JSON");
    list["members"]
        .as_array()
        .expect("members")
        .iter()
        .map(|m| (m["name"].as_str().unwrap_or_default().to_string(), m["isLearner"].as_bool().unwrap_or(false)))
        .collect()
}
