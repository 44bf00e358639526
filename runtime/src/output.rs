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

/// The file operations that change a directory. [`write()`] uses the real file system; tests
/// inject failures through [`write_with`].
pub trait Fs {
    /// Creates or truncates `path` and writes `bytes` to it.
    fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()>;
    /// Renames `from` over `to`.
    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()>;
}

/// The real file system.
#[derive(Clone, Copy, Debug, Default)]
pub struct RealFs;

impl Fs for RealFs {
    fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        fs::write(path, bytes)
    }

    fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

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

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.clusterdef-tmp"))
}

/// Writes `artifacts` into `dir` (created if missing) and updates the manifest.
pub fn write(artifacts: &Artifacts, dir: &Path) -> Result<WriteReport, WriteError> {
    write_with(artifacts, dir, &mut RealFs, LOCK_WAIT)
}

/// [`write()`] through `fs`, waiting up to `wait` for the directory's lock.
///
/// Every new file is staged as a temporary file first; only when all are written are they
/// renamed into place. A write that fails while staging (a full disk, a denied directory)
/// removes what it staged and leaves the previous render as it was.
pub fn write_with(
    artifacts: &Artifacts,
    dir: &Path,
    fs_ops: &mut dyn Fs,
    wait: Duration,
) -> Result<WriteReport, WriteError> {
    fs::create_dir_all(dir).map_err(io_at(dir))?;
    let _lock = Lock::acquire(dir, wait)?;
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
    let mut manifest = String::from(MANIFEST_HEADER);
    for rel in artifacts.keys() {
        manifest.push_str(rel);
        manifest.push('\n');
    }
    let manifest_path = dir.join(MANIFEST);
    let mut changes: Vec<(PathBuf, &[u8])> = Vec::new();
    for (rel, bytes) in artifacts {
        let path = dir.join(rel);
        if fs::read(&path).is_ok_and(|old| old == *bytes) {
            report.unchanged.push(rel.clone());
        } else {
            changes.push((path, bytes));
            report.written.push(rel.clone());
        }
    }
    if fs::read(&manifest_path).ok().as_deref() != Some(manifest.as_bytes()) {
        changes.push((manifest_path, manifest.as_bytes()));
    }

    // Stage.
    let mut staged: Vec<(PathBuf, PathBuf)> = Vec::new();
    let unstage = |staged: &[(PathBuf, PathBuf)]| {
        for (tmp, path) in staged {
            let _ = fs::remove_file(tmp);
            remove_empty_parents(dir, path);
        }
    };
    for (path, bytes) in &changes {
        if let Some(parent) = path.parent()
            && let Err(e) = fs::create_dir_all(parent)
        {
            unstage(&staged);
            return Err(io_at(parent)(e));
        }
        let tmp = temp_path(path);
        if let Err(e) = fs_ops.write(&tmp, bytes) {
            let _ = fs::remove_file(&tmp);
            unstage(&staged);
            remove_empty_parents(dir, path);
            return Err(io_at(&tmp)(e));
        }
        staged.push((tmp, path.clone()));
    }

    // Commit: the files, then the stale ones go, then the manifest (staged last).
    let mut pending = staged.iter();
    for (tmp, path) in pending.by_ref() {
        if path.ends_with(MANIFEST) {
            break;
        }
        if let Err(e) = fs_ops.rename(tmp, path) {
            let rest: Vec<(PathBuf, PathBuf)> = pending.cloned().collect();
            let _ = fs::remove_file(tmp);
            unstage(&rest);
            return Err(io_at(path)(e));
        }
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
    if let Some((tmp, path)) = staged.last().filter(|(_, p)| p.ends_with(MANIFEST)) {
        fs_ops.rename(tmp, path).map_err(io_at(path))?;
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

    /// A file system whose writes fail once `budget` bytes have been written.
    struct FailingFs {
        budget: usize,
    }

    impl Fs for FailingFs {
        fn write(&mut self, path: &Path, bytes: &[u8]) -> io::Result<()> {
            if bytes.len() > self.budget {
                fs::write(path, &bytes[..self.budget])?;
                self.budget = 0;
                return Err(io::Error::other("no space left on device (injected)"));
            }
            self.budget -= bytes.len();
            fs::write(path, bytes)
        }

        fn rename(&mut self, from: &Path, to: &Path) -> io::Result<()> {
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
        write(&old, &dir).expect("first render");
        let before = snapshot(&dir);
        let new = artifacts(&[("a/x.yml", "ONE, longer"), ("b/y.yml", "TWO, longer"), ("d/new.yml", "FOUR, longer")]);
        for budget in [0, 5, 11, 15, 30] {
            let err = write_with(&new, &dir, &mut FailingFs { budget }, LOCK_WAIT).expect_err("the injected failure");
            assert!(err.to_string().contains("injected"), "{err}");
            assert_eq!(snapshot(&dir), before, "after failing at byte {budget}, the previous render is untouched");
        }
        write(&new, &dir).expect("a render that can write completes");
        assert_eq!(fs::read_to_string(dir.join("d/new.yml")).expect("new"), "FOUR, longer");
        assert!(!dir.join("c").exists());
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
                        write(set, dir).expect("each write completes");
                    }
                });
            }
        });
        // Whichever finished last, the directory is exactly its render and manifest.
        let listed: Vec<String> = read_manifest(&dir).expect("manifest").into_iter().collect();
        let last = if fs::read_to_string(dir.join("x")).expect("x") == "from a" { &a } else { &b };
        assert_eq!(listed, last.keys().cloned().collect::<Vec<_>>());
        let mut files: Vec<String> = snapshot(&dir)
            .into_iter()
            .filter_map(|(p, _)| p.strip_prefix(&dir).ok().map(|r| r.to_string_lossy().into_owned()))
            .collect();
        files.retain(|f| f != MANIFEST);
        assert_eq!(
            files,
            last.keys().cloned().collect::<Vec<_>>(),
            "no file of the other render is left, no temp file"
        );
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_live_lock_makes_a_write_fail_cleanly_and_a_dead_one_is_taken_over() {
        let dir = tempdir("lock");
        fs::create_dir_all(&dir).expect("dir");
        fs::write(dir.join(LOCK), format!("{}\n", std::process::id())).expect("a lock held by a live process");
        let err =
            write_with(&artifacts(&[("x", "1")]), &dir, &mut RealFs, Duration::from_millis(200)).expect_err("locked");
        assert!(matches!(err, WriteError::Locked(_)), "{err}");
        assert!(!dir.join("x").exists());
        fs::write(dir.join(LOCK), "4294967295\n").expect("a lock left by a process that is gone");
        write(&artifacts(&[("x", "1")]), &dir).expect("a dead holder's lock is taken over");
        assert!(!dir.join(LOCK).exists(), "the lock is released");
        let _ = fs::remove_dir_all(&dir);
    }
}
