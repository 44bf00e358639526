//! A Butane config (`variant: flatcar`) translated as Butane translates it into the Ignition
//! config the machine reads: keys from snake_case to Ignition's camelCase, `inline` contents to
//! `data:` URLs, `mode` read as go-yaml reads an integer (a leading `0` is octal), `version`
//! 1.0.0 to spec 3.3.0 and 1.1.0 to 3.4.0. What needs the author's files (`local`,
//! `contents_local`, `ssh_authorized_keys_local`, `storage.trees`: Butane's `--files-dir`,
//! which the YAML does not record) is not translated, and listed with its line.
//!
//! Each value of the translation keeps the line of the YAML node it comes from, by JSON
//! pointer, so what is said about the Ignition config is said at the Butane file's line.
//! Hostile input: the YAML reader's limits (nodes, alias expansion, nesting); one pass over
//! the tree; keys longer than [`MAX_KEY`] are not translated, so a value's pointer is short
//! whatever the file holds.

use serde_json::{Map, Value};

use super::yaml::{self, Node, Value as Yaml};

/// A Butane config, translated.
#[derive(Clone, Debug, Default)]
pub struct Translated {
    /// The Ignition config, as JSON text.
    pub ignition: String,
    /// The Butane line of each value of it, by JSON pointer.
    pub lines: Vec<(String, usize)>,
    /// What was not translated: pointer (in Ignition's terms), line, why.
    pub untranslated: Vec<(String, usize, &'static str)>,
}

impl Translated {
    /// The entries (files, units, users…) part of which was not translated, by pointer
    /// (`/storage/files/1/contents/local` → `/storage/files/1`): carried without what they
    /// hold, they would be other entries. O(untranslated).
    pub fn untranslated_entries(&self) -> Vec<String> {
        let mut entries: Vec<String> = self
            .untranslated
            .iter()
            .filter_map(|(pointer, _, _)| {
                let parts: Vec<&str> = pointer.split('/').collect();
                let at = parts.iter().rposition(|p| p.parse::<usize>().is_ok())?;
                Some(parts[..=at].join("/"))
            })
            .collect();
        entries.sort();
        entries.dedup();
        entries
    }
}

/// Whether `text` is meant as a Butane config: YAML with a top-level `variant:` key.
pub fn is_butane(text: &str) -> bool {
    text.lines().any(|l| l.starts_with("variant:"))
}

/// The longest key translated (Butane's are a few words).
pub const MAX_KEY: usize = 64;

/// Keys whose values are booleans in Ignition's schema.
const BOOLEANS: &[&str] = &["enabled", "mask", "overwrite", "hard", "wipeTable", "wipeFilesystem", "shouldExist"];

/// Keys whose values are integers in Ignition's schema.
const INTEGERS: &[&str] =
    &["mode", "id", "uid", "gid", "size", "start", "number", "sizeMiB", "startMiB", "level", "spares"];

/// Translates `text`. An error says where and why the file is no Butane config Butane reads.
pub fn translate(text: &str) -> Result<Translated, String> {
    let root = match yaml::parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => return Err("an empty document".into()),
        Err(e) => return Err(format!("line {}: not YAML Butane reads: {}", e.line, e.message)),
    };
    let Yaml::Map(entries) = &root.value else { return Err("not a mapping".into()) };
    let get = |key: &str| entries.iter().find(|(k, _)| k.text() == Some(key)).map(|(_, v)| v);
    match get("variant").and_then(Node::text) {
        Some("flatcar") => {}
        Some(other) => return Err(format!("variant `{other}`: a Flatcar cluster's Butane is `variant: flatcar`")),
        None => return Err("no `variant`".into()),
    }
    let spec = match get("version").and_then(Node::text) {
        Some("1.0.0") => "3.3.0",
        Some("1.1.0") => "3.4.0",
        Some(other) => {
            return Err(format!("version `{other}` of the flatcar variant: Butane translates 1.0.0 and 1.1.0"));
        }
        None => return Err("no `version`".into()),
    };
    let mut out = Translated::default();
    out.lines.push((String::new(), root.line));
    let mut config = Map::new();
    for (key, value) in entries {
        let Some(name) = key.text() else { continue };
        if name == "variant" || name == "version" {
            continue;
        }
        let camel = camel_case(name);
        let pointer = format!("/{camel}");
        config.insert(camel, convert(value, &pointer, &mut out));
    }
    let ignition = config.entry("ignition").or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(map) = ignition {
        map.insert("version".into(), Value::String(spec.into()));
    }
    out.ignition = serde_json::to_string(&Value::Object(config)).unwrap_or_default();
    Ok(out)
}

