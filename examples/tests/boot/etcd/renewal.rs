//! Certificates through changes on real etcd 3.5, as docs/change.md tells the operator to
//! handle them: three TLS members on loopback, each with its own tree of the PKI `clusterdef
//! pki` made installed with the docs' rsync command into a root of its own (mounted where
//! etcd-member's wrapper mounts the TLS directory).
//!
//! - Renewal: `clusterdef pki --renew` and the same rsync of each renewed tree. Without a
//!   restart, each member serves its renewed certificate to the next client that connects,
//!   clients holding a renewed certificate write, and no write is refused throughout.
//! - A member moved to a new address: its tree renewed for NEW (certificates naming the new
//!   address) installed before it restarts there, as its step says.

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

/// Three TLS members of a Flatcar cluster on `127.0.<octet>.11–13` (cabinets a, b, c), at
/// `addresses` when given.
fn tls_cluster(name: &str, octet: u8, addresses: Option<[u8; 3]>) -> Cluster {
    use std::borrow::Cow;
    let mut members = clusterdef::Group::new("central", "central", clusterdef::Size::Fixed(3))
        .across(clusterdef::DomainKind::Cabinet, ["a", "b", "c"]);
    let at = |last: u8| std::net::Ipv4Addr::new(127, 0, octet, last);
    members.addressing = match addresses {
        Some(list) => clusterdef::Addressing::List(Cow::Owned(list.iter().map(|l| at(*l)).collect())),
        None => clusterdef::Addressing::Range { first: at(11), last: at(13) },
    };
    let mut cluster = Cluster::new(name.to_string(), clusterdef::Layout::CentralServices, members);
    cluster.os = clusterdef::Os::Flatcar;
    cluster.network = Some(loopback_network());
    cluster.tls = Some(clusterdef::Tls {
        ca: Cow::Borrowed("/etc/ssl/etcd/ca.pem"),
        cert: Cow::Borrowed("/etc/ssl/etcd/member.pem"),
        key: Cow::Borrowed("/etc/ssl/etcd/member-key.pem"),
    });
    assert_eq!(cluster.check().map_err(|v| v.to_string()), Ok(()));
    cluster
}

/// The TLS directory the members' drop-ins and the plan's commands name.
const TLS_DIR: &str = "/etc/ssl/etcd";

/// `cluster`'s members running with TLS: the PKI `clusterdef pki` makes, written under `dir`,
/// each member's tree installed with the docs' rsync into a root of its own (mounted where
/// etcd-member's wrapper mounts the TLS directory), the client holding the first member's.
struct TlsMembers {
    etcd: Etcd,
    names: Vec<String>,
    pki: PathBuf,
    roots: PathBuf,
}

impl TlsMembers {
    fn start(cluster: &Cluster, dir: &TempDir, tag: &str) -> TlsMembers {
        let pki = dir.path().join("pki");
        clusterdef_pki::generate(cluster).expect("the PKI").write_to(&pki).expect("written");
        let mut bed = TlsMembers {
            etcd: Etcd::from_applied(cluster, tag),
            names: Vec::new(),
            pki,
            roots: dir.path().join("roots"),
        };
        bed.names = bed.etcd.clients.keys().cloned().collect();
        for name in bed.names.clone() {
            bed.install(&bed.pki.join("machines").join(&name), &name);
            // The wrapper mounts the TLS directory of the machine, which is this root's.
            let ssl_dir = bed.tls_dir(&name);
            bed.etcd.processes.get_mut(&name).expect("a member").ssl_dir = Some(ssl_dir);
        }
        bed.etcd.client_tls = bed.client();
        bed.etcd.start_members();
        bed
    }

    fn root(&self, name: &str) -> PathBuf {
        self.roots.join(name)
    }

    fn tls_dir(&self, name: &str) -> PathBuf {
        self.root(name).join(TLS_DIR.trim_start_matches('/'))
    }

    /// A tree of a PKI installed into `name`'s root, as the docs' rsync does.
    fn install(&self, tree: &Path, name: &str) {
        std::fs::create_dir_all(self.root(name)).expect("a root");
        crate::support::install_pki(tree, &self.root(name));
    }

    /// etcdctl's TLS flags: the first member's certificate.
    fn client(&self) -> Vec<String> {
        let from = self.tls_dir(&self.names[0]);
        vec![
            format!("--cacert={}", from.join("ca.pem").display()),
            format!("--cert={}", from.join("member.pem").display()),
            format!("--key={}", from.join("member-key.pem").display()),
        ]
    }
}

