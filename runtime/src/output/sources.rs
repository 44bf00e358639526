//! Reading a directory of a running cluster's files for `import`.

use super::*;

#[cfg(feature = "import")]
/// The largest file [`read_sources`] reads: 1 MiB; cloud-configs and units are a few KiB.
pub const MAX_SOURCE_FILE: u64 = 1 << 20;

#[cfg(feature = "import")]
/// The most [`read_sources`] reads from one directory in all: 64 MiB, some ten thousand machines'
/// configs.
pub const MAX_SOURCE_BYTES: u64 = 64 << 20;

#[cfg(feature = "import")]
/// The most entries (files, directories, links) [`read_sources`] looks at under one directory.
pub const MAX_SOURCE_ENTRIES: usize = 100_000;

#[cfg(feature = "import")]
/// Every regular file under `dir`, by path relative to it, in path order, for
/// [`crate::import::import`]; the manifest of a previous render is skipped. What is not read is
/// a finding on its path (line 0, the whole file): a symlink that leads out of `dir` (never
/// followed) or nowhere, a FIFO, device or socket (refused on the opened handle, so none can
/// stall or flood the read), a file over [`MAX_SOURCE_FILE`] or with more than one hard link
/// (lossy: it may be part of the cluster), a file that is not UTF-8 (lossy too). Symlinks inside
/// `dir` are followed, each directory walked once (a loop ends). More than
/// [`MAX_SOURCE_ENTRIES`] entries or [`MAX_SOURCE_BYTES`] bytes fail the whole read. O(entries
/// × log entries).
pub fn read_sources(dir: &Path) -> Result<(Vec<crate::import::SourceFile>, Vec<crate::import::Finding>), String> {
    use crate::import::{Finding, Severity};
    use clusterdef_fs::ReadError;

    let shown_dir = dir.display();
    let root = dir.canonicalize().map_err(|e| format!("{shown_dir}: {e}"))?;
    let roots = [root.clone()];
    let (mut files, mut findings) = (Vec::new(), Vec::new());
    let mut finding = |rel: &str, severity, why: String| {
        findings.push(Finding { file: rel.to_string(), line: 0, severity, what: "the file".to_string(), why });
    };
    let (mut entries_seen, mut bytes_read) = (0usize, 0u64);
    let mut walked = std::collections::BTreeSet::new();
    walked.insert(fs::metadata(&root).map(|m| clusterdef_fs::identity(&m)).map_err(|e| format!("{shown_dir}: {e}"))?);
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = fs::read_dir(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for entry in entries {
            entries_seen += 1;
            if entries_seen > MAX_SOURCE_ENTRIES {
                return Err(format!(
                    "{shown_dir}: more than {MAX_SOURCE_ENTRIES} entries; import reads at most that many under one directory"
                ));
            }
            let path = entry.map_err(|e| format!("{}: {e}", d.display()))?.path();
            let rel = path.strip_prefix(dir).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            let own = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let meta = if own.file_type().is_symlink() {
                match path.canonicalize() {
                    Err(e) => {
                        finding(&rel, Severity::Lossy, format!("a symlink that leads nowhere ({e}); not read"));
                        continue;
                    }
                    Ok(target) if !clusterdef_fs::is_inside(&target, &roots) => {
                        finding(
                            &rel,
                            Severity::Lossy,
                            format!("a symlink to {}, outside the imported directory; not followed", target.display()),
                        );
                        continue;
                    }
                    Ok(target) => fs::metadata(&target).map_err(|e| format!("{}: {e}", path.display()))?,
                }
            } else {
                own
            };
            if meta.is_dir() {
                if walked.insert(clusterdef_fs::identity(&meta)) {
                    stack.push(path);
                }
                continue;
            }
            if rel == MANIFEST {
                continue;
            }
            match clusterdef_fs::read_inside(&path, &roots, MAX_SOURCE_FILE) {
                Ok(text) => {
                    bytes_read += text.len() as u64;
                    if bytes_read > MAX_SOURCE_BYTES {
                        return Err(format!(
                            "{shown_dir}: more than {MAX_SOURCE_BYTES} bytes of files; import reads at most that much from one directory"
                        ));
                    }
                    files.push(crate::import::SourceFile { path: rel, text });
                }
                Err(ReadError::NotText) => finding(&rel, Severity::Lossy, "not UTF-8 text, so not read: it may hold a part of the cluster (a group's config, a unit) that the declaration would then lack".to_string()),
                Err(e) => finding(&rel, Severity::Lossy, format!("not read: {}", e.to_string().replace('\n', ""))),
            }
        }
    }
    files.sort_by(|a, b| a.path.cmp(&b.path));
    findings.sort_by(|a, b| a.file.cmp(&b.file));
    Ok((files, findings))
}
