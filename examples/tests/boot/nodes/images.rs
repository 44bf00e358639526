//! Images without a registry: every image a render names, made by the test as an OCI archive
//! from binaries built here (`scripts/build-control-plane.sh`, `scripts/build-node-software.sh`),
//! under the name the render gives it. A name the bed cannot make fails the test; nothing is
//! pulled and nothing is skipped.
//!
//! | image (as rendered) | what it holds |
//! |---|---|
//! | `registry.k8s.io/pause:3.10.2` (containerd's sandbox) | the project's pause program |
//! | `registry.k8s.io/kube-{apiserver,controller-manager,scheduler,proxy}:VERSION` | the binary of that release at `/usr/local/bin`; kube-proxy with iptables |
//! | flannel (`docker.io/flannel/flannel:TAG`) | flanneld of that release at `/opt/bin/flanneld`, `cp`, iptables |
//! | flannel's CNI plugin (`docker.io/flannel/flannel-cni-plugin:TAG`) | the flannel CNI plugin at `/flannel` (from containernetworking/plugins: flannel's own repository is not served here), `cp` |
//! | CoreDNS (`registry.k8s.io/coredns/coredns:vX`) | CoreDNS of that release at `/coredns` |
//! | every workload's declared image | the test's HTTP server, answering on the workload's declared ports, also at its command's first word |

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use clusterdef::Cluster;

/// Where the built binaries are.
pub struct Software {
    /// The Kubernetes release's binaries (`target/control-plane/VERSION`).
    pub kubernetes: PathBuf,
    /// Every release a node may run (this one first; an upgrade's NEW release beside it), each
    /// bound on the nodes under its version (`bed::KUBERNETES_BIN`).
    pub releases: Vec<PathBuf>,
    /// The node software (`target/node-software`): `bin/` and `cni/`.
    pub node: PathBuf,
    /// The boot test bed's Debian root, whose userland (`cp`, iptables) images that need one
    /// carry.
    pub root: PathBuf,
}

impl Software {
    /// The binaries for `version`, built (or found built) by the project's scripts, which cache
    /// them: the test runs them rather than assume they are there.
    pub fn built(version: &str) -> Software {
        let scripts = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts");
        let run = |script: &str, args: &[&str]| {
            let out = Command::new("bash")
                .arg(scripts.join(script))
                .args(args)
                .env("CARGO_TARGET_DIR", crate::support::target_dir())
                .output()
                .expect("run the build script");
            assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
            PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
        };
        let kubernetes = run("build-control-plane.sh", &[version]);
        let node = run("build-node-software.sh", &[]).parent().expect("OUT/bin").to_path_buf();
        Software { releases: vec![kubernetes.clone()], kubernetes, node, root: crate::machines::base_root() }
    }

    fn bin(&self, name: &str) -> String {
        self.node.join("bin").join(name).display().to_string()
    }

    fn kube(&self, name: &str) -> String {
        self.kubernetes.join(name).display().to_string()
    }
}

/// One image to make: its name and the `oci_image.py` arguments that make it.
struct Recipe {
    name: String,
    args: Vec<String>,
}

