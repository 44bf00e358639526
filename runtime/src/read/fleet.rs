//! fleet's reading of unit files and machine metadata, and its matching of one to the other.
//!
//! The rules, from fleet v1.0 and the go-systemd unit parser it builds on:
//!
//! - A unit file is lexed by go-systemd's `unit.Deserialize`: text before the first section is
//!   skipped character by character, a section name runs from `[` to the next `]`, `#` and `;`
//!   start comments (continued by a trailing `\`), an option name runs to `=` and is trimmed, a
//!   value runs to the end of the line, continued while the line ends with `\`, and is trimmed.
//!   A line of 2048 bytes or more is an error.
//! - In `[X-Fleet]`, a value that starts and ends with `"` is split on spaces outside quotes
//!   (quotes dropped); any other value is one value (`unit.parseMultivalueLine`).
//! - Requirement values have the specifiers `%n`, `%N`, `%p` and `%i` replaced from the unit's
//!   name (`job.unitPrintf`).
//! - `MachineMetadata` (and legacy `X-ConditionMachineMetadata`) values are split on `=`; a
//!   value that does not give exactly two non-empty parts is dropped without a word. Values are
//!   grouped by key: a machine is eligible when it has every key, with one of the key's values.
//! - `Global` is true when its last value is `true`, `yes`, `1`, `on` or `t`, in any case.
//! - `MachineID` takes its first value, then legacy `X-ConditionMachineID`, then
//!   `X-ConditionMachineBootID`. `MachineOf` (and `X-ConditionMachineOf`) lists every value.
//! - `Conflicts` (and `X-Conflicts`) and `Replaces` are globs, split on whitespace.
//! - A machine's metadata setting (`metadata=`, from cloud-config's `fleet.metadata`) is split
//!   on `,`, each entry on its first `=`, key and value trimmed; an entry without `=` is
//!   skipped and a repeated key keeps its last value (`config.Config.Metadata`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// The longest line go-systemd accepts, like systemd's `LINE_MAX`.
pub const LINE_MAX: usize = 2048;

/// One option of a unit file, as go-systemd's deserializer yields it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitOption {
    /// The section it is in, without brackets.
    pub section: String,
    /// The option's name, trimmed.
    pub name: String,
    /// The value, trimmed, continuation lines joined.
    pub value: String,
    /// The 1-based line the option's name is on.
    pub line: usize,
}

/// Why go-systemd's deserializer refuses a unit file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnitFileError {
    /// The 1-based line of the problem.
    pub line: usize,
    /// What the deserializer says.
    pub message: String,
}

impl fmt::Display for UnitFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

impl std::error::Error for UnitFileError {}

/// A cursor over the file's bytes that knows its line.
struct Lexer<'t> {
    bytes: &'t [u8],
    at: usize,
    line: usize,
}

