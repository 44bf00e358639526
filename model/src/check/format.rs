//! `value_format`: every value reaches its file without changing the file's structure. Values
//! are quoted where the format allows (YAML strings); these are the values that land where
//! quoting cannot help: an authorized_keys line, a kernel command line, a dnsmasq option, a
//! `.network` or unit file line, a fleet option split on whitespace.

use super::Report;
use crate::glob;
use crate::group::Boot;
use crate::rule::Rule;
use crate::settings::Bootstrap;
use crate::subject::{GroupPart, NetworkPart, Subject, UnitPart};

/// `value_format`: every value lands in its file without changing the file's structure. YAML
/// strings are quoted by the writer, so what is checked here are the values that land where
/// quoting cannot help: SSH keys (one line of authorized_keys each), boot and discovery URLs
/// (kernel arguments and dnsmasq options), TLS paths (flags of etcd, fleet and locksmith), the
/// interface name (a `.network` line), `conflicts`/`replaces` globs and `machine_of` (unit lines,
/// which fleet splits on whitespace), machine IDs, inventory MACs (`dhcp-host=` options) and the
/// cluster's name. It cannot be allowed: a value that breaks it changes what the files say.
/// The values coreos-cloudinit substitutes anywhere in a cloud-config, and Ignition nowhere.
pub const CLOUD_INIT_SUBSTITUTIONS: [&str; 4] = ["$private_ipv4", "$public_ipv4", "$private_ipv6", "$public_ipv6"];

