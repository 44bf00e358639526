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
//! - A manifest, [`MANIFEST`], lists what clusterdef wrote, each file with a hash of its bytes.
//!   A later render drops only files the manifest lists, still holding what was written, that
//!   the new render no longer makes, and refuses to overwrite a file it did not write or that
//!   was changed since.
//! - Every change is a rename of a whole top-level entry: a stale entry is swapped for one
//!   holding only the user's files (or set aside whole), never pruned file by file, so a kill at
//!   any point leaves every top-level entry wholly old or wholly new. A write interrupted
//!   between the two renames that swap an entry (a window of two system calls) leaves the old
//!   entry in the stage; the next write puts it back before it begins, if it can prove it is its
//!   own (named by the manifest, holding what the manifest says was written, its place empty).
//! - Only what clusterdef owns is touched: a symlink, a FIFO or device, or an entry of another
//!   file system where it writes, compares, carries or removes is never followed, moved, linked
//!   or written through; the render stops before changing anything, naming it
//!   ([`WriteError::Foreign`]). Links the user keeps inside a managed directory are carried as
//!   links.

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
    /// An entry where clusterdef writes is not its own to replace (a symlink, a special file,
    /// another file system); nothing was changed.
    Foreign {
        /// The entry.
        path: PathBuf,
        /// What it is, and why it stops the render.
        why: String,
    },
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
            WriteError::Foreign { path, why } => {
                let why = why.replace("\n  = help: ", "; ");
                write!(
                    f,
                    "{}: {why}; nothing was changed: move it away or render into another directory",
                    path.display()
                )
            }
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
            WriteError::NotOurs(_) | WriteError::Locked(_) | WriteError::Foreign { .. } => None,
        }
    }
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> WriteError + '_ {
    move |source| WriteError::Io { path: path.to_path_buf(), source }
}

/// The most bytes of a manifest read: 64 MiB, a million paths.
const MAX_MANIFEST: u64 = 64 << 20;

/// The largest output file compared with what a render would write: one larger differs.
const MAX_COMPARED: u64 = 1 << 30;

/// What the manifest in an output directory says clusterdef wrote: each path, with the FNV-1a
/// hash of the bytes it wrote there (`None` for a manifest of an older release, which listed
/// paths only). A file whose bytes no longer hash to that value has been changed by someone
/// else, and is no longer clusterdef's to replace or remove.
#[derive(Clone, Debug, Default)]
struct Manifest {
    /// Each path with the hashes it may hold as clusterdef's: one, or two while a write is
    /// being committed (the union manifest), so a write killed between its swaps still knows
    /// both renders' files as its own.
    files: BTreeMap<String, Vec<Option<u64>>>,
}

impl Manifest {
    /// Reads the manifest in `dir` (none: empty). A manifest that is a symlink, or not a regular
    /// file, is refused rather than read through.
    fn read(dir: &Path) -> Result<Manifest, WriteError> {
        let path = dir.join(MANIFEST);
        let text = match clusterdef_fs::read_own(&path, MAX_MANIFEST) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Manifest::default());
            }
            Err(e) => return Err(WriteError::Foreign { path, why: e.to_string() }),
        };
        let mut files = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (hash, rel) = match line.split_once(' ') {
                Some((hash, rel)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
                    (u64::from_str_radix(hash, 16).ok(), rel)
                }
                _ => (None, line),
            };
            // A manifest edited by hand cannot point outside the directory.
            if rel.split('/').all(|c| !c.is_empty() && c != "." && c != "..") {
                files.entry(rel.to_string()).or_insert_with(Vec::new).push(hash);
            }
        }
        Ok(Manifest { files })
    }

    /// The manifest's text for `artifacts`.
    fn text(artifacts: &Artifacts) -> String {
        let mut text = String::from(MANIFEST_HEADER);
        for (rel, bytes) in artifacts {
            text.push_str(&format!("{:016x} {rel}\n", fnv1a(bytes)));
        }
        text
    }

    fn contains(&self, rel: &str) -> bool {
        self.files.contains_key(rel)
    }

    /// The top-level entries the manifest's files lie in.
    fn tops(&self) -> BTreeSet<&str> {
        self.files.keys().map(|p| top_of(p)).collect()
    }

    /// Whether `bytes`, found at `rel`, are what clusterdef wrote there.
    fn wrote(&self, rel: &str, bytes: &[u8]) -> bool {
        match self.files.get(rel) {
            Some(hashes) => hashes.iter().any(|h| h.is_none_or(|h| h == fnv1a(bytes))),
            None => false,
        }
    }
}

