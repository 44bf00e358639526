//! What an etcd membership tolerates at one moment of a change: voters, the learner, members
//! down, quorum, and each failure domain's loss, in the plan's terms.

use std::collections::BTreeSet;

use clusterdef_model::quorum::majority;

use super::members::Member;

/// The membership at one moment: the voters, the learner (at most one, as etcd 3.5 allows),
/// and which voters are down (dead, or restarting in the step).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Moment {
    /// Voting members.
    pub voters: Vec<Member>,
    /// The learner, if one was added and not yet promoted.
    pub learner: Option<Member>,
    /// Names of voters that are not running.
    pub down: BTreeSet<String>,
}

impl Moment {
    /// The voters that run.
    pub fn running(&self) -> impl Iterator<Item = &Member> {
        self.voters.iter().filter(|m| !self.down.contains(&m.name))
    }

    /// What this moment tolerates, with each of `domains` lost. O(voters × domains).
    pub fn tolerance(&self, domains: &[String]) -> Tolerance {
        let voters = self.voters.len() as u32;
        let quorum = majority(voters);
        let up = self.running().count() as u32;
        let losses = domains
            .iter()
            .map(|d| {
                let lost = self.running().filter(|m| m.domain.as_deref() == Some(d.as_str())).count() as u32;
                DomainOutcome { domain: d.clone(), members_lost: lost, keeps_quorum: up - lost >= quorum }
            })
            .collect();
        Tolerance {
            voters,
            learners: u32::from(self.learner.is_some()),
            down: voters - up,
            quorum,
            serves: up >= quorum,
            tolerates: up.saturating_sub(quorum),
            domains: losses,
        }
    }
}

/// What the cluster tolerates at a moment of a change.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Tolerance {
    /// Voting members.
    pub voters: u32,
    /// Learners (0 or 1).
    pub learners: u32,
    /// Voters not running (dead, or restarting in the step).
    pub down: u32,
    /// Voters a write needs.
    pub quorum: u32,
    /// Whether writes succeed (the running voters reach quorum).
    pub serves: bool,
    /// How many more running voters may fail with writes still succeeding.
    pub tolerates: u32,
    /// Each failure domain's loss at that moment.
    pub domains: Vec<DomainOutcome>,
}

impl Tolerance {
    /// The worse of two moments, `self` then `other`: the fewer failures tolerated, each domain
    /// keeping quorum only when it does at both (`domains` in the same order).
    pub fn worst(self, other: Tolerance) -> Tolerance {
        let domains = self
            .domains
            .iter()
            .zip(&other.domains)
            .map(|(a, b)| DomainOutcome {
                domain: a.domain.clone(),
                members_lost: a.members_lost.max(b.members_lost),
                keeps_quorum: a.keeps_quorum && b.keeps_quorum,
            })
            .collect();
        // On a tie the later moment speaks (its domains are the ones that worsened).
        let base = if (other.serves, other.tolerates) <= (self.serves, self.tolerates) { other } else { self };
        Tolerance { domains, ..base }
    }

    /// The outcome of losing `domain`.
    pub fn domain(&self, domain: &str) -> Option<&DomainOutcome> {
        self.domains.iter().find(|d| d.domain == domain)
    }
}

/// One failure domain's loss at a moment.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct DomainOutcome {
    /// `cabinet a`, `zone z1`.
    pub domain: String,
    /// Running voters in it.
    pub members_lost: u32,
    /// Whether the voters left reach quorum.
    pub keeps_quorum: bool,
}
