//! `clusterdef render`: the declaration read, rendered and written, with the output directory
//! prepared for the write on a second thread meanwhile.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use clusterdef::{Cluster, RenderOptions, output};
use clusterdef_build::record;

use crate::{Format, Outcome, json, load, paint, render_keeping};

/// Runs `clusterdef render FILE --out OUT`. An output directory that exists already is
/// prepared for the write from the start (locked, its manifest read, every managed file looked
/// at: for ten thousand machines, tens of milliseconds of system calls) on a second thread,
/// while the declaration is read and checked on this one; the render then leaves out the
/// configs the directory holds made from the same inputs. A refused declaration stops the
/// preparation waiting for another write's lock. A directory
/// that does not exist yet is made only once the render succeeded, so a failed render leaves
/// nothing behind.
///
/// A directory that records a running cluster's declaration (`record`) is not written with a
/// declaration whose change from it needs steps, unless `step` says which step of the change
/// from which declaration this render is (`--step N --from OLD`).
pub(crate) fn command(
    file: &Path,
    out: &Path,
    options: RenderOptions,
    step: Option<(Cluster, usize)>,
    format: Format,
) -> Outcome {
    let cancel = AtomicBool::new(false);
    let written = std::thread::scope(|scope| {
        let exists = out.symlink_metadata().is_ok_and(|m| m.is_dir());
        let early = exists.then(|| scope.spawn(|| output::Prepared::open_unless(out, output::LOCK_WAIT, &cancel)));
        let loaded = load(file, format);
        if loaded.is_err() {
            cancel.store(true, Ordering::Relaxed);
        }
        // The preparing thread only panics if a bug does; the panic goes on here.
        let join = |p: std::thread::ScopedJoinHandle<'_, _>| p.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let checked = loaded?;
        let allowed = match &step {
            Some((from, _)) => record::may_render_step(out, from, checked.cluster()),
            None => record::may_render(out, checked.cluster()),
        };
        if let Err(refusal) = allowed {
            cancel.store(true, Ordering::Relaxed);
            eprint!("{}", paint(&format!("error: {refusal}\n")));
            return Err(Outcome::Invalid);
        }
        let source = output::fingerprint(checked.cluster(), &options);
        // A render of the same source into a directory nothing touched since has nothing to
        // do: known from the manifest's source and stamps, without rendering. Another source
        // is told from the manifest's header alone, and the render starts at once.
        let (early, prepared) = match early {
            Some(handle) if output::recorded_source(out) == Some(source) => (None, Some(join(handle))),
            other => (other, None),
        };
        if let Some(Ok(prepared)) = &prepared
            && let Some(report) = prepared.up_to_date(source)
        {
            return Ok(Ok(report));
        }
        // The configs the directory holds unchanged, made from the same inputs, are not made
        // again: the render waits for the preparation to know them.
        let prepared = prepared.or_else(|| early.map(join));
        let keep: &dyn clusterdef::render::Keep = match &prepared {
            Some(Ok(prepared)) => prepared,
            _ => &clusterdef::render::KeepNothing,
        };
        let rendered = render_keeping(&checked, &options, keep).map(|mut artifacts| {
            record::record(&mut artifacts, checked.cluster(), step.as_ref().map(|(from, n)| (from, *n)));
            artifacts
        });
        let written = rendered.and_then(|artifacts| write(artifacts, prepared, out, source));
        // As with the artifacts: the process ends next.
        std::mem::forget(checked);
        Ok(written)
    });
    match written {
        Err(outcome) => outcome,
        Ok(Ok(report)) => {
            match format {
                Format::Text => {
                    println!(
                        "rendered {} files into {} ({} written, {} unchanged, {} removed)",
                        report.written.len() + report.unchanged.len(),
                        out.display(),
                        report.written.len(),
                        report.unchanged.len(),
                        report.removed.len()
                    );
                }
                Format::Json => println!(
                    "{}",
                    json(&serde_json::json!({
                        "written": report.written, "unchanged": report.unchanged, "removed": report.removed
                    }))
                ),
            }
            Outcome::Ok
        }
        Ok(Err(e)) => {
            eprint!("{}", paint(&format!("error: {e}\n")));
            Outcome::Trouble
        }
    }
}

/// Writes `artifacts` into `out`, through the directory prepared early when there is one.
fn write(
    artifacts: clusterdef::Artifacts,
    prepared: Option<Result<output::Prepared, output::WriteError>>,
    out: &Path,
    source: u64,
) -> Result<output::WriteReport, String> {
    let prepared = prepared.unwrap_or_else(|| output::Prepared::open(out, output::LOCK_WAIT));
    let report = prepared.and_then(|p| p.write(&artifacts, source)).map_err(|e| e.to_string());
    // The process ends next: returning tens of thousands of buffers to the allocator one by one
    // would only delay the exit.
    std::mem::forget(artifacts);
    report
}
