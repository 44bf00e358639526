//! `node_capacity`: the pods a node holds. The scheduler leaves a pod pending while every node
//! it may run on holds the kubelet's [`MAX_PODS`]; which pods those are depends on the order
//! they were created, so the plan could promise none of them. Refused where that must happen
//! with every domain up (a loss that leaves too little room is `workload_survival`'s).

use super::Report;
use std::collections::HashSet;

use crate::kubernetes::{
    DomainLoss, KindSet, MAX_PODS, NodeKind, PodRoom, Workload, WorkloadKind, kind_sets, own_pods, pods_per_node,
    room_of,
};
use crate::rule::Rule;
use crate::subject::{GroupPart, KubernetesPart, Subject, UnitPart};
use crate::words::{join, plural};

/// `node_capacity`: every node's own pods (the addons', the static pods on members, one per
/// DaemonSet that may run there) fit in [`MAX_PODS`], reported at the DaemonSet that passes it
/// on some node kind, once per DaemonSet; and the pods that may run only on some set of nodes
/// (every node; the kinds some Deployments are confined to) fit in what those nodes hold
/// together, reported at the Deployment whose replicas pass it, once per Deployment. O(kinds
/// + workloads + Σ eligible kinds). Whether it found any.
pub(super) fn node_capacity(r: &mut Report<'_>, kinds: &[NodeKind], workloads: &[Workload]) -> bool {
    let c = r.cluster;
    let per_node = pods_per_node(kinds, workloads);
    // Per kind, the DaemonSets counted so far; the one that takes a kind past the most is
    // reported, with the kinds it does that on.
    let mut counted: Vec<u32> = kinds.iter().map(own_pods).collect();
    let mut over_node = false;
    for w in workloads.iter().filter(|w| w.kind == WorkloadKind::DaemonSet) {
        let mut tipped: Vec<usize> = Vec::new();
        for &k in &w.eligible {
            counted[k] += 1;
            if counted[k] == MAX_PODS + 1 {
                tipped.push(k);
            }
        }
        let Some(&first) = tipped.first() else { continue };
        over_node = true;
        let others = match tipped.len() {
            1 => String::new(),
            n => format!(" (and each node of {})", plural(n as u64 - 1, "other kind", "other kinds")),
        };
        let pods = per_node[first];
        r.push(
            Rule::NodeCapacity,
            Subject::Unit(w.unit, UnitPart::Global),
            format!(
                "`{}` is a DaemonSet that takes each node of `{}` past the {MAX_PODS} pods a kubelet runs{others}: \
                 with the cluster's own {} such a node would hold {pods}, and {} of them would stay pending",
                c.units[w.unit].name,
                c.node_kind_name(&kinds[first]),
                plural(own_pods(&kinds[first]), "pod", "pods"),
                pods - MAX_PODS,
            ),
            format!(
                "run at most {} DaemonSets on those nodes, or narrow their metadata",
                MAX_PODS - own_pods(&kinds[first])
            ),
        );
    }
    if over_node {
        // Each set of nodes would say the same again.
        return true;
    }
    // Per set of nodes, the Deployment whose pods take it past what its nodes hold, in
    // declaration order; one error a Deployment.
    let mut reported: HashSet<usize> = HashSet::new();
    let mut crowded = false;
    for set in kind_sets(kinds, workloads) {
        let room = room_of(c, kinds, workloads, &per_node, &set);
        if room.over() == 0 {
            continue;
        }
        crowded = true;
        let fits: Vec<u64> = set.deployments.iter().map(|&w| u64::from(workloads[w].fit(kinds, |_| true))).collect();
        let mut placed = room.wanted - fits.iter().sum::<u64>();
        for (&w, &pods) in set.deployments.iter().zip(&fits) {
            placed += pods;
            if placed <= room.slots {
                continue;
            }
            if reported.insert(w) {
                crowding(r, kinds, &workloads[w], &set, room, (pods, placed));
            }
            break;
        }
    }
    crowded
}

