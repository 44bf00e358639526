//! The matchbox data directory read back as matchbox and the machines read it: each machine's
//! requests taken from the rendered boot scripts, kernel lines and installers, matched against
//! every rendered group as matchbox matches, and followed to the config it serves.

use std::collections::BTreeMap;

use clusterdef_model::{Boot, Checked, synthetic};

use crate::synthetic::on_matchbox;

use super::{Artifacts, Render, RenderOptions};

/// A request's labels as matchbox reads a query: every parameter's first value, `mac` parsed
/// and stored lowercase with colons (a MAC it cannot parse is dropped).
fn labels(query: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for pair in query.split('&') {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        if out.contains_key(key) {
            continue;
        }
        if key.eq_ignore_ascii_case("mac") {
            let mac = value.to_ascii_lowercase().replace('-', ":");
            let ok = mac.split(':').count() == 6
                && mac.split(':').all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_hexdigit()));
            if ok {
                out.insert("mac".to_string(), mac);
            }
            continue;
        }
        out.insert(key.to_string(), value.to_string());
    }
    out
}

/// The rendered groups, as matchbox loads them: id, selector (MACs normalised), profile.
type Groups = Vec<(String, BTreeMap<String, String>, String)>;

fn groups_of(artifacts: &Artifacts) -> Groups {
    artifacts
        .iter()
        .filter(|(path, _)| path.starts_with("matchbox/groups/"))
        .map(|(path, bytes)| {
            let group: serde_json::Value = serde_json::from_slice(bytes).unwrap_or_else(|e| panic!("{path}: {e}"));
            let selector = group["selector"]
                .as_object()
                .map(|s| s.iter().map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string())).collect())
                .unwrap_or_default();
            let selector: BTreeMap<String, String> = selector;
            let query: Vec<String> = selector.iter().map(|(k, v)| format!("{k}={v}")).collect();
            (
                group["id"].as_str().unwrap_or_default().to_string(),
                labels(&query.join("&")),
                group["profile"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The one group that answers `query`: every group whose selector's labels the request carries
/// with equal values. More than one is a failure, even where matchbox would pick by selector
/// count: no request of clusterdef's leaves it a choice.
fn answer<'g>(groups: &'g Groups, query: &str, who: &str) -> &'g (String, BTreeMap<String, String>, String) {
    let request = labels(query);
    let matching: Vec<_> =
        groups.iter().filter(|(_, selector, _)| selector.iter().all(|(k, v)| request.get(k) == Some(v))).collect();
    assert_eq!(
        matching.len(),
        1,
        "{who}: {query} is matched by {:?}",
        matching.iter().map(|g| &g.0).collect::<Vec<_>>()
    );
    matching[0]
}

fn profile(artifacts: &Artifacts, id: &str) -> serde_json::Value {
    let path = format!("matchbox/profiles/{id}.json");
    serde_json::from_slice(artifacts.get(&path).unwrap_or_else(|| panic!("no {path}"))).expect("profile JSON")
}

/// The query of `url` below `base`'s `endpoint`, with iPXE's variables replaced as iPXE
/// replaces them for a machine with `mac`; any other `${…}` fails.
fn query_of(url: &str, base: &str, endpoint: &str, mac: &str) -> String {
    let rest =
        url.strip_prefix(&format!("{base}/{endpoint}?")).unwrap_or_else(|| panic!("{url} is not {base}/{endpoint}"));
    let rest = rest
        .replace("${mac:hexhyp}", &mac.replace(':', "-"))
        .replace("${uuid}", "4c4c4544-0000-0000-0000-000000000000");
    assert!(!rest.contains("${"), "an iPXE variable is left in {rest}");
    rest
}

/// What a PXE profile's kernel line points Ignition at.
fn config_url(profile: &serde_json::Value) -> String {
    let args = profile["boot"]["args"].as_array().expect("a PXE profile has kernel arguments");
    let url = args.iter().filter_map(|a| a.as_str()?.strip_prefix("ignition.config.url=")).next();
    url.expect("the kernel line names the config").to_string()
}

/// The installer's script, when `bytes` is an installer's config (read as Ignition reads it).
fn installer_script(bytes: &[u8]) -> Option<String> {
    let config = crate::read::ignition::parse(std::str::from_utf8(bytes).expect("UTF-8")).expect("Ignition");
    config.units.iter().find(|u| u.name == "clusterdef-install.service")?;
    let script = config.files.iter().find(|f| f.path == "/opt/clusterdef-install").expect("the installer's script");
    match &script.contents {
        Some(crate::read::ignition::Contents::Data(text)) => Some(String::from_utf8(text.clone()).expect("text")),
        other => panic!("the installer's script is {other:?}"),
    }
}

/// Follows one machine (by `mac`) from the boot script its network hands it to the config
/// matchbox serves it, and asserts it is `expected` (a path in the render). The stages: the
/// boot script's chain to `/ipxe`, the profile's kernel line to `/ignition`, and for a machine
/// installed to disk the installer's own request for the machine's config.
fn follow(artifacts: &Artifacts, groups: &Groups, base: &str, script: &str, mac: &str, expected: &str) {
    let text = artifacts.text(script).unwrap_or_else(|| panic!("no {script}"));
    let chain = text.lines().find_map(|l| l.strip_prefix("chain ")).expect("the script chains to matchbox");
    let (_, _, profile_id) = answer(groups, &query_of(chain, base, "ipxe", mac), mac);
    let boot = profile(artifacts, profile_id);
    let (_, _, profile_id) = answer(groups, &query_of(&config_url(&boot), base, "ignition", mac), mac);
    let served = profile(artifacts, profile_id);
    let config = format!("matchbox/ignition/{}", served["ignition_id"].as_str().expect("ignition_id"));
    let bytes = artifacts.get(&config).unwrap_or_else(|| panic!("no {config}"));
    let bytes = if let Some(script) = installer_script(bytes) {
        let url = script.split('\'').nth(1).expect("the installer's URL");
        let (_, _, profile_id) = answer(groups, &query_of(url, base, "ignition", mac), mac);
        let installed = profile(artifacts, profile_id);
        assert!(installed.get("boot").is_none(), "{mac}: an installed machine boots from disk");
        let config = format!("matchbox/ignition/{}", installed["ignition_id"].as_str().expect("ignition_id"));
        artifacts.get(&config).unwrap_or_else(|| panic!("no {config}")).to_vec()
    } else {
        bytes.to_vec()
    };
    assert!(
        bytes == artifacts.get(expected).unwrap_or_else(|| panic!("no {expected}")),
        "{mac} is served another config than {expected}"
    );
}

/// For the large-scale seed on matchbox and random Flatcar clusters turned to matchbox: every
/// machine matchbox installs, and every kind of PXE machine (by a listed MAC, or by its
/// network's script for the unlisted), reaches its own config and no other, through requests
/// each of which exactly one group matches.
#[test]
fn every_machine_reaches_its_own_config_through_exactly_one_group_per_request() {
    let options =
        RenderOptions { discovery_url: Some("https://discovery.etcd.io/t".to_string()), ..RenderOptions::default() };
    let mut checked = 0;
    let (mut installed, mut kinds) = (0, 0);
    for seed in 0..40u8 {
        let cluster = on_matchbox(synthetic::random_flatcar_cluster(u64::from(seed)).0, seed);
        let Ok(c) = Checked::new(cluster.clone()) else { continue };
        checked += 1;
        let artifacts = c.render_with(&options).expect("renders");
        let groups = groups_of(&artifacts);
        let base = "http://10.9.0.5:8080";
        // What the plan says each request gets is what the rendered groups give it.
        let layout = super::matchbox::layout(&cluster).expect("a matchbox cluster");
        for request in &layout.requests {
            let query: Vec<String> = request.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let (id, _, _) = answer(&groups, &query.join("&"), &request.who);
            assert_eq!(*id, request.group, "{}: the plan's group for {:?}", request.who, request.labels);
        }
        for placed in cluster.placed_groups() {
            for machine in &placed.machines {
                let Some(mac) = placed.group.macs.get(machine.index as usize) else { continue };
                let expected = super::ignition::machine_config_path(machine);
                follow(
                    &artifacts,
                    &groups,
                    base,
                    "matchbox/assets/clusterdef/install.ipxe",
                    &mac.to_ascii_lowercase(),
                    &expected,
                );
                installed += 1;
            }
        }
        for (i, pool) in cluster.pools.iter().enumerate() {
            if !matches!(pool.boot, Boot::Pxe { .. }) {
                continue;
            }
            for domain in cluster.group_domains(clusterdef_model::GroupRef::Pool(i)) {
                let kind = super::matchbox::kind_id(pool, domain);
                let script = format!("matchbox/assets/clusterdef/{kind}.ipxe");
                let expected = super::ignition::pool_config_path(pool, domain);
                let name = domain.and_then(|d| pool.spread.as_ref()?.domains.get(d)).map(|d| &*d.name);
                let listed: Vec<&str> =
                    pool.inventory.iter().filter(|e| e.domain.as_deref() == name).map(|e| &*e.mac).collect();
                let macs = if listed.is_empty() { vec!["52:54:00:fe:fe:fe"] } else { listed };
                for mac in macs {
                    follow(&artifacts, &groups, base, &script, &mac.to_ascii_lowercase(), &expected);
                }
                kinds += 1;
            }
        }
    }
    assert!(checked >= 10 && installed >= 20 && kinds >= 5, "{checked} clusters, {installed} installed, {kinds} kinds");
}

/// The installer writes Flatcar to the group's `install_disk`, and to `/dev/sda` where the group
/// names none.
#[test]
fn the_installer_writes_to_the_declared_disk() {
    let mut cluster = on_matchbox(synthetic::flatcar_cluster(40, 1), 9);
    cluster.members.install_disk = Some("/dev/disk/by-id/virtio-central".into());
    let artifacts = Checked::new(cluster.clone()).expect("checks").render().expect("renders");
    let members: std::collections::BTreeSet<String> = cluster
        .placed_groups()
        .into_iter()
        .filter(|p| p.group_ref == clusterdef_model::GroupRef::Members)
        .flat_map(|p| p.machines.into_iter().map(|m| m.hostname))
        .collect();
    let mut seen = 0;
    for (path, bytes) in &artifacts {
        let Some(host) = path.strip_prefix("matchbox/ignition/install.").and_then(|p| p.strip_suffix(".ign")) else {
            continue;
        };
        let script = installer_script(bytes).expect("an installer");
        let disk = if members.contains(host) { "/dev/disk/by-id/virtio-central" } else { "/dev/sda" };
        assert!(script.contains(&format!("flatcar-install -d {disk} -C ")), "{host}: {script}");
        seen += 1;
    }
    assert!(seen >= 6, "{seen} installers");
}
