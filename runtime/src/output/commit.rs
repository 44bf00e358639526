//! Swapping the staged entries in, each set aside and replaced by two renames, the manifest last;
//! undone in reverse when a rename fails.

use super::manifest::MAX_MANIFEST;
use super::stage::Swap;
use super::*;

/// Swaps the staged entries in (an entry that goes is set aside in the stage, which is removed
/// after), then puts the manifest in place. Every change to the directory is a rename of a whole
/// entry, so a kill at any point leaves each entry wholly old or wholly new (or, in
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
    if let Err((_, true)) = &swapped
        && let Some(previous) = restore
    {
        // The write failed and put every entry back: so goes the manifest. (Had it not, the
        // union stays: it names both renders' files, whichever each entry now holds.)
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
    swapped.map_err(|(e, _)| e)?;
    if staged_manifest.exists() {
        let path = dir.join(MANIFEST);
        fs_ops.rename(&staged_manifest, &path).map_err(io_at(&path))?;
    }
    report.written.sort();
    report.unchanged.sort();
    report.removed.sort();
    Ok(report)
}

/// The swaps of [`commit`], in order. An entry that is replaced or removed is first set aside in
/// the stage (`old`), so that a failure can put everything back: the swaps done are undone in
/// reverse order (the new entry back into the stage, the old one back into place). Returns
/// whether the directory is as it was before (nothing done, or all of it undone), with the error.
fn swap_all(dir: &Path, stage: &Path, old: &Path, fs_ops: &dyn Fs, swaps: &[Swap]) -> Result<(), (WriteError, bool)> {
    let mut done: Vec<(&Swap, bool)> = Vec::with_capacity(swaps.len());
    for swap in swaps {
        match swap_one(dir, stage, old, fs_ops, swap) {
            Ok(set_aside) => done.push((swap, set_aside)),
            Err(e) => {
                let undone = done.iter().rev().all(|(swap, set_aside)| undo(dir, stage, old, swap, *set_aside));
                return Err((e, undone));
            }
        }
    }
    Ok(())
}

/// One swap: the current entry (if any) set aside, then the staged one (if any) renamed into
/// place; a failed second rename puts the entry back. Returns whether an entry was set aside.
fn swap_one(dir: &Path, stage: &Path, old: &Path, fs_ops: &dyn Fs, swap: &Swap) -> Result<bool, WriteError> {
    let (from, to) = (stage.join(&swap.name), dir.join(&swap.name));
    let aside = old.join(&swap.name);
    let set_aside = swap.replaces && fs::symlink_metadata(&to).is_ok();
    if set_aside {
        if let Some(parent) = aside.parent() {
            fs::create_dir_all(parent).map_err(io_at(parent))?;
        }
        fs_ops.rename(&to, &aside).map_err(io_at(&to))?;
    }
    if swap.removes {
        return Ok(set_aside);
    }
    if let Err(e) = fs_ops.rename(&from, &to) {
        if set_aside {
            let _ = fs::rename(&aside, &to);
        }
        return Err(io_at(&to)(e));
    }
    Ok(set_aside)
}

/// Undoes one completed swap; whether it could.
fn undo(dir: &Path, stage: &Path, old: &Path, swap: &Swap, set_aside: bool) -> bool {
    let (from, to) = (stage.join(&swap.name), dir.join(&swap.name));
    if !swap.removes && fs::rename(&to, &from).is_err() {
        return false;
    }
    !set_aside || fs::rename(old.join(&swap.name), &to).is_ok()
}
