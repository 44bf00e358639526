//! The steps beside the membership: every other machine told of NEW's members, workers added
//! and removed (drained first with Kubernetes), Kubernetes upgraded a minor at a time, control
//! plane before kubelets; and what changes without a step. O(machines).

use std::collections::{HashMap, HashSet};

use clusterdef_model::own::kubernetes::{KUBELET_UNIT, MANIFESTS_DIR};
use clusterdef_model::{Cluster, GroupRef, Machine};

use super::tolerance::Tolerance;
use super::{Action, Step};

fn step(
    action: Action,
    title: String,
    machines: Vec<String>,
    commands: Vec<String>,
    until: Vec<String>,
    rest: &Tolerance,
) -> Step {
    Step {
        number: 0,
        action,
        title,
        member: None,
        machines,
        commands,
        join: None,
        until,
        midway: rest.clone(),
        during: rest.clone(),
        after: rest.clone(),
        workloads: Vec::new(),
    }
}

/// The machines of `cluster` outside its members' group. O(machines).
pub(super) fn workers(cluster: &Cluster) -> Vec<Machine> {
    cluster.machines().into_iter().filter(|m| m.group != GroupRef::Members).collect()
}

/// The workers (machines outside the members) of `new_workers` that `old_workers` lacks, and
/// those of `old_workers` that `new_workers` lacks: what a change's workers step adds and
/// removes. O(machines).
pub(super) fn worker_changes<'a>(
    old_workers: &'a [Machine],
    new_workers: &'a [Machine],
) -> (Vec<&'a Machine>, Vec<&'a Machine>) {
    let old_names: HashSet<&str> = old_workers.iter().map(|m| m.hostname.as_str()).collect();
    let new_names: HashSet<&str> = new_workers.iter().map(|m| m.hostname.as_str()).collect();
    (
        new_workers.iter().filter(|m| !old_names.contains(m.hostname.as_str())).collect(),
        old_workers.iter().filter(|m| !new_names.contains(m.hostname.as_str())).collect(),
    )
}

/// Appends the steps after the membership's to `steps`, and to `notes` what needs none.
/// `rest` is NEW at rest.
pub fn steps(old: &Cluster, new: &Cluster, steps: &mut Vec<Step>, rest: &Tolerance, notes: &mut Vec<String>) {
    let kubernetes = new.kubernetes.is_some();
    let old_members: HashSet<String> = old.etcd_members().into_iter().map(|m| m.name).collect();
    let new_members = new.etcd_members();
    let membership_changed = !steps.is_empty();
    let (old_workers, new_workers) = (workers(old), workers(new));
    let old_names: HashSet<&str> = old_workers.iter().map(|m| m.hostname.as_str()).collect();
    if membership_changed {
        let kept: Vec<&str> =
            new_members.iter().map(|m| m.name.as_str()).filter(|n| old_members.contains(*n)).collect();
        let mut machines = Vec::new();
        if !kept.is_empty() && kubernetes {
            machines.push(format!(
                "{}: NEW's configuration, member by member: the apiserver's --etcd-servers names NEW's members (its static pod restarts when the manifest changes)",
                kept.join(", ")
            ));
        }
        let staying: Vec<&str> =
            new_workers.iter().map(|m| m.hostname.as_str()).filter(|n| old_names.contains(n)).collect();
        if !staying.is_empty() {
            machines.push(format!(
                "{}: NEW's configuration, so their etcd clients (the gateway or proxy, fleet, locksmith) name NEW's members; restart them",
                staying.join(", ")
            ));
        }
        if !machines.is_empty() {
            // Reprovisioning wipes the disk: a member's etcd data with it.
            machines.push("a configuration applied at first boot only (Ignition, or a cloud-config's units) is applied by writing the changed files and restarting their services, or on Flatcar by running Ignition again with NEW's config (`sudo touch /boot/flatcar/first_boot`, reboot); reprovisioning does it too for a worker, never for a member (it wipes the etcd data the member runs on)".to_string());
            steps.push(step(
                Action::Reconfigure,
                "tell every other machine NEW's members".to_string(),
                machines,
                Vec::new(),
                vec!["every etcd client answers through NEW's members".to_string()],
                rest,
            ));
        }
    }
    let (added, removed) = worker_changes(&old_workers, &new_workers);
    if !added.is_empty() || !removed.is_empty() {
        // A machine of a cluster with a PKI boots with its tree of it, which the first PKI has
        // no tree for: renewed for NEW, under the same CAs and bootstrap token.
        let pki = new.tls.is_some() || kubernetes;
        let mut machines: Vec<String> = added
            .iter()
            .map(|m| {
                if pki {
                    format!("{}: provision with NEW's configuration and its tree of the PKI renewed for NEW (`clusterdef pki NEW --renew OLD_PKI --out NEW_PKI`: the same CAs and bootstrap token), installed as at first boot; boot", m.hostname)
                } else {
                    format!("{}: provision with NEW's configuration and boot", m.hostname)
                }
            })
            .collect();
        let mut commands = Vec::new();
        for m in &removed {
            if kubernetes {
                commands.push(format!(
                    "kubectl drain {} --ignore-daemonsets --delete-emptydir-data --timeout=10m",
                    m.hostname
                ));
                commands.push(format!("kubectl delete node {}", m.hostname));
            }
            machines.push(format!(
                "{}: {}power off",
                m.hostname,
                if kubernetes {
                    "once drained (its pods run elsewhere, as NEW's plan says) and its node deleted, "
                } else {
                    ""
                }
            ));
        }
        let mut until = Vec::new();
        if kubernetes && !added.is_empty() {
            until.push("`kubectl get nodes` shows every added node Ready".to_string());
        }
        if kubernetes && !removed.is_empty() {
            until.push("every workload runs as NEW's plan says (`clusterdef plan NEW`)".to_string());
        }
        steps.push(step(
            Action::Workers,
            format!("workers: {} added, {} removed", added.len(), removed.len()),
            machines,
            commands,
            until,
            rest,
        ));
    }
    if kubernetes {
        relabel(old, new, steps, rest);
    }
    if let (Some(a), Some(b)) = (&old.kubernetes, &new.kubernetes)
        && a.version != b.version
    {
        let members: Vec<String> = new_members.iter().map(|m| m.name.clone()).collect();
        let version = &b.version;
        // The kubelet restarts a static pod whose manifest changes, by itself; each member's
        // apiserver serves again before the next member's goes (the others serve meanwhile).
        let mut commands = Vec::new();
        let mut until = vec![format!("every apiserver reports {version} (`kubectl version`)")];
        // kube-proxy is never newer than an apiserver: NEW's is applied once every apiserver
        // is NEW's, and its DaemonSet replaces the pods node by node.
        if let Some(manifest) = crate::render::kubernetes::addons::kube_proxy_manifest(b) {
            commands.push(format!("kubectl apply -f {manifest}"));
            until.push(format!(
                "`kubectl -n kube-system rollout status daemonset/kube-proxy` says it rolled out: every kube-proxy at {version}"
            ));
        }
        steps.push(step(
            Action::UpgradeControlPlane,
            format!("upgrade the control plane from {} to {version}", a.version),
            members
                .iter()
                .map(|m| {
                    format!(
                        "{m}: NEW's static pods written in place ({MANIFESTS_DIR}/kube-apiserver.yaml, kube-controller-manager.yaml and kube-scheduler.yaml at {version}, from its NEW configuration); the kubelet restarts them by itself; its apiserver's /readyz answers `ok` before the next member's"
                    )
                })
                .collect(),
            commands,
            until,
            rest,
        ));
        let nodes: Vec<String> = members.into_iter().chain(new_workers.iter().map(|m| m.hostname.clone())).collect();
        let mut commands = Vec::new();
        let mut machines = Vec::new();
        for n in &nodes {
            commands.push(format!("kubectl drain {n} --ignore-daemonsets --delete-emptydir-data --timeout=10m"));
            commands.push(format!("kubectl uncordon {n}"));
            machines.push(format!(
                "{n}: between its drain and uncordon, NEW's {KUBELET_UNIT} (the kubelet at {version}) written in place, then `systemctl daemon-reload && systemctl restart {KUBELET_UNIT}`; its node Ready at {version} before the uncordon"
            ));
        }
        steps.push(step(
            Action::UpgradeNodes,
            format!("upgrade the kubelets to {version}, node by node"),
            machines,
            commands,
            vec![format!("`kubectl get nodes` shows every node Ready at {version}")],
            rest,
        ));
    }
    if old.units != new.units {
        notes.push("units change: no membership step; `clusterdef render NEW` writes them (fleet: submit them again; Kubernetes: `kubectl apply` the workloads' manifests)".to_string());
    }
    if old.host != new.host
        || old.groups().zip(new.groups()).any(|((_, a), (_, b))| a.host != b.host || a.host_in != b.host_in)
    {
        notes.push("host configuration changes: no membership step; it reaches a machine with NEW's configuration (reprovisioned, or the files written by hand)".to_string());
    }
}

