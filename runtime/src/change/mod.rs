//! Change planning: from the declaration a cluster runs to the one it should run, the ordered
//! steps that take it there without losing quorum (`clusterdef change OLD NEW`).
//!
//! The etcd membership changes one member at a time, as etcd 3.5 requires: a joining member is
//! added as a learner, started with the membership of that moment, and promoted once it has
//! caught up; a leaving member is removed before its machine goes; a dead member's removal is a
//! step of its own, first. Each step states what the cluster tolerates during it and after it,
//! per failure domain, in the plan's terms; the transition rules ([`ChangeRule`]) refuse what
//! would lose quorum or cannot change on a running cluster. Linear in the declarations but for
//! the membership steps, which are bounded by [`MAX_CHANGE_MEMBERS`].

mod etcdctl;
mod matchbox;
mod members;
mod rules;
mod steps;
mod text;
mod tolerance;
mod workers;
mod workloads;

pub use etcdctl::shell_word;
pub use members::{Member, MemberDiff, diff, members_of};
pub use tolerance::{DomainOutcome, Moment, Tolerance};
pub use workloads::WorkloadAtStep;

use clusterdef_model::{Cluster, Subject};

use crate::render::EtcdJoin;

/// The most members either declaration may have for a membership change to be planned (etcd
/// recommends at most seven); it keeps planning linear in what a declaration can make large.
pub const MAX_CHANGE_MEMBERS: usize = 15;

/// What the operator tells the planner beyond the two declarations.
#[derive(Clone, Debug, Default)]
pub struct ChangeOptions {
    /// Members of OLD whose machines are gone for good (their removal comes first).
    pub dead: Vec<String>,
    /// Transition rules whose risk is accepted, each with its reason.
    pub allow: Vec<(ChangeRule, String)>,
}

impl ChangeOptions {
    /// Every allowable transition rule taken, with `reason`: for a front end that needs only a
    /// change's steps (which step a render is), never for deciding to take the risks.
    pub fn every_risk(reason: &str) -> ChangeOptions {
        let allow = ChangeRule::ALL.iter().filter(|r| r.allowable()).map(|r| (*r, reason.to_string())).collect();
        ChangeOptions { dead: Vec::new(), allow }
    }
}

macro_rules! change_rules {
    ($($variant:ident { name: $name:literal, allowable: $allowable:literal, doc: $doc:literal, })*) => {
        /// A rule on the transition from one declaration to another.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize))]
        #[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
        pub enum ChangeRule {
            $(#[doc = $doc] $variant,)*
        }

        impl ChangeRule {
            /// Every transition rule.
            pub const ALL: &'static [ChangeRule] = &[$(ChangeRule::$variant,)*];

            /// Its stable name, as `--allow NAME=REASON` and docs/rules.md spell it.
            pub const fn name(self) -> &'static str {
                match self { $(ChangeRule::$variant => $name,)* }
            }

            /// Whether a user may accept its risk with a reason.
            pub const fn allowable(self) -> bool {
                match self { $(ChangeRule::$variant => $allowable,)* }
            }

            /// What it refuses.
            pub const fn doc(self) -> &'static str {
                match self { $(ChangeRule::$variant => $doc,)* }
            }
        }
    };
}

change_rules! {
    Identity {
        name: "change_identity",
        allowable: false,
        doc: "What a running cluster cannot change: its name (etcd's cluster token), operating system, etcd release, TLS on or off, Kubernetes added or removed, the service or pod range",
    }
    KubernetesVersion {
        name: "change_kubernetes_version",
        allowable: false,
        doc: "A Kubernetes version that skips a minor release or goes back: the apiserver must not skip minors, and nothing goes down",
    }
    Membership {
        name: "change_membership",
        allowable: false,
        doc: "A membership change that cannot be planned: members without static addresses, an unknown dead member, more than 15 members, or etcd releases without learners (CoreOS's etcd2 and 0.4)",
    }
    Quorum {
        name: "change_quorum",
        allowable: false,
        doc: "A change that starts without quorum (dead members beyond what the cluster tolerates) or must remove the only member to make room",
    }
    Downtime {
        name: "change_downtime",
        allowable: true,
        doc: "A step during which the cluster stops taking writes (a member's address changed in a cluster that tolerates no failure)",
    }
    DomainQuorum {
        name: "change_domain_quorum",
        allowable: true,
        doc: "A step after or during which one failure domain's loss takes quorum, though the cluster keeps quorum through that loss before and after the change",
    }
    WorkloadNodes {
        name: "change_workload_nodes",
        allowable: true,
        doc: "A step after or during which a workload (with Kubernetes) has no node it may run on, though it has one before the change",
    }
}

impl std::str::FromStr for ChangeRule {
    type Err = String;
    fn from_str(s: &str) -> Result<ChangeRule, String> {
        ChangeRule::ALL.iter().copied().find(|r| r.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ChangeRule::ALL.iter().map(|r| r.name()).collect();
            format!("no transition rule `{s}`; the rules are {}", names.join(", "))
        })
    }
}

/// One way the change breaks a transition rule, on the part of NEW at fault.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The rule.
    pub rule: ChangeRule,
    /// The part of the NEW declaration at fault.
    pub subject: Subject,
    /// What is wrong, with the numbers.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Finding {
    /// Message, help and how to accept the risk, as every front end prints it.
    pub fn full_message(&self) -> String {
        let rule = self.rule.name();
        let note = if self.rule.allowable() {
            format!("rule `{rule}`; to take this risk on purpose: `--allow {rule}=REASON`")
        } else {
            format!("rule `{rule}` (cannot be allowed)")
        };
        format!("{}\n  = help: {}\n  = note: {note}", self.message, self.help)
    }
}

