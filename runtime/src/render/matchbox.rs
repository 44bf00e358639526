//! A matchbox data directory (`boot_server: matchbox "…"`, Flatcar): `matchbox/profiles/`,
//! `matchbox/groups/`, `matchbox/ignition/` and `matchbox/assets/clusterdef/`, for
//! `matchbox -data-path <render>/matchbox`.
//!
//! matchbox answers a request by the first group whose selector's labels all equal the
//! request's (the most selectors first, ties in an order nobody should rely on), so clusterdef
//! writes groups no two of which match one request: every request its machines make carries a
//! `stage` label, and each group selects one stage of one machine (by MAC address) or of one
//! kind of PXE machine (by the `kind` its boot script names).
//!
//! - A machine of a fixed group boots from disk, installed by MAC as Typhoon installs its
//!   machines: PXE (its network's dnsmasq hands it `assets/clusterdef/install.ipxe`) into
//!   profile `install.<host>`, whose RAM Flatcar runs an installer that fetches the machine's
//!   own config (`stage=installed`), writes Flatcar and that config to the disk and reboots.
//!   The disk's first boot applies the config; matchbox is not asked again.
//! - A PXE pool in a domain (a kind) runs from RAM: its boot script asks for profile
//!   `pxe.<pool>[.<domain>]`, whose kernel line points Ignition at the kind's config. Machines
//!   an inventory lists are matched by MAC (group `mac.<hex>`), the others by the kind their
//!   network's boot script names (group `pxe.<kind>`).
//!
//! Profiles, groups and scripts are named by prefix (`install.`, `machine.`, `pxe.`, `mac.`)
//! and a hostname or pool name (which hold no `.`), so no two names meet. The configs keep the
//! names they have in `ignition/`; installers are `install.<host>.ign`.

use clusterdef_model::{Boot, Channel, Cluster, Group, GroupRef, Machine, normalised_mac};

use super::context::{Context, file_component, release_url};
use super::ignition;
use super::inputs::{Keep, Made};
use super::json::Json;

/// The directory of the render that is matchbox's data directory.
pub const DIR: &str = "matchbox";

/// Where the install script lives under matchbox's assets, by id.
const INSTALL_SCRIPT: &str = "install";

/// The disk the installer writes Flatcar to when the group names none (`install_disk`).
pub const INSTALL_DISK: &str = "/dev/sda";

/// One group: its id, its selector, the profile it picks, and whose it is.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MatchGroup {
    /// The group's id (and file name).
    pub id: String,
    /// The labels a request must carry, each with its value (`mac` lowercase with colons, as
    /// matchbox normalises it).
    pub selector: Vec<(&'static str, String)>,
    /// The profile it picks.
    pub profile: String,
    /// The machine (hostname) or kind it serves, for the plan.
    pub serves: String,
}

/// One profile: what a machine boots (a PXE kernel line, or nothing for a disk) and its config.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Profile {
    /// The profile's id (and file name).
    pub id: String,
    /// The kernel, initrd and kernel arguments, for a profile that PXE-boots.
    pub boot: Option<(String, String, Vec<String>)>,
    /// The config's file name in `matchbox/ignition/`.
    pub ignition: String,
}

/// One request a machine makes of matchbox, and the group that must answer it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Request {
    /// Who makes it: a hostname, or a kind of PXE machine.
    pub who: String,
    /// The endpoint: `ipxe` or `ignition`.
    pub endpoint: &'static str,
    /// Its labels, as matchbox reads the query (`mac` normalised).
    pub labels: Vec<(&'static str, String)>,
    /// The group that answers it.
    pub group: String,
}

/// Everything clusterdef writes for matchbox, as data: the plan reads it, the files are made
/// from it, and the tests check every request against the groups.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Layout {
    /// The matchbox URL, without a trailing slash.
    pub base: String,
    /// Every group.
    pub groups: Vec<MatchGroup>,
    /// Every profile.
    pub profiles: Vec<Profile>,
    /// Every request the machines make, each with the group that answers it.
    pub requests: Vec<Request>,
    /// Each machine matchbox installs.
    pub installed: Vec<Installed>,
    /// Each kind of PXE machine: its id and its config's file name.
    pub kinds: Vec<(String, String)>,
}

/// A machine matchbox installs to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Installed {
    /// Its hostname.
    pub host: String,
    /// Its group.
    #[cfg_attr(feature = "serde", serde(skip))]
    pub group: GroupRef,
    /// Its MAC address, as matchbox stores it.
    pub mac: String,
    /// The channel it installs.
    pub channel: Channel,
    /// The disk it installs to.
    pub disk: String,
    /// Its config's file name in `matchbox/ignition/` (and `ignition/`).
    pub config: String,
}

