//! Swapping the staged tree in, one rename per top-level entry, the manifest last.

use super::manifest::MAX_MANIFEST;
use super::stage::Swap;
use super::*;

/// Swaps the staged entries in (an entry that goes is set aside in the stage, which is removed
/// after), then puts the manifest in place. Every change to the directory is a rename of a whole
/// top-level entry, so a kill at any point leaves each entry wholly old or wholly new (or, in
/// the two-rename window of one swap, set aside in the stage, which the next write puts back).
pub(super) fn commit(
    dir: &Path,
    stage: &Path,
    fs_ops: &dyn Fs,
    mut report: WriteReport,
    swaps: Vec<Swap>,
) -> Result<WriteReport, WriteError> {
    let old = stage.join(OLD);
    let staged_manifest = stage.join(MANIFEST);
    let mut restore: Option<Option<Vec<u8>>> = None;
    if !swaps.is_empty() && staged_manifest.exists() {
        // While the entries are swapped, the manifest names both renders' files: a write killed
        // between two swaps leaves entries of each, and the next write must know both as its own.
        let path = dir.join(MANIFEST);
        let previous = clusterdef_fs::read_own(&path, MAX_MANIFEST).ok();
        let current = previous.clone().unwrap_or_default();
        restore = Some(previous);
        let staged = clusterdef_fs::read_own(&staged_manifest, MAX_MANIFEST)
            .map_err(|e| WriteError::Foreign { path: staged_manifest.clone(), why: e.to_string() })?;
        let union = stage.join(".manifest-union");
        create_new(&union, &[current, staged].concat()).map_err(io_at(&union))?;
        fs::rename(&union, &path).map_err(io_at(&path))?;
    }
    let swapped = swap_all(dir, stage, &old, fs_ops, &swaps);
    if swapped.is_err()
        && let Some(previous) = restore
    {
        // The write failed and put every entry back: so goes the manifest.
        let path = dir.join(MANIFEST);
        match previous {
            Some(bytes) => {
                let back = stage.join(".manifest-back");
                if create_new(&back, &bytes).is_ok() {
                    let _ = fs::rename(&back, &path);
                }
            }
            None => {
                let _ = fs::remove_file(&path);
            }
        }
    }
    swapped?;
    if staged_manifest.exists() {
        let path = dir.join(MANIFEST);
        fs_ops.rename(&staged_manifest, &path).map_err(io_at(&path))?;
    }
    report.written.sort();
    report.unchanged.sort();
    report.removed.sort();
    Ok(report)
}

/// The swaps of [`commit`], in order; a failed second rename puts the entry back.
pub(super) fn swap_all(
    dir: &Path,
    stage: &Path,
    old: &Path,
    fs_ops: &dyn Fs,
    swaps: &[Swap],
) -> Result<(), WriteError> {
    for swap in swaps {
        let (from, to) = (stage.join(&swap.name), dir.join(&swap.name));
        let current_is_dir = fs::symlink_metadata(&to).is_ok_and(|m| m.is_dir());
        if swap.replaces && (current_is_dir || swap.removes) {
            fs::create_dir_all(old).map_err(io_at(old))?;
            let aside = old.join(&swap.name);
            fs_ops.rename(&to, &aside).map_err(io_at(&to))?;
            if swap.removes {
                continue;
            }
            if let Err(e) = fs_ops.rename(&from, &to) {
                let _ = fs::rename(&aside, &to);
                return Err(io_at(&to)(e));
            }
        } else {
            fs_ops.rename(&from, &to).map_err(io_at(&to))?;
        }
    }
    Ok(())
}
