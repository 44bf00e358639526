//! Machines that boot: every Flatcar machine of a rendered cluster started with systemd as PID 1
//! (`systemd-nspawn -b`) in its own network namespace, on a private bridge, from a
//! copy-on-write root (an overlay on a minimal Debian root built once by
//! `scripts/build-boot-root.sh`) with Flatcar's own files the configs rely on, after real
//! Ignition applied its first-boot config. What the boots must show is read from inside the
//! running machines (`systemctl`, `networkctl`, `hostname`, `ip`, etcdctl, through `nsenter`
//! into the machine's namespaces), and the plug is pulled per failure domain: every machine of
//! the domain killed at once (its PID 1, no clean shutdown), the cluster asked for a write and a
//! linearizable read, then the machines booted again from the same disks.
//!
//! What is emulated (docs/rendering.md says it too): Flatcar runs etcd in a container
//! (`docker run … quay.io/coreos/etcd:v3.5.x`); here a test-only `/usr/bin/docker` runs the local
//! etcd 3.5 with the same arguments, the environment of its `--env-file` and `-e` alone, its `-v`
//! mounts bound in a mount namespace of its own and its `-u` user, and refuses any other image or
//! option. The workload units of the seeds, the guide's containers, become units that leave a
//! mark under `/run/marks` (same names, placement and `[Install]` handling); a host `.mount` of
//! a block device no container has mounts a tmpfs at the same place.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterdef::{Cluster, Ipv4Net, Plan, Render, UnitBody, cluster};

use crate::applied::{ETCD_MEMBER_UNIT, ignite};
use crate::support::{Lan, TempDir, target_dir, tool};

/// Flatcar's etcd wrapper (`/usr/lib/flatcar/etcd-wrapper`, coreos-overlay
/// `app-admin/etcd-wrapper`) as far as the rendered configs rely on it: a `--name` flag wins
/// over `ETCD_NAME`; the host data directory is made, owned by the etcd user, and seen inside
/// as `/var/lib/etcd`; `ETCD_SSL_DIR` is mounted at `/etc/ssl/certs`; every `ETCD_*` variable of
/// the unit's environment is handed to the container; etcd's readiness reaches systemd (Flatcar
/// relays it with `sdnotify-proxy`; here the container is handed systemd's socket, under `/run`).
const ETCD_WRAPPER: &str = include_str!("emulated/etcd-wrapper");

/// The test-only `docker`: `run` of the etcd image (v3.5) becomes the local etcd 3.5 with the
/// same arguments, only the environment the options give, the `-v` mounts and the `-u` user;
/// `stop`, `rm` and `kill` act on what it started by `--name`. Anything else is refused.
const DOCKER: &str = include_str!("emulated/docker");

