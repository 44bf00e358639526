//! Rules of the Kubernetes layer: settings the control plane can run with, node labels a
//! kubelet accepts, workloads Kubernetes can express, place and keep when a failure domain is
//! lost.

use super::Report;
use crate::cluster::{Os, Size};
use crate::kubernetes::{
    Kubernetes, NodeKind, SUPPORTED_MINORS, Workload, image_problem, is_dns_label, label_key_problem,
    label_set_by_others, label_value_problem, object_name,
};
use crate::net::Ipv4Net;
use crate::rule::Rule;
use crate::subject::{GroupPart, KubernetesPart, Subject, UnitPart};

/// Runs the Kubernetes rules.
pub(super) fn check(r: &mut Report<'_>) {
    kubernetes_settings(r);
    if !r.cluster.runs_kubernetes() {
        return;
    }
    node_label(r);
    image_name(r);
    // Worked out once for both rules: O(kinds + workloads + Σ eligible kinds).
    let kinds = r.cluster.node_kinds();
    let workloads = r.cluster.workloads();
    workload_placement(r, &kinds, &workloads);
    workload_survival(r, &kinds, &workloads);
}

/// Whether two ranges share an address.
fn overlap(a: Ipv4Net, b: Ipv4Net) -> bool {
    a.contains(b.network()) || b.contains(a.network())
}

/// Address blocks no service or pod range may touch, with what they are.
const SPECIAL_RANGES: [(Ipv4Net, &str); 5] = [
    (Ipv4Net::new(std::net::Ipv4Addr::new(0, 0, 0, 0), 8), "\"this network\" (0.0.0.0/8)"),
    (Ipv4Net::new(std::net::Ipv4Addr::new(127, 0, 0, 0), 8), "the loopback block"),
    (Ipv4Net::new(std::net::Ipv4Addr::new(169, 254, 0, 0), 16), "the link-local block"),
    (Ipv4Net::new(std::net::Ipv4Addr::new(224, 0, 0, 0), 4), "the multicast block"),
    (Ipv4Net::new(std::net::Ipv4Addr::new(240, 0, 0, 0), 4), "the reserved block (and broadcast)"),
];

/// The pod range against the node ranges the controller manager cuts from it
/// ([`Kubernetes::NODE_CIDR_MASK`], passed as `--node-cidr-mask-size`): it refuses to allocate
/// when the range is narrower than one, and a node beyond the last range never gets a pod
/// network. Counted with autoscaled pools at their maximum; a pool without one is counted at
/// its minimum, and the plan says how many nodes the range holds.
fn pod_range_room(r: &mut Report<'_>, k: &Kubernetes) {
    let mask = Kubernetes::NODE_CIDR_MASK;
    let ranges = k.node_ranges();
    if ranges == 0 {
        r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Pods),
            format!(
                "the pod range {} is narrower than the /{mask} each node is given from it: the controller manager refuses to allocate node ranges, so no node gets a pod network",
                k.pods
            ),
            format!("give the pods a /{} or wider, e.g. \"10.20.0.0/14\"", mask - 2),
        );
        return;
    }
    let c = r.cluster;
    let fewest: u64 = c
        .groups()
        .map(|(_, g)| match g.size {
            Size::Fixed(n) => u64::from(n),
            Size::Autoscale { min, max } => u64::from(max.or(min).unwrap_or(0)),
        })
        .sum();
    if fewest > ranges {
        let most = c.most_machines().map_or("at least".to_string(), |_| "up to".to_string());
        r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Pods),
            format!(
                "the pod range {} holds {ranges} node range{} of /{mask}, and the cluster can have {most} {fewest} nodes: the nodes past {ranges} would never get a pod network",
                k.pods,
                if ranges == 1 { "" } else { "s" }
            ),
            format!(
                "widen the pod range to a /{} or wider",
                mask - (64 - (fewest - 1).leading_zeros()).min(u32::from(mask)) as u8
            ),
        );
    }
}

