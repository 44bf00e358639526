//! The architecture rules: one implementation, run by every front end on the typed model.
//!
//! Each rule pushes every violation it finds (never only the first), each on the most precise
//! [`Subject`] it can name, so a front end can underline the exact tokens at fault.

mod etcd;
mod fleet;
mod network;
mod pools;

use std::collections::HashSet;
use std::fmt;

use crate::cluster::Cluster;
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
        format!(
            "{}\n  = help: {}\n  = note: rule `{}`; to accept this risk on purpose, add `allow({}, reason = \"...\")`",
            self.message,
            self.help,
            self.rule.name(),
            self.rule.name()
        )
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
}

impl Report<'_> {
    /// Records a violation of `rule` at `subject`.
    pub fn push(
        &mut self,
        rule: Rule,
        subject: Subject,
        message: impl Into<String>,
        help: impl Into<String>,
    ) {
        self.out.push(Violation {
            rule,
            subject,
            message: message.into(),
            help: help.into(),
        });
    }
}

impl Cluster {
    /// Every violation of every rule, including those of rules the cluster allows.
    pub fn all_violations(&self) -> Vec<Violation> {
        let mut report = Report {
            cluster: self,
            out: Vec::new(),
        };
        etcd::check(&mut report);
        network::check(&mut report);
        pools::check(&mut report);
        fleet::check(&mut report);
        // One error per place and rule: a pattern that breaks for every machine is one mistake.
        let mut seen = HashSet::new();
        let mut out = report.out;
        out.retain(|v| seen.insert((v.rule, v.subject)));
        out.sort_by_key(|v| v.rule);
        out
    }

    /// The violations of the rules the cluster does not allow.
    pub fn violations(&self) -> Vec<Violation> {
        let mut out = self.all_violations();
        out.retain(|v| !self.allows(v.rule));
        out
    }

    /// Checks the cluster against every architecture rule it does not allow.
    pub fn check(&self) -> Result<(), Violations> {
        let list = self.violations();
        if list.is_empty() {
            Ok(())
        } else {
            let paths = list.iter().map(|v| v.subject.describe(self)).collect();
            Err(Violations { list, paths })
        }
    }
}

/// `1 member`, `2 members`.
pub(crate) fn plural(n: impl Into<u64>, one: &str, many: &str) -> String {
    let n = n.into();
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Joins names as `a, b and c`.
pub(crate) fn join<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => {
            let head: Vec<&str> = rest.iter().map(AsRef::as_ref).collect();
            format!("{} and {}", head.join(", "), last.as_ref())
        }
    }
}
