//! The membership steps: dead members removed first, each alone; then one member in or out at a
//! time (a joiner as a learner, promoted once caught up), joins first while the cluster stays
//! within one member of the larger declaration, so the tolerance stays as high as it can; then
//! address moves in place. Each step's tolerance is worked out as it is made.
//!
//! O(steps × members × domains), members at most [`super::MAX_CHANGE_MEMBERS`].

use std::collections::BTreeSet;

use clusterdef_model::quorum::tolerance;
use clusterdef_model::{Cluster, GroupPart, GroupRef, Subject};

use super::etcdctl::Etcdctl;
use super::members::{Member, MemberDiff};
use super::tolerance::{Moment, Tolerance};
use super::{Action, ChangeRule, Finding, Step};
use crate::render::EtcdJoin;

/// The membership steps and what they break.
pub struct Membership {
    /// The steps.
    pub steps: Vec<Step>,
    /// OLD at rest, dead members down.
    pub before: Tolerance,
    /// NEW at rest.
    pub after: Tolerance,
    /// What the steps break.
    pub findings: Vec<Finding>,
}

/// Every domain a member of either declaration is in, in order of appearance.
fn domains_of(old: &[Member], new: &[Member]) -> Vec<String> {
    let mut seen = BTreeSet::new();
    old.iter().chain(new).filter_map(|m| m.domain.clone()).filter(|d| seen.insert(d.clone())).collect()
}

struct Planner {
    ctl: Etcdctl,
    /// Whether the members speak TLS (a joiner needs certificates first).
    tls: bool,
    domains: Vec<String>,
    moment: Moment,
    before: Tolerance,
    after: Tolerance,
    steps: Vec<Step>,
    findings: Vec<Finding>,
    members_subject: Subject,
    /// Steps during which a domain's loss takes quorum though OLD and NEW keep it: (step, the
    /// part of NEW it concerns, the domains).
    domain_windows: Vec<(usize, Subject, Vec<String>)>,
}

impl Planner {
    fn running(&self) -> Vec<Member> {
        self.moment.running().cloned().collect()
    }

    /// Records a step, and `change_downtime` / `change_domain_quorum` where its worst moment
    /// breaks them.
    fn push(
        &mut self,
        action: Action,
        title: String,
        member: &Member,
        subject: Subject,
        parts: StepParts,
        midway: Tolerance,
    ) {
        let after = self.moment.tolerance(&self.domains);
        let during = midway.clone().worst(after.clone());
        if !during.serves {
            self.findings.push(Finding {
                rule: ChangeRule::Downtime,
                subject,
                message: format!(
                    "step {} ({title}) stops writes: {} of {} voters run while it restarts, and quorum is {}",
                    self.steps.len() + 1,
                    during.voters - during.down,
                    during.voters,
                    during.quorum
                ),
                help: "add a member first, so the cluster tolerates one failure while this one restarts".to_string(),
            });
        }
        let lost: Vec<String> = during
            .domains
            .iter()
            .filter(|d| !d.keeps_quorum)
            .filter(|d| self.before.domain(&d.domain).is_some_and(|b| b.keeps_quorum))
            .filter(|d| self.after.domain(&d.domain).is_some_and(|a| a.keeps_quorum))
            .map(|d| d.domain.clone())
            .collect();
        if !lost.is_empty() && during.serves {
            self.domain_windows.push((self.steps.len() + 1, subject, lost));
        }
        self.steps.push(Step {
            number: 0,
            action,
            title,
            member: Some(member.name.clone()),
            machines: parts.machines,
            commands: parts.commands,
            join: parts.join,
            until: parts.until,
            midway,
            during,
            after,
            workloads: Vec::new(),
        });
    }

    fn health(&self) -> String {
        let voters = self.moment.voters.clone();
        format!("`{}` reports every member healthy", self.ctl.run(&voters, "endpoint health"))
    }

    /// `member remove` of `member`, retried until `member list` no longer shows it.
    fn remove(&self, endpoints: &[Member], member: &Member) -> String {
        Etcdctl::until(
            &self.ctl.listed(endpoints, &format!(", {}, ", member.peer_url), false),
            &format!(
                "{} && {}",
                self.ctl.id_of(endpoints, &member.peer_url),
                self.ctl.run(endpoints, "member remove \"$ID\"")
            ),
        )
    }

    fn remove_dead(&mut self, dead: &Member) {
        let endpoints = self.running();
        let commands = vec![self.remove(&endpoints, dead)];
        self.moment.voters.retain(|m| m.name != dead.name);
        self.moment.down.remove(&dead.name);
        let during = self.moment.tolerance(&self.domains);
        let parts = StepParts {
            machines: vec![format!(
                "{}: gone; should its machine come back, wipe its etcd data directory before it boots (a removed member never rejoins with its data)",
                dead.name
            )],
            commands,
            join: None,
            until: vec![format!("`member list` no longer shows {}", dead.name), self.health()],
        };
        self.push(
            Action::RemoveDead,
            format!("remove the dead member {}", dead.name),
            dead,
            self.members_subject,
            parts,
            during,
        );
    }