/// The top-level entry a relative path lies in.
fn top_of(rel: &str) -> &str {
    rel.split('/').next().unwrap_or(rel)
}

/// FNV-1a, 64 bits: a stable hash (unlike std's, which may change between releases) of what a
/// render wrote, so a later render can tell its own file from one changed since. Not a defence
/// against someone who can write the directory, who could change the manifest too.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The paths the manifest in `dir` lists, if there is one.
pub fn read_manifest(dir: &Path) -> Result<BTreeSet<String>, WriteError> {
    Ok(Manifest::read(dir)?.files.into_keys().collect())
}

/// The bytes of the file clusterdef manages at `path`, if it is there (`None` for nothing, or a
/// directory): never read through a symlink, never from a FIFO or device, which are errors; a
/// file larger than any render writes reads as empty, which differs from every render.
pub fn current_bytes(path: &Path) -> Result<Option<Vec<u8>>, WriteError> {
    match clusterdef_fs::read_own(path, MAX_COMPARED) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(clusterdef_fs::ReadError::TooLarge { .. }) => Ok(Some(Vec::new())),
        Err(clusterdef_fs::ReadError::NotRegular(clusterdef_fs::Kind::Directory)) => Ok(None),
        Err(e) => Err(WriteError::Foreign { path: path.to_path_buf(), why: e.to_string() }),
    }
}

/// The file operations that change a directory. [`Artifacts::write_to`] uses the real file
/// system; tests inject failures through [`write_with`].
///
/// Files are written from several threads at once, so the operations take `&self`.
pub trait Fs: Sync {
    /// Creates `path`, which does not exist, and writes `bytes` to it.
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
        create_new(path, bytes)
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        fs::rename(from, to)
    }
}

/// Creates `path` and writes `bytes`; fails if anything, a symlink included, is already there,
/// so a write never follows a link someone put in its way.
fn create_new(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write as _;
    fs::OpenOptions::new().write(true).create_new(true).open(path)?.write_all(bytes)
}

/// Writes `bytes` to `path` (creating its directory) unless it already holds them, through a
/// temporary file renamed into place; returns whether it wrote. For a single generated file, such
/// as the module a build script includes, which cargo must not see change when it has not. A
/// symlink or special file at `path` is refused, never written through.
pub fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<bool, WriteError> {
    if current_bytes(path)?.as_deref() == Some(bytes) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).map_err(io_at(parent))?;
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}.clusterdef-tmp"));
    // A leftover of an interrupted write (or anything put there) is removed, not written through.
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_at(&tmp)(e)),
        _ => {}
    }
    create_new(&tmp, bytes).map_err(io_at(&tmp))?;
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
                    let holder = match clusterdef_fs::read_own(&path, 64) {
                        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().parse::<u32>().ok(),
                        Err(clusterdef_fs::ReadError::Io(_)) => None,
                        Err(e) => return Err(WriteError::Foreign { path, why: e.to_string() }),
                    };
                    // A holder whose process is gone, or a lock that never got its PID (the
                    // writer was killed between creating it and writing to it, a window of one
                    // system call) and is older than any live writer's would be without one.
                    let gone = match holder {
                        Some(pid) => cfg!(target_os = "linux") && !Path::new("/proc").join(pid.to_string()).exists(),
                        None => fs::symlink_metadata(&path)
                            .and_then(|m| m.modified())
                            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(2))),
                    };
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