/// What one step does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Action {
    /// A dead member removed from the membership.
    RemoveDead,
    /// A member added as a learner, started, promoted.
    Join,
    /// A member removed, then its machine powered off.
    Leave,
    /// A member's peer URL updated, then the member restarted at its new address.
    MoveAddress,
    /// Every other machine given NEW's configuration (etcd endpoints, apiservers' etcd list).
    Reconfigure,
    /// Workers added or removed (drained first with Kubernetes).
    Workers,
    /// Nodes whose labels change (the kubelet sets its labels when it registers, never again).
    Relabel,
    /// Kubernetes' control plane upgraded, member by member.
    UpgradeControlPlane,
    /// The kubelets upgraded, node by node (drained, upgraded, uncordoned).
    UpgradeNodes,
}

/// One step of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Step {
    /// 1-based.
    pub number: usize,
    /// What it does.
    pub action: Action,
    /// One line saying so.
    pub title: String,
    /// The member it changes, if any.
    pub member: Option<String>,
    /// What happens to which machine, in order.
    pub machines: Vec<String>,
    /// The commands to run, in order, each one line for `sh`.
    pub commands: Vec<String>,
    /// For a joining member: the membership it starts with (`clusterdef render NEW --step N`).
    pub join: Option<EtcdJoin>,
    /// What must be true before the next step.
    pub until: Vec<String>,
    /// What the cluster tolerates inside the step: for a join, with the learner added and
    /// running but not yet promoted; for a move, with the member restarting; for a removal,
    /// once removed.
    pub midway: Tolerance,
    /// What the cluster tolerates at the step's worst moment (midway or after).
    pub during: Tolerance,
    /// What it tolerates once the step is done.
    pub after: Tolerance,
    /// With Kubernetes, the workloads that do not keep every pod they want at the step's worst
    /// moment, and what runs of them; every other workload keeps every pod it wants.
    pub workloads: Vec<WorkloadAtStep>,
}

/// The ordered steps from one declaration to another.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ChangePlan {
    /// The cluster's name.
    pub cluster: String,
    /// OLD at rest, dead members down.
    pub before: Tolerance,
    /// NEW at rest.
    pub after: Tolerance,
    /// The steps, in order; empty when the change needs none.
    pub steps: Vec<Step>,
    /// What changes without a step, and why none is needed.
    pub notes: Vec<String>,
    /// The transition rules whose risk the operator accepted, with the reasons.
    pub accepted: Vec<AcceptedChangeRisk>,
    /// The certificates of the cluster's PKI and when each expires, soonest first, when the
    /// front end read them (`clusterdef change --pki DIR`); empty otherwise.
    pub certificates: Vec<CertificateExpiry>,
}

/// One certificate of the cluster's PKI and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct CertificateExpiry {
    /// The file under the PKI directory (a kubeconfig's embedded certificate: `file: key`).
    pub path: String,
    /// When it stops being valid (RFC 3339, UTC).
    pub not_after: String,
    /// Whole days left (negative: expired).
    pub days_left: i64,
    /// Whether it expires within the warning time the front end was given.
    pub due: bool,
}

/// A transition rule broken on purpose.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct AcceptedChangeRisk {
    /// The rule.
    pub rule: ChangeRule,
    /// The reason given.
    pub reason: String,
    /// What it would have refused.
    pub message: String,
}

/// Plans the change from `old` (the declaration the cluster runs) to `new`: the steps, or every
/// transition rule the change breaks and does not allow. Both declarations are checked ones.
/// O(machines + members² × domains), members at most [`MAX_CHANGE_MEMBERS`].
pub fn plan(old: &Cluster, new: &Cluster, options: &ChangeOptions) -> Result<ChangePlan, Vec<Finding>> {
    let mut findings = rules::identity(old, new);
    findings.extend(rules::kubernetes_version(old, new));
    let membership = rules::membership(old, new, options);
    let (mut steps, before, after) = match membership {
        Ok(m) => {
            findings.extend(m.findings);
            (m.steps, m.before, m.after)
        }
        Err(found) => {
            findings.extend(found);
            return Err(findings);
        }
    };
    let mut notes = Vec::new();
    workers::steps(old, new, &mut steps, &after, &mut notes);
    for (i, step) in steps.iter_mut().enumerate() {
        step.number = i + 1;
    }
    matchbox::serve(old, new, &mut steps, &mut notes);
    findings.extend(workloads::predict(old, new, &options.dead, &mut steps));
    let mut accepted = Vec::new();
    findings.retain(|f| match options.allow.iter().find(|(r, _)| *r == f.rule && r.allowable()) {
        Some((rule, reason)) => {
            accepted.push(AcceptedChangeRisk { rule: *rule, reason: reason.clone(), message: f.message.clone() });
            false
        }
        None => true,
    });
    if !findings.is_empty() {
        return Err(findings);
    }
    if steps.is_empty() && notes.is_empty() {
        notes.push("the declarations describe the same cluster: nothing to do".to_string());
    }
    Ok(ChangePlan { cluster: new.name.to_string(), before, after, steps, notes, accepted, certificates: Vec::new() })
}

#[cfg(test)]
mod tests;
