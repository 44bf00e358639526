//! The transition rules: what cannot change on a running cluster, and what the membership
//! steps must not do. Each finding names the part of NEW at fault.

use std::collections::HashSet;

use clusterdef_model::{Cluster, GroupPart, GroupRef, KubernetesPart, Os, Subject};

use super::members::{diff, members_of};
use super::steps::{Membership, membership_steps};
use super::{ChangeOptions, ChangeRule, Finding, MAX_CHANGE_MEMBERS};

fn finding(rule: ChangeRule, subject: Subject, message: String, help: &str) -> Finding {
    Finding { rule, subject, message, help: help.to_string() }
}

/// `change_identity`: the name (etcd's cluster token, the data directory's cluster), the OS,
/// the etcd release, TLS on or off, Kubernetes on or off, and its ranges stay. O(1).
pub fn identity(old: &Cluster, new: &Cluster) -> Vec<Finding> {
    let rule = ChangeRule::Identity;
    let mut out = Vec::new();
    if old.name != new.name {
        out.push(finding(
            rule,
            Subject::Name,
            format!("the cluster is named `{}` and would be named `{}`: the name is etcd's cluster token, written into every member's data", old.name, new.name),
            "keep the name; a cluster under another name is a new cluster (build it beside the old one and move the data)",
        ));
    }
    if old.os != new.os {
        out.push(finding(
            rule,
            Subject::Os,
            format!("the machines run {:?} and would run {:?}: the configurations are another format, read only at first boot", old.os, new.os),
            "keep the OS; move to the other OS by building a new cluster beside this one",
        ));
    }
    if old.etcd_release != new.etcd_release {
        out.push(finding(
            rule,
            Subject::EtcdRelease,
            format!(
                "etcd runs as {:?} and would run as {:?}: the data directory and ports change",
                old.etcd_release, new.etcd_release
            ),
            "keep the etcd release; migrate the data with etcd's own tools first",
        ));
    }
    if old.tls.is_some() != new.tls.is_some() {
        let (from, to) = if old.tls.is_some() { ("https", "http") } else { ("http", "https") };
        out.push(finding(
            rule,
            Subject::Tls,
            format!("the members speak {from} and would speak {to}: every peer URL changes at once, which no single membership step can do"),
            "keep TLS as it is in this change, and turn it on or off in a change of its own with etcd's procedure (member update of each peer URL)",
        ));
    }
    match (&old.kubernetes, &new.kubernetes) {
        (Some(_), None) | (None, Some(_)) => out.push(finding(
            rule,
            Subject::Kubernetes(KubernetesPart::Whole),
            format!(
                "Kubernetes would be {}: every machine's role changes",
                if new.kubernetes.is_some() { "added" } else { "removed" }
            ),
            "keep Kubernetes on or off in this change; add it by building the Kubernetes cluster beside this one",
        )),
        (Some(a), Some(b)) => {
            for (part, name, before, after) in [
                (KubernetesPart::Services, "service", a.services, b.services),
                (KubernetesPart::Pods, "pod", a.pods, b.pods),
            ] {
                if before != after {
                    out.push(finding(
                        rule,
                        Subject::Kubernetes(part),
                        format!(
                            "the {name} range is {before} and would be {after}: every {name} has its address from it"
                        ),
                        "keep the range; a cluster on another range is a new cluster",
                    ));
                }
            }
        }
        (None, None) => {}
    }
    out
}

