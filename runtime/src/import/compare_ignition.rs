//! An Ignition config read against the one the declaration renders for the same machine, both
//! with the reader Ignition's rules are written into ([`crate::read::ignition`]): every user,
//! file, directory, link, unit and drop-in the machine would get otherwise is a finding at its
//! line, so nothing the running machine does changes without a word when the declaration is
//! rendered again. Lossy: what the file does that the render does not (or does otherwise);
//! a note: what the render adds.

use std::collections::HashMap;

use crate::read::ignition::{self, Contents, File, Merged, Unit};
use crate::read::json_lines::JsonLines;

use super::ignition_machine::{UPDATE_CONF, env_lines, unit_environment};
use super::{Finding, Severity, lossy, note};

/// Compares `source` (the file at `path`) with `rendered`, the declaration's config for the
/// same machine, and says each difference; what the source says that no config can be
/// compared by (keys Ignition's reader leaves unread, merged configs) too, unless
/// `reported_unread` says the reader of the source has said it. O(entries of both, with
/// their contents' bytes).
pub(super) fn compare_configs(
    path: &str,
    source: &str,
    lines: &JsonLines,
    rendered: &str,
    findings: &mut Vec<Finding>,
    reported_unread: bool,
) {
    let at = |pointer: &str| lines.line(pointer);
    let was = match ignition::parse(source) {
        Ok(config) => config,
        Err(e) => {
            findings.push(lossy(path, 1, "the file", format!("not an Ignition config Ignition reads: {e}")));
            return;
        }
    };
    let Ok(now) = ignition::parse(rendered) else {
        findings.push(note(path, 0, "the file", "what the declaration renders for it does not read as Ignition"));
        return;
    };
    if was.version != now.version {
        findings.push(note(
            path,
            at("/ignition/version"),
            "ignition.version",
            format!(
                "the declaration renders spec {} (here {}); the same fields mean the same",
                now.version, was.version
            ),
        ));
    }
    // Both sides as the machine gets them: merged configs applied, each entry at the pointer
    // where the file says it.
    if !reported_unread {
        for (pointer, why) in &was.unread {
            findings.push(lossy(path, at(pointer), pointer.as_str(), format!("{why}; the declaration renders none")));
        }
    }
    let (was, now) = (ignition::merged(&was), ignition::merged(&now));
    if !reported_unread {
        for (pointer, url) in &was.remote {
            findings.push(lossy(path, at(pointer), pointer.as_str(), remote_reference(url)));
        }
    }
    let users = |m: &Merged| -> Vec<Entry<Vec<String>>> {
        m.users.iter().map(|l| (l.entry.name.clone(), l.pointer.clone(), l.entry.ssh_authorized_keys.clone())).collect()
    };
    let keys = |_: &Vec<String>, _: &Vec<String>| vec![(Severity::Lossy, "its SSH keys".to_string())];
    entries(path, &at, findings, "user", users(&was), users(&now), keys);
    let files = |m: &Merged| -> Vec<Entry<File>> {
        m.files.iter().map(|l| (l.entry.path.clone(), l.pointer.clone(), l.entry.clone())).collect()
    };
    entries(path, &at, findings, "file", files(&was), files(&now), file_differences);
    // The reader of a machine's config says each of its directories and links lossy already:
    // only what the render adds is said here.
    let own = |m: &Merged| if reported_unread { Merged::default() } else { m.clone() };
    let directories = |m: &Merged| -> Vec<Entry<Option<u32>>> {
        m.directories.iter().map(|l| (l.entry.0.clone(), l.pointer.clone(), l.entry.1)).collect()
    };
    let mode = |_: &Option<u32>, _: &Option<u32>| vec![(Severity::Lossy, "its mode".to_string())];
    entries(path, &at, findings, "directory", directories(&own(&was)), directories(&now), mode);
    let links = |m: &Merged| -> Vec<Entry<(String, bool)>> {
        m.links.iter().map(|l| (l.entry.0.clone(), l.pointer.clone(), (l.entry.1.clone(), l.entry.2))).collect()
    };
    let target = |_: &(String, bool), _: &(String, bool)| vec![(Severity::Lossy, "its target".to_string())];
    entries(path, &at, findings, "link", links(&own(&was)), links(&now), target);
    let units = |m: &Merged| -> Vec<Entry<Unit>> {
        m.units.iter().map(|l| (l.entry.name.clone(), l.pointer.clone(), l.entry.clone())).collect()
    };
    let unit_differences = |was: &Unit, now: &Unit| unit_differences(was, now, reported_unread);
    entries(path, &at, findings, "unit", units(&was), units(&now), unit_differences);
}

