//! fleet placement: the metadata each machine publishes, and which machines may run a unit.
//! The rules, the plan and the renderers all read it from here.

use crate::cluster::Cluster;
use crate::glob;
use crate::group::{Boot, Group, Size};
use crate::group_ref::GroupRef;
use crate::unit::{Requirement, Unit};
use std::collections::HashMap;

/// The fleet metadata of a machine, in the order it is published: `role`, then `cabinet` or
/// `zone`, then `pool`, then the group's own keys in declaration order.
///
/// A group may publish thousands of keys and a unit require thousands: looking a key up is
/// O(1) (an index is kept beside the pairs once there are more than a few), so matching R
/// requirements against a machine is O(R), not O(R × keys).
#[derive(Clone, Debug, Default)]
pub struct Metadata {
    pairs: Vec<(String, String)>,
    /// Key → position of its first pair; empty while `pairs` is short enough to scan.
    index: HashMap<String, usize>,
}

/// Up to this many pairs, a scan is cheaper than an index.
const SCANNED: usize = 8;

impl PartialEq for Metadata {
    fn eq(&self, other: &Metadata) -> bool {
        self.pairs == other.pairs
    }
}

impl Eq for Metadata {}

impl Metadata {
    /// Metadata publishing `pairs` in this order. Where a key repeats, the first value is the
    /// one looked up (`metadata_format` refuses a repeated key).
    pub fn new(pairs: Vec<(String, String)>) -> Metadata {
        let mut index = HashMap::new();
        if pairs.len() > SCANNED {
            for (i, (k, _)) in pairs.iter().enumerate() {
                index.entry(k.clone()).or_insert(i);
            }
        }
        Metadata { pairs, index }
    }

    /// The pairs, in the order they are published.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        if self.pairs.len() > SCANNED {
            self.index.get(key).map(|&i| self.pairs[i].1.as_str())
        } else {
            self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
        }
    }

    /// The keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.pairs.iter().map(|(k, _)| k.as_str())
    }

    /// fleet's `metadata=` form: `role=worker,cabinet=one,disk=ssd`.
    pub fn to_fleet(&self) -> String {
        let pairs: Vec<String> = self.pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join(",")
    }

    /// Whether this machine satisfies the requirement (its value is one of the listed values).
    pub fn satisfies(&self, req: &Requirement) -> bool {
        self.get(&req.key).is_some_and(|v| req.values.iter().any(|w| **w == *v))
    }
}

/// Which of some metadata sets (machine profiles, node kinds) publish each `key=value`: a unit's
/// requirements are looked up here, not tested against every set.
pub struct MetadataIndex<'a> {
    publishing: std::collections::HashMap<&'a str, std::collections::HashMap<&'a str, Vec<usize>>>,
    sets: usize,
}

