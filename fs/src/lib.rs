//! Reading the files clusterdef is pointed at, one way for every front end: declarations,
//! unit bodies, import directories, the manifest of a render and the files `diff` compares.
//!
//! Every read here keeps four promises, whatever the file system holds:
//! - **opened once, checked on the handle**: the file is opened without blocking (a FIFO with
//!   no writer would otherwise stall the open forever) and its type is read from the opened
//!   handle, so a path swapped between a check and the open cannot slip a FIFO, device, socket or
//!   directory through; only regular files are read;
//! - **read through a limit**: at most `limit + 1` bytes are ever read, whatever size the file
//!   system reports (`/dev/zero` and `/proc` files report 0);
//! - **kept inside** ([`read_inside`]): what is read is the file at a path inside one of the
//!   allowed roots after every symlink is followed, proven on the handle (its device and inode are
//!   those of that path after the open), so swapping a directory for a symlink while the file is
//!   read yields an error, never the file outside;
//! - **one name** ([`read_inside`]): a file with more than one hard link is refused, since its
//!   other names may lie anywhere on the same file system and nothing on the handle says which is
//!   the project's own.
#![forbid(unsafe_code)]

use std::fmt;
use std::fs::{File, Metadata};
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

/// Opens `path` for reading without blocking (and without making a terminal the controlling
/// one), following a symlink at its last component only when `follow`.
fn open_with(path: &Path, follow: bool) -> io::Result<File> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | nofollow);
    }
    #[cfg(not(unix))]
    let _ = follow;
    options.open(path)
}

/// [`open_with`], following symlinks.
fn open(path: &Path) -> io::Result<File> {
    open_with(path, true)
}

/// The regular file `path` (symlinks followed) as bytes, at most `limit` of them.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = open(path)?;
    let meta = file.metadata()?;
    read_open(file, &meta, limit)
}

/// The regular file `path` as bytes, at most `limit` of them, refusing a symlink at its last
/// component ([`ReadError::Symlink`]): for the files clusterdef wrote itself, which a symlink
/// put in their place must never redirect.
pub fn read_own(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = match open_with(path, false) {
        Ok(file) => file,
        Err(_) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(ReadError::Symlink);
        }
        Err(e) => return Err(ReadError::Io(e)),
    };
    let meta = file.metadata()?;
    read_open(file, &meta, limit)
}

/// The regular file `path` (symlinks followed) as UTF-8 text, at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    String::from_utf8(read_file(path, limit)?).map_err(|_| ReadError::NotText)
}

