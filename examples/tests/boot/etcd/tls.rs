//! etcd with TLS: the certificates a cluster's plan names, made with openssl, and members that
//! refuse clients without one, started from the rendered CoreOS cloud-config and from the
//! applied Flatcar drop-ins, through the gateway too.

use super::*;

/// The certificate files a loopback TLS cluster names, in `dir`, before they exist: the
/// cluster is declared first, and its plan says what the certificates must carry.
fn certificate_paths(dir: &Path) -> [PathBuf; 3] {
    ["ca.pem", "server.pem", "server-key.pem"].map(|f| dir.join(f))
}

/// Every name the plan says some member's certificate must carry (one certificate serves all
/// the loopback members here, as one file path serves every machine).
fn planned_certificate_names(cluster: &Cluster) -> Vec<String> {
    let mut names: Vec<String> =
        cluster.plan().etcd.member_urls.iter().flat_map(|m| m.certificate_names.iter().cloned()).collect();
    names.sort();
    names.dedup();
    assert!(!names.is_empty(), "a TLS cluster's plan names what its certificates carry");
    names
}

/// A CA and one certificate (server and client) for exactly `names`, made by openssl, at
/// [`certificate_paths`].
fn certificates(dir: &Path, names: &[String]) -> [PathBuf; 3] {
    let openssl = tool("openssl");
    let run = |args: &[&str]| {
        let out = Command::new(&openssl).args(args).current_dir(dir).output().expect("run openssl");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let sans: Vec<String> = names
        .iter()
        .map(|n| if n.parse::<std::net::Ipv4Addr>().is_ok() { format!("IP:{n}") } else { format!("DNS:{n}") })
        .collect();
    std::fs::write(
        dir.join("ext.cnf"),
        format!(
            "subjectAltName={}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
            sans.join(",")
        ),
    )
    .expect("extensions");
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=clusterdef test CA",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
        "-subj",
        "/CN=member",
    ]);
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
    certificate_paths(dir)
}

/// Production central services with TLS on loopback: three members at `127.0.<octet>.11–13`
/// across three cabinets and one worker, with the certificates `certificates` made.
fn loopback_tls_cluster(os: clusterdef::Os, octet: u8, [ca, cert, key]: &[PathBuf; 3]) -> Cluster {
    use std::borrow::Cow;
    let text = |p: &Path| Cow::Owned(p.display().to_string());
    let mut members = clusterdef::Group::new("central", "central", clusterdef::Size::Fixed(3))
        .across(clusterdef::DomainKind::Cabinet, ["a", "b", "c"]);
    members.addressing = clusterdef::Addressing::Range {
        first: std::net::Ipv4Addr::new(127, 0, octet, 11),
        last: std::net::Ipv4Addr::new(127, 0, octet, 13),
    };
    let mut cluster = Cluster::new("tls", clusterdef::Layout::CentralServices, members);
    cluster.os = os;
    cluster.production = true;
    cluster.network = Some(loopback_network());
    cluster.tls = Some(clusterdef::Tls { ca: text(ca), cert: text(cert), key: text(key) });
    cluster.pools = Cow::Owned(vec![clusterdef::Group::new("worker", "worker", clusterdef::Size::Fixed(1))]);
    assert_eq!(cluster.check().map_err(|v| v.to_string()), Ok(()), "production with TLS passes every rule");
    cluster
}