/// The id of the kind of PXE machine of `group` in `domain`: `pxe.<pool>[.<domain>]`.
pub fn kind_id(group: &Group, domain: Option<usize>) -> String {
    match domain.and_then(|d| group.spread.as_ref()?.domains.get(d)) {
        Some(d) => format!("pxe.{}.{}", file_component(&group.name), file_component(&d.name)),
        None => format!("pxe.{}", file_component(&group.name)),
    }
}

/// The URL of the boot script with `id` among matchbox's assets.
pub fn script_url(base: &str, id: &str) -> String {
    format!("{base}/assets/clusterdef/{id}.ipxe")
}

/// The URL of the install script, which every installed machine's network hands to iPXE.
pub fn install_script_url(base: &str) -> String {
    script_url(base, INSTALL_SCRIPT)
}

/// matchbox's base URL in `cluster`, when it boots from matchbox.
pub fn base_of(cluster: &Cluster) -> Option<String> {
    (cluster.boot_server_kind == clusterdef_model::BootServerKind::Matchbox)
        .then(|| cluster.boot_server.as_ref().map(|u| u.trim_end_matches('/').to_string()))
        .flatten()
}

/// Each machine of `cluster` that matchbox installs, with its MAC address (normalised): the
/// machines of fixed groups that boot from disk and list `macs`. In machine order.
pub fn installed_machines(cluster: &Cluster) -> Vec<(GroupRef, Machine, String)> {
    let mut out = Vec::new();
    for placed in cluster.placed_groups() {
        if !cluster.matchbox_installs(placed.group) {
            continue;
        }
        for machine in placed.machines {
            if let Some(mac) = placed.group.macs.get(machine.index as usize) {
                out.push((placed.group_ref, machine, normalised_mac(mac)));
            }
        }
    }
    out
}