impl Lexer<'_> {
    fn next_byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        if b == b'\n' {
            self.line += 1;
        }
        Some(b)
    }

    /// The rest of the line, without its `\n` (go-systemd's `toEOL`: it trims a `\r` only when
    /// the line has no `\n`, so a CRLF line keeps its `\r` until the value is trimmed), and
    /// whether the file ended.
    fn rest_of_line(&mut self) -> (&[u8], bool) {
        let start = self.at;
        match self.bytes[start..].iter().position(|b| *b == b'\n') {
            Some(n) => {
                self.at = start + n + 1;
                self.line += 1;
                (&self.bytes[start..start + n], false)
            }
            None => {
                self.at = self.bytes.len();
                let line = &self.bytes[start..];
                (line.strip_suffix(b"\r").unwrap_or(line), true)
            }
        }
    }

    /// Whether the bytes ahead hold a line of `LINE_MAX` bytes or more before any line break.
    fn line_too_long(&self) -> bool {
        let ahead = &self.bytes[self.at..];
        ahead.len() >= LINE_MAX && !ahead[..LINE_MAX].iter().any(|b| *b == b'\n' || *b == b'\r')
    }

    fn error(&self, message: impl Into<String>) -> UnitFileError {
        UnitFileError { line: self.line, message: message.into() }
    }

    /// Skips a comment line and the lines it continues with a trailing `\`.
    fn skip_comment(&mut self) {
        loop {
            let (line, eof) = self.rest_of_line();
            let line = line.strip_suffix(b" ").unwrap_or(line);
            if !line.ends_with(b"\\") || eof {
                return;
            }
        }
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

fn trim(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_string()
}

/// The options of a unit file, in order, as go-systemd's `unit.Deserialize` reads them.
pub fn parse_unit_file(text: &str) -> Result<Vec<UnitOption>, UnitFileError> {
    let mut lx = Lexer { bytes: text.as_bytes(), at: 0, line: 1 };
    let mut out = Vec::new();
    let mut section: Option<String> = None;
    loop {
        if lx.line_too_long() {
            return Err(lx.error(format!("line too long (max {LINE_MAX} bytes)")));
        }
        let Some(b) = lx.next_byte() else { return Ok(out) };
        match (b, &section) {
            (b'[', _) => {
                let start = lx.at;
                let Some(end) = lx.bytes[start..].iter().position(|c| *c == b']') else {
                    return Err(lx.error("unable to find end of section"));
                };
                while lx.at < start + end + 1 {
                    lx.next_byte();
                }
                let name = String::from_utf8_lossy(&lx.bytes[start..start + end]).to_string();
                let (garbage, _) = lx.rest_of_line();
                if !trim(garbage).is_empty() {
                    return Err(lx.error(format!("found garbage after section name {name}")));
                }
                section = Some(name);
            }
            (b'#' | b';', _) => lx.skip_comment(),
            // Before the first section everything else is skipped, a byte at a time.
            (_, None) => {}
            (b, Some(_)) if is_space(b) => {}
            (first, Some(current)) => {
                let line = lx.line;
                let mut name = vec![first];
                loop {
                    match lx.next_byte() {
                        None => return Err(lx.error("unexpected end of file in an option name")),
                        Some(b'\n' | b'\r') => {
                            return Err(lx.error("unexpected newline encountered while parsing option name"));
                        }
                        Some(b'=') => break,
                        Some(c) => name.push(c),
                    }
                }
                let mut value = Vec::new();
                loop {
                    let (part, eof) = lx.rest_of_line();
                    if trim(part).is_empty() {
                        break;
                    }
                    value.extend_from_slice(part);
                    if !part.ends_with(b"\\") {
                        break;
                    }
                    if !eof {
                        value.push(b'\n');
                    }
                }
                let joined = String::from_utf8_lossy(&value).to_string();
                let value = match joined.ends_with('\n') {
                    true => format!("{}\n", joined.trim()),
                    false => joined.trim().to_string(),
                };
                out.push(UnitOption { section: current.clone(), name: trim(&name), value, line });
            }
        }
    }
}

/// fleet's `parseMultivalueLine`: a value quoted as a whole is split on spaces between
/// quoted parts, quotes dropped; any other value is one value.
pub fn split_multivalue(value: &str) -> Vec<String> {
    if !(value.starts_with('"') && value.ends_with('"')) {
        return vec![value.to_string()];
    }
    let mut values = Vec::new();
    let mut current = Vec::new();
    let mut quoted = false;
    for b in value.bytes() {
        match b {
            b'"' => quoted = !quoted,
            b' ' if !quoted => values.push(String::from_utf8_lossy(&std::mem::take(&mut current)).to_string()),
            _ => current.push(b),
        }
    }
    values.push(String::from_utf8_lossy(&current).to_string());
    values
}

/// fleet's `unitPrintf`: `%n`, `%N`, `%p` and `%i` replaced from the unit's name, in that order.
pub fn expand_specifiers(value: &str, unit_name: &str) -> String {
    let Some(dot) = unit_name.rfind('.') else {
        return value.to_string();
    };
    let name = &unit_name[..dot];
    let (prefix, instance) = match name.find('@') {
        Some(at) => (&name[..at], &name[at + 1..]),
        None => (name, ""),
    };
    value.replace("%n", unit_name).replace("%N", name).replace("%p", prefix).replace("%i", instance)
}

/// The `[X-Fleet]` keys fleet knows, legacy names included (`job.validRequirements`).
pub const KNOWN_KEYS: [&str; 11] = [
    "MachineID",
    "X-ConditionMachineID",
    "X-ConditionMachineBootID",
    "X-ConditionMachineOf",
    "MachineOf",
    "X-Conflicts",
    "Conflicts",
    "X-ConditionMachineMetadata",
    "MachineMetadata",
    "Global",
    "Replaces",
];

/// What fleet takes from a unit's `[X-Fleet]` section.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// `Global`: the last value, truthy.
    pub global: bool,
    /// The metadata a machine must have: every key, with one of its values.
    pub metadata: BTreeMap<String, BTreeSet<String>>,
    /// `MachineMetadata` values fleet dropped because they are not one `key=value` pair.
    pub dropped_metadata: Vec<String>,
    /// `MachineID`: the first value.
    pub machine_id: Option<String>,
    /// `MachineOf`: the units it must run beside.
    pub machine_of: Vec<String>,
    /// `Conflicts`: globs of units it must not run beside.
    pub conflicts: Vec<String>,
    /// `Replaces`: globs of units it pushes elsewhere.
    pub replaces: Vec<String>,
    /// Keys fleet does not know (fleetctl refuses the unit with "unrecognized requirement").
    pub unknown_keys: Vec<String>,
}

