//! Rendered etcd2 configs booted on Debian's etcd 3.4, on loopback addresses.
//!
//! Each member's `coreos.etcd2` section becomes `ETCD_*` variables the way coreos-cloudinit makes
//! them (key upper-cased, `-` → `_`); the harness adds only a data directory and `ETCD_ENABLE_V2`,
//! which etcd 3.4 needs to serve the v2 API the etcd2-era proxy speaks. Every wait is bounded
//! and every process is stopped by its PID, also when a test fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterdef::render::{Context, cloud_config, yaml};
use clusterdef::{Cluster, Render, RenderOptions, cluster};

use crate::support::{NetNs, TempDir, entries, etcd_35, get, read_yaml_1_1, tool};

/// Production central services on loopback: five members dealt 2/2/1 across three cabinets,
/// each on its own address, and one worker running the etcd2 proxy.
static LOOPBACK: Cluster = cluster! {
    name: "loopback",
    production: true,
    network: { subnet: "127.0.0.0/8" },
    central: 5 across cabinets [a, b, c] { addresses: "127.0.1.11".."127.0.1.15" },
    workers: 1,
    allow(etcd_tls, reason = "quorum and proxy behaviour on loopback; TLS has its own test"),
};

/// The small cluster's layout on loopback: five machines, all members, across three zones.
static SMALL_LOOPBACK: Cluster = cluster! {
    name: "small-loopback",
    production: true,
    network: { subnet: "127.0.0.0/8" },
    machines: 5 across zones ["zone-a", "zone-b", "zone-c"] { addresses: "127.0.3.11".."127.0.3.15" },
    allow(etcd_tls, reason = "quorum behaviour on loopback; TLS has its own test"),
};

/// The dev/test layout on loopback: one etcd node.
static DEV_LOOPBACK: Cluster = cluster! {
    name: "dev-loopback",
    network: { subnet: "127.0.0.0/8" },
    etcd_node: "127.0.4.11",
};

/// A layout the rules reject, accepted on purpose: three members over two cabinets.
static RISKY: Cluster = cluster! {
    name: "risky",
    network: { subnet: "127.0.0.0/8" },
    central: 3 across cabinets [a, b] { addresses: "127.0.2.11".."127.0.2.13" },
    allow(failure_domain_quorum, reason = "shows what losing the larger cabinet does"),
};

/// One etcd process started from a rendered config.
struct Process {
    env: Vec<(String, String)>,
    /// Arguments (the gateway's subcommand and flags; members take none).
    args: Vec<String>,
    /// The host directory etcd-member's wrapper mounts at `/etc/ssl/certs` in the container.
    ssl_dir: Option<PathBuf>,
    /// The `ExecStartPre=` lines of the drop-ins the config puts on etcd's unit, run before
    /// each start as systemd runs them (CoreOS).
    pre: Vec<String>,
    child: Option<Child>,
    log: PathBuf,
}

/// The processes of one test; all are killed when it is dropped.
struct Etcd {
    etcd: PathBuf,
    etcdctl: PathBuf,
    /// `--cacert`, `--cert`, `--key` for etcdctl against a TLS cluster.
    client_tls: Vec<String>,
    /// The network namespace every process and client runs in, if the test made one.
    netns: Option<String>,
    /// The user etcd runs as (`User=` of the OS's unit), if not root.
    user: Option<&'static str>,
    dir: TempDir,
    processes: BTreeMap<String, Process>,
    clients: BTreeMap<String, String>,
}

