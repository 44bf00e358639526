//! fleet unit files: the declared body, then an `[X-Fleet]` section generated from the
//! declaration.

use clusterdef_model::{Cluster, Unit};

/// Every unit file of the cluster, by path. The file is named exactly as the unit, since
/// `fleetctl` takes the unit's name from it; `unit_name` keeps names to safe characters, and the
/// renderer refuses any path that could leave the output directory.
pub fn render(cluster: &Cluster) -> Vec<(String, String)> {
    cluster.units.iter().map(|u| (format!("units/{}", u.name), unit_file(u))).collect()
}

/// A unit's file: its body, then `[X-Fleet]`. `MachineMetadata` is written one line per key,
/// the key's accepted values space-separated on it; fleet reads that as AND across keys and OR
/// within one.
pub fn unit_file(unit: &Unit) -> String {
    let mut text = unit.body.text().trim_end_matches('\n').to_string();
    text.push('\n');
    let mut fleet = Vec::new();
    if unit.global {
        fleet.push("Global=true".to_string());
    }
    for req in unit.machine_metadata.iter() {
        let entries: Vec<String> = req.values.iter().map(|v| format!("{}={v}", req.key)).collect();
        fleet.push(format!("MachineMetadata={}", entries.join(" ")));
    }
    if let Some(id) = &unit.machine_id {
        fleet.push(format!("MachineID={id}"));
    }
    if let Some(target) = &unit.machine_of {
        fleet.push(format!("MachineOf={target}"));
    }
    for glob in unit.conflicts.iter() {
        fleet.push(format!("Conflicts={glob}"));
    }
    for glob in unit.replaces.iter() {
        fleet.push(format!("Replaces={glob}"));
    }
    if !fleet.is_empty() {
        text.push_str("\n[X-Fleet]\n");
        for line in fleet {
            text.push_str(&line);
            text.push('\n');
        }
    }
    text
}
