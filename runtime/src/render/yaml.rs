//! A YAML writer for cloud-configs that every YAML reader, 1.1 or 1.2, reads back as written.
//!
//! Every string is quoted (double quotes with escapes) or written as a literal block, never as
//! a plain scalar: YAML 1.1 readers, the ones of the CoreOS era among them (coreos-cloudinit's
//! weak parse, PyYAML, Ruby's Psych), read plain `off`, `on`, `yes`, `no`, `0644`, `1e3`, `~`
//! and `null` as booleans, numbers and nulls. Booleans and integers are written plain, because
//! cloud-config's typed fields (`runtime`, `enable`) want real booleans.

use std::fmt::Write as _;

/// A YAML value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Yaml {
    /// A string; always read back as this exact string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A sequence.
    Seq(Vec<Yaml>),
    /// A mapping, in the order given.
    Map(Vec<(String, Yaml)>),
}

impl Yaml {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Yaml {
        Yaml::Str(s.into())
    }
}

/// A mapping under construction; entries keep their order.
#[derive(Clone, Debug, Default)]
pub struct MapBuilder(Vec<(String, Yaml)>);

impl MapBuilder {
    /// An empty mapping.
    pub fn new() -> MapBuilder {
        MapBuilder(Vec::new())
    }

    /// Adds `key: value`.
    pub fn set(mut self, key: &str, value: Yaml) -> MapBuilder {
        self.0.push((key.to_string(), value));
        self
    }

    /// Adds `key: "value"`.
    pub fn str(self, key: &str, value: impl Into<String>) -> MapBuilder {
        self.set(key, Yaml::Str(value.into()))
    }

    /// Adds `key: "value"` when there is a value.
    pub fn opt_str(self, key: &str, value: Option<impl Into<String>>) -> MapBuilder {
        match value {
            Some(v) => self.str(key, v),
            None => self,
        }
    }

    /// Adds `key: value` when the mapping or sequence is not empty.
    pub fn non_empty(self, key: &str, value: Yaml) -> MapBuilder {
        match &value {
            Yaml::Map(m) if m.is_empty() => self,
            Yaml::Seq(s) if s.is_empty() => self,
            _ => self.set(key, value),
        }
    }

    /// The finished mapping.
    pub fn build(self) -> Yaml {
        Yaml::Map(self.0)
    }
}

/// Writes a document: `header` lines (such as `#cloud-config`) first, then the value, which
/// should be a mapping.
pub fn document(header: &str, value: &Yaml) -> String {
    let mut out = String::with_capacity(4096);
    out.push_str(header);
    out.push('\n');
    match value {
        Yaml::Map(entries) if !entries.is_empty() => write_map(&mut out, entries, 0),
        other => {
            write_inline(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut left = n;
    while left > 0 {
        let step = left.min(SPACES.len());
        out.push_str(&SPACES[..step]);
        left -= step;
    }
}

fn is_plain_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && !matches!(
            key.to_ascii_lowercase().as_str(),
            "y" | "n" | "yes" | "no" | "on" | "off" | "true" | "false" | "null"
        )
}

fn write_key(out: &mut String, key: &str) {
    if is_plain_key(key) {
        out.push_str(key);
    } else {
        write_quoted(out, key);
    }
}

/// Writes the entries of a block mapping at `level` spaces.
fn write_map(out: &mut String, entries: &[(String, Yaml)], level: usize) {
    for (key, value) in entries {
        indent(out, level);
        write_key(out, key);
        out.push(':');
        write_child(out, value, level);
    }
}

/// Writes what follows `key:` or `-`: a nested block on the next lines, or ` value` and a newline.
fn write_child(out: &mut String, value: &Yaml, level: usize) {
    match value {
        Yaml::Map(entries) if !entries.is_empty() => {
            out.push('\n');
            write_map(out, entries, level + 2);
        }
        Yaml::Seq(items) if !items.is_empty() => {
            out.push('\n');
            write_seq(out, items, level + 2);
        }
        _ => {
            out.push(' ');
            write_inline(out, value, level + 2);
            out.push('\n');
        }
    }
}

fn write_seq(out: &mut String, items: &[Yaml], level: usize) {
    for item in items {
        indent(out, level);
        out.push('-');
        match item {
            // `- key: value` with the rest of the mapping aligned under the first key.
            Yaml::Map(entries) if !entries.is_empty() => {
                out.push(' ');
                let mut first = true;
                for (key, value) in entries {
                    if !first {
                        indent(out, level + 2);
                    }
                    first = false;
                    write_key(out, key);
                    out.push(':');
                    write_child(out, value, level + 2);
                }
            }
            other => write_child(out, other, level),
        }
    }
}

/// A scalar or an empty collection, on the current line; block strings continue below at
/// `level` spaces.
fn write_inline(out: &mut String, value: &Yaml, level: usize) {
    match value {
        Yaml::Str(s) => write_string(out, s, level),
        Yaml::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Yaml::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Yaml::Seq(_) => out.push_str("[]"),
        Yaml::Map(_) => out.push_str("{}"),
    }
}

fn write_string(out: &mut String, s: &str, level: usize) {
    if literal_block_fits(s) {
        write_literal_block(out, s, level);
    } else {
        write_quoted(out, s);
    }
}

/// Whether `s` reads back exactly from a literal block (`|`): several lines of printable text,
/// none with trailing whitespace, and the first line that is not empty without leading
/// whitespace: a reader takes the block's indentation from that line, so its own leading
/// spaces would be read as indentation and lost (`"\n a"` read back as `"\na"`).
fn literal_block_fits(s: &str) -> bool {
    let body = s.trim_end_matches('\n');
    body.contains('\n')
        && !body.trim_start_matches('\n').starts_with(' ')
        && s.chars().all(|c| c == '\n' || (!c.is_control() && !is_yaml_break_or_bom(c)))
        && body.lines().all(|line| !line.ends_with(' '))
}

fn is_yaml_break_or_bom(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{feff}')
}

fn write_literal_block(out: &mut String, s: &str, level: usize) {
    let body = s.trim_end_matches('\n');
    let trailing = s.len() - body.len();
    out.push_str(match trailing {
        0 => "|-",
        1 => "|",
        _ => "|+",
    });
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            indent(out, level);
            out.push_str(line);
        }
    }
    // The caller ends the last line; `|+` keeps the further line breaks as empty lines.
    for _ in 1..trailing.max(1) {
        out.push('\n');
    }
}

