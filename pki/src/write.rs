//! Writing a PKI: whole into a new sibling directory, renamed into place, secrets 0600 in
//! directories 0700, nothing ever overwritten.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use clusterdef_model::own::kubernetes::PKI_DIR;

use super::{Pki, PkiError};

impl Pki {
    /// Writes every file under `dir`, which must not exist: it is created 0700, every directory
    /// under it 0700, secrets 0600 and certificates 0644, each file created new (`O_EXCL`, so
    /// not even a link planted at its path is followed) and synced. Everything is written into
    /// a new sibling directory first (`.NAME.partial-PID-N`), renamed to `dir` only once whole:
    /// a failure or a kill part-way leaves no `dir` at all, never some keys without the rest,
    /// and a failure removes the partial directory. (A directory that appears at `dir` between
    /// the check and the rename is replaced only if empty; one with anything in it makes the
    /// rename fail.) Returns the paths written. O(files).
    pub fn write_to(&self, dir: &Path) -> Result<Vec<PathBuf>, PkiError> {
        if std::fs::symlink_metadata(dir).is_ok() {
            return Err(PkiError::Exists(dir.to_path_buf()));
        }
        let staging = staging_dir(dir)?;
        match self.write_into(&staging) {
            Ok(relative) => {
                if let Err(e) = std::fs::rename(&staging, dir) {
                    let _ = std::fs::remove_dir_all(&staging);
                    return Err(PkiError::Io(dir.to_path_buf(), e));
                }
                if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                    let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
                }
                Ok(relative.into_iter().map(|r| dir.join(r)).collect())
            }
            Err(e) => {
                let _ = std::fs::remove_dir_all(&staging);
                Err(e)
            }
        }
    }

    /// Writes every file under `root` (just created, empty); returns their paths relative to it.
    fn write_into(&self, root: &Path) -> Result<Vec<PathBuf>, PkiError> {
        let mut written = Vec::new();
        for f in &self.files {
            let mut path = root.to_path_buf();
            let parts: Vec<&str> = f.path.split('/').filter(|p| !p.is_empty()).collect();
            if parts.iter().any(|p| *p == ".." || *p == ".") {
                return Err(PkiError::Nothing(format!("`{}` is no path inside the PKI directory", f.path)));
            }
            let Some((name, parents)) = parts.split_last() else { continue };
            for (depth, p) in parents.iter().enumerate() {
                path.push(p);
                if std::fs::symlink_metadata(&path).is_err() {
                    create_dir_mode(&path, directory_mode(&parents[..=depth]))?;
                }
            }
            path.push(name);
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            {
                use std::os::unix::fs::OpenOptionsExt as _;
                options.mode(if f.secret { 0o600 } else { 0o644 });
            }
            let mut file = options.open(&path).map_err(|e| PkiError::Io(path.clone(), e))?;
            file.write_all(&f.contents).and_then(|()| file.sync_all()).map_err(|e| PkiError::Io(path.clone(), e))?;
            written.push(parts.iter().collect());
        }
        Ok(written)
    }
}

/// A new, empty 0700 directory beside `dir` to write the PKI into before it is renamed.
fn staging_dir(dir: &Path) -> Result<PathBuf, PkiError> {
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "pki".to_string());
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut attempt = 0u32;
    loop {
        let staging = parent.join(format!(".{name}.partial-{}-{attempt}", std::process::id()));
        match create_dir(&staging) {
            Err(PkiError::Io(_, e)) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => attempt += 1,
            other => return other.map(|()| staging),
        }
    }
}

/// The mode of the PKI's directory at `parts` (relative to the output directory). Each
/// machine's tree (`machines/<hostname>/…`, `pools/<group>/…`) holds its directories as they
/// are on the machine, 0755 (the Kubernetes PKI directory 0700), so copying the tree onto the
/// machine's `/` as docs/kubernetes.md says (`rsync -a`) leaves `/`, `/etc` and `/etc/ssl`
/// open to the accounts that need them (etcd reads its key through them); the output
/// directory, `ca/`, `machines/` and `pools/` are 0700, which keeps every secret below them
/// from other accounts of the operator's machine.
fn directory_mode(parts: &[&str]) -> u32 {
    match parts {
        ["machines" | "pools", _, rest @ ..] if rest.join("/") == PKI_DIR.trim_start_matches('/') => 0o700,
        ["machines" | "pools", _, ..] => 0o755,
        _ => 0o700,
    }
}

fn create_dir(path: &Path) -> Result<(), PkiError> {
    create_dir_mode(path, 0o700)
}

fn create_dir_mode(path: &Path, mode: u32) -> Result<(), PkiError> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(mode);
    }
    builder.create(path).map_err(|e| PkiError::Io(path.to_path_buf(), e))?;
    // Exactly `mode`, whatever the umask took from it.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
            .map_err(|e| PkiError::Io(path.to_path_buf(), e))?;
    }
    #[cfg(not(unix))]
    let _ = mode;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::PkiFile;

    fn file(path: &str, secret: bool) -> PkiFile {
        PkiFile { path: path.to_string(), contents: b"bytes".to_vec(), secret }
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("clusterdef-pki-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        dir
    }

    /// A write that fails part-way (here at its third file, after two were written) leaves no
    /// output directory and no partial one: never some keys without the rest.
    #[test]
    fn a_failed_write_leaves_nothing_behind() {
        let dir = scratch("partial");
        let pki = Pki { files: vec![file("a/ca.key", true), file("a/ca.crt", false), file("a/ca.key", true)] };
        let err = pki.write_to(&dir.join("out")).expect_err("the second ca.key exists");
        assert!(matches!(err, PkiError::Io(_, ref e) if e.kind() == std::io::ErrorKind::AlreadyExists), "{err}");
        let left: Vec<_> = std::fs::read_dir(&dir).expect("scratch").flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "nothing is left behind: {left:?}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[cfg(unix)]
    #[test]
    fn a_whole_write_lands_at_once_with_its_modes() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = scratch("whole");
        let pki = Pki { files: vec![file("m/etc/ssl/k.pem", true), file("m/etc/ssl/c.pem", false)] };
        let written = pki.write_to(&dir.join("out")).expect("written");
        assert_eq!(written, [dir.join("out/m/etc/ssl/k.pem"), dir.join("out/m/etc/ssl/c.pem")]);
        let mode = |p: &str| std::fs::metadata(dir.join(p)).expect("meta").permissions().mode() & 0o7777;
        assert_eq!(
            (mode("out"), mode("out/m/etc"), mode("out/m/etc/ssl/k.pem"), mode("out/m/etc/ssl/c.pem")),
            (0o700, 0o700, 0o600, 0o644)
        );
        let left: Vec<_> = std::fs::read_dir(&dir).expect("scratch").flatten().map(|e| e.file_name()).collect();
        assert_eq!(left, ["out"], "no staging directory is left");
        assert!(matches!(pki.write_to(&dir.join("out")), Err(PkiError::Exists(_))), "never over an existing one");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
