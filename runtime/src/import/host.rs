//! The machines' own configuration as a cloud-config says it: `coreos.units` entries and
//! `write_files` clusterdef does not write itself, as host items with their lines
//! (`scopes` gives them the scope they have across machines).

use std::borrow::Cow;

use clusterdef_model::{DropIn, HostFile, HostUnit, Owner, UnitBody, UnitCommand, installs};

use crate::read::cloud_config::{CloudUnit, Field, WriteFile};

use super::{Finding, lossy};

/// One piece of host configuration, as read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum HostItem {
    File(HostFile),
    Unit(HostUnit),
    DropIn(DropIn),
}

fn text(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_string())
}

/// A `coreos.units` entry the renderer would write for a host unit, as the items it came from:
/// the unit (unless the entry holds drop-ins alone) and its drop-ins, with their lines. `None`
/// and a finding when the entry says something the language cannot (`runtime: true`, a
/// command other than start, restart or stop).
pub(super) fn unit_items(
    path: &str,
    name: &Field,
    unit: &CloudUnit,
    findings: &mut Vec<Finding>,
) -> Vec<(usize, HostItem)> {
    let what = format!("coreos.units `{}`", name.value);
    if unit.runtime {
        findings.push(lossy(path, name.line, what, "`runtime: true` (written under /run, gone at reboot) has no place in the language; it would be written under /etc"));
        return Vec::new();
    }
    let command = match unit.command.as_ref().map(|c| c.value.as_str()) {
        None => None,
        Some("start") => Some(UnitCommand::Start),
        Some("restart") => Some(UnitCommand::Restart),
        Some("stop") => Some(UnitCommand::Stop),
        Some(other) => {
            let line = unit.command.as_ref().map_or(name.line, |c| c.line);
            findings.push(lossy(
                path,
                line,
                what,
                format!("command `{other}` is none of start, restart, stop; left out"),
            ));
            None
        }
    };
    let body = unit.content.as_ref().map(|c| UnitBody::Inline(text(&c.value)));
    let has_install = unit.content.as_ref().is_some_and(|c| installs(&c.value));
    // The renderer enables a unit whose body installs unless told not to, and starts what it
    // enables: read back, those are the defaults.
    let enable = match (unit.enable, has_install) {
        // A masked unit is written without `enable`, whatever its body says.
        _ if unit.mask => None,
        (true, true) => None,
        (true, false) => Some(true),
        (false, true) => Some(false),
        (false, false) => None,
    };
    let enabled = unit.enable && !unit.mask;
    let command = match command {
        Some(UnitCommand::Start) if enabled => None,
        other => other,
    };
    let mut items = Vec::new();
    let declares = body.is_some() || unit.enable || unit.mask || command.is_some();
    if declares {
        let host = HostUnit { name: text(&name.value), body, enable, mask: unit.mask, command };
        items.push((name.line, HostItem::Unit(host)));
    }
    for (dropin, content) in &unit.drop_ins {
        let d =
            DropIn { unit: text(&name.value), name: text(&dropin.value), body: UnitBody::Inline(text(&content.value)) };
        items.push((dropin.line, HostItem::DropIn(d)));
    }
    items
}

/// A `write_files` entry as a host file; `None` and a finding when it says something the
/// language cannot (an `encoding`, permissions that are no octal mode).
pub(super) fn file_item(
    path: &str,
    file_path: &Field,
    wf: &WriteFile,
    findings: &mut Vec<Finding>,
) -> Option<(usize, HostItem)> {
    let what = format!("write_files `{}`", file_path.value);
    let raw = wf.content.as_ref().map_or("", |c| c.value.as_str());
    let decoded;
    let content = match &wf.encoding {
        None => raw,
        Some(e) => match (e.value.as_str(), decode_base64(raw)) {
            ("b64" | "base64", Some(bytes)) => match String::from_utf8(bytes) {
                Ok(text) => {
                    findings.push(super::note(
                        path,
                        e.line,
                        what.clone(),
                        "base64 decoded: the declaration holds the text and writes it as it is",
                    ));
                    decoded = text;
                    decoded.as_str()
                }
                Err(_) => {
                    findings.push(lossy(path, e.line, what, "base64 of bytes that are not UTF-8 text: the language writes a file's contents as text; left out"));
                    return None;
                }
            },
            ("b64" | "base64", None) => {
                findings.push(lossy(path, e.line, what, "`encoding: base64`, but the content is not base64; left out"));
                return None;
            }
            (other, _) => {
                findings.push(lossy(
                    path,
                    e.line,
                    what,
                    format!("encoding `{other}`: the language writes contents as text and reads only base64; decode it and declare the file"),
                ));
                return None;
            }
        },
    };
    let mode = match &wf.permissions {
        None => 0o644,
        Some(p) => match u32::from_str_radix(p.value.trim_start_matches("0o"), 8) {
            Ok(m) if m <= 0o7777 => m,
            _ => {
                findings.push(lossy(path, p.line, what, format!("permissions `{}` are no octal mode", p.value)));
                return None;
            }
        },
    };
    let account = |s: &str| -> Option<Owner> {
        match s {
            "" => None,
            s => Some(s.parse::<u32>().map_or_else(|_| Owner::Name(text(s)), Owner::Id)),
        }
    };
    let (owner, group) = match wf.owner.as_ref().map(|o| o.value.as_str()) {
        None => (None, None),
        Some(o) => match o.split_once(':') {
            Some((u, g)) => (account(u), account(g)),
            None => (account(o), None),
        },
    };
    let contents = UnitBody::Inline(text(content));
    Some((file_path.line, HostItem::File(HostFile { path: text(&file_path.value), contents, mode, owner, group })))
}

/// base64 as coreos-cloudinit's `b64` and `base64` encodings read it (Go's standard encoding,
/// padding required, line breaks ignored); `None` for anything else. O(n).
pub(super) fn decode_base64(text: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let digits: String = text.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD.decode(digits).ok()
}

#[cfg(test)]
mod tests {
    use super::decode_base64;

    #[test]
    fn base64_decodes_as_coreos_cloudinit_does_and_refuses_what_is_not() {
        assert_eq!(decode_base64("aGVsbG8K").as_deref(), Some(&b"hello\n"[..]));
        assert_eq!(decode_base64("aGVsbG8=").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64("aGVsbA==").as_deref(), Some(&b"hell"[..]));
        assert_eq!(decode_base64("aGVs\nbA==").as_deref(), Some(&b"hell"[..]));
        assert_eq!(decode_base64("").as_deref(), Some(&b""[..]));
        // Go's standard encoding wants its padding.
        assert_eq!(decode_base64("aGVsbA"), None);
        assert_eq!(decode_base64("a"), None);
        assert_eq!(decode_base64("aGVsbG8*"), None);
        assert_eq!(decode_base64("aé=="), None);
    }
}
