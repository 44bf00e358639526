//! One Ignition config (a Flatcar machine's) read into what it says of its machine, as the
//! machine's programs read it: the hostname from `/etc/hostname`, the channel and reboot
//! settings from `update.conf` (as update-engine and locksmithd read it), the static address
//! from a `.network` file, etcd from the `ETCD_*` variables its unit gets (the
//! `etcd-member.service` drop-in Flatcar's docs and clusterdef write, or an environment file
//! such as Typhoon's `/etc/etcd/etcd.env`), the SSH keys of `core`. Every other file, unit and
//! drop-in is the machine's own configuration (host items, scoped across machines later);
//! what the language cannot say is lossy at its line. No fleet on Flatcar: no metadata, so no
//! failure domain is read (the cluster file or `clusterdef render`'s record says them).

use std::borrow::Cow;
use std::net::Ipv4Addr;

use clusterdef_model::own::{ETCD_DROPIN, GATEWAY_UNIT};
use clusterdef_model::{
    Channel, DropIn, EtcdRelease, HostFile, HostUnit, Owner, RebootStrategy, RebootWindow, UnitBody,
};

use crate::read::fleet;
use crate::read::ignition::{self, Contents};
use crate::read::json_lines::JsonLines;

use super::compare_ignition::remote_reference;
use super::config::{Config, MemberSection, Read, ReadAt, read_link, url_host};
use super::host::HostItem;
use super::machine::{not_a_channel, not_a_strategy};
use super::{Finding, SourceFile, lossy, note};

/// The files update-engine and locksmithd read their settings from (Flatcar's; CoreOS's path
/// Flatcar still reads).
pub(super) const UPDATE_CONF: [&str; 2] = ["/etc/flatcar/update.conf", "/etc/coreos/update.conf"];

/// The environment file etcd runs with in Typhoon's controllers.
const ETCD_ENV_FILE: &str = "/etc/etcd/etcd.env";

/// Where etcd's container sees its TLS directory.
const CONTAINER_TLS_DIR: &str = "/etc/ssl/certs";

fn text(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_string())
}

/// `KEY=VALUE` lines as an environment file (and `update.conf`) holds them: comments and blank
/// lines skipped, one pair of surrounding quotes removed.
pub(super) fn env_lines(body: &str) -> Vec<(String, String)> {
    body.lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            let v = v.trim();
            let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

/// The `Environment=` assignments of a unit or drop-in, as systemd reads them: quoted
/// assignments unescaped, `%%` a `%`. Unquoted values are split on spaces.
pub(super) fn unit_environment(body: &str) -> Vec<(String, String)> {
    let Ok(options) = fleet::parse_unit_file(body) else { return Vec::new() };
    let mut found = Vec::new();
    for o in options.iter().filter(|o| o.section == "Service" && o.name == "Environment") {
        let v = o.value.trim();
        let assignments: Vec<String> = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            Some(inner) => vec![inner.replace("\\\"", "\"").replace("\\\\", "\\")],
            None => v.split_whitespace().map(str::to_string).collect(),
        };
        for a in assignments {
            if let Some((k, v)) = a.replace("%%", "%").split_once('=') {
                found.push((k.to_string(), v.to_string()));
            }
        }
    }
    found
}

/// The host directory a `docker run -v HOST:/etc/ssl/certs` (or `--volume`) mounts as etcd's
/// TLS directory, in a unit's body.
fn mounted_tls_dir(body: &str) -> Option<String> {
    body.split_whitespace()
        .filter_map(|w| w.split_once(':'))
        .find(|(_, inside)| inside.trim_end_matches(":ro") == CONTAINER_TLS_DIR)
        .map(|(host, _)| host.trim_start_matches("--volume=").to_string())
}

/// What the reader gathers before it knows everything (the TLS directory can come after the
/// variables that name files in it).
#[derive(Default)]
struct Etcd {
    vars: Vec<(String, String)>,
    line: usize,
    tls_dir: Option<String>,
    gateway: bool,
}

impl Etcd {
    fn get(&self, key: &str) -> Option<&str> {
        self.vars.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }
}

