//! Certificate renewal on real etcd 3.5, as docs/change.md tells the operator to do it: three
//! TLS members on loopback, each with its own tree of the PKI `clusterdef pki` made installed
//! with the docs' rsync command into a root of its own (mounted where etcd-member's wrapper
//! mounts the TLS directory); then `clusterdef pki --renew` and the same rsync of each renewed
//! tree. Without a restart, each member serves its renewed certificate to the next client that
//! connects, clients holding a renewed certificate write, and no write is refused throughout.

use super::*;

/// The serial of the certificate `host:port` serves, read by openssl from a new connection.
fn served_serial(host: &str, ca: &Path) -> Option<String> {
    let out = Command::new(tool("openssl"))
        .args(["s_client", "-connect", host, "-CAfile"])
        .arg(ca)
        .stdin(Stdio::null())
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let begin = text.find("-----BEGIN CERTIFICATE-----")?;
    let end = text.find("-----END CERTIFICATE-----")? + "-----END CERTIFICATE-----".len();
    serial(&text[begin..end])
}

/// The serial of a PEM certificate, as openssl prints it.
fn serial(pem: &str) -> Option<String> {
    let mut child = Command::new(tool("openssl"))
        .args(["x509", "-noout", "-serial"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    std::io::Write::write_all(child.stdin.as_mut()?, pem.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[test]
fn change_renewed_certificates_are_served_without_a_restart_on_real_etcd() {
    use std::borrow::Cow;
    let dir = TempDir::new("renewal");
    let mut members = clusterdef::Group::new("central", "central", clusterdef::Size::Fixed(3))
        .across(clusterdef::DomainKind::Cabinet, ["a", "b", "c"]);
    members.addressing = clusterdef::Addressing::Range {
        first: std::net::Ipv4Addr::new(127, 0, 28, 11),
        last: std::net::Ipv4Addr::new(127, 0, 28, 13),
    };
    let mut cluster = Cluster::new("renewal", clusterdef::Layout::CentralServices, members);
    cluster.os = clusterdef::Os::Flatcar;
    cluster.network = Some(loopback_network());
    cluster.tls = Some(clusterdef::Tls {
        ca: Cow::Borrowed("/etc/ssl/etcd/ca.pem"),
        cert: Cow::Borrowed("/etc/ssl/etcd/member.pem"),
        key: Cow::Borrowed("/etc/ssl/etcd/member-key.pem"),
    });
    assert_eq!(cluster.check().map_err(|v| v.to_string()), Ok(()));
    let (old_pki, new_pki) = (dir.path().join("pki"), dir.path().join("pki-renewed"));
    clusterdef_pki::generate(&cluster).expect("the PKI").write_to(&old_pki).expect("written");
    let root = |name: &str| dir.path().join("roots").join(name);
    let mut etcd = Etcd::from_applied(&cluster, "renewal");
    let names: Vec<String> = etcd.clients.keys().cloned().collect();
    for name in &names {
        std::fs::create_dir_all(root(name)).expect("a root");
        crate::support::install_pki(&old_pki.join("machines").join(name), &root(name));
        // The wrapper mounts the TLS directory of the machine, which is this root's.
        etcd.processes.get_mut(name).expect("a member").ssl_dir = Some(root(name).join("etc/ssl/etcd"));
    }
    let first = root(&names[0]).join("etc/ssl/etcd");
    let client = |from: &Path| {
        vec![
            format!("--cacert={}", from.join("ca.pem").display()),
            format!("--cert={}", from.join("member.pem").display()),
            format!("--key={}", from.join("member-key.pem").display()),
        ]
    };
    etcd.client_tls = client(&first);
    etcd.start_members();
    assert!(etcd.write_succeeds("/renewal/before", Duration::from_secs(10)));
    let file_serial = |name: &str| {
        serial(&std::fs::read_to_string(root(name).join("etc/ssl/etcd/member.pem")).expect("a certificate"))
            .expect("a serial")
    };
    let before: Vec<String> = names.iter().map(|n| file_serial(n)).collect();
    for (name, wanted) in names.iter().zip(&before) {
        let host = etcd.clients[name].trim_start_matches("https://").to_string();
        assert_eq!(served_serial(&host, &first.join("ca.pem")).as_deref(), Some(wanted.as_str()), "{name} before");
    }

    // The renewal, installed as at first, with nothing restarted.
    let renewed = clusterdef_pki::renew(&cluster, &old_pki).expect("renews");
    assert!(renewed.removed.is_empty());
    renewed.pki.write_to(&new_pki).expect("written");
    for name in &names {
        crate::support::install_pki(&new_pki.join("machines").join(name), &root(name));
    }
    for (name, old) in names.iter().zip(&before) {
        let wanted = file_serial(name);
        assert_ne!(&wanted, old, "{name}'s certificate is new");
        let host = etcd.clients[name].trim_start_matches("https://").to_string();
        assert_eq!(
            served_serial(&host, &first.join("ca.pem")).as_deref(),
            Some(wanted.as_str()),
            "{name} serves its renewed certificate to a new client, unrestarted"
        );
    }
    // A client with a renewed certificate writes; the members never stopped.
    etcd.client_tls = client(&first);
    assert!(etcd.write_succeeds("/renewal/after", Duration::from_secs(10)));
    assert_eq!(etcd.members_running().len(), 3, "no member restarted");
}
