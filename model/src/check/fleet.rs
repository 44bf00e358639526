//! Rules on fleet units and machine metadata.

use std::collections::HashSet;

use super::{Report, join};
use crate::glob;
use crate::group_ref::GroupRef;
use crate::rule::Rule;
use crate::subject::{GroupPart, Subject, UnitPart};
use crate::suggest::closest;

/// Runs the rules on fleet units and machine metadata.
pub(super) fn check(r: &mut Report<'_>) {
    unit_name(r);
    unit_unique(r);
    unit_body(r);
    fleet_exclusive_options(r);
    unit_instances(r);
    machine_of_conflicts(r);
    machine_of_target(r);
    metadata_format(r);
    metadata_satisfiable(r);
}

const SUFFIXES: [&str; 13] = [
    "automount",
    "busname",
    "device",
    "mount",
    "path",
    "scope",
    "service",
    "slice",
    "snapshot",
    "socket",
    "swap",
    "target",
    "timer",
];
const TEMPLATE_SUFFIXES: [&str; 5] = ["path", "service", "socket", "target", "timer"];

/// Why `name` is not a unit name fleet and systemd accept, if it is not.
pub(crate) fn unit_name_problem(name: &str) -> Option<String> {
    if name.len() > 256 {
        return Some(format!("it is {} characters long, and the limit is 256", name.len()));
    }
    if let Some(bad) = name.chars().find(|c| !(c.is_ascii_alphanumeric() || ":_.@-".contains(*c))) {
        return Some(format!("{bad:?} is not allowed; use letters, digits and `:_.@-`"));
    }
    if name.starts_with('@') {
        return Some("it starts with `@`".to_string());
    }
    let Some((stem, suffix)) = name.rsplit_once('.') else {
        return Some(format!("it has no type suffix such as `.service`; types are {}", SUFFIXES.join(", ")));
    };
    if !SUFFIXES.contains(&suffix) {
        let hint = closest(suffix, SUFFIXES).map_or(String::new(), |s| format!(" (did you mean `.{s}`?)"));
        return Some(format!("`.{suffix}` is not a unit type{hint}"));
    }
    if stem.is_empty() {
        return Some("its name before the suffix is empty".to_string());
    }
    if stem.contains('@') {
        if stem.matches('@').count() > 1 {
            return Some("it has more than one `@`".to_string());
        }
        if !TEMPLATE_SUFFIXES.contains(&suffix) {
            return Some(format!("templates (`name@instance`) can only be {}", TEMPLATE_SUFFIXES.join(", ")));
        }
    }
    None
}

/// `unit_name`: unit names follow systemd's and fleet's naming rules (characters, length, a known
/// type suffix, templates only of the types that allow them). Cannot be allowed: the name is also
/// the file name.
fn unit_name(r: &mut Report<'_>) {
    for (u, unit) in r.cluster.units.iter().enumerate() {
        if let Some(problem) = unit_name_problem(&unit.name) {
            r.push(
                Rule::UnitName,
                Subject::Unit(u, UnitPart::Name),
                format!("`{}` is not a valid unit name: {problem}", unit.name),
                "name units like `monitoring.service` or `webapp@1.service`",
            );
        }
    }
}

/// `unit_unique`: unit names are unique; fleet keeps one unit per name, so a second one would be
/// lost without a word.
fn unit_unique(r: &mut Report<'_>) {
    let units = &r.cluster.units;
    // Every name a unit claims: its own, and a template's instances (the first, where no count
    // is declared: Flatcar runs it, and CoreOS users start it). Later claimants are at fault.
    // O(units + instances), which `cluster_size` bounds.
    let mut claimed: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for (u, unit) in units.iter().enumerate() {
        let mut names = vec![unit.name.to_string()];
        if unit.is_template() {
            names.extend(unit.instance_names());
        }
        let mut reported = false;
        for name in names {
            match claimed.get(&name) {
                Some(&first) if first != u && !reported => {
                    reported = true;
                    let other = &units[first];
                    let (message, help) = if other.name == unit.name {
                        (
                            format!(
                                "unit `{name}` is declared twice; fleet keeps one unit per name, so one would be lost"
                            ),
                            "rename one of them, or merge them".to_string(),
                        )
                    } else if other.is_template() {
                        (
                            format!(
                                "`{}` names an instance of template `{}`, which already runs `{name}`: fleet and systemd \
                                 keep one unit per name, so one of the two would never run",
                                unit.name, other.name
                            ),
                            format!(
                                "rename `{}`, or drop it and let the template run that instance (its `instances` count \
                                 says how many)",
                                unit.name
                            ),
                        )
                    } else {
                        (
                            format!(
                                "template `{}` would run `{name}`, which is already declared as a unit of its own: fleet \
                                 and systemd keep one unit per name, so one of the two would never run",
                                unit.name
                            ),
                            format!("rename `{}` or the template, or lower the template's `instances`", other.name),
                        )
                    };
                    r.push(Rule::UnitUnique, Subject::Unit(u, UnitPart::Name), message, help);
                }
                Some(_) => {}
                None => {
                    claimed.insert(name, u);
                }
            }
        }
    }
}

