//! Boot files for PXE pools: a pxelinux config and an iPXE script whose kernel line carries
//! `cloud-config-url` pointing at the pool's config on the boot server, and a dnsmasq snippet
//! that answers PXE clients and chainloads iPXE.
//!
//! One set per pool and failure domain: a pool spread across zones boots each zone's machines
//! with that zone's metadata, from a boot server on that zone's network.

use std::collections::HashMap;

use clusterdef_model::{Boot, Channel, Cluster, Group, GroupRef, Ipv4Net, Os};

use super::cloud_config::pool_config_path;
use super::context::{Context, file_component, release_url};
use super::ignition;
use super::matchbox;

/// What a PXE machine boots: the OS's image names, where a channel's current release is served
/// (PXE machines run from RAM and never update themselves, so they boot the channel's current
/// release), and the kernel arguments that point it at its config.
struct Image {
    name: &'static str,
    release: String,
    args: String,
}

fn image(os: Os, channel: Channel, config_url: &str) -> Image {
    match os {
        Os::CoreOs => {
            Image { name: "coreos", release: release_url(os, channel), args: format!("cloud-config-url={config_url}") }
        }
        // Ignition runs on every boot of a RAM machine only when told it is the first one.
        Os::Flatcar => Image {
            name: "flatcar",
            release: release_url(os, channel),
            args: format!("flatcar.first_boot=1 ignition.config.url={config_url}"),
        },
    }
}

/// The boot server's base URL for a pool, without a trailing slash.
fn base_url(cluster: &Cluster, group: &Group) -> Option<String> {
    let url = match &group.boot {
        Boot::Pxe { url: Some(url) } => Some(url.to_string()),
        Boot::Pxe { url: None } => cluster.boot_server.as_ref().map(|u| u.to_string()),
        Boot::Disk => None,
    }?;
    Some(url.trim_end_matches('/').to_string())
}

/// One kind of PXE machine: a pool in one failure domain, booting from its own directory.
struct Kind {
    dir: String,
    what: String,
    script_url: String,
    network: Option<Ipv4Net>,
    macs: Vec<String>,
}

/// Every PXE file of the cluster, by path: a pxelinux config and an iPXE script per pool and
/// domain, and a dnsmasq config per boot network. A network with one kind of machine gets that
/// kind's config, scoped to the network; a network several kinds share (told apart by their
/// inventories, which the rules require) gets one config that tags each listed machine by MAC.
pub fn render(ctx: &Context<'_>) -> Vec<(String, String)> {
    let cluster = ctx.cluster;
    let mut out = Vec::new();
    let mut kinds: Vec<Kind> = Vec::new();
    let segments = cluster.segments();
    // With matchbox, the boot scripts are its assets (`matchbox`), and its groups pick each
    // machine's kernel line and config: here are only the networks' dnsmasq configs.
    let matchbox = matchbox::base_of(cluster);
    for (i, group) in cluster.pools.iter().enumerate() {
        let Some(base) = base_url(cluster, group) else {
            continue;
        };
        // The inventory's MACs by domain, gathered once: O(inventory), not per domain.
        let mut macs_in: HashMap<Option<&str>, Vec<String>> = HashMap::new();
        for e in group.inventory.iter() {
            macs_in.entry(e.domain.as_deref()).or_default().push(clusterdef_model::normalised_mac(&e.mac));
        }
        let channel = cluster.channel_of(group);
        for domain in cluster.group_domains(GroupRef::Pool(i)) {
            let config = match cluster.os {
                Os::CoreOs => pool_config_path(group, domain),
                Os::Flatcar => ignition::pool_config_path(group, domain),
            };
            let image = image(cluster.os, channel, &format!("{base}/{config}"));
            let domain_name = domain.and_then(|d| group.spread.as_ref()?.domains.get(d));
            let dir = match domain_name {
                Some(d) => format!("pxe/{}-{}", file_component(&group.name), file_component(&d.name)),
                None => format!("pxe/{}", file_component(&group.name)),
            };
            let what = match (domain_name, &group.spread) {
                (Some(d), Some(s)) => {
                    format!("PXE pool `{}`, {} {}", group.name, s.kind.key(), d.name)
                }
                _ => format!("PXE pool `{}`", group.name),
            };
            let script_url = match &matchbox {
                Some(mb) => matchbox::script_url(mb, &matchbox::kind_id(group, domain)),
                None => {
                    out.push((format!("{dir}/pxelinux.cfg/default"), pxelinux(&what, &image)));
                    out.push((format!("{dir}/boot.ipxe"), ipxe(&what, &image)));
                    format!("{base}/{dir}/boot.ipxe")
                }
            };
            let macs = macs_in.remove(&domain_name.map(|d| &*d.name)).unwrap_or_default();
            let network = segments.of(group, domain).map(|s| s.subnet);
            kinds.push(Kind { script_url, dir, what, network, macs });
        }
    }
    // The machines matchbox installs, by MAC, on each network they boot on: iPXE gets the
    // install script. O(machines).
    if let Some(mb) = &matchbox {
        let mut installs: Vec<Kind> = Vec::new();
        let mut on: HashMap<Option<Ipv4Net>, usize> = HashMap::new();
        for (g, machine, mac) in matchbox::installed_machines(cluster) {
            let Some(group) = cluster.group(g) else { continue };
            let network = segments.of(group, machine.domain).map(|s| s.subnet);
            let i = *on.entry(network).or_insert_with(|| {
                installs.push(Kind {
                    script_url: matchbox::install_script_url(mb),
                    dir: "pxe/install".to_string(),
                    what: "machines matchbox installs to disk".to_string(),
                    network,
                    macs: Vec::new(),
                });
                installs.len() - 1
            });
            installs[i].macs.push(mac);
        }
        kinds.extend(installs);
    }
    // The kinds by network, in the order networks first appear: O(kinds).
    let mut networks: Vec<(Option<Ipv4Net>, Vec<&Kind>)> = Vec::new();
    let mut at: HashMap<Option<Ipv4Net>, usize> = HashMap::new();
    for kind in &kinds {
        let i = *at.entry(kind.network).or_insert_with(|| {
            networks.push((kind.network, Vec::new()));
            networks.len() - 1
        });
        networks[i].1.push(kind);
    }
    for (network, on) in networks {
        match on[..] {
            [kind] if kind.macs.is_empty() => {
                out.push((format!("{}/dnsmasq.conf", kind.dir), dnsmasq(network, &kind.what, &kind.script_url)));
            }
            _ => {
                let dir = match network {
                    Some(net) => format!("pxe/network-{}-{}", net.network(), net.prefix),
                    None => "pxe/network".to_string(),
                };
                out.push((format!("{dir}/dnsmasq.conf"), shared_dnsmasq(network, &on)));
            }
        }
    }
    out
}