/// What `cluster` writes for matchbox (`None`: it does not boot from matchbox). O(machines +
/// kinds + inventory).
pub fn layout(cluster: &Cluster) -> Option<Layout> {
    let base = base_of(cluster)?;
    let mut layout = Layout { base: base.clone(), ..Layout::default() };
    let stage = |s: &str| ("stage", s.to_string());
    for (g, machine, mac) in installed_machines(cluster) {
        let Some(group) = cluster.group(g) else { continue };
        let host = &machine.hostname;
        let channel = cluster.channel_of(group);
        let install = format!("install.{host}");
        let installed = format!("machine.{host}");
        let url = format!("{base}/ignition?mac=${{mac:hexhyp}}&stage=install");
        layout.profiles.push(Profile {
            id: install.clone(),
            boot: Some(pxe_boot(channel, &url)),
            ignition: format!("install.{host}.ign"),
        });
        let config = ignition::machine_config_path(&machine);
        let config = config.trim_start_matches("ignition/").to_string();
        layout.profiles.push(Profile { id: installed.clone(), boot: None, ignition: config.clone() });
        for (id, s) in [(&install, "install"), (&installed, "installed")] {
            layout.groups.push(MatchGroup {
                id: id.clone(),
                selector: vec![("mac", mac.clone()), stage(s)],
                profile: id.clone(),
                serves: host.clone(),
            });
        }
        let asks = |endpoint, s: &str, group: &str| Request {
            who: host.clone(),
            endpoint,
            labels: vec![("mac", mac.clone()), stage(s)],
            group: group.to_string(),
        };
        layout.requests.push(asks("ipxe", "install", &install));
        layout.requests.push(asks("ignition", "install", &install));
        layout.requests.push(asks("ignition", "installed", &installed));
        let disk = group.install_disk.as_deref().unwrap_or(INSTALL_DISK).to_string();
        layout.installed.push(Installed { host: host.clone(), group: g, mac, channel, disk, config });
    }
    for (i, pool) in cluster.pools.iter().enumerate() {
        if !matches!(pool.boot, Boot::Pxe { .. }) {
            continue;
        }
        let channel = cluster.channel_of(pool);
        // The inventory's MACs by domain, gathered once: O(inventory), not per domain.
        let mut listed_in: std::collections::HashMap<Option<&str>, Vec<String>> = std::collections::HashMap::new();
        for e in pool.inventory.iter() {
            listed_in.entry(e.domain.as_deref()).or_default().push(normalised_mac(&e.mac));
        }
        for domain in cluster.group_domains(GroupRef::Pool(i)) {
            let kind = kind_id(pool, domain);
            let config = ignition::pool_config_path(pool, domain).trim_start_matches("ignition/").to_string();
            let url = format!("{base}/ignition?mac=${{mac:hexhyp}}&stage=pxe&kind={kind}");
            layout.profiles.push(Profile {
                id: kind.clone(),
                boot: Some(pxe_boot(channel, &url)),
                ignition: config.clone(),
            });
            let domain_name = domain.and_then(|d| pool.spread.as_ref()?.domains.get(d)).map(|d| &*d.name);
            let listed = listed_in.remove(&domain_name).unwrap_or_default();
            if listed.is_empty() {
                layout.groups.push(MatchGroup {
                    id: kind.clone(),
                    selector: vec![("kind", kind.clone()), stage("pxe")],
                    profile: kind.clone(),
                    serves: kind.clone(),
                });
            }
            for mac in &listed {
                let id = format!("mac.{}", mac.replace(':', ""));
                layout.groups.push(MatchGroup {
                    id: id.clone(),
                    selector: vec![("mac", mac.clone()), stage("pxe")],
                    profile: kind.clone(),
                    serves: format!("{kind} ({mac})"),
                });
            }
            // A listed machine asks by its MAC and its kind; an unlisted one by its kind (its MAC,
            // whatever it is, is in no group).
            let askers: Vec<(Option<String>, String)> = if listed.is_empty() {
                vec![(None, kind.clone())]
            } else {
                listed.iter().map(|mac| (Some(mac.clone()), format!("mac.{}", mac.replace(':', "")))).collect()
            };
            for (mac, group) in askers {
                for endpoint in ["ipxe", "ignition"] {
                    let mut labels: Vec<(&'static str, String)> = mac.iter().map(|m| ("mac", m.clone())).collect();
                    labels.extend([stage("pxe"), ("kind", kind.clone())]);
                    layout.requests.push(Request { who: kind.clone(), endpoint, labels, group: group.clone() });
                }
            }
            layout.kinds.push((kind, config));
        }
    }
    Some(layout)
}

/// A PXE profile's kernel, initrd and arguments: Flatcar's PXE image of `channel`, run from RAM
/// with Ignition on this boot, its config at `config_url`.
fn pxe_boot(channel: Channel, config_url: &str) -> (String, String, Vec<String>) {
    let release = release_url(clusterdef_model::Os::Flatcar, channel);
    (
        format!("{release}/flatcar_production_pxe.vmlinuz"),
        format!("{release}/flatcar_production_pxe_image.cpio.gz"),
        vec![
            "initrd=flatcar_production_pxe_image.cpio.gz".to_string(),
            "flatcar.first_boot=yes".to_string(),
            format!("ignition.config.url={config_url}"),
        ],
    )
}

/// The files of the matchbox data directory but the copies of the configs (which the render
/// makes beside `ignition/`, kept when their originals are): profiles, groups, boot scripts and
/// installers, by path. O(layout).
pub fn render(ctx: &Context<'_>, layout: &Layout) -> Vec<(String, String)> {
    let cluster = ctx.cluster;
    let mut out = Vec::new();
    for p in &layout.profiles {
        let boot = p.boot.as_ref().map(|(kernel, initrd, args)| {
            Json::obj([
                ("kernel", Some(Json::str(kernel.as_str()))),
                ("initrd", Some(Json::Arr(vec![Json::str(initrd.as_str())]))),
                ("args", Some(Json::Arr(args.iter().map(|a| Json::str(a.as_str())).collect()))),
            ])
        });
        let profile = Json::obj([
            ("id", Some(Json::str(p.id.as_str()))),
            ("name", Some(Json::str(p.id.as_str()))),
            ("boot", boot),
            ("ignition_id", Some(Json::str(p.ignition.as_str()))),
        ]);
        out.push((format!("{DIR}/profiles/{}.json", p.id), format!("{}\n", profile.to_text())));
    }
    for g in &layout.groups {
        let selector = Json::Obj(g.selector.iter().map(|(k, v)| (*k, Json::str(v.as_str()))).collect());
        let group = Json::obj([
            ("id", Some(Json::str(g.id.as_str()))),
            ("name", Some(Json::str(g.id.as_str()))),
            ("profile", Some(Json::str(g.profile.as_str()))),
            ("selector", Some(selector)),
        ]);
        out.push((format!("{DIR}/groups/{}.json", g.id), format!("{}\n", group.to_text())));
    }
    let base = &layout.base;
    let chain = |labels: &str| format!("#!ipxe\nchain {base}/ipxe?mac=${{mac:hexhyp}}&uuid=${{uuid}}&{labels}\n");
    if !layout.installed.is_empty() {
        out.push((format!("{DIR}/assets/clusterdef/{INSTALL_SCRIPT}.ipxe"), chain("stage=install")));
    }
    for (kind, _) in &layout.kinds {
        out.push((format!("{DIR}/assets/clusterdef/{kind}.ipxe"), chain(&format!("stage=pxe&kind={kind}"))));
    }
    for m in &layout.installed {
        let installer = installer(cluster, cluster.group(m.group), base, m);
        out.push((format!("{DIR}/ignition/install.{}.ign", m.host), installer));
    }
    out
}

/// The installer's Ignition config: a unit that fetches the machine's config from matchbox
/// (`stage=installed`), installs Flatcar of its channel and that config to its disk, and
/// reboots into it; the cluster's and the group's SSH keys let an operator watch it.
fn installer(cluster: &Cluster, group: Option<&Group>, base: &str, machine: &Installed) -> String {
    let Installed { mac, channel, disk, .. } = machine;
    let script = format!(
        "#!/bin/bash\nset -euo pipefail\n\
         curl --fail --silent --show-error --retry 10 --retry-delay 5 --output /tmp/clusterdef-ignition.json '{base}/ignition?mac={mac}&stage=installed'\n\
         flatcar-install -d {disk} -C {} -i /tmp/clusterdef-ignition.json\n\
         udevadm settle\n\
         systemctl reboot\n",
        channel.as_str()
    );
    let unit = "[Unit]\nDescription=Install Flatcar and this machine's config to disk, then boot it\n\
                Wants=network-online.target\nAfter=network-online.target\n\n\
                [Service]\nType=oneshot\nExecStart=/opt/clusterdef-install\n\n\
                [Install]\nWantedBy=multi-user.target\n";
    let passwd = group.and_then(|g| ignition::core_user(cluster, g));
    let config = Json::obj([
        ("ignition", Some(Json::obj([("version", Some(Json::str(ignition::SPEC)))]))),
        ("passwd", passwd),
        (
            "storage",
            Some(Json::obj([(
                "files",
                Some(Json::Arr(vec![ignition::file("/opt/clusterdef-install", 0o500, &script)])),
            )])),
        ),
        (
            "systemd",
            Some(Json::obj([(
                "units",
                Some(Json::Arr(vec![Json::obj([
                    ("name", Some(Json::str("clusterdef-install.service"))),
                    ("enabled", Some(Json::Bool(true))),
                    ("contents", Some(Json::str(unit))),
                ])])),
            )])),
        ),
    ]);
    config.to_text()
}

/// Where matchbox's copy of the config at `path` (`ignition/<name>`) lies.
fn copy_of(path: &str) -> Option<String> {
    path.strip_prefix("ignition/").map(|name| format!("{DIR}/ignition/{name}"))
}

/// Keeps a config only when the directory holds both it and matchbox's copy, made from the same
/// inputs: a render that makes one makes both.
pub struct KeepBoth<'k>(pub &'k dyn Keep);

