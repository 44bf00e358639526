//! A directory clusterdef rendered for Flatcar, recognised by the record beside its manifest
//! ([`crate::output::DECLARATION`]).
//!
//! A Flatcar machine's Ignition config does not say what the declaration says of it: its
//! failure domain and metadata place units at compile time and are written nowhere on the
//! machine, and a unit's declaration (image, ports, conflicts, instances) is compiled into the
//! bodies of the units it places. A CoreOS render says all of that in its cloud-configs (fleet
//! metadata, the fleet units), which the importer reads as the machines do; a Flatcar render's
//! record says it instead. So the declaration is read from the record, and each file of the
//! directory is then read against what that declaration renders, Ignition configs with the
//! reader Ignition's rules are written into: a hand edit since the render (a unit changed, a
//! file added, a machine's config written by hand) is a finding at its line, and the
//! declaration printed renders the directory back byte for byte when there is none.

use crate::change::{self, ChangeOptions};
use crate::output::record::Record;
use crate::read::json_lines::JsonLines;
use crate::render::{Render, RenderOptions};

use super::compare_ignition::{compare_configs, first_differing_line};
use super::evidence::Ledger;
use super::{Counterpart, Finding, ImportError, Imported, SourceFile, accept_risks, lossy, note};

/// The manifest a render writes beside its files.
const MANIFEST: &str = "clusterdef-manifest.txt";

/// The record among `files`, when it records a Flatcar cluster: the directory is then read as
/// clusterdef's own render. A record that cannot be read is an error at its line and column
/// when nothing else in the directory could say the cluster (no cloud-config), and a note
/// otherwise (a CoreOS render's cloud-configs are read as its machines read them).
pub(super) fn recognise<'f>(
    files: &'f [SourceFile],
    has_cloud_configs: bool,
    findings: &mut Vec<Finding>,
) -> Result<Option<(&'f SourceFile, Record)>, ImportError> {
    let Some(file) = files.iter().find(|f| f.path == crate::output::DECLARATION) else { return Ok(None) };
    match Record::parse(file.text.as_bytes()) {
        Ok(record) if record.cluster.os == clusterdef_model::Os::Flatcar => Ok(Some((file, record))),
        Ok(_) => {
            findings.push(note(&file.path, 0, "the file", "clusterdef's record of the CoreOS declaration it rendered; the cloud-configs are read instead, as the machines read them, and the declaration is what they say"));
            Ok(None)
        }
        Err(e) if has_cloud_configs => {
            findings.push(note(&file.path, e.line(), "the file", format!("{e}; not read")));
            Ok(None)
        }
        Err(e) => Err(ImportError {
            message: format!("{}:{}:{}: {e}", file.path, e.line(), e.column()),
            findings: std::mem::take(findings),
        }),
    }
}