/// Reads `config` (the file `file`, whose values are on the lines `lines` gives; its Ignition
/// JSON `json`, the file itself or a Butane config's translation) as one machine. The entries
/// at the pointers `skip` (part of them untranslated, and said so) are not carried.
pub(super) fn read_ignition(
    file: &SourceFile,
    json: String,
    config: ignition::Config,
    lines: JsonLines,
    skip: &[String],
    findings: &mut Vec<Finding>,
) -> Config {
    let path = file.path.as_str();
    let at = |pointer: &str| lines.line(pointer);
    let skip: std::collections::HashSet<&str> = skip.iter().map(String::as_str).collect();
    let mut read_at: Vec<(&'static str, usize)> = Vec::new();
    for (pointer, why) in &config.unread {
        findings.push(lossy(path, at(pointer), pointer.as_str(), *why));
    }
    // What the machine gets: the config with the configs it merges applied, each entry at the
    // pointer where the file says it (a merged config's entries at its reference).
    let merged = ignition::merged(&config);
    for (pointer, url) in &merged.remote {
        let why = remote_reference(url);
        findings.push(lossy(path, at(pointer), pointer.as_str(), why));
    }
    for (i, reference) in config.merge.iter().enumerate() {
        if let ignition::Reference::Inline(_) = reference {
            let pointer = format!("/ignition/config/merge/{i}");
            findings.push(note(path, at(&pointer), pointer.as_str(), "a config in a `data:` URL, merged as Ignition merges it (its values winning); each entry it brings is read at this line"));
        }
    }
    if let Some(ignition::Reference::Inline(_)) = &config.replace {
        findings.push(note(path, at("/ignition/config/replace"), "/ignition/config/replace", "a config in a `data:` URL that replaces this one, as Ignition replaces it: what it holds is read, at this line"));
    }
    let mut keys = Vec::new();
    for ignition::Located { pointer, entry: user } in &merged.users {
        if skip.contains(pointer.as_str()) {
            continue;
        }
        if user.name == "core" {
            keys = user.ssh_authorized_keys.clone();
            read_at.push(("ssh_authorized_keys", at(pointer)));
        } else {
            findings.push(lossy(
                path,
                at(pointer),
                format!("user `{}` ({pointer})", user.name),
                "the language declares the SSH keys of `core` only",
            ));
        }
    }
    let (mut hostname, mut link, mut address) = (None, None, None);
    let (mut channel, mut reboot, mut reboot_from_unit, mut window, mut locksmith_group) =
        (None, RebootStrategy::EtcdLock, None, None, None);
    let mut locksmith_tls: [Option<String>; 3] = [None, None, None];
    let mut etcd = Etcd::default();
    let mut host = Vec::new();
    for ignition::Located { pointer, entry: f } in &merged.files {
        if skip.contains(pointer.as_str()) {
            continue;
        }
        let line = at(pointer);
        let what = format!("file `{}` ({pointer})", f.path);
        let body = match &f.contents {
            None => Some(String::new()),
            Some(Contents::Data(bytes)) => String::from_utf8(bytes.clone()).ok(),
            Some(Contents::Remote(url)) => {
                findings.push(lossy(
                    path,
                    line,
                    what,
                    format!("fetched from {url} at boot: what it holds cannot be read offline"),
                ));
                continue;
            }
        };
        let Some(body) = body else {
            findings.push(lossy(
                path,
                line,
                what,
                "bytes that are not UTF-8 text: the language writes a file's contents as text",
            ));
            continue;
        };
        if !f.append.is_empty() {
            findings.push(lossy(path, line, what, "`append`: the language writes a file whole"));
            continue;
        }
        match f.path.as_str() {
            "/etc/hostname" if hostname.is_none() => {
                let name = body.trim();
                // A domain name (Typhoon's machines are named by theirs): the language names a
                // machine by one DNS label, and writes that.
                if let Some((label, domain)) = name.split_once('.') {
                    findings.push(lossy(path, line, "hostname", format!("`{name}` is a domain name: the language names a machine by one label, so it is declared as `{label}` and `/etc/hostname` holds that; `{domain}` is not declared (name the machines in DNS)")));
                    hostname = Some(label.to_string());
                } else {
                    hostname = Some(name.to_string());
                }
                read_at.push(("hostname", line));
            }
            p if UPDATE_CONF.contains(&p) => {
                let (mut start, mut length) = (None, None);
                for (key, value) in env_lines(&body) {
                    match key.as_str() {
                        "GROUP" => {
                            read_at.push(("coreos.update.group", line));
                            channel = Channel::from_name(&value);
                            if channel.is_none() {
                                findings.push(lossy(path, line, format!("{p} GROUP"), not_a_channel(&value)));
                            }
                        }
                        "REBOOT_STRATEGY" => {
                            read_at.push(("coreos.update.reboot-strategy", line));
                            reboot = RebootStrategy::from_name(&value).unwrap_or_else(|| {
                                findings.push(lossy(
                                    path,
                                    line,
                                    format!("{p} REBOOT_STRATEGY"),
                                    not_a_strategy(&value),
                                ));
                                RebootStrategy::EtcdLock
                            });
                        }
                        "LOCKSMITHD_GROUP" => {
                            read_at.push(("coreos.locksmith.group", line));
                            locksmith_group = Some(value);
                        }
                        "LOCKSMITHD_REBOOT_WINDOW_START" => start = Some(value),
                        "LOCKSMITHD_REBOOT_WINDOW_LENGTH" => length = Some(value),
                        "LOCKSMITHD_ETCD_CAFILE" => locksmith_tls[0] = Some(value),
                        "LOCKSMITHD_ETCD_CERTFILE" => locksmith_tls[1] = Some(value),
                        "LOCKSMITHD_ETCD_KEYFILE" => locksmith_tls[2] = Some(value),
                        // Where locksmithd reaches etcd follows from the members (compared with
                        // the render like the rest).
                        "LOCKSMITHD_ENDPOINT" => {}
                        other => findings.push(lossy(
                            path,
                            line,
                            format!("{p} {other}"),
                            "the language has no setting for it",
                        )),
                    }
                }
                match (start, length) {
                    (Some(s), Some(l)) => match RebootWindow::parse(&s, &l) {
                        Ok(w) => {
                            window = Some(w);
                            read_at.push(("coreos.locksmith window", line));
                        }
                        Err(e) => findings.push(lossy(
                            path,
                            line,
                            format!("{p} reboot window"),
                            format!("not a window the language reads: {e}"),
                        )),
                    },
                    (None, None) => {}
                    _ => findings.push(lossy(
                        path,
                        line,
                        format!("{p} reboot window"),
                        "start and length must be set together (locksmithd exits otherwise)",
                    )),
                }
            }
            p if p.starts_with("/etc/systemd/network/") && p.ends_with(".network") && link.is_none() => {
                match read_link(&body) {
                    Ok(l) => {
                        address = Some((l.address, ReadAt { line, key: "a `.network` file" }));
                        link = Some(l);
                    }
                    Err(why) => findings.push(lossy(path, line, what, why)),
                }
            }
            ETCD_ENV_FILE => {
                etcd.vars.extend(env_lines(&body));
                etcd.line = line;
            }
            _ => host.push((line, HostItem::File(host_file(f, body)))),
        }
    }
    for ignition::Located { pointer, entry: (dir, _) } in &merged.directories {
        findings.push(lossy(
            path,
            at(pointer),
            format!("directory `{dir}` ({pointer})"),
            "the language declares files, units and drop-ins; a file's directories are made for it",
        ));
    }
    for ignition::Located { pointer, entry: (link_path, _, _) } in &merged.links {
        findings.push(lossy(
            path,
            at(pointer),
            format!("link `{link_path}` ({pointer})"),
            "the language declares no links",
        ));
    }
    for ignition::Located { pointer, entry: unit } in &merged.units {
        if skip.contains(pointer.as_str()) {
            continue;
        }
        let line = at(pointer);
        let what = format!("unit `{}` ({pointer})", unit.name);
        match unit.name.as_str() {
            "etcd-member.service" => {
                etcd.line = etcd.line.max(line);
                if let Some(body) = &unit.contents {
                    // Typhoon's: a unit of its own that runs etcd's image with an environment file.
                    etcd.vars.extend(unit_environment(body));
                    etcd.tls_dir = etcd.tls_dir.take().or_else(|| mounted_tls_dir(body));
                    findings.push(note(path, line, what.clone(), "read for etcd's settings; the declaration runs Flatcar's own etcd-member.service with its drop-in, so this unit's own body is not kept (how etcd runs is compared with the render below)"));
                }
                for (name, body) in &unit.dropins {
                    let body = body.as_deref().unwrap_or_default();
                    etcd.vars.extend(unit_environment(body));
                    if name != ETCD_DROPIN {
                        findings.push(note(
                            path,
                            line,
                            format!("{what} drop-in `{name}`"),
                            format!("read for etcd's settings; the declaration writes them as `{ETCD_DROPIN}`"),
                        ));
                    }
                }
            }
            GATEWAY_UNIT => etcd.gateway = true,
            "kubelet.service" if unit.contents.as_deref().and_then(kubelet_version).is_some() => {
                let version = unit.contents.as_deref().and_then(kubelet_version).unwrap_or_default();
                findings.push(note(path, line, what.clone(), format!("a kubelet of Kubernetes {version}, run by the machine's own units (as Typhoon runs it): clusterdef runs Kubernetes itself, control plane and kubelets, when the declaration says `kubernetes: {{ version: \"{version}\" }}`; declared without it, this unit is the machine's host configuration like any other")));
                host.extend(own_unit(unit, (line, &what), findings, path));
            }
            "locksmithd.service" | "update-engine.service" if unit.mask == Some(true) => {
                reboot = RebootStrategy::Off;
                reboot_from_unit = Some(line);
                findings.push(note(
                    path,
                    line,
                    what,
                    "masked: no update ever reboots the machine, declared as `reboot: off`",
                ));
            }
            _ => host.extend(own_unit(unit, (line, &what), findings, path)),
        }
    }
    // etcd's settings, as its variables say them.
    let member = etcd.get("ETCD_NAME").map(|name| {
        read_at.push(("etcd", etcd.line));
        read_at.push(("etcd name", etcd.line));
        let mut initial_cluster = Vec::new();
        if let Some(list) = etcd.get("ETCD_INITIAL_CLUSTER") {
            read_at.push(("initial-cluster", etcd.line));
            for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
                match entry.split_once('=') {
                    Some((n, url)) => initial_cluster.push((n.to_string(), url.to_string())),
                    None => findings.push(lossy(
                        path,
                        etcd.line,
                        format!("ETCD_INITIAL_CLUSTER entry `{entry}`"),
                        "not name=url; etcd refuses it",
                    )),
                }
            }
        }
        let token = etcd.get("ETCD_INITIAL_CLUSTER_TOKEN").map(str::to_string);
        if token.is_some() {
            read_at.push(("initial-cluster-token", etcd.line));
        }
        MemberSection { name: Some(name.to_string()), initial_cluster, token }
    });
    if etcd.get("ETCD_PROXY").is_some_and(|p| p != "off") || etcd.get("ETCD_NAME").is_none() && !etcd.vars.is_empty() {
        findings.push(lossy(path, etcd.line, "etcd", "etcd settings without ETCD_NAME (or a proxy): the language runs members and, on the other machines, clusterdef's gateway; not read"));
    }
    let discovery = etcd.get("ETCD_DISCOVERY").map(|url| {
        read_at.push(("discovery", etcd.line));
        Some(url.to_string())
    });
    let tls_dir = etcd.get("ETCD_SSL_DIR").map(str::to_string).or(etcd.tls_dir.clone());
    let on_host = |file: &str| match (&tls_dir, file.strip_prefix(CONTAINER_TLS_DIR)) {
        (Some(dir), Some(rest)) => format!("{}{rest}", dir.trim_end_matches('/')),
        _ => file.to_string(),
    };
    let tls = match (etcd.get("ETCD_TRUSTED_CA_FILE"), etcd.get("ETCD_CERT_FILE"), etcd.get("ETCD_KEY_FILE")) {
        (Some(ca), Some(cert), Some(key)) => Some((on_host(ca), on_host(cert), on_host(key))),
        _ => match &locksmith_tls {
            [Some(ca), Some(cert), Some(key)] => Some((ca.clone(), cert.clone(), key.clone())),
            _ => None,
        },
    };
    let peer_url = etcd
        .get("ETCD_INITIAL_ADVERTISE_PEER_URLS")
        .map(|u| u.split(',').next().unwrap_or_default().trim().to_string());
    if address.is_none()
        && member.is_some()
        && let Some(url) = &peer_url
    {
        match url_host(url).and_then(|h| h.parse::<Ipv4Addr>().ok()) {
            Some(a) => address = Some((a, ReadAt { line: etcd.line, key: "ETCD_INITIAL_ADVERTISE_PEER_URLS" })),
            None => findings.push(lossy(path, etcd.line, "ETCD_INITIAL_ADVERTISE_PEER_URLS", format!("`{url}` names the member by a DNS name: the language declares members by static address (their peer URLs are made of it), so this member has none; declare `addresses:` for the members"))),
        }
    }
    let release = (member.is_some() || etcd.gateway).then_some(EtcdRelease::V2);
    if let Some(h) = &hostname
        && h.contains('$')
    {
        findings.push(lossy(
            path,
            read_at.iter().find(|(s, _)| *s == "hostname").map_or(0, |(_, l)| *l),
            "hostname",
            "a substituted hostname; the language names machines itself",
        ));
    }
    Config {
        path: path.to_string(),
        hostname,
        keys,
        metadata: Vec::new(),
        member,
        release,
        discovery,
        tls,
        link,
        channel,
        reboot,
        reboot_from_unit,
        window,
        locksmith_group,
        platform_address: false,
        address,
        peer_url,
        pxe: None,
        inventory: Vec::new(),
        mac: None,
        install_disk: None,
        started: Vec::new(),
        started_line: 0,
        unit_copies: Vec::new(),
        host,
        read: Read::Ignition { json, at: lines, lines: read_at },
    }
}

