//! Writing rendered artifacts to a directory: the one place clusterdef touches the file system.
//!
//! - What changes is staged in [`STAGE`] inside the directory, then swapped in with renames,
//!   the manifest last. The unit of a swap is an entry: a top-level entry the render makes new
//!   or no longer makes (`pxe/`), a top-level file (`plan.txt`), and, inside a top-level
//!   directory that stays (`cloud-config/`, `machines/`), each entry directly in it (a
//!   machine's config file, a machine's directory). A reader sees each such entry entirely old
//!   or entirely new, and a change to 1% of the machines renames 1% of the entries, never
//!   touching the others. A write that fails while staging (a full disk, a denied directory)
//!   removes the stage and leaves the previous render as it was; one that fails while swapping
//!   undoes the swaps it made, in reverse.
//! - Within an entry that changes (a machine's directory), files whose bytes stay the same, and
//!   files clusterdef did not write, are carried into the staged entry as hard links: their
//!   contents, inode and modification time are kept, and nothing is copied. An entry with no
//!   change is not touched, and files the user keeps beside clusterdef's in a top-level
//!   directory stay where they are.
//! - A manifest, [`MANIFEST`], lists what clusterdef wrote, each file with a hash of its bytes.
//!   A later render drops only files the manifest lists, still holding what was written, that
//!   the new render no longer makes, and refuses to overwrite a file it did not write or that
//!   was changed since. While entries are swapped, the manifest names both renders' files.
//! - Every change is a rename of a whole entry: a stale entry is swapped for one holding only
//!   the user's files (or set aside whole), never pruned file by file, so a kill at any point
//!   leaves every entry wholly old or wholly new. A write interrupted between the two renames
//!   that swap an entry (a window of two system calls) leaves the old entry in the stage; the
//!   next write puts it back before it begins, if it can prove it is its own (named by the
//!   manifest, holding what the manifest says was written, its place empty).
//! - Only what clusterdef owns is touched: a symlink, a FIFO or device, or an entry of another
//!   file system where it writes, compares, carries or removes is never followed, moved, linked
//!   or written through; the render stops before changing anything, naming it
//!   ([`WriteError::Foreign`]). Links the user keeps inside a managed directory are carried as
//!   links.

mod commit;
mod guard;
#[cfg(test)]
mod keep_tests;
mod lock;
mod manifest;
mod prepared;
#[cfg(feature = "serde")]
pub mod record;
#[cfg(feature = "import")]
mod sources;
mod stage;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod upgrade_tests;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::render::Artifacts;

use commit::commit;
use guard::{check_managed, check_parents, recover};
use lock::Lock;
use manifest::{Current, Manifest, current, top_of, unit_of};
pub use manifest::{current_bytes, holds, read_manifest};
pub use prepared::Prepared;
#[cfg(feature = "import")]
pub use sources::*;
use stage::Stager;

/// The manifest's file name in the output directory.
pub const MANIFEST: &str = "clusterdef-manifest.txt";

/// The file beside the manifest recording the declaration a render was made from (and, for one
/// step of a change, which step of which change), written by the front ends that render files
/// (`clusterdef render`, build.rs) so the next render can tell what it replaces.
pub const DECLARATION: &str = "clusterdef-declaration.json";

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