/// The boot root's path, built (once, cached by its recipe) by the project's script.
pub fn base_root() -> PathBuf {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/build-boot-root.sh");
    let out = Command::new("bash").arg(&script).env("CARGO_TARGET_DIR", target_dir()).output().expect("run the script");
    assert!(out.status.success(), "build-boot-root.sh: {}", String::from_utf8_lossy(&out.stderr));
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

fn run(program: &str, args: &[&str]) {
    let out = Command::new(tool(program)).args(args).output().expect("run");
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Writes `text` at `path` in the machine root `root` (directories made), with `mode`: the bed's
/// own files and Flatcar's that the boot root lacks.
pub fn put_file(root: &Path, path: &str, text: &str, mode: u32) {
    let file = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("directories");
    std::fs::write(&file, text).expect("a file of the bed");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// One machine: its disk (an overlay on the boot root) and, while it runs, its systemd.
pub struct Machine {
    /// Its hostname, as the plan names it.
    pub hostname: String,
    dir: TempDir,
    netns: String,
    nspawn: Option<Child>,
    leader: u32,
    /// Set when the machine runs a kubelet: what `systemd-nspawn` gives it beside the defaults
    /// (the bed's binds), and the v1 cgroup hierarchy a kubelet needs here (see `nodes`).
    node: Option<Vec<String>>,
}

impl Machine {
    /// The machine's disk, with Flatcar's own files and its first-boot config applied by real
    /// Ignition; `files` (its share of a PKI) installed as docs/kubernetes.md tells the operator.
    pub fn install(tag: &str, hostname: &str, config: &str, netns: &str, files: Option<&Path>) -> Machine {
        let dir = TempDir::new(&format!("boot-{tag}-{hostname}"));
        let (upper, work, merged) = (dir.path().join("upper"), dir.path().join("work"), dir.path().join("root"));
        for d in [&upper, &work, &merged] {
            std::fs::create_dir_all(d).expect("machine directories");
        }
        let options =
            format!("lowerdir={},upperdir={},workdir={}", base_root().display(), upper.display(), work.display());
        run("mount", &["-t", "overlay", "overlay", "-o", &options, &merged.display().to_string()]);
        let machine = Machine {
            hostname: hostname.to_string(),
            dir,
            netns: netns.to_string(),
            nspawn: None,
            leader: 0,
            node: None,
        };
        put_file(&merged, "/usr/lib/systemd/system/etcd-member.service", ETCD_MEMBER_UNIT, 0o644);
        put_file(&merged, "/usr/lib/flatcar/etcd-wrapper", ETCD_WRAPPER, 0o755);
        put_file(&merged, "/usr/bin/docker", DOCKER, 0o755);
        ignite(&format!("{tag}-{hostname}"), config, &merged, &machine.dir.path().join("stage"));
        // A root every account can traverse, as an image's is (the temporary directory is not).
        run("chmod", &["755", &merged.display().to_string()]);
        if let Some(files) = files {
            // As docs/kubernetes.md tells the operator; the rendered etcd-member drop-in gives
            // etcd its key.
            crate::support::install_pki(files, &merged);
        }
        machine
    }

    /// The machine's disk, as its root directory (the overlay's merged view).
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// A directory of the machine's own on the host's disk (beside its overlay), for what must
    /// not live on an overlay (containerd's snapshots).
    pub fn host_dir(&self, name: &str) -> PathBuf {
        let dir = self.dir.path().join(name);
        std::fs::create_dir_all(&dir).expect("a host directory of the machine");
        dir
    }

    /// Makes the machine one that runs a kubelet from its next boot: booted with the v1 cgroup
    /// hierarchy, a cgroup of its own in each v1 hierarchy, every capability, no system call
    /// filter, `/dev/kmsg`, and `binds` (`--bind…=` arguments of `systemd-nspawn`).
    pub fn run_as_node(&mut self, binds: Vec<String>) {
        self.node = Some(binds);
    }

    /// Starts systemd as PID 1 on the machine's disk, in its network namespace.
    pub fn boot(&mut self) {
        let log = std::fs::File::create(self.dir.path().join("console.log")).expect("console log");
        let name = format!("{}-{}", self.hostname, std::process::id());
        // A cgroup of its own (in every hierarchy for a node): with `--keep-unit` the
        // container's systemd makes its slices in the cgroup nspawn runs in, and machines
        // sharing one remove each other's; a kubelet would share `kubepods` with the others.
        let cgroups = self.cgroups();
        for cgroup in &cgroups {
            std::fs::create_dir_all(cgroup).expect("the machine's cgroup");
            // cpuset takes no process before it has CPUs and memory nodes.
            for file in ["cpuset.cpus", "cpuset.mems"] {
                if let Some(parent) = cgroup.parent()
                    && let Ok(value) = std::fs::read_to_string(parent.join(file))
                {
                    std::fs::write(cgroup.join(file), value).expect("the machine's cpuset");
                }
            }
        }
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("pid=$$; n=$1; shift; while [ $n -gt 0 ]; do echo $pid >\"$1/cgroup.procs\" || exit 1; shift; n=$((n-1)); done; exec \"$@\"")
            .arg("sh")
            .arg(cgroups.len().to_string())
            .args(&cgroups)
            .arg(tool("systemd-nspawn"))
            .args(["--quiet", "--boot", "--register=no", "--keep-unit"]);
        match &self.node {
            // The unified cgroup hierarchy inside, as Flatcar has: with the v1 controllers a
            // host may still mount, systemd inside fails to place units now and then.
            None => {
                command.env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "1").arg("--capability=CAP_NET_ADMIN");
            }
            // The v1 hierarchy: this kernel offers its controllers on v1 only, and a pod's
            // cgroup needs them (nodes::bed says why, and what else a kubelet needs here).
            Some(binds) => {
                command
                    .env("SYSTEMD_NSPAWN_UNIFIED_HIERARCHY", "0")
                    .env("SYSTEMD_SECCOMP", "0")
                    .args(["--capability=all", "--bind-ro=/dev/kmsg"])
                    .args(binds);
            }
        }
        let child = command
            .arg(format!("--machine={name}"))
            .arg(format!("--network-namespace-path=/run/netns/{}", self.netns))
            .arg(format!("--directory={}", self.root().display()))
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("run systemd-nspawn");
        let nspawn = child.id();
        self.nspawn = Some(child);
        // The container's PID 1: nspawn's child that is PID 1 in its own PID namespace (nspawn
        // forks helpers too).
        let deadline = Instant::now() + Duration::from_secs(30);
        let is_init = |pid: &u32| {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            status.lines().any(|l| l.starts_with("NSpid:") && l.split_whitespace().last() == Some("1"))
        };
        self.leader = loop {
            let children =
                std::fs::read_to_string(format!("/proc/{nspawn}/task/{nspawn}/children")).unwrap_or_default();
            if let Some(pid) = children.split_whitespace().filter_map(|p| p.parse().ok()).find(is_init) {
                break pid;
            }
            assert!(Instant::now() < deadline, "{}: systemd-nspawn started nothing: {}", self.hostname, self.console());
            std::thread::sleep(Duration::from_millis(50));
        };
    }

    /// The machine's own cgroup, in the unified hierarchy (beside a hybrid host's v1 ones).
    fn cgroup(&self) -> PathBuf {
        let unified = Path::new("/sys/fs/cgroup/unified");
        let root = if unified.join("cgroup.procs").is_file() { unified } else { Path::new("/sys/fs/cgroup") };
        root.join(format!("clusterdef-boot-{}-{}", self.hostname, std::process::id()))
    }

    /// Every cgroup of the machine: the unified one, and for a node one in each v1 hierarchy
    /// the host mounts (`name=systemd` among them).
    fn cgroups(&self) -> Vec<PathBuf> {
        let mut out = vec![self.cgroup()];
        if self.node.is_some() {
            let name = out[0].file_name().expect("a name").to_owned();
            for entry in std::fs::read_dir("/sys/fs/cgroup").into_iter().flatten().flatten() {
                let path = entry.path();
                if path.join("cgroup.procs").is_file() && path.join(&name) != out[0] && !path.ends_with("unified") {
                    out.push(path.join(&name));
                }
            }
        }
        out
    }

    /// What the machine printed on its console.
    pub fn console(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("console.log")).unwrap_or_default()
    }

    /// Runs `script` with `/bin/sh` inside the machine (all its namespaces): whether it
    /// succeeded, and what it printed.
    pub fn sh(&self, script: &str) -> (bool, String) {
        let out = self.sh_output(script);
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text.trim().to_string())
    }

    /// Like [`Machine::sh`], but a success answers with stdout alone: what a program prints
    /// on stderr while it succeeds (etcdctl's retry warnings) is not part of its answer.
    pub fn sh_answer(&self, script: &str) -> (bool, String) {
        let out = self.sh_output(script);
        if out.status.success() {
            return (true, String::from_utf8_lossy(&out.stdout).trim().to_string());
        }
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (false, text.trim().to_string())
    }

    fn sh_output(&self, script: &str) -> std::process::Output {
        Command::new(tool("nsenter"))
            .args(["-t", &self.leader.to_string(), "-a", "/bin/sh", "-c", script])
            .output()
            .expect("run nsenter")
    }

    /// Waits until systemd has finished booting (`running`, or `degraded` when a unit failed),
    /// and says which.
    pub fn wait_booted(&self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            let (_, state) = self.sh("systemctl is-system-running");
            if state == "running" || state == "degraded" {
                return state;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not finish booting ({state}): {}\n{}",
                self.hostname,
                self.sh("systemctl list-jobs --no-pager").1,
                self.console()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Pulls the plug: SIGKILL to the machine's PID 1, which takes every process of it along.
    pub fn pull_plug(&mut self) {
        if let Some(mut child) = self.nspawn.take() {
            let _ = Command::new("kill").args(["-9", &self.leader.to_string()]).status();
            // The kernel kills the rest of the machine before its PID 1 is gone, and nspawn
            // exits after that: once it has, nothing of the machine answers any more.
            let deadline = Instant::now() + Duration::from_secs(30);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
            // Whatever of the machine is left (a helper taken for its PID 1), killed with its
            // cgroup.
            let _ = std::fs::write(self.cgroup().join("cgroup.kill"), "1");
            // The links the machine made (a node's flannel.1 and cni0) go with it, as on a
            // machine that loses power; its network namespace, which the bed keeps for its
            // wire (eth0), would otherwise hand them to the next boot.
            let out = Command::new(tool("ip")).args(["-n", &self.netns, "-o", "link", "show"]).output();
            let listed = out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default();
            for name in listed.lines().filter_map(|l| l.split(": ").nth(1)).map(|n| n.split('@').next().unwrap_or(n)) {
                if name != "lo" && name != "eth0" {
                    // A veth's peer goes with it: one already gone is no error.
                    let _ = Command::new(tool("ip")).args(["-n", &self.netns, "link", "del", name]).output();
                }
            }
        }
    }

    /// Whether the machine is running.
    pub fn is_up(&self) -> bool {
        self.nspawn.is_some()
    }
}

impl Drop for Machine {
    fn drop(&mut self) {
        self.pull_plug();
        // Its cgroups, innermost first (each is empty once the machine is gone).
        let mut dirs = Vec::new();
        let mut stack = self.cgroups();
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                if entry.file_type().is_ok_and(|t| t.is_dir()) {
                    stack.push(entry.path());
                }
            }
            dirs.push(dir);
        }
        for dir in dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
        let _ = Command::new(tool("umount")).arg("-l").arg(self.root()).status();
    }
}