/// A version string a binary prints, or the failure.
fn version_of(binary: &str, flag: &str) -> String {
    let out = Command::new(binary).arg(flag).output().expect("run a built binary");
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every image the render names, from its manifests and static pods (`image:` lines), plus
/// containerd's sandbox image.
pub fn named_images(artifacts: &clusterdef::Artifacts) -> BTreeSet<String> {
    let mut out = BTreeSet::from(["registry.k8s.io/pause:3.10.2".to_string()]);
    for (path, bytes) in artifacts {
        if !path.starts_with("kubernetes/") {
            continue;
        }
        for line in String::from_utf8_lossy(bytes).lines() {
            let line = line.trim_start().trim_start_matches("- ");
            if let Some(value) = line.strip_prefix("image: ") {
                out.insert(value.trim().trim_matches('"').to_string());
            }
        }
    }
    out
}

/// The recipe of each image `names` holds, or why the bed cannot make one.
fn recipes(cluster: &Cluster, names: &BTreeSet<String>, software: &Software) -> Result<Vec<Recipe>, String> {
    let version = cluster.kubernetes.as_ref().map(|k| k.version.to_string()).unwrap_or_default();
    // The workloads' images: the test's server, answering on the workload's ports.
    let mut workloads: BTreeMap<String, (BTreeSet<u16>, BTreeSet<String>)> = BTreeMap::new();
    for unit in cluster.units.iter() {
        if let Some(c) = &unit.container {
            let entry = workloads.entry(c.image.to_string()).or_default();
            entry.0.extend(c.ports.iter().copied());
            if let Some(first) = c.command.first() {
                entry.1.insert(first.to_string());
            }
        }
    }
    // The server listens on every port its image's units declare, so two containers of one pod
    // running one such image would both listen on them: the bed cannot stand in for an image
    // that listens on what each container is told.
    for w in cluster.workloads() {
        let mut seen = BTreeSet::new();
        for &u in &w.containers {
            let Some(image) = cluster.units[u].container.as_ref().map(|c| c.image.to_string()) else { continue };
            if !seen.insert(image.clone()) && workloads.get(&image).is_some_and(|(ports, _)| !ports.is_empty()) {
                return Err(format!(
                    "{image}: two containers of `{}`'s pods run it and it has ports; the bed's server would listen on them in both",
                    w.name
                ));
            }
        }
    }
    let iptables = || {
        ["iptables", "iptables-save", "iptables-restore", "ip6tables", "ip6tables-save", "ip6tables-restore"]
            .iter()
            .map(|n| format!("@/usr/sbin/{n}:/usr/sbin/{n}"))
            .chain(["@/bin/cp:/bin/cp".to_string()])
            .collect::<Vec<_>>()
    };
    let mut out = Vec::new();
    for name in names {
        let (repository, tag) = name.rsplit_once(':').unwrap_or((name, "latest"));
        let mut files: Vec<String> = Vec::new();
        let mut entrypoint: Vec<String> = Vec::new();
        let mut user = "0:0".to_string();
        let mut env: Vec<String> = Vec::new();
        let mut libs = false;
        let component = repository.strip_prefix("registry.k8s.io/");
        match component {
            Some("pause") if tag == "3.10.2" => {
                files.push(format!("{}:/pause", software.bin("pause")));
                entrypoint.push("/pause".into());
                user = "65535:65535".into();
            }
            Some(c @ ("kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "kube-proxy")) => {
                if tag != version {
                    return Err(format!("{name}: only {version} is built here"));
                }
                files.push(format!("{}:/usr/local/bin/{c}", software.kube(c)));
                entrypoint.push(format!("/usr/local/bin/{c}"));
                if c == "kube-proxy" {
                    files.extend(iptables());
                    libs = true;
                }
            }
            Some("coredns/coredns") => {
                let built = version_of(&software.bin("coredns"), "-version");
                if !built.contains(&format!("CoreDNS-{}", tag.trim_start_matches('v'))) {
                    return Err(format!("{name}: the CoreDNS built here is {built}"));
                }
                files.push(format!("{}:/coredns", software.bin("coredns")));
                entrypoint.push("/coredns".into());
            }
            _ if repository == "docker.io/flannel/flannel" => {
                let built = version_of(&software.bin("flannel"), "--version");
                if built.trim() != tag {
                    return Err(format!("{name}: the flanneld built here is {built}"));
                }
                files.push(format!("{}:/opt/bin/flanneld", software.bin("flannel")));
                files.extend(iptables());
                entrypoint.push("/opt/bin/flanneld".into());
                libs = true;
            }
            _ if repository == "docker.io/flannel/flannel-cni-plugin" => {
                files.push(format!("{}:/flannel", software.node.join("flannel-cni/flannel").display()));
                files.push("@/bin/cp:/bin/cp".into());
                libs = true;
            }
            _ => {
                let Some((ports, commands)) = workloads.get(name.as_str()) else {
                    return Err(format!("{name}: the bed cannot make this image"));
                };
                files.push(format!("{}:/server", software.bin("server")));
                for command in commands {
                    let at =
                        if command.starts_with('/') { command.clone() } else { format!("/usr/local/bin/{command}") };
                    files.push(format!("{}:{at}", software.bin("server")));
                }
                entrypoint.push("/server".into());
                let ports: Vec<String> = ports.iter().map(u16::to_string).collect();
                env.push(format!("CLUSTERDEF_TEST_PORTS={}", ports.join(",")));
                user = "65534:65534".into();
            }
        }
        let mut args = vec!["--name".to_string(), name.clone(), "--user".into(), user, "--root".into()];
        args.push(software.root.display().to_string());
        for f in files {
            args.push("--file".into());
            args.push(f);
        }
        for e in env {
            args.push("--env".into());
            args.push(e);
        }
        if libs {
            args.push("--libs".into());
        }
        args.push("--entrypoint".into());
        args.extend(entrypoint);
        out.push(Recipe { name: name.clone(), args });
    }
    Ok(out)
}

/// Whether only the members need an image (the control plane's): the other nodes are spared
/// importing them.
pub fn members_only(name: &str) -> bool {
    ["kube-apiserver:", "kube-controller-manager:", "kube-scheduler:"].iter().any(|c| name.contains(c))
}

/// The images made: their names, and what they cost a node unpacked.
pub struct Made {
    /// The images' names.
    pub names: Vec<String>,
    /// Bytes every node unpacks (`all/`).
    pub unpacked_all: u64,
    /// Bytes a member unpacks besides (`members/`, the control plane's).
    pub unpacked_members: u64,
}

/// Makes every image `names` holds under `dir/members` (the control plane's) and `dir/all`;
/// the images made, or why one cannot be.
pub fn make(cluster: &Cluster, names: &BTreeSet<String>, software: &Software, dir: &Path) -> Made {
    let recipes = recipes(cluster, names, software).unwrap_or_else(|why| panic!("an image the render names: {why}"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node-images/oci_image.py");
    for sub in ["members", "all"] {
        std::fs::create_dir_all(dir.join(sub)).expect("the images' directory");
    }
    let mut made = Made { names: Vec::new(), unpacked_all: 0, unpacked_members: 0 };
    for recipe in recipes {
        let members = members_only(&recipe.name);
        let sub = if members { "members" } else { "all" };
        let file: String = recipe.name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        let out = dir.join(sub).join(format!("{file}.tar"));
        let run = Command::new("python3")
            .arg(&script)
            .args(&recipe.args)
            .arg("--out")
            .arg(&out)
            .output()
            .expect("run oci_image.py");
        assert!(run.status.success(), "making {}: {}", recipe.name, String::from_utf8_lossy(&run.stderr));
        let unpacked: u64 = String::from_utf8_lossy(&run.stdout)
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("oci_image.py prints the unpacked size of {}", recipe.name));
        *(if members { &mut made.unpacked_members } else { &mut made.unpacked_all }) += unpacked;
        made.names.push(recipe.name);
    }
    made
}
