//! One cloud-config read into what it says of its machine: membership, metadata, addresses,
//! channel, reboot settings, TLS; every key the language has no place for is a finding.

use std::net::Ipv4Addr;

use clusterdef_model::{Channel, DropIn, EtcdRelease, RebootStrategy, RebootWindow, UnitBody};

use crate::read::cloud_config::{CloudConfig, Field, Section};
use crate::render::cloud_config::{ENV_FILE, ETCDCTL_PROFILE, FLEET_UNITS_DIR, FLEETCTL_PROFILE, SUBMIT_UNIT};
use clusterdef_model::own::ETCD_DROPIN;

use super::config::{
    Config, MemberSection, Read, ReadAt, SECTIONS, SectionKeys, field, is_placeholder, read_link, url_host,
};
use super::host::{HostItem, file_item, unit_items};
use super::{Finding, SourceFile, lossy, note};

fn unknown_keys(path: &str, keys: &SectionKeys, section: Option<&Section>, findings: &mut Vec<Finding>) {
    for (key, f) in section.map_or(&[][..], |s| &s.fields[..]) {
        if !keys.known.contains(&key.as_str()) {
            let what = format!("coreos.{}.{key}", keys.name);
            findings.push(lossy(path, f.line, what, "the language has no setting for it"));
        }
    }
}

/// `coreos.flannel` keys and the variables coreos-cloudinit sets for them, in the order it
/// writes them.
const FLANNEL_KEYS: [(&str, &str); 11] = [
    ("etcd_endpoints", "FLANNELD_ETCD_ENDPOINTS"),
    ("etcd_cafile", "FLANNELD_ETCD_CAFILE"),
    ("etcd_certfile", "FLANNELD_ETCD_CERTFILE"),
    ("etcd_keyfile", "FLANNELD_ETCD_KEYFILE"),
    ("etcd_prefix", "FLANNELD_ETCD_PREFIX"),
    ("etcd_username", "FLANNELD_ETCD_USERNAME"),
    ("etcd_password", "FLANNELD_ETCD_PASSWORD"),
    ("ip_masq", "FLANNELD_IP_MASQ"),
    ("subnet_file", "FLANNELD_SUBNET_FILE"),
    ("interface", "FLANNELD_IFACE"),
    ("public_ip", "FLANNELD_PUBLIC_IP"),
];

/// `coreos.flannel` as what coreos-cloudinit makes of it: a drop-in `20-cloudinit.conf` on
/// `flanneld.service` setting one `FLANNELD_*` variable per key. A value coreos-cloudinit
/// fills in (`$private_ipv4`) or a key it does not know makes the section lossy, on its line:
/// a drop-in the language writes is not substituted. O(keys).
fn flannel_dropin(path: &str, section: &Section, findings: &mut Vec<Finding>) -> Option<(usize, HostItem)> {
    let mut body = String::from("[Service]\n");
    let mut whole = true;
    for (key, f) in &section.fields {
        let what = format!("coreos.flannel.{key}");
        match FLANNEL_KEYS.iter().find(|(k, _)| k == key) {
            None => {
                findings.push(lossy(path, f.line, what, "not a key coreos-cloudinit sets for flannel"));
                whole = false;
            }
            Some(_) if f.value.contains('$') => {
                findings.push(lossy(path, f.line, what, format!("`{}` is filled in by coreos-cloudinit at boot; the drop-in the declaration writes for flannel is not, so the section is left out", f.value)));
                whole = false;
            }
            Some(_) if f.value.contains(['"', '\\', '\n']) => {
                findings.push(lossy(
                    path,
                    f.line,
                    what,
                    "a quote, backslash or line break that an `Environment=` line would change",
                ));
                whole = false;
            }
            Some(_) => {}
        }
    }
    if !whole || section.fields.is_empty() {
        return None;
    }
    for (key, env) in FLANNEL_KEYS {
        if let Some(f) = section.get(key) {
            body.push_str(&format!("Environment=\"{env}={}\"\n", f.value));
        }
    }
    findings.push(note(path, section.line, "coreos.flannel", "declared as what coreos-cloudinit writes for it: a drop-in `20-cloudinit.conf` on `flanneld.service` with its `FLANNELD_*` variables (written under /etc rather than /run, which holds until the file changes)"));
    let dropin = DropIn {
        unit: "flanneld.service".into(),
        name: "20-cloudinit.conf".into(),
        body: UnitBody::Inline(body.into()),
    };
    Some((section.line, HostItem::DropIn(dropin)))
}

