//! Rules of the Kubernetes layer: settings the control plane can run with, node labels a
//! kubelet accepts, workloads Kubernetes can express, place and keep when a failure domain is
//! lost.

use std::collections::HashMap;

use super::Report;

use crate::group::Size;
use crate::kubernetes::{
    Kubernetes, SUPPORTED_MINORS, image_problem, label_key_problem, label_set_by_others, label_value_problem,
};
use crate::net::Ipv4Net;
use crate::rule::Rule;
use crate::settings::Os;
use crate::subject::{GroupPart, KubernetesPart, Subject, UnitPart};
use crate::text::Text;

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
    super::workloads::workload_placement(r, &kinds, &workloads);
    // Room that is short with every domain up is `node_capacity`'s; each loss would say it again.
    let crowded_at_rest = super::capacity::node_capacity(r, &kinds, &workloads);
    super::workloads::workload_survival(r, &kinds, &workloads, crowded_at_rest);
    super::capacity::service_room(r, &workloads);
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
/// its environment entries `NAME=value` with a C identifier for a name, each name set once, its
/// command's first word (the program) not empty, and no command word or environment entry holds
/// a NUL byte. The kubelet would otherwise fail the pod at run time,
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
        command_and_env(r, u, &container.command, &container.env);
    }
}

/// The first entry at fault one way in a unit's list, and how many more are at fault that way.
struct FirstFault {
    part: UnitPart,
    message: String,
    hint: String,
    more: usize,
}

/// Keeps the first of a way's faults, counts the rest: one error a way a unit, however often a
/// file repeats the entry. `fault` makes the message and hint, and runs only for the first.
fn note(slot: &mut Option<FirstFault>, part: UnitPart, fault: impl FnOnce() -> (String, String)) {
    match slot {
        Some(first) => first.more += 1,
        None => {
            let (message, hint) = fault();
            *slot = Some(FirstFault { part, message, hint, more: 0 });
        }
    }
}

/// `image_name` on a container's command words and environment entries: no NUL byte, a
/// program that is not empty, entries `NAME=value` with a C identifier for a name, each name
/// set once (Kubernetes keeps a name's last value and only warns). O(words + entries).
fn command_and_env(r: &mut Report<'_>, u: usize, command: &[Text], env: &[Text]) {
    let (mut nul_word, mut nul_entry, mut unnamed, mut again) = (None, None, None, None);
    for (i, word) in command.iter().enumerate() {
        if word.contains('\0') {
            note(&mut nul_word, UnitPart::Command(i), || {
                (
                    format!("command word {i} holds a NUL byte, which no process argument can carry"),
                    "remove the NUL byte".into(),
                )
            });
        }
    }
    if command.first().is_some_and(|program| program.is_empty()) {
        r.push(
            Rule::ImageName,
            Subject::Unit(u, UnitPart::Command(0)),
            "the command's first word is the program the container runs, and it is empty: the container could not start",
            "name the program, e.g. [\"/bin/webapp\", \"--port\", \"8080\"], or drop `command` to run the image's entrypoint",
        );
    }
    // Each name's first entry.
    let mut named: HashMap<&str, usize> = HashMap::new();
    for (i, e) in env.iter().enumerate() {
        if e.contains('\0') {
            note(&mut nul_entry, UnitPart::Env(i), || {
                (
                    format!("environment entry {i} holds a NUL byte, which no environment can carry"),
                    "remove the NUL byte".into(),
                )
            });
            continue;
        }
        let name = e.split_once('=').map(|(n, _)| n).filter(|n| {
            !n.is_empty()
                && !n.starts_with(|ch: char| ch.is_ascii_digit())
                && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        });
        let Some(name) = name else {
            note(&mut unnamed, UnitPart::Env(i), || {
                (
                    format!("environment entry `{e}` is not `NAME=value` with a name of letters, digits and `_`"),
                    "write entries such as \"LOG_LEVEL=info\"".into(),
                )
            });
            continue;
        };
        let first = *named.entry(name).or_insert(i);
        if first != i {
            note(&mut again, UnitPart::Env(i), || {
                (
                    format!(
                        "environment entry `{e}` sets `{name}` again (`{}` set it first); Kubernetes would keep only the last",
                        env[first]
                    ),
                    format!("set `{name}` once"),
                )
            });
        }
    }
    for fault in [nul_word, nul_entry, unnamed, again].into_iter().flatten() {
        let more = match fault.more {
            0 => String::new(),
            n => format!(" ({n} more like it)"),
        };
        r.push(Rule::ImageName, Subject::Unit(u, fault.part), format!("{}{more}", fault.message), fault.hint);
    }
}
