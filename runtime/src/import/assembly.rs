//! The machines read, grouped: configs that describe one group, in machine order, split where
//! their machines differ.

use super::Finding;
use super::config::Config;
use super::note;

/// A group being assembled: its configs in machine order.
pub(super) struct Assembly {
    pub(super) name: String,
    pub(super) configs: Vec<Config>,
    /// How many machines run the one shared config, when that is known (`--count`).
    pub(super) count: Option<u32>,
}

/// Machines in order: by the number their hostname ends with (the `{n}` of a pattern such as
/// `core-{domain}-{n}` counts across domains), then by name.
pub(super) fn natural_key(hostname: &str) -> (u64, String) {
    let digits = hostname.chars().rev().take_while(char::is_ascii_digit).count();
    let tail = &hostname[hostname.len() - digits..];
    (tail.parse().unwrap_or(u64::MAX), hostname.to_string())
}

/// Machines in order: named ones by their hostname's number, the others in the files' own
/// order (by the number their file name ends with, then by path).
pub(super) fn sort_machines(configs: &mut [Config]) {
    configs.sort_by(|a, b| {
        let key = |c: &Config| {
            let stem = c.path.rsplit_once('.').map_or(c.path.as_str(), |(stem, _)| stem);
            (c.hostname.is_none(), c.hostname.as_deref().map(natural_key), natural_key(stem))
        };
        key(a).cmp(&key(b))
    });
}

/// Splits an apparent group whose machines differ into groups that agree, saying how.
pub(super) fn split(group: Assembly, findings: &mut Vec<Finding>) -> Vec<Assembly> {
    let mut parts: Vec<Assembly> = Vec::new();
    for config in group.configs {
        match parts.iter_mut().find(|p| p.configs[0].differs_from(&config).is_empty()) {
            Some(p) => p.configs.push(config),
            None => {
                let name =
                    if parts.is_empty() { group.name.clone() } else { format!("{}-{}", group.name, parts.len() + 1) };
                if let Some(first) = parts.first() {
                    let (differing, line) = config.first_difference(&first.configs[0]);
                    findings.push(note(
                        &config.path,
                        line,
                        format!("group `{}`", group.name),
                        format!(
                            "differs from `{}` in {}; split into group `{name}`",
                            first.configs[0].path,
                            differing.join(", ")
                        ),
                    ));
                }
                parts.push(Assembly { name, configs: vec![config], count: None });
            }
        }
    }
    for p in &mut parts {
        sort_machines(&mut p.configs);
    }
    parts
}
