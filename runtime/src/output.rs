//! Writing rendered artifacts to a directory: the one place clusterdef touches the file system.
//!
//! - The new tree is staged whole in [`STAGE`] inside the directory, then swapped in with a
//!   constant number of renames: one per top-level entry (`cloud-config/`, `units/`, `pxe/`,
//!   `plan.txt`), the manifest last. A reader sees each top-level directory entirely old or
//!   entirely new, and a write that fails while staging (a full disk, a denied directory)
//!   removes the stage and leaves the previous render as it was.
//! - Within a directory that changes, files whose bytes stay the same, and files clusterdef did
//!   not write, are carried into the staged tree as hard links: their contents, inode and
//!   modification time are kept, and nothing is copied. A top-level entry with no change at all
//!   is not touched.
//! - A manifest, [`MANIFEST`], lists what clusterdef wrote. A later render drops only files that
//!   manifest lists and the new render no longer has, and refuses to overwrite a file it did not
//!   write.
//! - A write interrupted between the two renames that swap a directory (a window of two system
//!   calls) leaves the old directory in the stage; the next write puts it back before it begins.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

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
    /// Another write into the directory held its lock for longer than the wait.
    Locked(PathBuf),
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
            WriteError::Locked(path) => write!(
                f,
                "another render into this directory is running (it holds {}); wait for it, or remove the file if no render is running",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Io { source, .. } => Some(source),
            WriteError::NotOurs(_) | WriteError::Locked(_) => None,
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

/// The file operations that change a directory. [`Artifacts::write_to`] uses the real file
/// system; tests inject failures through [`write_with`].
///
/// Files are written from several threads at once, so the operations take `&self`.
pub trait Fs: Sync {
    /// Creates or truncates `path` and writes `bytes` to it.
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Renames `from` over `to`.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;
    /// Makes `to` a hard link to `from`.
    fn hard_link(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::hard_link(from, to)
    }
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

impl Fs for RealFs {
    fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        fs::write(path, bytes)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

/// Writes `bytes` to `path` (creating its directory) unless it already holds them, through a
/// temporary file renamed into place; returns whether it wrote. For a single generated file, such
/// as the module a build script includes, which cargo must not see change when it has not.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    if fs::read(path).is_ok_and(|old| old == bytes) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.clusterdef-tmp"));
    fs::write(&tmp, bytes).map_err(io_at(&tmp))?;
    fs::rename(&tmp, path).map_err(io_at(path))?;
    Ok(true)
}

/// The directory, inside the output directory, that a write stages the new tree in.
pub const STAGE: &str = ".clusterdef-stage";

/// Where, inside the stage, a directory waits between the two renames that swap it.
const OLD: &str = ".old";

/// The lock file that keeps two writes into one directory from interleaving.
pub const LOCK: &str = ".clusterdef.lock";

/// How long a write waits for another write into the same directory to finish.
pub const LOCK_WAIT: Duration = Duration::from_secs(30);

/// Holds the directory's lock until dropped.
struct Lock(PathBuf);

impl Lock {
    /// Takes the lock, waiting up to `wait` for a live holder; a lock whose process is gone
    /// (after a crash) is taken over.
    fn acquire(dir: &Path, wait: Duration) -> Result<Lock, WriteError> {
        let path = dir.join(LOCK);
        let deadline = Instant::now() + wait;
        loop {
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    use std::io::Write as _;
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = fs::read_to_string(&path).ok().and_then(|t| t.trim().parse::<u32>().ok());
                    let gone = holder.is_some_and(|pid| {
                        cfg!(target_os = "linux") && !Path::new("/proc").join(pid.to_string()).exists()
                    });
                    if gone {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if Instant::now() >= deadline {
                        return Err(WriteError::Locked(path));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(io_at(&path)(e)),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Writes `artifacts` into `dir` through `fs_ops`, waiting up to `wait` for the directory's
/// lock. [`Artifacts::write_to`] is this with the real file system; see the module's
/// documentation for the guarantees.
pub fn write_with(
    artifacts: &Artifacts,
    dir: &Path,
    fs_ops: &dyn Fs,
    wait: Duration,
) -> Result<WriteReport, WriteError> {
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let _lock = Lock::acquire(dir, wait)?;
    let stage = dir.join(STAGE);
    recover(dir, &stage)?;
    let previous = read_manifest(dir)?;
    // Check every target first, so a refusal leaves the directory as it was.
    for (rel, bytes) in artifacts {
        let path = dir.join(rel);
        if !previous.contains(rel) && path.exists() && fs::read(&path).ok().as_deref() != Some(bytes) {
            return Err(WriteError::NotOurs(path));
        }
    }
    let mut manifest = String::from(MANIFEST_HEADER);
    for rel in artifacts.paths() {
        manifest.push_str(rel);
        manifest.push('\n');
    }
    fs::create_dir_all(&stage).map_err(io_at(&stage))?;
    let mut writer = Stager { dir, stage: &stage, fs_ops, made: BTreeSet::new(), pending: Vec::new() };
    let staged = writer.stage_all(artifacts, &previous, &manifest).and_then(|staged| {
        writer.flush()?;
        Ok(staged)
    });
    let result = staged.and_then(|(report, swaps)| commit(dir, &stage, artifacts, &previous, fs_ops, report, swaps));
    let _ = fs::remove_dir_all(&stage);
    result
}

/// Puts back a directory an interrupted write left between the renames of its swap, and clears
/// the stage.
fn recover(dir: &Path, stage: &Path) -> Result<(), WriteError> {
    let old = stage.join(OLD);
    if let Ok(entries) = fs::read_dir(&old) {
        for entry in entries.flatten() {
            let target = dir.join(entry.file_name());
            if !target.exists() {
                fs::rename(entry.path(), &target).map_err(io_at(&target))?;
            }
        }
    }
    match fs::remove_dir_all(stage) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(stage)(e)),
        _ => Ok(()),
    }
}

/// One top-level entry to swap in, after staging.
struct Swap {
    name: String,
    /// Whether an entry of that name is there now.
    replaces: bool,
}

/// Builds the new tree in the stage.
struct Stager<'a> {
    dir: &'a Path,
    stage: &'a Path,
    fs_ops: &'a dyn Fs,
    /// Directories already created in the stage.
    made: BTreeSet<PathBuf>,
    /// Files to write into the stage, written together by [`Stager::flush`].
    pending: Vec<(PathBuf, &'a [u8])>,
}

impl<'a> Stager<'a> {
    fn parent_of(&mut self, path: &Path) -> Result<(), WriteError> {
        if let Some(parent) = path.parent()
            && !self.made.contains(parent)
        {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
            self.made.insert(parent.to_path_buf());
        }
        Ok(())
    }

    fn write(&mut self, rel: &str, bytes: &'a [u8]) -> Result<(), WriteError> {
        let path = self.stage.join(rel);
        self.parent_of(&path)?;
        self.pending.push((path, bytes));
        Ok(())
    }

    /// Writes the pending files, on every core: creating many small files is the kernel's work
    /// per file, which runs in parallel.
    fn flush(&mut self) -> Result<(), WriteError> {
        let pending = std::mem::take(&mut self.pending);
        let fs_ops = self.fs_ops;
        crate::parallel::map(&pending, |(path, bytes)| fs_ops.write(path, bytes).map_err(io_at(path)))
            .into_iter()
            .collect()
    }

    /// Carries a file of the current tree into the stage, as a hard link where the file system
    /// allows it, else as a copy with its modification time.
    fn carry(&mut self, rel: &Path) -> Result<(), WriteError> {
        let (from, to) = (self.dir.join(rel), self.stage.join(rel));
        self.parent_of(&to)?;
        let meta = fs::symlink_metadata(&from).map_err(io_at(&from))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&from).map_err(io_at(&from))?;
            return symlink(&target, &to).map_err(io_at(&to));
        }
        if self.fs_ops.hard_link(&from, &to).is_ok() {
            return Ok(());
        }
        fs::copy(&from, &to).map_err(io_at(&to))?;
        let file = fs::File::options().write(true).open(&to).map_err(io_at(&to))?;
        match meta.modified() {
            Ok(time) => file.set_modified(time).map_err(io_at(&to)),
            Err(_) => Ok(()),
        }
    }

    /// Stages every top-level entry that changes, and the manifest; returns what the write will
    /// do and the entries to swap in.
    fn stage_all(
        &mut self,
        artifacts: &'a Artifacts,
        previous: &BTreeSet<String>,
        manifest: &'a str,
    ) -> Result<(WriteReport, Vec<Swap>), WriteError> {
        let mut report = WriteReport::default();
        let mut swaps = Vec::new();
        let mut tops: BTreeMap<&str, Vec<(&str, &[u8])>> = BTreeMap::new();
        for (rel, bytes) in artifacts {
            let top = rel.split('/').next().unwrap_or(rel);
            tops.entry(top).or_default().push((rel, bytes));
        }
        for (top, files) in tops {
            let current = self.dir.join(top);
            let is_file = files.len() == 1 && files[0].0 == top;
            if is_file {
                let (rel, bytes) = files[0];
                if fs::read(&current).ok().as_deref() == Some(bytes) {
                    report.unchanged.push(rel.to_string());
                } else {
                    self.write(rel, bytes)?;
                    report.written.push(rel.to_string());
                    swaps.push(Swap { name: top.to_string(), replaces: current.exists() });
                }
                continue;
            }
            if !current.is_dir() {
                // A new directory: every file is written, nothing is carried.
                for (rel, bytes) in files {
                    self.write(rel, bytes)?;
                    report.written.push(rel.to_string());
                }
                swaps.push(Swap { name: top.to_string(), replaces: current.exists() });
                continue;
            }
            let existing = files_under(self.dir, Path::new(top))?;
            let mut written = Vec::new();
            let mut unchanged = Vec::new();
            for (rel, bytes) in &files {
                if existing.files.contains(Path::new(rel))
                    && fs::read(self.dir.join(rel)).ok().as_deref() == Some(*bytes)
                {
                    unchanged.push(*rel);
                } else {
                    written.push((*rel, *bytes));
                }
            }
            let new: BTreeSet<&Path> = files.iter().map(|(rel, _)| Path::new(*rel)).collect();
            let stale: Vec<&PathBuf> = existing
                .files
                .iter()
                .filter(|f| !new.contains(f.as_path()) && f.to_str().is_some_and(|p| previous.contains(p)))
                .collect();
            report.unchanged.extend(unchanged.iter().map(|r| r.to_string()));
            if written.is_empty() && stale.is_empty() {
                continue;
            }
            for (rel, bytes) in &written {
                self.write(rel, bytes)?;
                report.written.push(rel.to_string());
            }
            for rel in &unchanged {
                self.carry(Path::new(rel))?;
            }
            // The user's own files and empty directories come along; stale files stay behind.
            for file in existing.files.iter().filter(|f| !new.contains(f.as_path()) && !stale.contains(f)) {
                self.carry(file)?;
            }
            for empty in &existing.empty_dirs {
                let path = self.stage.join(empty);
                fs::create_dir_all(&path).map_err(io_at(&path))?;
            }
            report.removed.extend(stale.iter().map(|p| p.to_string_lossy().into_owned()));
            swaps.push(Swap { name: top.to_string(), replaces: true });
        }
        if fs::read(self.dir.join(MANIFEST)).ok().as_deref() != Some(manifest.as_bytes()) {
            self.write(MANIFEST, manifest.as_bytes())?;
        }
        Ok((report, swaps))
    }
}

/// The files (and symlinks) under `dir/top`, relative to `dir`, and its empty directories.
struct Tree {
    files: BTreeSet<PathBuf>,
    empty_dirs: Vec<PathBuf>,
}

fn files_under(dir: &Path, top: &Path) -> Result<Tree, WriteError> {
    let mut tree = Tree { files: BTreeSet::new(), empty_dirs: Vec::new() };
    let mut pending = vec![top.to_path_buf()];
    while let Some(rel) = pending.pop() {
        let path = dir.join(&rel);
        let mut empty = true;
        for entry in fs::read_dir(&path).map_err(io_at(&path))? {
            let entry = entry.map_err(io_at(&path))?;
            empty = false;
            let child = rel.join(entry.file_name());
            if entry.file_type().map_err(io_at(&path))?.is_dir() {
                pending.push(child);
            } else {
                tree.files.insert(child);
            }
        }
        if empty {
            tree.empty_dirs.push(rel);
        }
    }
    Ok(tree)
}

#[cfg(unix)]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    fs::copy(target, link).map(|_| ())
}

/// Swaps the staged entries in, removes stale files the swaps did not cover, then puts the
/// manifest in place.
fn commit(
    dir: &Path,
    stage: &Path,
    artifacts: &Artifacts,
    previous: &BTreeSet<String>,
    fs_ops: &dyn Fs,
    mut report: WriteReport,
    swaps: Vec<Swap>,
) -> Result<WriteReport, WriteError> {
    let old = stage.join(OLD);
    for swap in &swaps {
        let (from, to) = (stage.join(&swap.name), dir.join(&swap.name));
        if swap.replaces && to.is_dir() {
            fs::create_dir_all(&old).map_err(io_at(&old))?;
            let aside = old.join(&swap.name);
            fs_ops.rename(&to, &aside).map_err(io_at(&to))?;
            if let Err(e) = fs_ops.rename(&from, &to) {
                let _ = fs::rename(&aside, &to);
                return Err(io_at(&to)(e));
            }
        } else {
            fs_ops.rename(&from, &to).map_err(io_at(&to))?;
        }
    }
    // Files of the previous render under top-level entries this one no longer has.
    let tops: BTreeSet<&str> = artifacts.paths().map(|p| p.split('/').next().unwrap_or(p)).collect();
    for rel in previous.iter().filter(|p| !tops.contains(p.split('/').next().unwrap_or(p))) {
        let path = dir.join(rel);
        match fs::remove_file(&path) {
            Ok(()) => report.removed.push(rel.clone()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io_at(&path)(e)),
        }
        remove_empty_parents(dir, &path);
    }
    let staged_manifest = stage.join(MANIFEST);
    if staged_manifest.exists() {
        let path = dir.join(MANIFEST);
        fs_ops.rename(&staged_manifest, &path).map_err(io_at(&path))?;
    }
    report.written.sort();
    report.unchanged.sort();
    report.removed.sort();
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

#[cfg(feature = "import")]
/// The largest file [`read_sources`] reads: 1 MiB; cloud-configs and units are a few KiB.
pub const MAX_SOURCE_FILE: u64 = 1 << 20;

#[cfg(feature = "import")]
/// The most [`read_sources`] reads from one directory in all: 64 MiB, some ten thousand machines'
/// configs.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

#[cfg(feature = "import")]
/// The most entries (files, directories, links) [`read_sources`] looks at under one directory.
pub const MAX_SOURCE_ENTRIES: usize = 100_000;

#[cfg(feature = "import")]
/// Every regular file under `dir`, by path relative to it, in path order, for
/// [`crate::import::import`]; the manifest of a previous render is skipped. What is not read is
/// a finding on its path (line 0, the whole file): a symlink that leads out of `dir` (never
/// followed) or nowhere, a FIFO, device or socket (refused on the opened handle, so none can
/// stall or flood the read), a file over [`MAX_SOURCE_FILE`] or with more than one hard link
/// (lossy: it may be part of the cluster), a file that is not UTF-8 (a note). Symlinks inside
/// `dir` are followed, each directory walked once (a loop ends). More than
/// [`MAX_SOURCE_ENTRIES`] entries or [`MAX_SOURCE_BYTES`] bytes fail the whole read. O(entries
/// × log entries).
pub fn read_sources(dir: &Path) -> Result<(Vec<crate::import::SourceFile>, Vec<crate::import::Finding>), String> {
    use crate::import::{Finding, Severity};
    use clusterdef_fs::ReadError;

    let shown_dir = dir.display();
    let root = dir.canonicalize().map_err(|e| format!("{shown_dir}: {e}"))?;
    let roots = [root.clone()];
    let (mut files, mut findings) = (Vec::new(), Vec::new());
    let mut finding = |rel: &str, severity, why: String| {
        findings.push(Finding { file: rel.to_string(), line: 0, severity, what: "the file".to_string(), why });
    };
    let (mut entries_seen, mut bytes_read) = (0usize, 0u64);
    let mut walked = std::collections::BTreeSet::new();
    walked.insert(fs::metadata(&root).map(|m| clusterdef_fs::identity(&m)).map_err(|e| format!("{shown_dir}: {e}"))?);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            entries_seen += 1;
            if entries_seen > MAX_SOURCE_ENTRIES {
                return Err(format!(
                    "{shown_dir}: more than {MAX_SOURCE_ENTRIES} entries; import reads at most that many under one directory"
                ));
            }
            let path = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let own = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let meta = if own.file_type().is_symlink() {
                match path.canonicalize() {
                    Err(e) => {
                        finding(&rel, Severity::Lossy, format!("a symlink that leads nowhere ({e}); not read"));
                        continue;
                    }
                    Ok(target) if !clusterdef_fs::is_inside(&target, &roots) => {
                        finding(
                            &rel,
                            Severity::Lossy,
                            format!("a symlink to {}, outside the imported directory; not followed", target.display()),
                        );
                        continue;
                    }
                    Ok(target) => fs::metadata(&target).map_err(|e| format!("{}: {e}", path.display()))?,
                }
            } else {
                own
            };
            if meta.is_dir() {
                if walked.insert(clusterdef_fs::identity(&meta)) {
                    stack.push(path);
                }
                continue;
            }
            if rel == MANIFEST {
                continue;
            }
            match clusterdef_fs::read_inside(&path, &roots, MAX_SOURCE_FILE) {
                Ok(text) => {
                    bytes_read += text.len() as u64;
                    if bytes_read > MAX_SOURCE_BYTES {
                        return Err(format!(
                            "{shown_dir}: more than {MAX_SOURCE_BYTES} bytes of files; import reads at most that much from one directory"
                        ));
                    }
                    files.push(crate::import::SourceFile { path: rel, text });
                }
                Err(ReadError::NotText) => finding(&rel, Severity::Note, "not UTF-8 text; not read".to_string()),
                Err(e) => finding(&rel, Severity::Lossy, format!("not read: {}", e.to_string().replace('\n', ""))),
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    findings.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((files, findings))
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
        let report = first.write_to(&dir).expect("first write");
        assert_eq!(report.written, ["a/x.yml", "a/y.yml", "b/z"]);
        fs::write(dir.join("a/mine.txt"), "the user's").expect("user file");

        let second = artifacts(&[("a/x.yml", "one"), ("a/y.yml", "TWO")]);
        let report = second.write_to(&dir).expect("second write");
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
        let err = artifacts(&[("units/web.service", "generated"), ("other", "x")]).write_to(&dir).expect_err("refused");
        assert!(matches!(err, WriteError::NotOurs(_)), "{err}");
        assert_eq!(fs::read_to_string(dir.join("units/web.service")).expect("kept"), "hand-written");
        assert!(!dir.join("other").exists(), "nothing is written when a target is refused");
        let _ = fs::remove_dir_all(&dir);
    }

    /// A file system whose writes fail once `budget` bytes have been written.
    struct FailingFs {
        budget: std::sync::Mutex<usize>,
    }

    impl FailingFs {
        fn new(budget: usize) -> FailingFs {
            FailingFs { budget: std::sync::Mutex::new(budget) }
        }
    }

    impl Fs for FailingFs {
        fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            let mut budget = self.budget.lock().unwrap_or_else(|e| e.into_inner());
            if bytes.len() > *budget {
                fs::write(path, &bytes[..*budget])?;
                *budget = 0;
                return Err(io::Error::other("no space left on device (injected)"));
            }
            *budget -= bytes.len();
            fs::write(path, bytes)
        }

        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            fs::rename(from, to)
        }
    }

    /// Every file under `dir`, with its bytes.
    fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("dir").filter_map(Result::ok) {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).expect("file")));
                }
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_write_that_fails_part_way_leaves_the_previous_render_intact() {
        let dir = tempdir("failing");
        let old = artifacts(&[("a/x.yml", "one"), ("b/y.yml", "two"), ("c", "three")]);
        old.write_to(&dir).expect("first render");
        let before = snapshot(&dir);
        let new = artifacts(&[("a/x.yml", "ONE, longer"), ("b/y.yml", "TWO, longer"), ("d/new.yml", "FOUR, longer")]);
        for budget in [0, 5, 11, 15, 30] {
            let err = write_with(&new, &dir, &FailingFs::new(budget), LOCK_WAIT).expect_err("the injected failure");
            assert!(err.to_string().contains("injected"), "{err}");
            assert_eq!(snapshot(&dir), before, "after failing at byte {budget}, the previous render is untouched");
        }
        // Many files, written from several threads: a failure part way still removes them all.
        let many: Artifacts = (0..500).map(|i| (format!("m/{}/f{i}.yml", i % 7), vec![b'x'; 100])).collect();
        let err = write_with(&many, &dir, &FailingFs::new(25_000), LOCK_WAIT).expect_err("fails part way");
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(snapshot(&dir), before, "after a parallel write failed, the previous render is untouched");
        new.write_to(&dir).expect("a render that can write completes");
        assert_eq!(fs::read_to_string(dir.join("d/new.yml")).expect("new"), "FOUR, longer");
        assert!(!dir.join("c").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    fn inode(path: &Path) -> u64 {
        use std::os::unix::fs::MetadataExt as _;
        fs::metadata(path).expect("metadata").ino()
    }

    /// A changed directory is swapped in whole, yet its unchanged files and the user's files in
    /// it are the same files as before (same inode, same modification time), and a directory
    /// with no change is not touched at all.
    #[cfg(unix)]
    #[test]
    fn unchanged_and_foreign_files_are_carried_not_rewritten() {
        let dir = tempdir("carry");
        let first = artifacts(&[("a/same.yml", "same"), ("a/changes.yml", "v1"), ("b/still.yml", "still")]);
        first.write_to(&dir).expect("first write");
        fs::write(dir.join("a/mine.txt"), "the user's").expect("user file");
        fs::create_dir_all(dir.join("a/empty")).expect("the user's empty directory");
        let (same, mine, still) =
            (inode(&dir.join("a/same.yml")), inode(&dir.join("a/mine.txt")), inode(&dir.join("b")));
        let modified = fs::metadata(dir.join("a/same.yml")).and_then(|m| m.modified()).expect("mtime");
        std::thread::sleep(Duration::from_millis(20));
        let second = artifacts(&[("a/same.yml", "same"), ("a/changes.yml", "v2"), ("b/still.yml", "still")]);
        let report = second.write_to(&dir).expect("second write");
        assert_eq!(report.written, ["a/changes.yml"]);
        assert_eq!(report.unchanged, ["a/same.yml", "b/still.yml"]);
        assert_eq!(inode(&dir.join("a/same.yml")), same);
        assert_eq!(fs::metadata(dir.join("a/same.yml")).and_then(|m| m.modified()).expect("mtime"), modified);
        assert_eq!(inode(&dir.join("a/mine.txt")), mine);
        assert!(dir.join("a/empty").is_dir());
        assert_eq!(inode(&dir.join("b")), still, "an unchanged directory is not swapped");
        assert!(!dir.join(STAGE).exists(), "the stage is gone");
        let _ = fs::remove_dir_all(&dir);
    }

    /// A file system whose renames fail after the first `left`.
    struct FailingRename {
        left: std::sync::Mutex<usize>,
    }

    impl Fs for FailingRename {
        fn write(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            fs::write(path, bytes)
        }

        fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
            let mut left = self.left.lock().unwrap_or_else(|e| e.into_inner());
            if *left == 0 {
                return Err(io::Error::other("rename refused (injected)"));
            }
            *left -= 1;
            fs::rename(from, to)
        }
    }

    #[test]
    fn a_failed_swap_puts_the_directory_back_and_an_interrupted_one_is_repaired() {
        let dir = tempdir("swap");
        let old = artifacts(&[("a/x.yml", "one"), ("b/y.yml", "two")]);
        old.write_to(&dir).expect("first render");
        let before = snapshot(&dir);
        let new = artifacts(&[("a/x.yml", "ONE"), ("b/y.yml", "TWO")]);
        // The second rename (the staged `a` into place) fails: `a` goes back where it was.
        let err =
            write_with(&new, &dir, &FailingRename { left: std::sync::Mutex::new(1) }, LOCK_WAIT).expect_err("injected");
        assert!(err.to_string().contains("injected"), "{err}");
        assert_eq!(snapshot(&dir), before);
        // A write killed between the two renames leaves `a` in the stage; the next one puts it
        // back before it begins, then completes.
        fs::create_dir_all(dir.join(STAGE).join(OLD)).expect("stage");
        fs::rename(dir.join("a"), dir.join(STAGE).join(OLD).join("a")).expect("half a swap");
        assert!(!dir.join("a").exists());
        let report = new.write_to(&dir).expect("the next write");
        assert_eq!(report.written, ["a/x.yml", "b/y.yml"]);
        assert_eq!(fs::read_to_string(dir.join("a/x.yml")).expect("a"), "ONE");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn concurrent_writes_into_one_directory_do_not_interleave() {
        let dir = tempdir("concurrent");
        let a = artifacts(&[("x", "from a"), ("only-a/1", "a"), ("only-a/2", "a")]);
        let b = artifacts(&[("x", "from b"), ("only-b/1", "b")]);
        std::thread::scope(|s| {
            for set in [&a, &b] {
                let dir = &dir;
                s.spawn(move || {
                    for _ in 0..25 {
                        set.write_to(dir).expect("each write completes");
                    }
                });
            }
        });
        // Whichever finished last, the directory is exactly its render and manifest.
        let listed: Vec<String> = read_manifest(&dir).expect("manifest").into_iter().collect();
        let last = if fs::read_to_string(dir.join("x")).expect("x") == "from a" { &a } else { &b };
        assert_eq!(listed, last.paths().map(str::to_string).collect::<Vec<_>>());
        let mut files: Vec<String> = snapshot(&dir)
            .into_iter()
            .filter_map(|(p, _)| p.strip_prefix(&dir).ok().map(|r| r.to_string_lossy().into_owned()))
            .collect();
        files.retain(|f| f != MANIFEST);
        assert_eq!(
            files,
            last.paths().map(str::to_string).collect::<Vec<_>>(),
            "no file of the other render is left, no temp file"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_live_lock_makes_a_write_fail_cleanly_and_a_dead_one_is_taken_over() {
        let dir = tempdir("lock");
        fs::create_dir_all(&dir).expect("dir");
        fs::write(dir.join(LOCK), format!("{}\n", std::process::id())).expect("a lock held by a live process");
        let err = write_with(&artifacts(&[("x", "1")]), &dir, &RealFs, Duration::from_millis(200)).expect_err("locked");
        assert!(matches!(err, WriteError::Locked(_)), "{err}");
        assert!(!dir.join("x").exists());
        fs::write(dir.join(LOCK), "4294967295\n").expect("a lock left by a process that is gone");
        artifacts(&[("x", "1")]).write_to(&dir).expect("a dead holder's lock is taken over");
        assert!(!dir.join(LOCK).exists(), "the lock is released");
        let _ = fs::remove_dir_all(&dir);
    }
}
