//! A matchbox data directory read as matchbox serves it: each group's selector (a MAC, and a
//! stage such as Typhoon's `os: installed` or clusterdef's `stage: installed`), its profile,
//! and the profile's Ignition config. A machine is known by its MAC: of the configs served for
//! one MAC, the one that installs Flatcar to disk (it runs `flatcar-install`) is the install
//! stage, read for the disk and the boot server it fetches from, and the other is the
//! machine's own config, read as any Flatcar machine's with the MAC beside it.
//!
//! What matchbox would do otherwise than the files seem to say is a finding: a selector MAC
//! not written as matchbox normalises a request's (lowercase, colons) never matches; two groups
//! with one selector are resolved by name; a profile or config a group names and the directory
//! lacks serves nothing. O(groups + profiles), with maps by id and path.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;

use crate::read::ignition::{self, Contents};

use super::{Finding, SourceFile, lossy, note};

/// What matchbox serves, read.
#[derive(Default)]
pub(super) struct Served {
    /// Each machine's config (by path) and its MAC, with the group file that selects it.
    pub(super) machines: HashMap<String, (String, String)>,
    /// The install stages' configs (by path): not machines.
    pub(super) install_stages: HashSet<String>,
    /// The groups' and profiles' files: read here, not machines.
    pub(super) read: HashSet<String>,
    /// The disk each MAC's installer writes Flatcar to.
    pub(super) disks: HashMap<String, String>,
    /// The channel each MAC's installer installs from (`flatcar-install -C`), and its file.
    pub(super) channels: HashMap<String, (String, String)>,
    /// The boot server the installers fetch the machines' configs from, and the file that says so.
    pub(super) boot_server: Option<(String, String)>,
    /// The data directories (`groups/`' parents) found.
    roots: HashSet<String>,
}

impl Served {
    /// Whether `path` is one of a data directory's assets (served as they are: kernels,
    /// scripts), not a machine's config.
    pub(super) fn is_asset(&self, path: &str) -> bool {
        is_under(path, "assets").is_some_and(|root| self.roots.contains(&root))
    }
}

fn is_under(path: &str, dir: &str) -> Option<String> {
    let at = path.rfind(&format!("{dir}/")).filter(|&i| i == 0 || path.as_bytes()[i - 1] == b'/')?;
    Some(path[..at].to_string())
}

