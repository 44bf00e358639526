//! Rules on the machines' own configuration: files, host units and drop-ins.

use std::collections::{HashMap, HashSet};

use super::Report;
use super::fleet::unit_name_problem;
use crate::cluster::Os;
use crate::host::{HostConfig, HostItems, HostScope, installs};
use crate::own::{OwnWrites, SYSTEMD_DIR};
use crate::rule::Rule;
use crate::subject::{GroupRef, HostPart, Subject};

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
    host_kinds(r);
}

/// Why `path` is not a path a host file may have, if it is not.
fn path_problem(path: &str) -> Option<&'static str> {
    if !path.starts_with('/') {
        return Some("it is not absolute");
    }
    if path.len() > 4096 {
        return Some("it is longer than 4,096 bytes");
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
/// no trailing `/`, no control character), outside `/proc`, `/sys` and `/dev`; its mode fits in
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

/// Runs `host_collision` and `host_mask` on every kind of machine ([`crate::Cluster::host_kinds`]):
/// each kind's items and clusterdef's own writes are gathered once. O(kinds × items).
fn host_kinds(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut reported = HashSet::new();
    for (g, group) in c.groups() {
        let own = c.own_writes(g);
        for domain in c.host_kinds(g) {
            let items = c.host_items(g, domain);
            if items.is_empty() {
                continue;
            }
            host_collision(r, &own, &items, &mut reported);
            let machines = match g {
                GroupRef::Members => format!("the `{}` machines", group.name),
                GroupRef::Pool(_) => format!("pool `{}`", group.name),
            };
            host_mask(r, &own, &items, &machines, &mut reported);
        }
    }
}

/// `host_collision`: on one kind of machine (a group, or one failure domain of it), every path
/// is written once: each host file, host unit (`/etc/systemd/system/NAME`, whether it is
/// written, enabled, masked or started) and drop-in (`…/UNIT.d/NAME`) of the scopes that reach
/// it, and everything clusterdef writes there ([`crate::Cluster::own_writes`]); a host unit never
/// names a fleet unit or a unit clusterdef configures (its body, enablement or command would
/// fight clusterdef's; a mask of one it needs is `host_mask`'s), and a drop-in never patches
/// a unit clusterdef writes whole. The later declaration is at fault, and the message names the
/// first. A file inside another file's path is also reported (Ignition rejects it). O(items),
/// with a hash of paths, plus a sort of the file paths.
fn host_collision(r: &mut Report<'_>, own: &OwnWrites, items: &HostItems<'_>, reported: &mut HashSet<Subject>) {
    // path → who writes it.
    let mut writers: HashMap<String, String> =
        own.files.iter().map(|path| (path.clone(), "clusterdef itself".to_string())).collect();
    let owned_unit = |name: &str| own.units.iter().any(|u| u == name);
    // The first writer of `path`, if it is taken; else `who` takes it.
    let mut claim = |path: &str, who: String| -> Option<String> {
        if own.directories.iter().any(|d| path.strip_prefix(d.as_str()).is_some_and(|rest| rest.starts_with('/'))) {
            return Some("clusterdef itself (its fleet units)".to_string());
        }
        match writers.get(path) {
            Some(first) => Some(first.clone()),
            None => {
                writers.insert(path.to_string(), who);
                None
            }
        }
    };
    let mut collide = |r: &mut Report<'_>, subject: Subject, what: String, path: &str, first: String| {
        if reported.insert(subject) {
            r.push(
                Rule::HostCollision,
                subject,
                format!("{what} writes {path}, which {first} writes too on the same machines: one would win"),
                "give it a path (or name) of its own, or declare it once at the scope all these machines share",
            );
        }
    };
    for (scope, i, f) in &items.files {
        let what = format!("host file {:?}", f.path);
        if let Some(first) = claim(&f.path, what.clone()) {
            collide(r, Subject::Host(*scope, HostPart::File(*i)), what, &f.path, first);
        }
    }
    for (scope, i, u) in &items.units {
        let subject = Subject::Host(*scope, HostPart::Unit(*i));
        let what = format!("host unit `{}`", u.name);
        let path = format!("{SYSTEMD_DIR}/{}", u.name);
        // Masking a unit clusterdef needs is `host_mask`'s to report.
        let needed = own.needed.iter().any(|(n, _)| *n == *u.name);
        if owned_unit(&u.name) && !(u.mask && needed) {
            let first = "clusterdef (its own unit, or a fleet unit of that name)".to_string();
            collide(r, subject, what, &path, first);
        } else if let Some(first) = claim(&path, what.clone()) {
            collide(r, subject, what, &path, first);
        }
    }
    for (scope, i, d) in &items.dropins {
        let subject = Subject::Host(*scope, HostPart::DropIn(*i));
        let path = format!("{SYSTEMD_DIR}/{}.d/{}", d.unit, d.name);
        let what = format!("drop-in `{}` on `{}`", d.name, d.unit);
        if own.written_units.iter().any(|u| *u == *d.unit) {
            let first =
                format!("clusterdef (it writes the whole of `{}`; change the unit's declaration instead)", d.unit);
            collide(r, subject, what, &path, first);
        } else if let Some(first) = claim(&path, what.clone()) {
            collide(r, subject, what, &path, first);
        }
    }
    // A file inside another file's path. Sorted with `/` below every other byte, the paths
    // inside a path follow it directly (`/etc/d`, `/etc/d/x`, `/etc/d-x`), so one pass that
    // keeps the last path nothing contains finds every nesting.
    let slash_first = |p: &str| p.bytes().map(|b| if b == b'/' { 0 } else { b }).collect::<Vec<u8>>();
    let mut paths: Vec<(Vec<u8>, &str, Subject)> = items
        .files
        .iter()
        .map(|(scope, i, f)| (slash_first(&f.path), &*f.path, Subject::Host(*scope, HostPart::File(*i))))
        .collect();
    paths.sort();
    let mut outer: Option<&str> = None;
    for (_, inner, subject) in &paths {
        match outer {
            Some(o) if inner.strip_prefix(o).is_some_and(|rest| rest.starts_with('/')) => {
                if reported.insert(*subject) {
                    r.push(
                        Rule::HostCollision,
                        *subject,
                        format!("host file {inner:?} lies inside host file {o:?}: a file cannot be a directory"),
                        "move one of them",
                    );
                }
            }
            _ => outer = Some(inner),
        }
    }
}

/// `host_mask`: no scope masks a unit clusterdef needs on these machines
/// ([`crate::Cluster::own_writes`]'s `needed`), with what would break. O(units × needed).
fn host_mask(
    r: &mut Report<'_>,
    own: &OwnWrites,
    items: &HostItems<'_>,
    machines: &str,
    reported: &mut HashSet<Subject>,
) {
    for (scope, i, u) in &items.units {
        let subject = Subject::Host(*scope, HostPart::UnitMask(*i));
        let Some((_, why)) = own.needed.iter().find(|(n, _)| *n == *u.name) else { continue };
        if u.mask && reported.insert(subject) {
            r.push(
                Rule::HostMask,
                subject,
                format!("masking `{}` on {machines} breaks them: {why}", u.name),
                "unmask it, or change the setting that needs it (e.g. `reboot: off` for locksmithd)",
            );
        }
    }
}