pub(super) fn read_config(file: &SourceFile, read: CloudConfig, findings: &mut Vec<Finding>) -> Config {
    let cc = &read;
    let path = file.path.as_str();
    for u in &cc.unread {
        findings.push(lossy(path, u.line, &u.key, &u.why));
    }
    for r in &cc.repeated {
        findings.push(note(
            path,
            r.line,
            &r.key,
            format!(
                "written again (first at line {}): read as coreos-cloudinit reads it, the later value winning and a section merging into the first",
                r.first
            ),
        ));
    }
    let (etcd2, etcd, fleet_s, locksmith, update) =
        (cc.etcd2.as_ref(), cc.etcd.as_ref(), cc.fleet.as_ref(), cc.locksmith.as_ref(), cc.update.as_ref());
    for keys in &SECTIONS {
        unknown_keys(path, keys, cc.section(keys.name), findings);
    }

    let mut metadata: Vec<(String, String)> = Vec::new();
    if let Some(raw) = fleet_s.and_then(|s| s.get("metadata")) {
        // fleetd: entries split on `,`, each on its first `=`, trimmed; the last value wins.
        // Keys indexed, so N pairs cost O(N).
        let mut key_at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        for pair in raw.value.split(',') {
            match pair.split_once('=') {
                Some((k, v)) => {
                    let (k, v) = (k.trim().to_string(), v.trim().to_string());
                    match key_at.get(&k).map(|&i| &mut metadata[i]) {
                        Some(slot) => {
                            findings.push(note(
                                path,
                                raw.line,
                                format!("fleet metadata `{k}`"),
                                "given twice; fleetd keeps the last value",
                            ));
                            slot.1 = v;
                        }
                        None => {
                            key_at.insert(k.clone(), metadata.len());
                            metadata.push((k, v));
                        }
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

    // etcd2 with a discovery URL and no peer URLs of its own joins only while the discovery
    // cluster has room, and falls back to proxying when it is full (`discovery-fallback`
    // defaults to `proxy`): the guide's own worker config. Without peer URLs it could not serve
    // peers anyway, so it is read as the proxy it was written to be, and said so.
    // `discovery:` with nothing after it (or only a comment, `#DISCOVERY_URL`) is a placeholder
    // too: the empty string the decoder reads is no URL.
    let discovery_of = |s: &Section| {
        s.get("discovery").cloned().or_else(|| {
            s.empty
                .iter()
                .rev()
                .find(|(k, _)| k == "discovery")
                .map(|(_, line)| Field { value: String::new(), line: *line })
        })
    };
    let fallback_proxy = etcd2.is_some_and(|s| {
        s.get("proxy").is_none()
            && discovery_of(s).is_some()
            && s.get("listen_peer_urls").is_none()
            && s.get("initial_advertise_peer_urls").is_none()
    });
    if let Some(d) = etcd2.and_then(discovery_of).filter(|_| fallback_proxy) {
        findings.push(note(
            path,
            d.line,
            "coreos.etcd2",
            "no `proxy` key and no peer URLs: etcd2 joins the discovery cluster only while it has room and proxies once it is full, so this machine is read as a proxy (the declaration writes `proxy: on`)",
        ));
    }
    let proxy = field(etcd2, "proxy").is_some_and(|p| p != "off") || fallback_proxy;
    let (release, member) = match (etcd2, etcd) {
        (Some(s), _) if !proxy => (Some(EtcdRelease::V2), Some(member_section(s, "initial_cluster", findings, path))),
        (Some(_), _) => (Some(EtcdRelease::V2), None),
        (None, Some(s)) => (Some(EtcdRelease::V0_4), Some(member_section(s, "peers", findings, path))),
        (None, None) => (None, None),
    };
    // Values filled in at launch (`<token>`, `#DISCOVERY_URL`, `{{ ip }}`, nothing): never read
    // as what they stand for.
    for (section, name) in [(etcd2, "etcd2"), (etcd, "etcd"), (fleet_s, "fleet"), (locksmith, "locksmith")] {
        for (key, f) in section.map_or(&[][..], |s| &s.fields[..]) {
            if key != "discovery" && is_placeholder(&f.value) && !f.value.is_empty() {
                findings.push(lossy(
                    path,
                    f.line,
                    format!("coreos.{name}.{key}"),
                    format!("`{}` is a placeholder filled in at launch, not a value; what it stands for is unknown, so it is left out", f.value),
                ));
            }
        }
    }
    let discovery = match etcd2.or(etcd).and_then(discovery_of) {
        Some(d) if is_placeholder(&d.value) => {
            let shown = if d.value.is_empty() {
                "nothing (a comment or no value)".to_string()
            } else {
                format!("`{}`", d.value)
            };
            findings.push(note(
                path,
                d.line,
                "coreos.etcd2.discovery",
                format!("{shown} is a placeholder for a URL given at launch: the declaration bootstraps by discovery with the URL given when it is rendered (`--discovery-url`)"),
            ));
            Some(None)
        }
        Some(d) => Some(Some(d.value.clone())),
        None => None,
    };
    let tls = [
        (etcd2, ["trusted_ca_file", "cert_file", "key_file"]),
        (etcd, ["ca_file", "cert_file", "key_file"]),
        (fleet_s, ["etcd_cafile", "etcd_certfile", "etcd_keyfile"]),
        (locksmith, ["etcd_cafile", "etcd_certfile", "etcd_keyfile"]),
    ]
    .into_iter()
    .find_map(|(s, [ca, cert, key])| Some((field(s, ca)?, field(s, cert)?, field(s, key)?)));

    let channel = update.and_then(|s| s.get("group")).and_then(|f| {
        let channel = Channel::from_name(&f.value);
        if channel.is_none() {
            findings.push(lossy(path, f.line, "coreos.update.group", not_a_channel(&f.value)));
        }
        channel
    });
    let mut reboot = match update.and_then(|s| s.get("reboot_strategy")) {
        None => RebootStrategy::EtcdLock,
        Some(f) => RebootStrategy::from_name(&f.value).unwrap_or_else(|| {
            findings.push(lossy(path, f.line, "coreos.update.reboot-strategy", not_a_strategy(&f.value)));
            RebootStrategy::EtcdLock
        }),
    };
    // No strategy, and update-engine stopped or masked: no update ever reboots the machine,
    // which the language says as `reboot: off` (a strategy would need update-engine running).
    let mut reboot_from_unit = None;
    if update.and_then(|s| s.get("reboot_strategy")).is_none()
        && let Some(unit) = cc.units.iter().find(|u| {
            u.name.as_ref().is_some_and(|n| n.value == "update-engine.service")
                && (u.mask || u.command.as_ref().is_some_and(|c| c.value == "stop"))
        })
    {
        reboot = RebootStrategy::Off;
        reboot_from_unit = Some(unit.line);
        findings.push(note(
            path,
            unit.line,
            "coreos.units `update-engine.service`",
            "stopped, with no `reboot-strategy`: no update ever reboots the machine, declared as `reboot: off`",
        ));
    }
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
    let mut link_line = None;
    let mut started = Vec::new();
    let mut started_line = 0;
    let mut host = Vec::new();
    let mut own_started: Option<(String, usize)> = None;
    for unit in &cc.units {
        let Some(name) = unit.name.as_ref() else {
            findings.push(lossy(path, unit.line, "coreos.units entry", "no name; coreos-cloudinit skips it"));
            continue;
        };
        let command = unit.command.as_ref().map(|c| c.value.as_str());
        let plain = unit.drop_ins.is_empty() && !unit.mask && !unit.enable;
        // etcd's start, with the drop-in clusterdef writes on it when the cluster has TLS (what
        // it holds is compared with the render like every other part of the file).
        let own_etcd_start = !unit.mask
            && !unit.enable
            && matches!(name.value.as_str(), "etcd2.service" | "etcd.service")
            && unit.drop_ins.iter().all(|(n, _)| n.value == ETCD_DROPIN);
        match (name.value.as_str(), command, &unit.content) {
            (n, _, Some(content)) if n.ends_with(".network") && plain && link.is_none() => {
                match read_link(&content.value) {
                    Ok(l) => {
                        // The language writes a machine's network under a name of its own, at
                        // runtime (coreos-cloudinit rewrites it at every boot).
                        let written = format!("00-{}.network", l.interface);
                        if *n != written || !unit.runtime {
                            findings.push(note(
                                path,
                                name.line,
                                format!("coreos.units `{n}`"),
                                format!("read as the machine's static address; the declaration writes it as `{written}` with `runtime: true`"),
                            ));
                        }
                        link = Some(l);
                        link_line = Some(name.line);
                    }
                    Err(why) => findings.push(lossy(path, content.line, format!("coreos.units `{n}`"), why)),
                }
            }
            ("etcd2.service" | "fleet.service", Some("start"), None) if plain || own_etcd_start => {
                own_started.get_or_insert((name.value.clone(), name.line));
            }
            ("etcd.service", Some("start"), None) if own_etcd_start => {
                own_started.get_or_insert((name.value.clone(), name.line));
            }
            ("etcd.service", Some("start" | "stop"), None) if plain => {
                own_started.get_or_insert((name.value.clone(), name.line));
            }
            (SUBMIT_UNIT, Some("start"), Some(content)) if plain => {
                // The instances it starts by name (paths are the units it starts whole).
                started_line = content.line;
                for line in content.value.lines() {
                    if let Some(names) = line.trim().strip_prefix("ExecStart=/usr/bin/fleetctl start ") {
                        started.extend(names.split_whitespace().filter(|n| !n.contains('/')).map(str::to_string));
                    }
                }
            }
            _ => {
                // The declaration starts the machine's own units before clusterdef's etcd and
                // fleet (so drop-ins on those are in place when they start): a unit this file
                // runs a command on after starting them is started earlier than it was.
                if let (Some((own, at)), Some(c)) = (&own_started, unit.command.as_ref()) {
                    findings.push(note(
                        path,
                        name.line,
                        format!("coreos.units `{}`", name.value),
                        format!(
                            "its `{}` comes after `{own}`'s start (line {at}) here; the declaration runs the machine's own units' commands first, before clusterdef starts etcd and fleet, so if it needs them running its unit should say so (`After=`, `Requires=`)",
                            c.value
                        ),
                    ));
                }
                host.extend(unit_items(path, name, unit, findings));
            }
        }
    }
    merge_repeated_units(path, &mut host, findings);
    if let Some(section) = &cc.flannel {
        host.extend(flannel_dropin(path, section, findings));
    }
    let mut unit_copies = Vec::new();
    for wf in &cc.write_files {
        let Some(p) = wf.path.as_ref() else { continue };
        let extras = wf.owner.is_some() || wf.encoding.is_some();
        match p.value.as_str() {
            ENV_FILE | ETCDCTL_PROFILE | FLEETCTL_PROFILE if !extras => {}
            other if other.starts_with(FLEET_UNITS_DIR) && !extras => {
                let name = other.rsplit('/').next().unwrap_or_default().to_string();
                unit_copies.push((name, wf.content.as_ref().map(|c| c.value.clone()).unwrap_or_default()));
            }
            _ => host.extend(file_item(path, p, wf, findings)),
        }
    }
    // The address the machine owns: its `.network` unit's, else the one its etcd URLs
    // advertise (a DHCP reservation or the platform gives it).
    let literal = |section: Option<&Section>, key: &'static str| {
        let f = section?.get(key)?;
        let first = f.value.split(',').next()?.trim();
        let address: Ipv4Addr = url_host(first)?.parse().ok()?;
        Some((address, ReadAt { line: f.line, key }))
    };
    let address = link_line
        .and_then(|line| Some((link.as_ref()?.address, ReadAt { line, key: "a `.network` unit" })))
        .or_else(|| {
            member.as_ref()?;
            literal(etcd2, "initial_advertise_peer_urls")
                .or_else(|| literal(etcd2, "advertise_client_urls"))
                .or_else(|| literal(etcd, "peer_addr"))
                .or_else(|| literal(etcd, "addr"))
        });
    let peer_url = field(etcd2, "initial_advertise_peer_urls")
        .map(|u| u.split(',').next().unwrap_or_default().trim().to_string())
        .or_else(|| field(etcd, "peer_addr"));
    let public_ip = field(fleet_s, "public_ip");
    if let Some(f) = fleet_s.and_then(|s| s.get("public_ip")).filter(|f| f.value.contains("$public_ipv4")) {
        findings.push(lossy(
            path,
            f.line,
            "coreos.fleet.public-ip",
            "`$public_ipv4`: fleet publishes the machine's public address; the language publishes its private one (its static address or `$private_ipv4`) and has no setting for the public one",
        ));
    }
    let platform_address = matches!(public_ip.as_deref(), Some("$private_ipv4" | "$public_ipv4"))
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
        reboot_from_unit,
        window,
        locksmith_group: field(locksmith, "group"),
        platform_address,
        address,
        peer_url,
        pxe: None,
        inventory: Vec::new(),
        mac: None,
        install_disk: None,
        started,
        started_line,
        unit_copies,
        host,
        read: Read::CloudConfig(Box::default()),
    };
    if let Some(f) = &cc.hostname
        && f.value.contains('$')
    {
        findings.push(lossy(path, f.line, "hostname", "a substituted hostname; the language names machines itself"));
    }
    config.read = Read::CloudConfig(Box::new(read));
    config
}

/// Why an `update.group` value is not read.
pub(super) fn not_a_channel(value: &str) -> String {
    format!("`{value}` is not a channel the language names (stable, beta, alpha, lts)")
}

/// Why a reboot strategy is not read.
pub(super) fn not_a_strategy(value: &str) -> String {
    format!("`{value}` is not a strategy the language names (etcd-lock, reboot, off)")
}

pub(super) fn member_section(
    section: &Section,
    list_key: &str,
    findings: &mut Vec<Finding>,
    path: &str,
) -> MemberSection {
    let mut initial_cluster = Vec::new();
    // A placeholder list is said where it is read (and names no member).
    if let Some(f) = section.get(list_key).filter(|f| !is_placeholder(&f.value)) {
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

/// Two `coreos.units` entries for one unit in one file: coreos-cloudinit acts on each in turn,
/// the language has one entry per unit. They are merged into the first's place, each later
/// setting winning (the body, `enable`, `mask`, the command); a command the merge drops
/// (`stop` then `start`: a restart becomes a start) is lossy, other merges a note. O(items),
/// with a hash of unit names.
fn merge_repeated_units(path: &str, host: &mut Vec<(usize, HostItem)>, findings: &mut Vec<Finding>) {
    let mut first: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut merged: Vec<(usize, HostItem)> = Vec::with_capacity(host.len());
    for (line, item) in host.drain(..) {
        let HostItem::Unit(later) = item else {
            merged.push((line, item));
            continue;
        };
        let Some(&at) = first.get(&*later.name) else {
            first.insert(later.name.to_string(), merged.len());
            merged.push((line, HostItem::Unit(later)));
            continue;
        };
        let (first_line, HostItem::Unit(earlier)) = &mut merged[at] else { continue };
        let what = format!("coreos.units `{}`", later.name);
        let dropped = earlier.command.filter(|c| later.command.is_some_and(|l| l != *c));
        match dropped {
            Some(c) => findings.push(lossy(
                path,
                line,
                what,
                format!(
                    "a second entry for the unit (first at line {first_line}): coreos-cloudinit runs `{}` and then `{}`, the language keeps one command per unit, so the declaration runs only `{}`",
                    c.as_str(),
                    later.command.map_or("", |l| l.as_str()),
                    later.command.map_or("", |l| l.as_str())
                ),
            )),
            None => findings.push(note(
                path,
                line,
                what,
                format!("a second entry for the unit (first at line {first_line}): merged into one, as coreos-cloudinit applies both in turn"),
            )),
        }
        if later.body.is_some() {
            earlier.body = later.body;
        }
        earlier.enable = later.enable.or(earlier.enable);
        earlier.mask |= later.mask;
        earlier.command = later.command.or(earlier.command);
    }
    *host = merged;
}