/// A path as a message shows it: whole up to 300 bytes, else its start and end around `…`, so no
/// file's content or a hand-edited manifest can make a message of megabytes.
fn shown(path: &Path) -> String {
    let text = path.display().to_string();
    if text.len() <= 300 {
        return text;
    }
    let cut = |at: usize| (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
    let (head, tail) = (cut(150), cut(text.len() - 120));
    format!("{}…{}", &text[..head], &text[tail..])
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Io { path, source } => write!(f, "{}: {source}", shown(path)),
            WriteError::NotOurs(path) => write!(
                f,
                "{} exists and was not written by clusterdef; move it away or render into another directory",
                shown(path)
            ),
            WriteError::Foreign { path, why } => {
                let why = why.replace("\n  = help: ", "; ");
                write!(f, "{}: {why}; nothing was changed: move it away or render into another directory", shown(path))
            }
            WriteError::Locked(path) => write!(
                f,
                "another render into this directory is running (it holds {}); wait for it, or remove the file if no render is running",
                shown(path)
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

/// The hasher of the write's tables keyed by relative path (what the checks saw, what each
/// artifact's path holds): FNV-1a, several times faster than the default hasher on paths of a
/// few dozen bytes, looked up tens of thousands of times a render. The keys are the output
/// directory's own paths, so flooding a table with colliding keys would take write access to
/// the directory, which can do worse.
#[derive(Clone, Copy, Default)]
struct PathHasher(u64);

impl std::hash::Hasher for PathHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        let start = if self.0 == 0 { 0xcbf2_9ce4_8422_2325 } else { self.0 };
        self.0 = bytes.iter().fold(start, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3));
    }
}

/// Builds [`PathHasher`]s.
type PathHash = std::hash::BuildHasherDefault<PathHasher>;

