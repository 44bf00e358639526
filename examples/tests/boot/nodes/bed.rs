//! A booted machine made a Kubernetes node as a Flatcar machine is one: Flatcar's containerd
//! (its unit, its configuration, runc and the CNI plugins) and docker.service, then what the
//! bed must add because the machine is a systemd-nspawn container on this host and not a
//! Flatcar machine, each file saying why (docs/kubernetes.md, "Proven on real nodes"):
//!
//! - `clusterdef-test-node-prep.service`: writable v1 cgroup controllers and `/proc/sys/net`,
//!   and the three kernel settings the kubelet writes shown with the values it wants;
//! - `clusterdef-test-images.service`: the images the test made, imported before the kubelet
//!   starts (nothing can be pulled here);
//! - a kubelet drop-in: the v1 cgroup hierarchy (`failCgroupV1: false`, the cgroupfs driver, in
//!   a KubeletConfiguration drop-in directory), and the kubelet after the images;
//! - a second KubeletConfiguration drop-in: no disk eviction thresholds and no image garbage
//!   collection (every machine's disk is the host's one disk, shared with the build);
//! - on the first member, kube-proxy's `--conntrack-max-per-core=0` (a network namespace may
//!   not write `nf_conntrack_max`; a Flatcar machine's kube-proxy does), and the same in NEW's
//!   kube-proxy manifest that a Kubernetes upgrade applies (`kube_proxy_in_a_container`).
//!
//! Everything else is the render's, applied by real Ignition, and the PKI as docs/kubernetes.md
//! tells the operator to install it.

use std::path::Path;
use std::process::Command;

use super::images::Software;
use crate::machines::{Machine, put_file};

/// Flatcar's own files (the bed's stand-ins): containerd's unit and configuration, docker's unit.
const CONTAINERD_UNIT: &str = include_str!("flatcar/containerd.service");
const CONTAINERD_CONFIG: &str = include_str!("flatcar/config.toml");
const DOCKER_UNIT: &str = include_str!("flatcar/docker.service");
/// The bed's own units (each says why).
const PREP_UNIT: &str = include_str!("bed/clusterdef-test-node-prep.service");
const PREP_SCRIPT: &str = include_str!("bed/clusterdef-test-node-prep");
const IMAGES_UNIT: &str = include_str!("bed/clusterdef-test-images.service");

/// The kubelet's configuration drop-in directory, which the bed's kubelet drop-in names.
const KUBELET_CONF_D: &str = "/etc/kubernetes/kubelet.conf.d";

/// The cgroup settings of the v1 hierarchy, as a KubeletConfiguration drop-in.
const KUBELET_V1: &str = "# The boot test bed's, not the render's: this host's kernel offers its cgroup controllers on\n# the v1 hierarchy only (a Flatcar machine runs v2), so the kubelet is told to run there and\n# to manage cgroups itself (cgroupfs), as containerd's runc is.\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nfailCgroupV1: false\ncgroupDriver: cgroupfs\n";

/// The disk settings: every machine here keeps its files and images on the host's one disk,
/// which the cargo target, Go's caches and the other machines fill. The kubelets read its free
/// space as their node's, so a host with less than 15% free (the default `imagefs.available`)
/// would taint every node `disk-pressure` and evict the workloads, and one over 85% used would
/// have the kubelets delete the imported images, which nothing here can pull again. A Flatcar
/// node's disk is its own, so the render keeps Kubernetes' defaults. `0%` is how the kubelet is
/// told a threshold does not apply; every disk signal is named so no default comes back.
const KUBELET_DISK: &str = "# The boot test bed's, not the render's: the node's disk is the host's one disk, shared with\n# the build and every other machine; its free space says nothing of this node.\napiVersion: kubelet.config.k8s.io/v1beta1\nkind: KubeletConfiguration\nevictionHard:\n  memory.available: \"100Mi\"\n  nodefs.available: \"0%\"\n  nodefs.inodesFree: \"0%\"\n  imagefs.available: \"0%\"\n  imagefs.inodesFree: \"0%\"\nimageGCHighThresholdPercent: 100\n";

