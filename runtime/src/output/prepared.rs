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
    /// The fingerprint of the program writing ([`program`]), mixed into each config's inputs
    /// as the manifest records them: a rebuilt clusterdef keeps no config.
    program: u64,
}

/// A file of a write: made by the render (its bytes), or kept as the directory holds it.
#[derive(Clone, Copy)]
pub(super) struct File<'a> {
    pub(super) rel: &'a str,
    /// `None`: a config the render left out, unchanged in the directory.
    pub(super) bytes: Option<&'a [u8]>,
    /// For a config, its inputs as the manifest records them.
    pub(super) inputs: Option<u64>,
}

/// The files of `artifacts`, made and kept, in path order, each config with its inputs mixed
/// with `program`. O(files).
fn files_of(artifacts: &Artifacts, program: u64) -> Vec<File<'_>> {
    let inputs = |rel: &str| artifacts.inputs(rel).map(|c| recorded(program, c.fingerprint));
    let mut made =
        artifacts.iter().map(|(rel, bytes)| File { rel, bytes: Some(bytes), inputs: inputs(rel) }).peekable();
    let mut kept = artifacts.kept().map(|rel| File { rel, bytes: None, inputs: inputs(rel) }).peekable();
    let mut out = Vec::with_capacity(artifacts.len());
    // Both lists come in path order: merged in one pass.
    loop {
        let next = match (made.peek(), kept.peek()) {
            (Some(m), Some(k)) if m.rel <= k.rel => made.next(),
            (Some(_), Some(_)) => kept.next(),
            (Some(_), None) => made.next(),
            (None, Some(_)) => kept.next(),
            (None, None) => break,
        };
        out.extend(next);
    }
    out
}

/// A config's inputs as the manifest records them: mixed with the program that renders.
fn recorded(program: u64, inputs: u64) -> u64 {
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&program.to_le_bytes());
    bytes[8..].copy_from_slice(&inputs.to_le_bytes());
    clusterdef_fs::content_hash(&bytes)
}

/// The directory holds the config at `rel` made from `inputs` when the previous render's
/// manifest records it, alone, made from these inputs by this program, with a hash of its
/// bytes, and the file is as the checks saw it, by its stamp, what clusterdef wrote.
impl crate::render::Keep for Prepared {
    fn keeps(&self, rel: &str, inputs: u64) -> bool {
        self.kept_hash(rel, recorded(self.program, inputs)).is_some()
    }
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
        let program = clusterdef_fs::content_hash(super::program().as_bytes());
        Ok(Prepared { dir: dir.to_path_buf(), device, _lock: lock, previous, seen, walked, program })
    }

    /// The hash of the config at `rel` as the directory holds it, when it holds it made from
    /// the inputs the manifest records as `recorded` ([`crate::render::Keep`]): else `None`.
    fn kept_hash(&self, rel: &str, recorded: u64) -> Option<u64> {
        let [entry] = self.previous.entries(rel) else { return None };
        let meta = self.seen.get(rel).filter(|m| m.is_file())?;
        let holds = entry.inputs == Some(recorded)
            && entry.digest == manifest::Digest::Content
            && entry.stamp == Some(clusterdef_fs::Stamp::of(meta));
        holds.then_some(entry.hash).flatten()
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
        let files = files_of(artifacts, self.program);
        // Check every entry first, so a refusal leaves the directory as it was: the new
        // render's top-level entries that the previous one did not make are looked at now.
        let mut new_tops: Vec<&str> = files.iter().map(|f| top_of(f.rel)).collect();
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
        // A config the render left out is what the directory holds: its hash is the manifest's.
        let this = &self;
        let judged = crate::parallel::map(&files, |file| {
            check_parents(dir, file.rel, seen)?;
            let Some(bytes) = file.bytes else {
                return match file.inputs.and_then(|recorded| this.kept_hash(file.rel, recorded)) {
                    Some(hash) => Ok((hash, Current::Same)),
                    None => Err(WriteError::Foreign {
                        path: dir.join(file.rel),
                        why: "the render left it out as the directory held it, and it is not held so".to_string(),
                    }),
                };
            };
            let hash = manifest::content_hash(bytes);
            match current(dir, file.rel, bytes, hash, previous, seen.get(file.rel))? {
                Current::Foreign => Err(WriteError::NotOurs(dir.join(file.rel))),
                state => Ok((hash, state)),
            }
        });
        let mut lines: Vec<manifest::Line<'_>> = Vec::with_capacity(files.len());
        let mut states: HashMap<&str, Current, PathHash> =
            HashMap::with_capacity_and_hasher(files.len(), PathHash::default());
        for (file, judged) in files.iter().zip(judged) {
            let (hash, state) = judged?;
            lines.push(manifest::Line { rel: file.rel, hash, inputs: file.inputs });
            states.insert(file.rel, state);
        }
        let manifest = Manifest::text(&lines, source);
        // A top-level directory that is one now and stays one is changed entry by entry inside
        // it; any other top-level entry is swapped whole.
        let nested: BTreeSet<&str> = files.iter().map(|f| f.rel).filter(|rel| rel.contains('/')).map(top_of).collect();
        let split: BTreeSet<&str> =
            nested.into_iter().filter(|top| seen.get(*top).is_some_and(fs::Metadata::is_dir)).collect();
        // Both lists come in path order: sorted and deduplicated once, the set built in one pass.
        let mut units: Vec<&str> = files
            .iter()
            .map(|f| f.rel)
            .chain(previous.files.keys().map(String::as_str))
            .map(|rel| unit_of(rel, &split))
            .collect();
        units.sort();
        units.dedup();
        let units: BTreeSet<&str> = units.into_iter().collect();
        let stage = dir.join(STAGE);
        fs::create_dir_all(&stage).map_err(io_at(&stage))?;
        let mut writer = Stager { dir, stage: &stage, fs_ops, made: BTreeSet::new(), pending: Vec::new(), seen };
        let staged = writer.stage_all(&files, &units, &split, previous, &states, &manifest).and_then(|staged| {
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
        stamp_manifest(dir, &lines, source, untouched)?;
        Ok(report)
    }
}
