//! What the render gives Kubernetes, checked by the engines' own readers: every manifest and
//! static pod against the release's schemas, and the PKI's names and secrets.

use super::*;

/// kubernetes-validate, installed by `scripts/install-test-deps.sh`: its directory (for
/// `PYTHONPATH`) and script. Missing, it fails the test.
fn kubernetes_validate() -> (PathBuf, PathBuf) {
    let target = crate::support::target_dir();
    let dir = target.join("test-engines/kubernetes-validate-1.37.0");
    let script = dir.join("bin/kubernetes-validate");
    assert!(
        script.is_file(),
        "kubernetes-validate is not at {}; run `bash scripts/install-test-deps.sh`",
        script.display()
    );
    (dir, script)
}

/// Every manifest the render makes, and every static pod, passes `kubernetes-validate --strict`
/// (unknown fields fail) against the schemas of the declared release.
#[test]
fn every_manifest_passes_kubernetes_validate_strict_at_the_declared_version() {
    let cluster = &clusterdef_examples::kubernetes::PRODUCTION;
    let version =
        cluster.kubernetes.as_ref().and_then(|k| k.minor_patch()).map(|(m, _)| format!("1.{m}")).expect("version");
    let artifacts = cluster.render().expect("renders");
    let dir = TempDir::new("k8s-validate");
    let mut files = Vec::new();
    for (path, bytes) in artifacts.iter().filter(|(p, _)| p.starts_with("kubernetes/")) {
        let file = dir.path().join(path.replace('/', "_"));
        std::fs::write(&file, bytes).expect("write");
        files.push(file);
    }
    assert!(files.len() >= 7, "manifests, workloads and static pods: {files:?}");
    let validate = |files: &[PathBuf]| {
        let (path, script) = kubernetes_validate();
        Command::new(tool("python3"))
            .arg(&script)
            .args(["-k", &version, "--strict"])
            .args(files)
            .env("PYTHONPATH", &path)
            .output()
            .expect("run kubernetes-validate")
    };
    let out = validate(&files);
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "kubernetes-validate --strict -k {version}:\n{said}");
    let passed = said.matches(" passed for resource ").count();
    assert!(passed >= files.len(), "each object is validated: {said}");
    // A manifest with a field the schema does not have fails, so the check is not vacuous.
    let bad = dir.path().join("bad.yaml");
    let webapp =
        std::fs::read_to_string(dir.path().join("kubernetes_manifests_workloads_webapp.yaml")).expect("webapp");
    std::fs::write(&bad, webapp.replace("  replicas: 3", "  replicas: 3\n  replica: 3")).expect("write");
    let out = validate(&[bad]);
    assert!(!out.status.success(), "an unknown field must fail --strict");
}

