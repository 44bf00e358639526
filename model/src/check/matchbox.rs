//! The rules on MAC addresses and on a matchbox boot server: `machine_macs` and
//! `matchbox_boot`. A MAC address is what a boot server decides by, so each names one machine;
//! matchbox matches a request to a group by its labels, and picks among groups that all match by
//! how many selectors each has, so the render's groups must leave it no choice to make.

use std::collections::HashMap;

use super::Report;
use crate::group::{Boot, Size, normalised_mac};
use crate::rule::Rule;
use crate::settings::{BootServerKind, Os};
use crate::subject::{GroupPart, Subject};

/// Runs `machine_macs` and `matchbox_boot`.
pub(super) fn check(r: &mut Report<'_>) {
    machine_macs(r);
    macs_unique(r);
    matchbox_boot(r);
}

/// `machine_macs`: `macs` names the machines of a fixed group that boots from disk, one address
/// per machine. An autoscaled group's machines come and go; a PXE pool's are listed by its
/// `inventory`. O(groups).
fn machine_macs(r: &mut Report<'_>) {
    let c = r.cluster;
    for (g, group) in c.groups() {
        if group.macs.is_empty() {
            continue;
        }
        let at = Subject::Group(g, GroupPart::Macs);
        match (group.size, &group.boot) {
            (Size::Autoscale { .. }, _) => r.push(
                Rule::MachineMacs,
                at,
                format!("`{}` is autoscaled: its machines come and go, and no list names them", group.name),
                "remove `macs`: an autoscaled group's machines share one config per domain",
            ),
            (_, Boot::Pxe { .. }) => r.push(
                Rule::MachineMacs,
                at,
                format!("`{}` PXE-boots: its machines are listed by `inventory`, not `macs`", group.name),
                format!("write `inventory: {}` (with each machine's domain for a spread pool)", list_of(&group.macs)),
            ),
            (Size::Fixed(n), Boot::Disk) if group.macs.len() != n as usize => r.push(
                Rule::MachineMacs,
                at,
                format!(
                    "`{}` has {} but `macs` lists {}",
                    group.name,
                    super::plural(n, "machine", "machines"),
                    super::plural(group.macs.len() as u32, "address", "addresses")
                ),
                "list one MAC address per machine, in machine order (the order of their hostnames in the plan; \
                 machines are dealt across domains in turn)",
            ),
            _ => {}
        }
    }
}

/// Every MAC address of the cluster, in `macs` and in inventories, is listed once: compared as
/// dnsmasq and matchbox compare them, case aside. One pass, O(addresses).
fn macs_unique(r: &mut Report<'_>) {
    let c = r.cluster;
    let mut seen: HashMap<String, &str> = HashMap::new();
    for (g, group) in c.groups() {
        let listed = group
            .inventory
            .iter()
            .enumerate()
            .map(|(i, e)| (Rule::MachineInventory, GroupPart::InventoryEntry(i), &e.mac))
            .chain(group.macs.iter().enumerate().map(|(i, mac)| (Rule::MachineMacs, GroupPart::Mac(i), mac)));
        for (rule, part, mac) in listed {
            let key = normalised_mac(mac);
            match seen.get(key.as_str()) {
                Some(owner) => r.push(
                    rule,
                    Subject::Group(g, part),
                    format!("MAC address {mac} is listed twice (also in `{owner}`), so one machine would be two"),
                    "list each machine once",
                ),
                None => {
                    seen.insert(key, &group.name);
                }
            }
        }
    }
}

/// `matchbox_boot`: matchbox serves Ignition, so the cluster runs Flatcar; it is the one boot
/// server, so no pool names another; it installs each machine that boots from disk by its MAC
/// address (so every such machine has one: `macs`), and iPXE fetches from it over plain http.
/// O(groups).
fn matchbox_boot(r: &mut Report<'_>) {
    let c = r.cluster;
    for (g, group) in c.groups() {
        if group.install_disk.is_some() && !c.matchbox_installs(group) {
            r.push(
                Rule::MatchboxBoot,
                Subject::Group(g, GroupPart::InstallDisk),
                format!("`{}` is installed by nothing, so `install_disk` would say nothing", group.name),
                "remove `install_disk`: only a fixed group that boots from disk, with `boot_server: matchbox`, is installed",
            );
        }
    }
    if c.boot_server_kind != BootServerKind::Matchbox {
        return;
    }
    if c.os != Os::Flatcar {
        r.push(
            Rule::MatchboxBoot,
            Subject::BootServerKind,
            "matchbox serves Ignition configs, and this cluster runs CoreOS, whose machines read cloud-configs",
            "add `os: flatcar`, or serve the render's files as they are with `boot_server: \"http://...\"`",
        );
    }
    let mut pxe_from_cluster_server = false;
    for (g, group) in c.groups() {
        match (&group.boot, group.size) {
            (Boot::Pxe { url: Some(_) }, _) => r.push(
                Rule::MatchboxBoot,
                Subject::Group(g, GroupPart::Boot),
                format!(
                    "`{}` boots from a URL of its own, but matchbox serves every machine of the cluster",
                    group.name
                ),
                "write `boot: pxe`, without a URL",
            ),
            (Boot::Pxe { url: None }, _) => pxe_from_cluster_server = true,
            _ if c.matchbox_installs(group) && group.macs.is_empty() => r.push(
                Rule::MatchboxBoot,
                Subject::Group(g, GroupPart::Whole),
                format!(
                    "`{}` boots from disk, and matchbox installs each such machine by its MAC address: without \
                     `macs`, its machines are matched by no group",
                    group.name
                ),
                "add `macs: [\"52:54:00:00:00:01\", ...]`, one per machine in machine order",
            ),
            _ => {}
        }
    }
    // `pxe_boot` says so for a cluster with a PXE pool; this one has none to say it.
    if let Some(url) = &c.boot_server
        && !url.starts_with("http://")
        && !pxe_from_cluster_server
    {
        r.push(
            Rule::MatchboxBoot,
            Subject::BootServer,
            format!("the matchbox URL `{url}` is not plain http://: iPXE fetches its scripts and kernels over http"),
            "serve matchbox over http:// on the provisioning network",
        );
    }
}

/// `["a", "b"]`, as the language writes a list of strings.
fn list_of(items: &[crate::text::Text]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("{i:?}")).collect();
    format!("[{}]", quoted.join(", "))
}
