//! Reading the files clusterdef is pointed at, one way for every front end: declarations,
//! unit bodies, import directories, the manifest of a render and the files `diff` compares.
//!
//! Every read here keeps four promises, whatever the file system holds:
//! - **checked before it is opened**: on Linux a file is first named by an `O_PATH` handle,
//!   which does not open it (a device's driver is not called, a FIFO does not wait for a
//!   writer), its type is read from that handle, and only a regular file is then opened for
//!   reading, through the handle, so the file read is the file checked. Elsewhere it is opened
//!   without blocking and checked on the opened handle (a device's open is then called before
//!   it is refused);
//! - **read through a limit**: at most `limit + 1` bytes are ever read, whatever size the file
//!   system reports (`/dev/zero` and `/proc` files report 0);
//! - **kept inside** ([`read_inside`]): the path is resolved and proven inside one of the
//!   allowed roots before anything is opened, then walked from that root one component at a
//!   time with no symlink followed, so swapping a directory for a symlink at any moment yields
//!   an error, never the file outside;
//! - **one name** ([`read_inside`]): a file with more than one hard link is refused, since its
//!   other names may lie anywhere on the same file system and nothing on the handle says which is
//!   the project's own.
#![forbid(unsafe_code)]

mod hash;
mod open;

pub use hash::{ContentHasher, content_hash};

use std::fmt;
use std::fs::Metadata;
use std::io::{self, Read as _};
use std::path::{Path, PathBuf};

/// Why a file was not read. `Display` says what, why and how to fix it, without the path (the
/// caller puts its own name for the file, `file:line` where it has one, in front).
#[derive(Debug)]
pub enum ReadError {
    /// The operating system refused (no such file, no permission, a symlink loop, …).
    Io(io::Error),
    /// It is not a regular file.
    NotRegular(Kind),
    /// It holds more than the limit.
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// It is not UTF-8 text ([`read_text`], [`read_inside`]).
    NotText,
    /// After following symlinks it lies outside every allowed root.
    Outside {
        /// Where it resolves to.
        resolved: PathBuf,
    },
    /// It has more than one hard link ([`read_inside`]).
    HardLinked {
        /// How many names it has.
        links: u64,
    },
    /// The file at the path changed between the open and the check.
    Changed,
    /// The path's last component is a symlink ([`read_own`]).
    Symlink,
}

/// What a path that is not a regular file turned out to be.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Directory,
    /// A named pipe.
    Fifo,
    /// A character or block device.
    Device,
    /// A Unix socket.
    Socket,
    /// Anything else.
    Other,
}

impl Kind {
    /// What `meta` describes, for a file that is not regular.
    fn of(meta: &Metadata) -> Kind {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt as _;
            let t = meta.file_type();
            if t.is_fifo() {
                return Kind::Fifo;
            }
            if t.is_char_device() || t.is_block_device() {
                return Kind::Device;
            }
            if t.is_socket() {
                return Kind::Socket;
            }
        }
        if meta.is_dir() { Kind::Directory } else { Kind::Other }
    }

    fn as_str(self) -> &'static str {
        match self {
            Kind::Directory => "a directory",
            Kind::Fifo => "a named pipe (FIFO)",
            Kind::Device => "a device",
            Kind::Socket => "a socket",
            Kind::Other => "not a regular file",
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::NotRegular(kind) => write!(
                f,
                "it is {}, and only regular files are read (a pipe, device or socket could stall the read or never end)\n  = help: name a regular file",
                kind.as_str()
            ),
            ReadError::TooLarge { limit } => {
                write!(
                    f,
                    "it holds more than {limit} bytes, the most read from one such file\n  = help: name the file itself, not a data file"
                )
            }
            ReadError::NotText => write!(f, "it is not UTF-8 text\n  = help: save it as UTF-8"),
            ReadError::Outside { resolved } => write!(
                f,
                "it resolves to {}, outside the directories it may be read from; a symlink may not lead out of them\n  = help: copy the file inside instead of linking to it",
                resolved.display()
            ),
            ReadError::HardLinked { links } => write!(
                f,
                "it has {links} hard links, and a file with more than one name is not read: its other names may lie outside the project, and nothing tells which name is its own\n  = help: replace the link with a copy (`cp --remove-destination`)"
            ),
            ReadError::Symlink => write!(
                f,
                "it is a symlink, and a file clusterdef manages is never read or written through one\n  = help: replace the link with the file, or render into another directory"
            ),
            ReadError::Changed => {
                write!(
                    f,
                    "it changed while it was read (a path replaced during the read)\n  = help: read it again once nothing is moving files"
                )
            }
        }
    }
}

impl std::error::Error for ReadError {}