#[test]
fn production_tls_refuses_clients_without_a_certificate() {
    let certs = TempDir::new("tls-certs");
    let cluster = loopback_tls_cluster(clusterdef::Os::CoreOs, 5, &certificate_paths(certs.path()));
    let names = planned_certificate_names(&cluster);
    assert_eq!(names, ["127.0.5.11", "127.0.5.12", "127.0.5.13"], "CoreOS proxies dial the members by address");
    let files = certificates(certs.path(), &names);
    let [ca, cert, key] = &files;
    // The files as the operator copies them: root's, the key 0600, etcd2 running as `etcd`. The
    // drop-in the render puts on etcd2 gives it the key; without it no member starts.
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = |path: &Path, mode: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("mode");
        };
        mode(certs.path(), 0o755);
        mode(ca, 0o644);
        mode(cert, 0o644);
        mode(key, 0o600);
    }

    let _port = PROXY_PORT.lock().unwrap_or_else(|e| e.into_inner());
    // Peers dial from their own addresses, as on a real network, so the planned names suffice.
    let ns = NetNs::new("coreos-tls", &names);
    let mut etcd = Etcd::from_render(&cluster, "tls");
    etcd.netns = Some(ns.0.clone());
    etcd.as_user("etcd");
    assert!(etcd.processes.values().all(|p| !p.pre.is_empty()), "every etcd2 has the key's drop-in");
    assert!(etcd.clients.values().all(|url| url.starts_with("https://")));
    let ca_only = vec![format!("--cacert={}", ca.display())];
    etcd.client_tls =
        vec![ca_only[0].clone(), format!("--cert={}", cert.display()), format!("--key={}", key.display())];
    etcd.start_members();
    assert!(etcd.write_succeeds("/clusterdef/tls", Duration::from_secs(10)), "a client with a certificate writes");
    let endpoints = etcd.running_endpoints().into_iter().map(str::to_string).collect::<Vec<_>>();
    let endpoints: Vec<&str> = endpoints.iter().map(String::as_str).collect();
    let refused =
        etcd.etcdctl_as(&ca_only, "3", &endpoints, &["--command-timeout=3s", "put", "/clusterdef/tls", "anonymous"]);
    assert!(refused.is_none(), "a client without a certificate is refused");
    let plain: Vec<String> = endpoints.iter().map(|e| e.replacen("https://", "http://", 1)).collect();
    let plain: Vec<&str> = plain.iter().map(String::as_str).collect();
    assert!(
        etcd.etcdctl_as(&[], "3", &plain, &["--command-timeout=3s", "get", "/clusterdef/tls"]).is_none(),
        "no plain http"
    );

    // The worker's proxy presents the machine certificate to the members; local clients use it
    // over loopback. (`--no-sync` keeps etcdctl on the proxy instead of the members' https URLs.)
    let proxy = etcd.processes.keys().find(|n| n.starts_with("proxy-")).cloned().expect("a worker proxy");
    etcd.start(&proxy);
    let deadline = Instant::now() + Duration::from_secs(20);
    while etcd
        .etcdctl_as(&[], "2", &["http://127.0.0.1:2379"], &["--no-sync", "set", "/clusterdef/tls-proxied", "yes"])
        .is_none()
    {
        assert!(Instant::now() < deadline, "the proxy did not forward over TLS; logs in {}", etcd.dir.path().display());
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The production layout on Flatcar, on loopback: five members across three cabinets and a
/// worker whose reboots take locksmith's lock, so the members serve etcd's v2 API too.
static FLATCAR_LOOPBACK: Cluster = cluster! {
    name: "flatcar-loopback",
    os: flatcar,
    production: true,
    network: { subnet: "127.0.0.0/8" },
    central: 5 across cabinets [a, b, c] { addresses: "127.0.8.11".."127.0.8.15" },
    workers: 1 { reboot: etcd_lock },
    allow(etcd_tls, reason = "quorum and gateway behaviour on loopback; TLS has its own test"),
};

#[test]
fn flatcar_members_form_the_cluster_from_their_applied_dropins_and_the_gateway_carries_v2_and_v3() {
    let _port = PROXY_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let mut etcd = Etcd::from_applied(&FLATCAR_LOOPBACK, "flatcar");
    assert_eq!(etcd.clients.len(), 5, "five applied drop-ins");
    etcd.start_members();
    assert!(etcd.write_succeeds("/clusterdef/flatcar", Duration::from_secs(10)));
    assert_eq!(each_domain_loss_matches_the_plan(&mut etcd, &FLATCAR_LOOPBACK), 3);

    // The worker's gateway, from its applied unit's command line: a v2 and a v3 write through
    // 127.0.0.1:2379 land in the members.
    let gateway = etcd.processes.keys().find(|n| n.starts_with("gateway-")).cloned().expect("a worker gateway");
    etcd.start(&gateway);
    let local = format!("http://{}", clusterdef::render::ignition::GATEWAY_ADDR);
    let deadline = Instant::now() + Duration::from_secs(20);
    while etcd
        .etcdctl("3", &[&local], &["--command-timeout=2s", "put", "/clusterdef/v3", "through-the-gateway"])
        .is_none()
    {
        assert!(Instant::now() < deadline, "no v3 write through the gateway; logs in {}", etcd.dir.path().display());
        std::thread::sleep(Duration::from_millis(300));
    }
    let v2 = etcd.etcdctl("2", &[&local], &["--no-sync", "set", "/clusterdef/v2", "through-the-gateway"]);
    assert!(v2.is_some(), "the gateway carries a v2 write (locksmith's API); logs in {}", etcd.dir.path().display());
    let member = etcd.clients.values().next().cloned().expect("a member");
    let read = etcd.etcdctl("3", &[&member], &["get", "/clusterdef/v3", "--print-value-only"]);
    assert_eq!(read.as_deref().map(str::trim), Some("through-the-gateway"));
    let read = etcd.etcdctl("2", &[&member], &["get", "/clusterdef/v2"]);
    assert_eq!(read.as_deref().map(str::trim), Some("through-the-gateway"));
}

#[test]
fn flatcar_tls_from_the_applied_dropins_refuses_clients_without_a_certificate() {
    let certs = TempDir::new("flatcar-tls-certs");
    let cluster = loopback_tls_cluster(clusterdef::Os::Flatcar, 9, &certificate_paths(certs.path()));
    let files = certificates(certs.path(), &planned_certificate_names(&cluster));
    let [ca, cert, key] = &files;
    let mut etcd = Etcd::from_applied(&cluster, "flatcar-tls");
    // The members read their certificates at container paths, through the mounted ETCD_SSL_DIR.
    for name in etcd.clients.keys() {
        let p = &etcd.processes[name];
        assert_eq!(p.ssl_dir.as_deref(), Some(certs.path()), "{name}");
        let cert_file = p.env.iter().find(|(k, _)| k == "ETCD_CERT_FILE").map(|(_, v)| v.as_str());
        assert_eq!(cert_file, Some("/etc/ssl/certs/server.pem"), "{name}");
    }
    let ca_only = vec![format!("--cacert={}", ca.display())];
    etcd.client_tls =
        vec![ca_only[0].clone(), format!("--cert={}", cert.display()), format!("--key={}", key.display())];
    etcd.start_members();
    assert!(etcd.write_succeeds("/clusterdef/tls", Duration::from_secs(10)), "a client with a certificate writes");
    let endpoints: Vec<String> = etcd.running_endpoints().into_iter().map(str::to_string).collect();
    let endpoints: Vec<&str> = endpoints.iter().map(String::as_str).collect();
    let refused =
        etcd.etcdctl_as(&ca_only, "3", &endpoints, &["--command-timeout=3s", "put", "/clusterdef/tls", "anonymous"]);
    assert!(refused.is_none(), "a client without a certificate is refused");
}

/// TLS through a Flatcar worker's gateway, on etcd 3.5 from the applied trees. The plan names
/// `127.0.0.1` beside each member's address, since the gateway forwards TCP and the worker's
/// clients verify the member's certificate against the gateway's address; certificates made
/// from exactly what the plan says carry a v2 write (locksmith's API) and a v3 write from the
/// worker's applied `update.conf` (its locksmith endpoint and client certificate, verified, no
/// skipping). A certificate without `127.0.0.1` (what a user issues from the addresses alone)
/// fails through the gateway with x509's "not 127.0.0.1", as docs/rendering.md describes, while
/// the members still answer direct clients.
#[test]
fn flatcar_tls_through_the_gateway_needs_the_names_the_plan_gives() {
    let _port = PROXY_PORT.lock().unwrap_or_else(|e| e.into_inner());
    let certs = TempDir::new("flatcar-gateway-tls");
    let cluster = loopback_tls_cluster(clusterdef::Os::Flatcar, 10, &certificate_paths(certs.path()));
    let names = planned_certificate_names(&cluster);
    assert_eq!(names, ["127.0.0.1", "127.0.10.11", "127.0.10.12", "127.0.10.13"]);
    assert!(cluster.plan().to_string().contains("central-1: 127.0.10.11, 127.0.0.1"), "{}", cluster.plan());
    for (label, names, works) in
        [("as planned", names.clone(), true), ("without 127.0.0.1", names[1..].to_vec(), false)]
    {
        let files = certificates(certs.path(), &names);
        let ns = NetNs::new(&format!("gw{}", u8::from(works)), &names[1..]);
        let mut etcd = Etcd::from_applied(&cluster, &format!("flatcar-gateway-tls-{works}"));
        etcd.netns = Some(ns.0.clone());
        let [ca, cert, key] = &files;
        etcd.client_tls = vec![
            format!("--cacert={}", ca.display()),
            format!("--cert={}", cert.display()),
            format!("--key={}", key.display()),
        ];
        etcd.start_members();
        assert!(
            etcd.write_succeeds("/clusterdef/direct", Duration::from_secs(15)),
            "{label}: members answer direct clients"
        );
        // The worker's client configuration, as locksmith reads it from its applied update.conf.
        let worker = crate::applied::apply_all("flatcar-gateway-tls-conf", &cluster)
            .into_iter()
            .find_map(|(config, tree)| {
                config.contains("worker").then(|| tree.read("/etc/flatcar/update.conf")).flatten()
            })
            .expect("the worker's update.conf");
        let value =
            |key: &str| worker.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).map(str::to_string).expect(key);
        let endpoint = value("LOCKSMITHD_ENDPOINT");
        assert_eq!(endpoint, "https://127.0.0.1:2379", "locksmith speaks TLS to its local gateway");
        let worker_tls = vec![
            format!("--cacert={}", value("LOCKSMITHD_ETCD_CAFILE")),
            format!("--cert={}", value("LOCKSMITHD_ETCD_CERTFILE")),
            format!("--key={}", value("LOCKSMITHD_ETCD_KEYFILE")),
        ];
        let gateway = etcd.processes.keys().find(|n| n.starts_with("gateway-")).cloned().expect("a worker gateway");
        etcd.start(&gateway);
        let deadline = Instant::now() + Duration::from_secs(if works { 20 } else { 6 });
        let v3 = loop {
            let said = etcd.etcdctl_said(
                &worker_tls,
                "3",
                &[&endpoint],
                &["--command-timeout=2s", "put", "/clusterdef/v3", label],
            );
            if said.is_ok() || Instant::now() > deadline {
                break said;
            }
            std::thread::sleep(Duration::from_millis(300));
        };
        // etcdctl's v2 client names the same three files differently.
        let v2_tls: Vec<String> = worker_tls
            .iter()
            .map(|f| {
                f.replacen("--cacert=", "--ca-file=", 1).replacen("--cert=", "--cert-file=", 1).replacen(
                    "--key=",
                    "--key-file=",
                    1,
                )
            })
            .collect();
        let v2 = etcd.etcdctl_said(&v2_tls, "2", &[&endpoint], &["--no-sync", "set", "/clusterdef/v2", label]);
        if works {
            assert!(
                v3.is_ok(),
                "{label}: a v3 write through the gateway: {v3:?}; logs in {}",
                etcd.dir.path().display()
            );
            assert!(v2.is_ok(), "{label}: a v2 write through the gateway: {v2:?}");
            let member = etcd.clients.values().next().cloned().expect("a member");
            let read = etcd.etcdctl("3", &[&member], &["get", "/clusterdef/v3", "--print-value-only"]);
            assert_eq!(read.as_deref().map(str::trim), Some(label));
        } else {
            let v2 = v2.expect_err("a certificate without 127.0.0.1 fails through the gateway");
            assert!(v2.contains("not 127.0.0.1"), "{label}: x509 names the missing name: {v2}");
            assert!(v3.is_err(), "{label}: v3 fails too");
        }
    }
}
