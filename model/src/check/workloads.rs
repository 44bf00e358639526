//! Rules on what each workload becomes and where it may run: Kubernetes names, placement,
//! contention between workloads that avoid each other, survival of each failure domain's loss.

use super::Report;
use crate::group::Size;
use crate::kubernetes::{DomainLoss, NodeKind, Workload, is_dns_label, object_name};
use crate::rule::Rule;
use crate::subject::{Subject, UnitPart};
use crate::words::plural;

/// `workload_placement`: what Kubernetes can express and place. A workload's object name (the
/// unit's name without type and `@`) is a DNS label, and no two workload units share one; it has no body besides its image (nothing
/// would run it); it has no `machine_id` (nodes are named by hostname, and a pin never moves)
/// or `replaces` (no equivalent); a `machine_of` pairs two workloads (their containers share
/// one pod) and the follower declares neither `global` nor `instances`; its `conflicts` name
/// no host unit (Kubernetes does not see those); two workloads that avoid each other share no
/// node they may both run on (else which gets it depends on the order their pods are created,
/// and the plan could not promise either's placement); some node satisfies its requirements (the
/// control-plane taint tolerated where fleet would have placed it there); no port is declared
/// twice in one pod; and a workload whose replicas avoid each other has a node for each.
pub(super) fn workload_placement(r: &mut Report<'_>, kinds: &[NodeKind], workloads: &[Workload]) {
    let c = r.cluster;
    for (u, unit) in c.units.iter().enumerate() {
        let workload = c.is_workload(u);
        if let Some(target) = &unit.machine_of {
            let target_workload = c.units.iter().position(|t| t.name == *target).is_some_and(|t| c.is_workload(t));
            if workload != target_workload {
                r.push(
                    Rule::WorkloadPlacement,
                    Subject::Unit(u, UnitPart::MachineOf),
                    format!(
                        "`{}` follows `{target}`, but only one of them names an image: a pod and a host unit placed at render time cannot be kept together",
                        unit.name
                    ),
                    "give both units an image (they then share one pod), or neither",
                );
            }
            if workload && (unit.global || unit.instances.is_some()) {
                r.push(
                    Rule::WorkloadPlacement,
                    Subject::Unit(u, if unit.global { UnitPart::Global } else { UnitPart::Instances }),
                    format!(
                        "`{}` follows `{target}`, so its container runs in `{target}`'s pods, as many as those are",
                        unit.name
                    ),
                    "remove `global` or `instances` from the follower; declare them on the unit it follows",
                );
            }
        }
        if !workload {
            continue;
        }
        let name = object_name(&unit.name);
        if !is_dns_label(name) {
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(u, UnitPart::Name),
                format!(
                    "`{name}` (from `{}`) is no Kubernetes object name: at most 63 lower-case letters, digits and `-`",
                    unit.name
                ),
                "rename the unit, e.g. `web-app.service`",
            );
        }
        if !unit.body.text().trim().is_empty() {
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(u, UnitPart::Body),
                format!("`{}` runs its image as a pod; its body would be ignored", unit.name),
                "remove the body, or the image to keep it a host unit",
            );
        }
        if unit.machine_id.is_some() {
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(u, UnitPart::MachineId),
                format!("`{}` is pinned to a machine ID, which names no Kubernetes node (nodes go by hostname), and a pinned pod never moves", unit.name),
                "select the machine by its metadata instead",
            );
        }
        if !unit.replaces.is_empty() {
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(u, UnitPart::Replace(0)),
                format!("`{}` declares `replaces`, which Kubernetes has no equivalent for", unit.name),
                "remove `replaces`; use conflicts to keep the units apart",
            );
        }
        for (i, g) in unit.conflicts.iter().enumerate() {
            if let Some(host) = c.units.iter().enumerate().find(|(h, h_unit)| {
                !c.is_workload(*h) && h_unit.instance_names().iter().any(|n| crate::glob::matches(g, n))
            }) {
                r.push(
                    Rule::WorkloadPlacement,
                    Subject::Unit(u, UnitPart::Conflict(i)),
                    format!(
                        "`{g}` matches `{}`, a host unit Kubernetes does not see, so it cannot keep `{}` away from it",
                        host.1.name, unit.name
                    ),
                    "give both units an image, or keep them apart with metadata",
                );
            }
        }
    }
    workload_names(r);
    pod_ports(r, workloads);
    workload_contention(r, kinds, workloads);
    for w in workloads {
        let unit = &c.units[w.unit];
        if is_dns_label(&w.name) && w.name.starts_with(|ch: char| ch.is_ascii_digit()) && !w.ports(c).is_empty() {
            // Its ports make a Service of the same name (its pods' containers', followers'
            // too), and a Service's name is a DNS-1035 label: the API server refuses one that
            // starts with a digit.
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(w.unit, UnitPart::Name),
                format!(
                    "`{}` (from `{}`): its pods declare ports, so it gets a Service of that name, and a Service's name starts with a letter",
                    w.name, unit.name
                ),
                format!("rename the unit, e.g. `w{}.service`", w.name),
            );
        }
        if w.name == "kubernetes" && !w.ports(c).is_empty() {
            // Its Service would be the apiserver's own in `default`, which every in-cluster
            // client (CoreDNS, flannel) reaches the control plane through: applying it would
            // point that Service at the workload's pods.
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(w.unit, UnitPart::Name),
                format!(
                    "`{}`: its pods declare ports, so it gets a Service named `kubernetes`, which is the apiserver's own in the `default` namespace",
                    unit.name
                ),
                "rename the unit, e.g. `kubernetes-app.service`",
            );
        }
        if w.eligible.is_empty() {
            let wanted = w.requirement_texts();
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(w.unit, workload_subject(unit)),
                format!(
                    "no node satisfies `{}`'s requirements ({}), so its pods would stay pending",
                    unit.name,
                    if wanted.is_empty() { "none, but every node is tainted".to_string() } else { wanted.join(", ") }
                ),
                "require metadata some group's machines publish",
            );
            continue;
        }
        let autoscaled =
            w.eligible.iter().any(|&k| matches!(c.group(kinds[k].group).map(|g| g.size), Some(Size::Autoscale { .. })));
        let most: u32 = w.eligible.iter().map(|&k| kinds[k].count.max).sum();
        if let (crate::kubernetes::WorkloadKind::Deployment(n), true, false) =
            (w.kind, w.spreads_per_node(), autoscaled)
            && n > most
        {
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(w.unit, UnitPart::Instances),
                format!("`{}`'s {n} replicas avoid each other, and only {most} nodes may run them, so {} would stay pending", unit.name, n - most),
                format!("run at most {most} instances, or let more machines satisfy its metadata"),
            );
        }
    }
}