    fn join(&mut self, joiner: &Member) {
        let endpoints = self.running();
        self.moment.learner = Some(joiner.clone());
        let with_learner = self.moment.tolerance(&self.domains);
        let initial: Vec<String> = self.moment.voters.iter().chain([joiner]).map(Member::initial_entry).collect();
        let url = &joiner.peer_url;
        let commands = vec![
            Etcdctl::until(
                &self.ctl.listed(&endpoints, &format!(", {url}, "), true),
                &self.ctl.run(&endpoints, &format!("member add {} --learner --peer-urls={url}", joiner.name)),
            ),
            Etcdctl::until(
                &self.ctl.listed(&endpoints, &format!(", {url}, .*, false$"), true),
                &format!(
                    "{} && {}",
                    self.ctl.id_of(&endpoints, url),
                    self.ctl.run(&endpoints, "member promote \"$ID\"")
                ),
            ),
        ];
        self.moment.learner = None;
        self.moment.voters.push(joiner.clone());
        let parts = StepParts {
            machines: {
                let mut lines = vec![format!(
                    "{}: boot with this step's configuration, its etcd data directory empty (etcd joins as the learner, ETCD_INITIAL_CLUSTER_STATE=existing), after `member add` and before the promotion",
                    joiner.name
                )];
                if self.tls {
                    lines.push(format!(
                        "{}: its TLS files from the PKI renewed for NEW (`clusterdef pki NEW --renew OLD_PKI --out NEW_PKI`, machines/{}), signed by the same CA, installed before it boots",
                        joiner.name, joiner.name
                    ));
                }
                lines
            },
            commands,
            join: Some(EtcdJoin { member: joiner.name.clone(), initial_cluster: initial.join(",") }),
            until: vec![
                format!(
                    "`{}` answers before the promotion (a learner answers nothing else)",
                    self.ctl.run([joiner], "endpoint status")
                ),
                format!("`member list` shows {} started and not a learner", joiner.name),
                self.health(),
            ],
        };
        self.push(
            Action::Join,
            format!("add {} ({})", joiner.name, where_(joiner)),
            joiner,
            joiner.subject(),
            parts,
            with_learner,
        );
    }

    fn leave(&mut self, leaver: &Member) {
        let endpoints: Vec<Member> = self.running().into_iter().filter(|m| m.name != leaver.name).collect();
        let commands = vec![self.remove(&endpoints, leaver)];
        self.moment.voters.retain(|m| m.name != leaver.name);
        let during = self.moment.tolerance(&self.domains);
        let parts = StepParts {
            machines: vec![format!(
                "{}: after `member remove` (etcd stops itself), power off; wipe its etcd data directory before the machine serves again",
                leaver.name
            )],
            commands,
            join: None,
            until: vec![format!("`member list` no longer shows {}", leaver.name), self.health()],
        };
        let title = format!("remove {} ({})", leaver.name, where_(leaver));
        self.push(Action::Leave, title, leaver, self.members_subject, parts, during);
    }

    fn move_address(&mut self, from: &Member, to: &Member) {
        let endpoints: Vec<Member> = self.running();
        let commands = vec![Etcdctl::until(
            &self.ctl.listed(&endpoints, &format!(", {}, ", to.peer_url), true),
            &format!(
                "{} && {}",
                self.ctl.id_of(&endpoints, &from.peer_url),
                self.ctl.run(&endpoints, &format!("member update \"$ID\" --peer-urls={}", to.peer_url))
            ),
        )];
        self.moment.down.insert(from.name.clone());
        let restarting = self.moment.tolerance(&self.domains);
        self.moment.down.remove(&from.name);
        for m in &mut self.moment.voters {
            if m.name == from.name {
                *m = to.clone();
            }
        }
        let parts = StepParts {
            // Ignition runs once: NEW's configuration reaches the member's own disk only by
            // running Ignition again there; reprovisioning would wipe the data it keeps.
            machines: {
                let mut lines = vec![format!(
                    "{}: after `member update`, NEW's configuration on its own disk, not reprovisioned (its etcd data directory stays): NEW's ignition/{}.ign where its Ignition reads it (the OEM partition's config.ign, where `flatcar-install -i` wrote it, or the provider's user data), then `sudo touch /boot/flatcar/first_boot` and reboot; Ignition applies it again and etcd-member listens at {}",
                    to.name, to.name, to.peer_url
                )];
                if self.tls {
                    // Its certificates name its address: the old ones fail every peer's check.
                    lines.push(format!(
                        "{}: its TLS files from the PKI renewed for NEW (`clusterdef pki NEW --renew OLD_PKI --out NEW_PKI`, machines/{}: certificates naming its new address, signed by the same CA), installed before it reboots",
                        to.name, to.name
                    ));
                }
                lines
            },
            commands,
            join: None,
            until: vec![format!("`{}` answers", self.ctl.run([to], "endpoint health")), self.health()],
        };
        let title = format!("move {} from {} to {}", to.name, from.peer_url, to.peer_url);
        self.push(Action::MoveAddress, title, to, to.subject(), parts, restarting);
    }
}