#[test]
fn change_renewed_certificates_are_served_without_a_restart_on_real_etcd() {
    let dir = TempDir::new("renewal");
    let cluster = tls_cluster("renewal", 28, None);
    let new_pki = dir.path().join("pki-renewed");
    let mut bed = TlsMembers::start(&cluster, &dir, "renewal");
    let names = bed.names.clone();
    let first = bed.tls_dir(&names[0]);
    assert!(bed.etcd.write_succeeds("/renewal/before", Duration::from_secs(10)));
    let file_serial = |bed: &TlsMembers, name: &str| {
        serial(&std::fs::read_to_string(bed.tls_dir(name).join("member.pem")).expect("a certificate"))
            .expect("a serial")
    };
    let before: Vec<String> = names.iter().map(|n| file_serial(&bed, n)).collect();
    for (name, wanted) in names.iter().zip(&before) {
        let host = bed.etcd.clients[name].trim_start_matches("https://").to_string();
        assert_eq!(served_serial(&host, &first.join("ca.pem")).as_deref(), Some(wanted.as_str()), "{name} before");
    }

    // The renewal, installed as at first, with nothing restarted.
    let renewed = clusterdef_pki::renew(&cluster, &bed.pki).expect("renews");
    assert!(renewed.removed.is_empty());
    renewed.pki.write_to(&new_pki).expect("written");
    for name in &names {
        bed.install(&new_pki.join("machines").join(name), name);
    }
    for (name, old) in names.iter().zip(&before) {
        let wanted = file_serial(&bed, name);
        assert_ne!(&wanted, old, "{name}'s certificate is new");
        let host = bed.etcd.clients[name].trim_start_matches("https://").to_string();
        assert_eq!(
            served_serial(&host, &first.join("ca.pem")).as_deref(),
            Some(wanted.as_str()),
            "{name} serves its renewed certificate to a new client, unrestarted"
        );
    }
    // A client with a renewed certificate writes; the members never stopped.
    bed.etcd.client_tls = bed.client();
    assert!(bed.etcd.write_succeeds("/renewal/after", Duration::from_secs(10)));
    assert_eq!(bed.etcd.members_running().len(), 3, "no member restarted");
}

/// A TLS member moved to a new address, as its step says: `member update` run as printed on
/// another member (its TLS files where the commands name them), the member stopped, its tree of
/// the PKI renewed for NEW installed (certificates naming its new address, the same CA), and
/// NEW's drop-in on its own data. The others verify it at its new address; every write is kept.
#[test]
fn change_a_member_moved_with_tls_on_real_etcd() {
    let dir = TempDir::new("moved-tls");
    let (old, new) = (tls_cluster("moved", 30, None), tls_cluster("moved", 30, Some([11, 12, 23])));
    let mut bed = TlsMembers::start(&old, &dir, "moved-tls");
    assert!(bed.etcd.write_succeeds("/moved/before", Duration::from_secs(10)));
    let plan = clusterdef::change::plan(&old, &new, &crate::writer::allow_windows()).expect("a move plans");
    println!("moved-tls:\n{plan}");
    let step = &plan.steps[0];
    assert_eq!((step.action, step.member.as_deref()), (clusterdef::change::Action::MoveAddress, Some("central-3")));
    assert!(
        step.machines.iter().any(|l| l.starts_with("central-3: its TLS files from the PKI renewed for NEW")),
        "{:#?}",
        step.machines
    );
    let operator = bed.tls_dir("central-1");
    bed.etcd.sh_with_tls(&step.commands, Some((TLS_DIR, &operator)));
    bed.etcd.kill("central-3");
    let renewed_dir = dir.path().join("pki-renewed");
    clusterdef_pki::renew(&new, &bed.pki).expect("renews").pki.write_to(&renewed_dir).expect("written");
    bed.install(&renewed_dir.join("machines/central-3"), "central-3");
    bed.etcd.prepare(&new.render().expect("NEW renders"), "central-3", "moved-tls");
    bed.etcd.start("central-3");
    bed.etcd.wait_healthy(Duration::from_secs(60));
    let listed = bed.etcd.etcdctl("3", &bed.etcd.running_endpoints(), &["member", "list"]).expect("member list");
    assert!(listed.contains(", https://127.0.30.23:2380, https://127.0.30.23:2379"), "{listed}");
    assert!(bed.etcd.write_succeeds("/moved/after", Duration::from_secs(20)));
    let at_new = ["https://127.0.30.23:2379"];
    let read = bed.etcd.etcdctl("3", &at_new, &["get", "/moved/", "--prefix", "--keys-only", "--consistency=l"]);
    assert_eq!(read.as_deref().map(|r| r.lines().filter(|l| !l.is_empty()).count()), Some(2), "{read:?}");
}
