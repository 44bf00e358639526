//! `host_collision` and `host_mask`: the declared host configuration against everything
//! clusterdef, the engines it configures and the documented install steps put on the same
//! machines ([`crate::Cluster::own_writes`], the one list of them).

use std::collections::{HashMap, HashSet};

use super::Report;
use crate::group_ref::GroupRef;
use crate::host::{HostItems, HostScope, UnitCommand};
use crate::own::{OwnWrites, SYSTEMD_DIR};
use crate::rule::Rule;
use crate::subject::{HostPart, Subject};

/// The paths taken on one kind of machine: files (with who writes them), directories whose
/// every file is taken, and every directory some taken file lies in. Layered: a failure
/// domain's claims sit over its group's, which are checked once for all its domains.
struct Claims<'a> {
    below: Option<&'a Claims<'a>>,
    files: HashMap<String, String>,
    directories: HashMap<String, String>,
    /// A directory some taken file lies in → that file.
    parents: HashMap<String, String>,
}

/// Why a path cannot be written: who has it, and how.
enum Taken {
    /// The same path.
    Same(String),
    /// Inside a directory whose every file is someone's.
    InDirectory(String, String),
    /// Inside a path that is a file.
    InsideFile(String, String),
    /// A directory that holds a taken file.
    IsDirectory(String),
}

impl<'a> Claims<'a> {
    fn new(own: &OwnWrites) -> Claims<'static> {
        let mut claims =
            Claims { below: None, files: HashMap::new(), directories: HashMap::new(), parents: HashMap::new() };
        for (path, who) in own.paths() {
            claims.take(&path, who.to_string());
        }
        for (dir, who) in &own.directories {
            claims.directories.insert(dir.clone(), who.to_string());
        }
        claims
    }

    fn over(below: &'a Claims<'a>) -> Claims<'a> {
        Claims { below: Some(below), files: HashMap::new(), directories: HashMap::new(), parents: HashMap::new() }
    }

    fn layers(&self) -> impl Iterator<Item = &Claims<'a>> {
        std::iter::successors(Some(self), |c| c.below)
    }

    /// Who has `path`, if anyone. O(depth × layers).
    fn taken(&self, path: &str) -> Option<Taken> {
        for layer in self.layers() {
            if let Some(who) = layer.files.get(path) {
                return Some(Taken::Same(who.clone()));
            }
            if let Some(who) = layer.directories.get(path) {
                return Some(Taken::IsDirectory(format!("{who} (a directory)")));
            }
            if let Some(inner) = layer.parents.get(path) {
                return Some(Taken::IsDirectory(inner.clone()));
            }
        }
        for ancestor in ancestors(path) {
            for layer in self.layers() {
                if let Some(who) = layer.directories.get(ancestor) {
                    return Some(Taken::InDirectory(ancestor.to_string(), who.clone()));
                }
                if let Some(who) = layer.files.get(ancestor) {
                    return Some(Taken::InsideFile(ancestor.to_string(), who.clone()));
                }
            }
        }
        None
    }

    /// Takes `path` for `who`. O(depth).
    fn take(&mut self, path: &str, who: String) {
        for ancestor in ancestors(path) {
            self.parents.entry(ancestor.to_string()).or_insert_with(|| format!("{path} ({who})"));
        }
        self.files.insert(path.to_string(), who);
    }
}

/// The directories `path` lies in, innermost first (`/` left out).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(path.rsplit_once('/').map(|(d, _)| d), |d| d.rsplit_once('/').map(|(d, _)| d))
        .filter(|d| !d.is_empty())
}

/// Runs `host_collision` and `host_mask` on every kind of machine: a group's shared items
/// (cluster-wide and the group's) once against what clusterdef writes there, then each failure
/// domain's own items against both. O(groups × own + items) hash operations, each O(depth).
pub(super) fn host_kinds(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut reported = HashSet::new();
    for (g, group) in c.groups() {
        let own = c.own_writes(g);
        let machines = match g {
            GroupRef::Members => format!("the `{}` machines", group.name),
            GroupRef::Pool(_) => format!("pool `{}`", group.name),
        };
        let mut shared = Claims::new(&own);
        let items = c.host_items(g, None);
        host_collision(r, &own, &mut shared, &items, &mut reported);
        host_mask(r, &own, &items, &machines, &mut reported);
        // Each domain's items, once per domain that has machines however many `host_in`
        // entries name it (one naming no domain of the group is `host_scope`'s).
        let spread = group.spread.as_ref();
        let mut entries: HashMap<&str, Vec<usize>> = HashMap::new();
        for (i, (name, _)) in group.host_in.iter().enumerate() {
            entries.entry(name).or_default().push(i);
        }
        let names: Vec<&str> = c
            .host_kinds(g)
            .into_iter()
            .filter_map(|d| Some(&*spread?.domains.get(d?)?.name))
            .filter(|name| entries.contains_key(name))
            .collect();
        for name in names {
            let mut items = HostItems::default();
            for &i in entries.get(name).into_iter().flatten() {
                let config = &group.host_in[i].1;
                let scope = HostScope::Domain(g, i);
                items.files.extend(config.files.iter().enumerate().map(|(j, f)| (scope, j, f)));
                items.units.extend(config.units.iter().enumerate().map(|(j, u)| (scope, j, u)));
                items.dropins.extend(config.dropins.iter().enumerate().map(|(j, d)| (scope, j, d)));
            }
            let mut domain = Claims::over(&shared);
            host_collision(r, &own, &mut domain, &items, &mut reported);
            host_mask(r, &own, &items, &machines, &mut reported);
        }
    }
}