/// The cluster as the boot test bed runs it: each workload unit a mark under `/run/marks` (its
/// name, placement and `[Install]` handling kept), and a host `.mount` of a block device a tmpfs
/// at the same place (no container has the disk).
pub fn bootable(cluster: &Cluster) -> Cluster {
    let mut out = cluster.clone();
    let mark = |name: &str| {
        UnitBody::Inline(
            format!("[Unit]\nDescription={name}, as the boot tests run it\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'mkdir -p /run/marks && echo %n >/run/marks/%n'\n").into(),
        )
    };
    out.units = cluster.units.iter().map(|u| clusterdef::Unit { body: mark(&u.name), ..u.clone() }).collect();
    let tmpfs = |host: &clusterdef::HostConfig| {
        let mut host = host.clone();
        host.units = host
            .units
            .iter()
            .map(|u| {
                let mut u = u.clone();
                if let Some(text) = u.body.as_ref().map(UnitBody::text).filter(|t| t.contains("What=/dev/"))
                    && u.name.ends_with(".mount")
                {
                    let body: String = text
                        .lines()
                        .map(|l| match l.split_once('=') {
                            Some(("What", _)) => "What=tmpfs".to_string(),
                            Some(("Type", _)) => "Type=tmpfs".to_string(),
                            _ => l.to_string(),
                        })
                        .map(|l| l + "\n")
                        .collect();
                    u.body = Some(UnitBody::Inline(body.into()));
                }
                u
            })
            .collect();
        host
    };
    out.host = tmpfs(&cluster.host);
    out.members.host = tmpfs(&cluster.members.host);
    out.pools = cluster.pools.iter().map(|p| clusterdef::Group { host: tmpfs(&p.host), ..p.clone() }).collect();
    out
}

/// A booted cluster: its network and machines, by hostname.
pub struct Booted {
    /// The plan of the cluster booted.
    pub plan: Plan,
    /// The machines, by hostname.
    pub machines: BTreeMap<String, Machine>,
    _pki: Option<TempDir>,
    /// The DHCP server of the machines without a static address (dnsmasq on the hub).
    dhcp: Option<(Child, TempDir)>,
    _lan: Lan,
}

impl Drop for Booted {
    fn drop(&mut self) {
        self.machines.clear();
        if let Some((mut dnsmasq, _)) = self.dhcp.take() {
            let _ = dnsmasq.kill();
            let _ = dnsmasq.wait();
        }
    }
}