/// `kubernetes_settings`: Kubernetes only on Flatcar (CoreOS's fleet is the scheduler there),
/// at a `v1.MINOR.PATCH` release whose flags and schemas the renderer knows, with service and
/// pod ranges that overlap neither each other nor the machines' network (routes to pods and
/// services would shadow machines) nor the loopback, link-local, multicast or reserved blocks,
/// a service range with room for the apiserver's and the DNS service's addresses (the first
/// and the tenth), and a pod range with a node range for every node the cluster can have. Also a unit naming an image on a cluster
/// without Kubernetes, which nothing would run.
fn kubernetes_settings(r: &mut Report<'_>) {
    let c = r.cluster;
    let Some(k) = &c.kubernetes else {
        for (u, unit) in c.units.iter().enumerate() {
            if unit.container.is_some() {
                r.push(
                    Rule::KubernetesSettings,
                    Subject::Unit(u, UnitPart::Image),
                    format!("`{}` names a container image, but the cluster does not run Kubernetes, so nothing would run it", unit.name),
                    "declare `kubernetes: { version: \"v1.36.3\" }` (Flatcar), or run the container from the unit's body",
                );
            }
        }
        return;
    };
    if c.os != Os::Flatcar {
        r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Whole),
            "Kubernetes is rendered for Flatcar only: on CoreOS fleet schedules the units",
            "declare `os: flatcar`, or remove `kubernetes`",
        );
    }
    match k.minor_patch() {
        None => r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Version),
            format!(
                "`{}` is no Kubernetes release: the version is `v1.MINOR.PATCH` in canonical numbers (no leading zeros), as the release's image tags are",
                k.version
            ),
            "write a release such as \"v1.36.3\"",
        ),
        Some((minor, _)) if minor < SUPPORTED_MINORS.0 || minor > SUPPORTED_MINORS.1 => r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Version),
            format!(
                "Kubernetes {} is outside the releases whose flags and schemas clusterdef renders (v1.{}–v1.{})",
                k.version, SUPPORTED_MINORS.0, SUPPORTED_MINORS.1
            ),
            format!("choose a release from v1.{}.0 to v1.{}.x", SUPPORTED_MINORS.0, SUPPORTED_MINORS.1),
        ),
        Some(_) => {}
    }
    if k.cni == crate::kubernetes::Cni::Cilium {
        r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Cni),
            "`cni: cilium` is not rendered yet: Cilium's agent, operator and their configuration are not among the manifests clusterdef writes, so the nodes would have no pod network",
            "declare `cni: flannel` (the default), which clusterdef renders with kube-proxy",
        );
    }
    if k.services.prefix > 28 {
        r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Services),
            format!(
                "the service range {} has fewer than 16 addresses; the tenth is the cluster DNS service's",
                k.services
            ),
            "give the services a /28 or wider, e.g. \"10.3.0.0/16\"",
        );
    }
    for (what, range, part) in
        [("service", k.services, KubernetesPart::Services), ("pod", k.pods, KubernetesPart::Pods)]
    {
        if let Some((block, why)) = SPECIAL_RANGES.iter().find(|(block, _)| overlap(*block, range)) {
            r.push(
                Rule::KubernetesSettings,
                Subject::Kubernetes(part),
                format!("the {what} range {range} overlaps {block}, {why}: no node can route it"),
                "choose private ranges, e.g. services \"10.3.0.0/16\", pods \"10.20.0.0/14\"",
            );
        }
    }
    pod_range_room(r, k);
    let mut ranges = vec![
        ("the service range", k.services, KubernetesPart::Services),
        ("the pod range", k.pods, KubernetesPart::Pods),
    ];
    if let Some(n) = &c.network {
        ranges.push(("the machines' subnet", n.subnet, KubernetesPart::Whole));
        for d in n.domains.iter() {
            ranges.push(("a domain's subnet", d.subnet, KubernetesPart::Whole));
        }
    }
    for (i, (a_name, a, part)) in ranges.iter().enumerate().take(2) {
        for (b_name, b, _) in ranges.iter().skip(i + 1) {
            if overlap(*a, *b) {
                r.push(
                    Rule::KubernetesSettings,
                    Subject::Kubernetes(*part),
                    format!("{a_name} {a} overlaps {b_name} {b}: routes to one would shadow the other"),
                    "choose ranges that overlap nothing else, e.g. services \"10.3.0.0/16\", pods \"10.20.0.0/14\"",
                );
            }
        }
    }
}