/// An entry of a list: its name, the pointer where the file says it, and what it holds.
type Entry<T> = (String, String, T);

/// Why a config fetched from `url` at boot is not carried.
pub(super) fn remote_reference(url: &str) -> String {
    format!(
        "a config fetched from {url} at boot: what it holds cannot be read offline, and the declaration renders no such reference"
    )
}

/// One list of a config (users, files, units…), each entry by its name: an entry of the file
/// that the render lacks or renders otherwise is lossy at its line (`differences` names what
/// differs); one the render adds is a note. O(entries).
fn entries<T: PartialEq>(
    path: &str,
    at: &dyn Fn(&str) -> usize,
    findings: &mut Vec<Finding>,
    kind: &str,
    was: Vec<Entry<T>>,
    now: Vec<Entry<T>>,
    differences: impl Fn(&T, &T) -> Vec<(Severity, String)>,
) {
    let rendered: HashMap<&str, &T> = now.iter().map(|(name, _, entry)| (name.as_str(), entry)).collect();
    let seen: std::collections::HashSet<&str> = was.iter().map(|(name, _, _)| name.as_str()).collect();
    for (name, pointer, entry) in &was {
        // The pointer names the entry where the text is on one line, as configs usually are.
        let what = format!("{kind} `{name}` ({pointer})");
        match rendered.get(name.as_str()) {
            None => findings.push(lossy(path, at(pointer), what, "the declaration does not render it")),
            Some(new) if *new == entry => {}
            Some(new) => {
                // Equal in what the machine gets (a default written out), no difference.
                let differing = differences(entry, new);
                if differing.is_empty() {
                    continue;
                }
                let severity =
                    if differing.iter().all(|(s, _)| *s == Severity::Note) { Severity::Note } else { Severity::Lossy };
                let said: Vec<String> = differing.into_iter().map(|(_, why)| why).collect();
                let why = format!("the declaration renders it otherwise: {}", said.join("; "));
                let finding = Finding { file: path.to_string(), line: at(pointer), severity, what, why };
                findings.push(finding);
            }
        }
    }
    for (name, _, _) in now.iter().filter(|(name, _, _)| !seen.contains(name.as_str())) {
        findings.push(note(path, 0, format!("{kind} `{name}`"), "the declaration adds it"));
    }
}

/// How a file differs: its contents (an `update.conf` setting by setting, other text from the
/// first line that differs), mode, owner, `append` (lossy); `overwrite` alone is a note, as on
/// a new machine a file the image does not have is written either way.
fn file_differences(was: &File, now: &File) -> Vec<(Severity, String)> {
    let mut found = Vec::new();
    if was.contents != now.contents {
        let text = |c: &Option<Contents>| match c {
            Some(Contents::Data(bytes)) => String::from_utf8(bytes.clone()).ok(),
            None => Some(String::new()),
            Some(Contents::Remote(_)) => None,
        };
        match (text(&was.contents), text(&now.contents)) {
            (Some(a), Some(b)) if UPDATE_CONF.contains(&was.path.as_str()) => {
                found.extend(settings_differences(&a, &b))
            }
            (Some(a), Some(b)) if a.trim_end() == b.trim_end() => found.push((Severity::Note, ends(&a, &b))),
            (Some(a), Some(b)) => found.push((Severity::Lossy, text_difference(&a, &b))),
            _ => found.push((Severity::Lossy, "its contents".to_string())),
        }
    }
    for (what, differs) in [
        ("`append`", was.append != now.append),
        // Ignition writes a file without a mode 0644.
        ("its mode", was.mode.unwrap_or(0o644) != now.mode.unwrap_or(0o644)),
        ("its user", was.user != now.user),
        ("its group", was.group != now.group),
    ] {
        if differs {
            found.push((Severity::Lossy, what.to_string()));
        }
    }
    if was.overwrite != now.overwrite {
        let why = format!(
            "`overwrite: {}` (here {}): Ignition stops at a file the image already has unless told to overwrite it; on a new machine without one, the same",
            now.overwrite.unwrap_or(false),
            was.overwrite.map_or("unset".to_string(), |o| o.to_string())
        );
        found.push((Severity::Note, why));
    }
    found
}

