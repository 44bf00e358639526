//! A running CoreOS cluster's cloud-configs and fleet units read back into a [`Cluster`], so
//! its architecture can be checked by the rules, rendered again, or moved to Flatcar.
//!
//! The files are read as the engines read them ([`crate::read::cloud_config`],
//! [`crate::read::fleet`]): an importer that reads differently would import a cluster other
//! than the one running. What the language cannot say is never dropped quietly: every such key,
//! section or unit line is a [`Finding`] with its file and line. What the importer infers:
//!
//! - members: configs with an etcd2 (or etcd 0.4) section that is not a proxy; the layout from
//!   their role and count; bootstrap from `initial-cluster` or `discovery`; TLS file paths;
//! - groups: by locksmith group (else fleet `role`); machines of one group that differ in
//!   anything but hostname, address and failure domain are split into groups of their own, and
//!   the differing keys are named; a config without a hostname serves a pool (autoscaled, or
//!   PXE-booted when its boot script points at it);
//! - failure domains from `cabinet=`/`zone=` metadata, with counts where machines are not dealt
//!   round-robin; addresses from the `.network` units (a range where contiguous); hostnames as a
//!   pattern where they follow one;
//! - channel, reboot strategy and windows, SSH keys; each fleet unit's body and placement.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::Ipv4Addr;

use clusterdef_model::{
    Addressing, Allow, Boot, Bootstrap, Channel, Cluster, Domain, DomainKind, DomainNetwork, EtcdRelease, Group,
    Hostnames, Ipv4Net, Layout, Network, RebootStrategy, RebootWindow, Requirement, Size, Spread, Tls, Unit, UnitBody,
    Violation, Windows,
};

use crate::read::cloud_config::{self, CloudConfig, Section};
use crate::read::fleet;
use crate::render::cloud_config::{ENV_FILE, FLEET_UNITS_DIR, SUBMIT_UNIT, machine_config_path, pool_config_path};

/// A file to import: its path (as it will be shown) and its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path, relative to the imported directory.
    pub path: String,
    /// The contents.
    pub text: String,
}

/// How much a finding matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Something the cluster does that the declaration does not say: importing it loses it.
    Lossy,
    /// Something the declaration says another way, or a file that was not read, with the reason.
    Note,
}

/// Something the importer could not carry into the declaration, or chose how to carry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The file.
    pub file: String,
    /// The 1-based line (0 when the finding is about the whole file).
    pub line: usize,
    /// How much it matters.
    pub severity: Severity,
    /// What it is about: a key, a unit line, a file.
    pub what: String,
    /// Why.
    pub why: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Lossy => "lossy",
            Severity::Note => "note",
        };
        match self.line {
            0 => write!(f, "{}: {severity}: {}: {}", self.file, self.what, self.why),
            line => write!(f, "{}:{line}: {severity}: {}: {}", self.file, self.what, self.why),
        }
    }
}

/// What an import found: the cluster, and what it could not carry.
#[derive(Clone, Debug)]
pub struct Imported {
    /// The cluster the files implement.
    pub cluster: Cluster,
    /// Every key, line or file not carried as it was, in file and line order.
    pub findings: Vec<Finding>,
}

impl Imported {
    /// Whether anything the cluster does was lost.
    pub fn is_lossy(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Lossy)
    }
}