impl Placement {
    /// The placement of the unit named `unit_name` whose options are `options`.
    pub fn of(unit_name: &str, options: &[UnitOption]) -> Placement {
        let mut requirements: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for option in options.iter().filter(|o| o.section == "X-Fleet") {
            let values = split_multivalue(&option.value).into_iter().map(|v| expand_specifiers(&v, unit_name));
            requirements.entry(option.name.as_str()).or_default().extend(values);
        }
        let values = |keys: &[&str]| -> Vec<String> {
            keys.iter().flat_map(|k| requirements.get(k).cloned().unwrap_or_default()).collect()
        };
        let mut placement = Placement {
            global: requirements.get("Global").and_then(|v| v.last()).is_some_and(|v| is_truthy(v)),
            machine_id: ["MachineID", "X-ConditionMachineID", "X-ConditionMachineBootID"]
                .iter()
                .find_map(|k| requirements.get(k).and_then(|v| v.first()).cloned()),
            machine_of: values(&["X-ConditionMachineOf", "MachineOf"]),
            conflicts: fields(values(&["X-Conflicts", "Conflicts"])),
            replaces: fields(values(&["Replaces"])),
            unknown_keys: requirements.keys().filter(|k| !KNOWN_KEYS.contains(k)).map(|k| k.to_string()).collect(),
            ..Placement::default()
        };
        for pair in values(&["X-ConditionMachineMetadata", "MachineMetadata"]) {
            match pair.split('=').collect::<Vec<_>>()[..] {
                [key, value] if !key.is_empty() && !value.is_empty() => {
                    placement.metadata.entry(key.to_string()).or_default().insert(value.to_string());
                }
                _ => placement.dropped_metadata.push(pair),
            }
        }
        placement
    }

    /// fleet's `machine.HasMetadata`: whether a machine with `metadata` may run the unit.
    pub fn runs_on(&self, metadata: &BTreeMap<String, String>) -> bool {
        self.metadata.iter().all(|(key, values)| metadata.get(key).is_some_and(|v| values.contains(v)))
    }
}

fn is_truthy(value: &str) -> bool {
    matches!(value.to_lowercase().as_str(), "true" | "yes" | "1" | "on" | "t")
}

fn fields(values: Vec<String>) -> Vec<String> {
    values.iter().flat_map(|v| v.split_whitespace().map(str::to_string)).collect()
}

