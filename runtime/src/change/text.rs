//! The change plan as text, in the plan's terms.

use std::fmt;

use super::tolerance::Tolerance;
use super::{ChangePlan, Step};

/// How a renewal reaches the running cluster, for the certificates section.
const RELOAD: &str = "renew with `clusterdef pki NEW --renew DIR --out NEW_DIR` (the same CAs, new leaves and keys) and copy each machine's tree as at first: etcd reads its certificates on each new TLS handshake and the apiserver its serving certificate from disk, so neither restarts (etcd's open peer streams keep the old one until they reconnect); the controller manager and scheduler re-read their certificate files within a second; admin.conf is replaced; the CAs do not change, so nothing that trusts them restarts";

fn plural(n: u32, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// `5 voters + 1 learner, 1 down, quorum 3, tolerates 1 failure`.
fn summary(t: &Tolerance) -> String {
    let learner =
        if t.learners > 0 { format!(" + {}", plural(t.learners, "learner", "learners")) } else { String::new() };
    let down = if t.down > 0 { format!(", {} down", t.down) } else { String::new() };
    let serves = if t.serves {
        format!("tolerates {}", plural(t.tolerates, "failure", "failures"))
    } else {
        "NO QUORUM (writes stop)".to_string()
    };
    format!("{}{learner}{down}, quorum {}, {serves}", plural(t.voters, "voter", "voters"), t.quorum)
}

/// `lose cabinet a: keeps quorum; lose cabinet b: LOSES QUORUM`.
fn domains(t: &Tolerance) -> String {
    t.domains
        .iter()
        .map(|d| format!("lose {}: {}", d.domain, if d.keeps_quorum { "keeps quorum" } else { "LOSES QUORUM" }))
        .collect::<Vec<_>>()
        .join("; ")
}

fn write_step(f: &mut fmt::Formatter<'_>, step: &Step) -> fmt::Result {
    writeln!(f, "\nstep {}: {}", step.number, step.title)?;
    for m in &step.machines {
        writeln!(f, "  machine: {m}")?;
    }
    if let Some(join) = &step.join {
        writeln!(
            f,
            "  its configuration: `clusterdef render NEW --step {} --from OLD --out DIR` (ETCD_INITIAL_CLUSTER={}, ETCD_INITIAL_CLUSTER_STATE=existing)",
            step.number, join.initial_cluster
        )?;
    }
    for c in &step.commands {
        writeln!(f, "  $ {c}")?;
    }
    for u in &step.until {
        writeln!(f, "  before the next step: {u}")?;
    }
    if step.midway != step.after {
        writeln!(f, "  midway: {}", summary(&step.midway))?;
        if !step.midway.domains.is_empty() {
            writeln!(f, "          {}", domains(&step.midway))?;
        }
    }
    writeln!(f, "  during: {}", summary(&step.during))?;
    if !step.during.domains.is_empty() {
        writeln!(f, "          {}", domains(&step.during))?;
    }
    writeln!(f, "  after:  {}", summary(&step.after))?;
    if !step.after.domains.is_empty() {
        writeln!(f, "          {}", domains(&step.after))?;
    }
    for w in &step.workloads {
        writeln!(f, "  workload {}: {} of {} pods ({} nodes it may run on)", w.name, w.running, w.wanted, w.nodes)?;
    }
    if !step.workloads.is_empty() {
        writeln!(f, "  every other workload keeps every pod it wants")?;
    }
    Ok(())
}

impl fmt::Display for ChangePlan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "change of cluster {}: {}", self.cluster, plural(self.steps.len() as u32, "step", "steps"))?;
        writeln!(f, "before: {}", summary(&self.before))?;
        writeln!(f, "after:  {}", summary(&self.after))?;
        for step in &self.steps {
            write_step(f, step)?;
        }
        if !self.notes.is_empty() {
            writeln!(f)?;
            for n in &self.notes {
                writeln!(f, "note: {n}")?;
            }
        }
        if !self.certificates.is_empty() {
            writeln!(f, "\ncertificates (soonest first)")?;
            for c in &self.certificates {
                let due = if c.due { "  RENEW" } else { "" };
                writeln!(f, "  {}  {} ({} days){due}", c.not_after, c.path, c.days_left)?;
            }
            writeln!(f, "  {RELOAD}")?;
        }
        for a in &self.accepted {
            writeln!(f, "\naccepted risk `{}` ({}): {}", a.rule.name(), a.reason, a.message)?;
        }
        Ok(())
    }
}