/// `host_collision`: on one kind of machine (a group, or one failure domain of it), every path
/// is written once and where a directory can be: each host file, host unit
/// (`/etc/systemd/system/NAME`, whether it is written, enabled, masked or started) and drop-in
/// (`…/UNIT.d/NAME`) of the scopes that reach it, and everything on clusterdef's list of that
/// machine ([`crate::Cluster::own_writes`]: its files, units and drop-ins, the files
/// coreos-cloudinit writes from its sections, the etcd TLS files, the Kubernetes PKI the user
/// copies in, the kubelet's TLS bootstrap, the SSH keys file). A path taken twice, a file inside
/// another file or inside a directory clusterdef fills, and a file where a directory must be
/// are all refused; a host unit never names a fleet unit or a unit clusterdef configures (its
/// body, enablement or command would fight clusterdef's; a mask of one it needs is
/// `host_mask`'s), and a drop-in never patches a unit clusterdef writes whole, whether declared
/// as a drop-in or as a file in the unit's `.d` directory. The later declaration is at fault,
/// and the message names the first. O(items × depth), with hashes of paths.
fn host_collision(
    r: &mut Report<'_>,
    own: &OwnWrites,
    claims: &mut Claims<'_>,
    items: &HostItems<'_>,
    reported: &mut HashSet<Subject>,
) {
    let written_whole = |unit: &str| own.written_units.iter().any(|u| u == unit);
    let mut collide = |r: &mut Report<'_>, subject: Subject, message: String| {
        if reported.insert(subject) {
            r.push(
                Rule::HostCollision,
                subject,
                message,
                "give it a path (or name) of its own, or declare it once at the scope all these machines share",
            );
        }
    };
    for (scope, i, f) in &items.files {
        let subject = Subject::Host(*scope, HostPart::File(*i));
        let what = format!("host file {:?}", f.path);
        // A file in a unit's drop-in directory is a drop-in, whatever it was declared as.
        let dropin_on = f
            .path
            .strip_prefix(SYSTEMD_DIR)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split_once(".d/"))
            .map(|(unit, _)| unit);
        if let Some(unit) = dropin_on.filter(|u| written_whole(u)) {
            let message = format!(
                "{what} is a drop-in on `{unit}`, which clusterdef writes whole (change the unit's declaration instead)"
            );
            collide(r, subject, message);
            continue;
        }
        if let Some(message) = claim(claims, what, &f.path) {
            collide(r, subject, message);
        }
    }
    for (scope, i, u) in &items.units {
        let subject = Subject::Host(*scope, HostPart::Unit(*i));
        let what = format!("host unit `{}`", u.name);
        let path = format!("{SYSTEMD_DIR}/{}", u.name);
        // Masking a unit clusterdef needs is `host_mask`'s to report.
        if u.mask && own.needed.iter().any(|(n, _)| *n == *u.name) {
            continue;
        }
        if own.units.iter().any(|o| *o == *u.name) {
            collide(
                r,
                subject,
                format!(
                    "{what} writes {path}, which clusterdef (its own unit, or a fleet unit of that name) writes too on the same machines: one would win"
                ),
            );
        } else if let Some(message) = claim(claims, what, &path) {
            collide(r, subject, message);
        }
    }
    for (scope, i, d) in &items.dropins {
        let subject = Subject::Host(*scope, HostPart::DropIn(*i));
        let path = format!("{SYSTEMD_DIR}/{}.d/{}", d.unit, d.name);
        let what = format!("drop-in `{}` on `{}`", d.name, d.unit);
        if written_whole(&d.unit) {
            collide(
                r,
                subject,
                format!(
                    "{what} writes {path}, on a unit clusterdef writes whole (`{}`; change the unit's declaration instead)",
                    d.unit
                ),
            );
        } else if let Some(message) = claim(claims, what, &path) {
            collide(r, subject, message);
        }
    }
}

/// Takes `path` for `what`, or says why it cannot be written.
fn claim(claims: &mut Claims<'_>, what: String, path: &str) -> Option<String> {
    let Some(taken) = claims.taken(path) else {
        claims.take(path, what);
        return None;
    };
    Some(match taken {
        Taken::Same(first) => {
            format!("{what} writes {path}, which {first} writes too on the same machines: one would win")
        }
        Taken::InDirectory(dir, who) => {
            format!("{what} writes {path}, inside {dir}, whose every file is {who}'s on the same machines")
        }
        Taken::InsideFile(file, who) => {
            format!("{what} writes {path}, inside {file}, which is a file ({who}): a file cannot be a directory")
        }
        Taken::IsDirectory(inner) => format!("{what} writes {path}, where a directory must be: it holds {inner}"),
    })
}

/// `host_mask`: no scope masks, disables (`enable: false`) or stops (`command: stop`) a unit
/// clusterdef needs on these machines ([`crate::Cluster::own_writes`]'s `needed`), with what
/// would break. O(units × needed).
fn host_mask(
    r: &mut Report<'_>,
    own: &OwnWrites,
    items: &HostItems<'_>,
    machines: &str,
    reported: &mut HashSet<Subject>,
) {
    for (scope, i, u) in &items.units {
        let Some((_, why)) = own.needed.iter().find(|(n, _)| *n == *u.name) else { continue };
        let (part, how) = if u.mask {
            (HostPart::UnitMask(*i), "masking")
        } else if u.enable == Some(false) {
            (HostPart::UnitEnable(*i), "disabling")
        } else if u.command == Some(UnitCommand::Stop) {
            (HostPart::UnitCommand(*i), "stopping")
        } else {
            continue;
        };
        let subject = Subject::Host(*scope, part);
        if reported.insert(subject) {
            r.push(
                Rule::HostMask,
                subject,
                format!("{how} `{}` on {machines} breaks them: {why}", u.name),
                "leave it as the OS runs it, or change the setting that needs it (e.g. `reboot: off` for locksmithd and update-engine)",
            );
        }
    }
}
