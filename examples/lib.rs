//! What the examples share: a short description of a checked cluster.

use clusterdef::{Cluster, Size, quorum};

/// A few lines that say what a cluster is: its architecture, etcd quorum and groups.
pub fn describe(cluster: &Cluster) -> String {
    let mut out = format!("{} `{}`", cluster.architecture(), cluster.name);
    out.push_str(if cluster.production {
        " (production)\n"
    } else {
        " (not production)\n"
    });
    if let Size::Fixed(n) = cluster.members.size {
        out.push_str(&format!(
            "  etcd: {n} member(s), quorum {}, tolerates {} failure(s)\n",
            quorum::majority(n),
            quorum::tolerance(n)
        ));
    }
    for placed in cluster.placed_groups() {
        let group = placed.group;
        let size = match group.size {
            Size::Fixed(n) => n.to_string(),
            Size::Autoscale { min, max } => format!(
                "autoscale {}..{}",
                min.map_or(String::new(), |m| m.to_string()),
                max.map_or(String::new(), |m| m.to_string())
            ),
        };
        out.push_str(&format!(
            "  {} ({size}, role={}, channel {})\n",
            group.name,
            group.role,
            cluster.channel_of(group).as_str()
        ));
        for m in &placed.machines {
            let domain = m
                .domain
                .and_then(|d| {
                    group
                        .spread
                        .as_ref()
                        .map(|s| format!(" {}={}", s.kind.key(), s.domains[d].name))
                })
                .unwrap_or_default();
            let address = m
                .address
                .map_or_else(|| "dhcp".to_string(), |a| a.to_string());
            out.push_str(&format!("    {} {address}{domain}\n", m.hostname));
        }
    }
    for unit in cluster.units.iter() {
        out.push_str(&format!(
            "  unit {}{}\n",
            unit.name,
            if unit.global { " (global)" } else { "" }
        ));
    }
    out
}