impl Artifacts {
    /// Writes the files into `dir` (created if missing): staged whole, swapped in, with a
    /// manifest that lets the next write remove what this render no longer makes. See
    /// [`crate::output`] for the guarantees. (Defined here, beside the writer, so that the
    /// renderers never depend on the file system: `output` uses `render`, not the other way.)
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<WriteReport, WriteError> {
        write_with(self, dir.as_ref(), &RealFs, LOCK_WAIT)
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
    let device = fs::metadata(dir).map(|m| clusterdef_fs::device(&m)).map_err(io_at(dir))?;
    let _lock = Lock::acquire(dir, wait)?;
    let previous = Manifest::read(dir)?;
    let stage = dir.join(STAGE);
    recover(dir, &stage, &previous, device)?;
    // Check every entry first, so a refusal leaves the directory as it was.
    let mut tops: BTreeSet<&str> = artifacts.paths().map(top_of).collect();
    tops.extend(previous.tops());
    for top in &tops {
        check_managed(dir, Path::new(top), device)?;
    }
    for (rel, bytes) in artifacts {
        let path = dir.join(rel);
        check_parents(dir, rel)?;
        if let Some(current) = current_bytes(&path)?
            && current != *bytes
            && !previous.wrote(rel, &current)
        {
            return Err(WriteError::NotOurs(path));
        }
    }
    let manifest = Manifest::text(artifacts);
    fs::create_dir_all(&stage).map_err(io_at(&stage))?;
    let mut writer = Stager { dir, stage: &stage, fs_ops, made: BTreeSet::new(), pending: Vec::new() };
    let staged = writer.stage_all(artifacts, &tops, &previous, &manifest).and_then(|staged| {
        writer.flush()?;
        Ok(staged)
    });
    let result = staged.and_then(|(report, swaps)| commit(dir, &stage, fs_ops, report, swaps));
    let _ = fs::remove_dir_all(&stage);
    result
}

/// Refuses a managed top-level entry that is not clusterdef's to replace: a symlink (replacing
/// it would move the user's directory or write through it), or anything on another device (a
/// mount point). Inside a managed directory, the same holds for every entry: the walk never
/// follows a link. O(entries under it).
fn check_managed(dir: &Path, top: &Path, device: u64) -> Result<(), WriteError> {
    let mut pending = vec![top.to_path_buf()];
    while let Some(rel) = pending.pop() {
        let path = dir.join(&rel);
        let meta = match fs::symlink_metadata(&path) {
            Ok(meta) => meta,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_at(&path)(e)),
        };
        if rel == top && meta.file_type().is_symlink() {
            return Err(WriteError::Foreign {
                path,
                why: "it is a symlink where clusterdef writes an entry of its own; it is never replaced, followed or written through".to_string(),
            });
        }
        if clusterdef_fs::device(&meta) != device {
            return Err(WriteError::Foreign {
                path,
                why: "it lies on another file system (a mount point); clusterdef moves and links files within the output directory's own".to_string(),
            });
        }
        if meta.is_dir() {
            for entry in fs::read_dir(&path).map_err(io_at(&path))? {
                pending.push(rel.join(entry.map_err(io_at(&path))?.file_name()));
            }
        }
    }
    Ok(())
}

/// Refuses an artifact whose directories in the output are not real directories: a symlink
/// there would carry the render into another directory.
fn check_parents(dir: &Path, rel: &str) -> Result<(), WriteError> {
    let mut path = dir.to_path_buf();
    let components: Vec<&str> = rel.split('/').collect();
    for component in &components[..components.len().saturating_sub(1)] {
        path.push(component);
        match fs::symlink_metadata(&path) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(WriteError::Foreign {
                    path,
                    why: format!(
                        "it is not a directory, and {rel} goes inside it; clusterdef never writes through a symlink"
                    ),
                });
            }
            Err(_) => break,
        }
    }
    Ok(())
}

