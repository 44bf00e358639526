//! Reading a cluster from a file: the DSL (`.cluster`), or the model's YAML or JSON form
//! (`.yaml`, `.yml`, `.json`). Every form goes through the same rules. Shared by build scripts
//! and the `clusterdef` command.

use std::path::{Path, PathBuf};

use clusterdef::{Checked, Cluster, Subject};
use clusterdef_syntax::files::read_unit_file_near;
use clusterdef_syntax::source::{SourceError, compile_source, render_errors};
use serde::Serialize;

/// The largest declaration read: 1 MiB, some forty times the text of a 10,000-machine cluster.
pub const MAX_INPUT: u64 = 1 << 20;

/// One problem with the input, for `--format json`.
#[derive(Clone, Debug, Serialize)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// 1-based line, when the form carries positions.
    pub line: Option<usize>,
    /// 1-based column, when the form carries positions.
    pub column: Option<usize>,
    /// The rule broken, or `None` for a syntax or format error.
    pub rule: Option<String>,
    /// Where in the cluster, as a path (YAML and JSON input).
    pub at: Option<String>,
    /// What is wrong, why, and how to fix it.
    pub message: String,
}

/// Why a file could not be read as a valid cluster.
pub enum Failure {
    /// The file could not be read at all.
    Io(String),
    /// The file was read and is wrong; `rendered` prints like rustc.
    Invalid {
        /// Each problem.
        problems: Vec<Problem>,
        /// The problems as text.
        rendered: String,
    },
}

/// The directory unit `file "…"` paths are relative to when no crate root is given: the crate
/// root holding the file (the nearest directory above it with a Cargo.toml), as for the macro
/// and build.rs, else the file's own directory. The file's directory is made absolute first, so
/// `cluster/prod.cluster` from the crate root and `prod.cluster` from inside `cluster/` find the
/// same root.
pub fn base_dir(path: &Path) -> PathBuf {
    let dir = own_dir(path);
    dir.ancestors().find(|d| d.join("Cargo.toml").is_file()).map(Path::to_path_buf).unwrap_or(dir)
}

/// The directory a declaration lies in, absolute and with its symlinks resolved (as written,
/// made absolute, when it cannot be resolved).
pub fn own_dir(path: &Path) -> PathBuf {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    dir.canonicalize().or_else(|_| std::path::absolute(dir)).unwrap_or_else(|_| dir.to_path_buf())
}

/// Reads and checks the cluster in `path`, shown in messages as `shown`; unit files are read
/// relative to `base`. Diagnostics are rendered in rustc's colours when `styled`. The cluster
/// comes with what the rules' one run found, for the render and plan to use.
pub fn load(path: &Path, shown: &str, base: &Path, styled: bool) -> Result<Checked, Failure> {
    load_located(path, shown, base, styled).map(|l| l.checked)
}

/// A checked cluster with what it takes to point into the file it was read from: checks made
/// outside the rules (a change from another declaration) report on its tokens, or at its path
/// in the YAML or JSON form.
pub struct Located {
    /// The cluster, checked.
    pub checked: Checked,
    shown: String,
    /// The `.cluster` text and where each part of it was written; `None` for YAML and JSON.
    source: Option<(String, clusterdef_syntax::SpanMap)>,
    styled: bool,
}

impl Located {
    /// `findings` (each the part at fault, its rule's name and its full message) as a failure
    /// of this file: `file:line:col` with the source for a `.cluster` file, the part's path
    /// for YAML and JSON. O(findings + text).
    pub fn report(&self, findings: &[(Subject, &str, String)]) -> Failure {
        match &self.source {
            Some((text, spans)) => {
                let errors: Vec<SourceError> = findings
                    .iter()
                    .map(|(subject, _, message)| SourceError::at(spans, *subject, message.clone()))
                    .collect();
                Failure::Invalid {
                    rendered: render_errors(&self.shown, text, &errors, self.styled),
                    problems: errors
                        .iter()
                        .zip(findings)
                        .map(|(e, (_, rule, _))| Problem {
                            file: self.shown.clone(),
                            line: Some(e.line),
                            column: Some(e.column),
                            rule: Some(rule.to_string()),
                            at: None,
                            message: e.message.clone(),
                        })
                        .collect(),
                }
            }
            None => {
                let cluster = self.checked.cluster();
                let mut rendered = String::new();
                let mut problems = Vec::new();
                for (subject, rule, message) in findings {
                    let (text, problem) = at_path(&self.shown, rule, subject.describe(cluster), message.clone());
                    rendered.push_str(&text);
                    problems.push(problem);
                }
                Failure::Invalid { problems, rendered }
            }
        }
    }
}

