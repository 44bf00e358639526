//! The manifest: what clusterdef wrote into an output directory, each file with the hash of
//! its bytes and, once the write is over, the file system's stamp of it (size, times, inode),
//! and what the render was made from. A later render knows a file it wrote is unchanged from
//! its stamp alone, without reading it, and a render whose source and files are all as recorded
//! has nothing to do.
//!
//! ```text
//! # Files written by clusterdef. …
//! # clusterdef-manifest 4 source=0123456789abcdef
//! 89abcdef01234567 130.1733…123.1733…123.4211.2049 0a1b2c3d4e5f6071 cloud-config/central-1.yml
//! fedcba9876543210 - - plan.txt
//! ```
//!
//! Each line: the hash of the bytes, the stamp, the fingerprint of the config's inputs (mixed
//! with the program that rendered it), the path. A stamp of `-` is unknown (the file is compared
//! by its bytes); inputs of `-` are none (not a config: always rendered). Older manifests
//! (version 3 and 2 without inputs, older still a hash and a path, or a path alone) are read as
//! they were written.

use clusterdef_fs::Stamp;

use super::*;

/// The most bytes of a manifest read: 64 MiB, a million paths.
pub(super) const MAX_MANIFEST: u64 = 64 << 20;

/// The largest output file compared with what a render would write: one larger differs.
pub(super) const MAX_COMPARED: u64 = 1 << 30;

/// The longest manifest line read: a path is at most 4,096 bytes; a longer line is no entry
/// (and is never echoed into a message).
const MAX_LINE: usize = 4_200;

/// How much of a manifest [`Manifest::source_in`] reads: its two header lines fit.
const HEADER_BYTES: u64 = 512;

/// How the second header line of a manifest that carries stamps and a source begins; the
/// version follows.
const VERSION_PREFIX: &str = "# clusterdef-manifest ";

/// The version this release writes: 4, each config with the fingerprint of its inputs. Version 3
/// hashed by [`clusterdef_fs::content_hash`] too, without inputs; version 2 (stamps and a source)
/// and the versions before it (a hash and a path, or a path alone) hashed by FNV-1a; they are
/// read as they were written.
pub(super) const VERSION: u32 = 4;

/// Which hash an entry carries: the one of the manifest section it was read from (a union
/// manifest, written while a write is committed, holds the previous render's section and the
/// new one's, which may differ after an upgrade).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Digest {
    /// FNV-1a, 64 bits: manifests of version 2 and before.
    Fnv1a,
    /// [`clusterdef_fs::content_hash`]: version 3 on.
    Content,
}

impl Digest {
    /// The hash of `bytes` by this digest.
    pub(super) fn of(self, bytes: &[u8]) -> u64 {
        match self {
            Digest::Fnv1a => clusterdef_fs::fnv1a(bytes),
            Digest::Content => clusterdef_fs::content_hash(bytes),
        }
    }
}

/// One thing the manifest says of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// The hash of the bytes written (`None`: an old manifest that listed paths only).
    pub(super) hash: Option<u64>,
    /// Which hash `hash` is.
    pub(super) digest: Digest,
    /// The file's stamp once written (`None`: unknown, compare the bytes).
    pub(super) stamp: Option<Stamp>,
    /// For a config, the fingerprint of what it was made from, mixed with the program that
    /// made it (`None`: not a config, or an older manifest).
    pub(super) inputs: Option<u64>,
}

/// One line of a manifest being written: a file, the hash of its bytes, and for a config the
/// fingerprint of its inputs.
#[derive(Clone, Copy, Debug)]
pub(super) struct Line<'a> {
    pub(super) rel: &'a str,
    pub(super) hash: u64,
    pub(super) inputs: Option<u64>,
}

/// The hashes of bytes seen in pieces, in each digest the entries of one path use: a file is
/// read once, in blocks, whichever hashes its entries carry.
pub(super) struct Hashes {
    fnv1a: Option<u64>,
    content: Option<clusterdef_fs::ContentHasher>,
}

