//! The machines' own configuration: files, host units and drop-ins, declared cluster-wide, per
//! group and per failure domain of a group. Unlike fleet units, host configuration is never
//! scheduled: every machine of its scope carries it from first boot.

use std::borrow::Cow;

use crate::cluster::{Cluster, List, Text, UnitBody};
use crate::subject::GroupRef;

/// Host configuration at one scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct HostConfig {
    /// Files written at their paths.
    pub files: List<HostFile>,
    /// systemd units: written, enabled, masked or started.
    pub units: List<HostUnit>,
    /// Drop-ins on units, shipped ones included.
    pub dropins: List<DropIn>,
}

impl HostConfig {
    /// No configuration, in a `const` context.
    pub const EMPTY: HostConfig =
        HostConfig { files: Cow::Borrowed(&[]), units: Cow::Borrowed(&[]), dropins: Cow::Borrowed(&[]) };

    /// Whether it declares nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.units.is_empty() && self.dropins.is_empty()
    }
}

/// A file on the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct HostFile {
    /// The absolute path.
    pub path: Text,
    /// The contents, written in the declaration or read from a file of the project.
    pub contents: UnitBody,
    /// The permission bits (at most `0o7777`); `0o644` unless declared.
    pub mode: u32,
    /// The owner, by name or id; `None` is root.
    pub owner: Option<Owner>,
    /// The group, by name or id; `None` is root's.
    pub group: Option<Owner>,
}

/// A user or group, by name or by numeric id.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Owner {
    /// By name, such as `core`.
    Name(Text),
    /// By id, such as `500`.
    Id(u32),
}

/// A systemd unit on the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct HostUnit {
    /// The unit's name, such as `docker-tcp.socket`.
    pub name: Text,
    /// Its contents; `None` for a unit the OS ships (masked, enabled or started as it is).
    pub body: Option<UnitBody>,
    /// Whether it is enabled at boot; `None` enables a unit whose body has an `[Install]`
    /// section, as `systemctl enable` would act on it, and leaves others alone.
    pub enable: Option<bool>,
    /// Whether it is masked (linked to `/dev/null`).
    pub mask: bool,
    /// A command run on it at boot (CoreOS's coreos-cloudinit only).
    pub command: Option<UnitCommand>,
}

impl HostUnit {
    /// Whether the unit is enabled at boot: as declared, else when its body has an `[Install]`
    /// section that names a target (`WantedBy=`, `RequiredBy=`, `Also=` or `Alias=`).
    pub fn enabled(&self) -> bool {
        self.enable.unwrap_or_else(|| self.body.as_ref().is_some_and(|b| installs(b.text())))
    }
}

pub use crate::unit_file::installs;

/// What coreos-cloudinit does to a unit at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum UnitCommand {
    /// `systemctl start`.
    Start,
    /// `systemctl restart`.
    Restart,
    /// `systemctl stop`.
    Stop,
}

impl UnitCommand {
    /// The word the language and coreos-cloudinit use.
    pub const fn as_str(self) -> &'static str {
        match self {
            UnitCommand::Start => "start",
            UnitCommand::Restart => "restart",
            UnitCommand::Stop => "stop",
        }
    }
}

/// A drop-in on a unit: `/etc/systemd/system/<unit>.d/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct DropIn {
    /// The unit it applies to, such as `docker.service`.
    pub unit: Text,
    /// The drop-in's file name, ending in `.conf`.
    pub name: Text,
    /// Its contents.
    pub body: UnitBody,
}

/// Where a piece of host configuration is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostScope {
    /// Cluster-wide.
    Cluster,
    /// In a group's options.
    Group(GroupRef),
    /// For one failure domain of a group: the group and the index into its `host_in` list.
    Domain(GroupRef, usize),
}