/// [`load`], keeping what it takes to report on the file's tokens ([`Located::report`]).
pub fn load_located(path: &Path, shown: &str, base: &Path, styled: bool) -> Result<Located, Failure> {
    let shown = shown.to_string();
    // Opened once, checked on the handle and read through the limit: a FIFO, a device such as
    // `/dev/zero` (whose reported size is 0) or a file larger than the limit is refused.
    let text = clusterdef_fs::read_text(path, MAX_INPUT).map_err(|e| match e {
        clusterdef_fs::ReadError::TooLarge { limit } => Failure::Io(format!(
            "{shown}: more than {limit} bytes; a cluster declaration is at most {limit} bytes (unit bodies can live in their own files)"
        )),
        e => Failure::Io(format!("{shown}: {e}")),
    })?;
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default().to_ascii_lowercase();
    let unlocated = |checked| Located { checked, shown: shown.clone(), source: None, styled };
    match extension.as_str() {
        "json" => {
            checked(&shown, serde_json::from_str(&text).map_err(|e| (e.to_string(), Some((e.line(), e.column())))))
                .map(unlocated)
        }
        "yaml" | "yml" => checked(
            &shown,
            serde_saphyr::from_str(&text).map_err(|e| {
                let at = e.location().map(|l| (l.line() as usize, l.column() as usize));
                (e.to_string(), at)
            }),
        )
        .map(unlocated),
        _ => {
            // Unit files come from the crate (or the file's own directory), never from elsewhere.
            let own = own_dir(path);
            let load = |file: &str| read_unit_file_near(file, &[base, &own]);
            match compile_source(&text, &load) {
                Ok(compiled) => Ok(Located {
                    checked: compiled.checked,
                    shown: shown.clone(),
                    source: Some((text, compiled.spans)),
                    styled,
                }),
                Err(errors) => Err(invalid_source(&shown, &text, &errors, styled)),
            }
        }
    }
}

/// One error at a path of the cluster (the YAML and JSON forms carry no positions): its text
/// and its problem.
fn at_path(shown: &str, rule: &str, path: String, full: String) -> (String, Problem) {
    let mut lines = full.lines();
    let mut rendered = format!("error: {}\n --> {shown}: at {path}\n", lines.next().unwrap_or_default());
    for rest in lines {
        rendered.push_str(&format!("  {}\n", rest.trim_start()));
    }
    rendered.push('\n');
    let problem = Problem {
        file: shown.to_string(),
        line: None,
        column: None,
        rule: Some(rule.to_string()),
        at: Some(path),
        message: full,
    };
    (rendered, problem)
}

/// The failure of `.cluster` text whose compilation found `errors`.
fn invalid_source(shown: &str, text: &str, errors: &[SourceError], styled: bool) -> Failure {
    Failure::Invalid {
        rendered: render_errors(shown, text, errors, styled),
        problems: errors
            .iter()
            .map(|e| Problem {
                file: shown.to_string(),
                line: Some(e.line),
                column: Some(e.column),
                rule: e.rule.map(|r| r.name().to_string()),
                at: None,
                message: e.message.clone(),
            })
            .collect(),
    }
}

/// Compiles and checks `.cluster` text shown in messages as `shown`, as `clusterdef check` does
/// a file: unit `file "…"` paths are relative to `base`, or to `own_dir` for a file not under
/// `base`, and read from inside those two only. Errors point into the
/// text (`shown:line:col`), rendered in rustc's colours when `styled`.
pub fn check_source(text: &str, shown: &str, base: &Path, own_dir: &Path, styled: bool) -> Result<Checked, Failure> {
    let load = |file: &str| read_unit_file_near(file, &[base, own_dir]);
    compile_source(text, &load).map(|c| c.checked).map_err(|errors| invalid_source(shown, text, &errors, styled))
}

/// A cluster read from its serde form, checked by the rules.
fn checked(shown: &str, parsed: Result<Cluster, (String, Option<(usize, usize)>)>) -> Result<Checked, Failure> {
    let cluster = parsed.map_err(|(message, at)| {
        let position = at.map_or(String::new(), |(l, c)| format!(":{l}:{c}"));
        Failure::Invalid {
            rendered: format!("error: {message}\n --> {shown}{position}\n"),
            problems: vec![Problem {
                file: shown.to_string(),
                line: at.map(|a| a.0),
                column: at.map(|a| a.1),
                rule: None,
                at: None,
                message,
            }],
        }
    })?;
    match Checked::new(cluster) {
        Ok(checked) => Ok(checked),
        Err(violations) => {
            let mut rendered = String::new();
            let mut problems = Vec::new();
            for (v, path) in violations.list.iter().zip(&violations.paths) {
                let (text, problem) = at_path(shown, v.rule.name(), path.clone(), v.full_message());
                rendered.push_str(&text);
                problems.push(problem);
            }
            Err(Failure::Invalid { problems, rendered })
        }
    }
}