/// The parts of a step beside its tolerance.
struct StepParts {
    machines: Vec<String>,
    commands: Vec<String>,
    join: Option<EtcdJoin>,
    until: Vec<String>,
}

fn where_(m: &Member) -> String {
    m.domain.clone().unwrap_or_else(|| "no failure domain".to_string())
}

/// The membership steps from `old` to `new` (`diff` between them), `dead` members of OLD
/// removed first. `cluster` is OLD (its TLS files name `etcdctl`'s).
pub fn membership_steps(
    cluster: &Cluster,
    old: &[Member],
    new: &[Member],
    diff: MemberDiff,
    dead: &[String],
) -> Membership {
    let domains = domains_of(old, new);
    let moment =
        Moment { voters: old.to_vec(), learner: None, down: dead.iter().cloned().collect::<BTreeSet<String>>() };
    let before = moment.tolerance(&domains);
    let after = Moment { voters: new.to_vec(), ..Moment::default() }.tolerance(&domains);
    let members_subject = Subject::Group(GroupRef::Members, GroupPart::Whole);
    let mut p = Planner {
        ctl: Etcdctl::of(cluster),
        tls: cluster.tls.is_some(),
        domains,
        moment,
        before,
        after,
        steps: Vec::new(),
        findings: Vec::new(),
        members_subject,
        domain_windows: Vec::new(),
    };
    if !p.before.serves {
        p.findings.push(Finding {
            rule: ChangeRule::Quorum,
            subject: members_subject,
            message: format!(
                "{} of the {} members are dead, and the {} running do not reach quorum ({}): no membership change can be made",
                p.before.down,
                p.before.voters,
                p.before.voters - p.before.down,
                p.before.quorum
            ),
            help: "restore quorum first: start the dead members again if their data survives, else etcd's disaster recovery (restore a snapshot with --force-new-cluster)".to_string(),
        });
        return finish(p);
    }
    let MemberDiff { kept, moved_address, mut joining, mut leaving } = diff;
    let mut moves = moved_address;
    // A dead member leaves first, alone; NEW declaring it still means a new machine joins.
    for name in dead {
        let Some(member) = old.iter().find(|m| &m.name == name) else { continue };
        leaving.retain(|l| &l.name != name);
        let redeclared = kept.iter().chain(moves.iter().map(|(_, to)| to)).find(|m| &m.name == name).cloned();
        moves.retain(|(from, _)| &from.name != name);
        if let Some(again) = redeclared {
            joining.push(again);
        }
        p.remove_dead(member);
    }
    let cap = old.len().max(new.len());
    while !joining.is_empty() || !leaving.is_empty() {
        let blocks = |l: &Member, j: &Member| l.name == j.name || l.peer_url == j.peer_url;
        let next_join = joining.iter().position(|j| !leaving.iter().any(|l| blocks(l, j)));
        let voters = p.moment.voters.len();
        let can_join = next_join.is_some() && voters < cap + usize::from(!leaving.is_empty());
        let can_leave = !leaving.is_empty() && voters > 1;
        let join_first = can_join && (!can_leave || tolerance(voters as u32 + 1) >= tolerance(voters as u32 - 1));
        if let (true, Some(i)) = (join_first, next_join) {
            let joiner = joining.remove(i);
            p.join(&joiner);
        } else if can_leave {
            // One that makes room for a joiner first; else the last declared.
            let i = leaving.iter().position(|l| joining.iter().any(|j| blocks(l, j))).unwrap_or(leaving.len() - 1);
            let leaver = leaving.remove(i);
            p.leave(&leaver);
        } else {
            let joiner = &joining[0];
            p.findings.push(Finding {
                rule: ChangeRule::Quorum,
                subject: joiner.subject(),
                message: format!(
                    "{} would join at {}, which the only member holds: the only member cannot leave to make room (its removal ends the cluster)",
                    joiner.name, joiner.peer_url
                ),
                help: "give the new member another address (or name), so it joins before the old one leaves".to_string(),
            });
            return finish(p);
        }
    }
    for (from, to) in &moves {
        p.move_address(from, to);
    }
    finish(p)
}

/// The membership, with one `change_domain_quorum` finding for every step that opens a window
/// (on the first such step's part of NEW).
fn finish(mut p: Planner) -> Membership {
    if let Some((_, subject, _)) = p.domain_windows.first() {
        let steps: Vec<String> =
            p.domain_windows.iter().map(|(n, _, lost)| format!("step {n} losing {}", lost.join(" or "))).collect();
        p.findings.push(Finding {
            rule: ChangeRule::DomainQuorum,
            subject: *subject,
            message: format!(
                "one failure domain's loss would take quorum during the change ({}), though the cluster keeps quorum through that loss before and after it",
                steps.join("; ")
            ),
            help: "the window lasts while those steps run (members join and leave one at a time); take the risk for that long, or spread the members so fewer steps put a majority in one domain".to_string(),
        });
    }
    Membership { steps: p.steps, before: p.before, after: p.after, findings: p.findings }
}
