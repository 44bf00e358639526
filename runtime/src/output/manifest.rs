//! The manifest: what clusterdef wrote into an output directory, each file with the hash of
//! its bytes and, once the write is over, the file system's stamp of it (size, times, inode),
//! and what the render was made from. A later render knows a file it wrote is unchanged from
//! its stamp alone, without reading it, and a render whose source and files are all as recorded
//! has nothing to do.
//!
//! ```text
//! # Files written by clusterdef. …
//! # clusterdef-manifest 2 source=0123456789abcdef
//! 89abcdef01234567 130.1733…123.1733…123.4211.2049 cloud-config/central-1.yml
//! fedcba9876543210 - plan.txt
//! ```
//!
//! A stamp of `-` is unknown (the file is compared by its bytes); older manifests (a hash and a
//! path, or a path alone) are read as they were written.

use clusterdef_fs::Stamp;

use super::*;

/// The most bytes of a manifest read: 64 MiB, a million paths.
pub(super) const MAX_MANIFEST: u64 = 64 << 20;

/// The largest output file compared with what a render would write: one larger differs.
pub(super) const MAX_COMPARED: u64 = 1 << 30;

/// The longest manifest line read: a path is at most 4,096 bytes; a longer line is no entry
/// (and is never echoed into a message).
const MAX_LINE: usize = 4_200;

/// The second header line of a manifest that carries stamps and a source.
const VERSION_LINE: &str = "# clusterdef-manifest 2";

/// One thing the manifest says of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Entry {
    /// The FNV-1a hash of the bytes written (`None`: an old manifest that listed paths only).
    pub(super) hash: Option<u64>,
    /// The file's stamp once written (`None`: unknown, compare the bytes).
    pub(super) stamp: Option<Stamp>,
}

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

    /// A manifest's text, read. O(lines).
    pub(super) fn parse(text: &str) -> Manifest {
        let stamped = text.lines().any(|l| l.starts_with(VERSION_LINE));
        let mut manifest = Manifest::default();
        for line in text.lines().filter(|l| !l.is_empty() && l.len() <= MAX_LINE) {
            if let Some(header) = line.strip_prefix(VERSION_LINE) {
                manifest.source = header
                    .split_whitespace()
                    .find_map(|w| w.strip_prefix("source="))
                    .and_then(|h| u64::from_str_radix(h, 16).ok());
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
                        Some((stamp, rel)) => (Entry { hash, stamp: Stamp::parse(stamp) }, rel),
                        None => (Entry { hash, stamp: None }, rest),
                    }
                }
                _ => (Entry { hash: None, stamp: None }, line),
            };
            // A manifest edited by hand cannot point outside the directory.
            if rel.split('/').all(|c| !c.is_empty() && c != "." && c != "..") {
                manifest.files.entry(rel.to_string()).or_default().push(entry);
            }
        }
        manifest
    }

    /// The manifest's text for `artifacts` (hashes in `hashes`, in the same order), without
    /// stamps: what a write commits before it knows them.
    pub(super) fn text(artifacts: &Artifacts, hashes: &[u64], source: Option<u64>) -> String {
        Manifest::text_with(artifacts, hashes, source, |_| None)
    }

    /// The manifest's text, each file with the stamp `stamp` gives it (or `-`). O(files).
    pub(super) fn text_with(
        artifacts: &Artifacts,
        hashes: &[u64],
        source: Option<u64>,
        mut stamp: impl FnMut(&str) -> Option<Stamp>,
    ) -> String {
        let mut text = String::from(MANIFEST_HEADER);
        text.push_str(VERSION_LINE);
        match source {
            Some(s) => text.push_str(&format!(" source={s:016x}\n")),
            None => text.push('\n'),
        }
        for ((rel, _), hash) in artifacts.iter().zip(hashes) {
            let stamp = stamp(rel).map_or_else(|| "-".to_string(), |s| s.to_text());
            text.push_str(&format!("{hash:016x} {stamp} {rel}\n"));
        }
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

    /// Whether bytes hashing to `hash`, found at `rel`, are what clusterdef wrote there.
    pub(super) fn wrote_hash(&self, rel: &str, hash: u64) -> bool {
        self.files.get(rel).is_some_and(|entries| entries.iter().any(|e| e.hash.is_none_or(|h| h == hash)))
    }

    /// Whether `bytes`, found at `rel`, are what clusterdef wrote there.
    pub(super) fn wrote(&self, rel: &str, bytes: &[u8]) -> bool {
        self.wrote_hash(rel, fnv1a(bytes))
    }

    /// The hash of what is at `rel` when its stamp says clusterdef's write is there unchanged.
    pub(super) fn known(&self, rel: &str, stamp: &Stamp) -> Option<u64> {
        self.files.get(rel)?.iter().find(|e| e.stamp.as_ref() == Some(stamp)).and_then(|e| e.hash)
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

/// FNV-1a, 64 bits ([`clusterdef_fs::fnv1a`]): a stable hash of what a render wrote.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    clusterdef_fs::fnv1a(bytes)
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

/// What is at `rel` in `dir` against `bytes` (hashing to `hash`), given what the file system
/// said of it (`meta`, `None` for nothing there): known from its stamp when the manifest's
/// matches, else read in blocks (never whole), compared and hashed in one pass.
/// Never through a symlink, never from a FIFO or device (errors, as [`current_bytes`]).
pub(super) fn current(
    dir: &Path,
    rel: &str,
    bytes: &[u8],
    hash: u64,
    manifest: &Manifest,
    meta: Option<&fs::Metadata>,
) -> Result<Current, WriteError> {
    let path = dir.join(rel);
    let Some(meta) = meta else { return Ok(Current::Missing) };
    if meta.is_dir() {
        return Ok(Current::Missing);
    }
    let judge = |found: u64, same: bool| {
        if same {
            Current::Same
        } else if manifest.wrote_hash(rel, found) {
            Current::Ours
        } else {
            Current::Foreign
        }
    };
    if meta.is_file()
        && let Some(known) = manifest.known(rel, &Stamp::of(meta))
    {
        return Ok(judge(known, known == hash && meta.len() == bytes.len() as u64));
    }
    let (mut same, mut at, mut found) = (true, 0usize, clusterdef_fs::fnv1a(&[]));
    let streamed = clusterdef_fs::stream_own(&path, MAX_COMPARED, &mut |block| {
        same = same && bytes.get(at..at + block.len()) == Some(block);
        at += block.len();
        found = fnv1a_extend(found, block);
    });
    match streamed {
        Ok(len) => Ok(judge(found, same && len == bytes.len() as u64)),
        Err(clusterdef_fs::ReadError::TooLarge { .. }) => Ok(judge(0, false)),
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
    match clusterdef_fs::hash_own(&path, MAX_COMPARED) {
        Ok((_, hash)) => Ok(manifest.wrote_hash(rel, hash)),
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