impl Hashes {
    /// Hashers for the digests `entries` use.
    pub(super) fn for_entries(entries: &[Entry]) -> Hashes {
        let uses = |d: Digest| entries.iter().any(|e| e.hash.is_some() && e.digest == d);
        Hashes {
            fnv1a: uses(Digest::Fnv1a).then_some(FNV_OFFSET),
            content: uses(Digest::Content).then(clusterdef_fs::ContentHasher::new),
        }
    }

    /// Feeds the next block.
    pub(super) fn update(&mut self, block: &[u8]) {
        if let Some(hash) = &mut self.fnv1a {
            *hash = fnv1a_extend(*hash, block);
        }
        if let Some(hasher) = &mut self.content {
            hasher.update(block);
        }
    }

    /// Whether the bytes fed are what `entry` says clusterdef wrote.
    pub(super) fn match_any(&self, entries: &[Entry]) -> bool {
        entries.iter().any(|e| match (e.hash, e.digest) {
            (None, _) => true,
            (Some(h), Digest::Fnv1a) => self.fnv1a == Some(h),
            (Some(h), Digest::Content) => self.content.as_ref().is_some_and(|c| c.finish() == h),
        })
    }
}

/// FNV-1a's starting value.
const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

/// What the manifest in an output directory says clusterdef wrote: each path, with the FNV-1a
/// hash of the bytes it wrote there and their stamp. A file whose bytes no longer hash to that
/// value has been changed by someone else, and is no longer clusterdef's to replace or remove.
#[derive(Clone, Debug, Default)]
pub(super) struct Manifest {
    /// Each path with what it may hold as clusterdef's: one entry, or two while a write is
    /// being committed (the union manifest), so a write killed between its swaps still knows
    /// both renders' files as its own.
    pub(super) files: BTreeMap<String, Vec<Entry>>,
    /// The fingerprint of what the render was made from ([`crate::output::fingerprint`]).
    pub(super) source: Option<u64>,
}

