//! An output directory made ready for a write: locked, its manifest read, what an interrupted
//! write set aside put back, and every entry of the previous render looked at once. None of it
//! needs the new render, so a caller can prepare the directory on one thread while it renders
//! on another ([`Prepared::open`], then [`Prepared::write`]); a re-render then pays for looking
//! at ten thousand files while the configs are being formatted, not after.

use std::sync::atomic::AtomicBool;

use super::*;

/// An output directory, locked for one write and looked at: what its manifest says clusterdef
/// wrote, and what the file system says of every entry under the previous render's top-level
/// entries. Dropping it without writing releases the lock and changes nothing more (an
/// interrupted write's entries may have been put back, as any write does first).
pub struct Prepared {
    dir: PathBuf,
    device: u64,
    _lock: Lock,
    previous: Manifest,
    /// What the checks saw of every entry under the top-level entries in `walked`, by
    /// `/`-separated relative path.
    seen: Seen,
    walked: BTreeSet<String>,
}

impl Prepared {
    /// Creates `dir` if missing, takes its lock (waiting up to `wait` for another write), reads
    /// its manifest, puts back what an interrupted write set aside, and checks every entry under
    /// the previous render's top-level entries (see [`crate::output`]: a symlink or another file
    /// system there stops the write before anything changes). O(entries under them).
    pub fn open(dir: &Path, wait: Duration) -> Result<Prepared, WriteError> {
        Prepared::open_unless(dir, wait, &AtomicBool::new(false))
    }

    /// [`Prepared::open`], giving up waiting for another write's lock as soon as `cancel` is
    /// set (then [`WriteError::Locked`]): for a caller that prepares the directory while it
    /// reads the declaration, and stops waiting when the declaration is refused.
    pub fn open_unless(dir: &Path, wait: Duration, cancel: &AtomicBool) -> Result<Prepared, WriteError> {
        fs::create_dir_all(dir).map_err(io_at(dir))?;
        let device = fs::metadata(dir).map(|m| clusterdef_fs::device(&m)).map_err(io_at(dir))?;
        let lock = Lock::acquire(dir, wait, cancel)?;
        let previous = Manifest::read(dir)?;
        recover(dir, &dir.join(STAGE), &previous, device)?;
        let walked: BTreeSet<String> = previous.tops().into_iter().map(str::to_string).collect();
        let mut seen = Seen::default();
        for top in &walked {
            check_managed(dir, Path::new(top), device, &mut seen)?;
        }
        Ok(Prepared { dir: dir.to_path_buf(), device, _lock: lock, previous, seen, walked })
    }

    /// The report of a render that would change nothing, when the directory holds, untouched, a
    /// render of `source` (a [`fingerprint`]): the manifest names that source and every file it
    /// lists is, by what the checks saw of it (size, times, inode, device), what clusterdef
    /// wrote. Else `None`: render and write. Asks the file system nothing more. O(files).
    pub fn up_to_date(&self, source: u64) -> Option<WriteReport> {
        if self.previous.source != Some(source) {
            return None;
        }
        let mut unchanged = Vec::with_capacity(self.previous.files.len());
        for (rel, entries) in &self.previous.files {
            let [entry] = entries.as_slice() else { return None };
            let meta = self.seen.get(rel).filter(|m| m.is_file())?;
            if entry.stamp != Some(clusterdef_fs::Stamp::of(meta)) {
                return None;
            }
            unchanged.push(rel.clone());
        }
        Some(WriteReport { written: Vec::new(), unchanged, removed: Vec::new() })
    }

    /// Writes `artifacts`, rendered from `source` (a [`fingerprint`], recorded in the manifest
    /// for [`up_to_date`]), into the directory; see [`crate::output`] for the guarantees.
    pub fn write(self, artifacts: &Artifacts, source: u64) -> Result<WriteReport, WriteError> {
        self.write_through(artifacts, &RealFs, Some(source))
    }

    /// [`Prepared::write`] through `fs_ops`, recording `source` when there is one.
    pub(super) fn write_through(
        mut self,
        artifacts: &Artifacts,
        fs_ops: &dyn Fs,
        source: Option<u64>,
    ) -> Result<WriteReport, WriteError> {
        let (dir, previous) = (self.dir.as_path(), &self.previous);
        // Check every entry first, so a refusal leaves the directory as it was: the new
        // render's top-level entries that the previous one did not make are looked at now.
        let mut new_tops: Vec<&str> = artifacts.paths().map(top_of).collect();
        new_tops.sort_unstable();
        new_tops.dedup();
        new_tops.retain(|t| !self.walked.contains(*t));
        for top in new_tops {
            check_managed(dir, Path::new(top), self.device, &mut self.seen)?;
        }
        let seen = &self.seen;
        // What is at each artifact's path now: known from the manifest's stamps where they
        // match, else read in blocks; never a whole file in memory. Hashed and judged on every
        // core; the first refusal in path order is the one reported.
        let files: Vec<(&str, &[u8])> = artifacts.iter().collect();
        let judged = crate::parallel::map(&files, |(rel, bytes)| {
            let hash = manifest::content_hash(bytes);
            check_parents(dir, rel, seen)?;
            match current(dir, rel, bytes, hash, previous, seen.get(*rel))? {
                Current::Foreign => Err(WriteError::NotOurs(dir.join(rel))),
                state => Ok((hash, state)),
            }
        });
        let mut hashes: Vec<u64> = Vec::with_capacity(files.len());
        let mut states: HashMap<&str, Current, PathHash> =
            HashMap::with_capacity_and_hasher(files.len(), PathHash::default());
        for ((rel, _), judged) in files.iter().zip(judged) {
            let (hash, state) = judged?;
            hashes.push(hash);
            states.insert(rel, state);
        }
        let manifest = Manifest::text(artifacts, &hashes, source);
        // A top-level directory that is one now and stays one is changed entry by entry inside
        // it; any other top-level entry is swapped whole.
        let nested: BTreeSet<&str> = artifacts.paths().filter(|rel| rel.contains('/')).map(top_of).collect();
        let split: BTreeSet<&str> =
            nested.into_iter().filter(|top| seen.get(*top).is_some_and(fs::Metadata::is_dir)).collect();
        // Both lists come in path order: sorted and deduplicated once, the set built in one pass.
        let mut units: Vec<&str> = artifacts
            .paths()
            .chain(previous.files.keys().map(String::as_str))
            .map(|rel| unit_of(rel, &split))
            .collect();
        units.sort();
        units.dedup();
        let units: BTreeSet<&str> = units.into_iter().collect();
        let stage = dir.join(STAGE);
        fs::create_dir_all(&stage).map_err(io_at(&stage))?;
        let mut writer = Stager { dir, stage: &stage, fs_ops, made: BTreeSet::new(), pending: Vec::new(), seen };
        let staged = writer.stage_all(artifacts, &units, &split, previous, &states, &manifest).and_then(|staged| {
            writer.flush()?;
            Ok(staged)
        });
        // Entries a swap moves (or whose files it links anew) are looked at again for their
        // stamps; every other file is as the checks saw it.
        let mut swapped: HashSet<String, PathHash> = HashSet::default();
        let result = staged.and_then(|(report, swaps)| {
            swapped.extend(swaps.iter().map(|s| s.name.clone()));
            commit(dir, &stage, fs_ops, report, swaps)
        });
        let _ = fs::remove_dir_all(&stage);
        let report = result?;
        let untouched = |rel: &str| if swapped.contains(unit_of(rel, &split)) { None } else { seen.get(rel) };
        stamp_manifest(dir, artifacts, &hashes, source, untouched)?;
        Ok(report)
    }
}