fn link(root: &Path, path: &str, target: &str) {
    let file = root.join(path.trim_start_matches('/'));
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("directories");
    let _ = std::fs::remove_file(&file);
    std::os::unix::fs::symlink(target, &file).expect("a link");
}

/// The host's inotify limits, raised for machines that share one kernel: each kubelet, its
/// cAdvisor and each machine's systemd take inotify instances, which the kernel counts per user
/// across every machine here (128 by default: the eleventh machine's kubelet fails "too many open
/// files"), where each Flatcar machine has a kernel of its own. Only raised, never lowered.
pub fn raise_host_inotify_limits() {
    for (file, wanted) in
        [("/proc/sys/fs/inotify/max_user_instances", 8192u64), ("/proc/sys/fs/inotify/max_user_watches", 1_048_576)]
    {
        let now: u64 = std::fs::read_to_string(file).ok().and_then(|t| t.trim().parse().ok()).unwrap_or(0);
        if now < wanted {
            std::fs::write(file, wanted.to_string()).expect("the host's inotify limit (the tests run as root)");
        }
    }
}

/// Fails, saying why, unless the disk under the test's temporary directory has room for
/// `machines` nodes of which `members` import the control plane's images too: each node's
/// containerd unpacks every image it imports (`made`'s unpacked sizes; the archive's layer is
/// dropped once unpacked, `--discard-unpacked-layers`) and its root keeps its changes (the
/// journal, etcd's data, the pods' logs: `ROOT_CHANGES`). A full disk would otherwise show only
/// as pods that never start.
pub fn assert_room_for(machines: usize, members: usize, made: &super::images::Made) {
    const ROOT_CHANGES: u64 = 256 << 20;
    let need = machines as u64 * (made.unpacked_all + ROOT_CHANGES) + members as u64 * made.unpacked_members;
    let out = Command::new("df").args(["--output=avail", "-B1"]).arg(std::env::temp_dir()).output().expect("run df");
    let free: u64 =
        String::from_utf8_lossy(&out.stdout).lines().nth(1).and_then(|l| l.trim().parse().ok()).unwrap_or(0);
    eprintln!(
        "{machines} nodes need about {} MiB under the temporary directory; {} MiB are free",
        need >> 20,
        free >> 20
    );
    assert!(
        free >= need,
        "{machines} nodes need about {} MiB free under {} (their images unpacked, their roots' changes); {} MiB are",
        need >> 20,
        std::env::temp_dir().display(),
        free >> 20
    );
}

/// Fails with the import's journal unless `machine` (booted) imported the bed's images: a node
/// without them would show only as pods that never start.
pub fn assert_images_imported(machine: &Machine) {
    let (active, _) = machine.sh("systemctl is-active --quiet clusterdef-test-images.service");
    if !active {
        let (_, said) = machine.sh("journalctl --no-pager -n 20 -u clusterdef-test-images.service");
        panic!("{}: the bed's images were not imported:\n{said}", machine.hostname);
    }
}

/// kube-proxy's manifest `text` with `--conntrack-max-per-core=0` beside its flags: a network
/// namespace may not write `nf_conntrack_max`, which a Flatcar machine's kube-proxy does.
pub fn kube_proxy_in_a_container(text: &str) -> String {
    let flag = "--metrics-bind-address=0.0.0.0";
    let line = text.lines().find(|l| l.contains(flag)).expect("kube-proxy's flags").to_string();
    let added = line.replace(flag, "--conntrack-max-per-core=0");
    text.replace(&line, &format!("{line}\n{added}"))
}

/// Where the bed binds the built software inside every node: each Kubernetes release under its
/// version (`KUBERNETES_BIN/v1.36.3`), where the emulated `docker run` of a kubelet image finds it.
pub const KUBERNETES_BIN: &str = "/opt/clusterdef-test/kubernetes";
const NODE_BIN: &str = "/opt/clusterdef-test/node";
const IMAGES: &str = "/opt/clusterdef-test/images";

