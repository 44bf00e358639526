//! A cluster the rules accepted, kept with what their one run found.

use super::{Review, Violations};
use crate::cluster::Cluster;
use crate::rule::Rule;

/// A cluster that passes every rule it does not allow, with the review of that one run of the
/// rules: the violations it allows and where each unit runs (Flatcar). Only [`Checked::new`]
/// makes one and the cluster inside cannot change, so the review is always this cluster's: a
/// render, a plan or `check`'s warnings read it instead of running the rules again.
#[derive(Clone, Debug)]
pub struct Checked {
    cluster: Cluster,
    review: Review,
}

impl Checked {
    /// Runs the rules over `cluster` once: the checked cluster, or, when it breaks a rule it
    /// does not allow, every such violation.
    pub fn new(cluster: Cluster) -> Result<Checked, Violations> {
        let review = cluster.check_and_place()?;
        Ok(Checked { cluster, review })
    }

    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        &self.cluster
    }

    /// What the rules found: the violations the cluster allows, and the placement.
    pub fn review(&self) -> &Review {
        &self.review
    }

    /// The cluster, without its review.
    pub fn into_cluster(self) -> Cluster {
        self.cluster
    }

    /// The rules the cluster allows that silence nothing, as [`Cluster::stale_allows`] says,
    /// from the review (every violation of a checked cluster is an allowed one). O(allows +
    /// violations).
    pub fn stale_allows(&self) -> Vec<Rule> {
        let broken: std::collections::HashSet<Rule> = self.review.violations.iter().map(|v| v.rule).collect();
        self.cluster.allows.iter().map(|a| a.rule).filter(|r| !broken.contains(r)).collect()
    }
}
