//! The architecture rules: one implementation, run by every front end on the typed model.
//!
//! Each rule pushes every violation it finds (never only the first), each on the most precise
//! [`Subject`] it can name, so a front end can underline the exact tokens at fault.

mod capacity;
mod checked;
mod collision;
mod etcd;
mod fleet;
mod format;
mod host;
mod kubernetes;
pub use checked::Checked;
pub use format::CLOUD_INIT_SUBSTITUTIONS;
mod matchbox;
mod network;
mod os;
mod pools;
mod reboot;
mod tls;
mod workloads;

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use crate::cluster::{Allow, Cluster};
use crate::placement::Host;
use crate::rule::Rule;
use crate::subject::Subject;

/// One broken rule: what is wrong and why, where, and how to fix it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule that was broken.
    pub rule: Rule,
    /// The part of the cluster at fault.
    pub subject: Subject,
    /// What is wrong and why, with the cluster's actual numbers.
    pub message: String,
    /// How to fix it.
    pub help: String,
}

impl Violation {
    /// The message, the help and the opt-out as one text, the form every front end prints.
    pub fn full_message(&self) -> String {
        let rule = self.rule.name();
        if self.rule.allowable() {
            format!(
                "{}\n  = help: {}\n  = note: rule `{rule}`; to accept this risk on purpose, add `allow({rule}, reason = \"...\")`",
                self.message, self.help
            )
        } else {
            format!("{}\n  = help: {}\n  = note: rule `{rule}`, which cannot be allowed", self.message, self.help)
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.full_message())
    }
}

/// Every violation of a cluster that does not pass its rules.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violations {
    /// The violations, in rule order.
    pub list: Vec<Violation>,
    /// Each violation's subject described as a path into the cluster, in the same order.
    pub paths: Vec<String>,
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (v, path)) in self.list.iter().zip(&self.paths).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "error at {path}: {}", v.full_message())?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

/// Collects violations while the rules run.
pub(crate) struct Report<'c> {
    pub cluster: &'c Cluster,
    out: Vec<Violation>,
    /// The units' placement, when a rule computed it (Flatcar), kept for the renderer.
    pub placement: Vec<Vec<Host>>,
}

impl Report<'_> {
    /// Records a violation of `rule` at `subject`.
    pub fn push(&mut self, rule: Rule, subject: Subject, message: impl Into<String>, help: impl Into<String>) {
        self.out.push(Violation { rule, subject, message: message.into(), help: help.into() });
    }
}

/// What one run of the rules found.
#[derive(Clone, Debug, Default)]
pub struct Review {
    /// The violations: all of them from [`Cluster::review`], the allowed ones from a successful
    /// [`Cluster::check_and_place`].
    pub violations: Vec<Violation>,
    /// Where each unit runs when the OS has no scheduler (Flatcar), per unit; empty on CoreOS.
    pub placement: Vec<Vec<Host>>,
}

impl Cluster {
    /// Every violation of every rule, including those of rules the cluster allows.
    pub fn all_violations(&self) -> Vec<Violation> {
        self.review().violations
    }

    /// Every violation (allowed or not), and the placement the rules computed on the way
    /// (Flatcar; empty on CoreOS, or when `cluster_size` stopped the other rules): one run of
    /// the rules for callers that need both, such as the plan.
    pub fn review(&self) -> Review {
        let (violations, placement) = self.run_rules();
        Review { violations, placement }
    }

    fn run_rules(&self) -> (Vec<Violation>, Vec<Vec<Host>>) {
        let mut report = Report { cluster: self, out: Vec::new(), placement: Vec::new() };
        pools::cluster_size(&mut report);
        if !report.out.is_empty() {
            // Every other rule looks at machines one by one; past the limit, that is unbounded work.
            return (report.out, Vec::new());
        }
        etcd::check(&mut report);
        network::check(&mut report);
        pools::check(&mut report);
        matchbox::check(&mut report);
        fleet::check(&mut report);
        os::check(&mut report);
        tls::check(&mut report);
        format::value_format(&mut report);
        host::check(&mut report);
        kubernetes::check(&mut report);
        // One error per place and rule: a pattern that breaks for every machine is one mistake.
        let mut seen = HashSet::new();
        let mut out = report.out;
        out.retain(|v| seen.insert((v.rule, v.subject)));
        out.sort_by_key(|v| v.rule);
        (out, report.placement)
    }