/// `workload_survival`: for each failure domain lost whole, a workload the control plane could
/// still reschedule (etcd keeps quorum) keeps somewhere to run every pod it wants; otherwise
/// it is down until the domain returns. Losses that take etcd's quorum are `etcd_quorum`'s and
/// `domain_quorum`'s to report, not this rule's. One error per workload, naming the first
/// domain it cannot survive and how many more. O(domains + kinds + Σ eligible kinds).
pub(super) fn workload_survival(r: &mut Report<'_>, kinds: &[NodeKind], workloads: &[Workload], crowded_at_rest: bool) {
    let c = r.cluster;
    // Per workload, the domains whose loss it cannot survive: the losses list those.
    let mut cannot: Vec<Vec<(String, u32, u32)>> = vec![Vec::new(); workloads.len()];
    // The losses after which more pods are wanted than the nodes left hold.
    let mut crowded: Vec<DomainLoss> = Vec::new();
    // Too many pods with every domain up is `node_capacity`'s, and each loss would say it again.
    for loss in c.domain_losses_of(kinds, workloads) {
        if !loss.control_plane {
            continue;
        }
        if loss.crowded.is_some() && !crowded_at_rest {
            crowded.push(loss.clone());
        }
        for t in &loss.short {
            let workload = &workloads[t.workload];
            // A workload that does not fit with every domain up is `workload_placement`'s.
            if workload.fit(kinds, |_| true) < workload.wanted(kinds, |_| true) || workload.eligible.is_empty() {
                continue;
            }
            cannot[t.workload].push((format!("{} `{}`", loss.domain.kind.key(), loss.domain.name), t.fit, t.wanted));
        }
    }
    for (w, domains) in cannot.iter().enumerate() {
        let Some((first, fit, wanted)) = domains.first() else { continue };
        let workload = &workloads[w];
        let unit = &c.units[workload.unit];
        let what = if *fit == 0 {
            "no node left that satisfies it, so its pods stay pending until the domain returns".to_string()
        } else {
            format!("room for {fit} of its {wanted} pods, so the rest stay pending until the domain returns")
        };
        let others = other_domains(domains.get(1).map(|d| d.0.as_str()), domains.len());
        r.push(
            Rule::WorkloadSurvival,
            Subject::Unit(workload.unit, workload_subject(unit)),
            format!("`{}` cannot survive the loss of {first}{others}: it has {what}", unit.name),
            format!("let machines outside {first} satisfy its metadata, or accept the outage with a reason"),
        );
    }
    super::capacity::crowded_after_loss(r, kinds, &crowded);
}

