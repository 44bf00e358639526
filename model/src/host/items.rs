//! The host configuration that reaches each kind of machine, gathered from its scopes.

use crate::cluster::Cluster;
use crate::group_ref::GroupRef;
use crate::text::UnitBody;

use super::{DropIn, HostConfig, HostFile, HostScope, HostUnit};

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
