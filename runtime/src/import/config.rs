//! A cloud-config as the importer keeps it: what it says of its machine, each setting with
//! where it was read, and the helpers that read its values (a `.network` unit, a URL's host, a
//! placeholder).

use std::net::Ipv4Addr;

use clusterdef_model::{Channel, DomainKind, EtcdRelease, RebootStrategy, RebootWindow};

use crate::read::cloud_config::{CloudConfig, Section};
use crate::read::fleet;
use crate::read::json_lines::JsonLines;

use super::host::HostItem;

/// A machine's (or a pool's) static network, from its `.network` unit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Link {
    pub(super) interface: String,
    pub(super) address: Ipv4Addr,
    pub(super) prefix: u8,
    pub(super) gateway: Option<Ipv4Addr>,
    pub(super) dns: Vec<Ipv4Addr>,
}

/// Where in its file a fact was read: the line of the key, and the key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ReadAt {
    pub(super) line: usize,
    pub(super) key: &'static str,
}

/// One cloud-config, read.
#[derive(Clone, Debug)]
pub(super) struct Config {
    pub(super) path: String,
    pub(super) hostname: Option<String>,
    pub(super) keys: Vec<String>,
    /// fleet metadata as fleetd keeps it: the last value of a key wins, in first-seen order.
    pub(super) metadata: Vec<(String, String)>,
    pub(super) member: Option<MemberSection>,
    pub(super) release: Option<EtcdRelease>,
    /// The discovery URL: `Some(None)` when the file holds a placeholder for it.
    pub(super) discovery: Option<Option<String>>,
    pub(super) tls: Option<(String, String, String)>,
    pub(super) link: Option<Link>,
    pub(super) channel: Option<Channel>,
    pub(super) reboot: RebootStrategy,
    /// The line of the unit entry that stops or masks update-engine, when the strategy is read
    /// from it (no `reboot-strategy`: no update ever reboots the machine).
    pub(super) reboot_from_unit: Option<usize>,
    pub(super) window: Option<RebootWindow>,
    pub(super) locksmith_group: Option<String>,
    /// Whether the machine takes its address from the platform (`$private_ipv4`).
    pub(super) platform_address: bool,
    /// The address the machine owns, read from its `.network` unit or its etcd URLs, with the
    /// line that says it: what tells machines apart when they have no `hostname:`.
    pub(super) address: Option<(Ipv4Addr, ReadAt)>,
    /// The etcd peer URL it advertises (`initial-advertise-peer-urls`, 0.4's `peer-addr`).
    pub(super) peer_url: Option<String>,
    pub(super) pxe: Option<String>,
    /// The MACs the boot network sends to this config.
    pub(super) inventory: Vec<String>,
    /// The MAC matchbox serves this config for, and the group file that selects it.
    pub(super) mac: Option<(String, String)>,
    /// The disk matchbox's installer writes Flatcar to on this machine.
    pub(super) install_disk: Option<String>,
    /// The template instances clusterdef's submit unit starts by name.
    pub(super) started: Vec<String>,
    /// The line of the submit unit that starts them.
    pub(super) started_line: usize,
    pub(super) unit_copies: Vec<(String, String)>,
    /// Its own configuration (host files, units, drop-ins), with the line of each.
    pub(super) host: Vec<(usize, HostItem)>,
    /// The file as read, to compare with what the declaration renders for the same machine.
    pub(super) read: Read,
}