/// Imports the render whose record is `record_file`: the declaration from the record, every
/// field read at its line there, and every file against what the declaration renders.
/// O(files + their bytes + one render).
pub(super) fn import_render(
    record_file: &SourceFile,
    record: Record,
    files: &[SourceFile],
    mut findings: Vec<Finding>,
) -> Result<Imported, ImportError> {
    let lines = JsonLines::new(&record_file.text);
    let cluster = record.cluster.clone();
    let mut renderable = cluster.clone();
    accept_risks(&mut renderable);
    // The discovery URL is told at render and written into no Flatcar config: any stands in.
    let mut options =
        RenderOptions { discovery_url: Some("https://discovery.etcd.io/given-at-render".into()), ..Default::default() };
    if let Some(progress) = &record.change {
        // Step N of a change: its joining member starts with the membership of that moment.
        let planned = change::plan(&progress.from, &cluster, &ChangeOptions::every_risk("import"));
        let step = planned.ok().and_then(|plan| plan.steps.into_iter().nth(progress.step.wrapping_sub(1)));
        options.etcd_join = step.as_ref().and_then(|s| s.join.clone());
        let said = match &step {
            Some(step) => format!(
                "step {} of a change (`{}`): the files are compared with that step's render, and the declaration printed is the change's new one",
                progress.step, step.title
            ),
            None => format!(
                "step {} of a change that no longer plans: the files are compared with the new declaration's render",
                progress.step
            ),
        };
        findings.push(note(&record_file.path, lines.line("/change"), "change", said));
    }
    let artifacts = Render::render_with(&renderable, &options).map_err(|e| ImportError {
        message: format!("{}: the declaration recorded does not render: {e}", record_file.path),
        findings: findings.clone(),
    })?;
    let mut counterparts = Vec::new();
    let compared = crate::parallel::map(files, |file| {
        let mut found = Vec::new();
        let path = file.path.as_str();
        if path == record_file.path {
            let again = record.to_bytes();
            if again != file.text.as_bytes() {
                let line = first_differing_line(&file.text, &String::from_utf8_lossy(&again));
                found.push(note(
                    path,
                    line,
                    "the file",
                    "written otherwise than clusterdef writes it (the declaration it records is what was read)",
                ));
            }
        } else if path == MANIFEST {
            found.push(note(path, 0, "the file", "the list of files the render wrote; not part of the cluster"));
        } else {
            match artifacts.text(path) {
                Some(rendered) if rendered == file.text => {}
                Some(rendered) if path.ends_with(".ign") => compare_configs(path, &file.text, &JsonLines::new(&file.text), rendered, &mut found, false),
                Some(rendered) => found.push(lossy(
                    path,
                    first_differing_line(&file.text, rendered),
                    "the file",
                    "differs from what the declaration renders here, from this line",
                )),
                None if super::is_ignition(&file.text) => found.push(lossy(
                    path,
                    0,
                    "the file",
                    "an Ignition config the declaration does not render: a machine or a boot the declaration does not have",
                )),
                None => found.push(note(path, 0, "the file", "not a file the declaration renders; not read")),
            }
        }
        found
    });
    for (file, found) in files.iter().zip(compared) {
        findings.extend(found);
        if file.path.ends_with(".ign") && artifacts.get(&file.path).is_some() {
            counterparts.push(Counterpart { file: file.path.clone(), rendered: file.path.clone() });
        }
    }
    let held: std::collections::HashSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    for path in artifacts.paths().filter(|p| !held.contains(p)) {
        findings.push(note(path, 0, "the file", "the declaration renders it; the directory does not hold it"));
    }
    findings.sort_by(|a, b| (&a.file, a.line, &a.what).cmp(&(&b.file, b.line, &b.what)));
    findings.dedup();
    let mut imported = Imported { cluster, findings, counterparts, evidence: Vec::new() };
    // Every field the declaration sets is read from the record, at the line of its key.
    let mut ledger = Ledger::default();
    for field in imported.fields_without_evidence() {
        ledger.read(field.clone(), &record_file.path, lines.line(&pointer_of(&field)));
    }
    imported.evidence = ledger.0;
    Ok(imported)
}

/// The record's JSON pointer for a field as [`Imported::fields_without_evidence`] names it:
/// `pools[1].spread` → `/cluster/pools/1/spread`, ``units[0] `a.service` `` → `/cluster/units/0`.
fn pointer_of(field: &str) -> String {
    let field = field.split_once(' ').map_or(field, |(f, _)| f);
    let mut pointer = String::from("/cluster");
    for part in field.split('.') {
        match part.split_once('[') {
            Some((name, index)) => {
                pointer.push('/');
                pointer.push_str(name);
                pointer.push('/');
                pointer.push_str(index.trim_end_matches(']'));
            }
            None => {
                pointer.push('/');
                pointer.push_str(part);
            }
        }
    }
    pointer
}

#[cfg(test)]
mod tests {
    use super::super::{Severity, import};
    use super::*;

    /// A Flatcar cluster's render with its record, as `clusterdef render` writes it.
    fn rendered(cluster: &clusterdef_model::Cluster) -> Vec<SourceFile> {
        let mut files: Vec<SourceFile> = cluster
            .render()
            .expect("renders")
            .iter()
            .map(|(path, bytes)| SourceFile { path: path.into(), text: String::from_utf8_lossy(bytes).into() })
            .collect();
        let record = Record::new(cluster.clone(), None);
        let text = String::from_utf8(record.to_bytes()).expect("UTF-8");
        files.push(SourceFile { path: crate::output::DECLARATION.into(), text });
        files
    }

    fn edit(files: &mut [SourceFile], path: &str, edit: impl Fn(&str) -> String) {
        let file = files.iter_mut().find(|f| f.path == path).expect("the file");
        file.text = edit(&file.text);
    }