    /// The rules the cluster allows that silence nothing (no violation of theirs to accept): the
    /// `allow`s that can go. One run of the rules, nothing else (no plan). O(rules' cost).
    pub fn stale_allows(&self) -> Vec<Rule> {
        let broken: HashSet<Rule> = self.all_violations().iter().map(|v| v.rule).collect();
        self.allows.iter().map(|a| a.rule).filter(|r| !broken.contains(r)).collect()
    }

    /// The violations of the rules the cluster does not allow.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = self.all_violations();
        out.retain(|v| !self.allows(v.rule));
        out
    }

    /// Accepts every risk the cluster takes that may be accepted: an `allow` for each allowable
    /// rule it breaks and does not allow yet, with the reason `reason` gives for the rule's
    /// first violation. Returns the violations of rules that cannot be allowed.
    pub fn accept_risks(&mut self, reason: impl Fn(&Violation) -> String) -> Vec<Violation> {
        let mut allows = self.allows.to_vec();
        let mut left = Vec::new();
        for v in self.violations() {
            if !v.rule.allowable() {
                left.push(v);
            } else if !allows.iter().any(|a| a.rule == v.rule) {
                allows.push(Allow { rule: v.rule, reason: Cow::Owned(reason(&v)) });
            }
        }
        self.allows = Cow::Owned(allows);
        left
    }

    /// Checks the cluster against every architecture rule it does not allow.
    pub fn check(&self) -> Result<(), Violations> {
        self.check_and_place().map(|_| ())
    }

    /// [`Cluster::check`], returning on success what the rules found on the way: where each
    /// unit runs when the OS has no scheduler (as [`Cluster::placement_for_os`]), and the
    /// violations the cluster allows, so no caller runs the rules twice.
    pub fn check_and_place(&self) -> Result<Review, Violations> {
        let (all, placement) = self.run_rules();
        let (allowed, list): (Vec<Violation>, Vec<Violation>) = all.into_iter().partition(|v| self.allows(v.rule));
        if list.is_empty() {
            Ok(Review { violations: allowed, placement })
        } else {
            let paths = list.iter().map(|v| v.subject.describe(self)).collect();
            Err(Violations { list, paths })
        }
    }
}

pub(crate) use crate::words::{join, plural};

#[cfg(test)]
mod tests {
    //! The rules on clusters built at run time, without the macro.
    use std::borrow::Cow;
    use std::net::Ipv4Addr;

    use crate::*;

