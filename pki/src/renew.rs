//! Certificates as planned events: when each certificate of a PKI directory expires, and its
//! renewal, new leaf certificates and keys under the CAs it holds (for the machines of the
//! cluster as now declared, members a change adds included), written into a new directory;
//! the old one is only read. What reloads a renewed certificate by itself, and what must
//! restart, is in docs/change.md.
//!
//! Every file is read through `clusterdef_fs::read_own` (a regular file, never through a
//! symlink, at most 1 MiB), and a walk looks at most [`MAX_ENTRIES`] entries.

use std::path::Path;

use clusterdef_model::own::kubernetes::{BOOTSTRAP_DIR, PKI_DIR};
use clusterdef_model::{Cluster, Os};

use super::{Kept, Pki, PkiError, der, generate_with};

/// The most entries a walk of a PKI directory looks at (a cluster's PKI has a few per machine).
pub const MAX_ENTRIES: usize = 200_000;

/// The largest file read from a PKI directory.
const MAX_FILE: u64 = 1 << 20;

fn read(dir: &Path, path: &str) -> Result<String, PkiError> {
    let full = dir.join(path);
    let bytes = clusterdef_fs::read_own(&full, MAX_FILE).map_err(|e| {
        PkiError::Nothing(format!("{}: {e}; renewal reads the directory `clusterdef pki` wrote", full.display()))
    })?;
    String::from_utf8(bytes).map_err(|_| PkiError::Nothing(format!("{}: not text", full.display())))
}

/// The first of `dir`'s machine trees (`machines/*`, in name order) that holds `path`.
fn in_a_machine(dir: &Path, path: &str) -> Result<String, PkiError> {
    let machines = dir.join("machines");
    let mut names: Vec<String> = std::fs::read_dir(&machines)
        .map_err(|e| PkiError::Io(machines.clone(), e))?
        .take(MAX_ENTRIES)
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let relative = path.trim_start_matches('/');
    for name in names {
        let candidate = format!("machines/{name}/{relative}");
        if dir.join(&candidate).symlink_metadata().is_ok() {
            return read(dir, &candidate);
        }
    }
    Err(PkiError::Nothing(format!("no machine tree of {} holds {path}", dir.display())))
}

/// `token-id` and `token-secret` of the bootstrap token's Secret, each as Kubernetes requires it
/// (`[a-z0-9]{6}` and `[a-z0-9]{16}`).
fn token_of(manifest: &str) -> Result<(String, String), PkiError> {
    let field = |key: &str, len: usize| {
        manifest
            .lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .map(|v| v.trim_matches('"').to_string())
            .filter(|v| v.len() == len && v.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
            .ok_or_else(|| PkiError::Nothing(format!("the bootstrap token's `{key}` is missing or malformed")))
    };
    Ok((field("token-id", 6)?, field("token-secret", 16)?))
}

/// A renewal: the new PKI, and the machine trees of the old one the cluster no longer has
/// (their certificates are the removed members' and machines').
#[derive(Debug)]
pub struct Renewed {
    /// The new PKI: the same CAs, service-account key and bootstrap token; every leaf new.
    pub pki: Pki,
    /// `machines/…` and `pools/…` trees of the old directory that the new PKI has no tree for.
    pub removed: Vec<String>,
}

/// Renews the PKI in `old` (a directory `clusterdef pki` wrote) for `cluster` as now declared:
/// every leaf certificate and key anew, under the same CAs; the service-account key and the
/// bootstrap token kept. `old` is only read. O(machines + entries of `old`).
pub fn renew(cluster: &Cluster, old: &Path) -> Result<Renewed, PkiError> {
    let mut kept = Kept::default();
    if cluster.tls.is_some() {
        kept.etcd_ca = Some((read(old, "ca/etcd-ca.crt")?, read(old, "ca/etcd-ca.key")?));
    }
    if cluster.kubernetes.is_some() && cluster.os == Os::Flatcar {
        kept.kubernetes_ca = Some((read(old, "ca/kubernetes-ca.crt")?, read(old, "ca/kubernetes-ca.key")?));
        kept.service_account = Some(in_a_machine(old, &format!("{PKI_DIR}/service-account.key"))?);
        kept.token = Some(token_of(&in_a_machine(old, &format!("{BOOTSTRAP_DIR}/bootstrap-token.yaml"))?)?);
    }
    let pki = generate_with(cluster, kept)?;
    let trees: std::collections::HashSet<String> =
        pki.files.iter().filter_map(|f| tree_of(&f.path)).map(str::to_string).collect();
    let mut removed = Vec::new();
    for kind in ["machines", "pools"] {
        let Ok(entries) = std::fs::read_dir(old.join(kind)) else { continue };
        for entry in entries.take(MAX_ENTRIES).flatten() {
            let tree = format!("{kind}/{}", entry.file_name().to_string_lossy());
            if !trees.contains(&tree) {
                removed.push(tree);
            }
        }
    }
    removed.sort();
    Ok(Renewed { pki, removed })
}

/// `machines/NAME` or `pools/NAME` of a PKI path.
fn tree_of(path: &str) -> Option<&str> {
    let mut parts = path.splitn(3, '/');
    let (kind, name) = (parts.next()?, parts.next()?);
    matches!(kind, "machines" | "pools").then(|| &path[..kind.len() + 1 + name.len()])
}

/// One certificate of a PKI directory and when it expires.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// The file, relative to the directory; a kubeconfig's embedded certificate is named by
    /// the file and its key (`admin.conf: client-certificate-data`).
    pub path: String,
    /// When it stops being valid.
    pub not_after: time::OffsetDateTime,
}