pub(super) fn value_format(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut bad = |subject: Subject, message: String, help: &str| r.push(Rule::ValueFormat, subject, message, help);
    let has_break = |s: &str| s.chars().any(|ch| ch.is_control() || matches!(ch, '\u{85}' | '\u{2028}' | '\u{2029}'));
    let has_space = |s: &str| s.chars().any(|ch| ch.is_whitespace() || ch.is_control());

    if c.name.is_empty() || has_break(&c.name) {
        bad(
            Subject::Name,
            format!("the cluster name {:?} is empty or holds a control character", c.name),
            "use a short name such as `prod`",
        );
    }
    let key_help = "one key per entry, on one line: `ssh-ed25519 AAAA... comment`";
    for (i, key) in c.ssh_keys.iter().enumerate() {
        if key.trim().is_empty() || has_break(key) {
            bad(
                Subject::SshKey(i),
                format!("SSH key {key:?} is empty or spans lines, so it would add lines to authorized_keys"),
                key_help,
            );
        }
    }
    for (g, group) in c.groups() {
        for (i, key) in group.ssh_keys.iter().enumerate() {
            if key.trim().is_empty() || has_break(key) {
                bad(
                    Subject::Group(g, GroupPart::SshKey(i)),
                    format!("SSH key {key:?} is empty or spans lines, so it would add lines to authorized_keys"),
                    key_help,
                );
            }
        }
        for (i, entry) in group.inventory.iter().enumerate() {
            if !is_mac(&entry.mac) {
                bad(
                    Subject::Group(g, GroupPart::InventoryEntry(i)),
                    format!("{:?} is not a MAC address, and it lands in a dnsmasq `dhcp-host=` option", entry.mac),
                    "write six hex pairs separated by colons, e.g. `52:54:00:12:34:01`",
                );
            }
        }
        if let Some(disk) = &group.install_disk
            && !is_device_path(disk)
        {
            bad(
                Subject::Group(g, GroupPart::InstallDisk),
                format!("{disk:?} is not a device path, and it lands on the installer's command line"),
                "write the disk under /dev with letters, digits, `-`, `_`, `.` and `/`, e.g. `/dev/vda` or `/dev/disk/by-id/wwn-0x5000c500a1b2c3d4`",
            );
        }
        for (i, mac) in group.macs.iter().enumerate() {
            if !is_mac(mac) {
                bad(
                    Subject::Group(g, GroupPart::Mac(i)),
                    format!("{mac:?} is not a MAC address, and it lands in a matchbox group's selector"),
                    "write six hex pairs separated by colons, e.g. `52:54:00:12:34:01`",
                );
            }
        }
        if let Boot::Pxe { url: Some(url) } = &group.boot
            && let Some(why) = boot_url_problem(url)
        {
            bad(Subject::Group(g, GroupPart::Boot), format!("the boot URL {url:?} {why}"), BOOT_URL_HELP);
        }
    }
    if let Some(url) = &c.boot_server
        && let Some(why) = boot_url_problem(url)
    {
        bad(Subject::BootServer, format!("the boot server URL {url:?} {why}"), BOOT_URL_HELP);
    }
    if let Bootstrap::Discovery(Some(url)) = &c.bootstrap
        && has_space(url)
    {
        bad(
            Subject::Bootstrap,
            format!("the discovery URL {url:?} holds whitespace"),
            "use the URL as discovery.etcd.io returned it",
        );
    }
    if let Some(tls) = &c.tls {
        for (i, (what, path)) in [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)].into_iter().enumerate() {
            if !path.starts_with('/') || has_space(path) {
                bad(
                    Subject::TlsFile(i),
                    format!(
                        "TLS {what} path {path:?} is not an absolute path without spaces, as etcd, fleet and locksmith need"
                    ),
                    "write it like `/etc/ssl/etcd/server.pem`",
                );
            }
        }
    }
    if let Some(net) = &c.network {
        let iface = &*net.interface;
        if iface.is_empty() || iface.len() > 15 || has_space(iface) || iface.contains('/') {
            bad(
                Subject::Network(NetworkPart::Interface),
                format!("interface name {iface:?} is not a Linux interface name (1-15 characters, no spaces or `/`)"),
                "use the name the machines' NIC has, e.g. `eth0` or `enp1s0`",
            );
        }
    }
    for (u, unit) in c.units.iter().enumerate() {
        // coreos-cloudinit replaces these anywhere in a cloud-config, the copies of the units
        // members submit included (with the member's own address); Ignition replaces nothing.
        if let Some(token) = CLOUD_INIT_SUBSTITUTIONS.iter().find(|t| unit.body.text().contains(**t)) {
            let (why, help) = match c.os {
                crate::settings::Os::CoreOs => (
                    "coreos-cloudinit replaces it in the copy of the unit the members submit, with the member's own address, so every machine fleet runs it on would use a member's",
                    "read the address of the machine running it from `/etc/environment`: `EnvironmentFile=/etc/environment` and `${COREOS_PRIVATE_IPV4}` (or `${COREOS_PUBLIC_IPV4}`)",
                ),
                crate::settings::Os::Flatcar => (
                    "Ignition substitutes nothing, so it would reach the machine as text",
                    "read the address where the platform provides it: `EnvironmentFile=/run/metadata/flatcar` and `${COREOS_PRIVATE_IPV4}` (coreos-metadata), or write the machine's declared address",
                ),
            };
            bad(Subject::Unit(u, UnitPart::Body), format!("the body of `{}` holds `{token}`: {why}", unit.name), help);
        }
        let globs = unit.conflicts.iter().enumerate().map(|(i, g)| (UnitPart::Conflict(i), "conflicts", g));
        let replaces = unit.replaces.iter().enumerate().map(|(i, g)| (UnitPart::Replace(i), "replaces", g));
        for (part, option, pattern) in globs.chain(replaces) {
            if pattern.is_empty() || has_space(pattern) || !glob::is_valid(pattern) {
                bad(
                    Subject::Unit(u, part),
                    format!(
                        "`{option}` entry {pattern:?} is not a unit name glob: fleet splits it on whitespace, and a line break would end the option"
                    ),
                    "write one glob per list entry, e.g. `\"web@*.service\"`",
                );
            }
        }
        if let Some(target) = &unit.machine_of
            && let Some(problem) = super::fleet::unit_name_problem(target)
        {
            bad(
                Subject::Unit(u, UnitPart::MachineOf),
                format!("`machine_of` {target:?} does not name a unit: {problem}"),
                "name the unit to run beside, e.g. `\"web.service\"`",
            );
        }
        if let Some(id) = &unit.machine_id
            && (id.is_empty() || !id.chars().all(|ch| ch.is_ascii_alphanumeric()))
        {
            bad(
                Subject::Unit(u, UnitPart::MachineId),
                format!("`machine_id` {id:?} is not a machine ID"),
                "use the 32 hex digits of /etc/machine-id (`fleetctl list-machines -l`)",
            );
        }
    }
}

