//! `clusterdef import`: a running cluster's files into a checked declaration, with what could
//! not be declared as findings.

use std::path::Path;

use clusterdef::Cluster;
use clusterdef_build::input::{self, Failure, Problem};
use serde::Serialize;

use crate::{Format, Outcome, colour, json, paint};

/// What `import` accepts on purpose.
pub(crate) struct Allowed {
    pub(crate) lossy: bool,
    pub(crate) risks: bool,
}

#[derive(Serialize)]
struct ImportReport<'a> {
    ok: bool,
    declaration: &'a str,
    findings: &'a [clusterdef::import::Finding],
    errors: &'a [Problem],
    /// Each file read, and the rendered config for the same machine.
    counterparts: &'a [clusterdef::import::Counterpart],
}

pub(crate) fn import(
    dir: &Path,
    out: Option<&Path>,
    name: Option<&str>,
    member_count: Option<u32>,
    production: bool,
    allowed: Allowed,
    format: Format,
) -> Outcome {
    let text_output = matches!(format, Format::Text);
    // What was not read (links out of the directory, special files, files too large or not
    // text) comes back as findings on their paths, reported with the importer's own.
    // With `--format json`, a directory that cannot be read or holds no cluster still prints one
    // object: an empty declaration, what was not read, and the error.
    let failed = |findings: &[clusterdef::import::Finding], message: String, outcome: Outcome| {
        if text_output {
            for finding in findings {
                eprintln!("{finding}");
            }
            eprint!("{}", paint(&format!("error: {message}\n")));
        } else {
            let problem =
                Problem { file: dir.display().to_string(), line: None, column: None, rule: None, at: None, message };
            let report = ImportReport {
                ok: false,
                declaration: "",
                findings,
                errors: std::slice::from_ref(&problem),
                counterparts: &[],
            };
            println!("{}", serde_json::to_string_pretty(&report).unwrap_or_default());
        }
        outcome
    };
    let (files, unread) = match clusterdef::import::read_dir(dir) {
        Ok(read) => read,
        Err(e) => return failed(&[], e, Outcome::Trouble),
    };
    // Unnamed by its files, the cluster takes the directory's name.
    let dir_name = std::fs::canonicalize(dir).ok().and_then(|d| Some(d.file_name()?.to_string_lossy().into_owned()));
    let options = clusterdef::import::Options { name: name.or(dir_name.as_deref()), member_count };
    let mut imported = match clusterdef::import::import_with(&files, &options) {
        Ok(imported) => imported,
        Err(e) => {
            // What the importer found on the way is reported as findings, as in a whole import
            // (not only inside the message).
            let mut found = unread;
            found.extend(e.findings);
            return failed(&found, format!("{}: {}", dir.display(), e.message), Outcome::Invalid);
        }
    };
    imported.findings.splice(0..0, unread);
    if text_output {
        for finding in &imported.findings {
            eprintln!("{finding}");
        }
    }
    imported.cluster.production |= production;
    if allowed.risks {
        clusterdef::import::accept_risks(&mut imported.cluster);
    }
    let text = clusterdef_syntax::print::print(&imported.cluster);
    let shown = match out {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &text) {
                eprint!("{}", paint(&format!("error: {}: {e}\n", path.display())));
                return Outcome::Trouble;
            }
            path.display().to_string()
        }
        None => {
            if text_output {
                print!("{text}");
            }
            "<imported declaration>".to_string()
        }
    };
    let lossy = imported.findings.iter().filter(|f| f.severity == clusterdef::import::Severity::Lossy).count();
    let here = Path::new(".");
    let mut checked = input::check_source(&text, &shown, here, here, colour() && text_output);
    // The printed declaration must say what was read: one that compiles to another cluster (a
    // setting the language cannot place where it was read) is refused, never printed as if whole.
    if let Ok(read_back) = &checked
        && *read_back.cluster() != imported.cluster
    {
        let message = format!(
            "the printed declaration compiles to another cluster than the one read from the files ({}): a defect of the importer, which declares nothing rather than something else",
            first_difference(&imported.cluster, read_back.cluster())
        );
        checked = Err(Failure::Invalid {
            rendered: format!("error: {message}\n"),
            problems: vec![Problem { file: shown.clone(), line: None, column: None, rule: None, at: None, message }],
        });
    }
    let problems: &[Problem] = match &checked {
        Err(Failure::Invalid { problems, .. }) => problems,
        _ => &[],
    };
    let ok = checked.is_ok() && (lossy == 0 || allowed.lossy);
    match format {
        Format::Json => println!(
            "{}",
            json(&ImportReport {
                ok,
                declaration: &text,
                findings: &imported.findings,
                errors: problems,
                counterparts: &imported.counterparts
            })
        ),
        Format::Text => {
            if let Err(Failure::Invalid { rendered, .. }) = &checked {
                if colour() && rendered.contains('\x1b') {
                    eprint!("{rendered}");
                } else {
                    eprint!("{}", paint(rendered));
                }
            }
            if lossy > 0 {
                let verdict =
                    if allowed.lossy { "allowed by --allow-lossy" } else { "pass --allow-lossy to accept that" };
                eprintln!("{lossy} setting(s) of the running cluster cannot be declared and were left out ({verdict})");
            }
        }
    }
    if ok { Outcome::Ok } else { Outcome::Invalid }
}

/// Where two clusters first differ, as a path into their export form.
fn first_difference(a: &Cluster, b: &Cluster) -> String {
    fn walk(a: &serde_json::Value, b: &serde_json::Value, at: String) -> Option<String> {
        use serde_json::Value;
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => x.keys().chain(y.keys()).find_map(|k| {
                walk(x.get(k).unwrap_or(&Value::Null), y.get(k).unwrap_or(&Value::Null), format!("{at}.{k}"))
            }),
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                x.iter().zip(y).enumerate().find_map(|(i, (p, q))| walk(p, q, format!("{at}[{i}]")))
            }
            _ => (a != b).then_some(at),
        }
    }
    let (a, b) = (serde_json::to_value(a).unwrap_or_default(), serde_json::to_value(b).unwrap_or_default());
    walk(&a, &b, "cluster".to_string()).unwrap_or_else(|| "cluster".to_string())
}