fn pxelinux(what: &str, image: &Image) -> String {
    let name = image.name;
    format!(
        "# {what}\ndefault {name}\nprompt 1\ntimeout 15\n\nlabel {name}\n  menu default\n  kernel {name}_production_pxe.vmlinuz\n  initrd {name}_production_pxe_image.cpio.gz\n  append {}\n",
        image.args
    )
}

fn ipxe(what: &str, image: &Image) -> String {
    let name = image.name;
    format!(
        "#!ipxe\n# {what}\nset base-url {}\nkernel ${{base-url}}/{name}_production_pxe.vmlinuz {}\ninitrd ${{base-url}}/{name}_production_pxe_image.cpio.gz\nboot\n",
        image.release, image.args
    )
}

/// The lines every snippet opens with: which network it answers on (as proxy DHCP, beside
/// whatever DHCP server hands out the addresses; the netmask scopes it to exactly that
/// network), and the user class iPXE identifies itself with.
fn dnsmasq_head(network: Option<Ipv4Net>, text: &mut String) {
    match network {
        Some(net) => text.push_str(&format!("dhcp-range={},proxy,{}\n", net.network(), net.mask())),
        None => text.push_str("# no subnet is declared: add the dhcp-range of the boot network\n"),
    }
    text.push_str("dhcp-userclass=set:ipxe,iPXE\n");
}

/// The lines that chainload plain PXE clients to iPXE over TFTP.
const CHAINLOAD: &str =
    "pxe-service=tag:!ipxe,x86PC,\"PXE chainload to iPXE\",undionly.kpxe\nenable-tftp\ntftp-root=/var/lib/tftpboot\n";

/// A snippet for dnsmasq's `conf-dir` for a network with one kind of PXE machine: plain PXE
/// clients are chainloaded to iPXE, and iPXE gets the kind's script over http.
fn dnsmasq(network: Option<Ipv4Net>, what: &str, script_url: &str) -> String {
    let mut text = format!("# {what}: chainload iPXE, then boot {script_url}\n");
    dnsmasq_head(network, &mut text);
    text.push_str(CHAINLOAD);
    text.push_str(&format!("dhcp-boot=tag:ipxe,{script_url}\n"));
    text
}

/// A snippet for a network several kinds of PXE machine share: each listed machine is tagged by
/// its MAC address with its kind, and iPXE gets its kind's script; the one kind without an
/// inventory, if any, takes every machine not listed (`known` is dnsmasq's tag for a listed
/// one).
fn shared_dnsmasq(network: Option<Ipv4Net>, kinds: &[&Kind]) -> String {
    let mut text = String::from("# one boot network shared by:\n");
    for kind in kinds {
        let who = match kind.macs.len() {
            0 => "every machine not listed below".to_string(),
            1 => "1 machine by MAC".to_string(),
            n => format!("{n} machines by MAC"),
        };
        text.push_str(&format!("#   {}: {who}\n", kind.what));
    }
    dnsmasq_head(network, &mut text);
    for kind in kinds {
        let tag = tag_of(kind);
        for mac in &kind.macs {
            text.push_str(&format!("dhcp-host={mac},set:{tag}\n"));
        }
    }
    text.push_str(CHAINLOAD);
    for kind in kinds {
        let tag = if kind.macs.is_empty() { "!known".to_string() } else { tag_of(kind) };
        text.push_str(&format!("dhcp-boot=tag:ipxe,tag:{tag},{}\n", kind.script_url));
    }
    text
}

/// The dnsmasq tag of a kind: its directory's name, which is unique and holds no comma.
fn tag_of(kind: &Kind) -> String {
    kind.dir.trim_start_matches("pxe/").to_string()
}