/// What `openssl x509` says of a certificate.
fn x509(cert: &Path, what: &[&str]) -> String {
    let out = Command::new(tool("openssl"))
        .arg("x509")
        .arg("-in")
        .arg(cert)
        .arg("-noout")
        .args(what)
        .output()
        .expect("openssl");
    assert!(out.status.success(), "openssl x509 {}: {}", cert.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The PKI as openssl reads it: every certificate verifies against its CA; the apiservers'
/// names every address and name a client may verify them by; subjects are what RBAC expects;
/// keys are 0600 in 0700 directories; a second write refuses the directory; no key or token
/// reaches the rendered configs or the plan, and `{:?}` prints none.
#[test]
fn the_pki_names_what_clients_verify_and_keeps_its_secrets() {
    use std::os::unix::fs::PermissionsExt as _;
    let cluster = &clusterdef_examples::kubernetes::PRODUCTION;
    let pki = clusterdef_pki::generate(cluster).expect("the PKI");
    let dir = TempDir::new("pki");
    let out = dir.path().join("pki");
    let written = pki.write_to(&out).expect("written");
    assert_eq!(written.len(), pki.files.len());
    for f in &pki.files {
        let path = out.join(&f.path);
        let mode = std::fs::metadata(&path).expect("written").permissions().mode() & 0o777;
        assert_eq!(mode, if f.secret { 0o600 } else { 0o644 }, "{}", f.path);
        let text = String::from_utf8_lossy(&f.contents);
        assert_eq!(
            f.secret,
            text.contains("PRIVATE KEY") || text.contains("token") || f.path.ends_with(".conf"),
            "{} secret={}",
            f.path,
            f.secret
        );
        // Every file lies under a 0700 directory of the PKI's top (`ca/`, `machines/`, `pools/`,
        // or the output directory itself): no other account of the operator's machine reaches
        // it, whatever the modes inside a machine's tree (which are the machine's own).
        let guard = match f.path.split('/').next() {
            Some(top @ ("ca" | "machines" | "pools")) => out.join(top),
            _ => out.clone(),
        };
        let guard_mode = std::fs::metadata(&guard).expect("dir").permissions().mode() & 0o777;
        assert_eq!(guard_mode, 0o700, "{}: {}", f.path, guard.display());
        assert_eq!(std::fs::metadata(&out).expect("out").permissions().mode() & 0o777, 0o700);
    }
    let member = out.join("machines/central-1");
    let k8s_ca = out.join("ca/kubernetes-ca.crt");
    let etcd_ca = out.join("ca/etcd-ca.crt");
    let verify = |ca: &Path, cert: &Path| {
        let v = Command::new(tool("openssl")).arg("verify").arg("-CAfile").arg(ca).arg(cert).output().expect("openssl");
        assert!(
            v.status.success(),
            "{} against {}: {}",
            cert.display(),
            ca.display(),
            String::from_utf8_lossy(&v.stdout)
        );
    };
    for c in ["apiserver", "controller-manager", "scheduler"] {
        verify(&k8s_ca, &member.join(format!("etc/kubernetes/pki/{c}.crt")));
    }
    verify(&etcd_ca, &member.join("etc/kubernetes/pki/etcd-client.crt"));
    let tls = cluster.tls.as_ref().expect("tls");
    for m in cluster.machines() {
        let cert = out.join("machines").join(&m.hostname).join(tls.cert.trim_start_matches('/'));
        verify(&etcd_ca, &cert);
        let sans = x509(&cert, &["-ext", "subjectAltName"]);
        let address = m.address.expect("static").to_string();
        assert!(
            sans.contains(&format!("IP Address:{address}")) && sans.contains("IP Address:127.0.0.1"),
            "{}: {sans}",
            m.hostname
        );
    }
    let sans = x509(&member.join("etc/kubernetes/pki/apiserver.crt"), &["-ext", "subjectAltName"]);
    let k = cluster.kubernetes.as_ref().expect("kubernetes");
    for m in cluster.etcd_members() {
        assert!(sans.contains(&format!("IP Address:{}", m.address.expect("static"))), "{sans}");
        assert!(sans.contains(&format!("DNS:{}", m.name)), "{sans}");
    }
    for name in [
        format!("IP Address:{}", k.service_ip(1)),
        "IP Address:127.0.0.1".into(),
        "DNS:kubernetes.default.svc.cluster.local".into(),
        format!("DNS:{}", clusterdef::own::kubernetes::API_NAME),
    ] {
        assert!(sans.contains(&name), "{name} in {sans}");
    }
    let subject = |c: &str| x509(&member.join(format!("etc/kubernetes/pki/{c}.crt")), &["-subject"]);
    assert!(subject("controller-manager").contains("CN = system:kube-controller-manager"));
    assert!(subject("scheduler").contains("CN = system:kube-scheduler"));
    // Never overwritten.
    match pki.write_to(&out) {
        Err(clusterdef_pki::PkiError::Exists(d)) => assert_eq!(d, out),
        other => panic!("a second write must refuse the directory: {other:?}"),
    }
    // No secret in what the render writes, nor in the plan, nor in {:?}.
    let artifacts = cluster.render().expect("renders");
    let secrets: Vec<String> = pki
        .files
        .iter()
        .filter(|f| f.secret)
        .flat_map(|f| {
            // A key's body, a token, a kubeconfig's key: the lines that are the secret.
            let text = String::from_utf8_lossy(&f.contents).into_owned();
            let key_body = text.contains("PRIVATE KEY");
            text.lines()
                .filter(|l| {
                    (key_body && !l.starts_with("-----"))
                        || ["token:", "client-key-data:", "token-secret:"].iter().any(|k| l.trim().starts_with(k))
                })
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(!secrets.is_empty());
    for (path, bytes) in artifacts.iter() {
        let text = String::from_utf8_lossy(bytes);
        assert!(!text.contains("PRIVATE KEY"), "{path} holds a key");
        assert!(!secrets.iter().any(|s| text.contains(s.trim())), "{path} holds a secret line");
    }
    let debug = format!("{pki:?}");
    assert!(
        !debug.contains("PRIVATE KEY") && !secrets.iter().any(|s| debug.contains(s.trim())),
        "{{:?}} prints a secret"
    );
}