/// `unit_body`: a unit body holds a unit (something for systemd to run), and leaves `[X-Fleet]` to
/// the declaration, whose placement the rules checked.
fn unit_body(r: &mut Report<'_>) {
    // A workload runs its image as a pod; `workload_placement` refuses a body beside it.
    for (u, unit) in r.cluster.units.iter().enumerate().filter(|(u, _)| !r.cluster.is_workload(*u)) {
        let text = unit.body.text();
        if text.trim().is_empty() {
            r.push(
                Rule::UnitBody,
                Subject::Unit(u, UnitPart::Body),
                format!("unit `{}` has an empty body, so systemd has nothing to run", unit.name),
                "give it at least a `[Service]` section with `ExecStart=`",
            );
        } else if text.lines().any(|line| line.trim() == "[X-Fleet]") {
            r.push(
                Rule::UnitBody,
                Subject::Unit(u, UnitPart::Body),
                format!(
                    "unit `{}` has its own `[X-Fleet]` section, which would contradict the placement declared for it",
                    unit.name
                ),
                "remove the section from the body and declare `global`, `metadata`, `conflicts` or `machine_of` on the unit",
            );
        }
    }
}

/// `fleet_exclusive_options`: no unit combines placement options that fleet v1.0's
/// `api.ValidateOptions` rejects when the unit is submitted; each pair is reported on the second
/// option's tokens, with the DSL keys to drop.
fn fleet_exclusive_options(r: &mut Report<'_>) {
    for (u, unit) in r.cluster.units.iter().enumerate() {
        // (present, the DSL's key, subject), in the order the pairs below refer to. Messages and
        // help name the keys the user writes; the reason names what fleet does.
        let options = [
            (unit.machine_id.is_some(), "machine_id", UnitPart::MachineId),
            (unit.global, "global", UnitPart::Global),
            (unit.machine_of.is_some(), "machine_of", UnitPart::MachineOf),
            (!unit.conflicts.is_empty(), "conflicts", UnitPart::Conflict(0)),
            (!unit.replaces.is_empty(), "replaces", UnitPart::Replace(0)),
        ];
        // fleet v1.0's api.ValidateOptions: these pairs are rejected when the unit is submitted.
        let pairs = [
            (0, 2, "a unit pinned to one machine cannot also follow another unit"),
            (0, 3, "a unit pinned to one machine has nothing to avoid"),
            (0, 1, "a unit pinned to one machine cannot run on every machine"),
            (1, 2, "a global unit runs on every matching machine, so it cannot follow one unit's machine"),
            (0, 4, "a unit pinned to one machine cannot move another unit away"),
            (1, 4, "a global unit runs everywhere, so it cannot push another unit elsewhere"),
            (3, 4, "fleet cannot both avoid and replace units for the same unit"),
        ];
        for (a, b, why) in pairs {
            let (a, b) = (&options[a], &options[b]);
            if a.0 && b.0 {
                r.push(
                    Rule::FleetExclusiveOptions,
                    Subject::Unit(u, b.2),
                    format!("`{}` cannot be used with `{}` in `{}`: {why}", b.1, a.1, unit.name),
                    format!("drop `{}` or `{}`; fleet rejects the unit otherwise", b.1, a.1),
                );
            }
        }
    }
}