/// A machine's file as read, by its language.
#[derive(Clone, Debug)]
pub(super) enum Read {
    /// A cloud-config: each setting where coreos-cloudinit reads it.
    CloudConfig(Box<CloudConfig>),
    /// An Ignition config (or a Butane config's translation): its JSON, compared with the
    /// render's as Ignition reads both; the line of each of its values in the file read (`at`);
    /// the line of each setting the importer read from it (named as [`Config::line_of`] names
    /// them).
    Ignition { json: String, at: JsonLines, lines: Vec<(&'static str, usize)> },
}

impl Read {
    /// The cloud-config, if the file is one.
    pub(super) fn cloud_config(&self) -> Option<&CloudConfig> {
        match self {
            Read::CloudConfig(cc) => Some(cc),
            Read::Ignition { .. } => None,
        }
    }

    /// The line an Ignition config's setting was read from.
    fn ignition_line(&self, setting: &str) -> Option<usize> {
        match self {
            Read::Ignition { lines, .. } => lines.iter().find(|(s, _)| *s == setting).map(|(_, l)| *l),
            Read::CloudConfig(_) => None,
        }
    }
}

impl Config {
    /// The fleet `role` the file publishes, if any.
    pub(super) fn role(&self) -> Option<&str> {
        self.metadata.iter().find(|(k, _)| k == "role").map(|(_, v)| v.as_str())
    }

    /// A config without a hostname or an address of its own: one file for many machines.
    pub(super) fn is_shared(&self) -> bool {
        self.hostname.is_none() && self.address.is_none()
    }

    /// The line of `coreos.fleet.metadata`, or 0 (the whole file) when it has none.
    pub(super) fn metadata_line(&self) -> usize {
        self.line_of("fleet metadata")
    }

    /// The line of the key a setting named by [`Config::differs_from`] is read from; 0 (the
    /// whole file) when the file does not set it.
    pub(super) fn line_of(&self, setting: &str) -> usize {
        let Read::CloudConfig(r) = &self.read else {
            let line = match setting {
                "static address" | "address" => self.address.map(|(_, e)| e.line),
                setting => self.read.ignition_line(setting),
            };
            return line.unwrap_or(0);
        };
        let section = |s: &Option<Section>, key: &str| s.as_ref().and_then(|s| s.get(key)).map(|f| f.line);
        let line = match setting {
            "fleet metadata" => section(&r.fleet, "metadata"),
            "ssh_authorized_keys" => r.ssh_authorized_keys.first().map(|f| f.line),
            "coreos.update.group" => section(&r.update, "group"),
            "coreos.update.reboot-strategy" => section(&r.update, "reboot_strategy").or(self.reboot_from_unit),
            "hostname" => r.hostname.as_ref().map(|f| f.line),
            "static address" | "address" => self.address.map(|(_, e)| e.line),
            "coreos.locksmith window" => section(&r.locksmith, "window_start"),
            "etcd name" => section(&r.etcd2, "name").or(section(&r.etcd, "name")),
            "initial-cluster" => section(&r.etcd2, "initial_cluster").or(section(&r.etcd, "peers")),
            "etcd" => r.etcd2.as_ref().or(r.etcd.as_ref()).map(|s| s.line),
            "initial-cluster-token" => section(&r.etcd2, "initial_cluster_token"),
            "coreos.locksmith.group" => section(&r.locksmith, "group"),
            "discovery" => r.etcd2.as_ref().or(r.etcd.as_ref()).and_then(|s| {
                // `discovery:` without a value is a placeholder too (its note is on that line).
                s.get("discovery")
                    .map(|f| f.line)
                    .or_else(|| s.empty.iter().rev().find(|(k, _)| k == "discovery").map(|(_, l)| *l))
            }),
            _ => None,
        };
        line.unwrap_or(0)
    }

    /// The first setting in which it differs from `other`, with its line here.
    pub(super) fn first_difference(&self, other: &Config) -> (Vec<&'static str>, usize) {
        let differing = other.differs_from(self);
        let line = differing.first().map_or(0, |k| self.line_of(k));
        (differing, line)
    }

    pub(super) fn domain(&self) -> Option<(DomainKind, &str)> {
        self.metadata.iter().find_map(|(k, v)| match k.as_str() {
            "cabinet" => Some((DomainKind::Cabinet, v.as_str())),
            "zone" => Some((DomainKind::Zone, v.as_str())),
            _ => None,
        })
    }

    /// The settings in which this machine differs from `other` where machines of one group
    /// must agree (hostname, address and failure domain aside), as the files name them.
    pub(super) fn differs_from(&self, other: &Config) -> Vec<&'static str> {
        let metadata =
            |c: &Config| c.metadata.iter().filter(|(k, _)| k != "cabinet" && k != "zone").cloned().collect::<Vec<_>>();
        let link = |c: &Config| c.link.as_ref().map(|l| (l.interface.clone(), l.prefix, l.dns.clone()));
        [
            ("fleet metadata", metadata(self) != metadata(other)),
            ("ssh_authorized_keys", self.keys != other.keys),
            ("coreos.update.group", self.channel != other.channel),
            ("coreos.update.reboot-strategy", self.reboot != other.reboot),
            ("hostname", self.hostname.is_some() != other.hostname.is_some()),
            ("address", self.address.is_some() != other.address.is_some()),
            ("static address", link(self) != link(other)),
        ]
        .into_iter()
        .filter_map(|(key, differs)| differs.then_some(key))
        .collect()
    }

    /// The group the machine is read into: its locksmith group, else its fleet role, else the
    /// language's default name for its kind (`None`).
    pub(super) fn group_name(&self) -> Option<String> {
        self.locksmith_group.clone().or_else(|| self.role().map(str::to_string))
    }
}

/// What an etcd member's section says of it.
#[derive(Clone, Debug)]
pub(super) struct MemberSection {
    pub(super) name: Option<String>,
    /// `name=peer-url` pairs of `initial-cluster` (or 0.4's `peers`).
    pub(super) initial_cluster: Vec<(String, String)>,
    pub(super) token: Option<String>,
}

pub(super) fn field(section: Option<&Section>, key: &str) -> Option<String> {
    section.and_then(|s| s.get(key)).map(|f| f.value.clone())
}

/// Each `coreos.*` section the importer reads: its name, the keys it understands (the rest are
/// lossy), and the keys whose value is a comma-separated list whose order means nothing to the
/// engines (URL lists, `initial-cluster`, metadata), compared as sets.
pub(super) struct SectionKeys {
    pub(super) name: &'static str,
    pub(super) known: &'static [&'static str],
    pub(super) sets: &'static [&'static str],
}