/// One machine kind's host configuration: every item of the scopes that reach it, each with the
/// scope it comes from and its index there, in the order they apply (cluster, group, domain).
#[derive(Clone, Debug, Default)]
pub struct HostItems<'a> {
    /// The files.
    pub files: Vec<(HostScope, usize, &'a HostFile)>,
    /// The units.
    pub units: Vec<(HostScope, usize, &'a HostUnit)>,
    /// The drop-ins.
    pub dropins: Vec<(HostScope, usize, &'a DropIn)>,
}

/// One unit as a renderer writes it: its declaration (if any) and every drop-in on it.
#[derive(Clone, Debug)]
pub struct UnitEntry<'a> {
    /// The unit's name.
    pub name: &'a str,
    /// The first declaration of the unit (`host_collision` refuses a second on one machine).
    pub unit: Option<&'a HostUnit>,
    /// Its drop-ins, in the order they apply.
    pub dropins: Vec<&'a DropIn>,
}

impl<'a> HostItems<'a> {
    /// Whether there is nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.units.is_empty() && self.dropins.is_empty()
    }

    /// The units and drop-ins gathered by unit name, in the order each name first appears
    /// (units first, then drop-ins on other units), as both OSes' engines take them: one entry
    /// per unit. O(items), with a hash of names.
    pub fn by_unit(&self) -> Vec<UnitEntry<'a>> {
        let mut entries: Vec<UnitEntry<'a>> = Vec::new();
        let mut index: std::collections::HashMap<&'a str, usize> = std::collections::HashMap::new();
        let mut entry = |name: &'a str, entries: &mut Vec<UnitEntry<'a>>| -> usize {
            *index.entry(name).or_insert_with(|| {
                entries.push(UnitEntry { name, unit: None, dropins: Vec::new() });
                entries.len() - 1
            })
        };
        for (_, _, u) in &self.units {
            let i = entry(&u.name, &mut entries);
            entries[i].unit.get_or_insert(*u);
        }
        for (_, _, d) in &self.dropins {
            let i = entry(&d.unit, &mut entries);
            entries[i].dropins.push(*d);
        }
        entries
    }
}

impl Cluster {
    /// The host configuration of the machines of `group` in `domain` (its index in the group's
    /// spread): the cluster's, then the group's, then the domain's. O(items).
    pub fn host_items(&self, group: GroupRef, domain: Option<usize>) -> HostItems<'_> {
        let mut items = HostItems::default();
        let Some(g) = self.group(group) else { return items };
        let domain_name = domain.and_then(|d| g.spread.as_ref()?.domains.get(d)).map(|d| &d.name);
        let mut scopes: Vec<(HostScope, &HostConfig)> =
            vec![(HostScope::Cluster, &self.host), (HostScope::Group(group), &g.host)];
        for (i, (name, config)) in g.host_in.iter().enumerate() {
            if Some(name) == domain_name {
                scopes.push((HostScope::Domain(group, i), config));
            }
        }
        for (scope, config) in scopes {
            items.files.extend(config.files.iter().enumerate().map(|(i, f)| (scope, i, f)));
            items.units.extend(config.units.iter().enumerate().map(|(i, u)| (scope, i, u)));
            items.dropins.extend(config.dropins.iter().enumerate().map(|(i, d)| (scope, i, d)));
        }
        items
    }

    /// Every project file the declaration's bodies were read from (`body: file "…"` of units,
    /// host files, host units and drop-ins at every scope), as written, each once, in
    /// declaration order: what a build script reruns on. O(items).
    pub fn body_files(&self) -> Vec<&str> {
        let mut configs: Vec<&HostConfig> = vec![&self.host];
        for (_, g) in self.groups() {
            configs.push(&g.host);
            configs.extend(g.host_in.iter().map(|(_, h)| h));
        }
        let bodies = self.units.iter().map(|u| &u.body).chain(configs.into_iter().flat_map(|h| {
            h.files
                .iter()
                .map(|f| &f.contents)
                .chain(h.units.iter().filter_map(|u| u.body.as_ref()))
                .chain(h.dropins.iter().map(|d| &d.body))
        }));
        let mut seen = std::collections::HashSet::new();
        bodies
            .filter_map(|b| match b {
                UnitBody::File { path, .. } => Some(&**path),
                UnitBody::Inline(_) => None,
            })
            .filter(|p| seen.insert(*p))
            .collect()
    }

    /// The kinds of machine of `group` whose host configuration differs: one per failure
    /// domain that has machines, or the group alone when it has no domains (or no machines, so
    /// its declarations are still checked).
    pub fn host_kinds(&self, group: GroupRef) -> Vec<Option<usize>> {
        let kinds = self.group_domains(group);
        if kinds.is_empty() { vec![None] } else { kinds }
    }
}