/// Every certificate under `dir` (PEM files, and certificates embedded in kubeconfigs), soonest
/// to expire first. Symlinks are not followed; a walk looks at [`MAX_ENTRIES`] entries at most.
pub fn expiries(dir: &Path) -> Result<Vec<Expiry>, PkiError> {
    let mut out = Vec::new();
    let mut pending = vec![String::new()];
    let mut seen = 0usize;
    while let Some(relative) = pending.pop() {
        let here = if relative.is_empty() { dir.to_path_buf() } else { dir.join(&relative) };
        let entries = std::fs::read_dir(&here).map_err(|e| PkiError::Io(here.clone(), e))?;
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_ENTRIES {
                return Err(PkiError::Nothing(format!("{} holds more than {MAX_ENTRIES} entries", dir.display())));
            }
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if relative.is_empty() { name } else { format!("{relative}/{name}") };
            match entry.file_type() {
                Ok(t) if t.is_dir() => pending.push(path),
                Ok(t) if t.is_file() => {
                    let Ok(text) = read(dir, &path) else { continue };
                    out.extend(in_file(&path, &text));
                }
                _ => {}
            }
        }
    }
    out.sort_by(|a, b| a.not_after.cmp(&b.not_after).then_with(|| a.path.cmp(&b.path)));
    Ok(out)
}