/// Two texts that differ only in what ends them (line ends, spaces), which the programs that
/// read such files (`/etc/hostname`, environment files, units) do not see.
fn ends(was: &str, now: &str) -> String {
    let tail = |t: &str| format!("{:?}", &t[t.trim_end().len()..]);
    format!("only its end differs: the declaration ends it with {} (here {})", tail(now), tail(was))
}

/// Where two texts first differ, by line.
fn text_difference(was: &str, now: &str) -> String {
    let n = first_differing_line(was, now);
    match (was.lines().nth(n - 1), now.lines().nth(n - 1)) {
        (Some(line), Some(again)) => format!("from its line {n}: here `{line}`, rendered `{again}`"),
        (Some(line), None) => format!("from its line {n}: here `{line}`, rendered nothing"),
        (None, Some(more)) => format!("the render goes on after its last line with `{more}`"),
        (None, None) => "its contents (line ends)".to_string(),
    }
}

/// The 1-based line on which `a` and `b` first differ. O(bytes).
pub(super) fn first_differing_line(a: &str, b: &str) -> usize {
    let mut lines_b = b.lines();
    for (i, line) in a.lines().enumerate() {
        if lines_b.next() != Some(line) {
            return i + 1;
        }
    }
    a.lines().count() + 1
}

/// `KEY=VALUE` settings (`update.conf`, etcd's variables) setting by setting: one the file sets
/// that the render sets otherwise or not at all is lossy; one the render adds is a note.
/// O(settings), with a hash of the render's.
fn settings_differences(was: &str, now: &str) -> Vec<(Severity, String)> {
    assignments_differences(&env_lines(was), &env_lines(now))
}

fn assignments_differences(was: &[(String, String)], now: &[(String, String)]) -> Vec<(Severity, String)> {
    let rendered: HashMap<&str, &str> = now.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let read: HashMap<&str, &str> = was.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut found = Vec::new();
    for (key, value) in was {
        match rendered.get(key.as_str()) {
            Some(again) if again == value => {}
            Some(again) => found.push((Severity::Lossy, format!("`{key}` is `{again}` (here `{value}`)"))),
            None => found.push((Severity::Lossy, format!("`{key}` is not set (here `{value}`)"))),
        }
    }
    for (key, value) in now.iter().filter(|(k, _)| !read.contains_key(k.as_str())) {
        found.push((Severity::Note, format!("`{key}={value}` is added")));
    }
    found
}

/// How a unit differs. etcd's unit is compared by the `ETCD_*` variables it runs with (its body
/// and drop-ins' names are how, said by the reader when `reader_said`); other units by body,
/// `enabled`, `mask` and drop-ins.
fn unit_differences(was: &Unit, now: &Unit, reader_said: bool) -> Vec<(Severity, String)> {
    let mut found = Vec::new();
    if was.name == "etcd-member.service" {
        let variables = |u: &Unit| -> Vec<(String, String)> {
            let bodies = u.contents.iter().chain(u.dropins.iter().filter_map(|(_, b)| b.as_ref()));
            bodies.flat_map(|b| unit_environment(b)).filter(|(k, _)| k.starts_with("ETCD_")).collect()
        };
        found.extend(assignments_differences(&variables(was), &variables(now)));
        let how = if reader_said { Severity::Note } else { Severity::Lossy };
        if was.contents != now.contents {
            found.push((how, "its body (etcd runs from Flatcar's own unit)".to_string()));
        }
        let names = |u: &Unit| u.dropins.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
        if names(was) != names(now) {
            found.push((how, format!("its drop-ins are {}", names(now).join(", "))));
        }
    } else {
        match (&was.contents, &now.contents) {
            (a, b) if a == b => {}
            (Some(a), Some(b)) => found.push((Severity::Lossy, text_difference(a, b))),
            _ => found.push((Severity::Lossy, "its body".to_string())),
        }
        if was.dropins != now.dropins {
            found.push((Severity::Lossy, "its drop-ins".to_string()));
        }
    }
    if was.enabled != now.enabled {
        found.push((Severity::Lossy, format!("`enabled: {:?}` (here {:?})", now.enabled, was.enabled)));
    }
    if was.mask != now.mask {
        found.push((Severity::Lossy, format!("`mask: {:?}` (here {:?})", now.mask, was.mask)));
    }
    found
}