/// Makes `machine` (installed, not booted) a node from its next boot. `images` holds `all/`
/// and, for members, `members/` (images::make); `first_member` gets kube-proxy's exception.
pub fn prepare(machine: &mut Machine, software: &Software, images: &Path, member: bool, first_member: bool) {
    let root = machine.root();
    // Flatcar's containerd and runc in /usr/bin, enabled; the CNI plugins where containerd
    // looks; docker.service for the units that require it.
    for binary in ["containerd", "ctr", "containerd-shim-runc-v2", "runc"] {
        link(&root, &format!("/usr/bin/{binary}"), &format!("{NODE_BIN}/bin/{binary}"));
    }
    for plugin in ["bridge", "host-local", "loopback", "portmap"] {
        link(&root, &format!("/opt/cni/bin/{plugin}"), &format!("{NODE_BIN}/cni/{plugin}"));
    }
    put_file(&root, "/usr/lib/systemd/system/containerd.service", CONTAINERD_UNIT, 0o644);
    put_file(&root, "/usr/share/containerd/config.toml", CONTAINERD_CONFIG, 0o644);
    put_file(&root, "/usr/lib/systemd/system/docker.service", DOCKER_UNIT, 0o644);
    link(&root, "/usr/lib/systemd/system/multi-user.target.wants/containerd.service", "../containerd.service");
    // The bed's own.
    put_file(&root, "/etc/systemd/system/clusterdef-test-node-prep.service", PREP_UNIT, 0o644);
    put_file(&root, "/usr/local/sbin/clusterdef-test-node-prep", PREP_SCRIPT, 0o755);
    link(
        &root,
        "/etc/systemd/system/containerd.service.requires/clusterdef-test-node-prep.service",
        "../clusterdef-test-node-prep.service",
    );
    put_file(&root, "/etc/systemd/system/clusterdef-test-images.service", IMAGES_UNIT, 0o644);
    link(
        &root,
        "/etc/systemd/system/multi-user.target.wants/clusterdef-test-images.service",
        "../clusterdef-test-images.service",
    );
    put_file(&root, &format!("{KUBELET_CONF_D}/90-clusterdef-test-cgroup-v1.conf"), KUBELET_V1, 0o644);
    put_file(&root, &format!("{KUBELET_CONF_D}/91-clusterdef-test-disk.conf"), KUBELET_DISK, 0o644);
    // The kubelet as rendered, with the drop-in directory named.
    let unit = std::fs::read_to_string(root.join("etc/systemd/system/kubelet.service")).expect("the rendered kubelet");
    let start = unit.lines().find(|l| l.starts_with("ExecStart=")).expect("the kubelet's ExecStart");
    put_file(
        &root,
        "/etc/systemd/system/kubelet.service.d/90-clusterdef-test-bed.conf",
        &format!(
            "# The boot test bed's, not the render's: the kubelet starts once the bed's images are\n# imported, and reads the bed's cgroup v1 and disk settings ({KUBELET_CONF_D}).\n[Unit]\nAfter=clusterdef-test-images.service\nWants=clusterdef-test-images.service\n\n[Service]\nExecStart=\n{start} --config-dir={KUBELET_CONF_D}\n"
        ),
        0o644,
    );
    if first_member {
        let proxy = root.join("etc/kubernetes/bootstrap/02-kube-proxy.yaml");
        if let Ok(text) = std::fs::read_to_string(&proxy) {
            std::fs::write(&proxy, kube_proxy_in_a_container(&text)).expect("kube-proxy's manifest");
        }
    }
    let mut binds: Vec<String> = software
        .releases
        .iter()
        .map(|release| {
            let version = release.file_name().expect("target/control-plane/VERSION").to_string_lossy();
            format!("--bind-ro={}:{KUBERNETES_BIN}/{version}", release.display())
        })
        .collect();
    binds.extend([
        format!("--bind-ro={}:{NODE_BIN}", software.node.display()),
        format!("--bind-ro={}:{IMAGES}/all", images.join("all").display()),
        format!("--bind={}:/var/lib/containerd", machine.host_dir("containerd").display()),
    ]);
    if member {
        binds.push(format!("--bind-ro={}:{IMAGES}/members", images.join("members").display()));
    }
    machine.run_as_node(binds);
}