/// `unit_instances`: `instances` counts copies of a template (`name@1.service` …); a plain unit
/// has none, and a global unit runs on every matching machine, where a count means nothing.
fn unit_instances(r: &mut Report<'_>) {
    for (u, unit) in r.cluster.units.iter().enumerate() {
        let Some(n) = unit.instances else { continue };
        let (message, help) = if !unit.is_template() {
            (
                format!("`{}` is not a template, so it has no instances to count", unit.name),
                format!("drop `instances: {n}`, or name the unit as a template, e.g. `{}`", template_name(&unit.name)),
            )
        } else if unit.global {
            (
                format!(
                    "`{}` is global: it runs on every matching machine, so `instances: {n}` means nothing",
                    unit.name
                ),
                "drop `instances`, or drop `global` to run that many instances spread by `conflicts`".to_string(),
            )
        } else {
            continue;
        };
        r.push(Rule::UnitInstances, Subject::Unit(u, UnitPart::Instances), message, help);
    }
}

/// `web.service` as a template name: `web@.service`.
fn template_name(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, kind)) => format!("{stem}@.{kind}"),
        None => format!("{name}@.service"),
    }
}

/// `machine_of_conflicts`: a unit's own `conflicts` globs do not match the unit it must run
/// beside, which fleet could never satisfy.
fn machine_of_conflicts(r: &mut Report<'_>) {
    for (u, unit) in r.cluster.units.iter().enumerate() {
        let Some(target) = &unit.machine_of else {
            continue;
        };
        for (i, pattern) in unit.conflicts.iter().enumerate() {
            if glob::matches(pattern, target) {
                r.push(
                    Rule::MachineOfConflicts,
                    Subject::Unit(u, UnitPart::Conflict(i)),
                    format!(
                        "`{}` must run beside `{target}` (`machine_of`), but its `conflicts` glob `{pattern}` \
                         matches `{target}`, so fleet can never place it",
                        unit.name
                    ),
                    format!("narrow the conflict so it does not match `{target}`, or drop `machine_of`"),
                );
            }
        }
    }
}

/// `machine_of_target`: `machine_of` names another unit of the cluster (with "did you mean"), and
/// following the chain never leads back to the start, where every unit would wait for another.
fn machine_of_target(r: &mut Report<'_>) {
    let units = &r.cluster.units;
    let names: Vec<&str> = units.iter().map(|u| &*u.name).collect();
    for (u, unit) in units.iter().enumerate() {
        let Some(target) = &unit.machine_of else {
            continue;
        };
        let subject = Subject::Unit(u, UnitPart::MachineOf);
        if **target == *unit.name {
            r.push(
                Rule::MachineOfTarget,
                subject,
                format!("`{}` cannot run beside itself", unit.name),
                "remove `machine_of`".to_string(),
            );
            continue;
        }
        // A target that is not even a unit name is `value_format`'s to report, once.
        if unit_name_problem(target).is_some() {
            continue;
        }
        if !names.contains(&&**target) {
            let hint = closest(target, names.iter().copied()).map_or_else(
                || format!("the cluster's units are {}", join(&names)),
                |s| format!("did you mean `{s}`?"),
            );
            r.push(
                Rule::MachineOfTarget,
                subject,
                format!(
                    "`{}` follows `{target}`, which is not a unit of this cluster, so it would never start",
                    unit.name
                ),
                hint,
            );
            continue;
        }
        // Follow the chain; a unit that leads back to itself can never be scheduled.
        let mut seen = vec![u];
        let mut current = target.clone();
        while let Some(next) = units.iter().position(|x| x.name == current) {
            if next == u {
                let chain: Vec<String> = seen.iter().map(|&i| format!("`{}`", units[i].name)).collect();
                r.push(
                    Rule::MachineOfTarget,
                    subject,
                    format!("`machine_of` forms a cycle: {} each wait for the other, so none starts", join(&chain)),
                    "make one unit of the cycle the anchor that follows nothing".to_string(),
                );
                break;
            }
            if seen.contains(&next) {
                break;
            }
            seen.push(next);
            match &units[next].machine_of {
                Some(t) => current = t.clone(),
                None => break,
            }
        }
    }
}

/// Why `text` cannot be a fleet metadata key or value, if it cannot.
fn metadata_text_problem(text: &str, is_key: bool) -> Option<&'static str> {
    if text.is_empty() {
        return Some("it is empty, and fleet ignores entries with an empty side");
    }
    if text.contains('=') {
        return Some("`=` splits fleet's `key=value` entries");
    }
    if text.contains(',') {
        return Some("`,` separates fleet's metadata entries");
    }
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("whitespace separates `MachineMetadata` entries and is stripped from metadata");
    }
    if text.contains('"') || text.contains('\'') {
        return Some("quotes are stripped by fleet's parser");
    }
    if text.contains('%') {
        return Some("`%` starts a specifier (`%n`, `%p`, `%i`) that fleet replaces in a unit's requirements");
    }
    if is_key && text.starts_with('-') {
        return Some("a key starting with `-` reads as a flag");
    }
    None
}