    #[test]
    fn a_render_reads_back_as_its_declaration_and_every_hand_edit_is_named_where_it_is() {
        let cluster = clusterdef_model::synthetic::flatcar_cluster(12, 2);
        let mut files = rendered(&cluster);
        let whole = import(&files, None).expect("imports");
        assert_eq!(whole.cluster, cluster);
        assert!(whole.findings.is_empty(), "{:#?}", whole.findings);
        assert_eq!(whole.fields_without_evidence(), Vec::<String>::new());
        assert!(
            whole.evidence.iter().all(|e| e.file == crate::output::DECLARATION && e.line > 0),
            "{:#?}",
            whole.evidence
        );
        let configs: Vec<String> = files.iter().map(|f| f.path.clone()).filter(|p| p.ends_with(".ign")).collect();
        let (first, second) = (configs[0].clone(), configs[1].clone());
        // Written out again by hand, one entry a line: a unit changed, a file added, a remote
        // config merged in.
        edit(&mut files, &first, |text| {
            let config: serde_json::Value = serde_json::from_str(text).expect("JSON");
            let lines = |list: &serde_json::Value| -> Vec<String> {
                list.as_array().expect("a list").iter().map(|v| v.to_string()).collect()
            };
            let stored = lines(&config["storage"]["files"]);
            let mut units = lines(&config["systemd"]["units"]);
            units[0] = units[0].replacen("\"enabled\":true", "\"enabled\":false", 1);
            format!(
                "{{\n  \"ignition\": {{\n    \"version\": \"3.3.0\",\n    \"config\": {{\"merge\": [\n      {{\"source\": \"https://example.com/more.ign\"}}\n    ]}}\n  }},\n  \"passwd\": {},\n  \"storage\": {{\"files\": [\n{},\n{{\"path\": \"/etc/by-hand\", \"contents\": {{\"source\": \"data:,x\"}}}}\n  ]}},\n  \"systemd\": {{\"units\": [\n{}\n  ]}}\n}}\n",
                config["passwd"],
                stored.join(",\n"),
                units.join(",\n")
            )
        });
        let entries = {
            let config: serde_json::Value =
                serde_json::from_str(&files.iter().find(|f| f.path == first).expect("first").text).expect("JSON");
            let count = |list: &serde_json::Value| list.as_array().map_or(0, Vec::len);
            (count(&config["storage"]["files"]), count(&config["systemd"]["units"]))
        };
        files.retain(|f| f.path != second);
        files.push(SourceFile {
            path: "ignition/by-hand.ign".into(),
            text: "{\"ignition\":{\"version\":\"3.3.0\"}}".into(),
        });
        edit(&mut files, "plan.txt", |text| text.replacen('\n', "\nedited\n", 2));
        let edited = import(&files, None).expect("imports");
        assert_eq!(edited.cluster, cluster, "the declaration is the record's");
        let said: Vec<(&str, usize, Severity, &str)> =
            edited.findings.iter().map(|f| (f.file.as_str(), f.line, f.severity, f.what.as_str())).collect();
        // Line 5 opens the merged reference; line 10 the first file, so the one added (the last)
        // is on line 10 + files - 1; the units follow two lines after it.
        let (stored, _) = entries;
        let added = format!("file `/etc/by-hand` (/storage/files/{})", stored - 1);
        assert!(said.contains(&(first.as_str(), 5, Severity::Lossy, "/ignition/config/merge/0")), "{said:#?}");
        assert!(said.contains(&(first.as_str(), 10 + stored - 1, Severity::Lossy, added.as_str())), "{said:#?}");
        let unit = said.iter().find(|(f, _, _, w)| *f == first && w.starts_with("unit `")).expect("the unit");
        assert_eq!((unit.1, unit.2), (10 + stored + 2, Severity::Lossy), "{said:#?}");
        assert!(unit.3.ends_with("(/systemd/units/0)"), "{said:#?}");
        assert!(said.contains(&(second.as_str(), 0, Severity::Note, "the file")), "{said:#?}");
        assert!(said.contains(&("ignition/by-hand.ign", 0, Severity::Lossy, "the file")), "{said:#?}");
        assert!(said.contains(&("plan.txt", 2, Severity::Lossy, "the file")), "{said:#?}");
        assert_eq!(said.len(), 6, "nothing else: {said:#?}");
    }

    #[test]
    fn fields_map_to_their_pointers_in_the_record() {
        assert_eq!(pointer_of("name"), "/cluster/name");
        assert_eq!(pointer_of("pools[1].spread"), "/cluster/pools/1/spread");
        assert_eq!(pointer_of("units[0] `a.b.service`"), "/cluster/units/0");
        assert_eq!(first_differing_line("a\nb\nc\n", "a\nb\nd\n"), 3);
        assert_eq!(first_differing_line("a\n", "a\nb\n"), 2);
    }
}