/// The certificates of one file: its PEM blocks, and a kubeconfig's `*-data` certificates.
fn in_file(path: &str, text: &str) -> Vec<Expiry> {
    use base64::Engine as _;
    let mut out: Vec<Expiry> = der::certificates(text)
        .iter()
        .filter_map(|c| der::not_after(c))
        .map(|not_after| Expiry { path: path.to_string(), not_after })
        .collect();
    for line in text.lines() {
        let Some((key, value)) = line.trim().split_once(": ") else { continue };
        if !matches!(key, "client-certificate-data" | "certificate-authority-data") {
            continue;
        }
        let Ok(pem) = base64::engine::general_purpose::STANDARD.decode(value.trim_matches('"')) else { continue };
        let pem = String::from_utf8_lossy(&pem);
        out.extend(
            der::certificates(&pem)
                .iter()
                .filter_map(|c| der::not_after(c))
                .map(|not_after| Expiry { path: format!("{path}: {key}"), not_after }),
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;

    fn cluster(machines: u32) -> Cluster {
        let mut c = clusterdef_model::synthetic::kubernetes_cluster(machines, 2);
        c.tls = Some(clusterdef_model::Tls {
            ca: "/etc/ssl/etcd/ca.pem".into(),
            cert: "/etc/ssl/etcd/machine.pem".into(),
            key: "/etc/ssl/etcd/machine-key.pem".into(),
        });
        c.accept_risks(|_| "renewal test".to_string());
        c
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("clusterdef-pki-renew-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        dir
    }

    /// Every file under `dir` with its bytes and mode.
    fn tree(dir: &Path) -> Vec<(String, Vec<u8>, u32)> {
        use std::os::unix::fs::PermissionsExt;
        let mut out = Vec::new();
        let mut pending = vec![dir.to_path_buf()];
        while let Some(at) = pending.pop() {
            for e in std::fs::read_dir(&at).expect("read").flatten() {
                let meta = e.metadata().expect("meta");
                if meta.is_dir() {
                    pending.push(e.path());
                } else {
                    let rel = e.path().strip_prefix(dir).expect("inside").display().to_string();
                    out.push((rel, std::fs::read(e.path()).expect("read"), meta.permissions().mode() & 0o777));
                }
            }
        }
        out.sort();
        out
    }

    fn verify(ca: &Path, cert: &Path) -> bool {
        let out = Command::new("openssl").arg("verify").arg("-CAfile").arg(ca).arg(cert).output().expect("openssl");
        out.status.success()
    }

    /// A renewal for a cluster that grew: the same CAs, service-account key and bootstrap token;
    /// every leaf and leaf key new, and each verifies (openssl) against the CA the machines hold;
    /// the old directory untouched; keys 0600; the new machine's tree made, none removed.
    #[test]
    fn a_renewal_keeps_the_cas_and_every_new_leaf_chains_to_them() {
        let dir = scratch("grow");
        let (old_dir, new_dir) = (dir.join("old"), dir.join("new"));
        let old = cluster(6);
        super::super::generate(&old).expect("generates").write_to(&old_dir).expect("writes");
        let before = tree(&old_dir);
        let grown = cluster(7);
        let renewed = renew(&grown, &old_dir).expect("renews");
        assert!(renewed.removed.is_empty(), "{:?}", renewed.removed);
        renewed.pki.write_to(&new_dir).expect("writes");
        assert_eq!(tree(&old_dir), before, "the old directory is only read");
        let after = tree(&new_dir);
        let same =
            |p: &str| before.iter().find(|f| f.0 == p).map(|f| &f.1) == after.iter().find(|f| f.0 == p).map(|f| &f.1);
        for kept in ["ca/etcd-ca.crt", "ca/etcd-ca.key", "ca/kubernetes-ca.crt", "ca/kubernetes-ca.key"] {
            assert!(same(kept), "{kept} is kept");
        }
        let mut leaves = 0;
        for (path, bytes, mode) in &after {
            let old_bytes = before.iter().find(|f| &f.0 == path).map(|f| &f.1);
            let text = String::from_utf8_lossy(bytes);
            if path.ends_with("service-account.key")
                || path.ends_with("service-account.pub")
                || path.ends_with("bootstrap-token.yaml")
            {
                assert_eq!(old_bytes, Some(bytes), "{path} is kept");
            } else if text.contains("PRIVATE KEY") && !path.starts_with("ca/") && !path.ends_with("ca.key") {
                assert_ne!(old_bytes, Some(bytes), "{path}: a new key");
            }
            if text.contains("PRIVATE KEY") || path.ends_with(".conf") || path.ends_with("bootstrap-token.yaml") {
                assert_eq!(*mode, 0o600, "{path}");
            }
            let is_leaf =
                path.ends_with("machine.pem") || path.ends_with("apiserver.crt") || path.ends_with("etcd-client.crt");
            if is_leaf {
                leaves += 1;
                assert_ne!(old_bytes, Some(bytes), "{path}: a new certificate");
                let ca = if path.ends_with("machine.pem") || path.ends_with("etcd-client.crt") {
                    old_dir.join("ca/etcd-ca.crt")
                } else {
                    old_dir.join("ca/kubernetes-ca.crt")
                };
                assert!(verify(&ca, &new_dir.join(path)), "{path} chains to the old CA");
            }
        }
        assert!(leaves >= 7, "{leaves} leaves checked");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A cluster that shrank: the trees of the machines it no longer has are listed; a CA whose
    /// key is another's, and a directory that is no PKI, are refused.
    #[test]
    fn removed_machines_are_listed_and_a_foreign_ca_is_refused() {
        let dir = scratch("shrink");
        let old_dir = dir.join("old");
        super::super::generate(&cluster(7)).expect("generates").write_to(&old_dir).expect("writes");
        let renewed = renew(&cluster(6), &old_dir).expect("renews");
        assert_eq!(renewed.removed.len(), 1, "{:?}", renewed.removed);
        let other = dir.join("other");
        super::super::generate(&cluster(6)).expect("generates").write_to(&other).expect("writes");
        std::fs::copy(other.join("ca/etcd-ca.key"), old_dir.join("ca/etcd-ca.key.new")).expect("copy");
        std::fs::rename(old_dir.join("ca/etcd-ca.key.new"), old_dir.join("ca/etcd-ca.key")).expect("swap");
        let err = renew(&cluster(6), &old_dir).expect_err("another CA's key");
        assert!(err.to_string().contains("not the one its key made"), "{err}");
        let err = renew(&cluster(6), &dir.join("nothing")).expect_err("no PKI");
        assert!(err.to_string().contains("renewal reads the directory"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Every certificate of a PKI, with when it expires: leaves in a year, CAs in ten, the
    /// administrator's embedded certificate too; a symlink is not followed.
    #[test]
    fn expiries_list_every_certificate_soonest_first() {
        let dir = scratch("expiry");
        let pki_dir = dir.join("pki");
        super::super::generate(&cluster(6)).expect("generates").write_to(&pki_dir).expect("writes");
        std::os::unix::fs::symlink("/etc/ssl/certs", pki_dir.join("elsewhere")).expect("link");
        let list = expiries(&pki_dir).expect("reads");
        let now = time::OffsetDateTime::now_utc();
        let days = |e: &Expiry| (e.not_after - now).whole_days();
        assert!(list.windows(2).all(|w| w[0].not_after <= w[1].not_after), "soonest first");
        assert!(list.iter().any(|e| e.path == "admin.conf: client-certificate-data" && (364..=366).contains(&days(e))));
        assert!(list.iter().any(|e| e.path == "ca/etcd-ca.crt" && days(e) >= 3640));
        assert!(list.iter().all(|e| !e.path.starts_with("elsewhere")), "symlinks are not followed");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