impl Manifest {
    /// Reads the manifest in `dir` (none: empty). A manifest that is a symlink, or not a regular
    /// file, is refused rather than read through.
    pub(super) fn read(dir: &Path) -> Result<Manifest, WriteError> {
        let path = dir.join(MANIFEST);
        let text = match clusterdef_fs::read_own(&path, MAX_MANIFEST) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => {
                return Ok(Manifest::default());
            }
            Err(e) => return Err(WriteError::Foreign { path, why: e.to_string() }),
        };
        Ok(Manifest::parse(&text))
    }

    /// The source the manifest in `dir` names, read from its header alone (none: no manifest,
    /// or one without a source), so a render of another source pays nothing for the rest.
    pub(super) fn source_in(dir: &Path) -> Result<Option<u64>, WriteError> {
        let path = dir.join(MANIFEST);
        let head = match clusterdef_fs::head_own(&path, HEADER_BYTES) {
            Ok(bytes) => bytes,
            Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(WriteError::Foreign { path, why: e.to_string() }),
        };
        // Only whole lines: a source cut off at the end of the head is no source.
        let whole = head.iter().rposition(|b| *b == b'\n').map_or(&head[..0], |end| &head[..end]);
        let text = String::from_utf8_lossy(whole);
        Ok(text.lines().take_while(|l| l.starts_with('#')).find_map(Manifest::version_line).and_then(|(_, s)| s))
    }

    /// The version and source a version line names (`None`: not a version line).
    fn version_line(line: &str) -> Option<(u32, Option<u64>)> {
        let mut words = line.strip_prefix(VERSION_PREFIX)?.split_whitespace();
        let version = words.next()?.parse().ok()?;
        let source = words.find_map(|w| w.strip_prefix("source=")).and_then(|h| u64::from_str_radix(h, 16).ok());
        Some((version, source))
    }

    /// A manifest's text, read. O(lines).
    pub(super) fn parse(text: &str) -> Manifest {
        let mut manifest = Manifest::default();
        let mut lines: Vec<(&str, Entry)> = Vec::new();
        // Each section's version line says how its entries read: before any, an old manifest
        // (no stamps, FNV-1a).
        let (mut stamped, mut digest, mut with_inputs) = (false, Digest::Fnv1a, false);
        for line in text.lines().filter(|l| !l.is_empty() && l.len() <= MAX_LINE) {
            if let Some((version, source)) = Manifest::version_line(line) {
                manifest.source = source;
                stamped = true;
                digest = if version >= 3 { Digest::Content } else { Digest::Fnv1a };
                with_inputs = version >= 4;
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let hex = |h: &str| {
                (h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                    .then(|| u64::from_str_radix(h, 16).ok())
                    .flatten()
            };
            let (entry, rel) = match line.split_once(' ') {
                Some((hash, rest)) if hex(hash).is_some() => {
                    let hash = hex(hash);
                    match rest.split_once(' ').filter(|_| stamped) {
                        Some((stamp, rest)) => {
                            let stamp = Stamp::parse(stamp);
                            match rest.split_once(' ').filter(|_| with_inputs) {
                                Some((inputs, rel)) => (Entry { hash, digest, stamp, inputs: hex(inputs) }, rel),
                                None => (Entry { hash, digest, stamp, inputs: None }, rest),
                            }
                        }
                        None => (Entry { hash, digest, stamp: None, inputs: None }, rest),
                    }
                }
                _ => (Entry { hash: None, digest, stamp: None, inputs: None }, line),
            };
            // A manifest edited by hand cannot point outside the directory, nor name what no
            // file system can (a NUL byte).
            if rel.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0')) {
                lines.push((rel, entry));
            }
        }
        // Grouped by path in one sorted pass (a manifest clusterdef wrote is sorted already, so
        // the sort only checks), and the map built from the sorted list in O(lines).
        lines.sort_by(|a, b| a.0.cmp(b.0));
        let mut grouped: Vec<(String, Vec<Entry>)> = Vec::with_capacity(lines.len());
        for (rel, entry) in lines {
            match grouped.last_mut() {
                Some((last, entries)) if last == rel => entries.push(entry),
                _ => grouped.push((rel.to_string(), vec![entry])),
            }
        }
        manifest.files = grouped.into_iter().collect();
        manifest
    }

    /// The manifest's text for `lines` (in path order), without stamps: what a write commits
    /// before it knows them.
    pub(super) fn text(lines: &[Line<'_>], source: Option<u64>) -> String {
        Manifest::text_with(lines, source, |_| None)
    }

    /// The manifest's text, each file with the stamp `stamp` gives it (or `-`). O(files),
    /// formatted in blocks on every core (the stamps of ten thousand files are each a look at
    /// the file system or a table), joined in path order.
    pub(super) fn text_with(
        lines: &[Line<'_>],
        source: Option<u64>,
        stamp: impl Fn(&str) -> Option<Stamp> + Sync,
    ) -> String {
        use std::fmt::Write as _;
        let mut text = String::from(MANIFEST_HEADER);
        text.push_str(VERSION_PREFIX);
        text.push_str(&VERSION.to_string());
        match source {
            Some(s) => text.push_str(&format!(" source={s:016x}\n")),
            None => text.push('\n'),
        }
        let blocks: Vec<&[Line<'_>]> = lines.chunks(128).collect();
        let formatted = crate::parallel::map(&blocks, |block| {
            let mut text = String::with_capacity(block.iter().map(|line| line.rel.len() + 100).sum());
            for Line { rel, hash, inputs } in *block {
                // Writing into a String cannot fail.
                let _ = write!(text, "{hash:016x} ");
                match stamp(rel) {
                    Some(s) => s.write_text(&mut text),
                    None => text.push('-'),
                }
                match inputs {
                    Some(inputs) => {
                        let _ = write!(text, " {inputs:016x} ");
                    }
                    None => text.push_str(" - "),
                }
                text.push_str(rel);
                text.push('\n');
            }
            text
        });
        text.reserve(formatted.iter().map(String::len).sum());
        formatted.iter().for_each(|block| text.push_str(block));
        text
    }

    pub(super) fn contains(&self, rel: &str) -> bool {
        self.files.contains_key(rel)
    }

    /// The top-level entries the manifest's files lie in.
    pub(super) fn tops(&self) -> BTreeSet<&str> {
        self.files.keys().map(|p| top_of(p)).collect()
    }

    /// Whether the manifest lists `entry` itself or a file under it.
    pub(super) fn names(&self, entry: &str) -> bool {
        self.under(entry).next().is_some()
    }

    /// The paths the manifest lists at `entry` or under it, in order: O(log files + those).
    pub(super) fn under<'a>(&'a self, entry: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.files
            .range::<str, _>((std::ops::Bound::Included(entry), std::ops::Bound::Unbounded))
            .map(|(rel, _)| rel.as_str())
            .take_while(move |rel| rel.starts_with(entry))
            .filter(move |rel| rel.len() == entry.len() || rel.as_bytes()[entry.len()] == b'/')
    }

    /// What the manifest says of `rel` (nothing: not clusterdef's).
    pub(super) fn entries(&self, rel: &str) -> &[Entry] {
        self.files.get(rel).map_or(&[], Vec::as_slice)
    }

    /// Whether `bytes`, found at `rel`, are what clusterdef wrote there.
    pub(super) fn wrote(&self, rel: &str, bytes: &[u8]) -> bool {
        self.entries(rel).iter().any(|e| e.hash.is_none_or(|h| h == e.digest.of(bytes)))
    }

    /// The entry whose stamp says clusterdef's write is at `rel` unchanged, with its hash.
    pub(super) fn known(&self, rel: &str, stamp: &Stamp) -> Option<(u64, Digest)> {
        self.entries(rel).iter().find(|e| e.stamp.as_ref() == Some(stamp)).and_then(|e| Some((e.hash?, e.digest)))
    }
}

/// The top-level entry a relative path lies in.
pub(super) fn top_of(rel: &str) -> &str {
    rel.split('/').next().unwrap_or(rel)
}

/// The entry a write swaps as one to change `rel`: its top-level entry, or, inside a top-level
/// directory that stays one (`split`), the entry directly in it (a machine's file or directory).
pub(super) fn unit_of<'a>(rel: &'a str, split: &BTreeSet<&str>) -> &'a str {
    let top = top_of(rel);
    if !split.contains(top) || rel.len() == top.len() {
        return top;
    }
    let rest = &rel[top.len() + 1..];
    let child = rest.split('/').next().unwrap_or(rest);
    &rel[..top.len() + 1 + child.len()]
}

