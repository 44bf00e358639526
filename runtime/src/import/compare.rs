//! Each file read against what the declaration renders for the same machine.

use clusterdef_model::Cluster;

use crate::read::cloud_config::{self, CloudConfig, Section};

use super::machine::{Config, ETCD2_KEYS, ETCD04_KEYS, FLEET_KEYS, LOCKSMITH_KEYS, UPDATE_KEYS};
use super::{Finding, accept_risks, note};

/// The sections whose settings are compared with the render, and how a value is compared:
/// lists of URLs and `name=url` pairs, and fleet metadata, as sets (their order means nothing
/// to the engines).
pub(super) const COMPARED: &[(&str, &[&str])] = &[
    ("etcd2", &["advertise_client_urls", "listen_client_urls", "initial_cluster"]),
    ("etcd", &["peers"]),
    ("fleet", &["metadata", "etcd_servers"]),
    ("locksmith", &["endpoint"]),
    ("update", &[]),
];

/// Each file read against what the declaration renders for the same machine: a setting the
/// declaration writes differently, leaves out or adds is a note on its line, so nothing
/// changes without a word when the cluster is rendered from the declaration.
pub(super) fn compare_with_render(cluster: &Cluster, sources: &[(Config, String)], findings: &mut Vec<Finding>) {
    let mut renderable = cluster.clone();
    accept_risks(&mut renderable);
    let Ok(artifacts) = crate::Render::render(&renderable) else { return };
    let rendered_configs =
        crate::parallel::map(sources, |(_, path)| artifacts.text(path).and_then(|t| cloud_config::parse(t).ok()));
    for ((config, _), rendered) in sources.iter().zip(rendered_configs) {
        let Some(rendered) = rendered else { continue };
        let path = config.path.as_str();
        let read = &config.read;
        for (name, as_sets) in COMPARED {
            let pick = |c: &CloudConfig| -> Option<Section> {
                match *name {
                    "etcd2" => c.etcd2.clone(),
                    "etcd" => c.etcd.clone(),
                    "fleet" => c.fleet.clone(),
                    "locksmith" => c.locksmith.clone(),
                    _ => c.update.clone(),
                }
            };
            let (was, now) = (pick(read), pick(&rendered));
            let normal = |key: &str, value: &str| -> Vec<String> {
                let mut items: Vec<String> = if as_sets.contains(&key) {
                    value.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
                } else {
                    vec![value.to_string()]
                };
                items.sort();
                items
            };
            let at = was.as_ref().map_or(0, |s| s.line);
            let known: &[&str] = match *name {
                "etcd2" => ETCD2_KEYS,
                "etcd" => ETCD04_KEYS,
                "fleet" => FLEET_KEYS,
                "locksmith" => LOCKSMITH_KEYS,
                _ => UPDATE_KEYS,
            };
            // Keys the importer does not know are reported as lossy already.
            for (key, field) in was.iter().flat_map(|s| s.fields.iter()).filter(|(k, _)| known.contains(&k.as_str())) {
                match now.as_ref().and_then(|s| s.get(key)) {
                    Some(new) if normal(key, &new.value) == normal(key, &field.value) => {}
                    Some(new) => findings.push(note(
                        path,
                        field.line,
                        format!("coreos.{name}.{key}"),
                        format!("the declaration renders `{}` (here `{}`)", new.value, field.value),
                    )),
                    None => findings.push(note(
                        path,
                        field.line,
                        format!("coreos.{name}.{key}"),
                        "the declaration does not render it",
                    )),
                }
            }
            for (key, field) in now.iter().flat_map(|s| s.fields.iter()) {
                if was.as_ref().is_none_or(|s| s.get(key).is_none()) {
                    findings.push(note(
                        path,
                        at,
                        format!("coreos.{name}.{key}"),
                        format!("the declaration adds `{}`", field.value),
                    ));
                }
            }
        }
        // What the declaration writes that the file did not have, by name.
        let mut added = |what: &str, now: Vec<&Option<cloud_config::Field>>, was: Vec<&Option<cloud_config::Field>>| {
            let named = |list: &[&Option<cloud_config::Field>]| -> Vec<String> {
                list.iter().filter_map(|f| f.as_ref().map(|f| f.value.clone())).collect()
            };
            let was = named(&was);
            let new: Vec<String> = named(&now).into_iter().filter(|n| !was.contains(n)).collect();
            if !new.is_empty() {
                findings.push(note(path, 0, what, format!("the declaration adds {}", new.join(", "))));
            }
        };
        added(
            "write_files",
            rendered.write_files.iter().map(|f| &f.path).collect(),
            read.write_files.iter().map(|f| &f.path).collect(),
        );
        added(
            "coreos.units",
            rendered.units.iter().map(|u| &u.name).collect(),
            read.units.iter().map(|u| &u.name).collect(),
        );
    }
}
