//! The PKI a declared cluster needs, generated from the declaration: etcd's TLS (a CA, each
//! member's serving and peer certificate, each other machine's client certificate, at the
//! `tls:` paths), and, when the cluster runs Kubernetes, Kubernetes' (its CA, the apiservers'
//! serving certificate, the components' and the administrator's client certificates, the
//! service-account key pair, a bootstrap token and the kubeconfigs that carry them).
//!
//! Nothing here goes into Ignition or the plan: [`generate`] returns the files in memory and
//! [`Pki::write_to`] writes them under a directory that must not exist yet (so nothing is
//! ever overwritten), one tree per machine laid out as the files go on it
//! (`machines/<hostname>/etc/…`, `pools/<group>[-<domain>]/…` for machines that share a
//! config), the CAs under `ca/`, the administrator's kubeconfig as `admin.conf`. Secrets are
//! created 0600 in directories created 0700; nothing prints them.
//!
//! Keys are ECDSA P-256 (rcgen generates those; etcd, Kubernetes and Go's TLS accept them, and
//! the apiserver signs service-account tokens with them as ES256). CAs are valid ten years,
//! every other certificate one year, as kubeadm makes them.
#![forbid(unsafe_code)]

use std::fmt;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use base64::Engine as _;
use clusterdef_model::own::kubernetes::{API_NAME, API_PORT, BOOTSTRAP_DIR, BOOTSTRAP_KUBECONFIG, PKI_DIR};
use clusterdef_model::{Cluster, GroupRef, Os};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom, SystemRandom};

mod der;
mod renew;
mod write;

pub use renew::{Expiry, MAX_ENTRIES, Renewed, expiries, renew};

/// One file of the PKI.
#[derive(Clone, PartialEq, Eq)]
pub struct PkiFile {
    /// Where it goes under the output directory (relative, `/`-separated).
    pub path: String,
    /// Its bytes.
    pub contents: Vec<u8>,
    /// Whether it holds a private key or a token (written 0600).
    pub secret: bool,
}

impl fmt::Debug for PkiFile {
    /// The path and size only: a secret's bytes are never printed, not even by `{:?}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PkiFile")
            .field("path", &self.path)
            .field("bytes", &self.contents.len())
            .field("secret", &self.secret)
            .finish()
    }
}

/// Every file of a cluster's PKI.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pki {
    /// The files, in the order they were made.
    pub files: Vec<PkiFile>,
}

/// Why the PKI could not be made or written.
#[derive(Debug)]
pub enum PkiError {
    /// The cluster has nothing to make a PKI for (no `tls` and no `kubernetes`), or breaks a rule.
    Nothing(String),
    /// A certificate or key could not be made.
    Crypto(String),
    /// The output directory exists already: nothing is ever overwritten.
    Exists(PathBuf),
    /// Writing failed.
    Io(PathBuf, std::io::Error),
}

impl fmt::Display for PkiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PkiError::Nothing(why) => write!(f, "{why}"),
            PkiError::Crypto(why) => write!(f, "could not make a certificate: {why}"),
            PkiError::Exists(dir) => write!(
                f,
                "{} exists: the PKI is written only into a new directory, so no key is ever overwritten; choose another, or remove it on purpose",
                dir.display()
            ),
            PkiError::Io(path, e) => write!(f, "{}: {e}", path.display()),
        }
    }
}

impl std::error::Error for PkiError {}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> PkiError {
        PkiError::Crypto(e.to_string())
    }
}

/// A CA: its certificate (PEM) and what signs with it.
struct Authority {
    pem: String,
    issuer: Issuer<'static, KeyPair>,
    key_pem: String,
}

/// What a leaf certificate is for.
struct Leaf<'a> {
    common_name: &'a str,
    organization: Option<&'a str>,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    server: bool,
    client: bool,
}

fn serial(random: &SystemRandom) -> Result<SerialNumber, PkiError> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes).map_err(|_| PkiError::Crypto("no randomness".into()))?;
    // A positive integer of at most 20 bytes, as RFC 5280 asks.
    bytes[0] &= 0x7f;
    bytes[0] |= 0x01;
    Ok(SerialNumber::from_slice(&bytes))
}

fn validity(params: &mut CertificateParams, years: i64) {
    let now = time::OffsetDateTime::now_utc();
    // An hour back, for clocks a little behind.
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(365 * years);
}