/// `node_label`: every node registers its fleet metadata, its pool and its failure domain as
/// labels (`--node-labels`), so each key must be a label key a kubelet may set on itself and
/// each value a label value; a unit's requirements select on the same labels. Kubernetes'
/// label syntax: keys an optional DNS-subdomain prefix and a name of at most 63 alphanumerics
/// with `-_.` inside; values at most 63 such characters or empty; the `kubernetes.io` and
/// `k8s.io` prefixes refused by the kubelet outside its own few, and no label that clusterdef
/// or the kubelet sets itself (the role and zone labels, the kubelet's well-known ones: a
/// declared value would replace theirs). O(metadata + requirements).
fn node_label(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut found = Vec::new();
    for (group, g) in c.groups() {
        for (i, (key, value)) in g.metadata.iter().enumerate() {
            if let Some(why) = label_key_problem(key) {
                found.push((Subject::Group(group, GroupPart::MetadataKey(i)), format!("metadata key `{key}`"), why));
            } else if let Some(who) = label_set_by_others(key) {
                let why = format!(
                    "{who} sets `{key}` on every node itself, and a value in `--node-labels` would replace it (for the hostname label, every machine of the group would share one hostname domain while the plan counts each as a node of its own)"
                );
                found.push((Subject::Group(group, GroupPart::MetadataKey(i)), format!("metadata key `{key}`"), why));
            }
            if let Some(why) = label_value_problem(value) {
                found.push((
                    Subject::Group(group, GroupPart::MetadataValue(i)),
                    format!("metadata value `{value}`"),
                    why,
                ));
            }
        }
        if let Some(spread) = &g.spread {
            for (i, d) in spread.domains.iter().enumerate() {
                if let Some(why) = label_value_problem(&d.name) {
                    found.push((
                        Subject::Group(group, GroupPart::Domain(i)),
                        format!("{} `{}`", spread.kind.key(), d.name),
                        why,
                    ));
                }
            }
        }
        if let Some(why) = label_value_problem(&g.name).or_else(|| label_value_problem(&g.role)) {
            found.push((
                Subject::Group(group, GroupPart::Whole),
                format!("group `{}` (role `{}`)", g.name, g.role),
                why,
            ));
        }
    }
    for (u, unit) in c.units.iter().enumerate().filter(|(u, _)| c.is_workload(*u)) {
        for (i, req) in unit.machine_metadata.iter().enumerate() {
            if let Some(why) = label_key_problem(&req.key) {
                found.push((Subject::Unit(u, UnitPart::Requirement(i)), format!("requirement `{}`", req.key), why));
            }
            for (j, v) in req.values.iter().enumerate() {
                if let Some(why) = label_value_problem(v) {
                    found.push((
                        Subject::Unit(u, UnitPart::RequirementValue(i, j)),
                        format!("required value `{v}`"),
                        why,
                    ));
                }
            }
        }
    }
    for (subject, what, why) in found {
        r.push(
            Rule::NodeLabel,
            subject,
            format!("{what} is no node label Kubernetes accepts: {why}"),
            "use letters, digits, `-`, `_` and `.` (at most 63, alphanumeric at both ends), and keep keys out of `kubernetes.io/` and `k8s.io/`; clusterdef publishes each failure domain and the control-plane role itself",
        );
    }
}

