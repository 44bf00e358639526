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
//!
//! Stages, one module each: `machine` reads each cloud-config, `units` each fleet unit,
//! `assemble` groups the machines and builds the model, `compare` renders the model and
//! compares each file read with its rendered counterpart.

mod assemble;
mod assembly;
mod compare;
mod compare_ignition;
mod config;
mod evidence;
mod group;
mod host;
mod ignition_machine;
mod machine;
mod matchbox;
mod own_render;
mod scopes;
mod units;

use std::collections::BTreeMap;
use std::fmt;

use clusterdef_model::{Cluster, Violation};

use crate::read::{butane, cloud_config};
use assemble::build;
use compare::compare_with_render;
use machine::read_config;
use units::read_units;

pub use crate::output::read_sources as read_dir;
pub use evidence::{Evidence, How};

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
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Severity {
    /// Something the cluster does that the declaration does not say: importing it loses it.
    Lossy,
    /// Something the declaration says another way, or a file that was not read, with the reason.
    Note,
}

/// Something the importer could not carry into the declaration, or chose how to carry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Finding {
    /// The file.
    pub file: String,
    /// The 1-based line; 0 when the finding is about the whole file (`null` in JSON, "the
    /// whole file" in text).
    #[cfg_attr(feature = "serde", serde(serialize_with = "line_or_null"))]
    pub line: usize,
    /// How much it matters.
    pub severity: Severity,
    /// What it is about: a key, a unit line, a file.
    pub what: String,
    /// Why.
    pub why: String,
}

#[cfg(feature = "serde")]
fn line_or_null<S: serde::Serializer>(line: &usize, s: S) -> Result<S::Ok, S::Error> {
    match line {
        0 => s.serialize_none(),
        line => s.serialize_some(line),
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Lossy => "lossy",
            Severity::Note => "note",
        };
        match self.line {
            0 => write!(f, "{} (the whole file): {severity}: {}: {}", self.file, self.what, self.why),
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
    /// Each cloud-config read, with the path of the config the declaration renders for the
    /// same machine (or pool): what a reader compares them by.
    pub counterparts: Vec<Counterpart>,
    /// Where each field of the declaration comes from ([`Imported::fields_without_evidence`]
    /// checks that every one does).
    pub evidence: Vec<Evidence>,
}

/// A file read and the rendered config that stands for it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Counterpart {
    /// The file read, as in [`SourceFile::path`].
    pub file: String,
    /// The path, in the render, of the config for the same machine or pool.
    pub rendered: String,
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

/// Unit file suffixes fleet takes.
const UNIT_SUFFIXES: &[&str] =
    &[".service", ".socket", ".timer", ".path", ".mount", ".automount", ".device", ".target", ".swap"];

/// What an import is told that the files cannot say.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// The cluster's name, when the files do not say it (a static `initial-cluster-token` does).
    pub name: Option<&'a str>,
    /// How many machines run a member config that every member shares (no hostname, no
    /// address of its own): the launcher knows, the files do not.
    pub member_count: Option<u32>,
}

/// Reads `files` as one cluster. `name` names it when the files do not (its static
/// `initial-cluster-token` does).
pub fn import(files: &[SourceFile], name: Option<&str>) -> Result<Imported, ImportError> {
    import_with(files, &Options { name, member_count: None })
}