/// A CA's name, constraints and uses: what its certificate says and what signs as it.
fn ca_params(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    params
}

fn authority(random: &SystemRandom, common_name: &str) -> Result<Authority, PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = ca_params(common_name);
    params.serial_number = Some(serial(random)?);
    validity(&mut params, 10);
    let cert = params.self_signed(&key)?;
    let key_pem = key.serialize_pem();
    Ok(Authority { pem: cert.pem(), issuer: Issuer::new(params, key), key_pem })
}

/// The CA whose certificate and key `clusterdef pki` wrote before, signing again: the same
/// name, the same key, so what it signs chains to the certificate every machine holds. The key
/// must be the certificate's.
fn authority_from(common_name: &str, pem: String, key_pem: String) -> Result<Authority, PkiError> {
    let key = KeyPair::from_pem(&key_pem).map_err(|e| PkiError::Nothing(format!("{common_name}'s key: {e}")))?;
    let certificate = der::certificates(&pem).into_iter().next();
    let matches = certificate
        .as_deref()
        .and_then(der::public_key_info)
        .is_some_and(|spki| spki == rcgen::PublicKeyData::subject_public_key_info(&key).as_slice());
    if !matches {
        return Err(PkiError::Nothing(format!(
            "{common_name}'s certificate is not the one its key made: not a CA `clusterdef pki` wrote"
        )));
    }
    Ok(Authority { pem, issuer: Issuer::new(ca_params(common_name), key), key_pem })
}