/// `image_name`: a workload's image is a reference a container runtime can pull
/// (`[host[:port]/]path[:tag][@sha256:…]`, lower-case path components), its ports are 1–65535,
/// its environment entries `NAME=value` with a C identifier for a name, and no command word or
/// environment entry holds a NUL byte. The kubelet would otherwise fail the pod at run time,
/// after scheduling it. (`$(NAME)` in either is escaped by the renderer, so Kubernetes passes
/// it on as written.)
fn image_name(r: &mut Report<'_>) {
    let c = r.cluster;
    for (u, unit) in c.units.iter().enumerate() {
        let Some(container) = &unit.container else { continue };
        if let Some(why) = image_problem(&container.image) {
            r.push(
                Rule::ImageName,
                Subject::Unit(u, UnitPart::Image),
                format!("`{}` is no container image reference: {why}", container.image),
                "write `registry/name:tag`, e.g. \"quay.io/example/webapp:1.4\"",
            );
        }
        if let Some(i) = container.ports.iter().position(|p| *p == 0) {
            r.push(
                Rule::ImageName,
                Subject::Unit(u, UnitPart::Port(i)),
                "port 0 is no port a container listens on",
                "use 1 to 65535",
            );
        }
        for (i, word) in container.command.iter().enumerate() {
            if word.contains('\0') {
                r.push(
                    Rule::ImageName,
                    Subject::Unit(u, UnitPart::Command(i)),
                    format!("command word {i} holds a NUL byte, which no process argument can carry"),
                    "remove the NUL byte",
                );
            }
        }
        for (i, e) in container.env.iter().enumerate() {
            if e.contains('\0') {
                r.push(
                    Rule::ImageName,
                    Subject::Unit(u, UnitPart::Env(i)),
                    format!("environment entry {i} holds a NUL byte, which no environment can carry"),
                    "remove the NUL byte",
                );
                continue;
            }
            let name = e.split_once('=').map(|(n, _)| n);
            let ok = name.is_some_and(|n| {
                !n.is_empty()
                    && !n.starts_with(|ch: char| ch.is_ascii_digit())
                    && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            });
            if !ok {
                r.push(
                    Rule::ImageName,
                    Subject::Unit(u, UnitPart::Env(i)),
                    format!("environment entry `{e}` is not `NAME=value` with a name of letters, digits and `_`"),
                    "write entries such as \"LOG_LEVEL=info\"",
                );
            }
        }
    }
}

/// `workload_placement`: what Kubernetes can express and place. A workload's object name (the
/// unit's name without type and `@`) is a DNS label, and no two workload units share one; it has no body besides its image (nothing
/// would run it); it has no `machine_id` (nodes are named by hostname, and a pin never moves)
/// or `replaces` (no equivalent); a `machine_of` pairs two workloads (their containers share
/// one pod) and the follower declares neither `global` nor `instances`; its `conflicts` name
/// no host unit (Kubernetes does not see those); two workloads that avoid each other share no
/// node they may both run on (else which gets it depends on the order their pods are created,
/// and the plan could not promise either's placement); some node satisfies its requirements (the
/// control-plane taint tolerated where fleet would have placed it there); and a workload whose
/// replicas avoid each other has a node for each.
fn workload_placement(r: &mut Report<'_>, kinds: &[NodeKind], workloads: &[Workload]) {
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
    workload_contention(r, kinds, workloads);
    for w in workloads {
        let unit = &c.units[w.unit];
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
fn workload_survival(r: &mut Report<'_>, kinds: &[NodeKind], workloads: &[Workload]) {
    let c = r.cluster;
    // Per workload, the domains whose loss it cannot survive: the losses list those.
    let mut cannot: Vec<Vec<(String, u32, u32)>> = vec![Vec::new(); workloads.len()];
    for loss in c.domain_losses_of(kinds, workloads) {
        if !loss.control_plane {
            continue;
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
        let others = match domains.len() {
            1 => String::new(),
            2 => format!(" (and of {} too)", domains[1].0),
            n => format!(" (and of {}, and {} other domains)", domains[1].0, n - 2),
        };
        r.push(
            Rule::WorkloadSurvival,
            Subject::Unit(workload.unit, workload_subject(unit)),
            format!("`{}` cannot survive the loss of {first}{others}: it has {what}", unit.name),
            format!("let machines outside {first} satisfy its metadata, or accept the outage with a reason"),
        );
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
    // Per glob that matches two workloads or more (one that matches only its own declarer
    // keeps nothing apart but its replicas), how many of them may run on each kind.
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
            let contested = workload.eligible.iter().any(|k| on_kind[g].get(k).copied().unwrap_or(0) > u32::from(own));
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

/// Where a message about where a workload may run points: its metadata, or its name when it
/// has none.
fn workload_subject(unit: &crate::cluster::Unit) -> UnitPart {
    if unit.machine_metadata.is_empty() { UnitPart::Name } else { UnitPart::Metadata }
}