/// The error for Deployment `w`, whose `pods` take the pods placed on `set`'s nodes to
/// `placed`, past what they hold. O(the set's kinds named, at most three).
fn crowding(
    r: &mut Report<'_>,
    kinds: &[NodeKind],
    w: &Workload,
    set: &KindSet,
    room: PodRoom,
    (pods, placed): (u64, u64),
) {
    let c = r.cluster;
    let unit = &c.units[w.unit];
    let part = if unit.instances.is_some() { UnitPart::Instances } else { UnitPart::Name };
    let nodes = plural(room.slots / u64::from(MAX_PODS), "node", "nodes");
    let whose = match &set.kinds {
        None => format!("the cluster's {nodes}"),
        Some(some) => format!("the {nodes} it may run on ({})", kinds_named(c, kinds, some)),
    };
    r.push(
        Rule::NodeCapacity,
        Subject::Unit(w.unit, part),
        format!(
            "`{}`'s {} bring the pods to place on {whose} to {placed}, and they hold {} ({MAX_PODS} each, their own pods among them): \
             {} would stay pending, and which depends on the order they are created",
            unit.name,
            plural(pods, "pod", "pods"),
            room.slots,
            plural(room.over(), "pod", "pods"),
        ),
        "run fewer instances, or add nodes it may run on",
    );
}

/// `workload_survival` on the pods a domain's loss leaves no room for: some set of nodes left
/// holds fewer pods than may run only there, so some stay pending, and which depends on the
/// order they are created. One error, at the first such domain's declaration, counting the
/// others. O(kinds).
pub(super) fn crowded_after_loss(r: &mut Report<'_>, kinds: &[NodeKind], crowded: &[DomainLoss]) {
    let Some(loss) = crowded.first() else { return };
    let Some(crowding) = &loss.crowded else { return };
    let (kind, name) = (loss.domain.kind, loss.domain.name.as_str());
    let Some(declared) =
        kinds.iter().find(|k| k.domain_name.as_ref().is_some_and(|(dk, dn)| *dk == kind && dn == name))
    else {
        return;
    };
    let second = crowded.get(1).map(|l| format!("{} `{}`", l.domain.kind.key(), l.domain.name));
    let others = super::workloads::other_domains(second.as_deref(), crowded.len());
    let domain = format!("{} `{name}`", kind.key());
    let (room, whose) = (
        crowding.room,
        match &crowding.kinds {
            None => "the cluster places".to_string(),
            Some(some) => format!("that may run only on {}", kinds_named(r.cluster, kinds, some)),
        },
    );
    r.push(
        Rule::WorkloadSurvival,
        Subject::Group(declared.group, GroupPart::Domain(declared.domain.unwrap_or(0))),
        format!(
            "the loss of {domain}{others} leaves nodes that hold {} pods for the {} {whose} ({MAX_PODS} a node, its own among them): \
             {} would stay pending until the domain returns, and which depends on the order they are created",
            room.slots,
            room.wanted,
            plural(room.over(), "pod", "pods"),
        ),
        format!("add nodes outside {domain}, run fewer instances, or accept the outage with a reason"),
    );
}

/// The node kinds by name, listed as every message lists names ([`join`]). O(kinds named).
fn kinds_named(c: &crate::Cluster, kinds: &[NodeKind], some: &[usize]) -> String {
    join(&some.iter().map(|&k| format!("`{}`", c.node_kind_name(&kinds[k]))).collect::<Vec<_>>())
}

/// `kubernetes_settings` on the service range's room: the apiserver gives each Service an
/// address of the range but its first and last (the network's and the broadcast), and refuses a
/// Service once none is left. `kubernetes` and `kube-dns` take two, and each workload with
/// ports one more; a narrow range would leave the last workloads' Services uncreated when the
/// manifests are applied. Reported at the range. O(workloads + their ports × log ports).
pub(super) fn service_room(r: &mut Report<'_>, workloads: &[Workload]) {
    let c = r.cluster;
    let Some(k) = &c.kubernetes else { return };
    if k.services.prefix > 28 {
        // Narrower than /28 is refused on its own.
        return;
    }
    let usable = (1u64 << (32 - u32::from(k.services.prefix))) - 2;
    let with_ports = workloads.iter().filter(|w| !w.ports(c).is_empty()).count() as u64;
    let services = with_ports + 2;
    if services > usable {
        r.push(
            Rule::KubernetesSettings,
            Subject::Kubernetes(KubernetesPart::Services),
            format!(
                "the service range {} holds {usable} Service addresses, and the cluster has {services} Services \
                 (`kubernetes`, `kube-dns` and {}): the apiserver would refuse the last {}",
                k.services,
                plural(with_ports, "workload with ports", "workloads with ports"),
                services - usable,
            ),
            "give the services a wider range, e.g. \"10.3.0.0/16\"",
        );
    }
}
