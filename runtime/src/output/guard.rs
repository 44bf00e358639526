//! What a write refuses before it changes anything, and what it repairs after an interrupted one.

use super::manifest::MAX_COMPARED;
use super::*;

/// Refuses a managed top-level entry that is not clusterdef's to replace: a symlink (replacing
/// it would move the user's directory or write through it), or anything on another device (a
/// mount point). Inside a managed directory, the same holds for every entry: the walk never
/// follows a link. Records what it saw of every entry in `seen` (by `/`-separated relative
/// path), which the write then reads instead of asking again. O(entries under it).
pub(super) fn check_managed(dir: &Path, top: &Path, device: u64, seen: &mut Seen) -> Result<(), WriteError> {
    let path = dir.join(top);
    let meta = match fs::symlink_metadata(&path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(&path)(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(WriteError::Foreign {
            path,
            why: "it is a symlink where clusterdef writes an entry of its own; it is never replaced, followed or written through".to_string(),
        });
    }
    let on_device = |meta: &fs::Metadata, path: &dyn Fn() -> PathBuf| {
        if clusterdef_fs::device(meta) == device {
            return Ok(());
        }
        Err(WriteError::Foreign {
            path: path(),
            why: "it lies on another file system (a mount point); clusterdef moves and links files within the output directory's own".to_string(),
        })
    };
    on_device(&meta, &|| path.clone())?;
    let top = top.to_string_lossy().replace('\\', "/");
    let mut pending = if meta.is_dir() { vec![top.clone()] } else { Vec::new() };
    seen.insert(top, meta);
    // Each entry is looked at through its directory's handle (`fstatat`, never following a
    // link), not by its whole path again.
    while let Some(rel) = pending.pop() {
        let path = dir.join(&rel);
        for entry in fs::read_dir(&path).map_err(io_at(&path))? {
            let entry = entry.map_err(io_at(&path))?;
            let meta = match entry.metadata() {
                Ok(meta) => meta,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io_at(&entry.path())(e)),
            };
            on_device(&meta, &|| entry.path())?;
            let child = format!("{rel}/{}", entry.file_name().to_string_lossy());
            if meta.is_dir() {
                pending.push(child.clone());
            }
            seen.insert(child, meta);
        }
    }
    Ok(())
}

/// Refuses an artifact whose directories in the output are not real directories: a symlink
/// there would carry the render into another directory. Reads what [`check_managed`] saw.
/// O(components).
pub(super) fn check_parents(dir: &Path, rel: &str, seen: &Seen) -> Result<(), WriteError> {
    let mut end = 0;
    while let Some(slash) = rel[end..].find('/') {
        end += slash;
        let parent = &rel[..end];
        end += 1;
        match seen.get(parent) {
            Some(meta) if meta.is_dir() => {}
            Some(_) => {
                return Err(WriteError::Foreign {
                    path: dir.join(parent),
                    why: format!(
                        "it is not a directory, and {rel} goes inside it; clusterdef never writes through a symlink"
                    ),
                });
            }
            None => break,
        }
    }
    Ok(())
}

/// Puts back what an interrupted write left set aside between the renames of a swap, and clears
/// the stage. Only what can be proven clusterdef's own is renamed: the stage and its `.old` must
/// be real directories on the output's device (a symlink there is refused, never followed), the
/// entry (a top-level entry, or one directly inside a top-level directory) must be named by the
/// manifest, not be a symlink, hold every file the manifest lists under it with the bytes it
/// wrote, and its place must be empty. O(entries set aside + the files the manifest lists in
/// them).
pub(super) fn recover(dir: &Path, stage: &Path, manifest: &Manifest, device: u64) -> Result<(), WriteError> {
    let real_dir = |path: &Path| -> Result<bool, WriteError> {
        match fs::symlink_metadata(path) {
            Ok(meta) if meta.is_dir() && clusterdef_fs::device(&meta) == device => Ok(true),
            Ok(_) => Err(WriteError::Foreign {
                path: path.to_path_buf(),
                why: "clusterdef stages its renders here, and this is not a directory of its own (a symlink, a file, or on another file system)".to_string(),
            }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_at(path)(e)),
        }
    };
    if !real_dir(stage)? {
        return Ok(());
    }
    let old = stage.join(OLD);
    if real_dir(&old)? {
        let put_back = |aside: &Path, rel: &str| -> Result<bool, WriteError> {
            let target = dir.join(rel);
            let own = manifest.names(rel)
                && fs::symlink_metadata(&target).is_err()
                && holds_what_it_wrote(aside, rel, manifest);
            if own {
                fs::rename(aside, &target).map_err(io_at(&target))?;
            }
            Ok(own)
        };
        for entry in fs::read_dir(&old).map_err(io_at(&old))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if put_back(&entry.path(), &name)? {
                continue;
            }
            // A top-level directory that stayed in place: what was set aside is inside it.
            let (aside, target) = (entry.path(), dir.join(&name));
            let both_dirs = fs::symlink_metadata(&aside).is_ok_and(|m| m.is_dir())
                && fs::symlink_metadata(&target).is_ok_and(|m| m.is_dir() && clusterdef_fs::device(&m) == device);
            if both_dirs {
                for inner in fs::read_dir(&aside).map_err(io_at(&aside))?.flatten() {
                    let rel = format!("{name}/{}", inner.file_name().to_string_lossy());
                    put_back(&inner.path(), &rel)?;
                }
            }
        }
    }
    match fs::remove_dir_all(stage) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_at(stage)(e)),
        _ => Ok(()),
    }
}

/// Whether `path`, entry `entry` set aside by an interrupted swap, holds every file the manifest
/// lists at or under `entry` with the bytes clusterdef wrote (no symlink followed).
pub(super) fn holds_what_it_wrote(path: &Path, entry: &str, manifest: &Manifest) -> bool {
    if fs::symlink_metadata(path).map_or(true, |m| m.file_type().is_symlink()) {
        return false;
    }
    manifest.under(entry).all(|rel| {
        let inside = rel[entry.len()..].trim_start_matches('/');
        let file = if inside.is_empty() { path.to_path_buf() } else { path.join(inside) };
        let parents_real = Path::new(inside)
            .ancestors()
            .skip(1)
            .filter(|p| !p.as_os_str().is_empty())
            .all(|p| fs::symlink_metadata(path.join(p)).is_ok_and(|m| m.is_dir()));
        parents_real && matches!(clusterdef_fs::read_own(&file, MAX_COMPARED), Ok(bytes) if manifest.wrote(rel, &bytes))
    })
}