/// Why nothing could be imported.
#[derive(Clone, Debug)]
pub struct ImportError {
    /// What is missing.
    pub message: String,
    /// What was found on the way.
    pub findings: Vec<Finding>,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        for finding in &self.findings {
            write!(f, "\n{finding}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ImportError {}

/// The largest file [`read_dir`] reads; cloud-configs and units are a few KiB.
pub const MAX_FILE: u64 = 8 << 20;

/// Every regular file under `dir`, by path relative to it, in path order, for [`import`]; the
/// manifest of a previous render is skipped. Also returns the paths of files that are not
/// UTF-8 text, which are not read.
pub fn read_dir(dir: &std::path::Path) -> Result<(Vec<SourceFile>, Vec<String>), String> {
    let (mut files, mut skipped) = (Vec::new(), Vec::new());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            let path = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let meta = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if meta.is_dir() {
                stack.push(path);
            } else if rel == crate::output::MANIFEST {
                continue;
            } else if meta.len() > MAX_FILE {
                return Err(format!("{rel}: {} bytes; import reads files of at most {MAX_FILE}", meta.len()));
            } else {
                match String::from_utf8(std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?) {
                    Ok(text) => files.push(SourceFile { path: rel, text }),
                    Err(_) => skipped.push(rel),
                }
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    skipped.sort();
    Ok((files, skipped))
}

/// Unit file suffixes fleet takes.
const UNIT_SUFFIXES: &[&str] =
    &[".service", ".socket", ".timer", ".path", ".mount", ".automount", ".device", ".target", ".swap"];

/// Reads `files` as one cluster. `name` names it when the files do not (its static
/// `initial-cluster-token` does).
pub fn import(files: &[SourceFile], name: Option<&str>) -> Result<Imported, ImportError> {
    let mut findings = Vec::new();
    let mut configs = Vec::new();
    let mut unit_files = Vec::new();
    let mut boot_scripts = Vec::new();
    let mut dnsmasq = Vec::new();
    // Reading YAML is most of an import's time, and each file is read on its own: on every core.
    let read = crate::parallel::map(files, |file| {
        cloud_config::is_cloud_config(&file.text).then(|| {
            let mut found = Vec::new();
            let config = match cloud_config::parse(&file.text) {
                Ok(cc) => Some(read_config(file, cc, &mut found)),
                Err(e) => {
                    found.push(lossy(&file.path, e.line, "the file", format!("not readable YAML: {}", e.message)));
                    None
                }
            };
            (config, found)
        })
    });
    for (file, read) in files.iter().zip(read) {
        let base = file.path.rsplit('/').next().unwrap_or(&file.path);
        if let Some((config, found)) = read {
            configs.extend(config);
            findings.extend(found);
        } else if UNIT_SUFFIXES.iter().any(|s| base.ends_with(s)) && base.len() > 8 {
            unit_files.push((file, base.to_string()));
        } else if file.text.contains("cloud-config-url=") {
            boot_scripts.push(file);
        } else if file.text.lines().any(|l| l.starts_with("dhcp-range=") || l.starts_with("dhcp-boot=")) {
            dnsmasq.push(file);
        } else {
            findings.push(note(
                &file.path,
                0,
                "the file",
                "neither a cloud-config, a unit file, a boot script nor a dnsmasq config; not read",
            ));
        }
    }
    if configs.is_empty() {
        let ignition = files.iter().any(|f| f.text.trim_start().starts_with('{') && f.text.contains("\"ignition\""));
        let message = if ignition {
            "no `#cloud-config` file was found, only Ignition configs: import reads a CoreOS cluster's cloud-configs and fleet units (a Flatcar cluster declared with clusterdef has its declaration already)"
        } else {
            "no `#cloud-config` file was found"
        };
        return Err(ImportError { message: message.into(), findings });
    }
    // A PXE pool's config is the one its boot script's `cloud-config-url` names.
    let mut pxe_base: BTreeMap<String, String> = BTreeMap::new();
    let mut script_config: Vec<(&str, String)> = Vec::new();
    for script in &boot_scripts {
        for url in script.text.split_whitespace().filter_map(|w| w.strip_prefix("cloud-config-url=")) {
            for config in &configs {
                if let Some(base) = url.strip_suffix(config.path.as_str()) {
                    pxe_base.insert(config.path.clone(), base.trim_end_matches('/').to_string());
                    script_config.push((script.path.as_str(), config.path.clone()));
                }
            }
        }
    }
    // Machines a shared boot network tells apart by MAC: `dhcp-host=<mac>,set:<tag>`, and the
    // tag's `dhcp-boot` names the boot script, which names the config.
    let mut inventory: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for file in &dnsmasq {
        // (mac, tag, line) and (tag, boot script URL).
        let mut macs: Vec<(&str, &str, usize)> = Vec::new();
        let mut boots: Vec<(&str, &str)> = Vec::new();
        for (i, line) in file.text.lines().enumerate() {
            if let Some(rest) = line.strip_prefix("dhcp-host=") {
                match rest.split(',').collect::<Vec<_>>()[..] {
                    [mac, tag] if tag.starts_with("set:") => macs.push((mac, &tag[4..], i + 1)),
                    _ => {
                        findings.push(lossy(&file.path, i + 1, "dhcp-host", "only `dhcp-host=<mac>,set:<tag>` is read"))
                    }
                }
            } else if let Some(rest) = line.strip_prefix("dhcp-boot=") {
                let parts: Vec<&str> = rest.split(',').collect();
                let url = parts.last().copied().unwrap_or_default();
                for tag in
                    parts.iter().filter_map(|p| p.strip_prefix("tag:")).filter(|t| *t != "ipxe" && !t.starts_with('!'))
                {
                    boots.push((tag, url));
                }
            }
        }
        for (mac, tag, line) in macs {
            let script = boots.iter().find(|(t, _)| *t == tag).map(|(_, url)| *url);
            let config = script.and_then(|url| script_config.iter().find(|(p, _)| url.ends_with(&format!("/{p}"))));
            match config {
                Some((_, config)) => inventory.entry(config.clone()).or_default().push(mac.to_string()),
                None => findings.push(lossy(
                    &file.path,
                    line,
                    format!("dhcp-host {mac}"),
                    "its tag boots no script that names a config here",
                )),
            }
        }
    }
    for config in &mut configs {
        config.pxe = pxe_base.get(&config.path).cloned();
        config.inventory = inventory.remove(&config.path).unwrap_or_default();
    }
    let units = read_units(&unit_files, &configs, &mut findings);
    let (cluster, sources) = build(configs, units, name, &mut findings)?;
    compare_with_render(&cluster, &sources, &mut findings);
    findings.sort_by(|a, b| (&a.file, a.line, &a.what).cmp(&(&b.file, b.line, &b.what)));
    findings.dedup();
    Ok(Imported { cluster, findings })
}

/// Adds an `allow(rule, reason = "imported: …")` for every allowable rule the cluster breaks,
/// so the declaration compiles as it is and each risk stays visible in it. Returns the
/// violations of rules that cannot be allowed.
pub fn accept_risks(cluster: &mut Cluster) -> Vec<Violation> {
    let violations = cluster.violations();
    let mut allows: Vec<Allow> = cluster.allows.to_vec();
    let mut left = Vec::new();
    for v in violations {
        if !v.rule.allowable() {
            left.push(v);
        } else if !allows.iter().any(|a| a.rule == v.rule) {
            allows.push(Allow { rule: v.rule, reason: format!("imported: {}", v.message).into() });
        }
    }
    cluster.allows = allows.into();
    left
}

fn lossy(file: &str, line: usize, what: impl Into<String>, why: impl Into<String>) -> Finding {
    Finding { file: file.to_string(), line, severity: Severity::Lossy, what: what.into(), why: why.into() }
}

fn note(file: &str, line: usize, what: impl Into<String>, why: impl Into<String>) -> Finding {
    Finding { file: file.to_string(), line, severity: Severity::Note, what: what.into(), why: why.into() }
}

/// A machine's (or a pool's) static network, from its `.network` unit.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Link {
    interface: String,
    address: Ipv4Addr,
    prefix: u8,
    gateway: Option<Ipv4Addr>,
    dns: Vec<Ipv4Addr>,
}

/// One cloud-config, read.
#[derive(Clone, Debug)]
struct Config {
    path: String,
    hostname: Option<String>,
    keys: Vec<String>,
    /// fleet metadata as fleetd keeps it: the last value of a key wins, in first-seen order.
    metadata: Vec<(String, String)>,
    member: Option<MemberSection>,
    release: Option<EtcdRelease>,
    discovery: Option<String>,
    tls: Option<(String, String, String)>,
    link: Option<Link>,
    channel: Option<Channel>,
    reboot: RebootStrategy,
    window: Option<RebootWindow>,
    locksmith_group: Option<String>,
    /// Whether the machine takes its address from the platform (`$private_ipv4`).
    platform_address: bool,
    pxe: Option<String>,
    /// The MACs the boot network sends to this config.
    inventory: Vec<String>,
    /// The template instances clusterdef's submit unit starts by name.
    started: Vec<String>,
    unit_copies: Vec<(String, String)>,
    /// Everything else that sets the machine apart, for telling apparent groups apart.
    shape: Vec<(String, String)>,
    /// The file as read, to compare with what the declaration renders for the same machine.
    read: CloudConfig,
}

impl Config {
    fn role(&self) -> &str {
        self.metadata.iter().find(|(k, _)| k == "role").map_or("worker", |(_, v)| v)
    }

    fn domain(&self) -> Option<(DomainKind, &str)> {
        self.metadata.iter().find_map(|(k, v)| match k.as_str() {
            "cabinet" => Some((DomainKind::Cabinet, v.as_str())),
            "zone" => Some((DomainKind::Zone, v.as_str())),
            _ => None,
        })
    }

    fn group_name(&self) -> String {
        self.locksmith_group.clone().unwrap_or_else(|| self.role().to_string())
    }
}

/// What an etcd member's section says of it.
#[derive(Clone, Debug)]
struct MemberSection {
    name: Option<String>,
    /// `name=peer-url` pairs of `initial-cluster` (or 0.4's `peers`).
    initial_cluster: Vec<(String, String)>,
    token: Option<String>,
}

fn field(section: Option<&Section>, key: &str) -> Option<String> {
    section.and_then(|s| s.get(key)).map(|f| f.value.clone())
}

/// The keys of each section the importer understands; the rest are lossy.
const ETCD2_KEYS: &[&str] = &[
    "name",
    "advertise_client_urls",
    "initial_advertise_peer_urls",
    "listen_client_urls",
    "listen_peer_urls",
    "initial_cluster",
    "initial_cluster_state",
    "initial_cluster_token",
    "discovery",
    "proxy",
    "trusted_ca_file",
    "cert_file",
    "key_file",
    "peer_trusted_ca_file",
    "peer_cert_file",
    "peer_key_file",
    "client_cert_auth",
    "peer_client_cert_auth",
];
const ETCD04_KEYS: &[&str] = &[
    "name",
    "addr",
    "peer_addr",
    "peers",
    "discovery",
    "ca_file",
    "cert_file",
    "key_file",
    "peer_ca_file",
    "peer_cert_file",
    "peer_key_file",
];
const FLEET_KEYS: &[&str] = &["metadata", "public_ip", "etcd_servers", "etcd_cafile", "etcd_certfile", "etcd_keyfile"];
const LOCKSMITH_KEYS: &[&str] =
    &["endpoint", "group", "window_start", "window_length", "etcd_cafile", "etcd_certfile", "etcd_keyfile"];
const UPDATE_KEYS: &[&str] = &["group", "reboot_strategy"];

fn unknown_keys(path: &str, name: &str, section: Option<&Section>, known: &[&str], findings: &mut Vec<Finding>) {
    for (key, f) in section.map_or(&[][..], |s| &s.fields[..]) {
        if !known.contains(&key.as_str()) {
            findings.push(lossy(path, f.line, format!("coreos.{name}.{key}"), "the language has no setting for it"));
        }
    }
}

/// `host:port` or `scheme://host:port` → the host, when it is an address.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    Some(rest.rsplit_once(':').map_or(rest, |(h, _)| h))
}

fn read_config(file: &SourceFile, read: CloudConfig, findings: &mut Vec<Finding>) -> Config {
    let cc = &read;
    let path = file.path.as_str();
    for u in &cc.unread {
        findings.push(lossy(path, u.line, &u.key, &u.why));
    }
    let (etcd2, etcd, fleet_s, locksmith, update) =
        (cc.etcd2.as_ref(), cc.etcd.as_ref(), cc.fleet.as_ref(), cc.locksmith.as_ref(), cc.update.as_ref());
    unknown_keys(path, "etcd2", etcd2, ETCD2_KEYS, findings);
    unknown_keys(path, "etcd", etcd, ETCD04_KEYS, findings);
    unknown_keys(path, "fleet", fleet_s, FLEET_KEYS, findings);
    unknown_keys(path, "locksmith", locksmith, LOCKSMITH_KEYS, findings);
    unknown_keys(path, "update", update, UPDATE_KEYS, findings);

    let mut metadata: Vec<(String, String)> = Vec::new();
    if let Some(raw) = fleet_s.and_then(|s| s.get("metadata")) {
        // fleetd: entries split on `,`, each on its first `=`, trimmed; the last value wins.
        for pair in raw.value.split(',') {
            match pair.split_once('=') {
                Some((k, v)) => {
                    let (k, v) = (k.trim().to_string(), v.trim().to_string());
                    match metadata.iter_mut().find(|(key, _)| *key == k) {
                        Some(slot) => {
                            findings.push(note(
                                path,
                                raw.line,
                                format!("fleet metadata `{k}`"),
                                "given twice; fleetd keeps the last value",
                            ));
                            slot.1 = v;
                        }
                        None => metadata.push((k, v)),
                    }
                }
                None if pair.trim().is_empty() => {}
                None => findings.push(lossy(
                    path,
                    raw.line,
                    format!("fleet metadata `{}`", pair.trim()),
                    "not a key=value pair; fleetd skips it",
                )),
            }
        }
    }

    let proxy = field(etcd2, "proxy").is_some_and(|p| p != "off");
    let (release, member) = match (etcd2, etcd) {
        (Some(s), _) if !proxy => (Some(EtcdRelease::V2), Some(member_section(s, "initial_cluster", findings, path))),
        (Some(_), _) => (Some(EtcdRelease::V2), None),
        (None, Some(s)) => (Some(EtcdRelease::V0_4), Some(member_section(s, "peers", findings, path))),
        (None, None) => (None, None),
    };
    let discovery = field(etcd2.or(etcd), "discovery");
    let tls = [
        (etcd2, ["trusted_ca_file", "cert_file", "key_file"]),
        (etcd, ["ca_file", "cert_file", "key_file"]),
        (fleet_s, ["etcd_cafile", "etcd_certfile", "etcd_keyfile"]),
        (locksmith, ["etcd_cafile", "etcd_certfile", "etcd_keyfile"]),
    ]
    .into_iter()
    .find_map(|(s, [ca, cert, key])| Some((field(s, ca)?, field(s, cert)?, field(s, key)?)));

    let channel = update.and_then(|s| s.get("group")).and_then(|f| match f.value.as_str() {
        "stable" => Some(Channel::Stable),
        "beta" => Some(Channel::Beta),
        "alpha" => Some(Channel::Alpha),
        "lts" => Some(Channel::Lts),
        other => {
            findings.push(lossy(
                path,
                f.line,
                "coreos.update.group",
                format!("`{other}` is not a channel the language names (stable, beta, alpha, lts)"),
            ));
            None
        }
    });
    let reboot = match update.and_then(|s| s.get("reboot_strategy")) {
        None => RebootStrategy::EtcdLock,
        Some(f) => match f.value.as_str() {
            "etcd-lock" => RebootStrategy::EtcdLock,
            "reboot" => RebootStrategy::Reboot,
            "off" => RebootStrategy::Off,
            other => {
                findings.push(lossy(
                    path,
                    f.line,
                    "coreos.update.reboot-strategy",
                    format!("`{other}` is not a strategy the language names (etcd-lock, reboot, off)"),
                ));
                RebootStrategy::EtcdLock
            }
        },
    };
    let window = match (locksmith.and_then(|s| s.get("window_start")), locksmith.and_then(|s| s.get("window_length"))) {
        (Some(start), Some(length)) => match RebootWindow::parse(&start.value, &length.value) {
            Ok(w) => Some(w),
            Err(e) => {
                findings.push(lossy(
                    path,
                    start.line,
                    "coreos.locksmith.window-start",
                    format!("not a window the language reads: {e}"),
                ));
                None
            }
        },
        (Some(f), None) | (None, Some(f)) => {
            findings.push(lossy(
                path,
                f.line,
                "coreos.locksmith window",
                "start and length must be set together (locksmithd exits otherwise)",
            ));
            None
        }
        (None, None) => None,
    };

    let mut link = None;
    let mut started = Vec::new();
    let mut shape: Vec<(String, String)> = Vec::new();
    for unit in &cc.units {
        let Some(name) = unit.name.as_ref() else {
            findings.push(lossy(path, unit.line, "coreos.units entry", "no name; coreos-cloudinit skips it"));
            continue;
        };
        let command = unit.command.as_ref().map(|c| c.value.as_str());
        let plain = unit.drop_ins.is_empty() && !unit.mask && !unit.enable;
        match (name.value.as_str(), command, &unit.content) {
            (n, _, Some(content)) if n.ends_with(".network") && plain && link.is_none() => {
                match read_link(&content.value) {
                    Ok(l) => link = Some(l),
                    Err(why) => findings.push(lossy(path, content.line, format!("coreos.units `{n}`"), why)),
                }
            }
            ("etcd2.service" | "fleet.service", Some("start"), None) if plain => {}
            ("etcd.service", Some("start" | "stop"), None) if plain => {}
            (SUBMIT_UNIT, Some("start"), Some(content)) if plain => {
                // The instances it starts by name (paths are the units it starts whole).
                for line in content.value.lines() {
                    if let Some(names) = line.trim().strip_prefix("ExecStart=/usr/bin/fleetctl start ") {
                        started.extend(names.split_whitespace().filter(|n| !n.contains('/')).map(str::to_string));
                    }
                }
            }
            (n, _, _) => findings.push(lossy(
                path,
                name.line,
                format!("coreos.units `{n}`"),
                "a unit the cloud-config runs itself; the language places units through fleet (declare it as a `unit`)",
            )),
        }
    }
    let mut unit_copies = Vec::new();
    for wf in &cc.write_files {
        let Some(p) = wf.path.as_ref() else { continue };
        let extras = wf.owner.is_some() || wf.encoding.is_some();
        match p.value.as_str() {
            ENV_FILE | "/etc/profile.d/etcdctl.sh" | "/etc/profile.d/fleetctl.sh" if !extras => {}
            other if other.starts_with(FLEET_UNITS_DIR) && !extras => {
                let name = other.rsplit('/').next().unwrap_or_default().to_string();
                unit_copies.push((name, wf.content.as_ref().map(|c| c.value.clone()).unwrap_or_default()));
            }
            other => findings.push(lossy(
                path,
                p.line,
                format!("write_files `{other}`"),
                "the language writes no files of its own choosing",
            )),
        }
    }
    let public_ip = field(fleet_s, "public_ip");
    let platform_address = public_ip.as_deref() == Some("$private_ipv4")
        || member.is_some()
            && field(etcd2.or(etcd), "listen_peer_urls")
                .or(field(etcd, "peer_addr"))
                .is_some_and(|u| u.contains("$private_ipv4"));
    let mut config = Config {
        path: path.to_string(),
        hostname: cc.hostname.as_ref().map(|f| f.value.clone()),
        keys: cc.ssh_authorized_keys.iter().map(|f| f.value.clone()).collect(),
        metadata,
        member,
        release,
        discovery,
        tls,
        link,
        channel,
        reboot,
        window,
        locksmith_group: field(locksmith, "group"),
        platform_address,
        pxe: None,
        inventory: Vec::new(),
        started,
        unit_copies,
        shape: Vec::new(),
        read: CloudConfig::default(),
    };
    if let Some(f) = &cc.hostname
        && f.value.contains('$')
    {
        findings.push(lossy(path, f.line, "hostname", "a substituted hostname; the language names machines itself"));
    }
    // What must agree between machines of one group, key by key.
    shape.push((
        "fleet metadata".into(),
        config
            .metadata
            .iter()
            .filter(|(k, _)| k != "cabinet" && k != "zone")
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(","),
    ));
    shape.push(("ssh_authorized_keys".into(), config.keys.join("\n")));
    shape.push(("coreos.update.group".into(), format!("{:?}", config.channel)));
    shape.push(("coreos.update.reboot-strategy".into(), config.reboot.as_str().into()));
    shape.push(("hostname".into(), config.hostname.is_some().to_string()));
    shape.push((
        "static address".into(),
        config
            .link
            .as_ref()
            .map(|l| (l.interface.clone(), l.prefix, l.dns.clone()))
            .map_or(String::new(), |l| format!("{l:?}")),
    ));
    config.shape = shape;
    config.read = read;
    config
}

fn member_section(section: &Section, list_key: &str, findings: &mut Vec<Finding>, path: &str) -> MemberSection {
    let mut initial_cluster = Vec::new();
    if let Some(f) = section.get(list_key) {
        for entry in f.value.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            match entry.split_once('=') {
                Some((name, url)) => initial_cluster.push((name.to_string(), url.to_string())),
                // etcd 0.4's `peers` lists addresses only.
                None if list_key == "peers" => initial_cluster.push((String::new(), entry.to_string())),
                None => findings.push(lossy(
                    path,
                    f.line,
                    format!("initial-cluster entry `{entry}`"),
                    "not name=url; etcd refuses it",
                )),
            }
        }
    }
    MemberSection {
        name: section.get("name").map(|f| f.value.clone()),
        initial_cluster,
        token: section.get("initial_cluster_token").map(|f| f.value.clone()),
    }
}

/// A `.network` unit the language writes for a static address: `[Match] Name=`, `[Network]`
/// with one `Address=`, at most one `Gateway=`, any `DNS=`.
fn read_link(content: &str) -> Result<Link, String> {
    let options = fleet::parse_unit_file(content).map_err(|e| format!("not a unit file: {e}"))?;
    let (mut interface, mut address, mut gateway, mut dns) = (None, None, None, Vec::new());
    for o in &options {
        match (o.section.as_str(), o.name.as_str()) {
            ("Match", "Name") => interface = Some(o.value.clone()),
            ("Network", "Address") if address.is_none() => {
                let (a, p) = o.value.split_once('/').ok_or("an Address= without a prefix length")?;
                let a: Ipv4Addr = a.parse().map_err(|_| format!("`{}` is not an IPv4 address", o.value))?;
                let p: u8 = p.parse().ok().filter(|p| *p <= 32).ok_or("a prefix length out of range")?;
                address = Some((a, p));
            }
            ("Network", "Gateway") if gateway.is_none() => {
                gateway = Some(o.value.parse().map_err(|_| format!("`{}` is not an IPv4 gateway", o.value))?)
            }
            ("Network", "DNS") => {
                dns.push(o.value.parse().map_err(|_| format!("`{}` is not an IPv4 DNS server", o.value))?)
            }
            (section, name) => {
                return Err(format!(
                    "`{name}=` in [{section}]: the language's static networking has address, gateway and DNS only"
                ));
            }
        }
    }
    let (address, prefix) = address.ok_or("no Address=")?;
    Ok(Link { interface: interface.ok_or("no [Match] Name=")?, address, prefix, gateway, dns })
}

/// A fleet unit, read.
struct ReadUnit {
    unit: Unit,
}

fn read_units(files: &[(&SourceFile, String)], configs: &[Config], findings: &mut Vec<Finding>) -> Vec<ReadUnit> {
    // The units' declaration order is the order the members carry their copies in; units only
    // found as files follow by name.
    let mut sources: Vec<(String, String, String)> = Vec::new();
    if let Some(member) = configs.iter().find(|c| !c.unit_copies.is_empty()) {
        for (name, text) in &member.unit_copies {
            let file = files.iter().find(|(_, n)| n == name);
            let (path, text) =
                file.map_or((member.path.clone(), text.clone()), |(f, _)| (f.path.clone(), f.text.clone()));
            sources.push((name.clone(), path, text));
        }
    }
    let mut rest: Vec<&(&SourceFile, String)> =
        files.iter().filter(|(_, n)| !sources.iter().any(|(s, _, _)| s == n)).collect();
    rest.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    for (f, name) in rest {
        if sources.iter().any(|(s, _, _)| s == name) {
            findings.push(lossy(
                &f.path,
                0,
                format!("unit `{name}`"),
                "a second file for a unit already read; fleet holds one unit per name",
            ));
            continue;
        }
        sources.push((name.clone(), f.path.clone(), f.text.clone()));
    }
    sources.into_iter().filter_map(|(name, path, text)| read_unit(&name, &path, &text, findings)).collect()
}

fn read_unit(name: &str, path: &str, text: &str, findings: &mut Vec<Finding>) -> Option<ReadUnit> {
    let options = match fleet::parse_unit_file(text) {
        Ok(o) => o,
        Err(e) => {
            findings.push(lossy(path, e.line, format!("unit `{name}`"), format!("fleet refuses it: {}", e.message)));
            return None;
        }
    };
    let placement = fleet::Placement::of(name, &options);
    let mut unit = Unit::new(name.to_string(), UnitBody::Inline(body_without_fleet_section(text).into()));
    unit.global = placement.global;
    let x_fleet: Vec<&fleet::UnitOption> = options.iter().filter(|o| o.section == "X-Fleet").collect();
    // Requirements in the order written, values as fleet splits them; fleet's own reading
    // (Placement) decides what they mean, so a pair it drops is dropped here and reported.
    let mut requirements: Vec<(String, Vec<String>)> = Vec::new();
    for o in &x_fleet {
        if !matches!(o.name.as_str(), "MachineMetadata" | "X-ConditionMachineMetadata") {
            continue;
        }
        for value in fleet::split_multivalue(&o.value) {
            if value.contains('%') {
                findings.push(lossy(
                    path,
                    o.line,
                    format!("MachineMetadata={value}"),
                    "a specifier in metadata; the language writes values as they are",
                ));
            }
            let expanded = fleet::expand_specifiers(&value, name);
            match expanded.split('=').collect::<Vec<_>>()[..] {
                [k, v] if !k.is_empty() && !v.is_empty() => match requirements.iter_mut().find(|(key, _)| key == k) {
                    Some((_, values)) if values.iter().any(|x| x == v) => {}
                    Some((_, values)) => values.push(v.to_string()),
                    None => requirements.push((k.to_string(), vec![v.to_string()])),
                },
                _ => findings.push(lossy(path, o.line, format!("MachineMetadata={value}"), "not one key=value pair: fleet drops it without a word, so the unit runs on more machines than it says")),
            }
        }
    }
    unit.machine_metadata = requirements
        .into_iter()
        .map(|(key, values)| Requirement { key: key.into(), values: values.into_iter().map(Into::into).collect() })
        .collect();
    let first = |keys: &[&str]| x_fleet.iter().find(|o| keys.contains(&o.name.as_str())).map(|o| o.line).unwrap_or(0);
    unit.machine_id = placement.machine_id.clone().map(Into::into);
    if placement.machine_of.len() > 1 {
        findings.push(lossy(
            path,
            first(&["MachineOf", "X-ConditionMachineOf"]),
            "MachineOf",
            "more than one target; the language takes one",
        ));
    }
    unit.machine_of = placement.machine_of.first().cloned().map(Into::into);
    // Conflicts and Replaces are taken as written (the language expands specifiers as fleet does).
    let raw = |keys: &[&str]| -> Vec<String> {
        x_fleet
            .iter()
            .filter(|o| keys.contains(&o.name.as_str()))
            .flat_map(|o| fleet::split_multivalue(&o.value))
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    unit.conflicts = raw(&["Conflicts", "X-Conflicts"]).into_iter().map(Into::into).collect();
    unit.replaces = raw(&["Replaces"]).into_iter().map(Into::into).collect();
    for key in &placement.unknown_keys {
        findings.push(lossy(
            path,
            first(&[key.as_str()]),
            format!("[X-Fleet] {key}"),
            "fleet does not know this key (fleetctl refuses the unit)",
        ));
    }
    Some(ReadUnit { unit })
}

/// The unit's text without its `[X-Fleet]` section, ending in one newline.
fn body_without_fleet_section(text: &str) -> String {
    let mut out = String::new();
    let mut in_fleet = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            in_fleet = trimmed == "[X-Fleet]";
        }
        if !in_fleet {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut body = out.trim_end_matches('\n').to_string();
    body.push('\n');
    body
}

/// A group being assembled: its configs in machine order.
struct Assembly {
    name: String,
    configs: Vec<Config>,
}

/// Machines in order: by the number their hostname ends with (the `{n}` of a pattern such as
/// `core-{domain}-{n}` counts across domains), then by name.
fn natural_key(hostname: &str) -> (u64, String) {
    let digits = hostname.chars().rev().take_while(char::is_ascii_digit).count();
    let tail = &hostname[hostname.len() - digits..];
    (tail.parse().unwrap_or(u64::MAX), hostname.to_string())
}

/// The cluster, and each config read with the path of the config the cluster renders for it.
fn build(
    configs: Vec<Config>,
    units: Vec<ReadUnit>,
    name: Option<&str>,
    findings: &mut Vec<Finding>,
) -> Result<(Cluster, Vec<(Config, String)>), ImportError> {
    let (members, others): (Vec<Config>, Vec<Config>) = configs.into_iter().partition(|c| c.member.is_some());
    if members.is_empty() {
        return Err(ImportError {
            message: "no config runs an etcd member (an etcd2 section that is not a proxy, or an etcd 0.4 section)"
                .into(),
            findings: std::mem::take(findings),
        });
    }
    let release = members.iter().find_map(|c| c.release).unwrap_or(EtcdRelease::V2);
    let mut groups: Vec<Assembly> = Vec::new();
    for config in others {
        let key = config.group_name();
        match groups.iter_mut().find(|g| g.name == key) {
            Some(g) => g.configs.push(config),
            None => groups.push(Assembly { name: key, configs: vec![config] }),
        }
    }
    groups.sort_by(|a, b| (a.name != "worker", &a.name).cmp(&(b.name != "worker", &b.name)));
    let mut pools = Vec::new();
    for group in groups {
        pools.extend(split(group, findings));
    }
    let mut member_assembly = Assembly { name: members[0].group_name(), configs: members };
    sort_machines(&mut member_assembly.configs);
    for c in &member_assembly.configs[1..] {
        let differing = differing_keys(&member_assembly.configs[0], c);
        if !differing.is_empty() {
            findings.push(lossy(&c.path, 0, "etcd member", format!("differs from `{}` in {}; the members are one group, so the declaration gives them the first member's settings", member_assembly.configs[0].path, differing.join(", "))));
        }
    }
    let member_count = member_assembly.configs.len() as u32;
    let role = member_assembly.configs[0].role().to_string();
    let layout = match (role.as_str(), member_count, pools.is_empty()) {
        ("member", _, _) => Layout::Small,
        ("etcd", 1, _) => Layout::DevTest,
        ("central", _, _) => Layout::CentralServices,
        (_, 1, false) => Layout::DevTest,
        (_, _, true) => Layout::Small,
        _ => Layout::CentralServices,
    };
    let first_member = &member_assembly.configs[0];
    let cluster_name = first_member
        .member
        .as_ref()
        .and_then(|m| m.token.clone())
        .or_else(|| name.map(str::to_string))
        .unwrap_or_else(|| "imported".to_string());
    let channel = first_member.channel.unwrap_or(Channel::Stable);
    let tls = first_member.tls.clone();
    let discovery = first_member.discovery.clone();
    let all_keys: Vec<&Vec<String>> = std::iter::once(&member_assembly)
        .chain(pools.iter())
        .filter_map(|g| g.configs.first())
        .map(|c| &c.keys)
        .collect();
    let common = all_keys.iter().map(|k| k.len()).min().unwrap_or(0);
    let common = (0..common).take_while(|&i| all_keys.iter().all(|k| k[i] == all_keys[0][i])).count();
    let cluster_keys: Vec<String> = all_keys.first().map_or_else(Vec::new, |k| k[..common].to_vec());

    let members_group = assemble(&member_assembly, true, channel, common, findings);
    let mut cluster = Cluster::new(cluster_name, layout, members_group);
    cluster.etcd_release = release;
    cluster.channel = channel;
    cluster.ssh_keys = cluster_keys.into_iter().map(Into::into).collect();
    cluster.tls = tls.map(|(ca, cert, key)| Tls { ca: ca.into(), cert: cert.into(), key: key.into() });
    cluster.bootstrap = match discovery {
        Some(url) => Bootstrap::Discovery(Some(url.into())),
        None => Bootstrap::Static,
    };
    cluster.pools = pools.iter().map(|p| assemble(p, false, channel, common, findings)).collect();
    let bases: Vec<&String> = pools.iter().filter_map(|p| p.configs.first()?.pxe.as_ref()).collect();
    if let Some(first) = bases.first() {
        cluster.boot_server = Some(first.to_string().into());
        let mut pools_out = cluster.pools.to_vec();
        for pool in &mut pools_out {
            if let Boot::Pxe { url } = &mut pool.boot
                && url.as_deref() == Some(first.as_str())
            {
                *url = None;
            }
        }
        cluster.pools = pools_out.into();
    }
    cluster.network = network(std::iter::once(&member_assembly).chain(pools.iter()), findings);
    let started: Vec<String> = member_assembly.configs.iter().flat_map(|c| c.started.iter().cloned()).collect();
    let mut units: Vec<Unit> = units.into_iter().map(|u| u.unit).collect();
    for unit in units.iter_mut().filter(|u| u.is_template()) {
        let Some((prefix, suffix)) = unit.name.split_once("@.") else { continue };
        let count = (1..).take_while(|i| started.contains(&format!("{prefix}@{i}.{suffix}"))).count();
        if count > 0 {
            unit.instances = Some(count as u32);
        }
    }
    for name in &started {
        let counted = units.iter().any(|u| u.instances.is_some() && u.instance_names().contains(name));
        if !counted {
            let path =
                member_assembly.configs.iter().find(|c| c.started.contains(name)).map_or("", |c| c.path.as_str());
            findings.push(lossy(
                path,
                0,
                format!("started instance `{name}`"),
                "not one of instances 1..N of a template here",
            ));
        }
    }
    cluster.units = units.into();
    check_membership(&cluster, &member_assembly, findings);
    // Which rendered config stands for each file read: a machine's by its hostname, a pool's by
    // its group and domain.
    let mut sources = Vec::new();
    let placed_groups = cluster.placed_groups();
    for (assembly, placed) in std::iter::once(member_assembly).chain(pools).zip(&placed_groups) {
        let by_hostname: HashMap<&str, &clusterdef_model::Machine> =
            placed.machines.iter().map(|m| (m.hostname.as_str(), m)).collect();
        for config in assembly.configs {
            let rendered = match &config.hostname {
                Some(h) => by_hostname.get(h.as_str()).map(|m| machine_config_path(m)),
                None => {
                    let domain = config
                        .domain()
                        .and_then(|(_, d)| placed.group.spread.as_ref()?.domains.iter().position(|x| x.name == d));
                    Some(pool_config_path(placed.group, domain))
                }
            };
            if let Some(rendered) = rendered {
                sources.push((config, rendered));
            }
        }
    }
    Ok((cluster, sources))
}

/// The sections whose settings are compared with the render, and how a value is compared:
/// lists of URLs and `name=url` pairs, and fleet metadata, as sets (their order means nothing
/// to the engines).
const COMPARED: &[(&str, &[&str])] = &[
    ("etcd2", &["advertise_client_urls", "listen_client_urls", "initial_cluster"]),
    ("etcd", &["peers"]),
    ("fleet", &["metadata", "etcd_servers"]),
    ("locksmith", &["endpoint"]),
    ("update", &[]),
];

/// Each file read against what the declaration renders for the same machine: a setting the
/// declaration writes differently, leaves out or adds is a note on its line, so nothing
/// changes without a word when the cluster is rendered from the declaration.
fn compare_with_render(cluster: &Cluster, sources: &[(Config, String)], findings: &mut Vec<Finding>) {
    let mut renderable = cluster.clone();
    accept_risks(&mut renderable);
    let Ok(artifacts) = crate::Render::render(&renderable) else { return };
    let rendered_configs =
        crate::parallel::map(sources, |(_, path)| artifacts.text(path).and_then(|t| cloud_config::parse(t).ok()));
    for ((config, _), rendered) in sources.iter().zip(rendered_configs) {
        let Some(rendered) = rendered else { continue };
        let path = config.path.as_str();
        let read = &config.read;
        for (name, as_sets) in COMPARED {
            let pick = |c: &CloudConfig| -> Option<Section> {
                match *name {
                    "etcd2" => c.etcd2.clone(),
                    "etcd" => c.etcd.clone(),
                    "fleet" => c.fleet.clone(),
                    "locksmith" => c.locksmith.clone(),
                    _ => c.update.clone(),
                }
            };
            let (was, now) = (pick(read), pick(&rendered));
            let normal = |key: &str, value: &str| -> Vec<String> {
                let mut items: Vec<String> = if as_sets.contains(&key) {
                    value.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
                } else {
                    vec![value.to_string()]
                };
                items.sort();
                items
            };
            let at = was.as_ref().map_or(0, |s| s.line);
            let known: &[&str] = match *name {
                "etcd2" => ETCD2_KEYS,
                "etcd" => ETCD04_KEYS,
                "fleet" => FLEET_KEYS,
                "locksmith" => LOCKSMITH_KEYS,
                _ => UPDATE_KEYS,
            };
            // Keys the importer does not know are reported as lossy already.
            for (key, field) in was.iter().flat_map(|s| s.fields.iter()).filter(|(k, _)| known.contains(&k.as_str())) {
                match now.as_ref().and_then(|s| s.get(key)) {
                    Some(new) if normal(key, &new.value) == normal(key, &field.value) => {}
                    Some(new) => findings.push(note(
                        path,
                        field.line,
                        format!("coreos.{name}.{key}"),
                        format!("the declaration renders `{}` (here `{}`)", new.value, field.value),
                    )),
                    None => findings.push(note(
                        path,
                        field.line,
                        format!("coreos.{name}.{key}"),
                        "the declaration does not render it",
                    )),
                }
            }
            for (key, field) in now.iter().flat_map(|s| s.fields.iter()) {
                if was.as_ref().is_none_or(|s| s.get(key).is_none()) {
                    findings.push(note(
                        path,
                        at,
                        format!("coreos.{name}.{key}"),
                        format!("the declaration adds `{}`", field.value),
                    ));
                }
            }
        }
        let added: Vec<String> = rendered
            .write_files
            .iter()
            .filter_map(|f| f.path.as_ref().map(|p| p.value.clone()))
            .filter(|p| !read.write_files.iter().any(|f| f.path.as_ref().is_some_and(|x| x.value == *p)))
            .collect();
        if !added.is_empty() {
            findings.push(note(path, 0, "write_files", format!("the declaration adds {}", added.join(", "))));
        }
        let added: Vec<String> = rendered
            .units
            .iter()
            .filter_map(|u| u.name.as_ref().map(|n| n.value.clone()))
            .filter(|n| !read.units.iter().any(|u| u.name.as_ref().is_some_and(|x| x.value == *n)))
            .collect();
        if !added.is_empty() {
            findings.push(note(path, 0, "coreos.units", format!("the declaration adds {}", added.join(", "))));
        }
    }
}

fn sort_machines(configs: &mut [Config]) {
    configs.sort_by(|a, b| {
        let key = |c: &Config| (c.hostname.is_none(), c.hostname.as_deref().map(natural_key), c.path.clone());
        key(a).cmp(&key(b))
    });
}

fn differing_keys(a: &Config, b: &Config) -> Vec<String> {
    a.shape.iter().zip(&b.shape).filter(|(x, y)| x.1 != y.1).map(|(x, _)| x.0.clone()).collect()
}

/// Splits an apparent group whose machines differ into groups that agree, saying how.
fn split(group: Assembly, findings: &mut Vec<Finding>) -> Vec<Assembly> {
    let mut parts: Vec<Assembly> = Vec::new();
    for config in group.configs {
        match parts.iter_mut().find(|p| differing_keys(&p.configs[0], &config).is_empty()) {
            Some(p) => p.configs.push(config),
            None => {
                let name =
                    if parts.is_empty() { group.name.clone() } else { format!("{}-{}", group.name, parts.len() + 1) };
                if let Some(first) = parts.first() {
                    let differing = differing_keys(&first.configs[0], &config);
                    findings.push(note(
                        &config.path,
                        0,
                        format!("group `{}`", group.name),
                        format!(
                            "differs from `{}` in {}; split into group `{name}`",
                            first.configs[0].path,
                            differing.join(", ")
                        ),
                    ));
                }
                parts.push(Assembly { name, configs: vec![config] });
            }
        }
    }
    for p in &mut parts {
        sort_machines(&mut p.configs);
    }
    parts
}

/// The group an assembly of configs describes.
fn assemble(
    a: &Assembly,
    is_members: bool,
    channel: Channel,
    common_keys: usize,
    findings: &mut Vec<Finding>,
) -> Group {
    let first = &a.configs[0];
    let shared = first.hostname.is_none();
    let count = a.configs.len() as u32;
    // A PXE pool whose machines are listed by MAC has as many machines as it lists.
    let listed: Vec<(String, Option<String>)> = a
        .configs
        .iter()
        .flat_map(|c| c.inventory.iter().map(|mac| (mac.clone(), c.domain().map(|(_, d)| d.to_string()))))
        .collect();
    let size = match (shared && !is_members, listed.len()) {
        (true, 0) => Size::Autoscale { min: None, max: None },
        (true, n) => Size::Fixed(n as u32),
        (false, _) => Size::Fixed(count),
    };
    let mut group = Group::new(a.name.clone(), first.role().to_string(), size);
    // The machines in the order the language deals them out.
    let mut order: Vec<usize> = (0..a.configs.len()).collect();
    let kind = a.configs.iter().find_map(|c| c.domain().map(|(k, _)| k));
    if let Some(kind) = kind {
        let mut names: Vec<String> = Vec::new();
        for c in &a.configs {
            match c.domain() {
                Some((k, d)) if k == kind => {
                    if !names.iter().any(|n| n == d) {
                        names.push(d.to_string());
                    }
                }
                _ => findings.push(lossy(
                    &c.path,
                    0,
                    "failure domain",
                    format!("group `{}` is spread across {}, this machine is in none of them", a.name, kind.plural()),
                )),
            }
        }
        if !shared {
            names.sort_by_key(|n| a.configs.iter().position(|c| c.domain().is_some_and(|(_, d)| d == n)));
        } else {
            names.sort();
        }
        group = group.across(kind, names.clone());
        if !shared {
            let wanted: Vec<Option<usize>> =
                a.configs.iter().map(|c| c.domain().and_then(|(_, d)| names.iter().position(|n| n == d))).collect();
            let held = |placement: &[Option<usize>], i: usize| placement.iter().filter(|w| **w == Some(i)).count();
            let dealt = group.placement(count);
            if (0..names.len()).any(|i| held(&dealt, i) != held(&wanted, i)) {
                // Not as many per domain as dealing round-robin gives: say how many each holds.
                if let Some(spread) = &mut group.spread {
                    let domains: Vec<Domain> = names
                        .iter()
                        .enumerate()
                        .map(|(i, n)| Domain { name: n.clone().into(), count: Some(held(&wanted, i) as u32) })
                        .collect();
                    *spread = Spread { kind, domains: domains.into() };
                }
            }
            // The language deals machines out in its own order; each slot takes the next machine
            // of its domain, so every machine keeps its name, address and domain (the names then
            // may need a list rather than a `{n}` pattern).
            let mut queues: BTreeMap<Option<usize>, std::collections::VecDeque<usize>> = BTreeMap::new();
            for (i, w) in wanted.iter().enumerate() {
                queues.entry(*w).or_default().push_back(i);
            }
            order = group.placement(count).iter().filter_map(|slot| queues.get_mut(slot)?.pop_front()).collect();
            if order.len() != a.configs.len() {
                findings.push(lossy(
                    &first.path,
                    0,
                    format!("group `{}`", a.name),
                    format!("its machines cannot be dealt out across its {} as they are", kind.plural()),
                ));
                order = (0..a.configs.len()).collect();
            }
        }
    }
    let domain_key = group.spread.as_ref().map(|s| s.kind.key());
    group.metadata = first
        .metadata
        .iter()
        .filter(|(k, _)| k != "role" && Some(k.as_str()) != domain_key && (is_members || k != "pool"))
        .map(|(k, v)| (k.clone().into(), v.clone().into()))
        .collect();
    if !is_members && first.metadata.iter().find(|(k, _)| k == "pool").is_some_and(|(_, v)| *v != a.name) {
        findings.push(lossy(
            &first.path,
            0,
            "fleet metadata `pool`",
            format!("differs from the group's name `{}`; the language publishes the group's name", a.name),
        ));
    }
    group.channel = first.channel.filter(|c| *c != channel);
    group.reboot = first.reboot;
    group.ssh_keys = first.keys[common_keys.min(first.keys.len())..].iter().cloned().map(Into::into).collect();
    if !listed.is_empty() {
        let mut listed = listed;
        listed.sort();
        group.inventory = listed
            .into_iter()
            .map(|(mac, domain)| clusterdef_model::InventoryEntry { mac: mac.into(), domain: domain.map(Into::into) })
            .collect();
    }
    if let Some(base) = &first.pxe {
        group.boot = Boot::Pxe { url: Some(base.clone().into()) };
    } else if shared && !is_members && !first.platform_address {
        // Only PXE pools' configs go without the platform's address.
        group.boot = Boot::Pxe { url: None };
        findings.push(lossy(&first.path, 0, format!("group `{}`", a.name), "a pool config without `$private_ipv4` is PXE-booted, but no boot script names it, so the boot server is unknown"));
    }
    // Windows: one for all, or one per domain.
    let windows: Vec<(Option<String>, Option<RebootWindow>)> =
        a.configs.iter().map(|c| (c.domain().map(|(_, d)| d.to_string()), c.window)).collect();
    group.windows = if windows.iter().all(|(_, w)| *w == windows[0].1) {
        windows[0].1.map_or(Windows::Any, Windows::All)
    } else {
        let mut per: Vec<(String, RebootWindow)> = Vec::new();
        for (d, w) in &windows {
            match (d, w) {
                (Some(d), Some(w)) => match per.iter().find(|(x, _)| x == d) {
                    Some((_, seen)) if seen != w => findings.push(lossy(
                        &first.path,
                        0,
                        format!("group `{}` reboot windows", a.name),
                        "machines of one domain reboot in different windows",
                    )),
                    Some(_) => {}
                    None => per.push((d.clone(), *w)),
                },
                _ => findings.push(lossy(
                    &first.path,
                    0,
                    format!("group `{}` reboot windows", a.name),
                    "some machines have a window and others of the group none",
                )),
            }
        }
        Windows::PerDomain(per.into_iter().map(|(d, w)| (d.into(), w)).collect())
    };
    if !shared {
        let ordered: Vec<&Config> = order.iter().map(|&i| &a.configs[i]).collect();
        let hostnames: Vec<String> = ordered.iter().map(|c| c.hostname.clone().unwrap_or_default()).collect();
        group.hostnames = hostname_pattern(&group, &hostnames);
        let addresses: Vec<Option<Ipv4Addr>> = ordered.iter().map(|c| c.link.as_ref().map(|l| l.address)).collect();
        group.addressing = addressing(&addresses, &a.name, &first.path, findings);
    }
    group
}

/// The hostnames as the language's default, a pattern the first one suggests (its domain and its
/// number replaced by `{domain}` and `{n}`), or a list.
fn hostname_pattern(group: &Group, hostnames: &[String]) -> Hostnames {
    let mut candidates = vec![Hostnames::Default];
    if let Some(first) = hostnames.first() {
        let digits = first.chars().rev().take_while(char::is_ascii_digit).count();
        let (head, tail) = first.split_at(first.len() - digits);
        if tail == "1" {
            let mut pattern = format!("{head}{{n}}");
            let domain = group.placement(1).first().copied().flatten();
            if let Some(d) = domain.and_then(|d| group.spread.as_ref()?.domains.get(d)) {
                pattern = pattern.replacen(d.name.as_ref(), "{domain}", 1);
            }
            candidates.push(Hostnames::Pattern(pattern.into()));
        }
    }
    for candidate in candidates {
        let mut g = group.clone();
        g.hostnames = candidate.clone();
        let placement = g.placement(hostnames.len() as u32);
        if placement.iter().enumerate().all(|(i, d)| g.hostname(i as u32, *d) == hostnames[i]) {
            return candidate;
        }
    }
    Hostnames::List(hostnames.iter().cloned().map(Into::into).collect())
}

fn addressing(addresses: &[Option<Ipv4Addr>], group: &str, path: &str, findings: &mut Vec<Finding>) -> Addressing {
    let known: Vec<Ipv4Addr> = addresses.iter().flatten().copied().collect();
    if known.is_empty() {
        return Addressing::Dhcp;
    }
    if known.len() != addresses.len() {
        findings.push(lossy(
            path,
            0,
            format!("group `{group}` addresses"),
            "some machines have static addresses and others none; the declaration gives every machine one",
        ));
    }
    let contiguous = known.windows(2).all(|w| u32::from(w[1]) == u32::from(w[0]).wrapping_add(1));
    if contiguous && known.len() > 1 {
        Addressing::Range { first: known[0], last: known[known.len() - 1] }
    } else {
        Addressing::List(known.into())
    }
}

/// The network the static addresses are on: one subnet for all, or one per failure domain.
fn network<'a>(groups: impl Iterator<Item = &'a Assembly>, findings: &mut Vec<Finding>) -> Option<Network> {
    let mut links: Vec<(&Config, &Link)> = Vec::new();
    for g in groups {
        links.extend(g.configs.iter().filter_map(|c| Some((c, c.link.as_ref()?))));
    }
    let (first_config, first) = *links.first()?;
    let segment = |l: &Link| (Ipv4Net::new(Ipv4Net::new(l.address, l.prefix).network(), l.prefix), l.gateway);
    for (c, l) in &links[1..] {
        if l.interface != first.interface || l.dns != first.dns {
            findings.push(lossy(
                &c.path,
                0,
                "static networking",
                format!(
                    "interface or DNS differ from `{}`; the language has one of each per cluster",
                    first_config.path
                ),
            ));
        }
    }
    let mut network = Network {
        subnet: segment(first).0,
        gateway: first.gateway,
        dns: first.dns.clone().into(),
        interface: first.interface.clone().into(),
        domains: Vec::new().into(),
    };
    if links.iter().all(|(_, l)| segment(l) == segment(first)) {
        return Some(network);
    }
    // Segments per failure domain: each domain's machines share one.
    let mut domains: Vec<DomainNetwork> = Vec::new();
    for (c, l) in &links {
        let Some((kind, d)) = c.domain() else {
            findings.push(lossy(
                &c.path,
                0,
                "static networking",
                "machines outside any failure domain are on different subnets",
            ));
            continue;
        };
        let (subnet, gateway) = segment(l);
        match domains.iter().find(|x| x.kind == kind && x.name == d) {
            Some(x) if x.subnet != subnet || x.gateway != gateway => findings.push(lossy(
                &c.path,
                0,
                "static networking",
                format!("machines of {} `{d}` are on different subnets", kind.key()),
            )),
            Some(_) => {}
            None => domains.push(DomainNetwork { kind, name: d.to_string().into(), subnet, gateway }),
        }
    }
    let Some(first_domain) = domains.first() else { return Some(network) };
    // The cluster's subnet is the smallest that holds every domain's.
    let mut prefix = domains.iter().map(|d| d.subnet.prefix).min().unwrap_or(32);
    let base = first_domain.subnet.addr;
    let within = |addr: Ipv4Addr, prefix: u8| Ipv4Net::new(addr, prefix).network();
    while prefix > 0 && !domains.iter().all(|d| within(d.subnet.addr, prefix) == within(base, prefix)) {
        prefix -= 1;
    }
    network.subnet = Ipv4Net::new(within(base, prefix), prefix);
    network.gateway = None;
    network.domains = domains.into();
    Some(network)
}

/// Members the `initial-cluster` names but no config runs, and names that disagree.
fn check_membership(cluster: &Cluster, members: &Assembly, findings: &mut Vec<Finding>) {
    let expected: Vec<String> = cluster.etcd_members().iter().map(|m| m.name.clone()).collect();
    for c in &members.configs {
        let Some(m) = &c.member else { continue };
        if let Some(name) = &m.name
            && c.hostname.as_ref().is_some_and(|h| h != name)
        {
            findings.push(lossy(
                &c.path,
                0,
                "etcd member name",
                format!("`{name}` is not the hostname; the language names each member after its machine"),
            ));
        }
        for (name, url) in &m.initial_cluster {
            if !name.is_empty() && !expected.contains(name) {
                findings.push(lossy(
                    &c.path,
                    0,
                    format!("initial-cluster member `{name}`"),
                    format!("no config here runs it ({url}); the declaration has only the members it has configs for"),
                ));
            }
            let host = url_host(url).unwrap_or_default();
            if name.is_empty()
                && host.parse::<Ipv4Addr>().is_ok()
                && !members.configs.iter().any(|x| x.link.as_ref().is_some_and(|l| l.address.to_string() == host))
            {
                findings.push(lossy(&c.path, 0, format!("etcd peer `{url}`"), "no config here runs it"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.to_string(), text: text.to_string() }
    }

    /// A machine's config: an etcd2 member (by discovery) or a proxy, with `extra` lines under
    /// `coreos:`.
    fn machine(hostname: &str, member: bool, metadata: &str, extra: &str) -> String {
        let etcd2 = if member {
            "  etcd2:\n    discovery: https://discovery.etcd.io/abc\n    listen-peer-urls: http://$private_ipv4:2380\n"
        } else {
            "  etcd2:\n    proxy: on\n    discovery: https://discovery.etcd.io/abc\n"
        };
        format!(
            "#cloud-config\nhostname: {hostname}\ncoreos:\n{etcd2}  fleet:\n    public-ip: $private_ipv4\n    metadata: {metadata}\n{extra}"
        )
    }

    #[test]
    fn machines_of_one_group_that_differ_are_split_and_the_keys_named() {
        let files = [
            file("m1.yml", &machine("m-1", true, "role=central", "")),
            file("m2.yml", &machine("m-2", true, "role=central", "")),
            file("m3.yml", &machine("m-3", true, "role=central", "")),
            file("w1.yml", &machine("worker-1", false, "role=worker", "  update:\n    group: beta\n")),
            file("w2.yml", &machine("worker-2", false, "role=worker", "  update:\n    group: alpha\n")),
        ];
        let imported = import(&files, Some("t")).expect("imports");
        let pools: Vec<(&str, Option<Channel>)> =
            imported.cluster.pools.iter().map(|p| (p.name.as_ref(), p.channel)).collect();
        assert_eq!(pools, [("worker", Some(Channel::Beta)), ("worker-2", Some(Channel::Alpha))]);
        let split = imported.findings.iter().find(|f| f.what == "group `worker`").expect("the split is said");
        assert_eq!((split.file.as_str(), split.severity), ("w2.yml", Severity::Note));
        assert!(split.why.contains("coreos.update.group") && split.why.contains("`worker-2`"), "{}", split.why);
    }

    #[test]
    fn windows_per_domain_and_etcd_0_4_members_are_read() {
        let member = |n: u8, cabinet: &str, start: &str| {
            file(
                &format!("c{n}.yml"),
                &format!(
                    "#cloud-config\nhostname: central-{n}\ncoreos:\n  etcd:\n    name: central-{n}\n    addr: 10.0.0.1{n}:4001\n    peer-addr: 10.0.0.1{n}:7001\n  fleet:\n    metadata: role=central,cabinet={cabinet}\n  update:\n    reboot-strategy: reboot\n  locksmith:\n    window-start: {start}\n    window-length: 1h\n  units:\n    - name: 00-eth0.network\n      runtime: true\n      content: |\n        [Match]\n        Name=eth0\n        [Network]\n        Address=10.0.0.1{n}/24\n"
                ),
            )
        };
        let files = [member(1, "a", "Mon 01:00"), member(2, "b", "Mon 03:00"), member(3, "c", "Mon 05:00")];
        let imported = import(&files, Some("t")).expect("imports");
        let cluster = &imported.cluster;
        assert_eq!(cluster.etcd_release, EtcdRelease::V0_4);
        assert_eq!(cluster.members.reboot, RebootStrategy::Reboot);
        let Windows::PerDomain(windows) = &cluster.members.windows else { panic!("{:?}", cluster.members.windows) };
        let starts: Vec<(&str, String)> = windows.iter().map(|(d, w)| (d.as_ref(), w.start_text())).collect();
        assert_eq!(
            starts,
            [("a", "Mon 01:00".to_string()), ("b", "Mon 03:00".to_string()), ("c", "Mon 05:00".to_string())]
        );
        assert_eq!(
            cluster.members.addressing,
            Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 13) }
        );
        assert!(!imported.is_lossy(), "{:#?}", imported.findings);
    }

    #[test]
    fn what_coreos_cloudinit_reads_otherwise_is_reported_at_its_line() {
        let text = machine(
            "m-1",
            true,
            "role=member",
            "  units:\n    - name: x.service\n      enable: \"true\"\n      command: start\n  update:\n    reboot-strategy: best-effort\n",
        );
        let imported = import(&[file("m.yml", &text), file("notes.md", "# hello\n")], None).expect("imports");
        let at: Vec<(usize, &str, Severity)> = imported
            .findings
            .iter()
            .filter(|f| f.file == "m.yml" && f.line > 0 && f.severity == Severity::Lossy)
            .map(|f| (f.line, f.what.as_str(), f.severity))
            .collect();
        assert!(at.contains(&(12, "coreos.units[0].enable", Severity::Lossy)), "{at:?}");
        assert!(at.contains(&(11, "coreos.units `x.service`", Severity::Lossy)), "{at:?}");
        assert!(at.contains(&(15, "coreos.update.reboot-strategy", Severity::Lossy)), "{at:?}");
        assert!(imported.findings.iter().any(|f| f.file == "notes.md" && f.severity == Severity::Note));
        assert_eq!(imported.cluster.name, "imported");
        let none = import(&[file("w.yml", &machine("w", false, "role=worker", ""))], None).expect_err("no member");
        assert!(none.message.contains("no config runs an etcd member"), "{none}");
    }

    #[test]
    fn unit_bodies_lose_only_the_fleet_section_and_hostnames_sort_by_number() {
        assert_eq!(body_without_fleet_section("[Service]\nA=1\n\n[X-Fleet]\nGlobal=true\n"), "[Service]\nA=1\n");
        assert_eq!(
            body_without_fleet_section("[X-Fleet]\nGlobal=true\n[Install]\nWantedBy=x\n"),
            "[Install]\nWantedBy=x\n"
        );
        let mut names = vec!["w-10", "w-2", "w-1"];
        names.sort_by_key(|n| natural_key(n));
        assert_eq!(names, ["w-1", "w-2", "w-10"]);
    }
}
