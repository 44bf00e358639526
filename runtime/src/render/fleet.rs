//! fleet unit files: the declared body, then an `[X-Fleet]` section generated from the
//! declaration.

use clusterdef_model::{Cluster, Unit};

/// Every unit file of the cluster, by path. The file is named exactly as the unit, since
/// `fleetctl` takes the unit's name from it; `unit_name` keeps names to safe characters, and the
/// renderer refuses any path that could leave the output directory.
pub fn render(cluster: &Cluster) -> Vec<(String, String)> {
    cluster.units.iter().map(|u| (format!("units/{}", u.name), unit_file(u))).collect()
}

/// A unit's file: its body, then `[X-Fleet]`. Every option holds exactly one value per line:
/// fleet splits a line into several values only when the whole value is quoted, so an unquoted
/// `MachineMetadata=zone=a zone=b` would be one malformed pair, silently dropped. One
/// `MachineMetadata=key=value` line per accepted value reads, as fleet groups values by key, as
/// AND across keys and OR within one.
pub fn unit_file(unit: &Unit) -> String {
    let mut text = unit.body.text().trim_end_matches('\n').to_string();
    text.push('\n');
    let mut fleet = Vec::new();
    if unit.global {
        fleet.push("Global=true".to_string());
    }
    for req in unit.machine_metadata.iter() {
        fleet.extend(req.values.iter().map(|v| format!("MachineMetadata={}={v}", req.key)));
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