    fn central(n: u32, cabinets: &[&'static str]) -> Cluster {
        let members =
            Group::new("central", "central", Size::Fixed(n)).across(DomainKind::Cabinet, cabinets.iter().copied());
        Cluster::new("test", Layout::CentralServices, members)
    }

    fn rules(cluster: &Cluster) -> Vec<Rule> {
        cluster.violations().iter().map(|v| v.rule).collect()
    }

    fn body() -> UnitBody {
        UnitBody::Inline(Cow::Borrowed("[Service]\nExecStart=/bin/true\n"))
    }

    #[test]
    fn seed_card_passes() {
        let mut cluster = central(5, &["a", "b", "c"]);
        cluster.pools = Cow::Owned(vec![Group::new("worker", "worker", Size::Autoscale { min: None, max: None })]);
        assert_eq!(cluster.check(), Ok(()));
    }

    #[test]
    fn even_counts_explain_the_tolerance() {
        let cluster = central(4, &["a", "b", "c", "d"]);
        let violations = cluster.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].rule, Rule::EvenMembers);
        assert!(violations[0].message.contains("4 etcd members tolerate 1 failure, the same as 3"));
        assert_eq!(violations[0].help, "use 3 or 5 members");
    }

    #[test]
    fn failure_domain_arithmetic_names_the_domain() {
        let cluster = central(3, &["a", "b"]);
        let violations = cluster.violations();
        assert_eq!(violations.len(), 1, "{violations:?}");
        assert_eq!(violations[0].message, "cabinet a holds 2 of 3 etcd members; losing it leaves 1, and quorum is 2");
        assert_eq!(violations[0].subject, Subject::Group(GroupRef::Members, GroupPart::Domain(0)));
        // 5 over three cabinets is 2/2/1: any one cabinet can go.
        assert_eq!(rules(&central(5, &["a", "b", "c"])), []);
        // 7 over three cabinets is 3/2/2 with a tolerance of 3: fine for quorum, too many for production.
        assert_eq!(rules(&central(7, &["a", "b", "c"])), [Rule::MemberCount]);
    }

    #[test]
    fn allow_silences_only_its_rule() {
        let mut cluster = central(4, &["a", "b"]);
        assert_eq!(rules(&cluster), [Rule::EvenMembers, Rule::FailureDomainQuorum, Rule::FailureDomainQuorum]);
        cluster.allows = Cow::Owned(vec![Allow { rule: Rule::EvenMembers, reason: Cow::Borrowed("replacing a disk") }]);
        assert_eq!(rules(&cluster), [Rule::FailureDomainQuorum, Rule::FailureDomainQuorum]);
        assert_eq!(cluster.all_violations().len(), 3);
    }

    #[test]
    fn production_requires_spread_stable_static_addresses_and_tls() {
        let mut cluster = Cluster::new("p", Layout::CentralServices, Group::new("central", "central", Size::Fixed(3)));
        cluster.production = true;
        cluster.channel = Channel::Beta;
        assert_eq!(
            rules(&cluster),
            [
                Rule::SingleDomain,
                Rule::ProductionChannel,
                Rule::ProductionStaticAddresses,
                Rule::Bootstrap,
                Rule::EtcdTls
            ]
        );
        cluster.tls = Some(Tls {
            ca: Cow::Borrowed("/etc/ssl/etcd/ca.pem"),
            cert: Cow::Borrowed("/etc/ssl/etcd/server.pem"),
            key: Cow::Borrowed("relative.pem"),
        });
        assert_eq!(
            rules(&cluster),
            [
                Rule::SingleDomain,
                Rule::ProductionChannel,
                Rule::ProductionStaticAddresses,
                Rule::Bootstrap,
                Rule::ValueFormat
            ]
        );
    }

    #[test]
    fn metadata_requirements_are_and_across_keys_or_within_a_key() {
        let mut cluster = central(3, &["a", "b", "c"]);
        let mut ssd = Group::new("db", "worker", Size::Fixed(2));
        ssd.metadata = Cow::Owned(vec![(Cow::Borrowed("disk"), Cow::Borrowed("ssd"))]);
        cluster.pools = Cow::Owned(vec![ssd]);
        let unit = |reqs: Vec<(&'static str, Vec<&'static str>)>| {
            let mut u = Unit::new("u.service", body());
            u.machine_metadata = Cow::Owned(
                reqs.into_iter()
                    .map(|(k, vs)| Requirement {
                        key: Cow::Borrowed(k),
                        values: Cow::Owned(vs.into_iter().map(Cow::Borrowed).collect()),
                    })
                    .collect(),
            );
            u
        };
        let verdict = |u: Unit| {
            let mut c = cluster.clone();
            c.units = Cow::Owned(vec![u]);
            rules(&c)
        };
        assert_eq!(verdict(unit(vec![("role", vec!["worker"]), ("disk", vec!["ssd"])])), []);
        assert_eq!(verdict(unit(vec![("role", vec!["central", "worker"]), ("cabinet", vec!["b"])])), []);
        // Both pairs exist, but never on one machine.
        assert_eq!(verdict(unit(vec![("role", vec!["central"]), ("disk", vec!["ssd"])])), [Rule::MetadataSatisfiable]);
        // A value nobody publishes is reported even inside an OR, where it is most likely a typo.
        assert_eq!(verdict(unit(vec![("cabinet", vec!["a", "z"])])), [Rule::MetadataSatisfiable]);
    }

    #[test]
    fn reboot_windows_may_overlap_within_the_tolerance() {
        let windows = |spec: &[(&'static str, &str)]| {
            let mut c = central(5, &["a", "b", "c", "d", "e"]);
            c.members.reboot = RebootStrategy::Reboot;
            c.members.windows = Windows::PerDomain(Cow::Owned(
                spec.iter()
                    .map(|(d, start)| (Cow::Borrowed(*d), RebootWindow::parse(start, "1h").expect("valid")))
                    .collect(),
            ));
            rules(&c)
        };
        let apart =
            [("a", "Mon 01:00"), ("b", "Tue 01:00"), ("c", "Wed 01:00"), ("d", "Thu 01:00"), ("e", "Fri 01:00")];
        assert_eq!(windows(&apart), []);
        // Two cabinets of one member each down together: 3 of 5 remain, quorum holds.
        let two = [("a", "Mon 01:00"), ("b", "Mon 01:30"), ("c", "Wed 01:00"), ("d", "Thu 01:00"), ("e", "Fri 01:00")];
        assert_eq!(windows(&two), []);
        let three =
            [("a", "Mon 01:00"), ("b", "Mon 01:30"), ("c", "Mon 01:45"), ("d", "Thu 01:00"), ("e", "Fri 01:00")];
        assert_eq!(windows(&three), [Rule::RebootQuorum]);
    }

    #[test]
    fn addresses_are_checked_against_the_subnet_and_each_other() {
        let mut cluster = central(3, &["a", "b", "c"]);
        cluster.network = Some(Network {
            gateway: Some(Ipv4Addr::new(10, 0, 0, 1)),
            ..Network::new("10.0.0.0/24".parse().expect("valid"))
        });
        cluster.members.addressing =
            Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 10), last: Ipv4Addr::new(10, 0, 0, 12) };
        assert_eq!(rules(&cluster), []);
        let mut db = Group::new("db", "worker", Size::Fixed(2));
        db.addressing = Addressing::List(Cow::Owned(vec![Ipv4Addr::new(10, 0, 0, 12), Ipv4Addr::new(10, 0, 1, 5)]));
        cluster.pools = Cow::Owned(vec![db]);
        assert_eq!(rules(&cluster), [Rule::AddressUnique, Rule::AddressInSubnet]);
        let err = cluster.check().expect_err("two violations");
        assert_eq!(err.paths, ["pool[\"db\"].addresses[0]", "pool[\"db\"].addresses[1]"]);
        assert!(err.to_string().contains("db-1 and central-3 would both take address 10.0.0.12"));
    }

    #[test]
    fn fleet_combinations_and_machine_of() {
        let mut cluster = central(3, &["a", "b", "c"]);
        let mut anchor = Unit::new("web.service", body());
        anchor.global = true;
        let mut follower = Unit::new("web-log.service", body());
        follower.machine_of = Some(Cow::Borrowed("web.service"));
        follower.conflicts = Cow::Owned(vec![Cow::Borrowed("web.*")]);
        let mut bad_name = Unit::new("web.srvice", body());
        bad_name.global = true;
        bad_name.replaces = Cow::Owned(vec![Cow::Borrowed("x.service")]);
        cluster.units = Cow::Owned(vec![anchor, follower, bad_name]);
        assert_eq!(rules(&cluster), [Rule::FleetExclusiveOptions, Rule::MachineOfConflicts, Rule::UnitName]);
    }

    #[test]
    fn a_unit_named_as_a_templates_instance_collides_on_both_oses() {
        for os in [Os::CoreOs, Os::Flatcar] {
            let mut cluster = central(3, &["a", "b", "c"]);
            cluster.os = os;
            let mut template = Unit::new("web@.service", body());
            template.instances = Some(2);
            let explicit = Unit::new("web@1.service", body());
            let other = Unit::new("web@3.service", body());
            cluster.units = Cow::Owned(vec![template.clone(), explicit.clone(), other.clone()]);
            let found: Vec<Violation> =
                cluster.violations().into_iter().filter(|v| v.rule == Rule::UnitUnique).collect();
            assert_eq!(found.len(), 1, "{os:?}: {found:?}");
            assert!(found[0].message.contains("names an instance of template `web@.service`"), "{}", found[0].message);
            // Declared the other way round, the template is the second claimant of the name.
            cluster.units = Cow::Owned(vec![explicit, template, other]);
            let found: Vec<Violation> =
                cluster.violations().into_iter().filter(|v| v.rule == Rule::UnitUnique).collect();
            assert_eq!(found.len(), 1);
            assert!(
                found[0]
                    .message
                    .contains("template `web@.service` would run `web@1.service`, which is already declared"),
                "{}",
                found[0].message
            );
        }
    }

    #[test]
    fn etcd_0_4_workers_need_member_addresses() {
        let mut cluster = central(3, &["a", "b", "c"]);
        cluster.etcd_release = EtcdRelease::V0_4;
        assert_eq!(rules(&cluster), [], "no workers, nothing to list");
        cluster.pools = Cow::Owned(vec![Group::new("worker", "worker", Size::Fixed(2))]);
        assert_eq!(rules(&cluster), [Rule::MemberAddresses]);
        cluster.allows = Cow::Owned(vec![Allow { rule: Rule::MemberAddresses, reason: Cow::Borrowed("try") }]);
        assert_eq!(rules(&cluster), [Rule::MemberAddresses], "a cluster that never starts is no risk to accept");
        cluster.allows = Cow::Owned(Vec::new());
        cluster.etcd_release = EtcdRelease::V2;
        assert_eq!(rules(&cluster), [], "etcd2 workers find the members through discovery and a proxy");
    }

    #[test]
    fn rules_that_keep_values_writable_cannot_be_allowed() {
        let mut cluster = central(3, &["a", "b", "c"]);
        let mut unit = Unit::new("web.service", body());
        unit.conflicts = Cow::Owned(vec![Cow::Borrowed("web*\nExecStartPre=/bin/evil")]);
        cluster.units = Cow::Owned(vec![unit]);
        cluster.ssh_keys = Cow::Owned(vec![Cow::Borrowed("ssh-ed25519 AAAA a\nssh-ed25519 BBBB b")]);
        cluster.allows = Cow::Owned(vec![Allow { rule: Rule::ValueFormat, reason: Cow::Borrowed("no") }]);
        assert_eq!(rules(&cluster), [Rule::ValueFormat, Rule::ValueFormat], "allow does not silence value_format");
        let err = cluster.check().expect_err("rejected");
        assert_eq!(err.paths, ["ssh_keys[0]", "units[\"web.service\"].conflicts[0]"]);
        let fixed: Vec<&str> = Rule::ALL.iter().filter(|r| !r.allowable()).map(|r| r.name()).collect();
        assert_eq!(
            fixed,
            [
                "cluster_size",
                "hostname_valid",
                "pool_name",
                "metadata_format",
                "unit_instances",
                "unit_name",
                "unit_unique",
                "machine_macs",
                "matchbox_boot",
                "member_addresses",
                "tls_directory",
                "tls_paths",
                "host_path",
                "host_unit",
                "host_collision",
                "host_scope",
                "host_mask",
                "kubernetes_settings",
                "node_label",
                "image_name",
                "workload_placement",
                "node_capacity",
                "reserved_unit_name",
                "value_format"
            ]
        );
    }
}
