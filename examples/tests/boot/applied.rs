//! Real Ignition (Debian's build of the full binary) applies every Flatcar config into a scratch
//! root, the way it runs at first boot: the `fetch-offline` stage parses and validates the config,
//! the `files` stage writes users, files, units, drop-ins and the preset file. The tests then read
//! the applied tree, not the JSON: hostname, SSH keys, network files, update.conf, the enable
//! presets, `systemd-analyze verify --root` on the applied units, and where each unit landed,
//! compared with the plan.

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::Command;

use clusterdef::render::ignition::{ETCD_DROPIN, GATEWAY_UNIT};
use clusterdef::{Cluster, Render};
use clusterdef_examples::seed::flatcar;

use crate::support::{TempDir, prepare_systemd_root, verify_unit};

/// The full Ignition binary Debian ships inside its dracut module.
const IGNITION: &str = "/usr/lib/dracut/modules.d/30ignition/ignition";

/// Flatcar's `core` and `etcd` accounts (flatcar/baselayout `baselayout/passwd`).
const CORE_UID: u32 = 500;

/// Flatcar's shipped `etcd-member.service` (coreos-overlay `app-admin/etcd-wrapper`), so the
/// applied drop-in is verified against the unit it extends.
pub const ETCD_MEMBER_UNIT: &str = "[Unit]\nDescription=etcd (System Application Container)\nDocumentation=https://github.com/etcd-io/etcd\nWants=network-online.target network.target\nAfter=network-online.target\nConflicts=etcd.service\nConflicts=etcd2.service\n\n[Service]\nType=notify\nRestart=always\nRestartSec=10s\nTimeoutStartSec=0\nLimitNOFILE=40000\nEnvironment=\"ETCD_IMAGE_TAG=v3.5.16\"\nEnvironment=\"ETCD_NAME=%m\"\nEnvironment=\"ETCD_USER=etcd\"\nEnvironment=\"ETCD_DATA_DIR=/var/lib/etcd\"\nEnvironment=\"ETCD_SSL_DIR=/etc/ssl/certs\"\nExecStart=/usr/lib/flatcar/etcd-wrapper $ETCD_OPTS\nExecStop=/usr/bin/docker stop etcd-member\nExecStopPost=/usr/bin/docker rm etcd-member\n\n[Install]\nWantedBy=multi-user.target\n";

/// One config applied into its own root.
pub struct Applied {
    dir: TempDir,
}

impl Applied {
    /// The applied root.
    pub fn root(&self) -> PathBuf {
        self.dir.path().join("root")
    }

    /// A file of the applied tree, by its absolute path on the machine.
    pub fn read(&self, path: &str) -> Option<String> {
        std::fs::read_to_string(self.root().join(path.trim_start_matches('/'))).ok()
    }