/// Reads `files` as one cluster, told what `options` say.
pub fn import_with(files: &[SourceFile], options: &Options<'_>) -> Result<Imported, ImportError> {
    let mut findings = Vec::new();
    let has_cloud_configs = files.iter().any(|f| cloud_config::is_cloud_config(&f.text));
    if let Some((record_file, record)) = own_render::recognise(files, has_cloud_configs, &mut findings)? {
        return own_render::import_render(record_file, record, files, findings);
    }
    let mut configs = Vec::new();
    let mut unit_files = Vec::new();
    let mut boot_scripts = Vec::new();
    let mut dnsmasq = Vec::new();
    // Reading YAML is most of an import's time, and each file is read on its own: on every core.
    let read = crate::parallel::map(files, |file| {
        if is_ignition(&file.text) || butane::is_butane(&file.text) {
            let mut found = Vec::new();
            let config = read_flatcar_machine(file, &mut found);
            return Some((config, found));
        }
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
    let served = matchbox::read(files, &mut findings);
    for (file, read) in files.iter().zip(read) {
        let base = file.path.rsplit('/').next().unwrap_or(&file.path);
        if served.read.contains(&file.path) {
            // A matchbox group or profile, read above.
        } else if served.is_asset(&file.path) {
            findings.push(note(
                &file.path,
                0,
                "the file",
                "a matchbox asset, served as it is (a kernel, an image, a script): not read",
            ));
        } else if served.install_stages.contains(&file.path) {
            findings.push(note(&file.path, 0, "the file", "a machine's install stage served by matchbox (it runs `flatcar-install`): read for the disk and the boot server, not as a machine; the declaration's matchbox render serves its own installer"));
        } else if let Some((config, found)) = read {
            configs.extend(config);
            findings.extend(found);
        } else if UNIT_SUFFIXES.iter().any(|s| base.len() > s.len() && base.ends_with(s)) {
            unit_files.push((file, base.to_string()));
        } else if file.text.contains("cloud-config-url=") {
            boot_scripts.push(file);
        } else if file.text.lines().any(|l| l.starts_with("dhcp-range=") || l.starts_with("dhcp-boot=")) {
            dnsmasq.push(file);
        } else if file.path == crate::output::DECLARATION {
            // Said when the record was looked at.
        } else if file.text.starts_with("#!") {
            findings.push(lossy(
                &file.path,
                1,
                "the file",
                "a script run as user-data (`#!`), not a cloud-config: the machine it sets up is configured by the script, which the language cannot declare, so that machine is not in the declaration",
            ));
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
        let message = "no machine's config was found: no `#cloud-config` file and no Ignition config Ignition reads";
        return Err(ImportError { message: message.into(), findings });
    }
    let ignition = configs.iter().filter(|c| matches!(c.read, config::Read::Ignition { .. })).count();
    if ignition > 0 && ignition < configs.len() {
        return Err(ImportError {
            message: format!(
                "{ignition} Ignition configs and {} cloud-configs: one cluster runs one OS (Flatcar reads Ignition, CoreOS cloud-configs); import each OS's machines from a directory of their own",
                configs.len() - ignition
            ),
            findings,
        });
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
    let mut ledger = evidence::Ledger::default();
    for (i, unit) in units.iter().enumerate() {
        // A unit comes from its file, or from the copy a member submits.
        let field = format!("units[{i}] `{}`", unit.name);
        match unit_files.iter().find(|(_, base)| *base == unit.name) {
            Some((file, _)) => ledger.read(field, &file.path, 0),
            None => {
                let copy = configs.iter().find(|c| c.unit_copies.iter().any(|(n, _)| *n == unit.name));
                ledger.read(field, copy.map_or("", |c| c.path.as_str()), 0);
            }
        }
    }
    for config in &mut configs {
        if let Some((mac, group)) = served.machines.get(&config.path) {
            config.install_disk = served.disks.get(mac).cloned();
            // Without a `GROUP` of its own, a machine updates on the channel it was installed from.
            if let (None, Some((channel, install))) = (config.channel, served.channels.get(mac)) {
                config.channel = clusterdef_model::Channel::from_name(channel);
                let why = match config.channel {
                    Some(_) => format!(
                        "installs {} from channel `{channel}`, and its config sets no `GROUP`: the machine updates on that channel, declared so",
                        config.path
                    ),
                    None => {
                        format!("installs {} from channel `{channel}`, which the language does not name", config.path)
                    }
                };
                let severity = if config.channel.is_some() { note } else { lossy };
                findings.push(severity(install, 0, "flatcar-install -C", why));
            }
            config.mac = Some((mac.clone(), group.clone()));
        }
    }
    let (mut cluster, sources) = build(configs, units, options, &mut ledger, &mut findings)?;
    if let Some((url, file)) = &served.boot_server {
        cluster.boot_server = Some(url.clone().into());
        cluster.boot_server_kind = clusterdef_model::BootServerKind::Matchbox;
        ledger.read("boot_server", file, 0);
        ledger.read("boot_server_kind", file, 0);
    }
    compare_with_render(&cluster, &sources, &mut findings);
    let counterparts =
        sources.iter().map(|(c, rendered)| Counterpart { file: c.path.clone(), rendered: rendered.clone() }).collect();
    findings.sort_by(|a, b| (&a.file, a.line, &a.what).cmp(&(&b.file, b.line, &b.what)));
    findings.dedup();
    Ok(Imported { cluster, findings, counterparts, evidence: ledger.0 })
}

/// Adds an `allow(rule, reason = "imported: …")` for every allowable rule the cluster breaks,
/// so the declaration compiles as it is and each risk stays visible in it. Returns the
/// violations of rules that cannot be allowed.
pub fn accept_risks(cluster: &mut Cluster) -> Vec<Violation> {
    cluster.accept_risks(|v| format!("imported: {}", v.message))
}

/// A Flatcar machine's config, Ignition or Butane (translated as Butane translates it, each
/// finding at its Butane line). `None`, and a finding, when it is neither.
fn read_flatcar_machine(file: &SourceFile, found: &mut Vec<Finding>) -> Option<config::Config> {
    let (json, lines, skip) = if is_ignition(&file.text) {
        (file.text.clone(), crate::read::json_lines::JsonLines::new(&file.text), Vec::new())
    } else {
        match butane::translate(&file.text) {
            Ok(t) => {
                for (pointer, line, why) in &t.untranslated {
                    found.push(lossy(&file.path, *line, pointer.as_str(), *why));
                }
                let skip = t.untranslated_entries();
                (t.ignition, crate::read::json_lines::JsonLines::from_pointers(t.lines), skip)
            }
            Err(e) => {
                found.push(lossy(&file.path, 1, "the file", format!("not a Butane config Butane translates: {e}")));
                return None;
            }
        }
    };
    match crate::read::ignition::parse(&json) {
        Ok(config) => Some(ignition_machine::read_ignition(file, json, config, lines, &skip, found)),
        Err(e) => {
            found.push(lossy(&file.path, 1, "the file", format!("not an Ignition config Ignition reads: {e}")));
            None
        }
    }
}

/// Whether a file is meant as an Ignition config: a JSON object with an `ignition` section.
fn is_ignition(text: &str) -> bool {
    text.trim_start().starts_with('{') && text.contains("\"ignition\"")
}

pub(crate) fn lossy(file: &str, line: usize, what: impl Into<String>, why: impl Into<String>) -> Finding {
    Finding { file: file.to_string(), line, severity: Severity::Lossy, what: what.into(), why: why.into() }
}

pub(crate) fn note(file: &str, line: usize, what: impl Into<String>, why: impl Into<String>) -> Finding {
    Finding { file: file.to_string(), line, severity: Severity::Note, what: what.into(), why: why.into() }
}

#[cfg(test)]
mod tests;