/// `change_kubernetes_version`: one minor at a time, never back (the apiserver must not skip
/// minors, kubeadm and the skew policy say). O(1).
pub fn kubernetes_version(old: &Cluster, new: &Cluster) -> Vec<Finding> {
    let (Some(a), Some(b)) = (&old.kubernetes, &new.kubernetes) else { return Vec::new() };
    let (Some(from), Some(to)) = (a.minor_patch(), b.minor_patch()) else { return Vec::new() };
    let subject = Subject::Kubernetes(KubernetesPart::Version);
    let message = |why: &str| format!("Kubernetes {} would become {}: {why}", a.version, b.version);
    if to < from {
        return vec![finding(
            ChangeRule::KubernetesVersion,
            subject,
            message(
                "a downgrade, which Kubernetes does not support (stored objects may be in the newer version's form)",
            ),
            "keep the version, or restore the control plane from a backup of the older release",
        )];
    }
    if to.0 > from.0 + 1 {
        return vec![finding(
            ChangeRule::KubernetesVersion,
            subject,
            message(&format!("{} minor releases at once; the apiserver must not skip a minor release", to.0 - from.0)),
            &format!("upgrade one minor at a time: first to a v1.{}.x release, then on", from.0 + 1),
        )];
    }
    Vec::new()
}

/// The membership part of a plan: its steps, OLD and NEW at rest, and what the steps broke.
pub struct MembershipPlan {
    /// The membership steps.
    pub steps: Vec<super::Step>,
    /// OLD at rest, dead members down.
    pub before: super::Tolerance,
    /// NEW at rest.
    pub after: super::Tolerance,
    /// Rules the steps break (allowable ones, or `change_quorum` for the only member).
    pub findings: Vec<Finding>,
}

/// `change_membership` and `change_quorum` before any step is made, then the steps and what
/// `change_downtime` and `change_domain_quorum` find in them. `Err` when no step can be made.
pub fn membership(old: &Cluster, new: &Cluster, options: &ChangeOptions) -> Result<MembershipPlan, Vec<Finding>> {
    let whole = Subject::Group(GroupRef::Members, GroupPart::Whole);
    let rule = ChangeRule::Membership;
    let (Some(old_members), Some(new_members)) = (members_of(old), members_of(new)) else {
        return Err(vec![finding(
            rule,
            Subject::Group(GroupRef::Members, GroupPart::Addresses),
            "a member has no static address: a membership change names every member's peer URL, which DHCP decides at boot".to_string(),
            "give the members static addresses (`addresses: \"10.0.0.11\"..=\"10.0.0.15\"`)",
        )]);
    };
    let mut out = Vec::new();
    for (side, count) in [("OLD", old_members.len()), ("NEW", new_members.len())] {
        if count > MAX_CHANGE_MEMBERS {
            out.push(finding(
                rule,
                Subject::Group(GroupRef::Members, GroupPart::Size),
                format!("{side} has {count} etcd members; changes are planned for at most {MAX_CHANGE_MEMBERS} (etcd recommends at most 7)"),
                "declare fewer members",
            ));
        }
    }
    let names: HashSet<&str> = old_members.iter().map(|m| m.name.as_str()).collect();
    for dead in &options.dead {
        if !names.contains(dead.as_str()) {
            let known: Vec<&str> = old_members.iter().map(|m| m.name.as_str()).collect();
            out.push(finding(
                rule,
                whole,
                format!("`--dead {dead}` names no member of OLD (its members: {})", known.join(", ")),
                "name a member of the declaration the cluster runs",
            ));
        }
    }
    let diff = diff(&old_members, &new_members);
    let changes = !diff.joining.is_empty() || !diff.leaving.is_empty() || !diff.moved_address.is_empty();
    if changes && (old.os == Os::CoreOs || new.os == Os::CoreOs) {
        out.push(finding(
            rule,
            whole,
            "the membership changes on CoreOS (etcd2 or 0.4), whose etcd has no learners: a member added as a voter before it runs leaves the cluster tolerating one failure less, with no way to catch it up first".to_string(),
            "change the membership on Flatcar (etcd 3.5), or follow etcd2's runtime reconfiguration by hand",
        ));
    }
    if !out.is_empty() {
        return Err(out);
    }
    let Membership { steps, before, after, findings } =
        membership_steps(old, &old_members, &new_members, diff, &options.dead);
    Ok(MembershipPlan { steps, before, after, findings })
}