/// A unit of the machine's own, as host items: the unit (its body, `enabled`, `mask`) and its
/// drop-ins, each at `line`.
fn own_unit(
    unit: &ignition::Unit,
    (line, what): (usize, &str),
    findings: &mut Vec<Finding>,
    path: &str,
) -> Vec<(usize, HostItem)> {
    let name = unit.name.as_str();
    let mut host = Vec::new();
    let body = unit.contents.as_deref().map(|b| UnitBody::Inline(text(b)));
    let installs = unit.contents.as_deref().is_some_and(clusterdef_model::installs);
    let enabled = unit.enabled == Some(true);
    // Ignition leaves a unit it is not told to enable as the image has it: a new
    // unit is not enabled, which the language says as `enable: false` when it installs.
    let enable = match (enabled, installs) {
        (true, true) | (false, false) => None,
        (true, false) => Some(true),
        (false, true) => Some(false),
    };
    let mask = unit.mask == Some(true);
    if body.is_some() || enabled || mask {
        let unit = HostUnit { name: text(name), body, enable, mask, command: None };
        host.push((line, HostItem::Unit(unit)));
    }
    for (dropin, contents) in &unit.dropins {
        match contents {
            Some(contents) => host.push((
                line,
                HostItem::DropIn(DropIn {
                    unit: text(name),
                    name: text(dropin),
                    body: UnitBody::Inline(text(contents)),
                }),
            )),
            None => findings.push(lossy(
                path,
                line,
                format!("{what} drop-in `{dropin}`"),
                "no contents: Ignition writes nothing for it",
            )),
        }
    }
    host
}