/// `metadata_format`: every metadata key and value, published or required, survives fleet's
/// formats (`k=v,k=v` for machines, `k=v` per `MachineMetadata` value): no `=`, `,`, `%`,
/// whitespace or quotes, nothing empty, no key set twice or generated twice. Cannot be allowed.
fn metadata_format(r: &mut Report<'_>) {
    let c = r.cluster;
    let fix = "use letters, digits, `-`, `_`, `.` and `/`";
    for (g, group) in c.groups() {
        let mut generated = vec!["role"];
        if let GroupRef::Pool(_) = g {
            generated.push("pool");
        }
        if let Some(spread) = &group.spread {
            generated.push(spread.kind.key());
            for (i, d) in spread.domains.iter().enumerate() {
                if let Some(problem) = metadata_text_problem(&d.name, false) {
                    r.push(
                        Rule::MetadataFormat,
                        Subject::Group(g, GroupPart::Domain(i)),
                        format!(
                            "{} name {:?} cannot be published as fleet metadata: {problem}",
                            spread.kind.key(),
                            d.name
                        ),
                        fix.to_string(),
                    );
                }
            }
        }
        if let Some(problem) = metadata_text_problem(&group.role, false) {
            r.push(
                Rule::MetadataFormat,
                Subject::Group(g, GroupPart::Role),
                format!("role {:?} cannot be published as fleet metadata: {problem}", group.role),
                fix.to_string(),
            );
        }
        // Keys seen so far: a repeat is found in O(1), not by scanning the earlier ones.
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, (k, v)) in group.metadata.iter().enumerate() {
            if let Some(problem) = metadata_text_problem(k, true) {
                r.push(
                    Rule::MetadataFormat,
                    Subject::Group(g, GroupPart::MetadataKey(i)),
                    format!("metadata key {k:?} cannot be published: {problem}"),
                    fix.to_string(),
                );
            }
            if let Some(problem) = metadata_text_problem(v, false) {
                r.push(
                    Rule::MetadataFormat,
                    Subject::Group(g, GroupPart::MetadataValue(i)),
                    format!("metadata value {v:?} cannot be published: {problem}"),
                    fix.to_string(),
                );
            }
            if generated.contains(&&**k) {
                let how = if &**k == "role" {
                    "`role:`"
                } else if &**k == "pool" {
                    "the pool's name"
                } else {
                    "`across`"
                };
                r.push(
                    Rule::MetadataFormat,
                    Subject::Group(g, GroupPart::MetadataKey(i)),
                    format!(
                        "metadata key `{k}` is generated from {how}; setting it again would give the machine two values"
                    ),
                    format!("remove `{k}` from `metadata`, and set it through {how}"),
                );
            } else if !seen.insert(&**k) {
                r.push(Rule::MetadataFormat,
                    Subject::Group(g, GroupPart::MetadataKey(i)),
                    format!("metadata key `{k}` is set twice; fleet keeps only the last value, so a machine has one value per key"),
                    "keep one value, or use a separate boolean key per value (e.g. `ssd = true`)".to_string(),
                );
            }
        }
    }
    for (u, unit) in c.units.iter().enumerate() {
        let mut seen: HashSet<&str> = HashSet::new();
        for (i, req) in unit.machine_metadata.iter().enumerate() {
            if let Some(problem) = metadata_text_problem(&req.key, true) {
                r.push(
                    Rule::MetadataFormat,
                    Subject::Unit(u, UnitPart::Requirement(i)),
                    format!("metadata key {:?} cannot be required of a machine: {problem}", req.key),
                    fix.to_string(),
                );
            }
            if !seen.insert(&*req.key) {
                r.push(
                    Rule::MetadataFormat,
                    Subject::Unit(u, UnitPart::Requirement(i)),
                    format!(
                        "metadata key `{}` is required twice; list its values once, e.g. `{} = [a, b]`",
                        req.key, req.key
                    ),
                    "merge the two requirements".to_string(),
                );
            }
            for (j, value) in req.values.iter().enumerate() {
                if let Some(problem) = metadata_text_problem(value, false) {
                    r.push(
                        Rule::MetadataFormat,
                        Subject::Unit(u, UnitPart::RequirementValue(i, j)),
                        format!("metadata value {value:?} cannot be required of a machine: {problem}"),
                        fix.to_string(),
                    );
                }
            }
        }
    }
}

