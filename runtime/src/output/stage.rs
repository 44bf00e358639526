//! Building the new tree in the stage: files written, unchanged and foreign ones carried.

use super::manifest::{Current, current_bytes, holds_ours, unit_of};
use super::prepared::File;
use super::*;

/// One entry to swap in, after staging: a top-level entry, or one directly inside a top-level
/// directory, by its `/`-separated path.
pub(super) struct Swap {
    pub(super) name: String,
    /// Whether an entry of that name is there now.
    pub(super) replaces: bool,
    /// Whether the entry goes without a replacement (it held only files of the previous render
    /// that this one no longer makes).
    pub(super) removes: bool,
}

/// A file to stage: its path, and its bytes (`None`: kept as the directory holds it).
type StagedFile<'a> = (&'a str, Option<&'a [u8]>);

/// Builds the new tree in the stage.
pub(super) struct Stager<'a> {
    pub(super) dir: &'a Path,
    pub(super) stage: &'a Path,
    pub(super) fs_ops: &'a dyn Fs,
    /// Directories already created in the stage.
    pub(super) made: BTreeSet<PathBuf>,
    /// Files to write into the stage, written together by [`Stager::flush`].
    pub(super) pending: Vec<(PathBuf, &'a [u8])>,
    /// What the checks saw of every entry of the managed tree, by relative path.
    pub(super) seen: &'a Seen,
}

impl<'a> Stager<'a> {
    pub(super) fn parent_of(&mut self, path: &Path) -> Result<(), WriteError> {
        if let Some(parent) = path.parent()
            && !self.made.contains(parent)
        {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
            self.made.insert(parent.to_path_buf());
        }
        Ok(())
    }

    pub(super) fn write(&mut self, rel: &str, bytes: &'a [u8]) -> Result<(), WriteError> {
        let path = self.stage.join(rel);
        self.parent_of(&path)?;
        self.pending.push((path, bytes));
        Ok(())
    }

    /// Stages a file of the render: its bytes written, or, for a config the render left out
    /// (`None`: the directory holds it unchanged), the file there carried.
    fn put(&mut self, rel: &str, bytes: Option<&'a [u8]>) -> Result<(), WriteError> {
        match bytes {
            Some(bytes) => self.write(rel, bytes),
            None => self.carry(Path::new(rel)),
        }
    }

    /// Writes the pending files, on every core: creating many small files is the kernel's work
    /// per file, which runs in parallel.
    pub(super) fn flush(&mut self) -> Result<(), WriteError> {
        let pending = std::mem::take(&mut self.pending);
        let fs_ops = self.fs_ops;
        crate::parallel::map(&pending, |(path, bytes)| fs_ops.write(path, bytes).map_err(io_at(path)))
            .into_iter()
            .collect()
    }