impl From<io::Error> for ReadError {
    fn from(e: io::Error) -> Self {
        ReadError::Io(e)
    }
}

/// A hook that does nothing, for the readers' public forms.
fn no_hook(_: open::Step) {}

/// The regular file `path` (symlinks followed) as bytes, at most `limit` of them. Nothing but a
/// regular file is ever opened for reading (on Linux; see the crate's documentation).
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let opened = open::open_regular(path, true, &mut no_hook)?;
    read_open(opened, limit)
}

/// The regular file `path` as bytes, at most `limit` of them, refusing a symlink at its last
/// component ([`ReadError::Symlink`]): for the files clusterdef wrote itself, which a symlink
/// put in their place must never redirect.
pub fn read_own(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let opened = open::open_regular(path, false, &mut no_hook)?;
    read_open(opened, limit)
}

/// The first `len` bytes (or fewer, if the file is shorter) of the file clusterdef wrote at
/// `path`, refusing a symlink at the last component as [`read_own`] does: for a header, read
/// without reading the rest.
pub fn head_own(path: &Path, len: u64) -> Result<Vec<u8>, ReadError> {
    let opened = open::open_regular(path, false, &mut no_hook)?;
    let mut head = Vec::new();
    opened.file.take(len).read_to_end(&mut head)?;
    Ok(head)
}

/// What a file clusterdef wrote holds, summed up without keeping it: its length and its
/// [`content_hash`], read in blocks through `limit` (more is [`ReadError::TooLarge`]), refusing
/// a symlink at the last component as [`read_own`] does. Memory is one block, whatever the
/// file's size.
pub fn hash_own(path: &Path, limit: u64) -> Result<(u64, u64), ReadError> {
    let mut hasher = ContentHasher::new();
    let len = stream_own(path, limit, &mut |block| hasher.update(block))?;
    Ok((len, hasher.finish()))
}

/// Reads the file clusterdef wrote at `path` in blocks of at most 64 KiB, handing each to
/// `each`, through `limit` (more is [`ReadError::TooLarge`], after the blocks up to it);
/// returns the length. A symlink at the last component is refused as [`read_own`] does. Memory
/// is one block, whatever the file's size.
pub fn stream_own(path: &Path, limit: u64, each: &mut dyn FnMut(&[u8])) -> Result<u64, ReadError> {
    let opened = open::open_regular(path, false, &mut no_hook)?;
    let mut reader = opened.file.take(limit.saturating_add(1));
    let mut len = 0u64;
    let mut block = vec![0u8; 64 * 1024];
    loop {
        let n = match reader.read(&mut block) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(ReadError::Io(e)),
        };
        len += n as u64;
        if len > limit {
            return Err(ReadError::TooLarge { limit });
        }
        each(&block[..n]);
    }
    Ok(len)
}

/// What the file system says of a file, the way git's index keeps it: a file whose size,
/// modification and change times, inode and device are all as recorded has not been written
/// since it was recorded (its change time moves with every write, rename into place or
/// `touch -r`, and no user can set it), so what it holds is known without reading it. The
/// kernel stamps times from a coarse clock, so a write in the same tick as the recording keeps
/// them: a stamp is only trusted when it is older than the record (the writer's manifest
/// records a younger one as unknown, as git does with "racily clean" entries).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Stamp {
    /// Its size in bytes.
    pub len: u64,
    /// Its modification time, nanoseconds since the epoch.
    pub modified: i128,
    /// Its change time (of its inode), nanoseconds since the epoch.
    pub changed: i128,
    /// Its inode.
    pub inode: u64,
    /// Its device.
    pub device: u64,
}

impl Stamp {
    /// The stamp of `meta` (from `symlink_metadata`, never following a link).
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt as _;
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            len: meta.len(),
            modified: ns(meta.mtime(), meta.mtime_nsec()),
            changed: ns(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        }
    }

    /// The stamp of `meta` (size and modification time only where the platform says no more).
    #[cfg(not(unix))]
    pub fn of(meta: &Metadata) -> Stamp {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Stamp { len: meta.len(), modified, changed: modified, inode: 0, device: 0 }
    }

    /// The stamp as the manifest writes it: five decimal numbers joined by `.`.
    pub fn to_text(&self) -> String {
        let mut text = String::with_capacity(64);
        self.write_text(&mut text);
        text
    }

    /// [`Stamp::to_text`], appended to `out`: for a manifest of ten thousand lines, without a
    /// string per line.
    pub fn write_text(&self, out: &mut String) {
        use std::fmt::Write as _;
        // Times before the epoch (never written by a render) still print whole as i128.
        let time = |out: &mut String, t: i128| match i64::try_from(t) {
            Ok(t) => write!(out, "{t}"),
            Err(_) => write!(out, "{t}"),
        };
        // Writing into a String cannot fail.
        let _ = write!(out, "{}.", self.len);
        let _ = time(out, self.modified);
        out.push('.');
        let _ = time(out, self.changed);
        let _ = write!(out, ".{}.{}", self.inode, self.device);
    }

    /// A stamp [`Stamp::to_text`] wrote, if `text` is one.
    pub fn parse(text: &str) -> Option<Stamp> {
        let mut parts = text.split('.');
        let stamp = Stamp {
            len: parts.next()?.parse().ok()?,
            modified: parse_time(parts.next()?)?,
            changed: parse_time(parts.next()?)?,
            inode: parts.next()?.parse().ok()?,
            device: parts.next()?.parse().ok()?,
        };
        parts.next().is_none().then_some(stamp)
    }
}