/// The hash this release records for `bytes` ([`clusterdef_fs::content_hash`]).
pub(super) fn content_hash(bytes: &[u8]) -> u64 {
    clusterdef_fs::content_hash(bytes)
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

/// Whether the file clusterdef manages at `path` holds exactly `bytes` (`None`: nothing there,
/// or a directory), compared in blocks as it is read, never read whole; a symlink, FIFO or
/// device is an error, as [`current_bytes`].
pub fn holds(path: &Path, bytes: &[u8]) -> Result<Option<bool>, WriteError> {
    let (mut same, mut at) = (true, 0usize);
    let streamed = clusterdef_fs::stream_own(path, MAX_COMPARED, &mut |block| {
        same = same && bytes.get(at..at + block.len()) == Some(block);
        at += block.len();
    });
    match streamed {
        Ok(len) => Ok(Some(same && len == bytes.len() as u64)),
        Err(clusterdef_fs::ReadError::TooLarge { .. }) => Ok(Some(false)),
        Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(clusterdef_fs::ReadError::NotRegular(clusterdef_fs::Kind::Directory)) => Ok(None),
        Err(e) => Err(WriteError::Foreign { path: path.to_path_buf(), why: e.to_string() }),
    }
}

/// What is at an artifact's path now, against what a render makes there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Current {
    /// Nothing (or a directory).
    Missing,
    /// The bytes the render makes.
    Same,
    /// Other bytes, which clusterdef wrote (the manifest's hash): its to replace.
    Ours,
    /// Other bytes clusterdef did not write (or changed since).
    Foreign,
}