/// Reads an opened file checked to be regular, through the limit.
fn read_open(file: File, meta: &Metadata, limit: u64) -> Result<Vec<u8>, ReadError> {
    if !meta.is_file() {
        return Err(ReadError::NotRegular(Kind::of(meta)));
    }
    let mut bytes = Vec::with_capacity(meta.len().min(limit) as usize);
    file.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
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
/// name. The file is opened once; the containment is proven for the opened handle: after the
/// open the path is resolved, checked to lie inside, and the file found there must be the one
/// opened (same device and inode). A path swapped for a symlink out of the roots at any moment
/// therefore yields [`ReadError::Outside`] or [`ReadError::Changed`], never the outside file.
pub fn read_inside(path: &Path, roots: &[PathBuf], limit: u64) -> Result<String, ReadError> {
    let file = open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(Kind::of(&meta)));
    }
    let resolved = path.canonicalize()?;
    if !is_inside(&resolved, roots) {
        return Err(ReadError::Outside { resolved });
    }
    let there = std::fs::metadata(&resolved)?;
    if !same_file(&meta, &there) {
        return Err(ReadError::Changed);
    }
    let links = link_count(&meta);
    if links > 1 {
        return Err(ReadError::HardLinked { links });
    }
    String::from_utf8(read_open(file, &meta, limit)?).map_err(|_| ReadError::NotText)
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
mod tests {
    use super::*;

    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("clusterdef-fs-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).expect("scratch");
            Scratch(dir)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn devices_are_refused_on_the_handle_whatever_size_they_report() {
        let err = read_file(Path::new("/dev/zero"), 1 << 20).expect_err("a device");
        assert!(matches!(err, ReadError::NotRegular(Kind::Device)), "{err:?}");
        assert!(err.to_string().contains("a device"), "{err}");
        let err = read_file(Path::new("/"), 10).expect_err("a directory");
        assert!(matches!(err, ReadError::NotRegular(Kind::Directory)), "{err:?}");
    }

    #[test]
    fn a_fifo_is_refused_without_waiting_for_a_writer() {
        let dir = Scratch::new("fifo");
        let fifo = dir.0.join("p");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().expect("mkfifo");
        assert!(made.success());
        let started = std::time::Instant::now();
        let err = read_file(&fifo, 10).expect_err("a fifo");
        assert!(matches!(err, ReadError::NotRegular(Kind::Fifo)), "{err:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let err = read_inside(&fifo, &canonical_roots(&[&dir.0]), 10).expect_err("a fifo");
        assert!(matches!(err, ReadError::NotRegular(Kind::Fifo)), "{err:?}");
    }

    #[cfg(unix)]
    #[test]
    fn read_own_never_reads_through_a_symlink() {
        let dir = Scratch::new("own");
        std::fs::write(dir.0.join("f"), "F").expect("f");
        std::os::unix::fs::symlink(dir.0.join("f"), dir.0.join("l")).expect("link");
        assert_eq!(read_own(&dir.0.join("f"), 10).expect("file"), b"F");
        assert!(matches!(read_own(&dir.0.join("l"), 10), Err(ReadError::Symlink)));
        assert!(
            matches!(read_own(&dir.0.join("none"), 10), Err(ReadError::Io(e)) if e.kind() == io::ErrorKind::NotFound)
        );
    }

    #[test]
    fn the_limit_is_to_the_byte() {
        let dir = Scratch::new("limit");
        let path = dir.0.join("f");
        std::fs::write(&path, vec![b'a'; 100]).expect("file");
        assert_eq!(read_file(&path, 100).expect("at the limit").len(), 100);
        assert!(matches!(read_file(&path, 99), Err(ReadError::TooLarge { limit: 99 })));
        std::fs::write(&path, [0xff, 0xfe]).expect("file");
        assert!(matches!(read_text(&path, 10), Err(ReadError::NotText)));
    }

    #[cfg(unix)]
    #[test]
    fn inside_means_inside_after_symlinks_with_one_name() {
        let dir = Scratch::new("inside");
        let root = dir.0.join("project");
        std::fs::create_dir_all(root.join("units")).expect("dirs");
        std::fs::write(root.join("units/a.service"), "A").expect("a");
        std::fs::write(dir.0.join("secret"), "S").expect("secret");
        std::os::unix::fs::symlink("a.service", root.join("units/inner.service")).expect("link");
        std::os::unix::fs::symlink(dir.0.join("secret"), root.join("units/out.service")).expect("link");
        std::fs::hard_link(dir.0.join("secret"), root.join("units/hard.service")).expect("hard link");
        let roots = canonical_roots(&[&root]);
        assert_eq!(read_inside(&root.join("units/a.service"), &roots, 10).expect("inside"), "A");
        assert_eq!(read_inside(&root.join("units/inner.service"), &roots, 10).expect("link inside"), "A");
        let err = read_inside(&root.join("units/out.service"), &roots, 10).expect_err("link out");
        assert!(matches!(err, ReadError::Outside { .. }), "{err:?}");
        let err = read_inside(&root.join("units/hard.service"), &roots, 10).expect_err("hard link");
        assert!(matches!(err, ReadError::HardLinked { links: 2 }), "{err:?}");
    }

    /// Another thread swaps the project's `units` directory for a symlink to a directory outside
    /// it and back, as fast as it can; every read either gets the project's file or an error.
    #[cfg(unix)]
    #[test]
    fn a_directory_swapped_for_a_symlink_while_reading_never_leaks_the_outside() {
        let dir = Scratch::new("race");
        let root = dir.0.join("project");
        let outside = dir.0.join("outside");
        std::fs::create_dir_all(root.join("units-real")).expect("dirs");
        std::fs::create_dir_all(&outside).expect("dirs");
        std::fs::write(root.join("units-real/x.service"), "mine").expect("mine");
        std::fs::write(outside.join("x.service"), "SECRET").expect("secret");
        std::os::unix::fs::symlink("units-real", root.join("units")).expect("link");
        let roots = canonical_roots(&[&root]);
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let swapper = {
            let (stop, root, outside) = (stop.clone(), root.clone(), outside.clone());
            std::thread::spawn(move || {
                let mut out = false;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let tmp = root.join("units.tmp");
                    let target: &Path = if out { Path::new("units-real") } else { &outside };
                    let _ = std::os::unix::fs::symlink(target, &tmp);
                    let _ = std::fs::rename(&tmp, root.join("units"));
                    out = !out;
                }
            })
        };
        let (mut mine, mut refused) = (0, 0);
        for _ in 0..3_000 {
            match read_inside(&root.join("units/x.service"), &roots, 100) {
                Ok(text) => {
                    assert_eq!(text, "mine", "the outside file was read");
                    mine += 1;
                }
                Err(_) => refused += 1,
            }
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        swapper.join().expect("swapper");
        assert!(mine + refused == 3_000 && refused > 0, "the swap raced: {mine} read, {refused} refused");
    }
}