/// After the first of `count` domains a loss message names: nothing for one, the second for
/// two, the second and how many more beyond.
pub(super) fn other_domains(second: Option<&str>, count: usize) -> String {
    match (second, count) {
        (Some(second), 2) => format!(" (and of {second} too)"),
        (Some(second), n) if n > 2 => {
            format!(" (and of {second}, and {})", plural(n as u64 - 2, "other domain", "other domains"))
        }
        _ => String::new(),
    }
}

/// Two workloads that must not share a node and may run on the same ones contend for them:
/// which gets a node depends on the order their controllers create their pods, so neither's
/// placement can be promised. Reported once per workload whose globs make the conflict, on it,
/// naming up to three of the others (and saying when there are more). O(Σ per workload its
/// globs × eligible node kinds), with per glob a count of the matched workloads on each kind.
fn workload_contention(r: &mut Report<'_>, kinds: &[NodeKind], workloads: &[Workload]) {
    use std::collections::{HashMap, HashSet};
    let c = r.cluster;
    let globs = c.conflict_globs();
    let mut matched: Vec<Vec<usize>> = vec![Vec::new(); globs.len()];
    for (w, workload) in workloads.iter().enumerate() {
        for &g in &workload.matched_by {
            matched[g].push(w);
        }
    }
    // Per glob that matches two workloads or more, how many of them may run on each kind. (A
    // declarer the glob matches counts itself there, and is contested only where another one
    // may run too.) A glob matching one workload needs no count: its declarers other than that
    // one contend with it wherever they share a kind, which the loop below looks at anyway.
    let on_kind: Vec<HashMap<usize, u32>> = matched
        .iter()
        .map(|m| {
            let mut counts: HashMap<usize, u32> = HashMap::new();
            if m.len() > 1 {
                for &w in m {
                    for &k in &workloads[w].eligible {
                        *counts.entry(k).or_default() += 1;
                    }
                }
            }
            counts
        })
        .collect();
    for (w, workload) in workloads.iter().enumerate() {
        let mine: HashSet<usize> = workload.eligible.iter().copied().collect();
        let (mut others, mut more): (Vec<usize>, bool) = (Vec::new(), false);
        for &g in &workload.declares {
            let own = workload.matched_by.binary_search(&g).is_ok();
            if matched[g].len() <= usize::from(own) {
                continue;
            }
            let contested = matched[g].len() == 1
                || workload.eligible.iter().any(|k| on_kind[g].get(k).copied().unwrap_or(0) > u32::from(own));
            if !contested {
                continue;
            }
            for &o in &matched[g] {
                if o == w || others.contains(&o) || !workloads[o].eligible.iter().any(|k| mine.contains(k)) {
                    continue;
                }
                if others.len() == 3 {
                    more = true;
                    break;
                }
                others.push(o);
            }
        }
        let Some(&first) = others.first() else { continue };
        let shared: Vec<String> = workload
            .eligible
            .iter()
            .filter(|k| workloads[first].eligible.contains(k))
            .take(4)
            .map(|&k| c.node_kind_name(&kinds[k]))
            .collect();
        let names: Vec<String> = others.iter().map(|&o| format!("`{}`", c.units[workloads[o].unit].name)).collect();
        r.push(
            Rule::WorkloadPlacement,
            Subject::Unit(workload.unit, UnitPart::Name),
            format!(
                "`{}` must not share a node with {}{}, and they may run on the same nodes ({}{}): which of them gets a contested node depends on the order their pods are created, so neither's placement can be promised",
                c.units[workload.unit].name,
                crate::words::join(&names),
                if more { " and others" } else { "" },
                shared.join(", "),
                if shared.len() == 4 { ", …" } else { "" }
            ),
            "give them metadata no node satisfies for both, or drop the conflict between them (a unit's conflict with its own instances is fine)",
        );
    }
}