impl Booted {
    /// Renders `cluster` (which must give every machine a config of its own and a static
    /// address), installs each machine, and boots them all.
    pub fn boot(tag: &str, cluster: &Cluster) -> Booted {
        let artifacts = cluster.render().expect("the cluster renders");
        let mut booted = Booted::install(tag, cluster, &artifacts);
        booted.start_all(Duration::from_secs(120));
        booted
    }

    /// Boots every machine, and waits until each has finished booting.
    pub fn start_all(&mut self, within: Duration) {
        for machine in self.machines.values_mut() {
            machine.boot();
        }
        for machine in self.machines.values() {
            machine.wait_booted(within);
        }
    }

    /// Installs every machine of `cluster` from `artifacts` (its render) on its network, with
    /// its share of the PKI, ready to boot.
    pub fn install(tag: &str, cluster: &Cluster, artifacts: &clusterdef::Artifacts) -> Booted {
        let plan = cluster.plan();
        let machines = machines_of(&plan);
        let network = cluster.network.as_ref().expect("a network");
        // A segment per subnet: the cluster's, and each domain's that has one of its own; the
        // hub is each one's gateway (or a host address of it) and routes between them.
        let mut segments: Vec<(Ipv4Net, String, Vec<String>)> =
            vec![(network.subnet, gateway_of(network.subnet, network.gateway), Vec::new())];
        for d in network.domains.iter() {
            segments.push((d.subnet, gateway_of(d.subnet, d.gateway), Vec::new()));
        }
        for (hostname, _, domain) in &machines {
            let own = network.domains.iter().position(|d| Some(d.name.as_ref()) == domain.as_deref());
            segments[own.map_or(0, |i| i + 1)].2.push(hostname.clone());
        }
        let lan = Lan::segmented(
            tag,
            &segments.iter().map(|(net, hub, names)| (hub.clone(), net.prefix, names.clone())).collect::<Vec<_>>(),
        );
        let pki = (cluster.tls.is_some() || cluster.kubernetes.is_some()).then(|| {
            let dir = TempDir::new(&format!("boot-{tag}-pki"));
            clusterdef_pki::generate(cluster).expect("the PKI").write_to(&dir.path().join("pki")).expect("written");
            dir
        });
        // Machines without a static address take one from DHCP, as on a LAN with a DHCP server.
        let dhcp = plan.groups.iter().any(|g| g.machines.is_empty() || g.machines.iter().any(|m| m.address.is_none()));
        let dhcp = dhcp.then(|| {
            let dir = TempDir::new(&format!("boot-{tag}-dhcp"));
            // The top of each segment's subnet, which the declarations leave to DHCP.
            let mut ranges = Vec::new();
            let mut interfaces = Vec::new();
            // Only on segments with machines: a range of the cluster's wider subnet would also
            // match a domain's interface, and dnsmasq would hand out the wrong one there.
            for (j, (subnet, _, _)) in segments.iter().enumerate().filter(|(_, (_, _, names))| !names.is_empty()) {
                let broadcast = u32::from(subnet.addr) | (u32::MAX >> subnet.prefix);
                let (first, last) = (Ipv4Addr::from(broadcast - 60), Ipv4Addr::from(broadcast - 10));
                let mask = Ipv4Addr::from(u32::MAX << (32 - subnet.prefix));
                ranges.push(format!("--dhcp-range={first},{last},{mask},1h"));
                interfaces.push(format!("--interface=br{j}"));
            }
            let child = Command::new(tool("ip"))
                .args(["netns", "exec", &lan.hub])
                .arg(tool("dnsmasq"))
                .args(["--keep-in-foreground", "--port=0", "--no-resolv", "--no-hosts", "--bind-interfaces"])
                .args(interfaces)
                .arg("--dhcp-authoritative")
                .args(ranges)
                .arg(format!("--dhcp-leasefile={}", dir.path().join("leases").display()))
                .arg(format!("--pid-file={}", dir.path().join("pid").display()))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run dnsmasq");
            (child, dir)
        });
        let mut booted = Booted { plan, machines: BTreeMap::new(), _pki: None, dhcp, _lan: lan };
        for (hostname, config, _) in &machines {
            let text = artifacts.text(config).expect("the machine's config");
            // The PKI's tree for the machine, or for the pool whose config it boots from.
            let files = pki.as_ref().map(|d| {
                let own = d.path().join("pki/machines").join(hostname);
                let stem = config.rsplit('/').next().unwrap_or(config).trim_end_matches(".ign");
                if own.is_dir() { own } else { d.path().join("pki/pools").join(stem) }
            });
            let netns = booted._lan.machines[hostname].clone();
            let machine = Machine::install(tag, hostname, text, &netns, files.as_deref());
            booted.machines.insert(hostname.clone(), machine);
        }
        booted._pki = pki;
        booted
    }

    /// The machine named `hostname`.
    pub fn machine(&self, hostname: &str) -> &Machine {
        &self.machines[hostname]
    }

    /// The network namespace that routes between the machines' segments (the test's clients
    /// reach every machine from it).
    pub fn hub(&self) -> &str {
        &self._lan.hub
    }

    /// The PKI `clusterdef pki` wrote for the cluster, if it has TLS.
    pub fn pki(&self) -> Option<PathBuf> {
        self._pki.as_ref().map(|d| d.path().join("pki"))
    }
}

