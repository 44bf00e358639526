//! An Ignition config read against the one the declaration renders for the same machine, both
//! with the reader Ignition's rules are written into ([`crate::read::ignition`]): every user,
//! file, directory, link, unit and drop-in the machine would get otherwise is a finding at its
//! line, so nothing the running machine does changes without a word when the declaration is
//! rendered again. Lossy: what the file does that the render does not (or does otherwise);
//! a note: what the render adds.

use std::collections::HashMap;

use crate::read::ignition::{self, Config, File, Reference, Unit};
use crate::read::json_lines::JsonLines;

use super::{Finding, lossy, note};

/// Compares `source` (the file at `path`) with `rendered`, the declaration's config for the
/// same machine, and says each difference; what the source says that no config can be
/// compared by (keys Ignition's reader leaves unread, merged configs) too, unless
/// `reported_unread` says the reader of the source has said it. O(entries of both, with
/// their contents' bytes).
pub(super) fn compare_configs(
    path: &str,
    source: &str,
    rendered: &str,
    findings: &mut Vec<Finding>,
    reported_unread: bool,
) {
    let lines = JsonLines::new(source);
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
    if !reported_unread {
        for (pointer, why) in &was.unread {
            findings.push(lossy(path, at(pointer), pointer.as_str(), format!("{why}; the declaration renders none")));
        }
        for (i, reference) in was.merge.iter().enumerate() {
            let pointer = format!("/ignition/config/merge/{i}");
            findings.push(lossy(path, at(&pointer), &pointer, referenced(reference)));
        }
        if let Some(reference) = &was.replace {
            findings.push(lossy(
                path,
                at("/ignition/config/replace"),
                "/ignition/config/replace",
                referenced(reference),
            ));
        }
    }
    let users = |c: &Config| c.users.iter().map(|u| (u.name.clone(), u.ssh_authorized_keys.clone())).collect();
    entries(path, &at, findings, "/passwd/users", "user", users(&was), users(&now), |_, _| Vec::new());
    let files = |c: &Config| c.files.iter().map(|f| (f.path.clone(), f.clone())).collect();
    entries(path, &at, findings, "/storage/files", "file", files(&was), files(&now), file_differences);
    // The reader of a machine's config says each of its directories and links lossy already:
    // only what the render adds is said here.
    let own = |c: &Config| if reported_unread { Config::default() } else { c.clone() };
    let directories = |c: &Config| c.directories.iter().map(|(p, m)| (p.clone(), *m)).collect();
    let mode = |_: &Option<u32>, _: &Option<u32>| vec!["mode"];
    entries(path, &at, findings, "/storage/directories", "directory", directories(&own(&was)), directories(&now), mode);
    let links = |c: &Config| c.links.iter().map(|(p, t, hard)| (p.clone(), (t.clone(), *hard))).collect();
    let target = |_: &(String, bool), _: &(String, bool)| vec!["target"];
    entries(path, &at, findings, "/storage/links", "link", links(&own(&was)), links(&now), target);
    let units = |c: &Config| c.units.iter().map(|u| (u.name.clone(), u.clone())).collect();
    entries(path, &at, findings, "/systemd/units", "unit", units(&was), units(&now), unit_differences);
}

/// Why a config another config refers to is not carried.
pub(super) fn referenced(reference: &Reference) -> String {
    match reference {
        Reference::Remote(url) => {
            format!("a config fetched from {url} at boot: what it holds cannot be read offline, and the declaration renders no such reference")
        }
        Reference::Inline(_) => {
            "another config merged in from a `data:` URL: the declaration renders one config per machine, without merges".to_string()
        }
    }
}

/// One list of a config (users, files, units…), each entry by its name: an entry of the file
/// that the render lacks or renders otherwise is lossy at its line (`differences` names what
/// differs); one the render adds is a note. O(entries).
#[allow(clippy::too_many_arguments)]
fn entries<T: PartialEq>(
    path: &str,
    at: &dyn Fn(&str) -> usize,
    findings: &mut Vec<Finding>,
    list: &str,
    kind: &str,
    was: Vec<(String, T)>,
    now: Vec<(String, T)>,
    differences: impl Fn(&T, &T) -> Vec<&'static str>,
) {
    let rendered: HashMap<&str, &T> = now.iter().map(|(name, entry)| (name.as_str(), entry)).collect();
    let mut seen: HashMap<&str, ()> = HashMap::new();
    for (i, (name, entry)) in was.iter().enumerate() {
        seen.insert(name.as_str(), ());
        // The pointer names the entry where the text is on one line, as configs usually are.
        let pointer = format!("{list}/{i}");
        let what = format!("{kind} `{name}` ({pointer})");
        match rendered.get(name.as_str()) {
            None => findings.push(lossy(path, at(&pointer), what, "the declaration does not render it")),
            Some(new) if *new == entry => {}
            Some(new) => {
                let differing = differences(entry, new);
                let said = if differing.is_empty() { String::new() } else { format!(" ({})", differing.join(", ")) };
                findings.push(lossy(path, at(&pointer), what, format!("the declaration renders it otherwise{said}")));
            }
        }
    }
    for (name, _) in now.iter().filter(|(name, _)| !seen.contains_key(name.as_str())) {
        findings.push(note(path, 0, format!("{kind} `{name}`"), "the declaration adds it"));
    }
}

fn file_differences(was: &File, now: &File) -> Vec<&'static str> {
    [
        ("contents", was.contents != now.contents),
        ("append", was.append != now.append),
        ("mode", was.mode != now.mode),
        ("user", was.user != now.user),
        ("group", was.group != now.group),
        ("overwrite", was.overwrite != now.overwrite),
    ]
    .into_iter()
    .filter_map(|(what, differs)| differs.then_some(what))
    .collect()
}

fn unit_differences(was: &Unit, now: &Unit) -> Vec<&'static str> {
    [
        ("contents", was.contents != now.contents),
        ("enabled", was.enabled != now.enabled),
        ("mask", was.mask != now.mask),
        ("dropins", was.dropins != now.dropins),
    ]
    .into_iter()
    .filter_map(|(what, differs)| differs.then_some(what))
    .collect()
}
