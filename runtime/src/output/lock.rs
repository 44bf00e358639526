//! The lock that keeps two writes into one directory from interleaving.

use std::sync::atomic::{AtomicBool, Ordering};

use super::*;

/// Holds the directory's lock until dropped.
pub(super) struct Lock(PathBuf);

impl Lock {
    /// Takes the lock, waiting up to `wait` for a live holder, or until `cancel` is set (then
    /// [`WriteError::Locked`], as if the wait had run out); a lock whose process is gone (after
    /// a crash) is taken over.
    pub(super) fn acquire(dir: &Path, wait: Duration, cancel: &AtomicBool) -> Result<Lock, WriteError> {
        let path = dir.join(LOCK);
        let deadline = Instant::now() + wait;
        loop {
            match fs::OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut file) => {
                    use std::io::Write as _;
                    let _ = writeln!(file, "{}", std::process::id());
                    return Ok(Lock(path));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    let holder = match clusterdef_fs::read_own(&path, 64) {
                        Ok(bytes) => String::from_utf8_lossy(&bytes).trim().parse::<u32>().ok(),
                        Err(clusterdef_fs::ReadError::Io(_)) => None,
                        Err(e) => return Err(WriteError::Foreign { path, why: e.to_string() }),
                    };
                    // A holder whose process is gone, or a lock that never got its PID (the
                    // writer was killed between creating it and writing to it, a window of one
                    // system call) and is older than any live writer's would be without one.
                    let gone = match holder {
                        Some(pid) => cfg!(target_os = "linux") && !Path::new("/proc").join(pid.to_string()).exists(),
                        None => fs::symlink_metadata(&path)
                            .and_then(|m| m.modified())
                            .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > Duration::from_secs(2))),
                    };
                    if gone {
                        let _ = fs::remove_file(&path);
                        continue;
                    }
                    if Instant::now() >= deadline || cancel.load(Ordering::Relaxed) {
                        return Err(WriteError::Locked(path));
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => return Err(io_at(&path)(e)),
            }
        }
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}