/// A time in nanoseconds as [`Stamp::write_text`] wrote it: through `i64` when it fits (every
/// time of this era), as `i128` otherwise.
fn parse_time(text: &str) -> Option<i128> {
    match text.parse::<i64>() {
        Ok(t) => Some(i128::from(t)),
        Err(_) => text.parse().ok(),
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;

fn fnv1a_extend(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// FNV-1a, 64 bits: a stable hash (unlike std's, which may change between releases) of what a
/// render wrote, so a later render can tell its own file from one changed since. Not a defence
/// against someone who can write the directory, who could change the manifest too.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    fnv1a_extend(FNV_OFFSET, bytes)
}

/// The regular file `path` (symlinks followed) as UTF-8 text, at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_file(path, limit)?).map_err(|_| ReadError::NotText)
}

/// Reads an opened regular file through the limit.
fn read_open(opened: open::Opened, limit: u64) -> Result<Vec<u8>, ReadError> {
    let mut bytes = Vec::with_capacity(opened.meta.len().min(limit).min(1 << 20) as usize);
    opened.file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// Whether `resolved` (a canonical path) lies inside one of `roots` after their own symlinks are
/// followed.
pub fn is_inside(resolved: &Path, roots: &[PathBuf]) -> bool {
    roots.iter().any(|root| resolved.starts_with(root))
}

/// The canonical forms of `roots` that exist.
pub fn canonical_roots(roots: &[&Path]) -> Vec<PathBuf> {
    roots.iter().filter_map(|d| d.canonicalize().ok()).collect()
}

/// The regular file `path` as UTF-8 text, at most `limit` bytes, if it lies inside one of
/// `roots` (canonical, from [`canonical_roots`]) once every symlink is followed, and has one
/// name. Nothing is opened before that is proven: the path is resolved (symlinks read, not
/// opened) and found inside a root, then walked from that root one component at a time
/// without following any symlink, the file's type and link count read from a handle that does
/// not open it, and only then is it opened for reading. A path swapped for a symlink out of the
/// roots at any moment yields [`ReadError::Outside`] or [`ReadError::Changed`], never the
/// outside file, and a device or FIFO anywhere is never opened.
pub fn read_inside(path: &Path, roots: &[PathBuf], limit: u64) -> Result<String, ReadError> {
    read_inside_with(path, roots, limit, &mut no_hook)
}

fn read_inside_with(path: &Path, roots: &[PathBuf], limit: u64, hook: open::Hook<'_>) -> Result<String, ReadError> {
    let opened = open::open_inside(path, roots, hook)?;
    String::from_utf8(read_open(opened, limit)?).map_err(|_| ReadError::NotText)
}

#[cfg(unix)]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    use std::os::unix::fs::MetadataExt as _;
    (a.dev(), a.ino()) == (b.dev(), b.ino())
}

#[cfg(not(unix))]
fn same_file(a: &Metadata, b: &Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[cfg(unix)]
fn link_count(meta: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    meta.nlink()
}

#[cfg(not(unix))]
fn link_count(_: &Metadata) -> u64 {
    1
}

/// The device a path's metadata lies on, so a directory walk or a writer can tell an entry of
/// another file system (a mount point, a bind mount) from its own.
#[cfg(unix)]
pub fn device(meta: &Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt as _;
    meta.dev()
}

/// The device a path's metadata lies on (always 0 where the platform does not say).
#[cfg(not(unix))]
pub fn device(_: &Metadata) -> u64 {
    0
}

/// A file's identity on its device, for telling whether a walk has seen a directory before.
#[cfg(unix)]
pub fn identity(meta: &Metadata) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt as _;
    (meta.dev(), meta.ino())
}

/// A file's identity (always (0, 0) where the platform does not say).
#[cfg(not(unix))]
pub fn identity(_: &Metadata) -> (u64, u64) {
    (0, 0)
}

#[cfg(test)]
mod tests;