/// Puts back a top-level entry an interrupted write left between the renames of its swap, and
/// clears the stage. Only what can be proven clusterdef's own is renamed: the stage and its
/// `.old` must be real directories on the output's device (a symlink there is refused, never
/// followed), the entry must be named as a top-level entry by the manifest, not be a symlink,
/// hold every file the manifest lists under it with the bytes it wrote, and its place must be
/// empty.
fn recover(dir: &Path, stage: &Path, manifest: &Manifest, device: u64) -> Result<(), WriteError> {
    let real_dir = |path: &Path| -> Result<bool, WriteError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() && clusterdef_fs::device(&meta) == device => Ok(true),
            Ok(_) => Err(WriteError::Foreign {
                path: path.to_path_buf(),
                why: "clusterdef stages its renders here, and this is not a directory of its own (a symlink, a file, or on another file system)".to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_at(path)(e)),
        }
    };
    if !real_dir(stage)? {
        return Ok(());
    }
    let old = stage.join(OLD);
    if real_dir(&old)? {
        let tops = manifest.tops();
        for entry in fs::read_dir(&old).map_err(io_at(&old))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let target = dir.join(&name);
            let own = tops.contains(name.as_str())
                && fs::symlink_metadata(&target).is_err()
                && holds_what_it_wrote(&entry.path(), &name, manifest);
            if own {
                fs::rename(entry.path(), &target).map_err(io_at(&target))?;
            }
        }
    }
    match fs::remove_dir_all(stage) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(stage)(e)),
        _ => Ok(()),
    }
}

/// Whether `path`, a copy of top-level entry `top` set aside by an interrupted swap, holds every
/// file the manifest lists under `top` with the bytes clusterdef wrote (no symlink followed).
fn holds_what_it_wrote(path: &Path, top: &str, manifest: &Manifest) -> bool {
    if fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_symlink()) {
        return false;
    }
    manifest.files.keys().filter(|rel| top_of(rel) == top).all(|rel| {
        let inside = rel.strip_prefix(top).unwrap_or(rel).trim_start_matches('/');
        let file = if inside.is_empty() { path.to_path_buf() } else { path.join(inside) };
        let parents_real = Path::new(inside)
            .ancestors()
            .skip(1)
            .filter(|p| !p.as_os_str().is_empty())
            .all(|p| fs::symlink_metadata(path.join(p)).is_ok_and(|m| m.is_dir()));
        parents_real && matches!(clusterdef_fs::read_own(&file, MAX_COMPARED), Ok(bytes) if manifest.wrote(rel, &bytes))
    })
}