/// `ssh_authorized_keys` → `sshAuthorizedKeys`.
fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// An integer as go-yaml reads a plain scalar: `0o` or a leading `0` octal, `0x` hex, else
/// decimal.
fn integer(text: &str) -> Option<i64> {
    let t = text.replace('_', "");
    if let Some(octal) = t.strip_prefix("0o") {
        i64::from_str_radix(octal, 8).ok()
    } else if let Some(hex) = t.strip_prefix("0x") {
        i64::from_str_radix(hex, 16).ok()
    } else if t.len() > 1 && t.starts_with('0') {
        i64::from_str_radix(&t[1..], 8).ok()
    } else {
        t.parse().ok()
    }
}

/// A node as the Ignition value it translates to, under `pointer`.
fn convert(node: &Node, pointer: &str, out: &mut Translated) -> Value {
    out.lines.push((pointer.to_string(), node.line));
    let key = pointer.rsplit('/').next().unwrap_or_default();
    match &node.value {
        Yaml::Scalar { .. } if node.is_null() => Value::Null,
        Yaml::Scalar { text, plain } => {
            if BOOLEANS.contains(&key)
                && let Some(b) = node.as_bool()
            {
                return Value::Bool(b);
            }
            if INTEGERS.contains(&key)
                && *plain
                && let Some(n) = integer(text)
            {
                return Value::from(n);
            }
            Value::String(text.clone())
        }
        Yaml::Seq(items) => {
            Value::Array(items.iter().enumerate().map(|(i, n)| convert(n, &format!("{pointer}/{i}"), out)).collect())
        }
        Yaml::Map(entries) => {
            let mut map = Map::new();
            for (k, v) in entries {
                let Some(name) = k.text() else { continue };
                if name.len() > MAX_KEY {
                    // No key of Butane's schema is that long; its pointer, repeated under every
                    // value below it, would cost the square of the file.
                    out.untranslated.push((
                        pointer.to_string(),
                        k.line,
                        "a key longer than any Butane knows: not translated",
                    ));
                    continue;
                }
                let at = format!("{pointer}/{}", camel_case(name));
                match name {
                    "inline" => {
                        out.lines.push((format!("{pointer}/source"), v.line));
                        let text = v.text().unwrap_or_default();
                        map.insert("source".into(), Value::String(format!("data:,{}", percent_encode(text))));
                    }
                    "local" | "contents_local" | "ssh_authorized_keys_local" | "trees" => {
                        let why = "read from the author's files (Butane's `--files-dir`), which the file does not record: what it holds cannot be read here";
                        out.untranslated.push((at, v.line, why));
                    }
                    _ => {
                        let value = convert(v, &at, out);
                        map.insert(camel_case(name), value);
                    }
                }
            }
            Value::Object(map)
        }
    }
}

/// RFC 3986 percent-encoding of everything but the unreserved characters, as a `data:` URL
/// Ignition decodes. O(text).
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn butane_translates_as_butane_does_and_keeps_each_line() {
        let text = "variant: flatcar\nversion: 1.0.0\npasswd:\n  users:\n    - name: core\n      ssh_authorized_keys:\n        - ssh-ed25519 AAAA\nstorage:\n  files:\n    - path: /etc/hostname\n      mode: 0644\n      contents:\n        inline: |\n          etcd-1\n    - path: /etc/x\n      contents:\n        local: x.conf\nsystemd:\n  units:\n    - name: a.service\n      enabled: true\n      contents: \"[Service]\\nExecStart=/bin/true\\n\"\n";
        let t = translate(text).expect("translates");
        let config = super::super::ignition::parse(&t.ignition).expect("Ignition reads it");
        assert_eq!(config.version, "3.3.0");
        assert_eq!(config.users[0].ssh_authorized_keys, ["ssh-ed25519 AAAA"]);
        assert_eq!(config.files[0].mode, Some(0o644));
        assert_eq!(config.files[0].contents, Some(super::super::ignition::Contents::Data(b"etcd-1\n".to_vec())));
        assert_eq!(config.units[0].enabled, Some(true));
        let line = |p: &str| t.lines.iter().find(|(q, _)| q == p).map(|(_, l)| *l);
        assert_eq!(line("/storage/files/0"), Some(10));
        assert_eq!(line("/systemd/units/0"), Some(20));
        assert_eq!(t.untranslated, [("/storage/files/1/contents/local".to_string(), 17, t.untranslated[0].2)]);
        for bad in
            ["variant: fcos\nversion: 1.0.0\n", "variant: flatcar\nversion: 9\n", "variant: flatcar\n", "a: [", ""]
        {
            assert!(translate(bad).is_err(), "{bad}");
        }
        assert_eq!(
            (integer("0644"), integer("420"), integer("0o755"), integer("0x1ff")),
            (Some(420), Some(420), Some(493), Some(511))
        );
    }
}