impl Keep for KeepBoth<'_> {
    fn keeps(&self, path: &str, inputs: u64) -> bool {
        self.0.keeps(path, inputs) && copy_of(path).is_none_or(|copy| self.0.keeps(&copy, inputs))
    }
}

/// `configs` and, beside each, matchbox's copy: the same text and inputs. O(configs).
pub fn with_copies(configs: Vec<Made>) -> Vec<Made> {
    let mut out = Vec::with_capacity(configs.len() * 2);
    for made in configs {
        if let Some(path) = copy_of(&made.path) {
            out.push(Made { path, inputs: made.inputs, text: made.text.clone() });
        }
        out.push(made);
    }
    out
}

/// The plan's matchbox section: each group, with what it serves and selects and the profile it
/// picks (the profile's config, and for a PXE profile its kernel line's config URL).
impl std::fmt::Display for Layout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "\nmatchbox at {} (data directory `{DIR}/`)", self.base)?;
        for m in &self.installed {
            writeln!(f, "  {} ({}): installed to {}, then booted from disk", m.host, m.mac, m.disk)?;
        }
        for (g, selector, config) in self.rows() {
            writeln!(
                f,
                "  {}: group {} ({}) -> profile {}, config {config}",
                g.serves,
                g.id,
                selector.join(", "),
                g.profile
            )?;
        }
        Ok(())
    }
}

impl Layout {
    /// Each group as the plan shows it: the group, its selector as `key=value` words, and the
    /// config its profile serves. O(groups + profiles).
    pub fn rows(&self) -> Vec<(&MatchGroup, Vec<String>, &str)> {
        let configs: std::collections::HashMap<&str, &str> =
            self.profiles.iter().map(|p| (p.id.as_str(), p.ignition.as_str())).collect();
        self.groups
            .iter()
            .map(|g| {
                let selector = g.selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
                (g, selector, configs.get(g.profile.as_str()).copied().unwrap_or_default())
            })
            .collect()
    }
}