/// A double-quoted scalar; every character that could be read differently is escaped.
pub fn write_quoted(out: &mut String, s: &str) {
    out.push('"');
    // Most strings need no escape at all: copy them whole.
    if !s.chars().any(needs_escape) {
        out.push_str(s);
        out.push('"');
        return;
    }
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push_str("\\0"),
            '\u{85}' => out.push_str("\\N"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if (c as u32) < 0x20 || (0x7f..=0x9f).contains(&(c as u32)) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{feff}' => out.push_str("\\ufeff"),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn needs_escape(c: char) -> bool {
    matches!(c, '"' | '\\') || c.is_control() || is_yaml_break_or_bom(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_of_maps_sequences_and_blocks() {
        let doc = MapBuilder::new()
            .str("hostname", "central-1")
            .set("ssh_authorized_keys", Yaml::Seq(vec![Yaml::str("ssh-ed25519 AAAA k")]))
            .set(
                "coreos",
                MapBuilder::new()
                    .set(
                        "units",
                        Yaml::Seq(vec![
                            MapBuilder::new()
                                .str("name", "00-eth0.network")
                                .set("runtime", Yaml::Bool(true))
                                .str("content", "[Match]\nName=eth0\n")
                                .build(),
                        ]),
                    )
                    .set("empty", Yaml::Seq(vec![]))
                    .build(),
            )
            .build();
        let text = document("#cloud-config", &doc);
        assert_eq!(
            text,
            "#cloud-config\nhostname: \"central-1\"\nssh_authorized_keys:\n  - \"ssh-ed25519 AAAA k\"\ncoreos:\n  units:\n    - name: \"00-eth0.network\"\n      runtime: true\n      content: |\n        [Match]\n        Name=eth0\n  empty: []\n"
        );
    }

    #[test]
    fn chomping_follows_the_trailing_newlines() {
        let block = |s: &str| {
            let mut out = String::new();
            write_string(&mut out, s, 2);
            out
        };
        assert_eq!(block("a\nb"), "|-\n  a\n  b");
        assert_eq!(block("a\nb\n"), "|\n  a\n  b");
        assert_eq!(block("a\nb\n\n"), "|+\n  a\n  b\n");
        assert_eq!(block(" a\nb"), "\" a\\nb\"", "leading space falls back to quotes");
        assert_eq!(block("a \nb"), "\"a \\nb\"", "trailing space falls back to quotes");
        assert_eq!(block("off"), "\"off\"");
    }
}