/// One top-level entry to swap in, after staging.
struct Swap {
    name: String,
    /// Whether an entry of that name is there now.
    replaces: bool,
    /// Whether the entry goes without a replacement (it held only files of the previous render
    /// that this one no longer makes).
    removes: bool,
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
    /// allows it, else as a copy with its modification time; a symlink is carried as a symlink
    /// (never followed).
    fn carry(&mut self, rel: &Path) -> Result<(), WriteError> {
        let (from, to) = (self.dir.join(rel), self.stage.join(rel));
        self.parent_of(&to)?;
        let meta = fs::symlink_metadata(&from).map_err(io_at(&from))?;
        if meta.file_type().is_symlink() {
            let target = fs::read_link(&from).map_err(io_at(&from))?;
            return symlink(&target, &to).map_err(io_at(&to));
        }
        if !meta.is_file() {
            return Err(WriteError::Foreign {
                path: from,
                why: "it is not a regular file (a FIFO, device or socket), and clusterdef carries only files and links when it replaces the directory holding it".to_string(),
            });
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

    /// Stages every top-level entry that changes (`tops`: those the render makes and those the
    /// previous render made), and the manifest; returns what the write will do and the entries
    /// to swap in. A top-level entry the render no longer makes is staged like any other: the
    /// user's files in it are carried, the previous render's are left behind, and the entry is
    /// swapped (or removed) whole, never pruned file by file.
    fn stage_all(
        &mut self,
        artifacts: &'a Artifacts,
        tops: &BTreeSet<&str>,
        previous: &Manifest,
        manifest: &'a str,
    ) -> Result<(WriteReport, Vec<Swap>), WriteError> {
        let mut report = WriteReport::default();
        let mut swaps = Vec::new();
        let mut by_top: BTreeMap<&str, Vec<(&str, &[u8])>> = tops.iter().map(|t| (*t, Vec::new())).collect();
        for (rel, bytes) in artifacts {
            by_top.entry(top_of(rel)).or_default().push((rel, bytes));
        }
        for (top, files) in by_top {
            let current = self.dir.join(top);
            let current_meta = fs::symlink_metadata(&current).ok();
            let is_file = files.len() == 1 && files[0].0 == top;
            if is_file {
                let (rel, bytes) = files[0];
                if current_bytes(&current)?.as_deref() == Some(bytes) {
                    report.unchanged.push(rel.to_string());
                } else {
                    self.write(rel, bytes)?;
                    report.written.push(rel.to_string());
                    swaps.push(Swap { name: top.to_string(), replaces: current_meta.is_some(), removes: false });
                }
                continue;
            }
            match &current_meta {
                None => {
                    // A new directory: every file is written, nothing is carried.
                    for (rel, bytes) in &files {
                        self.write(rel, bytes)?;
                        report.written.push(rel.to_string());
                    }
                    if !files.is_empty() {
                        swaps.push(Swap { name: top.to_string(), replaces: false, removes: false });
                    }
                    continue;
                }
                Some(meta) if !meta.is_dir() => {
                    // A file of the previous render (or the user's) where this one makes a
                    // directory, or one it no longer makes.
                    let ours = previous.contains(top)
                        && current_bytes(&current)?.is_some_and(|bytes| previous.wrote(top, &bytes));
                    if files.is_empty() {
                        if ours {
                            report.removed.push(top.to_string());
                            swaps.push(Swap { name: top.to_string(), replaces: true, removes: true });
                        }
                        continue;
                    }
                    if !ours {
                        return Err(WriteError::NotOurs(current));
                    }
                    for (rel, bytes) in &files {
                        self.write(rel, bytes)?;
                        report.written.push(rel.to_string());
                    }
                    report.removed.push(top.to_string());
                    swaps.push(Swap { name: top.to_string(), replaces: true, removes: false });
                    continue;
                }
                Some(_) => {}
            }
            let existing = files_under(self.dir, Path::new(top))?;
            let mut written = Vec::new();
            let mut unchanged = Vec::new();
            for (rel, bytes) in &files {
                if existing.files.contains(Path::new(rel))
                    && current_bytes(&self.dir.join(rel))?.as_deref() == Some(*bytes)
                {
                    unchanged.push(*rel);
                } else {
                    written.push((*rel, *bytes));
                }
            }
            let new: BTreeSet<&Path> = files.iter().map(|(rel, _)| Path::new(*rel)).collect();
            let mut stale: Vec<&PathBuf> = Vec::new();
            for f in existing.files.iter().filter(|f| !new.contains(f.as_path())) {
                let Some(rel) = f.to_str().filter(|p| previous.contains(p)) else { continue };
                match current_bytes(&self.dir.join(f))? {
                    Some(bytes) if previous.wrote(rel, &bytes) => stale.push(f),
                    // Changed since clusterdef wrote it: someone else's now, carried.
                    _ => {}
                }
            }
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
            let kept: Vec<&PathBuf> =
                existing.files.iter().filter(|f| !new.contains(f.as_path()) && !stale.contains(f)).collect();
            for file in &kept {
                self.carry(file)?;
            }
            for empty in &existing.empty_dirs {
                let path = self.stage.join(empty);
                fs::create_dir_all(&path).map_err(io_at(&path))?;
            }
            report.removed.extend(stale.iter().map(|p| p.to_string_lossy().into_owned()));
            let removes = files.is_empty() && kept.is_empty() && existing.empty_dirs.is_empty();
            if !removes && !self.stage.join(top).exists() {
                fs::create_dir_all(self.stage.join(top)).map_err(io_at(&self.stage.join(top)))?;
            }
            swaps.push(Swap { name: top.to_string(), replaces: true, removes });
        }
        if current_bytes(&self.dir.join(MANIFEST))?.as_deref() != Some(manifest.as_bytes()) {
            self.write(MANIFEST, manifest.as_bytes())?;
        }
        Ok((report, swaps))
    }
}

/// The files (and symlinks) under `dir/top`, relative to `dir`, and its empty directories. Links
/// are listed, never followed. O(entries).
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
        if empty && rel != top {
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

/// Swaps the staged entries in (an entry that goes is set aside in the stage, which is removed
/// after), then puts the manifest in place. Every change to the directory is a rename of a whole
/// top-level entry, so a kill at any point leaves each entry wholly old or wholly new (or, in
/// the two-rename window of one swap, set aside in the stage, which the next write puts back).
fn commit(
    dir: &Path,
    stage: &Path,
    fs_ops: &dyn Fs,
    mut report: WriteReport,
    swaps: Vec<Swap>,
) -> Result<WriteReport, WriteError> {
    let old = stage.join(OLD);
    let staged_manifest = stage.join(MANIFEST);
    let mut restore: Option<Option<Vec<u8>>> = None;
    if !swaps.is_empty() && staged_manifest.exists() {
        // While the entries are swapped, the manifest names both renders' files: a write killed
        // between two swaps leaves entries of each, and the next write must know both as its own.
        let path = dir.join(MANIFEST);
        let previous = clusterdef_fs::read_own(&path, MAX_MANIFEST).ok();
        let current = previous.clone().unwrap_or_default();
        restore = Some(previous);
        let staged = clusterdef_fs::read_own(&staged_manifest, MAX_MANIFEST)
            .map_err(|e| WriteError::Foreign { path: staged_manifest.clone(), why: e.to_string() })?;
        let union = stage.join(".manifest-union");
        create_new(&union, &[current, staged].concat()).map_err(io_at(&union))?;
        fs::rename(&union, &path).map_err(io_at(&path))?;
    }
    let swapped = swap_all(dir, stage, &old, fs_ops, &swaps);
    if swapped.is_err()
        && let Some(previous) = restore
    {
        // The write failed and put every entry back: so goes the manifest.
        let path = dir.join(MANIFEST);
        match previous {
            Some(bytes) => {
                let back = stage.join(".manifest-back");
                if create_new(&back, &bytes).is_ok() {
                    let _ = fs::rename(&back, &path);
                }
            }
            None => {
                let _ = fs::remove_file(&path);
            }
        }
    }
    swapped?;
    if staged_manifest.exists() {
        let path = dir.join(MANIFEST);
        fs_ops.rename(&staged_manifest, &path).map_err(io_at(&path))?;
    }
    report.written.sort();
    report.unchanged.sort();
    report.removed.sort();
    Ok(report)
}

/// The swaps of [`commit`], in order; a failed second rename puts the entry back.
fn swap_all(dir: &Path, stage: &Path, old: &Path, fs_ops: &dyn Fs, swaps: &[Swap]) -> Result<(), WriteError> {
    for swap in swaps {
        let (from, to) = (stage.join(&swap.name), dir.join(&swap.name));
        let current_is_dir = fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir());
        if swap.replaces && (current_is_dir || swap.removes) {
            fs::create_dir_all(old).map_err(io_at(old))?;
            let aside = old.join(&swap.name);
            fs_ops.rename(&to, &aside).map_err(io_at(&to))?;
            if swap.removes {
                continue;
            }
            if let Err(e) = fs_ops.rename(&from, &to) {
                let _ = fs::rename(&aside, &to);
                return Err(io_at(&to)(e));
            }
        } else {
            fs_ops.rename(&from, &to).map_err(io_at(&to))?;
        }
    }
    Ok(())
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
/// (lossy: it may be part of the cluster), a file that is not UTF-8 (lossy too). Symlinks inside
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
                Err(ReadError::NotText) => finding(&rel, Severity::Lossy, "not UTF-8 text, so not read: it may hold a part of the cluster (a group's config, a unit) that the declaration would then lack".to_string()),
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
        // A writer killed between creating the lock and writing its PID leaves it empty.
        fs::write(dir.join(LOCK), "").expect("an empty lock");
        let old = std::time::SystemTime::now() - Duration::from_secs(5);
        fs::File::options().write(true).open(dir.join(LOCK)).and_then(|f| f.set_modified(old)).expect("age it");
        artifacts(&[("x", "2")]).write_to(&dir).expect("an empty lock older than a live writer's is taken over");
        assert!(!dir.join(LOCK).exists(), "the lock is released");
        let _ = fs::remove_dir_all(&dir);
    }

    /// Every path under `dir`, each with what it is (a link with its target), for comparing a
    /// directory before and after a refused write.
    #[cfg(unix)]
    fn listing(dir: &Path) -> Vec<(PathBuf, String)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).expect("dir").filter_map(Result::ok) {
                let p = e.path();
                let meta = fs::symlink_metadata(&p).expect("meta");
                let what = if meta.file_type().is_symlink() {
                    format!("-> {}", fs::read_link(&p).expect("link").display())
                } else if meta.is_dir() {
                    stack.push(p.clone());
                    "dir".to_string()
                } else {
                    format!("{} {:?}", inode(&p), fs::read(&p).expect("file"))
                };
                out.push((p, what));
            }
        }
        out.sort();
        out
    }

    /// (a) A top-level entry of the previous render replaced by a symlink to another directory:
    /// a render that no longer makes it stops, naming it, and nothing in the other directory is
    /// removed, the file clusterdef never wrote included.
    #[cfg(unix)]
    #[test]
    fn a_symlinked_entry_of_the_previous_render_is_never_pruned_through() {
        let dir = tempdir("prune-link");
        let elsewhere = tempdir("prune-link-elsewhere");
        artifacts(&[("pxe/a.ipxe", "A"), ("pxe/b/c.cfg", "C"), ("cloud-config/x.yml", "X")])
            .write_to(&dir)
            .expect("first");
        fs::create_dir_all(elsewhere.join("b")).expect("elsewhere");
        fs::write(elsewhere.join("a.ipxe"), "A").expect("same name, same bytes");
        fs::write(elsewhere.join("b/c.cfg"), "C").expect("same name, same bytes");
        fs::write(elsewhere.join("never-written.txt"), "mine").expect("the user's");
        fs::remove_dir_all(dir.join("pxe")).expect("pxe");
        std::os::unix::fs::symlink(&elsewhere, dir.join("pxe")).expect("link");
        let (before, before_elsewhere) = (listing(&dir), listing(&elsewhere));
        let err = artifacts(&[("cloud-config/x.yml", "X2")]).write_to(&dir).expect_err("refused");
        assert!(matches!(&err, WriteError::Foreign { path, .. } if path.ends_with("pxe")), "{err}");
        assert!(err.to_string().contains("symlink"), "{err}");
        assert_eq!(listing(&elsewhere), before_elsewhere, "nothing in the other directory changed");
        assert_eq!(listing(&dir), before, "nothing in the output changed");
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&elsewhere);
    }

    /// (b) The stage replaced by a symlink to a directory holding `.old/stuff`: recovery refuses
    /// it and moves nothing into the output.
    #[cfg(unix)]
    #[test]
    fn a_symlinked_stage_is_refused_and_nothing_is_recovered_from_it() {
        let dir = tempdir("stage-link");
        let elsewhere = tempdir("stage-link-elsewhere");
        artifacts(&[("stuff/x", "X")]).write_to(&dir).expect("first");
        fs::create_dir_all(elsewhere.join(".old/stuff")).expect("elsewhere");
        fs::write(elsewhere.join(".old/stuff/x"), "X").expect("a copy that looks like ours");
        fs::remove_dir_all(dir.join("stuff")).expect("the entry is gone, as after a kill");
        std::os::unix::fs::symlink(&elsewhere, dir.join(STAGE)).expect("link");
        let before_elsewhere = listing(&elsewhere);
        let err = artifacts(&[("stuff/x", "X")]).write_to(&dir).expect_err("refused");
        assert!(matches!(&err, WriteError::Foreign { path, .. } if path.ends_with(STAGE)), "{err}");
        assert_eq!(listing(&elsewhere), before_elsewhere);
        assert!(!dir.join("stuff").exists(), "nothing was moved in");
        // In a real stage, an entry the manifest does not name, or one that does not hold what
        // clusterdef wrote, stays where it is (and goes with the stage).
        fs::remove_file(dir.join(STAGE)).expect("unlink");
        fs::create_dir_all(dir.join(STAGE).join(OLD).join("stuff")).expect("stage");
        fs::write(dir.join(STAGE).join(OLD).join("stuff/x"), "not what was written").expect("x");
        fs::create_dir_all(dir.join(STAGE).join(OLD).join("unknown")).expect("stage");
        let report = artifacts(&[("other", "O")]).write_to(&dir).expect("the write goes on");
        assert_eq!(report.written, ["other"]);
        assert!(!dir.join("stuff").exists() && !dir.join("unknown").exists(), "{:?}", listing(&dir));
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&elsewhere);
    }

    /// (c) A managed directory replaced by a symlink to the user's directory: the render stops;
    /// the link stays a link, and the user's files are not linked into the output.
    #[cfg(unix)]
    #[test]
    fn a_symlinked_managed_directory_is_never_replaced_or_linked_from() {
        let dir = tempdir("dir-link");
        let user = tempdir("dir-link-user");
        artifacts(&[("cloud-config/a.yml", "A")]).write_to(&dir).expect("first");
        fs::create_dir_all(&user).expect("user");
        fs::write(user.join("secret.txt"), "secret").expect("secret");
        fs::remove_dir_all(dir.join("cloud-config")).expect("dir");
        std::os::unix::fs::symlink(&user, dir.join("cloud-config")).expect("link");
        let (before, before_user) = (listing(&dir), listing(&user));
        let err = artifacts(&[("cloud-config/a.yml", "A2")]).write_to(&dir).expect_err("refused");
        assert!(matches!(&err, WriteError::Foreign { path, .. } if path.ends_with("cloud-config")), "{err}");
        assert_eq!(listing(&dir), before);
        assert_eq!(listing(&user), before_user, "the user's file has one link, its own");
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&user);
    }

    /// A file clusterdef wrote and someone changed since is no longer its own: a render that
    /// would overwrite it stops, and a render that no longer makes it leaves it in place.
    #[test]
    fn a_file_changed_since_it_was_written_is_neither_overwritten_nor_removed() {
        let dir = tempdir("edited");
        artifacts(&[("a/x.yml", "X"), ("a/y.yml", "Y")]).write_to(&dir).expect("first");
        fs::write(dir.join("a/x.yml"), "edited by hand").expect("edit");
        let err = artifacts(&[("a/x.yml", "X2")]).write_to(&dir).expect_err("refused");
        assert!(matches!(err, WriteError::NotOurs(_)), "{err}");
        let report = artifacts(&[("a/y.yml", "Y2")]).write_to(&dir).expect("x is no longer rendered");
        assert!(report.removed.is_empty(), "{report:?}");
        assert_eq!(fs::read_to_string(dir.join("a/x.yml")).expect("kept"), "edited by hand");
        let _ = fs::remove_dir_all(&dir);
    }

    /// A FIFO or a symlink where clusterdef compares or writes a file is refused without
    /// blocking and without writing through the link.
    #[cfg(unix)]
    #[test]
    fn special_files_and_links_at_artifact_paths_are_refused_without_blocking() {
        let dir = tempdir("special");
        let outside = tempdir("special-outside");
        fs::create_dir_all(dir.join("a")).expect("a");
        fs::create_dir_all(&outside).expect("outside");
        assert!(std::process::Command::new("mkfifo").arg(dir.join("a/x.yml")).status().expect("mkfifo").success());
        let err = artifacts(&[("a/x.yml", "X")]).write_to(&dir).expect_err("a fifo");
        assert!(err.to_string().contains("named pipe"), "{err}");
        fs::remove_file(dir.join("a/x.yml")).expect("fifo");
        std::os::unix::fs::symlink(outside.join("target"), dir.join("a/x.yml")).expect("link");
        let err = artifacts(&[("a/x.yml", "X")]).write_to(&dir).expect_err("a link");
        assert!(err.to_string().contains("symlink"), "{err}");
        assert!(!outside.join("target").exists(), "nothing was written through the link");
        let module = dir.join("module.rs");
        std::os::unix::fs::symlink(outside.join("module"), &module).expect("link");
        assert!(write_if_changed(&module, b"m").is_err());
        std::os::unix::fs::symlink(outside.join("tmp"), dir.join(".module2.rs.clusterdef-tmp")).expect("link");
        assert!(write_if_changed(&dir.join("module2.rs"), b"m").expect("written"));
        assert!(
            !outside.join("module").exists() && !outside.join("tmp").exists(),
            "nothing was written through a link"
        );
        let _ = fs::remove_dir_all(&dir);
        let _ = fs::remove_dir_all(&outside);
    }
}