/// Whether `mac` is written as matchbox writes a request's MAC (Go's `net.HardwareAddr`).
fn normal_mac(mac: &str) -> bool {
    let parts: Vec<&str> = mac.split(':').collect();
    parts.len() == 6
        && parts.iter().all(|p| p.len() == 2 && p.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
}

/// What an install stage's installer says: the disk (`flatcar-install -d`), the channel
/// (`-C`), and the `scheme://host:port` of the URL it fetches the machine's config from.
struct Installer {
    disk: Option<String>,
    channel: Option<String>,
    server: Option<String>,
}

/// An install stage's installer, read from its files.
fn installer(config: &ignition::Config) -> Option<Installer> {
    let texts = config.files.iter().filter_map(|f| match &f.contents {
        Some(Contents::Data(bytes)) => std::str::from_utf8(bytes).ok(),
        _ => None,
    });
    let script = texts.into_iter().find(|t| t.contains("flatcar-install"))?;
    let words: Vec<&str> = script.split_whitespace().collect();
    let flag = |name: &str| words.windows(2).find(|w| w[0] == name).map(|w| w[1].trim_matches(['"', '\'']).to_string());
    let (disk, channel) = (flag("-d"), flag("-C"));
    let server = words.iter().find_map(|w| {
        let w = w.trim_matches(['"', '\'']);
        let rest =
            w.strip_prefix("http://").map(|r| ("http", r)).or(w.strip_prefix("https://").map(|r| ("https", r)))?;
        let host = rest.1.split(['/', '?']).next()?;
        w.contains("/ignition").then(|| format!("{}://{host}", rest.0))
    });
    Some(Installer { disk, channel, server })
}

/// Reads the matchbox groups and profiles among `files`. O(files).
pub(super) fn read(files: &[SourceFile], findings: &mut Vec<Finding>) -> Served {
    let mut served = Served::default();
    let by_path: HashMap<&str, &SourceFile> = files.iter().map(|f| (f.path.as_str(), f)).collect();
    let json = |f: &SourceFile, findings: &mut Vec<Finding>| -> Option<serde_json::Map<String, Value>> {
        match serde_json::from_str::<Value>(&f.text) {
            Ok(Value::Object(map)) => Some(map),
            Ok(_) => {
                findings.push(lossy(&f.path, 1, "the file", "not a JSON object: matchbox skips it"));
                None
            }
            Err(e) => {
                findings.push(lossy(&f.path, e.line(), "the file", format!("not JSON ({e}): matchbox skips it")));
                None
            }
        }
    };
    // Profiles by id: (root, ignition id, file).
    let mut profiles: HashMap<(String, String), (Option<String>, String)> = HashMap::new();
    for f in files.iter().filter(|f| f.path.ends_with(".json")) {
        let Some(root) = is_under(&f.path, "profiles") else { continue };
        served.read.insert(f.path.clone());
        let Some(map) = json(f, findings) else { continue };
        let id = map.get("id").and_then(Value::as_str).unwrap_or_default().to_string();
        let ignition_id = map.get("ignition_id").and_then(Value::as_str).map(str::to_string);
        profiles.insert((root, id), (ignition_id, f.path.clone()));
    }
    // Groups: each MAC with the configs served for it, by selector.
    let mut by_mac: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut selectors: HashMap<String, String> = HashMap::new();
    for f in files.iter().filter(|f| f.path.ends_with(".json")) {
        let Some(root) = is_under(&f.path, "groups") else { continue };
        served.read.insert(f.path.clone());
        served.roots.insert(root.clone());
        let Some(map) = json(f, findings) else { continue };
        let selector = map.get("selector").and_then(Value::as_object).cloned().unwrap_or_default();
        let key = serde_json::to_string(&selector).unwrap_or_default();
        if let Some(first) = selectors.get(&key) {
            findings.push(lossy(
                &f.path,
                1,
                "selector",
                format!(
                    "the same selector as {first}: matchbox serves one of them, picked by name, and never the other"
                ),
            ));
            continue;
        }
        selectors.insert(key, f.path.clone());
        let Some(mac) = selector.get("mac").and_then(Value::as_str) else {
            findings.push(lossy(&f.path, 1, "selector", "no `mac`: the group serves every machine its other selectors match, which the language declares by MAC only"));
            continue;
        };
        if !normal_mac(mac) {
            findings.push(lossy(&f.path, 1, format!("selector mac `{mac}`"), "matchbox compares it as written with the request's MAC, which it writes in lowercase with colons: it matches no machine"));
            continue;
        }
        let profile_id = map.get("profile").and_then(Value::as_str).unwrap_or_default().to_string();
        let Some((ignition_id, profile_file)) = profiles.get(&(root.clone(), profile_id.clone())) else {
            findings.push(lossy(
                &f.path,
                1,
                format!("profile `{profile_id}`"),
                "no such profile here: matchbox serves this group nothing",
            ));
            continue;
        };
        let Some(ignition_id) = ignition_id else {
            findings.push(note(profile_file, 1, "ignition_id", "none: the profile serves no Ignition config"));
            continue;
        };
        let config = format!("{root}ignition/{ignition_id}");
        if !by_path.contains_key(config.as_str()) {
            findings.push(lossy(
                profile_file,
                1,
                format!("ignition_id `{ignition_id}`"),
                format!("{config} is not here: matchbox answers with an error"),
            ));
            continue;
        }
        by_mac.entry(mac.to_string()).or_default().push((config, f.path.clone()));
    }
    for (mac, configs) in by_mac {
        let mut machine = None;
        for (config, group) in configs {
            let read = by_path.get(config.as_str()).and_then(|f| ignition::parse(&f.text).ok());
            match read.as_ref().and_then(installer) {
                Some(Installer { disk, channel, server }) => {
                    served.install_stages.insert(config.clone());
                    if let Some(disk) = disk {
                        served.disks.insert(mac.clone(), disk);
                    }
                    if let Some(channel) = channel {
                        served.channels.insert(mac.clone(), (channel, config.clone()));
                    }
                    if served.boot_server.is_none() {
                        served.boot_server = server.map(|s| (s, config.clone()));
                    }
                }
                None => match &machine {
                    None => machine = Some((config, group)),
                    Some((first, _)) => findings.push(lossy(&group, 1, format!("mac `{mac}`"), format!("a second config for the machine (beside {first}) that installs nothing: the language serves one config per machine"))),
                },
            }
        }
        if let Some((config, group)) = machine {
            served.machines.insert(config, (mac, group));
        }
    }
    served
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str, text: &str) -> SourceFile {
        SourceFile { path: path.into(), text: text.into() }
    }

    #[test]
    fn what_matchbox_would_serve_otherwise_is_said_at_its_file() {
        let group = |id: &str, mac: &str, profile: &str| {
            file(
                &format!("groups/{id}.json"),
                &format!("{{\"id\":\"{id}\",\"profile\":\"{profile}\",\"selector\":{{\"mac\":\"{mac}\"}}}}"),
            )
        };
        let files = [
            group("a", "52:54:00:00:00:01", "p"),
            group("b", "52:54:00:00:00:01", "p"),
            group("c", "52:54:00:00:00:0A", "p"),
            group("d", "52:54:00:00:00:02", "missing"),
            group("e", "52:54:00:00:00:03", "q"),
            file("groups/broken.json", "{"),
            file("profiles/p.json", "{\"id\":\"p\",\"ignition_id\":\"m.ign\"}"),
            file("profiles/q.json", "{\"id\":\"q\",\"ignition_id\":\"absent.ign\"}"),
            file("ignition/m.ign", "{\"ignition\":{\"version\":\"3.3.0\"}}"),
        ];
        let mut findings = Vec::new();
        let served = read(&files, &mut findings);
        let said: Vec<(&str, &str)> = findings.iter().map(|f| (f.file.as_str(), f.what.as_str())).collect();
        assert_eq!(
            said,
            [
                ("groups/b.json", "selector"),
                ("groups/c.json", "selector mac `52:54:00:00:00:0A`"),
                ("groups/d.json", "profile `missing`"),
                ("profiles/q.json", "ignition_id `absent.ign`"),
                ("groups/broken.json", "the file"),
            ],
            "{findings:#?}"
        );
        assert!(findings.iter().all(|f| f.severity == super::super::Severity::Lossy));
        assert_eq!(served.machines.get("ignition/m.ign").map(|(mac, _)| mac.as_str()), Some("52:54:00:00:00:01"));
        assert_eq!(served.read.len(), 8, "every group and profile file is matchbox's");
    }

    #[test]
    fn macs_are_matched_as_matchbox_writes_them_and_roots_are_found() {
        assert!(normal_mac("52:54:00:ab:cd:ef"));
        for mac in ["52:54:00:AB:CD:EF", "52-54-00-ab-cd-ef", "52:54:00:ab:cd", ""] {
            assert!(!normal_mac(mac), "{mac}");
        }
        assert_eq!(is_under("matchbox/groups/a.json", "groups").as_deref(), Some("matchbox/"));
        assert_eq!(is_under("groups/a.json", "groups").as_deref(), Some(""));
        assert_eq!(is_under("mygroups/a.json", "groups"), None);
    }
}