/// The hub's address on a segment: its gateway when the network names one, else the subnet's
/// last host address.
fn gateway_of(subnet: Ipv4Net, gateway: Option<Ipv4Addr>) -> String {
    match gateway {
        Some(g) => g.to_string(),
        None => Ipv4Addr::from((u32::from(subnet.addr) | (u32::MAX >> subnet.prefix)) - 1).to_string(),
    }
}

/// etcdctl (3.5) inside `machine`, against `endpoints`, with the machine's certificate when the
/// cluster has TLS; on success its stdout, which is all a reader of its JSON may be given.
fn etcdctl(cluster: &Cluster, machine: &Machine, endpoints: &str, command: &str) -> (bool, String) {
    let tls = cluster
        .tls
        .as_ref()
        .map_or_else(String::new, |t| format!(" --cacert={} --cert={} --key={}", t.ca, t.cert, t.key));
    machine.sh_answer(&format!("ETCDCTL_API=3 /opt/etcd-3.5/etcdctl --dial-timeout=3s --command-timeout=5s --endpoints={endpoints}{tls} {command}"))
}

/// The v2 API through `endpoints` (the gateway serves both).
fn etcdctl_v2(cluster: &Cluster, machine: &Machine, endpoints: &str, command: &str) -> (bool, String) {
    let tls = cluster
        .tls
        .as_ref()
        .map_or_else(String::new, |t| format!(" --ca-file={} --cert-file={} --key-file={}", t.ca, t.cert, t.key));
    machine
        .sh_answer(&format!("ETCDCTL_API=2 /opt/etcd-3.5/etcdctl --timeout=5s --endpoints={endpoints}{tls} {command}"))
}