/// A node's labels, in order.
type Labels = Vec<(String, String)>;

/// Each machine's node labels, by hostname: its node kind's (group and domain). O(machines +
/// kinds).
fn labels(cluster: &Cluster) -> HashMap<String, Labels> {
    let kinds: HashMap<(GroupRef, Option<usize>), Labels> =
        cluster.node_kinds().into_iter().map(|k| ((k.group, k.domain), k.labels)).collect();
    cluster
        .machines()
        .into_iter()
        .filter_map(|m| Some((m.hostname, kinds.get(&(m.group, m.domain))?.clone())))
        .collect()
}

/// The nodes in both declarations whose labels differ: the kubelet's `--node-labels` apply when
/// it registers and never again, so each is relabelled by hand (`kubectl label --overwrite`,
/// `key-` for a label gone). O(machines × labels).
fn relabel(old: &Cluster, new: &Cluster, steps: &mut Vec<Step>, rest: &Tolerance) {
    let before = labels(old);
    let mut after: Vec<(String, Labels)> = labels(new).into_iter().collect();
    after.sort();
    let mut commands = Vec::new();
    let mut machines = Vec::new();
    for (node, wanted) in &after {
        let Some(had) = before.get(node) else { continue };
        if had == wanted {
            continue;
        }
        let set: Vec<String> = wanted.iter().filter(|l| !had.contains(l)).map(|(k, v)| format!("{k}={v}")).collect();
        let gone: Vec<String> =
            had.iter().filter(|(k, _)| !wanted.iter().any(|(w, _)| w == k)).map(|(k, _)| format!("{k}-")).collect();
        let words: Vec<String> = set.into_iter().chain(gone).map(|w| super::etcdctl::shell_word(&w)).collect();
        commands.push(format!("kubectl label node {node} {} --overwrite", words.join(" ")));
        machines
            .push(format!("{node}: NEW's configuration (its kubelet registers these labels when it registers anew)"));
    }
    if commands.is_empty() {
        return;
    }
    steps.push(step(
        Action::Relabel,
        format!("relabel {} nodes", commands.len()),
        machines,
        commands,
        vec![
            "pods placed by the old labels keep running where they are (required node affinity is ignored during execution): `kubectl rollout restart` the workloads whose placement changes".to_string(),
        ],
        rest,
    ));
}
