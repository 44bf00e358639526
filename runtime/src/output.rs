//! Writing rendered artifacts to a directory: the one place clusterdef touches the file system.
//!
//! - Each file is written to a temporary file beside it, then renamed over it, so a reader sees
//!   the old file or the new one, never half of one.
//! - A file whose bytes would not change is left alone (its modification time too).
//! - A manifest, [`MANIFEST`], lists what clusterdef wrote. A later render removes only files
//!   that manifest lists and the new render no longer has, and refuses to overwrite a file it
//!   did not write.

use std::collections::BTreeSet;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::render::Artifacts;

/// The manifest's file name in the output directory.
pub const MANIFEST: &str = "clusterdef-manifest.txt";

const MANIFEST_HEADER: &str =
    "# Files written by clusterdef. A new render replaces them and removes the ones it no longer makes.\n";

/// What a write did, each list in path order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteReport {
    /// Files created or changed.
    pub written: Vec<String>,
    /// Files that already held these bytes.
    pub unchanged: Vec<String>,
    /// Files of the previous render that this one no longer makes.
    pub removed: Vec<String>,
}

/// Why writing failed.
#[derive(Debug)]
pub enum WriteError {
    /// A file system operation failed.
    Io {
        /// The path it was working on.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
    /// A file exists where an artifact goes, and the manifest does not list it.
    NotOurs(PathBuf),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            WriteError::NotOurs(path) => write!(
                f,
                "{} exists and was not written by clusterdef; move it away or render into another directory",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io { source, .. } => Some(source),
            WriteError::NotOurs(_) => None,
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), source }
}

/// The paths the manifest in `dir` lists, if there is one.
pub fn read_manifest(dir: &Path) -> Result<BTreeSet<String>, WriteError> {
    let path = dir.join(MANIFEST);
    match fs::read_to_string(&path) {
        Ok(text) => Ok(text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            // A manifest edited by hand cannot point outside the directory.
            .filter(|l| l.split('/').all(|c| !c.is_empty() && c != "." && c != ".."))
            .map(str::to_string)
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeSet::new()),
        Err(e) => Err(io_at(&path)(e)),
    }
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.clusterdef-tmp"));
    fs::write(&tmp, bytes).map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        io_at(path)(e)
    })
}

/// Writes `artifacts` into `dir` (created if missing) and updates the manifest.
pub fn write(artifacts: &Artifacts, dir: &Path) -> Result<WriteReport, WriteError> {
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let previous = read_manifest(dir)?;
    let mut report = WriteReport::default();
    // Check every target first, so a refusal leaves the directory as it was.
    for rel in artifacts.keys() {
        let path = dir.join(rel);
        if path.exists() && !previous.contains(rel) {
            let same = fs::read(&path).is_ok_and(|old| old == artifacts[rel]);
            if !same {
                return Err(WriteError::NotOurs(path));
            }
        }
    }
    for (rel, bytes) in artifacts {
        let path = dir.join(rel);
        if fs::read(&path).is_ok_and(|old| old == *bytes) {
            report.unchanged.push(rel.clone());
            continue;
        }
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        write_atomically(&path, bytes)?;
        report.written.push(rel.clone());
    }
    for rel in previous.iter().filter(|p| !artifacts.contains_key(*p)) {
        let path = dir.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => report.removed.push(rel.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&path)(e)),
        }
        remove_empty_parents(dir, &path);
    }
    let mut manifest = String::from(MANIFEST_HEADER);
    for rel in artifacts.keys() {
        manifest.push_str(rel);
        manifest.push('\n');
    }
    let manifest_path = dir.join(MANIFEST);
    if fs::read(&manifest_path).ok().as_deref() != Some(manifest.as_bytes()) {
        write_atomically(&manifest_path, manifest.as_bytes())?;
    }
    Ok(report)
}

/// Removes the directories between `path` and `dir` that the removal left empty.
fn remove_empty_parents(dir: &Path, path: &Path) {
    let mut current = path.parent();
    while let Some(p) = current {
        if p == dir || !p.starts_with(dir) || fs::remove_dir(p).is_err() {
            break;
        }
        current = p.parent();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifacts(files: &[(&str, &str)]) -> Artifacts {
        files.iter().map(|(p, t)| (p.to_string(), t.as_bytes().to_vec())).collect()
    }

    fn tempdir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("clusterdef-output-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn rerender_replaces_changed_keeps_unchanged_and_removes_only_its_own_stale_files() {
        let dir = tempdir("rerender");
        let first = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "two"), ("b/z", "three")]);
        let report = write(&first, &dir).expect("first write");
        assert_eq!(report.written, ["a/x.yml", "a/y.yml", "b/z"]);
        fs::write(dir.join("a/mine.txt"), "the user's").expect("user file");

        let second = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "TWO")]);
        let report = write(&second, &dir).expect("second write");
        assert_eq!(report.unchanged, ["a/x.yml"]);
        assert_eq!(report.written, ["a/y.yml"]);
        assert_eq!(report.removed, ["b/z"]);
        assert!(!dir.join("b").exists(), "an emptied directory goes too");
        assert_eq!(fs::read_to_string(dir.join("a/mine.txt")).expect("kept"), "the user's");
        assert_eq!(read_manifest(&dir).expect("manifest").into_iter().collect::<Vec<_>>(), ["a/x.yml", "a/y.yml"]);
        let leftovers: Vec<_> = fs::read_dir(dir.join("a"))
            .expect("dir")
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().contains("clusterdef-tmp"))
            .collect();
        assert!(leftovers.is_empty());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_it_did_not_write_is_never_overwritten() {
        let dir = tempdir("foreign");
        fs::create_dir_all(dir.join("units")).expect("dir");
        fs::write(dir.join("units/web.service"), "hand-written").expect("user file");
        let err = write(&artifacts(&[("units/web.service", "generated"), ("other", "x")]), &dir).expect_err("refused");
        assert!(matches!(err, WriteError::NotOurs(_)), "{err}");
        assert_eq!(fs::read_to_string(dir.join("units/web.service")).expect("kept"), "hand-written");
        assert!(!dir.join("other").exists(), "nothing is written when a target is refused");
        let _ = fs::remove_dir_all(&dir);
    }
}