/// Retries `check` until it holds or `within` passes; the last answer.
fn eventually(within: Duration, mut check: impl FnMut() -> (bool, String)) -> (bool, String) {
    let deadline = Instant::now() + within;
    loop {
        let (ok, text) = check();
        if ok || Instant::now() >= deadline {
            return (ok, text);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// The machines to boot, by name, with the config each boots from: every machine the plan
/// lists, and for an autoscaled pool one machine per config it has (per domain), named
/// `pool-` and the config's name. O(machines).
fn machines_of(plan: &Plan) -> Vec<(String, String, Option<String>)> {
    let mut out: Vec<(String, String, Option<String>)> = plan
        .groups
        .iter()
        .flat_map(|g| &g.machines)
        .map(|m| (m.hostname.clone(), m.config.clone(), m.domain.clone()))
        .collect();
    for group in plan.groups.iter().filter(|g| g.machines.is_empty()) {
        for (i, config) in group.configs.iter().enumerate() {
            let stem = config.rsplit('/').next().unwrap_or(config).trim_end_matches(".ign");
            // One config per domain, in the domains' order.
            let domain = (group.configs.len() == group.domains.len()).then(|| group.domains[i].clone());
            out.push((format!("pool-{stem}"), config.clone(), domain));
        }
    }
    out
}

/// Every unit the plan places on each machine, by hostname: `name` for a unit, each instance's
/// name for a template.
fn planned_units(cluster: &Cluster, plan: &Plan) -> BTreeMap<String, BTreeSet<String>> {
    let machines = machines_of(plan);
    // A config shared by several machines (PXE machines listed by MAC) runs its units on each.
    let mut hostnames_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (h, c, _) in &machines {
        hostnames_of.entry(c.as_str()).or_default().push(h.as_str());
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for unit in &plan.units {
        // A global template starts the same instances on each of its machines, which the plan
        // does not list one by one: the declaration's.
        let declared = cluster.units.iter().find(|u| u.name == unit.name.as_str());
        let every: Vec<String> = match declared {
            Some(u) if u.is_template() && u.global => u.instance_names(),
            _ => Vec::new(),
        };
        for (i, config) in unit.placed_configs.iter().enumerate() {
            let names = match unit.instances.get(i) {
                Some(instance) => vec![instance.clone()],
                None if !every.is_empty() => every.clone(),
                None => vec![unit.name.clone()],
            };
            for hostname in hostnames_of.get(config.as_str()).into_iter().flatten() {
                out.entry(hostname.to_string()).or_default().extend(names.iter().cloned());
            }
        }
    }
    out
}

/// What every boot must show: hostnames and addresses set by the machines themselves, machines
/// that reach each other, the planned units active where planned and nowhere else, one etcd
/// cluster of the planned members through `etcd-member.service`, and the workers' gateway
/// serving v2 and v3.
pub fn assert_booted_as_planned(name: &str, cluster: &Cluster, booted: &Booted) {
    let plan = &booted.plan;
    let prefix = cluster.network.as_ref().map(|n| n.subnet.prefix).unwrap_or(24);
    let members: Vec<&clusterdef::render::plan::MachinePlan> =
        plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines).collect();
    let client_urls: Vec<String> = plan.etcd.member_urls.iter().map(|m| m.client_url.clone()).collect();
    let planned_machines: BTreeMap<&str, &clusterdef::render::plan::MachinePlan> =
        plan.groups.iter().flat_map(|g| &g.machines).map(|m| (m.hostname.as_str(), m)).collect();
    for (hostname, machine) in &booted.machines {
        let planned = planned_machines.get(hostname.as_str());
        // A config shared by a pool (autoscaled, or PXE machines listed by MAC) names no host:
        // the machine keeps the name it booted with (the site's DHCP may give one).
        if planned.is_some_and(|p| p.config.ends_with(&format!("/{}.ign", p.hostname))) {
            assert_eq!(machine.sh("hostname").1, *hostname, "{name}: {hostname}'s hostname");
        }
        let domain = planned.and_then(|m| m.domain.as_deref());
        let segment_prefix = cluster
            .network
            .as_ref()
            .and_then(|n| n.domains.iter().find(|d| Some(d.name.as_ref()) == domain))
            .map_or(prefix, |d| d.subnet.prefix);
        let (_, addresses) = eventually(Duration::from_secs(30), || {
            let (ok, text) = machine.sh("ip -4 -o addr show dev eth0");
            (ok && text.contains("inet "), text)
        });
        match planned.and_then(|m| m.address) {
            // A static address: the declared one, from the rendered `.network` file.
            Some(address) => assert!(
                addresses.contains(&format!("inet {address}/{segment_prefix}")),
                "{name}: {hostname} has {addresses}, not {address}/{segment_prefix}"
            ),
            // DHCP, from Flatcar's catch-all network file.
            None => assert!(addresses.contains("dynamic"), "{name}: {hostname} has no DHCP address: {addresses}"),
        }
        let (_, status) = eventually(Duration::from_secs(30), || {
            let (ok, text) = machine.sh("networkctl --no-pager --no-legend list eth0");
            (ok && text.contains("configured") && !text.contains("configuring"), text)
        });
        assert!(status.contains("configured"), "{name}: networkd did not configure {hostname}'s eth0: {status}");
        // It reaches every member at its address.
        for member in &members {
            let to = member.address.expect("static");
            let (ok, _) =
                eventually(Duration::from_secs(20), || machine.sh(&format!("timeout 3 bash -c '</dev/tcp/{to}/2380'")));
            assert!(ok, "{name}: {hostname} does not reach {} at {to}", member.hostname);
        }
    }
    // The planned units, active where planned and nowhere else.
    let planned = planned_units(cluster, plan);
    let patterns: Vec<String> = plan.units.iter().map(|u| u.name.replace("@.", "@*.")).collect();
    for hostname in booted.machines.keys().filter(|_| !patterns.is_empty()) {
        let machine = booted.machine(hostname);
        let (_, listed) = machine
            .sh(&format!("systemctl list-units --state=active --plain --no-legend --no-pager {}", patterns.join(" ")));
        let active: BTreeSet<String> =
            listed.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
        let want = planned.get(hostname).cloned().unwrap_or_default();
        assert_eq!(active, want, "{name}: on {hostname}, active units against the plan");
        for unit in &want {
            let (_, mark) = machine.sh(&format!("cat /run/marks/{unit}"));
            assert_eq!(mark, *unit, "{name}: {unit} ran on {hostname}");
        }
    }
    // One etcd cluster of the planned members, through etcd-member.service.
    let endpoints = client_urls.join(",");
    let initial: Vec<String> = plan.etcd.member_urls.iter().map(|m| format!("{}={}", m.name, m.peer_url)).collect();
    let mut v2 = false;
    for member in &members {
        let machine = booted.machine(&member.hostname);
        // etcd's own environment, as the drop-in's `Environment=` lines reached it through
        // systemd, the wrapper and the container.
        let (_, environ) = machine.sh("tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value etcd-member)/environ");
        let env: BTreeMap<&str, &str> = environ.lines().filter_map(|l| l.split_once('=')).collect();
        // Whether the members serve the v2 API, as etcd's own environment says.
        v2 = env.get("ETCD_ENABLE_V2") == Some(&"true");
        let url = plan.etcd.member_urls.iter().find(|u| u.name == member.hostname).expect("a member");
        for (key, want) in [
            ("ETCD_NAME", member.hostname.as_str()),
            ("ETCD_INITIAL_CLUSTER", &initial.join(",")),
            ("ETCD_INITIAL_CLUSTER_TOKEN", cluster.name.as_ref()),
            ("ETCD_INITIAL_ADVERTISE_PEER_URLS", url.peer_url.as_str()),
            ("ETCD_ADVERTISE_CLIENT_URLS", url.client_url.as_str()),
        ] {
            assert_eq!(env.get(key).copied(), Some(want), "{name}: {key} in {}'s etcd: {environ}", member.hostname);
        }
        let (active, _) = machine.sh("systemctl is-active etcd-member.service");
        assert!(
            active,
            "{name}: etcd-member is not active on {}: {}",
            member.hostname,
            machine.sh("journalctl -u etcd-member --no-pager | tail -20").1
        );
    }
    let first = booted.machine(&members[0].hostname);
    let (ok, health) = eventually(Duration::from_secs(60), || etcdctl(cluster, first, &endpoints, "endpoint health"));
    assert!(ok, "{name}: the members are not healthy: {health}");
    let (_, list) = etcdctl(cluster, first, &endpoints, "member list");
    let names: BTreeSet<String> = list.lines().filter_map(|l| l.split(", ").nth(2)).map(str::to_string).collect();
    let planned_names: BTreeSet<String> = plan.etcd.member_urls.iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, planned_names, "{name}: the members etcd knows");
    // Each worker through its gateway, v3 and v2.
    let scheme = if cluster.tls.is_some() { "https" } else { "http" };
    let local = format!("{scheme}://127.0.0.1:2379");
    let member_names: BTreeSet<&str> = members.iter().map(|m| m.hostname.as_str()).collect();
    for (hostname, machine) in booted.machines.iter().filter(|(h, _)| !member_names.contains(h.as_str())) {
        let (active, _) = machine.sh("systemctl is-active etcd-gateway.service");
        assert!(active, "{name}: the gateway is not active on {hostname}");
        let key = format!("/boot/{hostname}");
        let (ok, text) =
            eventually(Duration::from_secs(30), || etcdctl(cluster, machine, &local, &format!("put {key} v3")));
        assert!(ok, "{name}: v3 through {hostname}'s gateway: {text}");
        let (ok, text) = etcdctl(cluster, machine, &local, &format!("get {key} --print-value-only"));
        assert!(ok && text == "v3", "{name}: v3 read through {hostname}'s gateway: {text}");
        // v2 when the members serve it (locksmith needs it), refused when they do not.
        let (ok, text) = etcdctl_v2(cluster, machine, &local, &format!("set {key}-v2 v2"));
        assert_eq!(ok, v2, "{name}: v2 through {hostname}'s gateway (the members serve v2: {v2}): {text}");
    }
}

/// The plug, per failure domain of the members (without domains, per member machine): every
/// machine of the domain killed at once; a survivor asked for a write and a linearizable read,
/// which succeed exactly when the plan says etcd keeps its quorum (with no member left, a
/// worker's gateway asked); the machines booted again from the same disks rejoin, and every
/// member is healthy.
pub fn pull_each_domains_plug(name: &str, cluster: &Cluster, booted: &mut Booted) {
    let client: BTreeMap<String, String> =
        booted.plan.etcd.member_urls.iter().map(|m| (m.name.clone(), m.client_url.clone())).collect();
    let all_endpoints: String = client.values().cloned().collect::<Vec<_>>().join(",");
    let in_domain: BTreeMap<String, Option<String>> =
        booted.plan.groups.iter().flat_map(|g| &g.machines).map(|m| (m.hostname.clone(), m.domain.clone())).collect();
    let (quorum, members) = (booted.plan.etcd.quorum, booted.plan.etcd.members);
    let plugs: Vec<(String, Vec<String>, bool)> = if booted.plan.domain_losses.is_empty() {
        client.keys().map(|m| (format!("machine {m}"), vec![m.clone()], members > quorum)).collect()
    } else {
        booted
            .plan
            .domain_losses
            .iter()
            .map(|loss| {
                let lost = in_domain
                    .iter()
                    .filter(|(_, d)| d.as_deref() == Some(loss.domain.as_str()))
                    .map(|(h, _)| h.clone())
                    .collect();
                (format!("{} {}", loss.kind.key(), loss.domain), lost, loss.keeps_quorum)
            })
            .collect()
    };
    let scheme = if cluster.tls.is_some() { "https" } else { "http" };
    for (what, lost, keeps_quorum) in &plugs {
        for hostname in lost {
            booted.machines.get_mut(hostname).expect("a machine").pull_plug();
        }
        let survivor = client.keys().find(|m| !lost.contains(m));
        let key = format!("/plug/{}", what.replace(' ', "-"));
        match survivor {
            Some(survivor) => {
                let machine = booted.machine(survivor);
                let endpoints: Vec<&str> =
                    client.iter().filter(|(n, _)| !lost.contains(n)).map(|(_, u)| u.as_str()).collect();
                let endpoints = endpoints.join(",");
                let put = format!("put {key} up");
                let (wrote, text) = if *keeps_quorum {
                    eventually(Duration::from_secs(30), || etcdctl(cluster, machine, &endpoints, &put))
                } else {
                    etcdctl(cluster, machine, &endpoints, &put)
                };
                assert_eq!(wrote, *keeps_quorum, "{name}: a write with {what} gone: {text}");
                let (read, text) = etcdctl(cluster, machine, &endpoints, &format!("get {key} --consistency=l"));
                assert_eq!(read, *keeps_quorum, "{name}: a linearizable read with {what} gone: {text}");
            }
            None => {
                // No member left: a worker's gateway has nothing to forward to.
                let worker = booted.machines.keys().find(|h| !lost.contains(h) && !client.contains_key(*h));
                if let Some(worker) = worker {
                    let local = format!("{scheme}://127.0.0.1:2379");
                    let (wrote, text) = etcdctl(cluster, booted.machine(worker), &local, &format!("put {key} up"));
                    assert!(!wrote, "{name}: a write through {worker}'s gateway with {what} gone: {text}");
                }
            }
        }
        for hostname in lost {
            booted.machines.get_mut(hostname).expect("a machine").boot();
        }
        for hostname in lost {
            booted.machine(hostname).wait_booted(Duration::from_secs(120));
        }
        let first = booted.machine(&booted.plan.etcd.member_urls[0].name);
        let (ok, health) =
            eventually(Duration::from_secs(90), || etcdctl(cluster, first, &all_endpoints, "endpoint health"));
        assert!(ok, "{name}: after {what} came back: {health}");
    }
}

#[test]
fn boots_the_flatcar_production_seed_and_pulls_each_cabinets_plug() {
    let (name, given) = crate::support::scenario_cluster(
        "the Flatcar production seed",
        &clusterdef_examples::seed::flatcar::PRODUCTION,
        boots_here,
    );
    if name != "the Flatcar production seed" {
        let _serial = crate::support::heavy();
        boot_and_unplug(&name, "scenario", &given);
        return;
    }
    let _serial = crate::support::heavy();
    let cluster = bootable(&clusterdef_examples::seed::flatcar::PRODUCTION);
    let started = Instant::now();
    let mut booted = Booted::boot("prod", &cluster);
    let boot_time = started.elapsed();
    assert_booted_as_planned("production", &cluster, &booted);
    // The host configuration ran at boot: the central machines' data mount.
    for m in booted.plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines) {
        let (mounted, _) = booted.machine(&m.hostname).sh("mountpoint -q /var/lib/data");
        assert!(mounted, "production: /var/lib/data is not mounted on {}", m.hostname);
    }
    pull_each_domains_plug("production", &cluster, &mut booted);
    eprintln!("production: 11 machines booted in {boot_time:?}, all checks and plugs in {:?}", started.elapsed());
    assert!(booted.machines.values().all(Machine::is_up));
}

/// Boots `cluster` as the test bed runs it (`bootable`), checks what every boot must show and
/// pulls each domain's plug; the machines, still running.
fn boot_and_unplug(name: &str, tag: &str, cluster: &Cluster) -> Booted {
    let cluster = bootable(cluster);
    let mut booted = Booted::boot(tag, &cluster);
    assert_booted_as_planned(name, &cluster, &booted);
    pull_each_domains_plug(name, &cluster, &mut booted);
    booted
}

#[test]
fn boots_the_flatcar_small_seed_and_pulls_each_zones_plug() {
    let _serial = crate::support::heavy();
    boot_and_unplug("small", "small", &clusterdef_examples::seed::flatcar::SMALL);
}

#[test]
fn boots_the_flatcar_devtest_seed_and_its_etcd_node_is_the_one_plug_that_stops_writes() {
    let _serial = crate::support::heavy();
    boot_and_unplug("devtest", "devtest", &clusterdef_examples::seed::flatcar::DEVTEST);
}

/// Host configuration at every scope, each piece with something to see at boot.
static HOSTED: Cluster = cluster! {
    // A space, a specifier and a `%` in the name, which reaches etcd-member's drop-in as the
    // cluster token.
    name: "hosted boot %n 100%",
    os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    host: {
        file "/etc/clusterdef-boot/cluster" { contents: "every machine\n" },
        unit "mark-host.service" {
            body: "[Unit]\nDescription=A host unit that leaves its mark\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'cat /etc/clusterdef-boot/cluster >/run/host-mark; echo \"$MARK\" >>/run/host-mark'\n\n[Install]\nWantedBy=multi-user.target\n",
        },
        dropin "mark-host.service" "10-mark.conf" { body: "[Service]\nEnvironment=\"MARK=set by a drop-in\"\n" },
        unit "systemd-logind.service" { mask },
    },
    machines: 3 across cabinets [a, b, c] {
        addresses: "10.0.0.11".."10.0.0.13",
        host_in: { a: { file "/etc/clusterdef-boot/cabinet" { contents: "a\n" } } },
    },
};

#[test]
fn boots_host_configuration_that_runs_shows_its_drop_in_and_stays_masked() {
    let _serial = crate::support::heavy();
    let booted = Booted::boot("hosted", &HOSTED);
    assert_booted_as_planned("hosted", &HOSTED, &booted);
    for m in booted.plan.groups.iter().flat_map(|g| &g.machines) {
        let machine = booted.machine(&m.hostname);
        let (active, _) = machine.sh("systemctl is-active mark-host.service");
        assert!(active, "hosted: the host unit did not run at boot on {}", m.hostname);
        assert_eq!(machine.sh("cat /run/host-mark").1, "every machine\nset by a drop-in", "on {}", m.hostname);
        let (_, environment) = machine.sh("systemctl show -p Environment --value mark-host.service");
        assert_eq!(environment, "\"MARK=set by a drop-in\"", "the drop-in's setting, as systemd shows it");
        let (active, state) = machine.sh("systemctl is-active systemd-logind.service");
        assert!(!active, "hosted: the masked unit runs on {}: {state}", m.hostname);
        assert_eq!(machine.sh("systemctl is-enabled systemd-logind.service").1, "masked");
        let cabinet = machine.sh("cat /etc/clusterdef-boot/cabinet");
        assert_eq!(cabinet.0, m.domain.as_deref() == Some("a"), "the cabinet's file only in cabinet a: {cabinet:?}");
    }
}

/// Whether the boot tests run a cluster given from outside: Flatcar without Kubernetes (the
/// real-node tests run those), on a network, at most 15 machines.
fn boots_here(cluster: &Cluster) -> Result<(), &'static str> {
    if cluster.kubernetes.is_some() {
        Err("runs Kubernetes (the real-node tests boot it)")
    } else if !bootable_here(cluster) || cluster.os != clusterdef::Os::Flatcar {
        Err("is no Flatcar cluster on a network of at most 15 machines")
    } else {
        Ok(())
    }
}