/// What the checks saw of every entry of the managed tree, by `/`-separated relative path.
type Seen = HashMap<String, fs::Metadata, PathHash>;

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
    if holds(path, bytes)? == Some(true) {
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

impl Artifacts {
    /// Writes the files into `dir` (created if missing): staged whole, swapped in, with a
    /// manifest that lets the next write remove what this render no longer makes. See
    /// [`crate::output`] for the guarantees. (Defined here, beside the writer, so that the
    /// renderers never depend on the file system: `output` uses `render`, not the other way.)
    pub fn write_to(&self, dir: impl AsRef<Path>) -> Result<WriteReport, WriteError> {
        write_with(self, dir.as_ref(), &RealFs, LOCK_WAIT)
    }

    /// [`Artifacts::write_to`], recording in the manifest `source`, the [`fingerprint`] of what
    /// the artifacts were rendered from, so that [`up_to_date`] can tell a later render of the
    /// same source into an untouched directory that it has nothing to do.
    pub fn write_to_from(&self, dir: impl AsRef<Path>, source: u64) -> Result<WriteReport, WriteError> {
        Prepared::open(dir.as_ref(), LOCK_WAIT)?.write(self, source)
    }
}

/// The fingerprint of what a render is made from: the program rendering (this release of
/// clusterdef, and the stamp of the running executable, so that any rebuild of the program,
/// the renderers' code included, renders anew even when the version number stays), the cluster
/// and the options, hashed (FNV-1a over their `Debug` form, which names every field). Equal
/// fingerprints render equal bytes. Where the executable cannot be looked at, the fingerprint
/// is one no manifest holds, so nothing is ever taken as up to date.
pub fn fingerprint(cluster: &clusterdef_model::Cluster, options: &crate::render::RenderOptions) -> u64 {
    clusterdef_fs::fnv1a(format!("{} {cluster:?} {options:?}", program()).as_bytes())
}

/// The program rendering: this release of clusterdef and the stamp of the running executable
/// (any rebuild, the renderers' code included, differs); where the executable cannot be looked
/// at, a text no earlier run had, so nothing is taken as made by it.
fn program() -> String {
    let stamp = std::env::current_exe()
        .and_then(fs::metadata)
        .map(|meta| clusterdef_fs::Stamp::of(&meta).to_text())
        .unwrap_or_else(|_| format!("unknown {:?}", std::time::SystemTime::now()));
    format!("clusterdef {} {stamp}", env!("CARGO_PKG_VERSION"))
}

/// Whether `dir` holds, untouched, a render of `source` (a [`fingerprint`]): its manifest names
/// that source, no write is in progress or was interrupted there, and every file it lists is
/// still, by its stamp (size, times, inode, device), what clusterdef wrote. Then the report of
/// a render that would change nothing; else `None` (render and write as usual). Reads no file
/// but the manifest. O(files).
pub fn up_to_date(dir: &Path, source: u64) -> Result<Option<WriteReport>, WriteError> {
    // The header says whether the source is the same; only then is the rest read.
    let named = match fs::symlink_metadata(dir.join(MANIFEST)) {
        Ok(meta) if meta.is_file() => Manifest::source_in(dir)?,
        _ => return Ok(None),
    };
    if named != Some(source) {
        return Ok(None);
    }
    let manifest = Manifest::read(dir)?;
    if manifest.source != Some(source)
        || dir.join(STAGE).symlink_metadata().is_ok()
        || dir.join(LOCK).symlink_metadata().is_ok()
    {
        return Ok(None);
    }
    let mut unchanged = Vec::with_capacity(manifest.files.len());
    for (rel, entries) in &manifest.files {
        let [entry] = entries.as_slice() else { return Ok(None) };
        let stamp = match fs::symlink_metadata(dir.join(rel)) {
            Ok(meta) if meta.is_file() => clusterdef_fs::Stamp::of(&meta),
            _ => return Ok(None),
        };
        if entry.stamp != Some(stamp) {
            return Ok(None);
        }
        unchanged.push(rel.clone());
    }
    Ok(Some(WriteReport { written: Vec::new(), unchanged, removed: Vec::new() }))
}

/// The source (a [`fingerprint`]) the manifest in `dir` names, read from its header alone:
/// `None` when there is no manifest, it names none, or it cannot be read (a write reports why).
/// Costs one short read whatever the size of the render, so a caller can tell a render of
/// another source at once.
pub fn recorded_source(dir: &Path) -> Option<u64> {
    Manifest::source_in(dir).ok().flatten()
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
    write_from(artifacts, dir, fs_ops, wait, None)
}

/// [`write_with`], recording `source` in the manifest.
fn write_from(
    artifacts: &Artifacts,
    dir: &Path,
    fs_ops: &dyn Fs,
    wait: Duration,
    source: Option<u64>,
) -> Result<WriteReport, WriteError> {
    Prepared::open(dir, wait)?.write_through(artifacts, fs_ops, source)
}

/// Rewrites the manifest with each file's stamp, now that nothing will move them (the stage is
/// gone, and with it the hard links that carried files). A file the write did not touch has
/// the stamp the checks saw (`untouched`); the others are looked at again. (A file changed
/// after that look keeps the older stamp, so it is compared by its bytes next time.) A stamp is recorded only when it is
/// older than the manifest itself (the kernel stamps times from a coarse clock, so a change in
/// the same tick as the recording would keep them: such a file is compared by its bytes next
/// time, as git does with "racily clean" entries). A kill before the rename leaves the manifest
/// the commit put there, without stamps, which is read as before. O(files).
fn stamp_manifest<'m>(
    dir: &Path,
    lines: &[manifest::Line<'_>],
    source: Option<u64>,
    untouched: impl Fn(&str) -> Option<&'m fs::Metadata> + Sync,
) -> Result<(), WriteError> {
    use std::io::Write as _;
    let tmp = dir.join(".clusterdef-manifest.new");
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_at(&tmp)(e)),
        _ => {}
    }
    let mut file = fs::OpenOptions::new().write(true).create_new(true).open(&tmp).map_err(io_at(&tmp))?;
    let now = fs::symlink_metadata(&tmp).map(|m| clusterdef_fs::Stamp::of(&m)).map_err(io_at(&tmp))?;
    let text = Manifest::text_with(lines, source, |rel| {
        let stamp = match untouched(rel) {
            Some(meta) => clusterdef_fs::Stamp::of(meta.is_file().then_some(meta)?),
            None => clusterdef_fs::Stamp::of(&fs::symlink_metadata(dir.join(rel)).ok().filter(|m| m.is_file())?),
        };
        (stamp.changed < now.changed && stamp.modified < now.changed).then_some(stamp)
    });
    file.write_all(text.as_bytes()).map_err(io_at(&tmp))?;
    drop(file);
    fs::rename(&tmp, dir.join(MANIFEST)).map_err(io_at(&dir.join(MANIFEST)))
}