impl<'a> MetadataIndex<'a> {
    /// The index of `sets`, numbered in order. O(Σ per set its pairs).
    pub fn of(sets: impl IntoIterator<Item = &'a Metadata>) -> MetadataIndex<'a> {
        let mut index = MetadataIndex { publishing: Default::default(), sets: 0 };
        for (i, metadata) in sets.into_iter().enumerate() {
            for (key, value) in metadata.pairs() {
                // The value a key is looked up by is its first (`metadata_format` refuses more).
                if metadata.get(key) == Some(value.as_str()) {
                    index.publishing.entry(key).or_default().entry(value).or_default().push(i);
                }
            }
            index.sets = i + 1;
        }
        index
    }

    /// The sets that may satisfy `requirements` (each a key and the values it allows): those
    /// publishing an allowed value of the requirement the fewest sets publish, ascending; every
    /// set when there are no requirements. The caller tests each candidate against all of them.
    /// O(requirements × values + candidates × log candidates).
    pub fn candidates<'r, V: AsRef<str> + 'r>(
        &self,
        requirements: impl IntoIterator<Item = (&'r str, &'r [V])>,
    ) -> Vec<usize> {
        let rarest = requirements
            .into_iter()
            .map(|(key, values)| {
                let by_value = self.publishing.get(key);
                values.iter().filter_map(|v| by_value?.get(v.as_ref()).map(Vec::as_slice)).collect::<Vec<&[usize]>>()
            })
            .min_by_key(|lists| lists.iter().map(|l| l.len()).sum::<usize>());
        let mut out: Vec<usize> = match rarest {
            Some(lists) => lists.into_iter().flatten().copied().collect(),
            None => (0..self.sets).collect(),
        };
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// One kind of machine: a group, and the failure domain its machines are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The group.
    pub group: GroupRef,
    /// The index of the domain in the group's spread, if it is spread.
    pub domain: Option<usize>,
    /// What machines of this kind publish.
    pub metadata: Metadata,
}

impl Unit {
    /// Whether a machine publishing `metadata` may run this unit: fleet's `HasMetadata`, every
    /// required key present (AND) with one of its listed values (OR).
    pub fn runs_on(&self, metadata: &Metadata) -> bool {
        self.machine_metadata.iter().all(|req| metadata.satisfies(req))
    }
}

impl Cluster {
    /// The fleet metadata the machines of `group` in `domain` publish. Generated keys come first;
    /// free-form keys cannot repeat them (`metadata_format` rejects that).
    pub fn fleet_metadata(&self, group: GroupRef, domain: Option<usize>) -> Metadata {
        let Some(g) = self.group(group) else {
            return Metadata::default();
        };
        let mut out = vec![("role".to_string(), g.role.to_string())];
        if let (Some(spread), Some(d)) = (&g.spread, domain)
            && let Some(domain) = spread.domains.get(d)
        {
            out.push((spread.kind.key().to_string(), domain.name.to_string()));
        }
        if let GroupRef::Pool(_) = group {
            out.push(("pool".to_string(), g.name.to_string()));
        }
        out.extend(g.metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Metadata::new(out)
    }

    /// The failure domains a group's machines are in: those holding machines for a fixed group,
    /// all of them for an autoscaled one, `[None]` for a group that is not spread (and none for
    /// a group of zero machines).
    pub fn group_domains(&self, group: GroupRef) -> Vec<Option<usize>> {
        let Some(g) = self.group(group) else {
            return Vec::new();
        };
        match (&g.spread, g.size) {
            (None, Size::Fixed(0)) => vec![],
            (None, _) => vec![None],
            (Some(_), Size::Fixed(n)) => {
                g.domain_counts(n).iter().enumerate().filter(|(_, c)| **c > 0).map(|(d, _)| Some(d)).collect()
            }
            (Some(spread), Size::Autoscale { .. }) => (0..spread.domains.len()).map(Some).collect(),
        }
    }

    /// Every kind of machine the cluster has: one per group and failure domain.
    pub fn metadata_profiles(&self) -> Vec<Profile> {
        self.groups()
            .flat_map(|(group, _)| {
                self.group_domains(group).into_iter().map(move |domain| Profile {
                    group,
                    domain,
                    metadata: self.fleet_metadata(group, domain),
                })
            })
            .collect()
    }
}

impl Group {
    /// Whether the group's machines share one config per failure domain rather than one each:
    /// autoscaled pools (machines unknown in advance) and PXE pools (told apart only by DHCP).
    pub fn shares_configs(&self) -> bool {
        matches!(self.size, Size::Autoscale { .. }) || matches!(self.boot, Boot::Pxe { .. })
    }
}

/// A config that carries a unit, where the OS has no fleet to place it at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Host {
    /// One machine of a fixed group, by its index in the group.
    Machine(GroupRef, u32),
    /// The shared config of a pool in one failure domain: every machine booted from it.
    Pool(GroupRef, Option<usize>),
}

/// A unit that cannot be placed at compile time, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unplaceable {
    /// The unit's index.
    pub unit: usize,
    /// Where in the unit the problem lies: its name, or its `instances` when only some of a
    /// template's instances find a machine.
    pub part: crate::subject::UnitPart,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Unit {
    /// What runs where, given the hosts [`Cluster::compile_placement`] chose for this unit:
    /// every instance of a global unit on each of its hosts; instance `k` of any other unit on
    /// `hosts[k]`.
    pub fn placed_names(&self, hosts: &[Host]) -> Vec<(Host, String)> {
        let names = self.instance_names();
        if self.global {
            hosts.iter().flat_map(|h| names.iter().map(move |n| (*h, n.clone()))).collect()
        } else {
            hosts.iter().copied().zip(names).collect()
        }
    }
}

impl Cluster {
    /// Where each unit runs when the OS has no scheduler (Flatcar), per unit; empty where fleet
    /// places units at run time (CoreOS).
    pub fn placement_for_os(&self) -> Vec<Vec<Host>> {
        match self.os {
            crate::settings::Os::Flatcar => self.compile_placement().0,
            crate::settings::Os::CoreOs => Vec::new(),
        }
    }

    /// Where each unit runs when nothing schedules at run time (Flatcar has no fleet): fleet's
    /// placement decided now. A global unit goes to every config whose machines match its
    /// metadata (AND across keys, OR within one); any other unit goes to one matching machine of
    /// a fixed group (the least loaded, then the first by hostname), beside its `machine_of`
    /// target and away from every unit it conflicts with (in either direction). Units that
    /// cannot be placed are returned with the reason; their hosts are empty.
    pub fn compile_placement(&self) -> (Vec<Vec<Host>>, Vec<Unplaceable>) {
        // Machines of one group and domain publish the same metadata: each kind is matched once
        // per unit, not each machine.
        let mut kinds: Vec<((GroupRef, Option<usize>), Metadata)> = Vec::new();
        let mut kind_of: HashMap<(GroupRef, Option<usize>), usize> = HashMap::new();
        let machines: Vec<(Host, String, usize)> = self
            .machines()
            .into_iter()
            .filter(|m| self.group(m.group).is_some_and(|g| !g.shares_configs()))
            .map(|m| {
                let kind = *kind_of.entry((m.group, m.domain)).or_insert_with(|| {
                    kinds.push(((m.group, m.domain), self.fleet_metadata(m.group, m.domain)));
                    kinds.len() - 1
                });
                (Host::Machine(m.group, m.index), m.hostname.clone(), kind)
            })
            .collect();
        let pools: Vec<(Host, Metadata)> = self
            .groups()
            .filter(|(_, g)| g.shares_configs())
            .flat_map(|(g, _)| {
                self.group_domains(g).into_iter().map(move |d| (Host::Pool(g, d), self.fleet_metadata(g, d)))
            })
            .collect();
        let units = &self.units;
        // Hosts are slots: the fixed machines, then the pool configs. The loops below run per
        // unit over every matching machine, so they compare integers, not hostnames or hosts.
        let slots: Vec<Host> = machines.iter().map(|(h, _, _)| *h).chain(pools.iter().map(|(h, _)| *h)).collect();
        let mut by_name: Vec<usize> = (0..machines.len()).collect();
        by_name.sort_by(|&a, &b| machines[a].1.cmp(&machines[b].1));
        let mut name_rank = vec![0; machines.len()];
        for (rank, &i) in by_name.iter().enumerate() {
            name_rank[i] = rank;
        }
        let names: Vec<Vec<String>> = units.iter().map(Unit::instance_names).collect();
        let mut on: Vec<Vec<usize>> = vec![Vec::new(); units.len()];
        // What runs in each slot, as (unit, instance), for the conflict checks.
        let mut running: Vec<Vec<(usize, usize)>> = vec![Vec::new(); slots.len()];
        let mut problems = Vec::new();
        let mut load: Vec<usize> = vec![0; machines.len()];
        // As in fleet, the engine's decisions come first and global units after them: fleet's
        // engine places the non-global units (a unit that follows another after it; a cycle is
        // `machine_of_target`'s to report), and each agent then runs the global units that match
        // its machine, skipping one that conflicts with a unit already there (fleet ≥ 1.0). So
        // the result does not depend on the order the units are declared in.
        let position: std::collections::HashMap<&str, usize> =
            units.iter().enumerate().rev().map(|(i, x)| (&*x.name, i)).collect();
        let target = |u: usize| units[u].machine_of.as_ref().and_then(|t| position.get(&**t).copied());
        let chains = chain_lengths(units.len(), target);
        let mut order: Vec<usize> = (0..units.len()).collect();
        order.sort_by_key(|&u| (units[u].global, chains[u]));
        // Workloads are Kubernetes' to place, at run time: they take no slot here.
        order.retain(|&u| !self.is_workload(u));
        let conflicts_anywhere = units.iter().any(|u| !u.conflicts.is_empty());
        for u in order {
            let unit = &units[u];
            let blocked = |slot: usize, name: &str, running: &[Vec<(usize, usize)>]| {
                if !conflicts_anywhere {
                    return Blocked::No;
                }
                let mut blocked = Blocked::No;
                for &(v, k) in &running[slot] {
                    let other = &names[v][k];
                    if other == name {
                        continue;
                    }
                    if unit.conflicts.iter().any(|g| glob::matches(g, other)) {
                        return Blocked::ForEveryInstance;
                    }
                    if units[v].conflicts.iter().any(|g| glob::matches(g, name)) {
                        blocked = Blocked::ForThisInstance;
                    }
                }
                blocked
            };
            // Which of two units' globs match only matters to the heap below; here a conflict in
            // either direction keeps a global unit off the machine.
            let free =
                |slot: usize, name: &str, running: &[Vec<(usize, usize)>]| blocked(slot, name, running) == Blocked::No;
            let names_here = &names[u];
            let fits: Vec<bool> = kinds.iter().map(|(_, m)| unit.runs_on(m)).collect();
            if unit.global {
                let mut matching: Vec<usize> = (0..machines.len()).filter(|&i| fits[machines[i].2]).collect();
                matching.extend((0..pools.len()).filter(|&p| unit.runs_on(&pools[p].1)).map(|p| machines.len() + p));
                let count = matching.len();
                on[u] = matching.into_iter().filter(|&s| names_here.iter().all(|n| free(s, n, &running))).collect();
                for &s in &on[u] {
                    running[s].extend((0..names_here.len()).map(|k| (u, k)));
                }
                if count > 0 && on[u].is_empty() {
                    problems.push(Unplaceable {
                        unit: u,
                        part: crate::subject::UnitPart::Name,
                        message: format!(
                            "no machine is left for global `{}`: {} its metadata already runs a unit it conflicts with",
                            unit.name,
                            machines_that_match(count)
                        ),
                        help: "narrow the `conflicts` on either side, or add machines with its metadata".to_string(),
                    });
                }
                continue;
            }
            let beside: Option<Vec<bool>> = target(u).map(|t| {
                let mut beside = vec![false; slots.len()];
                for &s in &on[t] {
                    beside[s] = true;
                }
                beside
            });
            let matching: Vec<usize> = (0..machines.len()).filter(|&i| fits[machines[i].2]).collect();
            if matching.is_empty() {
                if pools.iter().any(|(_, m)| unit.runs_on(m)) {
                    problems.push(Unplaceable {
                        unit: u,
                        part: crate::subject::UnitPart::Name,
                        message: format!(
                            "only autoscaled or PXE pools can run `{}`, and one config serves a whole pool, so with \
                             no scheduler it would run on every machine of the pool",
                            unit.name
                        ),
                        help: "make it `global` to run it on every machine of the pool, or give its metadata to a pool of a fixed count".to_string(),
                    });
                }
                continue;
            }
            // Each instance of a template is placed on its own, as fleet schedules each: on the
            // free candidate with the least load, then the first hostname. The candidates wait in
            // a heap by that order; one that runs a unit this one conflicts with is dropped for
            // good (that never changes while this unit is placed), one blocked only for this
            // instance's name waits for the next. So N instances over M machines cost
            // O((N + M) log M) checks, not N × M.
            let mut heap: std::collections::BinaryHeap<std::cmp::Reverse<(usize, usize, usize)>> = matching
                .iter()
                .copied()
                .filter(|&i| beside.as_ref().is_none_or(|b| b[i]))
                .map(|i| std::cmp::Reverse((load[i], name_rank[i], i)))
                .collect();
            for (k, name) in names_here.iter().enumerate() {
                let mut waiting = Vec::new();
                let mut chosen = None;
                while let Some(std::cmp::Reverse(entry)) = heap.pop() {
                    match blocked(entry.2, name, &running) {
                        Blocked::No => {
                            chosen = Some(entry.2);
                            break;
                        }
                        Blocked::ForThisInstance => waiting.push(std::cmp::Reverse(entry)),
                        Blocked::ForEveryInstance => {}
                    }
                }
                heap.extend(waiting);
                match chosen {
                    Some(i) => {
                        load[i] += 1;
                        on[u].push(i);
                        running[i].push((u, k));
                        heap.push(std::cmp::Reverse((load[i], name_rank[i], i)));
                    }
                    None => {
                        problems.push(Unplaceable {
                            unit: u,
                            part: if k > 0 {
                                crate::subject::UnitPart::Instances
                            } else {
                                crate::subject::UnitPart::Name
                            },
                            message: format!(
                                "no machine is left for `{name}`: {} its metadata {}",
                                machines_that_match(matching.len()),
                                if beside.is_some() {
                                    "is not beside its `machine_of` unit or already runs a unit it conflicts with"
                                } else {
                                    "already runs a unit it conflicts with"
                                }
                            ),
                            help: if names_here.len() > 1 {
                                "lower `instances` to at most the machines that can run it, add machines with its \
                                 metadata, or narrow its `conflicts`"
                                    .to_string()
                            } else {
                                "add machines with its metadata, or narrow its `conflicts`".to_string()
                            },
                        });
                        // Placed instances stay; the rest cannot be placed either.
                        break;
                    }
                }
            }
        }
        let hosts = on.into_iter().map(|slots_of| slots_of.into_iter().map(|s| slots[s]).collect()).collect();
        (hosts, problems)
    }
}

/// "the one machine that matches" or "each of the N machines that match".
fn machines_that_match(n: usize) -> String {
    match n {
        1 => "the one machine that matches".to_string(),
        n => format!("each of the {n} machines that match"),
    }
}

/// Whether a machine may take a unit's instance, given what already runs there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Blocked {
    /// Nothing there conflicts with it.
    No,
    /// A unit there conflicts with this instance's name only (its own globs match the name).
    ForThisInstance,
    /// The unit's own globs match a unit there: no instance of it may go there.
    ForEveryInstance,
}

/// How many `machine_of` links lead from each of `count` units (`target` gives the next), each
/// chain walked once and remembered, so the whole is O(units); a unit on a cycle (which
/// `machine_of_target` reports) counts the units of the cycle.
fn chain_lengths(count: usize, target: impl Fn(usize) -> Option<usize>) -> Vec<usize> {
    const UNKNOWN: usize = usize::MAX;
    let mut length = vec![UNKNOWN; count];
    for start in 0..count {
        // Walk until a unit whose length is known, or a unit seen on this walk (a cycle).
        let mut path = Vec::new();
        let mut on_path = std::collections::HashSet::new();
        let mut current = Some(start);
        let mut base = 0;
        while let Some(c) = current {
            if length[c] != UNKNOWN {
                base = length[c] + 1;
                break;
            }
            if !on_path.insert(c) {
                base = path.len();
                break;
            }
            path.push(c);
            current = target(c);
        }
        if current.is_none() {
            base = 0;
        }
        for (i, &c) in path.iter().rev().enumerate() {
            if length[c] == UNKNOWN {
                length[c] = if current.is_none() { i } else { base + i };
            }
        }
    }
    length
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use crate::*;

    fn unit(name: &'static str, global: bool, conflicts: &[&'static str]) -> Unit {
        let mut unit = Unit::new(name, UnitBody::Inline(Cow::Borrowed("[Service]\nExecStart=/bin/true\n")));
        unit.global = global;
        unit.conflicts = Cow::Owned(conflicts.iter().map(|c| Cow::Borrowed(*c)).collect());
        unit
    }

