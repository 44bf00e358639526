//! Unit body files (`body: file "units/x.service"`), read the same way by every front end: the
//! macro, build scripts and the CLI.
//!
//! A declaration reads only its own project's files. A team that renders clusters submitted by
//! others (a CI job, a platform) would otherwise publish whatever the rendering machine can read
//! (`file "/etc/shadow"`, `file "../../../../etc/shadow"`, or a symlink in the project that
//! points out of it). So a path must be relative, must stay inside one of the allowed
//! directories both as written and after following symlinks, must name a regular file, and the
//! file may hold at most [`MAX_UNIT_FILE`] bytes.
//!
//! The file is opened once and the containment proven on the opened handle
//! ([`clusterdef_fs::read_inside`]): swapping a project directory for a symlink out of it while
//! the declaration is read yields an error, never the outside file. A file with more than one
//! hard link is refused: a hard link inside the project can be another name of any file on the
//! same file system (`/etc/shadow` where both lie on one), and nothing on the file says which
//! name is the project's; a copy is the project's own content.

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
    // After following symlinks: no link may lead out either, proven on the opened file
    // (clusterdef_fs::read_inside), so a path swapped while it is read cannot lead out.
    let real_roots = clusterdef_fs::canonical_roots(allowed);
    clusterdef_fs::read_inside(&base.join(as_written), &real_roots, MAX_UNIT_FILE).map_err(|e| match e {
        clusterdef_fs::ReadError::Outside { resolved } => escape(&resolved),
        e => e.to_string(),
    })
}

/// Reads the unit file `requested` for a `.cluster` file: relative to the crate root `bases[0]`,
/// as the macro and build.rs read it, or, when no file of that name is there, relative to the
/// declaration's own directory (the later bases), so a unit file kept beside its declaration
/// works from any working directory. Each base is also a root the file must stay inside. A path
/// that names a file under two bases is refused as ambiguous rather than one chosen silently.
pub fn read_unit_file_near(requested: &str, bases: &[&Path]) -> Result<String, String> {
    let Some(&first) = bases.first() else { return Err("no directory to read unit files from".to_string()) };
    read_unit_file(requested, locate(requested, bases)?.unwrap_or(first), bases)
}

/// The base `requested` names a file under, if it names one (looked up with `lstat`, which opens
/// nothing); an error when it names one under two different bases. O(bases).
fn locate<'a>(requested: &str, bases: &[&'a Path]) -> Result<Option<&'a Path>, String> {
    // An absolute path is no file under any base: `read_unit_file` refuses it.
    if Path::new(requested).has_root() || requested.starts_with('\\') {
        return Ok(None);
    }
    let mut found: Vec<&'a Path> = Vec::new();
    for base in bases {
        let same_as_found =
            found.iter().any(|f| f.canonicalize().ok().zip(base.canonicalize().ok()).is_some_and(|(a, b)| a == b));
        if !same_as_found && std::fs::symlink_metadata(base.join(requested)).is_ok() {
            found.push(base);
        }
    }
    match found[..] {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        [a, b, ..] => Err(format!(
            "it names a file relative to the crate root ({}) and another beside the declaration ({})\n  = help: keep one of them, or write the path so that it names one (from the crate root, e.g. `cluster/{requested}`)",
            a.join(requested).display(),
            b.join(requested).display()
        )),
    }
}

/// The file a `.cluster` file's `file "…"` path names, as [`read_unit_file_near`] finds it, for
/// build scripts' `rerun-if-changed`.
pub fn unit_file_path(requested: &str, bases: &[&Path]) -> Option<PathBuf> {
    let base = locate(requested, bases).ok().flatten().or(bases.first().copied())?;
    Some(base.join(requested))
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
        assert!(read("units").expect_err("a directory").contains("it is a directory, and only regular files are read"));
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.0.join("secret"), crate_root.join("units/link.service")).expect("link");
            let err = read("units/link.service").expect_err("a symlink out");
            assert!(err.contains("outside the project"), "{err}");
            assert!(
                std::process::Command::new("mkfifo")
                    .arg(crate_root.join("units/p.service"))
                    .status()
                    .expect("mkfifo")
                    .success()
            );
            let err = read("units/p.service").expect_err("a fifo, refused without waiting for a writer");
            assert!(err.contains("a named pipe"), "{err}");
            std::fs::hard_link(dir.0.join("secret"), crate_root.join("units/hard.service")).expect("hard link");
            let err = read("units/hard.service").expect_err("a second name of a file outside");
            assert!(err.contains("2 hard links"), "{err}");
        }
        std::fs::write(crate_root.join("units/huge.service"), vec![b'x'; MAX_UNIT_FILE as usize + 1]).expect("huge");
        assert!(read("units/huge.service").expect_err("too large").contains("more than 1048576 bytes"));
    }
}
