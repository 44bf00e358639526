//! Unit body files (`body: file "units/x.service"`), read the same way by every front end: the
//! macro, build scripts and the CLI.
//!
//! A declaration reads only its own project's files. A team that renders clusters submitted by
//! others (a CI job, a platform) would otherwise publish whatever the rendering machine can read
//! (`file "/etc/shadow"`, `file "../../../../etc/shadow"`, or a symlink in the project that
//! points out of it). So a path must be relative, must stay inside one of the allowed
//! directories both as written and after following symlinks, must name a regular file, and the
//! file may hold at most [`MAX_UNIT_FILE`] bytes.

use std::io::Read as _;
use std::path::{Component, Path, PathBuf};

/// The largest unit body file read: 1 MiB, far above any unit file, so a declaration cannot make
/// a front end read a device or a huge file into memory.
pub const MAX_UNIT_FILE: u64 = 1 << 20;

/// `path` with `.` and `..` resolved as text, without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Reads the unit file `requested`, written relative to `base`, if it lies inside one of
/// `allowed` (the crate root, the `.cluster` file's directory). The error says what was refused
/// and why, naming the path the request resolves to.
pub fn read_unit_file(requested: &str, base: &Path, allowed: &[&Path]) -> Result<String, String> {
    let escape = |resolved: &Path| {
        format!(
            "it resolves to {}, outside the project: a declaration reads only files inside its crate (or its .cluster file's directory)\n  = help: keep unit files inside the project, e.g. `units/{}`",
            resolved.display(),
            Path::new(requested).file_name().map_or("name.service".into(), |n| n.to_string_lossy())
        )
    };
    let as_written = Path::new(requested);
    if as_written.is_absolute() || as_written.has_root() || requested.starts_with('\\') {
        return Err(format!(
            "it is an absolute path, and unit files are named relative to the crate root and stay inside the project\n  = help: write it relative to the crate root, e.g. `units/{}`",
            as_written.file_name().map_or("name.service".into(), |n| n.to_string_lossy())
        ));
    }
    // As written: `..` may not climb out, whether or not the target exists.
    let base_normal = lexically_normal(&std::path::absolute(base).map_err(|e| e.to_string())?);
    let lexical = lexically_normal(&base_normal.join(as_written));
    let roots: Vec<PathBuf> =
        allowed.iter().filter_map(|d| std::path::absolute(d).ok()).map(|d| lexically_normal(&d)).collect();
    if !roots.iter().any(|root| lexical.starts_with(root)) {
        return Err(escape(&lexical));
    }
    // After following symlinks: no link may lead out either.
    let resolved = base.join(as_written).canonicalize().map_err(|e| e.to_string())?;
    let real_roots: Vec<PathBuf> = allowed.iter().filter_map(|d| d.canonicalize().ok()).collect();
    if !real_roots.iter().any(|root| resolved.starts_with(root)) {
        return Err(escape(&resolved));
    }
    let file = std::fs::File::open(&resolved).map_err(|e| e.to_string())?;
    let meta = file.metadata().map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err(
            "it is not a regular file\n  = help: name the unit file itself, e.g. `units/name.service`".to_string()
        );
    }
    let mut text = String::new();
    let read = file.take(MAX_UNIT_FILE + 1).read_to_string(&mut text).map_err(|e| e.to_string())?;
    if read as u64 > MAX_UNIT_FILE {
        return Err(format!(
            "it is larger than {MAX_UNIT_FILE} bytes, far beyond any unit file\n  = help: name the unit file itself, not a data file"
        ));
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scratch(PathBuf);

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn only_files_inside_the_project_are_read() {
        let dir = Scratch(std::env::temp_dir().join(format!("clusterdef-files-{}", std::process::id())));
        let crate_root = dir.0.join("crate");
        std::fs::create_dir_all(crate_root.join("units")).expect("dirs");
        std::fs::write(crate_root.join("units/web.service"), "[Service]\nExecStart=/bin/true\n").expect("unit");
        std::fs::write(dir.0.join("secret"), "outside").expect("secret");
        let read = |p: &str| read_unit_file(p, &crate_root, &[&crate_root]);
        assert_eq!(read("units/web.service").as_deref(), Ok("[Service]\nExecStart=/bin/true\n"));
        assert_eq!(read("./units/../units/web.service").as_deref(), Ok("[Service]\nExecStart=/bin/true\n"));
        let err = read("../secret").expect_err("an escape");
        assert!(err.contains("outside the project") && err.contains("secret"), "{err}");
        assert!(read("/etc/hostname").expect_err("absolute").contains("absolute path"));
        assert!(
            read("../../../../../../../../../../etc/shadow").expect_err("escape").contains("resolves to /etc/shadow")
        );
        assert!(read("units").expect_err("a directory").contains("not a regular file"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.0.join("secret"), crate_root.join("units/link.service")).expect("link");
            let err = read("units/link.service").expect_err("a symlink out");
            assert!(err.contains("outside the project"), "{err}");
        }
        std::fs::write(crate_root.join("units/huge.service"), vec![b'x'; MAX_UNIT_FILE as usize + 1]).expect("huge");
        assert!(read("units/huge.service").expect_err("too large").contains("larger than"));
    }
}
