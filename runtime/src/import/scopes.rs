//! The machines' own configuration given the scope it has across machines: what every group
//! carries is the cluster's, what every machine of a group carries is the group's, what every
//! machine of one failure domain carries is that domain's. Anything else (an item only some
//! machines of a domain carry) has no scope in the language and is lossy, on its line.

use clusterdef_model::HostConfig;

use super::assembly::Assembly;
use super::host::HostItem;
use super::{Finding, lossy};

/// Items as read, each with its line.
type Lined = Vec<(usize, HostItem)>;

/// A group's own host configuration and its domains'.
pub(super) type GroupHost = (HostConfig, Vec<(String, HostConfig)>);

/// Each group's host configuration by scope, and the cluster's. A machine's configuration
/// renders as the cluster's items, then its group's, then its domain's, kind by kind (files,
/// units, drop-ins); so, read back, the longest run of items that every machine of a group
/// starts with is the group's, the longest run every group starts with is the cluster's, and
/// what follows the group's run on the machines of one domain, alike on all of them, is that
/// domain's. Taking runs rather than any common items keeps each machine's order, so the
/// declaration renders the same bytes. Items only some machines of a domain carry are findings
/// on their lines. O(items).
pub(super) fn scopes(groups: &[&Assembly], findings: &mut Vec<Finding>) -> (HostConfig, Vec<GroupHost>) {
    let mut per_group: Vec<(Lined, Vec<(String, Lined)>)> = Vec::new();
    for group in groups {
        let lists: Vec<&[(usize, HostItem)]> = group.configs.iter().map(|c| c.host.as_slice()).collect();
        let all = common_run(&lists);
        let mut by_domain: Vec<(Option<String>, Vec<usize>)> = Vec::new();
        for (i, c) in group.configs.iter().enumerate() {
            let d = c.domain().map(|(_, d)| d.to_string());
            match by_domain.iter_mut().find(|(x, _)| *x == d) {
                Some((_, list)) => list.push(i),
                None => by_domain.push((d, vec![i])),
            }
        }
        let mut domains = Vec::new();
        for (domain, members) in &by_domain {
            let rests: Vec<Vec<(usize, HostItem)>> =
                members.iter().map(|&i| after(&group.configs[i].host, &all)).collect();
            let shared = match domain {
                Some(_) => common_run(&rests.iter().map(Vec::as_slice).collect::<Vec<_>>()),
                None => Vec::new(),
            };
            for (&i, items) in members.iter().zip(&rests) {
                let config = &group.configs[i];
                for (line, item) in after(items, &shared) {
                    let ignition = matches!(config.read, super::config::Read::Ignition { .. });
                    let what = match (&item, ignition) {
                        (HostItem::File(f), false) => format!("write_files `{}`", f.path),
                        (HostItem::File(f), true) => format!("file `{}`", f.path),
                        (HostItem::Unit(u), false) => format!("coreos.units `{}`", u.name),
                        (HostItem::Unit(u), true) => format!("unit `{}`", u.name),
                        (HostItem::DropIn(d), _) => format!("drop-in `{}` on `{}`", d.name, d.unit),
                    };
                    let scope = match domain {
                        Some(d) => format!("the machines of `{d}` in group `{}`", group.name),
                        None => format!("the machines of group `{}`", group.name),
                    };
                    findings.push(lossy(&config.path, line, what, format!("only some of {scope} carry it (or carry it in another order); the language declares a machine's own configuration per cluster, group or failure domain, so it is left out")));
                }
            }
            if let (Some(d), false) = (domain, shared.is_empty()) {
                domains.push((d.clone(), shared));
            }
        }
        per_group.push((all, domains));
    }
    let cluster_items = common_run(&per_group.iter().map(|(all, _)| all.as_slice()).collect::<Vec<_>>());
    let groups_out = per_group
        .iter()
        .map(|(all, domains)| {
            let own = after(all, &cluster_items);
            (config_of(own), domains.iter().map(|(d, items)| (d.clone(), config_of(items.clone()))).collect())
        })
        .collect();
    (config_of(cluster_items), groups_out)
}

/// Which of a host configuration's lists an item goes in.
fn kind(item: &HostItem) -> usize {
    match item {
        HostItem::File(_) => 0,
        HostItem::Unit(_) => 1,
        HostItem::DropIn(_) => 2,
    }
}

/// Kind by kind, the longest run of items all lists start with (with the first list's lines).
/// O(items).
fn common_run(lists: &[&[(usize, HostItem)]]) -> Vec<(usize, HostItem)> {
    let Some((first, rest)) = lists.split_first() else { return Vec::new() };
    let of_kind = |list: &[(usize, HostItem)], k: usize| -> Vec<(usize, HostItem)> {
        list.iter().filter(|(_, i)| kind(i) == k).cloned().collect()
    };
    let mut out = Vec::new();
    for k in 0..3 {
        let head = of_kind(first, k);
        let mut len = head.len();
        for list in rest {
            let other = of_kind(list, k);
            len = head.iter().zip(&other).take(len).take_while(|((_, a), (_, b))| a == b).count();
        }
        out.extend(head.into_iter().take(len));
    }
    out
}

/// The items of `list` after, kind by kind, as many as `run` holds of that kind. O(items).
fn after(list: &[(usize, HostItem)], run: &[(usize, HostItem)]) -> Vec<(usize, HostItem)> {
    let mut skip = [0usize; 3];
    for (_, item) in run {
        skip[kind(item)] += 1;
    }
    list.iter()
        .filter(|(_, item)| {
            let k = kind(item);
            if skip[k] > 0 {
                skip[k] -= 1;
                false
            } else {
                true
            }
        })
        .cloned()
        .collect()
}

/// The items as a host configuration, kind by kind in their order.
fn config_of(items: Vec<(usize, HostItem)>) -> HostConfig {
    let (mut files, mut units, mut dropins) = (Vec::new(), Vec::new(), Vec::new());
    for (_, item) in items {
        match item {
            HostItem::File(f) => files.push(f),
            HostItem::Unit(u) => units.push(u),
            HostItem::DropIn(d) => dropins.push(d),
        }
    }
    HostConfig { files: files.into(), units: units.into(), dropins: dropins.into() }
}
