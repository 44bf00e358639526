//! How a file is opened: never before what it is and where it lies are known.
//!
//! On Linux every open first takes an `O_PATH` handle, which names the file without opening it
//! (a device's driver is not called, a FIFO does not wait), its type is read from that handle,
//! and only a regular file is then opened for reading, through the handle itself
//! (`/proc/self/fd/N`), so the file read is the file checked. A path kept inside roots is
//! resolved first, proven inside, then walked one component at a time from the root's handle
//! with `O_NOFOLLOW`: a directory swapped for a symlink after the resolution is met as a
//! symlink and refused, never followed. Elsewhere the file is opened without blocking and
//! checked on the opened handle afterwards (what remains: a device's open is called before it
//! is refused).

use std::fs::{File, Metadata};
use std::io;
use std::path::{Component, Path};

use crate::{Kind, ReadError};

/// A step the reader is about to take, for tests that force a race at an exact point.
#[derive(Debug)]
pub(crate) enum Step {
    /// The path was resolved and found inside the roots; nothing is open yet.
    Resolved,
    /// A file is about to be opened for reading (after its type was read from its handle).
    OpeningForRead,
}

/// Called at each [`Step`]; the readers pass one that does nothing.
pub(crate) type Hook<'h> = &'h mut dyn FnMut(Step);

/// A regular file opened for reading, with the metadata read before it was opened.
pub(crate) struct Opened {
    pub file: File,
    pub meta: Metadata,
}

fn nonblocking_read() -> std::fs::OpenOptions {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY);
    }
    options
}

#[cfg(target_os = "linux")]
mod linux {
    use super::*;
    use std::os::unix::fs::OpenOptionsExt as _;
    use std::os::unix::io::AsRawFd as _;
    use std::path::PathBuf;

    /// An `O_PATH` handle on `path`: names the file without opening it. With `follow` false a
    /// symlink at the last component is the handle's file itself.
    pub fn handle(path: &Path, follow: bool) -> io::Result<File> {
        let nofollow = if follow { 0 } else { libc::O_NOFOLLOW };
        std::fs::OpenOptions::new().read(true).custom_flags(libc::O_PATH | libc::O_CLOEXEC | nofollow).open(path)
    }

    /// The path that reaches `handle`'s file through the process's own descriptor table.
    pub fn through(handle: &File) -> PathBuf {
        PathBuf::from(format!("/proc/self/fd/{}", handle.as_raw_fd()))
    }

    /// Opens the regular file behind `handle` for reading, through the handle (the same inode,
    /// whatever its path holds now).
    pub fn reopen(handle: &File, meta: Metadata, hook: Hook<'_>) -> Result<Opened, ReadError> {
        if !meta.is_file() {
            return Err(ReadError::NotRegular(Kind::of(&meta)));
        }
        hook(Step::OpeningForRead);
        let file = nonblocking_read().open(through(handle)).map_err(proc_error)?;
        let now = file.metadata()?;
        if !crate::same_file(&meta, &now) {
            return Err(ReadError::Changed);
        }
        Ok(Opened { file, meta })
    }

    /// A `/proc` that is not there says so, rather than "no such file".
    pub fn proc_error(e: io::Error) -> ReadError {
        if e.kind() == io::ErrorKind::NotFound && !Path::new("/proc/self/fd").is_dir() {
            ReadError::Io(io::Error::new(
                io::ErrorKind::NotFound,
                "/proc is not mounted, and files are opened through /proc/self/fd once checked",
            ))
        } else {
            ReadError::Io(e)
        }
    }
}

/// `path` opened for reading if it is a regular file (symlinks followed only when `follow`);
/// [`ReadError::Symlink`] for a symlink at the last component when not.
pub(crate) fn open_regular(path: &Path, follow: bool, hook: Hook<'_>) -> Result<Opened, ReadError> {
    #[cfg(target_os = "linux")]
    {
        let handle = linux::handle(path, follow)?;
        let meta = handle.metadata()?;
        if meta.file_type().is_symlink() {
            return Err(ReadError::Symlink);
        }
        linux::reopen(&handle, meta, hook)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = hook;
        let mut options = nonblocking_read();
        #[cfg(unix)]
        if !follow {
            use std::os::unix::fs::OpenOptionsExt as _;
            options.custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_NOFOLLOW);
        }
        let file = match options.open(path) {
            Ok(file) => file,
            Err(_) if !follow && std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
                return Err(ReadError::Symlink);
            }
            Err(e) => return Err(ReadError::Io(e)),
        };
        let meta = file.metadata()?;
        if !meta.is_file() {
            return Err(ReadError::NotRegular(Kind::of(&meta)));
        }
        Ok(Opened { file, meta })
    }
}

/// `path` opened for reading if, once every symlink is followed, it is a regular file inside
/// one of `roots` (canonical) with one name. Resolved and proven inside before anything is
/// opened; then walked from the root with no symlink followed, so what is opened is what was
/// proven inside. O(components).
pub(crate) fn open_inside(path: &Path, roots: &[std::path::PathBuf], hook: Hook<'_>) -> Result<Opened, ReadError> {
    let resolved = path.canonicalize()?;
    let Some(root) = roots.iter().find(|root| resolved.starts_with(root)) else {
        return Err(ReadError::Outside { resolved });
    };
    hook(Step::Resolved);
    #[cfg(target_os = "linux")]
    let (handle, meta) = {
        let mut handle = linux::handle(root, false)?;
        let rest = resolved.strip_prefix(root).unwrap_or(Path::new(""));
        for component in rest.components() {
            let Component::Normal(name) = component else { return Err(ReadError::Changed) };
            let next = linux::handle(&linux::through(&handle).join(name), false).map_err(linux::proc_error)?;
            let meta = next.metadata()?;
            // A symlink here was a directory or the file when the path was resolved.
            if meta.file_type().is_symlink() {
                return Err(ReadError::Changed);
            }
            handle = next;
        }
        let meta = handle.metadata()?;
        (handle, meta)
    };
    #[cfg(not(target_os = "linux"))]
    let opened = open_regular(&resolved, false, hook)?;
    #[cfg(not(target_os = "linux"))]
    let meta = opened.meta.clone();
    if !meta.is_file() {
        return Err(ReadError::NotRegular(Kind::of(&meta)));
    }
    let links = crate::link_count(&meta);
    if links > 1 {
        return Err(ReadError::HardLinked { links });
    }
    #[cfg(target_os = "linux")]
    {
        linux::reopen(&handle, meta, hook)
    }
    #[cfg(not(target_os = "linux"))]
    {
        Ok(opened)
    }
}