    /// Every file of the applied tree with a value only coreos-cloudinit would have filled in
    /// (`$private_ipv4`, `$public_ipv4`, `$private_ipv6`, `$public_ipv6`): Ignition substitutes
    /// nothing, so each would reach its program as text. As `path: token`.
    pub fn cloud_init_substitutions(&self) -> Vec<String> {
        const TOKENS: [&str; 4] = clusterdef::CLOUD_INIT_SUBSTITUTIONS;
        let mut found = Vec::new();
        let root = self.root();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                let path = entry.path();
                let Ok(kind) = entry.file_type() else { continue };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned();
                    for token in TOKENS.iter().filter(|t| text.contains(**t)) {
                        found.push(format!("{}: {token}", path.strip_prefix(&root).unwrap_or(&path).display()));
                    }
                }
            }
        }
        found
    }

    /// The units enabled at first boot, sorted: those the preset file enables (Ignition 2.14
    /// writes it in no fixed order), and those linked into a `.wants` or `.requires` directory,
    /// as `systemctl enable` leaves them. A link must point at a unit file of the tree.
    pub fn enabled(&self) -> BTreeSet<String> {
        let presets = self.read("/etc/systemd/system-preset/20-ignition.preset").unwrap_or_default();
        let mut enabled: BTreeSet<String> =
            presets.lines().filter_map(|l| l.strip_prefix("enable ")).map(str::to_string).collect();
        let system = self.root().join("etc/systemd/system");
        for dir in std::fs::read_dir(&system).into_iter().flatten().filter_map(Result::ok) {
            let dir_name = dir.file_name().to_string_lossy().into_owned();
            if !(dir_name.ends_with(".wants") || dir_name.ends_with(".requires")) {
                continue;
            }
            for link in std::fs::read_dir(dir.path()).into_iter().flatten().filter_map(Result::ok) {
                let target = std::fs::read_link(link.path()).expect("an enable link is a symlink");
                let in_tree = self.root().join(target.strip_prefix("/").unwrap_or(&target));
                assert!(
                    in_tree.is_file(),
                    "{} points at {}, which is not in the tree",
                    link.path().display(),
                    target.display()
                );
                enabled.insert(link.file_name().to_string_lossy().into_owned());
            }
        }
        enabled
    }

    /// The unit files written into `/etc/systemd/system`.
    pub fn unit_files(&self) -> BTreeSet<String> {
        let dir = self.root().join("etc/systemd/system");
        let Ok(entries) = std::fs::read_dir(dir) else { return BTreeSet::new() };
        entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    }
}