/// Every workload unit (leaders and the units that follow them into their pods) becomes an
/// object or a container named by [`object_name`], and its pods are selected by that name: two
/// units with one object name (`w.service` and `w@.service`, or `w.service` and `w.socket`)
/// would make one Deployment replace the other, two containers of one pod share a name, or two
/// workloads select each other's pods. The later unit is at fault, naming the first. O(units),
/// with a hash of names.
fn workload_names(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (u, unit) in c.units.iter().enumerate().filter(|(u, _)| c.is_workload(*u)) {
        let name = object_name(&unit.name);
        if let Some(&f) = first.get(name) {
            r.push(
                Rule::WorkloadPlacement,
                Subject::Unit(u, UnitPart::Name),
                format!(
                    "`{}` and `{}` both become the Kubernetes name `{name}`: one workload (or container) would replace the other, and each would select the other's pods",
                    c.units[f].name, unit.name
                ),
                "rename one of the units so that their names without type and `@` differ",
            );
        } else {
            first.insert(name, u);
        }
    }
}

/// No port is declared twice in one pod: its containers (a unit's and those of the units that
/// follow it) share one network, so only one process can listen on a port; the second would
/// fail to bind and restart for ever, and the API server refuses one container's duplicate.
/// The first repeat in each unit is at fault, naming the unit that declared the port first,
/// with a count of the unit's other repeats: at most one error per unit, however long its
/// list. O(ports), with a hash per workload.
fn pod_ports(r: &mut Report<'_>, workloads: &[Workload]) {
    let c = r.cluster;
    for w in workloads {
        let mut first: std::collections::HashMap<u16, usize> = std::collections::HashMap::new();
        for &u in &w.containers {
            let Some(container) = &c.units[u].container else { continue };
            let mut repeats = 0usize;
            let mut at = None;
            for (i, &port) in container.ports.iter().enumerate() {
                match first.get(&port) {
                    Some(&f) => {
                        repeats += 1;
                        at.get_or_insert((i, port, f));
                    }
                    None => {
                        first.insert(port, u);
                    }
                }
            }
            let Some((i, port, f)) = at else { continue };
            let name = &c.units[u].name;
            let (mut message, fix) = if f == u {
                (format!("`{name}` declares port {port} twice"), "declare each port once".to_string())
            } else {
                (
                    format!(
                        "`{}` and `{name}` share one pod (`{name}` follows `{}`) and both declare port {port}: a pod's containers share one network, so only one of them can listen on it",
                        c.units[f].name, c.units[w.unit].name
                    ),
                    format!(
                        "give `{name}` another port, or remove its `machine_of` so that it runs in pods of its own"
                    ),
                )
            };
            if repeats > 1 {
                let more = crate::words::plural(u64::try_from(repeats - 1).unwrap_or(u64::MAX), "port", "ports");
                message.push_str(&format!("; it repeats {more} more after this one"));
            }
            r.push(Rule::WorkloadPlacement, Subject::Unit(u, UnitPart::Port(i)), message, fix);
        }
    }
}

/// Where a message about where a workload may run points: its metadata, or its name when it
/// has none.
fn workload_subject(unit: &crate::unit::Unit) -> UnitPart {
    if unit.machine_metadata.is_empty() { UnitPart::Name } else { UnitPart::Metadata }
}