pub(super) const SECTIONS: [SectionKeys; 5] = [
    SectionKeys {
        name: "etcd2",
        known: &[
            "name",
            "advertise_client_urls",
            "initial_advertise_peer_urls",
            "listen_client_urls",
            "listen_peer_urls",
            "initial_cluster",
            "initial_cluster_state",
            "initial_cluster_token",
            "discovery",
            "proxy",
            "trusted_ca_file",
            "cert_file",
            "key_file",
            "peer_trusted_ca_file",
            "peer_cert_file",
            "peer_key_file",
            "client_cert_auth",
            "peer_client_cert_auth",
        ],
        sets: &["advertise_client_urls", "listen_client_urls", "initial_cluster"],
    },
    SectionKeys {
        name: "etcd",
        known: &[
            "name",
            "addr",
            "peer_addr",
            "peers",
            "discovery",
            "ca_file",
            "cert_file",
            "key_file",
            "peer_ca_file",
            "peer_cert_file",
            "peer_key_file",
        ],
        sets: &["peers"],
    },
    SectionKeys {
        name: "fleet",
        known: &["metadata", "public_ip", "etcd_servers", "etcd_cafile", "etcd_certfile", "etcd_keyfile"],
        sets: &["metadata", "etcd_servers"],
    },
    SectionKeys {
        name: "locksmith",
        known: &["endpoint", "group", "window_start", "window_length", "etcd_cafile", "etcd_certfile", "etcd_keyfile"],
        sets: &["endpoint"],
    },
    SectionKeys { name: "update", known: &["group", "reboot_strategy"], sets: &[] },
];

/// Whether a value is one filled in at launch rather than a value: empty, `<…>`, `#…`, `{{…}}`.
pub(super) fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    v.is_empty() || v == "null" || v.starts_with('#') || v.contains('<') || v.contains('>') || v.contains("{{")
}

/// `host:port` or `scheme://host:port` → the host, when it is an address.
pub(super) fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    Some(rest.rsplit_once(':').map_or(rest, |(h, _)| h))
}

/// A `.network` unit the language writes for a static address: `[Match] Name=`, `[Network]`
/// with one `Address=`, at most one `Gateway=`, any `DNS=`.
pub(super) fn read_link(content: &str) -> Result<Link, String> {
    let options = fleet::parse_unit_file(content).map_err(|e| format!("not a unit file: {e}"))?;
    let (mut interface, mut address, mut gateway, mut dns) = (None, None, None, Vec::new());
    for o in &options {
        match (o.section.as_str(), o.name.as_str()) {
            ("Match", "Name") => interface = Some(o.value.clone()),
            ("Network", "Address") if address.is_none() => {
                let (a, p) = o.value.split_once('/').ok_or("an Address= without a prefix length")?;
                let a: Ipv4Addr = a.parse().map_err(|_| format!("`{}` is not an IPv4 address", o.value))?;
                let p: u8 = p.parse().ok().filter(|p| *p <= 32).ok_or("a prefix length out of range")?;
                address = Some((a, p));
            }
            ("Network", "Gateway") if gateway.is_none() => {
                gateway = Some(o.value.parse().map_err(|_| format!("`{}` is not an IPv4 gateway", o.value))?)
            }
            ("Network", "DNS") => {
                dns.push(o.value.parse().map_err(|_| format!("`{}` is not an IPv4 DNS server", o.value))?)
            }
            (section, name) => {
                return Err(format!(
                    "`{name}=` in [{section}]: the language's static networking has address, gateway and DNS only"
                ));
            }
        }
    }
    let (address, prefix) = address.ok_or("no Address=")?;
    Ok(Link { interface: interface.ok_or("no [Match] Name=")?, address, prefix, gateway, dns })
}