/// A machine's metadata as fleetd reads its `metadata` setting: entries split on `,`, each on its
/// first `=`, trimmed; entries without `=` skipped; the last value of a key wins.
pub fn parse_machine_metadata(raw: &str) -> BTreeMap<String, String> {
    raw.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placement(text: &str) -> Placement {
        Placement::of("web@1.service", &parse_unit_file(text).expect("parses"))
    }

    #[test]
    fn unquoted_multi_value_metadata_is_one_dropped_pair() {
        let p = placement("[Service]\nExecStart=/bin/true\n\n[X-Fleet]\nMachineMetadata=zone=a zone=b\n");
        assert!(p.metadata.is_empty(), "{p:?}");
        assert_eq!(p.dropped_metadata, ["zone=a zone=b"]);
        let any = BTreeMap::from([("zone".to_string(), "c".to_string())]);
        assert!(p.runs_on(&any), "an unconstrained unit runs anywhere");
    }

    #[test]
    fn quoted_values_and_separate_lines_group_by_key() {
        let p = placement(
            "[X-Fleet]\nMachineMetadata=\"zone=a\" \"role=worker\"\nX-ConditionMachineMetadata=zone=b\nMachineMetadata=role=central\n",
        );
        let want: BTreeMap<String, BTreeSet<String>> = BTreeMap::from([
            ("role".to_string(), BTreeSet::from(["central".to_string(), "worker".to_string()])),
            ("zone".to_string(), BTreeSet::from(["a".to_string(), "b".to_string()])),
        ]);
        assert_eq!(p.metadata, want);
        let machine = |zone: &str, role: &str| {
            BTreeMap::from([("zone".to_string(), zone.to_string()), ("role".to_string(), role.to_string())])
        };
        assert!(p.runs_on(&machine("b", "worker")));
        assert!(!p.runs_on(&machine("c", "worker")), "AND across keys");
        assert!(!p.runs_on(&BTreeMap::from([("zone".to_string(), "a".to_string())])), "every key must be present");
    }

    #[test]
    fn global_is_the_last_truthy_value_and_specifiers_expand() {
        assert!(placement("[X-Fleet]\nGlobal=false\nGlobal=YES\n").global);
        assert!(!placement("[X-Fleet]\nGlobal=true\nGlobal=no\n").global);
        let p = placement("[X-Fleet]\nConflicts=%p@*.service other.service\nMachineOf=%p-log@%i.service\n");
        assert_eq!(p.conflicts, ["web@*.service", "other.service"]);
        assert_eq!(p.machine_of, ["web-log@1.service"]);
        let p = placement("[X-Fleet]\nX-ConditionMachineID=abc\nMachineID=def\nMachineID=ghi\nBogus=1\n");
        assert_eq!(p.machine_id.as_deref(), Some("def"));
        assert_eq!(p.unknown_keys, ["Bogus"]);
    }

    #[test]
    fn the_lexer_follows_go_systemd() {
        let text = "junk=before [Unit]\n# comment \\\n  Still=comment\nDescription = a \\\n  b\n\n[X-Fleet]\r\nGlobal=true\r\n";
        let options = parse_unit_file(text).expect("parses");
        let seen: Vec<(&str, &str, &str)> =
            options.iter().map(|o| (o.section.as_str(), o.name.as_str(), o.value.as_str())).collect();
        assert_eq!(seen, [("Unit", "Description", "a \\\n  b"), ("X-Fleet", "Global", "true")]);
        assert_eq!(options[1].line, 8);
        assert!(parse_unit_file("[Unit]\nNoEquals\n").is_err());
        assert!(parse_unit_file("[Unit\nX=1\n").is_err());
        assert!(parse_unit_file(&format!("[Unit]\nX={}\n", "a".repeat(LINE_MAX))).is_err());
    }

    #[test]
    fn machine_metadata_keeps_the_last_value_per_key() {
        let m = parse_machine_metadata(" role = a ,junk, role=b,zone=x=y");
        assert_eq!(m.get("role").map(String::as_str), Some("b"));
        assert_eq!(m.get("zone").map(String::as_str), Some("x=y"));
        assert_eq!(m.len(), 2);
    }
}
