//! fleet unit files read as fleet reads them into units with their bodies and placement.

use clusterdef_model::{Requirement, Unit, UnitBody};

use crate::read::fleet;

use super::config::Config;
use super::{Finding, SourceFile, lossy};

pub(super) fn read_units(
    files: &[(&SourceFile, String)],
    configs: &[Config],
    findings: &mut Vec<Finding>,
) -> Vec<Unit> {
    // The units' declaration order is the order the members carry their copies in; units only
    // found as files follow by name.
    let mut sources: Vec<(String, String, String)> = Vec::new();
    if let Some(member) = configs.iter().find(|c| !c.unit_copies.is_empty()) {
        for (name, text) in &member.unit_copies {
            // The copy is what the members submit, so it is what fleet runs; the unit file is
            // read in its place (for its line numbers) only when the two are the same.
            let path = match files.iter().find(|(_, n)| n == name) {
                Some((f, _)) if f.text == *text => f.path.clone(),
                Some((f, _)) => {
                    findings.push(lossy(
                        &f.path,
                        0,
                        format!("unit `{name}`"),
                        format!(
                            "differs from the copy `{}` carries for fleet; the copy is what runs, and what is declared",
                            member.path
                        ),
                    ));
                    member.path.clone()
                }
                None => member.path.clone(),
            };
            sources.push((name.clone(), path, text.clone()));
        }
    }
    let mut rest: Vec<&(&SourceFile, String)> =
        files.iter().filter(|(_, n)| !sources.iter().any(|(s, _, _)| s == n)).collect();
    rest.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    for (f, name) in rest {
        if sources.iter().any(|(s, _, _)| s == name) {
            findings.push(lossy(
                &f.path,
                0,
                format!("unit `{name}`"),
                "a second file for a unit already read; fleet holds one unit per name",
            ));
            continue;
        }
        sources.push((name.clone(), f.path.clone(), f.text.clone()));
    }
    sources.into_iter().filter_map(|(name, path, text)| read_unit(&name, &path, &text, findings)).collect()
}

pub(super) fn read_unit(name: &str, path: &str, text: &str, findings: &mut Vec<Finding>) -> Option<Unit> {
    let options = match fleet::parse_unit_file(text) {
        Ok(o) => o,
        Err(e) => {
            findings.push(lossy(path, e.line, format!("unit `{name}`"), format!("fleet refuses it: {}", e.message)));
            return None;
        }
    };
    let placement = fleet::Placement::of(name, &options);
    let mut unit = Unit::new(name.to_string(), UnitBody::Inline(body_without_fleet_section(text).into()));
    unit.global = placement.global;
    let x_fleet: Vec<&fleet::UnitOption> = options.iter().filter(|o| o.section == "X-Fleet").collect();
    // Requirements in the order written, values as fleet splits them; fleet's own reading
    // (Placement) decides what they mean, so a pair it drops is dropped here and reported.
    // Indexed by key and by pair, so N pairs cost O(N) lookups, not N × keys.
    let mut requirements: Vec<(String, Vec<String>)> = Vec::new();
    let mut key_at: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut pairs_seen: std::collections::HashSet<(String, String)> = std::collections::HashSet::new();
    for o in &x_fleet {
        if !matches!(o.name.as_str(), "MachineMetadata" | "X-ConditionMachineMetadata") {
            continue;
        }
        for value in fleet::split_multivalue(&o.value) {
            if value.contains('%') {
                findings.push(lossy(
                    path,
                    o.line,
                    format!("MachineMetadata={value}"),
                    "a specifier in metadata; the language writes values as they are",
                ));
            }
            let expanded = fleet::expand_specifiers(&value, name);
            match expanded.split('=').collect::<Vec<_>>()[..] {
                [k, v] if !k.is_empty() && !v.is_empty() => {
                    if pairs_seen.insert((k.to_string(), v.to_string())) {
                        match key_at.get(k) {
                            Some(&i) => requirements[i].1.push(v.to_string()),
                            None => {
                                key_at.insert(k.to_string(), requirements.len());
                                requirements.push((k.to_string(), vec![v.to_string()]));
                            }
                        }
                    }
                }
                _ => findings.push(lossy(path, o.line, format!("MachineMetadata={value}"), "not one key=value pair: fleet drops it without a word, so the unit runs on more machines than it says")),
            }
        }
    }
    unit.machine_metadata = requirements
        .into_iter()
        .map(|(key, values)| Requirement { key: key.into(), values: values.into_iter().map(Into::into).collect() })
        .collect();
    let first = |keys: &[&str]| x_fleet.iter().find(|o| keys.contains(&o.name.as_str())).map(|o| o.line).unwrap_or(0);
    unit.machine_id = placement.machine_id.clone().map(Into::into);
    if placement.machine_of.len() > 1 {
        findings.push(lossy(
            path,
            first(&["MachineOf", "X-ConditionMachineOf"]),
            "MachineOf",
            "more than one target; the language takes one",
        ));
    }
    unit.machine_of = placement.machine_of.first().cloned().map(Into::into);
    // Conflicts and Replaces are taken as written (the language expands specifiers as fleet does).
    let raw = |keys: &[&str]| -> Vec<String> {
        x_fleet
            .iter()
            .filter(|o| keys.contains(&o.name.as_str()))
            .flat_map(|o| fleet::split_multivalue(&o.value))
            .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .collect()
    };
    unit.conflicts = raw(&["Conflicts", "X-Conflicts"]).into_iter().map(Into::into).collect();
    unit.replaces = raw(&["Replaces"]).into_iter().map(Into::into).collect();
    for key in &placement.unknown_keys {
        findings.push(lossy(
            path,
            first(&[key.as_str()]),
            format!("[X-Fleet] {key}"),
            "fleet does not know this key (fleetctl refuses the unit)",
        ));
    }
    Some(unit)
}

/// The unit's text without its `[X-Fleet]` section, ending in one newline.
pub(super) fn body_without_fleet_section(text: &str) -> String {
    let mut out = String::new();
    let mut in_fleet = false;
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('[') && trimmed.ends_with(']') {
            in_fleet = trimmed == "[X-Fleet]";
        }
        if !in_fleet {
            out.push_str(line);
            out.push('\n');
        }
    }
    let mut body = out.trim_end_matches('\n').to_string();
    body.push('\n');
    body
}