impl Drop for Etcd {
    fn drop(&mut self) {
        for p in self.processes.values_mut() {
            if let Some(mut child) = p.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

/// The `ETCD_*` variables coreos-cloudinit would write for a parsed `coreos.etcd2` section.
fn cloudinit_env(etcd2: &serde_json::Value) -> Vec<(String, String)> {
    entries(etcd2)
        .into_iter()
        .map(|(k, v)| {
            let value = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
            (format!("ETCD_{}", k.to_uppercase().replace('-', "_")), value)
        })
        .collect()
}

impl Etcd {
    /// Reads the rendered configs of `cluster` and prepares a process per etcd2 section.
    fn from_render(cluster: &Cluster, tag: &str) -> Etcd {
        let ctx = Context::new(cluster, &RenderOptions::default()).expect("the cluster checks");
        let docs = cloud_config::documents(&ctx);
        let texts: Vec<String> = docs.iter().map(|(_, d)| yaml::document("#cloud-config", d)).collect();
        let parsed = read_yaml_1_1(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let dir = TempDir::new(&format!("etcd-{tag}"));
        let mut processes = BTreeMap::new();
        let mut clients = BTreeMap::new();
        for ((path, _), value) in docs.iter().zip(&parsed) {
            let Some(etcd2) = get(value, &["coreos", "etcd2"]) else { continue };
            let mut env = cloudinit_env(etcd2);
            let proxy = get(etcd2, &["proxy"]).is_some();
            let name = match get(etcd2, &["name"]).and_then(|v| v.as_str()) {
                Some(n) => n.to_string(),
                None => {
                    format!("proxy-{}", Path::new(path).file_stem().map(|s| s.to_string_lossy()).unwrap_or_default())
                }
            };
            env.push(("ETCD_DATA_DIR".to_string(), dir.path().join(&name).display().to_string()));
            env.push(("ETCD_ENABLE_V2".to_string(), "true".to_string()));
            if !proxy {
                let client = env.iter().find(|(k, _)| k == "ETCD_ADVERTISE_CLIENT_URLS").map(|(_, v)| v.clone());
                clients.insert(name.clone(), client.expect("members advertise a client URL"));
            }
            let log = dir.path().join(format!("{name}.log"));
            // The drop-ins on etcd2's start command, as coreos-cloudinit writes them.
            let pre: Vec<String> = get(value, &["coreos", "units"])
                .and_then(|u| u.as_array())
                .into_iter()
                .flatten()
                .filter(|u| get(u, &["name"]).and_then(|n| n.as_str()) == Some("etcd2.service"))
                .flat_map(|u| get(u, &["drop-ins"]).and_then(|d| d.as_array()).cloned().unwrap_or_default())
                .flat_map(|d| {
                    let content = get(&d, &["content"]).and_then(|c| c.as_str()).unwrap_or_default().to_string();
                    content
                        .lines()
                        .filter_map(|l| l.strip_prefix("ExecStartPre="))
                        .map(str::to_string)
                        .collect::<Vec<_>>()
                })
                .collect();
            processes.insert(name, Process { env, args: Vec::new(), ssl_dir: None, pre, child: None, log });
        }
        Etcd {
            etcd: tool("etcd"),
            etcdctl: tool("etcdctl"),
            client_tls: Vec::new(),
            netns: None,
            user: None,
            dir,
            processes,
            clients,
        }
    }

    /// Applies each Flatcar config with real Ignition and prepares a process per applied
    /// etcd unit: a member from Flatcar's etcd-member defaults overridden by the applied drop-in
    /// (the wrapper's own variables included: etcd only logs them as unrecognised), with its data
    /// directory and TLS directory where the wrapper would put them; a gateway from the applied
    /// unit's command line, from the etcd binary on.
    fn from_applied(cluster: &Cluster, tag: &str) -> Etcd {
        use crate::applied::{apply_all, systemd_environment, words};
        use clusterdef::render::ignition::{ETCD_DROPIN, GATEWAY_UNIT};
        let dir = TempDir::new(&format!("etcd-applied-{tag}"));
        let mut processes = BTreeMap::new();
        let mut clients = BTreeMap::new();
        for (config, tree) in apply_all(tag, cluster) {
            let dropin = tree.read(&format!("/etc/systemd/system/etcd-member.service.d/{ETCD_DROPIN}"));
            let gateway = tree.read(&format!("/etc/systemd/system/{GATEWAY_UNIT}"));
            let (name, process) = match (dropin, gateway) {
                (Some(dropin), None) => {
                    let mut env = systemd_environment(&[crate::applied::ETCD_MEMBER_UNIT, &dropin]);
                    let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.clone());
                    let name = get("ETCD_NAME").expect("the drop-in names the member");
                    let client = get("ETCD_ADVERTISE_CLIENT_URLS").expect("members advertise a client URL");
                    let ssl_dir = get("ETCD_SSL_DIR").map(PathBuf::from).filter(|d| d != Path::new("/etc/ssl/certs"));
                    env.retain(|(k, _)| k != "ETCD_DATA_DIR");
                    env.push(("ETCD_DATA_DIR".into(), dir.path().join(&name).display().to_string()));
                    clients.insert(name.clone(), client);
                    (
                        name,
                        Process { env, args: Vec::new(), ssl_dir, pre: Vec::new(), child: None, log: PathBuf::new() },
                    )
                }
                (None, Some(unit)) => {
                    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).expect("ExecStart");
                    let argv = words(exec);
                    let from = argv.iter().position(|w| w == "/usr/local/bin/etcd").expect("runs etcd") + 1;
                    let name = format!(
                        "gateway-{}",
                        Path::new(&config).file_stem().map(|s| s.to_string_lossy()).unwrap_or_default()
                    );
                    (
                        name,
                        Process {
                            env: Vec::new(),
                            args: argv[from..].to_vec(),
                            ssl_dir: None,
                            pre: Vec::new(),
                            child: None,
                            log: PathBuf::new(),
                        },
                    )
                }
                other => panic!("{config}: a Flatcar machine runs etcd-member or a gateway, got {other:?}"),
            };
            let log = dir.path().join(format!("{name}.log"));
            processes.insert(name, Process { log, ..process });
        }
        // Flatcar's etcd-member runs the 3.5 release its drop-in pins, and so do these.
        Etcd {
            etcd: etcd_35("etcd"),
            etcdctl: etcd_35("etcdctl"),
            client_tls: Vec::new(),
            netns: None,
            user: None,
            dir,
            processes,
            clients,
        }
    }

    /// Runs etcd as `user` from now on, as CoreOS's `etcd2.service` does (`User=etcd`), with each
    /// data directory belonging to it as the image's own does (`/var/lib/etcd2`); the scratch
    /// directory holding them is opened to it, as `/var/lib` is.
    fn as_user(&mut self, user: &'static str) {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(self.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("open the scratch");
        for p in self.processes.values() {
            let data = p.env.iter().find(|(k, _)| k == "ETCD_DATA_DIR").map(|(_, v)| PathBuf::from(v));
            let data = data.expect("a data directory");
            std::fs::create_dir_all(&data).expect("the data directory");
            let out = Command::new(tool("chown")).arg(format!("{user}:{user}")).arg(&data).output().expect("chown");
            assert!(out.status.success(), "the image's data directory: {}", String::from_utf8_lossy(&out.stderr));
        }
        self.user = Some(user);
    }

    /// The drop-ins' `ExecStartPre=` lines of process `name`, run as systemd runs them for a unit
    /// with `User=user`: as the user, or as root with `+`; a failure stops the start unless `-`.
    fn run_pre(&self, name: &str, user: &str) {
        for line in &self.processes[name].pre {
            let flags: String = line.chars().take_while(|c| "-+@:!".contains(*c)).collect();
            let argv = crate::applied::words(&line[flags.len()..]);
            let mut command = if flags.contains('+') {
                Command::new(&argv[0])
            } else {
                let mut c = Command::new(tool("setpriv"));
                c.args(["--reuid", user, "--regid", user, "--init-groups", "--"]).arg(&argv[0]);
                c
            };
            let out = command.args(&argv[1..]).output().expect("run ExecStartPre");
            assert!(
                out.status.success() || flags.contains('-'),
                "{name}: ExecStartPre={line} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    /// A command for `program`, run inside the test's network namespace when it has one.
    fn command(&self, program: &Path) -> Command {
        match &self.netns {
            Some(ns) => {
                let mut c = Command::new(tool("ip"));
                c.args(["netns", "exec", ns]).arg(program);
                c
            }
            None => Command::new(program),
        }
    }

    fn start(&mut self, name: &str) {
        if let Some(user) = self.user {
            self.run_pre(name, user);
        }
        // etcd-member's wrapper mounts ETCD_SSL_DIR read-only at /etc/ssl/certs in the container;
        // a private mount namespace does the same for this process alone.
        let ssl_dir = self.processes.get(name).expect("known process").ssl_dir.clone();
        let mut command = match (&ssl_dir, self.user) {
            (None, Some(user)) => {
                let mut c = self.command(&tool("setpriv"));
                c.args(["--reuid", user, "--regid", user, "--init-groups", "--"]).arg(&self.etcd);
                c
            }
            _ => match &ssl_dir {
                Some(dir) => {
                    let mut c = self.command(&tool("unshare"));
                    c.args(["--mount", "--propagation", "private", "sh", "-c"])
                        .arg("mount --bind -o ro \"$1\" /etc/ssl/certs && shift && exec \"$@\"")
                        .arg("sh")
                        .arg(dir)
                        .arg(&self.etcd);
                    c
                }
                None => self.command(&self.etcd),
            },
        };
        let p = self.processes.get_mut(name).expect("known process");
        let log = std::fs::OpenOptions::new().create(true).append(true).open(&p.log).expect("log file");
        let child = command
            .args(&p.args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .envs(p.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.try_clone().expect("log")))
            .stderr(Stdio::from(log))
            .spawn()
            .expect("start etcd");
        p.child = Some(child);
    }

    /// Stops a process by its PID (SIGKILL: a lost machine does not shut down cleanly).
    fn kill(&mut self, name: &str) {
        if let Some(mut child) = self.processes.get_mut(name).and_then(|p| p.child.take()) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn etcdctl(&self, api: &str, endpoints: &[&str], args: &[&str]) -> Option<String> {
        self.etcdctl_as(&self.client_tls, api, endpoints, args)
    }

    /// etcdctl with these TLS flags (none, a CA only, or a client certificate).
    fn etcdctl_as(&self, tls: &[String], api: &str, endpoints: &[&str], args: &[&str]) -> Option<String> {
        self.etcdctl_said(tls, api, endpoints, args).ok()
    }

    /// etcdctl's output when it succeeds, else what it printed on stderr.
    fn etcdctl_said(&self, tls: &[String], api: &str, endpoints: &[&str], args: &[&str]) -> Result<String, String> {
        let out = self
            .command(&self.etcdctl)
            .env_clear()
            .env("ETCDCTL_API", api)
            .arg(format!("--endpoints={}", endpoints.join(",")))
            .args(tls)
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        if out.status.success() { Ok(stdout.into_owned()) } else { Err(format!("{stderr}{stdout}")) }
    }

    fn members_running(&self) -> Vec<&str> {
        self.clients
            .keys()
            .filter(|n| self.processes.get(*n).is_some_and(|p| p.child.is_some()))
            .map(String::as_str)
            .collect()
    }

    fn running_endpoints(&self) -> Vec<&str> {
        self.members_running().into_iter().map(|n| self.clients[n].as_str()).collect()
    }

    /// Whether a write through the running members succeeds within `within`.
    fn write_succeeds(&self, key: &str, within: Duration) -> bool {
        let endpoints = self.running_endpoints();
        let deadline = Instant::now() + within;
        loop {
            if self.etcdctl("3", &endpoints, &["--command-timeout=2s", "put", key, "written"]).is_some() {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(300));
        }
    }

    /// Waits until every running member reports healthy.
    fn wait_healthy(&self, within: Duration) {
        let deadline = Instant::now() + within;
        let endpoints = self.running_endpoints();
        while self.etcdctl("3", &endpoints, &["--command-timeout=2s", "endpoint", "health"]).is_none() {
            assert!(
                Instant::now() < deadline,
                "members {:?} not healthy within {within:?}; logs in {}",
                endpoints,
                self.dir.path().display()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The member that leads, by name, from `etcdctl endpoint status`.
    fn leader(&self) -> Option<String> {
        let endpoints = self.running_endpoints();
        let out = self.etcdctl("3", &endpoints, &["--command-timeout=2s", "endpoint", "status", "--write-out=json"])?;
        let statuses: serde_json::Value = serde_json::from_str(&out).ok()?;
        let leading =
            statuses.as_array()?.iter().find(|s| s["Status"]["leader"] == s["Status"]["header"]["member_id"])?;
        let endpoint = leading["Endpoint"].as_str()?;
        self.clients.iter().find(|(_, url)| url.as_str() == endpoint).map(|(name, _)| name.clone())
    }

    fn start_members(&mut self) {
        let names: Vec<String> = self.clients.keys().cloned().collect();
        for name in &names {
            self.start(name);
        }
        self.wait_healthy(Duration::from_secs(30));
    }
}

/// The members of each failure domain, from the plan.
fn members_by_domain(cluster: &Cluster) -> BTreeMap<String, Vec<String>> {
    let plan = cluster.plan();
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for m in plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines) {
        out.entry(m.domain.clone().expect("members are spread")).or_default().push(m.hostname.clone());
    }
    out
}

/// Kills each failure domain in turn and compares the outcome with the plan's prediction.
fn each_domain_loss_matches_the_plan(etcd: &mut Etcd, cluster: &Cluster) -> usize {
    let plan = cluster.plan();
    let domains = members_by_domain(cluster);
    for loss in &plan.domain_losses {
        let members = &domains[&loss.domain];
        assert_eq!(members.len() as u32, loss.members_lost);
        for m in members {
            etcd.kill(m);
        }
        let key = format!("/clusterdef/without-{}", loss.domain);
        // A kept quorum may first elect a new leader (a few seconds); a lost one never answers.
        let wrote =
            etcd.write_succeeds(&key, if loss.keeps_quorum { Duration::from_secs(20) } else { Duration::from_secs(6) });
        assert_eq!(
            wrote,
            loss.keeps_quorum,
            "losing {} {} ({} of {} members): the plan says keeps_quorum={}, etcd disagreed",
            loss.kind.key(),
            loss.domain,
            loss.members_lost,
            plan.etcd.members,
            loss.keeps_quorum
        );
        for m in members {
            etcd.start(m);
        }
        etcd.wait_healthy(Duration::from_secs(30));
    }
    plan.domain_losses.len()
}

/// The rendered worker proxy listens on 127.0.0.1:2379; tests that start one take turns.
static PROXY_PORT: std::sync::Mutex<()> = std::sync::Mutex::new(());

#[test]
fn production_layout_keeps_quorum_without_any_cabinet_and_workers_proxy_v2_writes() {
    let _port = PROXY_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let mut etcd = Etcd::from_render(&LOOPBACK, "production");
    assert_eq!(etcd.clients.len(), 5);
    etcd.start_members();
    assert!(etcd.write_succeeds("/clusterdef/healthy", Duration::from_secs(10)), "a healthy cluster accepts a write");
    let plan = LOOPBACK.plan();
    assert!(plan.domain_losses.iter().all(|l| l.keeps_quorum), "the rules passed, so every cabinet may go");
    assert_eq!(each_domain_loss_matches_the_plan(&mut etcd, &LOOPBACK), 3);

    // The worker's proxy, from its own rendered config, forwards a v2 write to the members.
    let proxy = etcd.processes.keys().find(|n| n.starts_with("proxy-")).cloned().expect("a worker proxy");
    etcd.start(&proxy);
    let local = "http://127.0.0.1:2379";
    let deadline = Instant::now() + Duration::from_secs(20);
    while etcd.etcdctl("2", &[local], &["set", "/clusterdef/proxied", "through-the-proxy"]).is_none() {
        assert!(
            Instant::now() < deadline,
            "the proxy did not forward a v2 write; logs in {}",
            etcd.dir.path().display()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
    let member = etcd.clients.values().next().cloned().expect("a member");
    let read = etcd.etcdctl("2", &[&member], &["get", "/clusterdef/proxied"]).expect("read from a member");
    assert_eq!(read.trim(), "through-the-proxy");

    let recovery = leader_loss_and_rejoin(&mut etcd);
    println!("production: writes resumed {recovery:?} after the leader was killed");
}

#[test]
fn accepted_risk_loses_quorum_where_the_plan_says() {
    let plan = RISKY.plan();
    let verdicts: Vec<(String, bool)> = plan.domain_losses.iter().map(|l| (l.domain.clone(), l.keeps_quorum)).collect();
    assert_eq!(verdicts, [("a".to_string(), false), ("b".to_string(), true)]);
    let mut etcd = Etcd::from_render(&RISKY, "risky");
    etcd.start_members();
    assert_eq!(each_domain_loss_matches_the_plan(&mut etcd, &RISKY), 2);
}

/// Kills the leader, measures how long until a write succeeds again, restarts it from its
/// rendered config and shows it rejoins and serves a linearizable read.
fn leader_loss_and_rejoin(etcd: &mut Etcd) -> Duration {
    let leader = etcd.leader().expect("a leader");
    etcd.kill(&leader);
    let start = Instant::now();
    assert!(
        etcd.write_succeeds("/clusterdef/after-leader", Duration::from_secs(20)),
        "writes resume without the leader"
    );
    let recovery = start.elapsed();
    let new_leader = etcd.leader().expect("a new leader");
    assert_ne!(new_leader, leader);
    etcd.start(&leader);
    etcd.wait_healthy(Duration::from_secs(30));
    let endpoint = etcd.clients[&leader].clone();
    let read = etcd.etcdctl(
        "3",
        &[&endpoint],
        &["--command-timeout=5s", "get", "/clusterdef/after-leader", "--print-value-only"],
    );
    assert_eq!(read.as_deref().map(str::trim), Some("written"), "the restarted member serves the write it missed");
    recovery
}

#[test]
fn small_layout_survives_each_zone_and_its_leader() {
    let mut etcd = Etcd::from_render(&SMALL_LOOPBACK, "small");
    etcd.start_members();
    assert_eq!(each_domain_loss_matches_the_plan(&mut etcd, &SMALL_LOOPBACK), 3);
    let recovery = leader_loss_and_rejoin(&mut etcd);
    println!("small: writes resumed {recovery:?} after the leader was killed");
}

#[test]
fn dev_node_loss_stops_writes_as_the_plan_says_and_it_rejoins() {
    let plan = DEV_LOOPBACK.plan();
    assert_eq!(plan.etcd.tolerates, 0);
    let mut etcd = Etcd::from_render(&DEV_LOOPBACK, "dev");
    etcd.start_members();
    assert!(etcd.write_succeeds("/clusterdef/dev", Duration::from_secs(10)));
    let node = etcd.clients.keys().next().cloned().expect("the node");
    etcd.kill(&node);
    let endpoint = etcd.clients[&node].clone();
    assert!(etcd.etcdctl("3", &[&endpoint], &["--command-timeout=2s", "put", "/clusterdef/dev", "lost"]).is_none());
    etcd.start(&node);
    etcd.wait_healthy(Duration::from_secs(30));
    let read =
        etcd.etcdctl("3", &[&endpoint], &["--command-timeout=5s", "get", "/clusterdef/dev", "--print-value-only"]);
    assert_eq!(read.as_deref().map(str::trim), Some("written"), "the node restarts from its config with its data");
}

/// A seed cluster moved onto loopback: its member layout as declared (counts, domains), with
/// addresses from `127.0.<octet>.11` and plain http (TLS has its own test).
fn on_loopback(seed: &Cluster, octet: u8) -> Cluster {
    use std::borrow::Cow;
    let mut cluster = seed.clone();
    let members = cluster.members.fixed_count().expect("seed members are fixed") as u8;
    cluster.members.addressing = clusterdef::Addressing::Range {
        first: std::net::Ipv4Addr::new(127, 0, octet, 11),
        last: std::net::Ipv4Addr::new(127, 0, octet, 10 + members),
    };
    cluster.network = Some(loopback_network());
    cluster.bootstrap = clusterdef::Bootstrap::Static;
    cluster.tls = None;
    let mut allows = cluster.allows.to_vec();
    allows.push(clusterdef::Allow {
        rule: clusterdef::Rule::EtcdTls,
        reason: Cow::Borrowed("quorum behaviour on loopback"),
    });
    // Loopback is one network, so zones that were networks of their own now share it; the PXE
    // pools are not booted here.
    if cluster.pools.iter().any(|p| matches!(p.boot, clusterdef::Boot::Pxe { .. })) {
        allows.push(clusterdef::Allow {
            rule: clusterdef::Rule::PxeBootNetwork,
            reason: Cow::Borrowed("the etcd members on one loopback network"),
        });
    }
    cluster.allows = Cow::Owned(allows);
    cluster
}

#[test]
fn large_scale_layout_survives_each_zone_and_its_leader() {
    let cluster = on_loopback(&clusterdef_examples::seed::LARGE_SCALE, 7);
    assert_eq!(cluster.check().map_err(|v| v.to_string()), Ok(()));
    let mut etcd = Etcd::from_render(&cluster, "large");
    etcd.start_members();
    assert_eq!(each_domain_loss_matches_the_plan(&mut etcd, &cluster), 3);
    let recovery = leader_loss_and_rejoin(&mut etcd);
    println!("large_scale: writes resumed {recovery:?} after the leader was killed");
}

/// The loopback network, where the tests run every member.
fn loopback_network() -> clusterdef::Network {
    clusterdef::Network {
        interface: std::borrow::Cow::Borrowed("lo"),
        ..clusterdef::Network::new("127.0.0.0/8".parse().expect("subnet"))
    }
}
pub mod change;
mod renewal;
mod tls;