/// Whether `text` names a device as a shell reads a word: `/dev/` and then components of
/// letters, digits, `-`, `_` and `.` (none `.` or `..`).
fn is_device_path(text: &str) -> bool {
    text.strip_prefix("/dev/").is_some_and(|rest| {
        rest.split('/').all(|c| {
            !c.is_empty()
                && c != "."
                && c != ".."
                && c.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        })
    })
}

/// Whether `text` is a MAC address written as six hex pairs separated by colons.
fn is_mac(text: &str) -> bool {
    let pairs: Vec<&str> = text.split(':').collect();
    pairs.len() == 6 && pairs.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()))
}

const BOOT_URL_HELP: &str = "write `http://HOST[:PORT][/PATH]` with a path of letters, digits, `-._~/` and %-escapes, e.g. `http://10.0.0.2:8080/boot`";

/// Why a boot server URL cannot be written into pxelinux's `APPEND`, iPXE's script and a
/// dnsmasq `dhcp-boot=` option as it is, if it cannot: each gives characters a meaning (a
/// blank ends the kernel argument, `,` separates dnsmasq's fields, `#` starts a comment, iPXE
/// expands `${…}` and reads `;`, `&&` and `||`, quotes and `\` quote or escape), so a URL is
/// `scheme://host[:port][/path]` whose path holds only `A–Z a–z 0–9 - . _ ~ /` and `%XX`
/// escapes: no user, query or fragment. The host is a DNS name, an IPv4 address or `[IPv6]`,
/// the port 1–65535. (Whether the scheme is `http` is `pxe_boot`'s.) O(len).
pub(crate) fn boot_url_problem(url: &str) -> Option<String> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("is not `scheme://host/path`".to_string());
    };
    if scheme.is_empty() || !scheme.bytes().all(|b| b.is_ascii_lowercase()) {
        return Some(format!("has the scheme `{scheme}`, which is not a lower-case word"));
    }
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let (host, port) = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((addr, after)) if addr.parse::<std::net::Ipv6Addr>().is_ok() => match after {
                "" => (authority, None),
                p => match p.strip_prefix(':') {
                    Some(port) => (&authority[..addr.len() + 2], Some(port)),
                    None => return Some(format!("has the host `{authority}`, which is no [IPv6] address")),
                },
            },
            _ => return Some(format!("has the host `{authority}`, which is no [IPv6] address")),
        },
        None => match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        },
    };
    let dns_label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    if !host.starts_with('[') && (host.is_empty() || host.len() > 253 || !host.split('.').all(dns_label)) {
        return Some(format!(
            "has the host `{host}`, which is no DNS name or IPv4 address (and a user, `@`, has no place in a boot URL)"
        ));
    }
    if let Some(p) = port
        && !(p.len() <= 5
            && !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (1..=65_535).contains(&p.parse::<u32>().unwrap_or(0)))
    {
        return Some(format!("has the port `{p}`; ports run from 1 to 65535"));
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            if bytes.get(i + 1..i + 3).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) {
                i += 3;
                continue;
            }
            return Some("holds a `%` that starts no %-escape".to_string());
        }
        if !(b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/')) {
            let ch = path[i..].chars().next().unwrap_or('?');
            return Some(format!(
                "holds {ch:?}, which pxelinux, iPXE or dnsmasq would read as more than a character of the URL"
            ));
        }
        i += 1;
    }
    None
}
