//! The manifest: what clusterdef wrote into an output directory, each file with its hash.

use super::*;

/// The most bytes of a manifest read: 64 MiB, a million paths.
pub(super) const MAX_MANIFEST: u64 = 64 << 20;

/// The largest output file compared with what a render would write: one larger differs.
pub(super) const MAX_COMPARED: u64 = 1 << 30;

/// What the manifest in an output directory says clusterdef wrote: each path, with the FNV-1a
/// hash of the bytes it wrote there (`None` for a manifest of an older release, which listed
/// paths only). A file whose bytes no longer hash to that value has been changed by someone
/// else, and is no longer clusterdef's to replace or remove.
#[derive(Clone, Debug, Default)]
pub(super) struct Manifest {
    /// Each path with the hashes it may hold as clusterdef's: one, or two while a write is
    /// being committed (the union manifest), so a write killed between its swaps still knows
    /// both renders' files as its own.
    pub(super) files: BTreeMap<String, Vec<Option<u64>>>,
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
    pub(super) fn text(artifacts: &Artifacts) -> String {
        let mut text = String::from(MANIFEST_HEADER);
        for (rel, bytes) in artifacts {
            text.push_str(&format!("{:016x} {rel}\n", fnv1a(bytes)));
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

    /// Whether `bytes`, found at `rel`, are what clusterdef wrote there.
    pub(super) fn wrote(&self, rel: &str, bytes: &[u8]) -> bool {
        match self.files.get(rel) {
            Some(hashes) => hashes.iter().any(|h| h.is_none_or(|h| h == fnv1a(bytes))),
            None => false,
        }
    }
}

/// The top-level entry a relative path lies in.
pub(super) fn top_of(rel: &str) -> &str {
    rel.split('/').next().unwrap_or(rel)
}

/// FNV-1a, 64 bits: a stable hash (unlike std's, which may change between releases) of what a
/// render wrote, so a later render can tell its own file from one changed since. Not a defence
/// against someone who can write the directory, who could change the manifest too.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
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
