//! One booted machine: its disk (an overlay on the boot root, Flatcar's own files, its
//! first-boot config applied by real Ignition) and, while it runs, its systemd as PID 1.

use super::*;

/// Flatcar's etcd wrapper (`/usr/lib/flatcar/etcd-wrapper`, coreos-overlay
/// `app-admin/etcd-wrapper`) as far as the rendered configs rely on it: a `--name` flag wins
/// over `ETCD_NAME`; the host data directory is made, owned by the etcd user, and seen inside
/// as `/var/lib/etcd`; `ETCD_SSL_DIR` is mounted at `/etc/ssl/certs`; every `ETCD_*` variable of
/// the unit's environment is handed to the container; etcd's readiness reaches systemd (Flatcar
/// relays it with `sdnotify-proxy`; here the container is handed systemd's socket, under `/run`).
const ETCD_WRAPPER: &str = include_str!("../emulated/etcd-wrapper");

/// The test-only `docker`: `run` of the etcd image (v3.5) becomes the local etcd 3.5 with the
/// same arguments, only the environment the options give, the `-v` mounts and the `-u` user;
/// `stop`, `rm` and `kill` act on what it started by `--name`. Anything else is refused.
const DOCKER: &str = include_str!("../emulated/docker");

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
            if Instant::now() >= deadline {
                let jobs = self.sh("systemctl list-jobs --no-pager").1;
                // What each unit still starting said last: why it waits.
                let journals: Vec<String> = jobs
                    .lines()
                    .filter_map(|line| {
                        let fields: Vec<&str> = line.split_whitespace().collect();
                        (fields.len() == 4 && fields[3] == "running").then(|| fields[1].to_string())
                    })
                    .map(|unit| self.sh(&format!("journalctl --no-pager -n 25 -u {unit}")).1)
                    .collect();
                panic!(
                    "{} did not finish booting ({state}): {jobs}\n{}\n{}",
                    self.hostname,
                    journals.join("\n"),
                    self.console()
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Whether the machine runs (booted and not powered off since).
    pub fn is_running(&self) -> bool {
        self.nspawn.is_some()
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

    /// Applies `config` by real Ignition again over the machine's own disk, powered off, as
    /// Flatcar does at the next boot once `/boot/flatcar/first_boot` exists: every file the
    /// config names is written again (`overwrite: true`), and what it does not name (etcd's data)
    /// stays.
    pub fn apply_again(&mut self, tag: &str, config: &str) {
        assert!(self.nspawn.is_none(), "{tag}: {} is applied again powered off", self.hostname);
        let stage = self.dir.path().join("stage-again");
        let _ = std::fs::remove_dir_all(&stage);
        crate::applied::ignite_again(&format!("{tag}-{}-again", self.hostname), config, &self.root(), &stage);
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