/// What is at `rel` in `dir` against `bytes` (hashing to `hash` by [`content_hash`]), given
/// what the file system said of it (`meta`, `None` for nothing there): known from its stamp
/// when the manifest's matches, else read in blocks (never whole), compared and hashed in one
/// pass. Never through a symlink, never from a FIFO or device (errors, as [`current_bytes`]).
pub(super) fn current(
    dir: &Path,
    rel: &str,
    bytes: &[u8],
    hash: u64,
    manifest: &Manifest,
    meta: Option<&fs::Metadata>,
) -> Result<Current, WriteError> {
    let Some(meta) = meta else { return Ok(Current::Missing) };
    if meta.is_dir() {
        return Ok(Current::Missing);
    }
    if meta.is_file()
        && let Some((known, digest)) = manifest.known(rel, &Stamp::of(meta))
    {
        // The file holds what that entry says: clusterdef's, the same when the render's bytes
        // hash the same by the entry's digest (an older manifest's FNV-1a is computed for it).
        let rendered = if digest == Digest::Content { hash } else { digest.of(bytes) };
        let same = known == rendered && meta.len() == bytes.len() as u64;
        return Ok(if same { Current::Same } else { Current::Ours });
    }
    let path = dir.join(rel);
    let entries = manifest.entries(rel);
    let mut hashes = Hashes::for_entries(entries);
    let (mut same, mut at) = (true, 0usize);
    let streamed = clusterdef_fs::stream_own(&path, MAX_COMPARED, &mut |block| {
        same = same && bytes.get(at..at + block.len()) == Some(block);
        at += block.len();
        hashes.update(block);
    });
    let judge = |same: bool, ours: bool| match (same, ours) {
        (true, _) => Current::Same,
        (false, true) => Current::Ours,
        (false, false) => Current::Foreign,
    };
    match streamed {
        Ok(len) => Ok(judge(same && len == bytes.len() as u64, hashes.match_any(entries))),
        // Larger than anything compared: not the render's bytes, and clusterdef's only if an
        // entry without a hash (an old manifest) says any bytes there are.
        Err(clusterdef_fs::ReadError::TooLarge { .. }) => Ok(judge(false, entries.iter().any(|e| e.hash.is_none()))),
        Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(Current::Missing),
        Err(clusterdef_fs::ReadError::NotRegular(clusterdef_fs::Kind::Directory)) => Ok(Current::Missing),
        Err(e) => Err(WriteError::Foreign { path, why: e.to_string() }),
    }
}

/// Whether the file at `rel` in `dir` holds what the manifest says clusterdef wrote there:
/// known from its stamp, else read in blocks and hashed. A symlink, FIFO or device is an error
/// (as [`current_bytes`]); nothing there is not clusterdef's.
pub(super) fn holds_ours(dir: &Path, rel: &str, manifest: &Manifest) -> Result<bool, WriteError> {
    let path = dir.join(rel);
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io_at(&path)(e)),
    };
    if meta.is_file() && manifest.known(rel, &Stamp::of(&meta)).is_some() {
        return Ok(true);
    }
    let entries = manifest.entries(rel);
    let mut hashes = Hashes::for_entries(entries);
    match clusterdef_fs::stream_own(&path, MAX_COMPARED, &mut |block| hashes.update(block)) {
        Ok(_) => Ok(hashes.match_any(entries)),
        Err(clusterdef_fs::ReadError::TooLarge { .. }) => Ok(false),
        Err(clusterdef_fs::ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(clusterdef_fs::ReadError::NotRegular(clusterdef_fs::Kind::Directory)) => Ok(false),
        Err(e) => Err(WriteError::Foreign { path, why: e.to_string() }),
    }
}

/// FNV-1a carried on over more bytes.
fn fnv1a_extend(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}
