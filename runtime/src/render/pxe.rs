//! Boot files for PXE pools: a pxelinux config and an iPXE script whose kernel line carries
//! `cloud-config-url` pointing at the pool's config on the boot server, and a dnsmasq snippet
//! that answers PXE clients and chainloads iPXE.
//!
//! One set per pool and failure domain: a pool spread across zones boots each zone's machines
//! with that zone's metadata, from that zone's DHCP server.

use clusterdef_model::{Boot, Channel, Cluster, Group, GroupRef};

use super::cloud_config::pool_config_path;
use super::{Context, file_component};

/// The CoreOS release a channel's PXE images come from. PXE machines run from RAM and never
/// update themselves, so they boot the channel's current release.
fn release_url(channel: Channel) -> String {
    format!("http://{}.release.core-os.net/amd64-usr/current", channel.as_str())
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

/// Every PXE file of the cluster, by path.
pub fn render(ctx: &Context<'_>) -> Vec<(String, String)> {
    let cluster = ctx.cluster;
    let mut out = Vec::new();
    for (i, group) in cluster.pools.iter().enumerate() {
        let Some(base) = base_url(cluster, group) else {
            continue;
        };
        let channel = cluster.channel_of(group);
        for domain in cluster.group_domains(GroupRef::Pool(i)) {
            let config_url = format!("{base}/{}", pool_config_path(group, domain));
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
            out.push((format!("{dir}/pxelinux.cfg/default"), pxelinux(&what, &config_url)));
            out.push((format!("{dir}/boot.ipxe"), ipxe(&what, channel, &config_url)));
            out.push((format!("{dir}/dnsmasq.conf"), dnsmasq(cluster, &what, &format!("{base}/{dir}/boot.ipxe"))));
        }
    }
    out
}

fn pxelinux(what: &str, config_url: &str) -> String {
    format!(
        "# {what}\ndefault coreos\nprompt 1\ntimeout 15\n\nlabel coreos\n  menu default\n  kernel coreos_production_pxe.vmlinuz\n  initrd coreos_production_pxe_image.cpio.gz\n  append cloud-config-url={config_url}\n"
    )
}

fn ipxe(what: &str, channel: Channel, config_url: &str) -> String {
    format!(
        "#!ipxe\n# {what}\nset base-url {}\nkernel ${{base-url}}/coreos_production_pxe.vmlinuz cloud-config-url={config_url}\ninitrd ${{base-url}}/coreos_production_pxe_image.cpio.gz\nboot\n",
        release_url(channel)
    )
}

/// A snippet for dnsmasq's `conf-dir`. With a declared subnet it runs as proxy DHCP, beside
/// whatever DHCP server hands out the addresses: plain PXE clients are chainloaded to iPXE over
/// TFTP, and iPXE (which identifies itself with user class `iPXE`) gets the script over http.
fn dnsmasq(cluster: &Cluster, what: &str, script_url: &str) -> String {
    let mut text = format!("# {what}: chainload iPXE, then boot {script_url}\n");
    match &cluster.network {
        Some(net) => text.push_str(&format!("dhcp-range={},proxy\n", net.subnet.network())),
        None => text.push_str("# no subnet is declared: add the dhcp-range of the boot network\n"),
    }
    text.push_str(
        "dhcp-userclass=set:ipxe,iPXE\npxe-service=tag:!ipxe,x86PC,\"PXE chainload to iPXE\",undionly.kpxe\nenable-tftp\ntftp-root=/var/lib/tftpboot\n",
    );
    text.push_str(&format!("dhcp-boot=tag:ipxe,{script_url}\n"));
    text
}
