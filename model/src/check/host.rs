//! Rules on the machines' own configuration: files, host units and drop-ins.

use super::Report;
use super::fleet::unit_name_problem;
use crate::host::{HostConfig, HostScope, installs};
use crate::rule::Rule;
use crate::settings::Os;
use crate::subject::{HostPart, Subject};

/// Runs the host-configuration rules.
pub(super) fn check(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut scopes: Vec<(HostScope, &HostConfig)> = vec![(HostScope::Cluster, &c.host)];
    for (g, group) in c.groups() {
        scopes.push((HostScope::Group(g), &group.host));
        scopes.extend(group.host_in.iter().enumerate().map(|(i, (_, h))| (HostScope::Domain(g, i), h)));
    }
    for (scope, config) in &scopes {
        host_path(r, *scope, config);
        host_unit(r, *scope, config);
    }
    super::collision::host_kinds(r);
    host_scope(r);
}

/// `host_scope`: each `host_in` entry names a failure domain its group is spread across, so
/// its configuration reaches machines; a did-you-mean from the group's domains. O(entries +
/// domains), with a hash of names (and O(domains) per entry that names none, for the suggestion).
fn host_scope(r: &mut Report<'_>) {
    let c = r.cluster;
    for (g, group) in c.groups() {
        let domains: Vec<&str> = group.spread.iter().flat_map(|s| s.domains.iter().map(|d| &*d.name)).collect();
        let known: std::collections::HashSet<&str> = domains.iter().copied().collect();
        for (i, (name, _)) in group.host_in.iter().enumerate() {
            if known.contains(&**name) {
                continue;
            }
            let (message, help) = match &group.spread {
                None => (
                    format!(
                        "`host_in` names `{name}`, but `{}` is spread across no failure domains, so nothing would carry it",
                        group.name
                    ),
                    "declare it in the group's `host`, or spread the group `across` its domains".to_string(),
                ),
                Some(spread) => (
                    format!(
                        "`host_in` names {} `{name}`, which `{}` is not spread across, so nothing would carry it",
                        spread.kind.key(),
                        group.name
                    ),
                    match crate::suggest::closest(name, domains.iter().copied()) {
                        Some(close) => format!("did you mean `{close}`? The group's domains: {}", domains.join(", ")),
                        None => format!("name one of the group's domains: {}", domains.join(", ")),
                    },
                ),
            };
            r.push(Rule::HostScope, Subject::Host(HostScope::Domain(g, i), HostPart::Whole), message, help);
        }
    }
}

/// Why `path` is not a path a host file may have, if it is not.
fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("it is not absolute");
    }
    if path.len() > 4096 {
        return Some("it is longer than 4,096 bytes");
    }
    if path.split('/').any(|c| c.len() > 255) {
        return Some("a component is longer than 255 bytes, the most a file name holds");
    }
    if path.chars().any(|ch| ch.is_control()) {
        return Some("it holds a control character");
    }
    if path.len() > 1 && path.ends_with('/') {
        return Some("it ends in `/`, which names a directory");
    }
    if path[1..].split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return Some("it is not normal: it has an empty, `.` or `..` component");
    }
    if ["/proc", "/sys", "/dev"].iter().any(|d| path == *d || path.starts_with(&format!("{d}/"))) {
        return Some("it lies under `/proc`, `/sys` or `/dev`, which the kernel provides at boot");
    }
    None
}