    /// Where each unit lands, by machine index, for units declared in this order.
    fn placed(units: Vec<Unit>) -> Vec<(String, Vec<u32>)> {
        let members = Group::new("member", "member", Size::Fixed(3)).across(DomainKind::Cabinet, ["a", "b", "c"]);
        let mut cluster = Cluster::new("p", Layout::Small, members);
        cluster.os = Os::Flatcar;
        cluster.units = Cow::Owned(units);
        let (hosts, problems) = cluster.compile_placement();
        assert!(problems.is_empty(), "{problems:?}");
        let mut out: Vec<(String, Vec<u32>)> = cluster
            .units
            .iter()
            .zip(hosts)
            .map(|(u, hosts)| {
                let machines = hosts.iter().filter_map(|h| match h {
                    Host::Machine(_, i) => Some(*i),
                    Host::Pool(..) => None,
                });
                (u.name.to_string(), machines.collect())
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn a_global_unit_skips_the_machine_of_a_unit_it_conflicts_with_in_any_declaration_order() {
        let spread = || unit("solo.service", false, &["s*.service"]);
        let everywhere = || unit("sidecar.service", true, &[]);
        let one_way = placed(vec![spread(), everywhere()]);
        let other_way = placed(vec![everywhere(), spread()]);
        assert_eq!(one_way, other_way);
        assert_eq!(one_way, [("sidecar.service".to_string(), vec![1, 2]), ("solo.service".to_string(), vec![0])]);
    }

    #[test]
    fn a_global_unit_every_match_of_which_runs_a_conflicting_unit_is_unplaceable() {
        let members = Group::new("member", "member", Size::Fixed(1));
        let mut cluster = Cluster::new("p", Layout::Small, members);
        cluster.os = Os::Flatcar;
        cluster.units =
            Cow::Owned(vec![unit("sidecar.service", true, &[]), unit("solo.service", false, &["s*.service"])]);
        let (hosts, problems) = cluster.compile_placement();
        assert_eq!(hosts[0], [], "sidecar is left no machine");
        assert_eq!(problems.iter().map(|p| p.unit).collect::<Vec<_>>(), [0]);
        assert!(
            problems[0].message.contains("no machine is left for global `sidecar.service`"),
            "{}",
            problems[0].message
        );
    }

    #[test]
    fn conflicting_instances_spread_over_the_least_loaded_machines() {
        let placed = placed(vec![
            unit("web-1.service", false, &["web-*.service"]),
            unit("web-2.service", false, &["web-*.service"]),
            unit("cache.service", false, &[]),
        ]);
        let on = |name: &str| placed.iter().find(|(n, _)| n == name).map(|(_, m)| m.clone()).unwrap_or_default();
        assert_ne!(on("web-1.service"), on("web-2.service"));
        assert_eq!(on("cache.service"), [2], "the one machine with nothing on it");
    }
}
