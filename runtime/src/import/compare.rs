//! Each file read against what the declaration renders for the same machine.

use clusterdef_model::Cluster;

use crate::read::cloud_config;

use super::compare_ignition::compare_configs;
use super::config::{Config, Read, SECTIONS};
use super::{Finding, accept_risks, note};

/// The first error of a render's failure (its first line introduces the list).
fn first_error(said: &str) -> &str {
    said.lines().find(|l| l.starts_with("error")).or(said.lines().next()).unwrap_or_default()
}

/// Each file read against what the declaration renders for the same machine: a setting the
/// declaration writes differently, leaves out or adds is a note on its line, so nothing
/// changes without a word when the cluster is rendered from the declaration.
pub(super) fn compare_with_render(cluster: &Cluster, sources: &[(Config, String)], findings: &mut Vec<Finding>) {
    let mut renderable = cluster.clone();
    accept_risks(&mut renderable);
    // A discovery URL given at render stands in for one the files left to the launcher.
    let options = crate::RenderOptions {
        discovery_url: Some("https://discovery.etcd.io/given-at-render".into()),
        ..Default::default()
    };
    let artifacts = match crate::Render::render_with(&renderable, &options) {
        Ok(artifacts) => artifacts,
        Err(e) => {
            for (config, _) in sources {
                findings.push(note(
                    &config.path,
                    0,
                    "the file",
                    // The first line says why; the check of the declaration lists every error.
                    format!(
                        "not compared with what the declaration renders, which does not render: {}",
                        first_error(&e.to_string())
                    ),
                ));
            }
            return;
        }
    };
    // An Ignition config is compared as Ignition reads it, both sides with one reader.
    let ignition_found = crate::parallel::map(sources, |(config, rendered)| {
        let mut found = Vec::new();
        if let (Read::Ignition { json, at, .. }, Some(rendered)) = (&config.read, artifacts.text(rendered)) {
            compare_configs(&config.path, json, at, rendered, &mut found, true);
        }
        found
    });
    // An entry the reader said lossy (a remote file, a user the language has no place for) is
    // not said again for being absent from the render.
    let said: std::collections::HashSet<(String, String)> = findings
        .iter()
        .filter(|f| f.severity == super::Severity::Lossy)
        .map(|f| (f.file.clone(), f.what.clone()))
        .collect();
    findings.extend(ignition_found.into_iter().flatten().filter(|f| !said.contains(&(f.file.clone(), f.what.clone()))));
    let rendered_configs = crate::parallel::map(sources, |(config, path)| {
        config.read.cloud_config()?;
        artifacts.text(path).and_then(|t| cloud_config::parse(t).ok())
    });
    for ((config, _), rendered) in sources.iter().zip(rendered_configs) {
        let Some(rendered) = rendered else { continue };
        let path = config.path.as_str();
        let Some(read) = config.read.cloud_config() else { continue };
        for keys in &SECTIONS {
            let (name, was, now) = (keys.name, read.section(keys.name), rendered.section(keys.name));
            let normal = |key: &str, value: &str| -> Vec<String> {
                let mut items: Vec<String> = if keys.sets.contains(&key) {
                    value.split(',').map(|v| v.trim().to_string()).filter(|v| !v.is_empty()).collect()
                } else {
                    vec![value.to_string()]
                };
                items.sort();
                items
            };
            let at = was.map_or(0, |s| s.line);
            // Keys the importer does not know are reported as lossy already.
            for (key, field) in
                was.iter().flat_map(|s| s.fields.iter()).filter(|(k, _)| keys.known.contains(&k.as_str()))
            {
                match now.and_then(|s| s.get(key)) {
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
                if was.is_none_or(|s| s.get(key).is_none()) {
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