/// Whether `name` is a user or group name as `useradd` takes it.
fn valid_account(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 32
        && name.chars().next().is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// `host_path`: each host file's path is absolute and normal (no empty, `.` or `..` component,
/// no trailing `/`, no control character, no component over 255 bytes), outside `/proc`, `/sys`
/// and `/dev`; its mode fits in
/// `0o7777`; its owner and group are valid names or ids; each drop-in's name ends in `.conf`
/// and holds no `/`. O(items).
fn host_path(r: &mut Report<'_>, scope: HostScope, config: &HostConfig) {
    let at = |part| Subject::Host(scope, part);
    for (i, f) in config.files.iter().enumerate() {
        if let Some(problem) = path_problem(&f.path) {
            r.push(
                Rule::HostPath,
                at(HostPart::File(i)),
                format!("host file path {:?} cannot be written: {problem}", f.path),
                "write an absolute path such as `/etc/docker/daemon.json`",
            );
        }
        if f.mode > 0o7777 {
            r.push(
                Rule::HostPath,
                at(HostPart::FileMode(i)),
                format!("mode 0o{:o} of {:?} is more than the permission bits hold (0o7777)", f.mode, f.path),
                "write the mode in octal, e.g. `mode: 0o644` or `mode: 0o755`",
            );
        }
        for (part, who) in [(HostPart::FileOwner(i), &f.owner), (HostPart::FileGroup(i), &f.group)] {
            if let Some(crate::host::Owner::Name(name)) = who
                && !valid_account(name)
            {
                r.push(
                    Rule::HostPath,
                    at(part),
                    format!(
                        "{name:?} is not a user or group name (lowercase letters, digits, `_` and `-`, at most 32)"
                    ),
                    "name an account such as `core`, or give its id, e.g. `500`",
                );
            }
        }
    }
    for (i, d) in config.dropins.iter().enumerate() {
        if !d.name.ends_with(".conf")
            || d.name.len() <= 5
            || d.name.contains('/')
            || d.name.chars().any(char::is_control)
        {
            r.push(
                Rule::HostPath,
                at(HostPart::DropIn(i)),
                format!("drop-in name {:?} is not one systemd reads: drop-ins are files named `*.conf`", d.name),
                "name it like `10-limits.conf`",
            );
        }
    }
}

/// `host_unit`: host units and drop-in targets have names systemd accepts; a host unit says
/// what to do (a body, `enable`, `mask` or `command`); `mask` stands alone; `enable: true`
/// needs an `[Install]` section in the declared body (as `systemctl enable` would act on it);
/// `command` exists only where coreos-cloudinit runs it (CoreOS), and `enable: false` on a unit
/// without a body only where Ignition writes it as a preset (Flatcar). O(items).
fn host_unit(r: &mut Report<'_>, scope: HostScope, config: &HostConfig) {
    let at = |part| Subject::Host(scope, part);
    let os = r.cluster.os;
    for (i, u) in config.units.iter().enumerate() {
        if let Some(problem) = unit_name_problem(&u.name) {
            r.push(
                Rule::HostUnit,
                at(HostPart::Unit(i)),
                format!("`{}` is not a valid unit name: {problem}", u.name),
                "name units like `docker-tcp.socket` or `data.mount`",
            );
            continue;
        }
        if u.body.is_none() && u.enable.is_none() && !u.mask && u.command.is_none() {
            r.push(
                Rule::HostUnit,
                at(HostPart::Unit(i)),
                format!("host unit `{}` declares nothing to do", u.name),
                "give it a `body`, `enable: true`, `mask` or (on CoreOS) a `command`",
            );
        }
        if u.mask && (u.body.is_some() || u.enable == Some(true) || u.command.is_some()) {
            r.push(
                Rule::HostUnit,
                at(HostPart::UnitMask(i)),
                format!(
                    "`{}` is masked and also given a body, `enable: true` or a command; a masked unit never runs",
                    u.name
                ),
                "keep `mask` alone, or drop it",
            );
        }
        if u.enable == Some(true) && u.body.as_ref().is_some_and(|b| !installs(b.text())) {
            r.push(
                Rule::HostUnit,
                at(HostPart::UnitEnable(i)),
                format!(
                    "`{}` is to be enabled, but its body has no `[Install]` section, so `systemctl enable` does nothing",
                    u.name
                ),
                "add `[Install]` with `WantedBy=multi-user.target` (or another target) to the body",
            );
        }
        if os == Os::CoreOs && u.body.is_none() && u.enable == Some(false) && !u.mask {
            r.push(
                Rule::HostUnit,
                at(HostPart::UnitEnable(i)),
                format!(
                    "`enable: false` on `{}`: coreos-cloudinit enables units but never disables one, so it would stay as the OS ships it",
                    u.name
                ),
                "mask it to keep it from running, or drop `enable: false`",
            );
        }
        if os == Os::Flatcar && u.command.is_some() {
            r.push(
                Rule::HostUnit,
                at(HostPart::UnitCommand(i)),
                format!("`command` on `{}`: Ignition runs no commands; an enabled unit starts at boot", u.name),
                "drop `command` and use `enable: true` (with an `[Install]` section) to run it at boot",
            );
        }
    }
    if os == Os::Flatcar {
        // Ignition substitutes nothing; on CoreOS coreos-cloudinit fills these in with the
        // machine's own address, the idiom of the guide's configs.
        let texts = config
            .files
            .iter()
            .enumerate()
            .map(|(i, f)| (HostPart::FileContents(i), f.contents.text()))
            .chain(
                config.units.iter().enumerate().filter_map(|(i, u)| Some((HostPart::Unit(i), u.body.as_ref()?.text()))),
            )
            .chain(config.dropins.iter().enumerate().map(|(i, d)| (HostPart::DropIn(i), d.body.text())));
        for (part, text) in texts {
            if let Some(token) = crate::CLOUD_INIT_SUBSTITUTIONS.iter().find(|t| text.contains(**t)) {
                r.push(
                    Rule::ValueFormat,
                    at(part),
                    format!("host configuration holds `{token}`: Ignition substitutes nothing, so it would reach the machine as text"),
                    "write the machine's declared address, or read it where the platform provides it (`/run/metadata/flatcar`)",
                );
            }
        }
    }
    for (i, d) in config.dropins.iter().enumerate() {
        if let Some(problem) = unit_name_problem(&d.unit) {
            r.push(
                Rule::HostUnit,
                at(HostPart::DropIn(i)),
                format!("drop-in target `{}` is not a valid unit name: {problem}", d.unit),
                "name the unit the drop-in applies to, such as `docker.service`",
            );
        }
    }
}