/// `metadata_satisfiable`: some machine can run each unit. A key no kind of machine publishes, a
/// value no machine has (even inside an OR list, where it is most likely a typo), or requirements
/// that hold only on different machines are each reported with what does exist.
fn metadata_satisfiable(r: &mut Report<'_>) {
    let c = r.cluster;
    let profiles = c.metadata_profiles();
    let group_name = |g: GroupRef| c.group(g).map_or_else(String::new, |g| g.name.to_string());
    // What machines publish, gathered once: every key, and each key's values (sorted, once
    // each). So R requirements cost O(R) lookups; "did you mean" is looked for in the first
    // SUGGESTED misses only, since each compares with every key.
    const SUGGESTED: usize = 32;
    let mut published_values: std::collections::HashMap<&str, Vec<&str>> = std::collections::HashMap::new();
    for p in &profiles {
        for (k, v) in p.metadata.pairs() {
            published_values.entry(k.as_str()).or_default().push(v.as_str());
        }
    }
    for values in published_values.values_mut() {
        values.sort_unstable();
        values.dedup();
    }
    // The profiles a unit may run on, looked up from its rarest requirement, not scanned.
    let index = crate::placement::MetadataIndex::of(profiles.iter().map(|p| &p.metadata));
    let mut keys: Vec<&str> = published_values.keys().copied().collect();
    keys.sort_unstable();
    let mut suggestions_left = SUGGESTED;
    let mut suggest = |wanted: &str, among: &[&str]| -> Option<String> {
        if suggestions_left == 0 {
            return None;
        }
        suggestions_left -= 1;
        closest(wanted, among.iter().copied()).map(str::to_string)
    };
    for (u, unit) in c.units.iter().enumerate() {
        if unit.machine_metadata.is_empty() {
            continue;
        }
        let mut value_missing = false;
        for (i, req) in unit.machine_metadata.iter().enumerate() {
            let published: &[&str] = published_values.get(&*req.key).map_or(&[], Vec::as_slice);
            if published.is_empty() {
                value_missing = true;
                let hint = suggest(&req.key, &keys).map_or_else(
                    || format!("the keys machines publish are {}", join(&keys)),
                    |s| format!("did you mean `{s}`? the keys machines publish are {}", join(&keys)),
                );
                r.push(
                    Rule::MetadataSatisfiable,
                    Subject::Unit(u, UnitPart::Requirement(i)),
                    format!(
                        "no machine publishes metadata key `{}`, so `{}` can never be scheduled",
                        req.key, unit.name
                    ),
                    hint,
                );
                continue;
            }
            for (j, value) in req.values.iter().enumerate() {
                if published.binary_search(&&**value).is_err() {
                    value_missing = true;
                    let hint = suggest(value, published).map_or_else(
                        || format!("the values of `{}` are {}", req.key, join(published)),
                        |s| {
                            format!(
                                "did you mean `{}={s}`? the values of `{}` are {}",
                                req.key,
                                req.key,
                                join(published)
                            )
                        },
                    );
                    r.push(
                        Rule::MetadataSatisfiable,
                        Subject::Unit(u, UnitPart::RequirementValue(i, j)),
                        format!("no machine has `{}={value}`, so `{}` can never run there", req.key, unit.name),
                        hint,
                    );
                }
            }
        }
        let requirements = unit.machine_metadata.iter().map(|req| (&*req.key, &*req.values));
        if value_missing || index.candidates(requirements).into_iter().any(|p| unit.runs_on(&profiles[p].metadata)) {
            continue;
        }
        // Every key and value exists somewhere, but never together on one machine.
        let parts: Vec<String> = unit
            .machine_metadata
            .iter()
            .map(|req| {
                let mut groups: Vec<String> =
                    profiles.iter().filter(|p| p.metadata.satisfies(req)).map(|p| group_name(p.group)).collect();
                groups.dedup();
                let values: Vec<&str> = req.values.iter().map(|v| &**v).collect();
                format!("{}={} is on {}", req.key, values.join("|"), join(&groups))
            })
            .collect();
        r.push(Rule::MetadataSatisfiable,
            Subject::Unit(u, UnitPart::Metadata),
            format!("no single machine satisfies every `metadata` requirement of `{}`: {}", unit.name, parts.join("; ")),
            "requirements on different keys must all hold on one machine; drop one, or add the metadata to the group that should run the unit".to_string(),
        );
    }
}
