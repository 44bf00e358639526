//! Rules on the etcd TLS files: where the engines and `clusterdef pki` can put and read them.

use super::Report;
use crate::group_ref::GroupRef;
use crate::own::{kubernetes as k8s, who};
use crate::rule::Rule;
use crate::settings::Os;
use crate::subject::Subject;

/// Runs the TLS rules.
pub(super) fn check(r: &mut Report<'_>) {
    tls_directory(r);
    tls_paths(r);
}

/// `tls_directory`: etcd-member's wrapper mounts one host directory, `ETCD_SSL_DIR`, read-only
/// at `/etc/ssl/certs` in etcd's container, and the renderer points `ETCD_*_FILE` at the files'
/// names there; a file in another directory would be missing when etcd starts.
fn tls_directory(r: &mut Report<'_>) {
    let c = r.cluster;
    let Some(tls) = c.tls.as_ref().filter(|_| c.os == Os::Flatcar) else { return };
    let dirs = tls.directories();
    if dirs.len() > 1 {
        let quoted: Vec<String> = dirs.iter().map(|d| format!("`{d}`")).collect();
        r.push(
            Rule::TlsDirectory,
            Subject::Tls,
            format!(
                "the TLS files are in {}: etcd-member mounts one directory into its container, so etcd would not \
                 find the others",
                crate::words::join(&quoted)
            ),
            format!("put `ca`, `cert` and `key` in one directory, e.g. `{}/`", dirs[0]),
        );
    }
}

/// `tls_paths`: the `ca`, `cert` and `key` paths are three distinct absolute, normal paths
/// (no empty, `.` or `..` component, no trailing `/`, each component at most 255 bytes), none
/// inside another, and none where clusterdef writes or needs something else on the machines
/// (its files and directories: the Kubernetes PKI directory and bootstrap kubeconfig, the
/// hostname, etcd's data): `clusterdef pki` writes the three into one tree and would find the
/// path taken, and on the machine one file would replace another. O(own files).
fn tls_paths(r: &mut Report<'_>) {
    let c = r.cluster;
    let Some(tls) = &c.tls else { return };
    let files = [("ca", &tls.ca), ("cert", &tls.cert), ("key", &tls.key)];
    let own = c.own_writes(GroupRef::Members);
    for (i, (what, path)) in files.iter().enumerate() {
        // A relative path (or one with spaces) is `value_format`'s to report.
        if !path.starts_with('/') {
            continue;
        }
        let mut problems: Vec<String> = Vec::new();
        let normal = path.len() > 1
            && path.starts_with('/')
            && !path.ends_with('/')
            && path[1..].split('/').all(|p| !p.is_empty() && p != "." && p != ".." && p.len() <= 255);
        if !normal {
            problems.push(
                "it is not an absolute, normal path to a file (no `.`, `..` or empty component, no trailing `/`, components of at most 255 bytes)"
                    .to_string(),
            );
        }
        for (other, other_path) in files.iter().take(i) {
            if other_path == path {
                problems.push(format!("it is the `{other}` path too, and each is a file of its own"));
            }
        }
        for (other, other_path) in &files {
            let inside = |a: &str, b: &str| a.strip_prefix(b).is_some_and(|rest| rest.starts_with('/'));
            if inside(path, other_path) {
                problems.push(format!("it lies inside the `{other}` path {other_path:?}, which is a file"));
            }
        }
        let inside_dir = |d: &str| path.strip_prefix(d).is_some_and(|rest| rest.starts_with('/'));
        if let Some((dir, by)) = own.directories.iter().find(|(d, _)| inside_dir(d) || **path == **d) {
            problems.push(format!("it lies in {dir}, whose files are {by}'s"));
        }
        if let Some((file, by)) = own.files.iter().find(|(f, by)| *by != who::TLS && **f == **path) {
            problems.push(format!("{file} is {by}'s"));
        }
        if c.os == Os::Flatcar && c.runs_kubernetes() && path.starts_with(&format!("{}/", k8s::PKI_DIR)) {
            problems.push(format!("{} holds the Kubernetes PKI `clusterdef pki` writes", k8s::PKI_DIR));
        }
        problems.dedup();
        if let Some(first) = problems.first() {
            r.push(
                Rule::TlsPaths,
                Subject::TlsFile(i),
                format!("the TLS {what} path {path:?} cannot be written: {first}"),
                "give `ca`, `cert` and `key` three files of their own in one directory, e.g. `/etc/ssl/etcd/ca.pem`, `/etc/ssl/etcd/server.pem`, `/etc/ssl/etcd/server-key.pem`",
            );
        }
    }
}