/// Whether the test bed boots `cluster` as it is: at most 15 machines at once (an autoscaled
/// pool counted as one machine per config).
fn bootable_here(cluster: &Cluster) -> bool {
    machines_of(&cluster.plan()).len() <= 15 && cluster.network.is_some()
}

#[test]
fn boots_random_flatcar_clusters_as_their_plans_say() {
    let _serial = crate::support::heavy();
    let (first, count) = crate::readback::seed_range(2);
    let mut seed = first;
    for _ in 0..count {
        let (cluster, drawn) = loop {
            let (cluster, drawn) = clusterdef::synthetic::random_flatcar_cluster(seed);
            seed = drawn.wrapping_add(1);
            if bootable_here(&cluster) {
                break (cluster, drawn);
            }
        };
        let name =
            format!("random Flatcar cluster drawn from seed {drawn} (replay with CLUSTERDEF_READBACK_SEED={first})");
        boot_and_unplug(&name, &format!("random-{}", drawn % 100_000), &cluster);
    }
}

#[test]
fn boots_the_flatcar_large_scale_seed_across_routed_zones_and_pulls_each_zones_plug() {
    let _serial = crate::support::heavy();
    let cluster = &clusterdef_examples::seed::flatcar::LARGE_SCALE;
    assert!(bootable_here(cluster));
    boot_and_unplug("large-scale", "large", cluster);
}
mod change;