/// A leaf certificate and its key, PEM.
fn leaf(random: &SystemRandom, ca: &Authority, leaf: &Leaf<'_>) -> Result<(String, String), PkiError> {
    let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, leaf.common_name);
    if let Some(o) = leaf.organization {
        dn.push(DnType::OrganizationName, o);
    }
    params.distinguished_name = dn;
    for name in &leaf.dns {
        let ia5 = name.clone().try_into().map_err(|e: rcgen::Error| PkiError::Crypto(format!("`{name}`: {e}")))?;
        params.subject_alt_names.push(SanType::DnsName(ia5));
    }
    params.subject_alt_names.extend(leaf.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    if leaf.server {
        params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if leaf.client {
        params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    params.serial_number = Some(serial(random)?);
    validity(&mut params, 1);
    let cert = params.signed_by(&key, &ca.issuer)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// `[a-z0-9]{n}`, as bootstrap tokens are made of.
fn token_part(random: &SystemRandom, n: usize) -> Result<String, PkiError> {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(n);
    while out.len() < n {
        let mut byte = [0u8; 1];
        random.fill(&mut byte).map_err(|_| PkiError::Crypto("no randomness".into()))?;
        // 252 = 7 × 36: rejecting the rest keeps every character equally likely.
        if byte[0] < 252 {
            out.push(char::from(ALPHABET[usize::from(byte[0]) % ALPHABET.len()]));
        }
    }
    Ok(out)
}

/// A kubeconfig holding its credentials inline (a secret).
fn kubeconfig(server: &str, ca_pem: &str, user: &str, credential: &[(&str, String)]) -> String {
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
    let mut text = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n  - name: \"cluster\"\n    cluster:\n      server: \"{server}\"\n      certificate-authority-data: \"{}\"\nusers:\n  - name: \"{user}\"\n    user:\n",
        b64(ca_pem)
    );
    for (key, value) in credential {
        text.push_str(&format!("      {key}: \"{value}\"\n"));
    }
    text.push_str(&format!(
        "contexts:\n  - name: \"{user}\"\n    context:\n      cluster: \"cluster\"\n      user: \"{user}\"\ncurrent-context: \"{user}\"\n"
    ));
    text
}

/// Collects the files of the PKI.
struct Files {
    files: Vec<PkiFile>,
}

impl Files {
    fn add(&mut self, root: &str, path: &str, contents: impl Into<Vec<u8>>, secret: bool) {
        let path = format!("{root}/{}", path.trim_start_matches('/'));
        self.files.push(PkiFile { path, contents: contents.into(), secret });
    }
}

/// What a renewal keeps of the PKI it renews: the CAs (certificate and key, PEM), the
/// service-account key (tokens it signed stay valid) and the bootstrap token.
#[derive(Default)]
struct Kept {
    etcd_ca: Option<(String, String)>,
    kubernetes_ca: Option<(String, String)>,
    service_account: Option<String>,
    token: Option<(String, String)>,
}

/// The PKI of `cluster`. Fails on a cluster that breaks a rule it does not allow, or that has
/// neither `tls` nor `kubernetes`. O(machines).
pub fn generate(cluster: &Cluster) -> Result<Pki, PkiError> {
    generate_with(cluster, Kept::default())
}

/// [`generate`], with what `kept` holds kept instead of made anew.
fn generate_with(cluster: &Cluster, kept: Kept) -> Result<Pki, PkiError> {
    if let Err(violations) = cluster.check() {
        return Err(PkiError::Nothing(format!("the cluster breaks its rules:\n{violations}")));
    }
    if cluster.tls.is_none() && cluster.kubernetes.is_none() {
        return Err(PkiError::Nothing("the cluster declares neither `tls` nor `kubernetes`: it needs no PKI".into()));
    }
    let random = SystemRandom::new();
    let mut out = Files { files: Vec::new() };
    let members = cluster.etcd_members();
    let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
    // Each machine's tree, and what the machines of a shared config are called.
    let mut roots: Vec<(String, GroupRef, Option<Ipv4Addr>, String)> = Vec::new();
    for placed in cluster.placed_groups() {
        let g = placed.group;
        if g.shares_configs() {
            for domain in cluster.group_domains(placed.group_ref) {
                let suffix = domain
                    .and_then(|d| g.spread.as_ref()?.domains.get(d))
                    .map_or(String::new(), |d| format!("-{}", d.name));
                roots.push((
                    format!("pools/{}{suffix}", g.name),
                    placed.group_ref,
                    None,
                    format!("{}{suffix}", g.name),
                ));
            }
        } else {
            for m in &placed.machines {
                roots.push((format!("machines/{}", m.hostname), m.group, m.address, m.hostname.clone()));
            }
        }
    }
    if let Some(tls) = &cluster.tls {
        let etcd_ca = match kept.etcd_ca {
            Some((pem, key)) => authority_from("etcd-ca", pem, key)?,
            None => authority(&random, "etcd-ca")?,
        };
        out.add("ca", "etcd-ca.crt", etcd_ca.pem.clone(), false);
        out.add("ca", "etcd-ca.key", etcd_ca.key_pem.clone(), true);
        for (root, group, address, name) in &roots {
            let member = *group == GroupRef::Members;
            let mut dns = vec![name.clone(), "localhost".to_string()];
            dns.dedup();
            let mut ips = vec![loopback];
            ips.extend(address.map(IpAddr::V4));
            // Members serve clients and peers with it; the others present it as clients, to
            // the members through the gateway (TCP, so the members check it).
            let (cert, key) = leaf(
                &random,
                &etcd_ca,
                &Leaf { common_name: name, organization: None, dns, ips, server: member, client: true },
            )?;
            out.add(root, &tls.ca, etcd_ca.pem.clone(), false);
            out.add(root, &tls.cert, cert, false);
            out.add(root, &tls.key, key, true);
        }
        if cluster.kubernetes.is_some() {
            let (cert, key) = leaf(
                &random,
                &etcd_ca,
                &Leaf {
                    common_name: "kube-apiserver-etcd-client",
                    organization: None,
                    dns: vec![],
                    ips: vec![],
                    server: false,
                    client: true,
                },
            )?;
            for (root, _, _, _) in roots.iter().filter(|r| r.1 == GroupRef::Members) {
                out.add(root, &format!("{PKI_DIR}/etcd-ca.crt"), etcd_ca.pem.clone(), false);
                out.add(root, &format!("{PKI_DIR}/etcd-client.crt"), cert.clone(), false);
                out.add(root, &format!("{PKI_DIR}/etcd-client.key"), key.clone(), true);
            }
        }
    }
    if let (Some(k), Os::Flatcar) = (&cluster.kubernetes, cluster.os) {
        let ca = match kept.kubernetes_ca {
            Some((pem, key)) => authority_from("kubernetes-ca", pem, key)?,
            None => authority(&random, "kubernetes-ca")?,
        };
        out.add("ca", "kubernetes-ca.crt", ca.pem.clone(), false);
        out.add("ca", "kubernetes-ca.key", ca.key_pem.clone(), true);
        // Every name a client may verify the apiservers by: the service's names and address,
        // the name nodes use, each member's name and address, and loopback.
        let mut dns: Vec<String> = [
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
            API_NAME,
            "localhost",
        ]
        .map(str::to_string)
        .to_vec();
        dns.extend(members.iter().map(|m| m.name.clone()));
        let mut ips = vec![IpAddr::V4(k.service_ip(1)), loopback];
        ips.extend(members.iter().filter_map(|m| m.address).map(IpAddr::V4));
        let apiserver = leaf(
            &random,
            &ca,
            &Leaf { common_name: "kube-apiserver", organization: None, dns, ips, server: true, client: true },
        )?;
        let client = |cn: &str, o: Option<&str>| {
            leaf(
                &random,
                &ca,
                &Leaf { common_name: cn, organization: o, dns: vec![], ips: vec![], server: false, client: true },
            )
        };
        let controller_manager = client("system:kube-controller-manager", None)?;
        let scheduler = client("system:kube-scheduler", None)?;
        let admin = client("kubernetes-admin", Some("system:masters"))?;
        let sa = match &kept.service_account {
            Some(pem) => {
                KeyPair::from_pem(pem).map_err(|e| PkiError::Nothing(format!("the service-account key: {e}")))?
            }
            None => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
        };
        let (token_id, token_secret) = match kept.token {
            Some(token) => token,
            None => (token_part(&random, 6)?, token_part(&random, 16)?),
        };
        let token = format!("{token_id}.{token_secret}");
        let bootstrap = kubeconfig(
            &format!("https://{API_NAME}:{API_PORT}"),
            &ca.pem,
            "kubelet-bootstrap",
            &[("token", token.clone())],
        );
        let first = members.first().and_then(|m| m.address).map_or(API_NAME.to_string(), |a| a.to_string());
        let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s.as_bytes());
        let admin_conf = kubeconfig(
            &format!("https://{first}:{API_PORT}"),
            &ca.pem,
            "kubernetes-admin",
            &[("client-certificate-data", b64(&admin.0)), ("client-key-data", b64(&admin.1))],
        );
        out.add("", "admin.conf", admin_conf.clone(), true);
        let token_secret_manifest = format!(
            "---\napiVersion: \"v1\"\nkind: \"Secret\"\nmetadata:\n  name: \"bootstrap-token-{token_id}\"\n  namespace: \"kube-system\"\ntype: \"bootstrap.kubernetes.io/token\"\nstringData:\n  token-id: \"{token_id}\"\n  token-secret: \"{token_secret}\"\n  usage-bootstrap-authentication: \"true\"\n  usage-bootstrap-signing: \"true\"\n  auth-extra-groups: \"system:bootstrappers:clusterdef\"\n"
        );
        for (root, group, _, _) in &roots {
            out.add(root, &format!("{PKI_DIR}/ca.crt"), ca.pem.clone(), false);
            out.add(root, BOOTSTRAP_KUBECONFIG, bootstrap.clone(), true);
            if *group != GroupRef::Members {
                continue;
            }
            out.add(root, &format!("{PKI_DIR}/ca.key"), ca.key_pem.clone(), true);
            for (name, (cert, key)) in
                [("apiserver", &apiserver), ("controller-manager", &controller_manager), ("scheduler", &scheduler)]
            {
                out.add(root, &format!("{PKI_DIR}/{name}.crt"), cert.clone(), false);
                out.add(root, &format!("{PKI_DIR}/{name}.key"), key.clone(), true);
            }
            out.add(root, &format!("{PKI_DIR}/service-account.pub"), sa.public_key_pem(), false);
            out.add(root, &format!("{PKI_DIR}/service-account.key"), sa.serialize_pem(), true);
        }
        if let Some((root, _, _, _)) = roots.iter().find(|r| r.1 == GroupRef::Members) {
            out.add(root, &format!("{PKI_DIR}/admin.conf"), admin_conf, true);
            out.add(root, &format!("{BOOTSTRAP_DIR}/bootstrap-token.yaml"), token_secret_manifest, true);
        }
    }
    for f in &mut out.files {
        f.path = f.path.trim_start_matches('/').to_string();
    }
    Ok(Pki { files: out.files })
}

impl Pki {
    /// The file at `path`, if there is one.
    pub fn get(&self, path: &str) -> Option<&PkiFile> {
        self.files.iter().find(|f| f.path == path)
    }
}