    /// Carries a file of the current tree into the stage, as a hard link where the file system
    /// allows it, else as a copy with its modification time; a symlink is carried as a symlink
    /// (never followed).
    pub(super) fn carry(&mut self, rel: &Path) -> Result<(), WriteError> {
        let (from, to) = (self.dir.join(rel), self.stage.join(rel));
        self.parent_of(&to)?;
        let meta = match self.seen.get(&*rel.to_string_lossy()) {
            Some(meta) => meta.clone(),
            None => fs::symlink_metadata(&from).map_err(io_at(&from))?,
        };
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

    /// Stages every entry that changes (`units`: those the render makes and those the previous
    /// render made, each a top-level entry or, inside a top-level directory in `split`, an entry
    /// directly in it), and the manifest; returns what the write will do and the entries to swap
    /// in. An entry the render no longer makes is staged like any other: the user's files in it
    /// are carried, the previous render's are left behind, and the entry is swapped (or
    /// removed) whole, never pruned file by file. A changed machine's file in `cloud-config/` is
    /// so swapped alone, and its 9,999 neighbours are not touched.
    pub(super) fn stage_all(
        &mut self,
        files: &'a [File<'a>],
        units: &BTreeSet<&str>,
        split: &BTreeSet<&str>,
        previous: &Manifest,
        states: &HashMap<&str, Current, PathHash>,
        manifest: &'a str,
    ) -> Result<(WriteReport, Vec<Swap>), WriteError> {
        let same = |rel: &str| states.get(rel) == Some(&Current::Same);
        let mut report = WriteReport::default();
        let mut swaps = Vec::new();
        // Each unit with its files, in the units' order: the files sorted by unit (a stable sort
        // of a list nearly in that order already, so near-linear, each unit's files kept in path
        // order), then walked beside the units. O(files + units).
        let mut by_path: Vec<(&str, StagedFile<'_>)> =
            files.iter().map(|f| (unit_of(f.rel, split), (f.rel, f.bytes))).collect();
        by_path.sort_by(|a, b| a.0.cmp(b.0));
        let mut files_of = by_path.into_iter().peekable();
        let by_unit = units.iter().map(|unit| {
            let mut files = Vec::new();
            while let Some((_, file)) = files_of.next_if(|(u, _)| u == unit) {
                files.push(file);
            }
            (*unit, files)
        });
        let seen = self.seen;
        for (entry, files) in by_unit {
            // What the checks saw there (nothing: not there); no second look per entry.
            let current_meta = seen.get(entry);
            let is_file = files.len() == 1 && files[0].0 == entry;
            if is_file {
                let (rel, bytes) = files[0];
                if same(rel) {
                    report.unchanged.push(rel.to_string());
                } else {
                    self.put(rel, bytes)?;
                    report.written.push(rel.to_string());
                    swaps.push(Swap { name: entry.to_string(), replaces: current_meta.is_some(), removes: false });
                }
                continue;
            }
            match &current_meta {
                None => {
                    // A new directory: every file is written, nothing is carried.
                    for (rel, bytes) in &files {
                        self.put(rel, *bytes)?;
                        report.written.push(rel.to_string());
                    }
                    if !files.is_empty() {
                        swaps.push(Swap { name: entry.to_string(), replaces: false, removes: false });
                    }
                    continue;
                }
                Some(meta) if !meta.is_dir() => {
                    // A file of the previous render (or the user's) where this one makes a
                    // directory, or one it no longer makes.
                    let ours = previous.contains(entry) && holds_ours(self.dir, entry, previous)?;
                    if files.is_empty() {
                        if ours {
                            report.removed.push(entry.to_string());
                            swaps.push(Swap { name: entry.to_string(), replaces: true, removes: true });
                        }
                        continue;
                    }
                    if !ours {
                        return Err(WriteError::NotOurs(self.dir.join(entry)));
                    }
                    for (rel, bytes) in &files {
                        self.put(rel, *bytes)?;
                        report.written.push(rel.to_string());
                    }
                    report.removed.push(entry.to_string());
                    swaps.push(Swap { name: entry.to_string(), replaces: true, removes: false });
                    continue;
                }
                Some(_) => {}
            }
            let existing = files_under(self.dir, Path::new(entry))?;
            let mut written = Vec::new();
            let mut unchanged = Vec::new();
            for (rel, bytes) in &files {
                if existing.files.contains(Path::new(rel)) && same(rel) {
                    unchanged.push(*rel);
                } else {
                    written.push((*rel, *bytes));
                }
            }
            let new: BTreeSet<&Path> = files.iter().map(|(rel, _)| Path::new(*rel)).collect();
            let mut stale: Vec<&PathBuf> = Vec::new();
            for f in existing.files.iter().filter(|f| !new.contains(f.as_path())) {
                let Some(rel) = f.to_str().filter(|p| previous.contains(p)) else { continue };
                // Changed since clusterdef wrote it: someone else's now, carried.
                if holds_ours(self.dir, rel, previous)? {
                    stale.push(f);
                }
            }
            report.unchanged.extend(unchanged.iter().map(|r| r.to_string()));
            if written.is_empty() && stale.is_empty() {
                continue;
            }
            for (rel, bytes) in &written {
                self.put(rel, *bytes)?;
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
            if !removes && !self.stage.join(entry).exists() {
                fs::create_dir_all(self.stage.join(entry)).map_err(io_at(&self.stage.join(entry)))?;
            }
            swaps.push(Swap { name: entry.to_string(), replaces: true, removes });
        }
        if current_bytes(&self.dir.join(MANIFEST))?.as_deref() != Some(manifest.as_bytes()) {
            self.write(MANIFEST, manifest.as_bytes())?;
        }
        Ok((report, swaps))
    }
}

/// The files (and symlinks) under `dir/top`, relative to `dir`, and its empty directories. Links
/// are listed, never followed. O(entries).
pub(super) struct Tree {
    pub(super) files: BTreeSet<PathBuf>,
    pub(super) empty_dirs: Vec<PathBuf>,
}

pub(super) fn files_under(dir: &Path, top: &Path) -> Result<Tree, WriteError> {
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
pub(super) fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    std::os::unix::fs::symlink(target, link)
}

#[cfg(not(unix))]
pub(super) fn symlink(target: &Path, link: &Path) -> io::Result<()> {
    fs::copy(target, link).map(|_| ())
}
