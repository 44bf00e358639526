//! What a render records beside its manifest: the declaration it was rendered from and, for one
//! step of a change, which step of which change. A render reads the record of the directory it
//! writes into, and refuses to write a declaration whose change from the recorded one needs
//! steps (`clusterdef change`): booted beside the running members, NEW's configurations would
//! start members that can never join. Shared by `clusterdef render` and build.rs.

use std::path::Path;

use clusterdef::change::{self, Action, ChangeOptions, ChangePlan};
use clusterdef::{Artifacts, Cluster};

pub use clusterdef::output::DECLARATION;
use clusterdef::output::record::{InProgress, Record, RecordError};

/// The largest record read: a declaration's JSON form, twice for a change in progress.
const MAX_RECORD: u64 = 64 << 20;

/// The steps a render of NEW over OLD cannot stand in for: a render writes every machine's
/// configuration at once, and these must happen in order on the running cluster.
fn needs_its_own_step(action: Action) -> bool {
    matches!(
        action,
        Action::RemoveDead
            | Action::Join
            | Action::Leave
            | Action::MoveAddress
            | Action::UpgradeControlPlane
            | Action::UpgradeNodes
    )
}

/// Why a render is refused.
#[derive(Debug)]
pub struct Refusal(pub String);

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The record in `dir`, if a render put one there. One that cannot be read or is not a record
/// is a refusal: it is clusterdef's file, and guessing what it said could start members that
/// cannot join.
fn recorded(dir: &Path) -> Result<Option<Record>, Refusal> {
    let path = dir.join(DECLARATION);
    match path.symlink_metadata() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => {}
    }
    let bytes = clusterdef_fs::read_own(&path, MAX_RECORD).map_err(|e| Refusal(format!("{}: {e}", path.display())))?;
    Record::parse(&bytes).map(Some).map_err(|e| {
        // A newer release's record is kept for that release; a broken one may be removed.
        let advice = match e {
            RecordError::Format { .. } => "",
            RecordError::Json(_) => "; remove it only if the directory holds no running cluster's configurations",
        };
        Refusal(format!("{}:{}:{}: {e}{advice}", path.display(), e.line(), e.column()))
    })
}

/// Every allowable transition rule taken: whether to take a risk is `clusterdef change`'s to
/// say; here only the steps matter.
fn every_risk() -> ChangeOptions {
    ChangeOptions::every_risk("render")
}

fn steps_text(plan: &ChangePlan) -> String {
    let steps: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| needs_its_own_step(s.action))
        .map(|s| format!("step {}: {}", s.number, s.title))
        .collect();
    steps.join("; ")
}

/// Whether `new` may be rendered into `dir` as a whole (no `--step`): yes when the directory
/// records no declaration, the same one, or one from which the change needs no step of its own
/// (workers, units, host configuration); otherwise a refusal naming the steps. O(the change's
/// plan).
pub fn may_render(dir: &Path, new: &Cluster) -> Result<(), Refusal> {
    let Some(record) = recorded(dir)? else { return Ok(()) };
    let shown = dir.display();
    if let Some(progress) = &record.change
        && record.cluster == *new
    {
        // A change in progress, rendered up to `step`: the whole NEW only once the last
        // step that needs its own render has been.
        let plan = change::plan(&progress.from, new, &every_risk()).map_err(|_| {
            Refusal(format!("{shown} records a change in progress that no longer plans; run `clusterdef change`"))
        })?;
        let last = plan.steps.iter().filter(|s| needs_its_own_step(s.action)).map(|s| s.number).max().unwrap_or(0);
        if progress.step < last {
            return Err(Refusal(format!(
                "{shown} holds step {} of a change whose steps run to {last}; render the next with `clusterdef render NEW --step {} --from OLD`",
                progress.step,
                progress.step + 1
            )));
        }
        return Ok(());
    }
    if record.cluster == *new {
        return Ok(());
    }
    match change::plan(&record.cluster, new, &every_risk()) {
        Ok(plan) if plan.steps.iter().any(|s| needs_its_own_step(s.action)) => Err(Refusal(format!(
            "{shown} holds a render of a running cluster's declaration, and the change to this one needs steps ({}): rendered whole, its new members would start a cluster of their own; plan it with `clusterdef change OLD NEW` and render each step with `clusterdef render NEW --step N --from OLD`",
            steps_text(&plan)
        ))),
        Ok(_) => Ok(()),
        Err(findings) => Err(Refusal(format!(
            "{shown} holds a render of a declaration this one cannot change into ({}); `clusterdef change OLD NEW` says why. To build a new cluster, render into another directory",
            findings.first().map_or(String::new(), |f| f.message.clone())
        ))),
    }
}

/// Whether step `step` of the change from `from` to `new` may be rendered into `dir`: yes when
/// the directory records no declaration, `from`, or this change at an earlier or the same step.
pub fn may_render_step(dir: &Path, from: &Cluster, new: &Cluster) -> Result<(), Refusal> {
    let Some(record) = recorded(dir)? else { return Ok(()) };
    let ours = record.cluster == *from || (record.cluster == *new && record.change.is_some_and(|c| c.from == *from));
    if ours {
        Ok(())
    } else {
        Err(Refusal(format!(
            "{} holds a render of another declaration than --from's: a step is rendered over the render of the cluster it changes",
            dir.display()
        )))
    }
}

/// Adds the record of a render of `cluster` (with `step` of the change from `from`, if one) to
/// `artifacts`.
pub fn record(artifacts: &mut Artifacts, cluster: &Cluster, step: Option<(&Cluster, usize)>) {
    let record = Record::new(cluster.clone(), step.map(|(from, step)| InProgress { from: from.clone(), step }));
    artifacts.insert(DECLARATION.to_string(), record.to_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A record an earlier release wrote, before a declaration could name its boot server's kind
    /// or its machines' MAC addresses and install disk, reads as a declaration with neither: a
    /// render of the same declaration over it goes ahead.
    #[test]
    fn a_record_of_an_earlier_release_reads_without_the_fields_it_predates() {
        let cluster = clusterdef::synthetic::flatcar_cluster(12, 2);
        let mut json = serde_json::to_value(Record::new(cluster.clone(), None)).expect("JSON");
        let fields = json["cluster"].as_object_mut().expect("an object");
        assert!(fields.remove("boot_server_kind").is_some(), "this release records the kind");
        let text = serde_json::to_string(&json).expect("text");
        assert!(!text.contains("\"macs\"") && !text.contains("install_disk"), "empty ones are not written");
        let dir = std::env::temp_dir().join(format!("clusterdef-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join(DECLARATION), text).expect("record");
        let read = recorded(&dir).expect("reads").expect("a record");
        assert_eq!(read.cluster, cluster);
        assert!(may_render(&dir, &cluster).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