/// Runs real Ignition on `config` into a fresh root that has what Flatcar's image has before
/// Ignition runs: the `core` user with its home, the `etcd` user, and an SELinux config (Debian
/// builds Ignition with relabelling on; `setfiles` is a stub, as Flatcar builds without it).
pub fn apply(tag: &str, config: &str) -> Applied {
    let dir = TempDir::new(&format!("ignition-{tag}"));
    let (root, stage) = (dir.path().join("root"), dir.path().join("stage"));
    for d in [root.join("etc/selinux"), root.join("home/core"), stage.join("bin")] {
        std::fs::create_dir_all(&d).expect("scratch directories");
    }
    let append = |file: &str, line: &str| {
        let host = std::fs::read_to_string(Path::new("/etc").join(file)).unwrap_or_default();
        std::fs::write(root.join("etc").join(file), format!("{host}{line}\n")).expect("account files");
    };
    append("passwd", "core:x:500:500:Flatcar Admin:/home/core:/bin/bash\netcd:x:232:232::/dev/null:/sbin/nologin");
    append("group", "core:x:500:\netcd:x:232:");
    append("shadow", "core:*:15887:0:::::");
    append("gshadow", "core:!::");
    // Ignition writes the SSH keys as uid 500, so every directory above them must be traversable.
    let run = |program: &str, args: Vec<String>| {
        let out = Command::new(program).args(&args).output().expect("run");
        assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    run("chown", vec![format!("{CORE_UID}:{CORE_UID}"), root.join("home/core").display().to_string()]);
    run("chmod", vec!["755".into(), dir.path().display().to_string(), root.display().to_string()]);
    ignite(tag, config, &root, &stage);
    Applied { dir }
}

/// Real Ignition's first-boot stages (`fetch-offline`, `files`) on `config` into `root`, which
/// already has what Flatcar's image has before Ignition runs; `stage` holds Ignition's own
/// state. An SELinux config goes into the root (Debian builds Ignition with relabelling on) and
/// `setfiles` is a stub on its PATH, as Flatcar builds without it. Fails on a warning, and on a
/// config that would fetch from the network.
pub fn ignite(tag: &str, config: &str, root: &Path, stage: &Path) {
    ignite_warned(tag, config, root, stage, None);
}

/// [`ignite`] on a root Ignition has run on before (Flatcar's `first_boot` flag set again):
/// Ignition's one warning that it has already run is expected; any other fails.
pub fn ignite_again(tag: &str, config: &str, root: &Path, stage: &Path) {
    ignite_warned(tag, config, root, stage, Some(ALREADY_RAN));
}

/// What Ignition warns when it runs on a system it has run on.
const ALREADY_RAN: &str = "Ignition has already run on this system";

fn ignite_warned(tag: &str, config: &str, root: &Path, stage: &Path, expected: Option<&str>) {
    assert!(Path::new(IGNITION).is_file(), "{IGNITION} is not installed; run `bash scripts/install-test-deps.sh`");
    for d in [root.join("etc/selinux"), stage.join("bin")] {
        std::fs::create_dir_all(&d).expect("scratch directories");
    }
    std::fs::write(root.join("etc/selinux/config"), "SELINUX=disabled\nSELINUXTYPE=targeted\n").expect("selinux");
    std::fs::write(stage.join("bin/setfiles"), "#!/bin/sh\ncat >/dev/null\n").expect("setfiles stub");
    std::fs::set_permissions(stage.join("bin/setfiles"), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let config_file = stage.join("config.ign");
    std::fs::write(&config_file, config).expect("config");
    // Every config the tests apply passes both validators first.
    if let Err(said) = crate::support::validate_ignition(&config_file) {
        panic!("{tag}: {said}");
    }

    let cache = stage.join("cache.json").display().to_string();
    let state = stage.join("state").display().to_string();
    let path = format!("{}:{}", stage.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let stages: [(&str, Vec<String>); 2] = [
        ("fetch-offline", vec!["-neednet".into(), stage.join("neednet").display().to_string()]),
        ("files", vec!["-root".into(), root.display().to_string()]),
    ];
    // Spec 3.4.0 (what matchbox serves) is beyond Debian's 2.14: upstream's full Ignition, as
    // Flatcar's initramfs runs it, applies it.
    let upstream = crate::support::target_dir().join("test-engines/ignition-2.26.0/ignition");
    let ignition = if crate::support::beyond_debians_ignition(config) {
        assert!(upstream.is_file(), "{} is not installed; run `bash scripts/install-test-deps.sh`", upstream.display());
        upstream
    } else {
        Path::new(IGNITION).to_path_buf()
    };
    for (name, extra) in stages {
        let out = Command::new(&ignition)
            .env("IGNITION_CONFIG_FILE", &config_file)
            .env("PATH", &path)
            .args(["-platform", "file", "-stage", name, "-config-cache", &cache, "-state-file", &state])
            .args(extra)
            .arg("-log-to-stdout")
            .output()
            .expect("run ignition");
        let log = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "ignition {name} stage failed for {tag}:\n{log}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let unexpected = log.lines().any(|l| l.contains("WARNING") && !expected.is_some_and(|e| l.contains(e)));
        assert!(!unexpected, "ignition {name} stage warned for {tag}:\n{log}");
    }
    assert!(!stage.join("neednet").exists(), "{tag}: the config fetches from the network");
}

/// Every config of `cluster`, applied, by config path.
pub fn apply_all(name: &str, cluster: &Cluster) -> BTreeMap<String, Applied> {
    let artifacts = cluster.render().expect("the Flatcar seeds render");
    artifacts
        .iter()
        .filter(|(p, _)| p.ends_with(".ign"))
        .map(|(p, bytes)| {
            let text = std::str::from_utf8(bytes).expect("utf-8");
            (p.to_string(), apply(&format!("{name}-{}", p.replace('/', "-")), text))
        })
        .collect()
}

/// `KEY=value` lines, as locksmithd and update_engine read update.conf (quotes stripped).
fn key_values(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

#[test]
fn real_ignition_applies_every_flatcar_config_as_the_plan_says() {
    let mut applied_count = 0;
    for (name, cluster) in flatcar::all() {
        let plan = cluster.plan();
        let applied = apply_all(name, cluster);
        for group in &plan.groups {
            for config in &group.configs {
                let tree = applied.get(config).unwrap_or_else(|| panic!("{name}: {config} was not rendered"));
                let machines: Vec<_> = group.machines.iter().filter(|m| &m.config == config).collect();
                let at = format!("{name}/{config}");

                // A machine's own config names it; a pool's config leaves the name to DHCP.
                let hostname = tree.read("/etc/hostname");
                match machines.as_slice() {
                    [one] => assert_eq!(hostname, Some(format!("{}\n", one.hostname)), "{at}"),
                    _ => assert_eq!(hostname, None, "{at}: a pool config sets no hostname"),
                }

                let keys = tree.read("/home/core/.ssh/authorized_keys.d/ignition").unwrap_or_default();
                assert!(
                    !cluster.ssh_keys.is_empty() && cluster.ssh_keys.iter().all(|k| keys.contains(&**k)),
                    "{at}: {keys}"
                );
                let keys_meta =
                    std::fs::metadata(tree.root().join("home/core/.ssh/authorized_keys.d/ignition")).expect("keys");
                assert_eq!(keys_meta.uid(), CORE_UID, "{at}: the keys belong to core");

                // Static addresses land in a networkd file that sorts before Flatcar's shipped
                // zz-default.network, so it wins.
                if let [one] = machines.as_slice()
                    && let Some(address) = one.address
                {
                    let dir = tree.root().join("etc/systemd/network");
                    let files: Vec<String> = std::fs::read_dir(&dir)
                        .map(|d| {
                            d.filter_map(Result::ok).map(|e| e.file_name().to_string_lossy().into_owned()).collect()
                        })
                        .unwrap_or_default();
                    assert_eq!(files.len(), 1, "{at}: {files:?}");
                    assert!(
                        files[0].as_str() < "zz-default.network",
                        "{at}: {} sorts after Flatcar's default",
                        files[0]
                    );
                    let network = std::fs::read_to_string(dir.join(&files[0])).expect("network file");
                    assert!(network.lines().any(|l| l.starts_with(&format!("Address={address}/"))), "{at}: {network}");
                }

                let update = key_values(&tree.read("/etc/flatcar/update.conf").unwrap_or_default());
                assert_eq!(update.get("GROUP").map(String::as_str), Some(group.channel.as_str()), "{at}");
                assert_eq!(update.get("REBOOT_STRATEGY").map(String::as_str), Some(group.reboot.as_str()), "{at}");
                let endpoint = update.get("LOCKSMITHD_ENDPOINT").cloned().unwrap_or_default();
                let own = machines.first().and_then(|m| plan.etcd.member_urls.iter().find(|u| u.name == m.hostname));
                match (own, &group.etcd_access) {
                    (Some(member), _) => assert_eq!(endpoint, member.client_url, "{at}"),
                    (None, clusterdef::render::plan::EtcdAccess::Gateway(url)) => assert_eq!(&endpoint, url, "{at}"),
                    (None, other) => panic!("{at}: a Flatcar machine reaches etcd as {other:?}"),
                }

                // What runs at first boot: the presets name etcd, and every unit placed here.
                let enabled = tree.enabled();
                let etcd_unit = if own.is_some() { "etcd-member.service" } else { GATEWAY_UNIT };
                assert!(enabled.contains(etcd_unit), "{at}: {enabled:?}");
                if own.is_some() {
                    assert!(
                        tree.read(&format!("/etc/systemd/system/etcd-member.service.d/{ETCD_DROPIN}")).is_some(),
                        "{at}"
                    );
                }
                verify_applied_units(tree, &at);
                applied_count += 1;
            }
        }
        assert!(plan.units.iter().all(|u| !u.placed_configs.is_empty()), "{name}: a seed unit is placed nowhere");
        placement_holds(name, &plan, &applied);
    }
    assert!(applied_count >= 20, "{applied_count} configs applied");
}

/// `systemd-analyze verify --root` on every unit the config wrote, in the applied tree, with
/// Flatcar's own `etcd-member.service` under the drop-in and stubs for the programs they run.
pub fn verify_applied_units(tree: &Applied, at: &str) {
    let root = tree.root();
    let files = tree.unit_files();
    let texts: Vec<String> = files.iter().filter_map(|f| tree.read(&format!("/etc/systemd/system/{f}"))).collect();
    let mut needs: Vec<&str> = texts.iter().map(String::as_str).collect();
    needs.push(ETCD_MEMBER_UNIT);
    prepare_systemd_root(&root, &needs);
    std::fs::write(root.join("usr/lib/systemd/system/etcd-member.service"), ETCD_MEMBER_UNIT).expect("etcd-member");
    let mut names: Vec<String> = tree.enabled().into_iter().collect();
    names.extend(files.iter().filter(|f| !f.contains("@.")).cloned());
    names.sort();
    names.dedup();
    assert!(!names.is_empty(), "{at}: no units");
    for unit in names {
        // An enabled template instance is verified through its template file.
        let file = match unit.split_once('@') {
            Some((prefix, rest)) if !files.contains(&unit) => {
                let suffix = rest.rsplit_once('.').map_or("", |(_, s)| s);
                let template = format!("{prefix}@.{suffix}");
                assert!(files.contains(&template), "{at}: {unit} is enabled but {template} was not written");
                template
            }
            _ => unit.clone(),
        };
        let path = match file.as_str() {
            "etcd-member.service" => root.join("usr/lib/systemd/system").join(&unit),
            _ => root.join("etc/systemd/system").join(&unit),
        };
        if !path.exists() {
            std::fs::copy(root.join("etc/systemd/system").join(&file), &path).expect("instance of the template");
        }
        if let Err(complaints) = verify_unit(&root, &path) {
            panic!("{at}: systemd-analyze verify {unit}:\n{complaints}");
        }
    }
}

/// Read back from the applied roots: each unit is written and enabled on exactly the configs the
/// plan places it on, a placed `machine_of` unit runs only where the unit it follows runs, and no machine
/// enables two units that conflict. (A unit the plan places nowhere is one the rules reported;
/// the callers check that.)
pub fn placement_holds(name: &str, plan: &clusterdef::Plan, applied: &BTreeMap<String, Applied>) {
    let runs = |config: &Applied, unit: &str| -> bool {
        let enabled = config.enabled();
        match unit.split_once("@.") {
            Some((prefix, _)) => {
                config.unit_files().contains(unit) && enabled.iter().any(|e| e.starts_with(&format!("{prefix}@")))
            }
            None => config.unit_files().contains(unit) && enabled.contains(unit),
        }
    };
    let machine_config: BTreeMap<&str, &str> =
        plan.groups.iter().flat_map(|g| &g.machines).map(|m| (m.hostname.as_str(), m.config.as_str())).collect();
    for unit in &plan.units {
        // The machines' configs (matchbox's copies are the same bytes, and its installers carry
        // no unit of the cluster's: both checked with the matchbox render).
        let applied_on: BTreeSet<&str> = applied
            .iter()
            .filter(|(c, tree)| c.starts_with("ignition/") && runs(tree, &unit.name))
            .map(|(c, _)| c.as_str())
            .collect();
        let planned: BTreeSet<&str> = unit.placed_configs.iter().map(String::as_str).collect();
        assert_eq!(applied_on, planned, "{name}: {} runs where the plan does not say", unit.name);
        // Each instance of a template is enabled on exactly the machine the plan names for it.
        let prefix = unit.name.split_once("@.").map(|(p, _)| format!("{p}@"));
        if let Some(prefix) = prefix.filter(|_| !unit.instances.is_empty()) {
            let mut planned_instances: BTreeSet<(&str, &str)> = BTreeSet::new();
            for (instance, config) in unit.instances.iter().zip(&unit.placed_configs) {
                planned_instances.insert((config.as_str(), instance.as_str()));
            }
            let applied_instances: BTreeSet<(&str, String)> = applied
                .iter()
                .flat_map(|(c, tree)| {
                    tree.enabled().into_iter().filter(|e| e.starts_with(&prefix)).map(move |e| (c.as_str(), e))
                })
                .collect();
            let applied_instances: BTreeSet<(&str, &str)> =
                applied_instances.iter().map(|(c, e)| (*c, e.as_str())).collect();
            assert_eq!(applied_instances, planned_instances, "{name}: {}'s instances", unit.name);
        }
        for (host, config) in unit.placed_on.iter().zip(&unit.placed_configs) {
            if let Some(own) = machine_config.get(host.as_str()) {
                assert_eq!(own, config, "{name}: {} on {host}", unit.name);
            }
        }
        if let Some(follows) = unit.follows.as_ref().filter(|_| !planned.is_empty()) {
            let target = plan.units.iter().find(|u| &u.name == follows).expect("machine_of names a unit");
            // Beside its target: on machines the target runs on (one of them, when the target
            // runs on several: a global unit, or a template's instances), read from the trees.
            let target_on: BTreeSet<&str> =
                applied.iter().filter(|(_, tree)| runs(tree, &target.name)).map(|(c, _)| c.as_str()).collect();
            assert!(
                applied_on.is_subset(&target_on),
                "{name}: {} runs on {applied_on:?}, away from {follows} on {target_on:?}",
                unit.name
            );
        }
    }
    for (config, tree) in applied {
        let enabled = tree.enabled();
        for unit in &plan.units {
            for own in enabled.iter().filter(|e| clusterdef::glob::matches(&unit.name.replace("@.", "@*."), e)) {
                for pattern in &unit.conflicts {
                    let clash: Vec<&String> =
                        enabled.iter().filter(|e| *e != own && clusterdef::glob::matches(pattern, e)).collect();
                    assert!(clash.is_empty(), "{name}/{config}: {own} conflicts with {clash:?}");
                }
            }
        }
    }
}

/// The environment a unit's `[Service]` `Environment=` lines give, in the order systemd applies
/// them (a later assignment wins): each line holds whitespace-separated `K=V` words, each word
/// optionally in double or single quotes, with `\` escaping the next character.
pub fn systemd_environment(units: &[&str]) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    for text in units {
        let mut in_service = false;
        for line in text.lines().map(str::trim) {
            if line.starts_with('[') {
                in_service = line == "[Service]";
                continue;
            }
            let Some(value) = line.strip_prefix("Environment=").filter(|_| in_service) else { continue };
            // Specifiers first, on the whole line: `%%` is a `%` (no other specifier is rendered).
            for word in words(&value.replace("%%", "%")) {
                if let Some((k, v)) = word.split_once('=') {
                    env.retain(|(key, _)| key != k);
                    env.push((k.to_string(), v.to_string()));
                }
            }
        }
    }
    env
}

/// A command line or an `Environment=` value split the way systemd splits it.
pub fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return out;
        }
        let mut word = String::new();
        let mut quote: Option<char> = None;
        while let Some(c) = chars.next() {
            match (c, quote) {
                ('\\', _) => word.extend(chars.next()),
                ('"' | '\'', None) => quote = Some(c),
                (q, Some(open)) if q == open => quote = None,
                (w, None) if w.is_whitespace() => break,
                (other, _) => word.push(other),
            }
        }
        out.push(word);
    }
}

#[test]
fn environment_lines_split_as_systemd_splits_them() {
    let unit = "[Service]\nEnvironment=\"A=1 2\" B=3\nEnvironment='C=x\\'y' A=4\n[Install]\nEnvironment=D=5\n";
    let env = systemd_environment(&[unit]);
    assert_eq!(env, [("B", "3"), ("C", "x'y"), ("A", "4")].map(|(k, v)| (k.to_string(), v.to_string())));
}