/// The Kubernetes version of a kubelet a unit runs from an image (`…/kubelet:v1.36.1`).
fn kubelet_version(body: &str) -> Option<String> {
    let at = body.find("kubelet:v")? + "kubelet:".len();
    let version: String =
        body[at..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '.' || *c == '-').collect();
    (version.len() > 1).then_some(version)
}

/// A file of `storage.files` as a host file: its mode (Ignition's default 0644), owner and
/// contents.
fn host_file(f: &ignition::File, body: String) -> HostFile {
    let owner = |o: &Option<ignition::Owner>| match o {
        None => None,
        Some(ignition::Owner::Name(n)) => Some(Owner::Name(text(n))),
        Some(ignition::Owner::Id(id)) => Some(Owner::Id(*id)),
    };
    HostFile {
        path: text(&f.path),
        contents: UnitBody::Inline(Cow::Owned(body)),
        mode: f.mode.unwrap_or(0o644),
        owner: owner(&f.user),
        group: owner(&f.group),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_assignments_read_as_systemd_and_env_files_read_them() {
        let dropin = "[Service]\nEnvironment=\"ETCD_NAME=a b\"\nEnvironment=\"X=100%%\" \nEnvironment=A=1 B=2\n";
        assert_eq!(
            unit_environment(dropin),
            [
                ("ETCD_NAME".into(), "a b".into()),
                ("X".into(), "100%".into()),
                ("A".into(), "1".into()),
                ("B".into(), "2".into())
            ]
        );
        let env = "# etcd\nETCD_NAME=controller-0\n\nGROUP=\"stable\"\n";
        let read: Vec<(String, String)> = env_lines(env);
        assert_eq!(read, [("ETCD_NAME".into(), "controller-0".into()), ("GROUP".into(), "stable".into())]);
        let unit =
            "[Service]\nExecStart=/usr/bin/docker run -v /etc/ssl/etcd:/etc/ssl/certs:ro quay.io/coreos/etcd:v3.5.13\n";
        assert_eq!(mounted_tls_dir(unit).as_deref(), Some("/etc/ssl/etcd"));
    }
}
