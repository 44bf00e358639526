//! A cloud-config as coreos-cloudinit reads it: the `#cloud-config` header, every `-` in a key
//! read as `_`, string fields taking any scalar's text (an unquoted `off` reaches
//! `reboot_strategy` as "off", since the typed value wins where the kinds are compatible), bool
//! fields only YAML 1.1 booleans. The keys this reader takes are kept with their positions;
//! everything else is listed, so a caller can say what it did not read.

use super::yaml::{self, Node, Value};

/// A scalar setting and where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    /// The text, as a string field receives it.
    pub value: String,
    /// 1-based line.
    pub line: usize,
}

/// A `coreos.<section>` mapping (`etcd2`, `fleet`, …): its settings in order, keys in `_` form.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Section {
    /// The settings.
    pub fields: Vec<(String, Field)>,
    /// Keys written with no value (`discovery:`, or `discovery: #DISCOVERY_URL`, whose comment
    /// leaves it empty): the decoder reads them as the empty string, the same as no key, but
    /// the file says a value was meant to be filled in there.
    pub empty: Vec<(String, usize)>,
    /// Where the section starts.
    pub line: usize,
}

impl Section {
    /// The value of `key` (in `_` form); the last one written wins, as in a YAML mapping read
    /// into a struct.
    pub fn get(&self, key: &str) -> Option<&Field> {
        self.fields.iter().rev().find(|(k, _)| k == key).map(|(_, f)| f)
    }
}

/// An entry of `coreos.units`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudUnit {
    /// `name`.
    pub name: Option<Field>,
    /// `command`.
    pub command: Option<Field>,
    /// `content`.
    pub content: Option<Field>,
    /// `runtime`.
    pub runtime: bool,
    /// `enable`.
    pub enable: bool,
    /// `mask`.
    pub mask: bool,
    /// `drop_ins`, as (name, content).
    pub drop_ins: Vec<(Field, Field)>,
    /// Where the entry starts.
    pub line: usize,
}

/// An entry of `write_files`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteFile {
    /// `path`.
    pub path: Option<Field>,
    /// `content`.
    pub content: Option<Field>,
    /// `permissions`.
    pub permissions: Option<Field>,
    /// `owner`.
    pub owner: Option<Field>,
    /// `encoding`.
    pub encoding: Option<Field>,
    /// Where the entry starts.
    pub line: usize,
}

/// Something in the file this reader does not take, or takes differently than it was meant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unread {
    /// The key's path, `coreos.flannel.interface` or `users[0]`.
    pub key: String,
    /// 1-based line.
    pub line: usize,
    /// Why it is listed.
    pub why: String,
}

/// A key written twice in one mapping, read as coreos-cloudinit's YAML decoder reads it: a
/// scalar or a list the later one replaces, a mapping (a `coreos.<section>`) the later one
/// merges into, its keys winning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Repeated {
    /// The key's path, such as `coreos.fleet` or `hostname`.
    pub key: String,
    /// The line of the later one.
    pub line: usize,
    /// The line of the first.
    pub first: usize,
}

/// What reading a file found besides its values: what was not read, and what was repeated.
#[derive(Clone, Debug, Default)]
struct Reading {
    unread: Vec<Unread>,
    repeated: Vec<Repeated>,
}

impl Reading {
    fn push(&mut self, u: Unread) {
        self.unread.push(u);
    }
}

/// A cloud-config as coreos-cloudinit reads it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CloudConfig {
    /// `hostname`.
    pub hostname: Option<Field>,
    /// `ssh_authorized_keys`.
    pub ssh_authorized_keys: Vec<Field>,
    /// `coreos.etcd2`.
    pub etcd2: Option<Section>,
    /// `coreos.etcd` (etcd 0.4).
    pub etcd: Option<Section>,
    /// `coreos.fleet`.
    pub fleet: Option<Section>,
    /// `coreos.locksmith`.
    pub locksmith: Option<Section>,
    /// `coreos.update`.
    pub update: Option<Section>,
    /// `coreos.flannel`.
    pub flannel: Option<Section>,
    /// `coreos.units`.
    pub units: Vec<CloudUnit>,
    /// `write_files`.
    pub write_files: Vec<WriteFile>,
    /// What was not read.
    pub unread: Vec<Unread>,
    /// Keys written twice in one mapping.
    pub repeated: Vec<Repeated>,
}

impl CloudConfig {
    /// The `coreos.<name>` section this reader keeps (`etcd2`, `etcd`, `fleet`, `locksmith`,
    /// `update`, `flannel`), if the file has it.
    pub fn section(&self, name: &str) -> Option<&Section> {
        match name {
            "etcd2" => self.etcd2.as_ref(),
            "etcd" => self.etcd.as_ref(),
            "fleet" => self.fleet.as_ref(),
            "locksmith" => self.locksmith.as_ref(),
            "update" => self.update.as_ref(),
            "flannel" => self.flannel.as_ref(),
            _ => None,
        }
    }
}

/// Why a file is not a cloud-config this reader can take.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudConfigError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Whether `text` is a cloud-config: its first line, trailing whitespace removed, is exactly
/// `#cloud-config`.
pub fn is_cloud_config(text: &str) -> bool {
    text.lines().next().is_some_and(|l| l.trim_end() == "#cloud-config")
}

/// `-` in a key is read as `_`, as coreos-cloudinit normalises keys before decoding.
fn normalise(key: &str) -> String {
    key.replace('-', "_")
}

fn scalar(node: &Node, key: &str, unread: &mut Reading) -> Option<Field> {
    match node.text() {
        Some(_) if node.is_null() => None,
        Some(text) => Some(Field { value: text.to_string(), line: node.line }),
        None => {
            unread.push(Unread {
                key: key.to_string(),
                line: node.line,
                why: format!("a string was expected, this is {}", node.kind()),
            });
            None
        }
    }
}

fn boolean(node: &Node, key: &str, unread: &mut Reading) -> bool {
    node.as_bool().unwrap_or_else(|| {
        if !node.is_null() {
            unread.push(Unread {
                key: key.to_string(),
                line: node.line,
                why: "coreos-cloudinit takes only an unquoted YAML boolean here, and reads this one as false".into(),
            });
        }
        false
    })
}

/// A mapping's entries: the key in `_` form, the line it is on, and the value. A key written
/// twice is recorded in [`Reading::repeated`]; its entries are all returned, in order, for the
/// caller to read as the decoder does. O(entries), with a hash of keys.
fn mapping<'n>(node: &'n Node, key: &str, unread: &mut Reading) -> Vec<(String, usize, &'n Node)> {
    let entries = mapping_entries(node, key, unread);
    let mut first: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (k, line, _) in &entries {
        if let Some(&at) = first.get(k.as_str()) {
            let path = if key.is_empty() { k.clone() } else { format!("{key}.{k}") };
            unread.repeated.push(Repeated { key: path, line: *line, first: at });
        } else {
            first.insert(k, *line);
        }
    }
    entries
}

fn mapping_entries<'n>(node: &'n Node, key: &str, unread: &mut Reading) -> Vec<(String, usize, &'n Node)> {
    match &node.value {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| match k.text() {
                Some(text) => Some((normalise(text), k.line, v)),
                None => {
                    unread.push(Unread {
                        key: key.to_string(),
                        line: k.line,
                        why: "a key that is not a string".into(),
                    });
                    None
                }
            })
            .collect(),
        _ if node.is_null() => Vec::new(),
        _ => {
            unread.push(Unread {
                key: key.to_string(),
                line: node.line,
                why: format!("a mapping was expected, this is {}", node.kind()),
            });
            Vec::new()
        }
    }
}

fn sequence<'n>(node: &'n Node, key: &str, unread: &mut Reading) -> &'n [Node] {
    match &node.value {
        Value::Seq(items) => items,
        _ => {
            if !node.is_null() {
                unread.push(Unread {
                    key: key.to_string(),
                    line: node.line,
                    why: format!("a list was expected, this is {}", node.kind()),
                });
            }
            &[]
        }
    }
}

fn section(node: &Node, key: &str, unread: &mut Reading) -> Section {
    let mut out = Section { fields: Vec::new(), empty: Vec::new(), line: node.line };
    for (k, _, v) in mapping(node, key, unread) {
        if v.is_null() {
            out.empty.push((k, v.line));
            continue;
        }
        let path = format!("{key}.{k}");
        // Bool settings (`client_cert_auth`, …) are kept as their YAML 1.1 reading.
        let field = match v.as_bool() {
            Some(b) if !matches!(k.as_str(), "proxy" | "reboot_strategy") => {
                Some(Field { value: b.to_string(), line: v.line })
            }
            _ => scalar(v, &path, unread),
        };
        if let Some(field) = field {
            out.fields.push((k, field));
        }
    }
    out
}

/// Reads `text` as coreos-cloudinit does.
pub fn parse(text: &str) -> Result<CloudConfig, CloudConfigError> {
    if !is_cloud_config(text) {
        return Err(CloudConfigError { message: "the first line is not `#cloud-config`".into(), line: 1, column: 1 });
    }
    let root =
        yaml::parse(text).map_err(|e| CloudConfigError { message: e.message, line: e.line, column: e.column })?;
    let Some(root) = root else { return Ok(CloudConfig::default()) };
    let mut reading = Reading::default();
    let unread = &mut reading;
    let (mut hostname, mut keys, mut units, mut files) = (None, Vec::new(), Vec::new(), Vec::new());
    let mut sections: [(&str, Option<Section>); 6] =
        [("etcd2", None), ("etcd", None), ("fleet", None), ("locksmith", None), ("update", None), ("flannel", None)];
    for (key, line, value) in mapping(&root, "", unread) {
        match key.as_str() {
            "hostname" => hostname = scalar(value, "hostname", unread),
            "ssh_authorized_keys" => {
                // A list written again replaces the first.
                keys.clear();
                for item in sequence(value, "ssh_authorized_keys", unread) {
                    keys.extend(scalar(item, "ssh_authorized_keys", unread));
                }
            }
            "write_files" => {
                files.clear();
                for (i, item) in sequence(value, "write_files", unread).iter().enumerate() {
                    let at = format!("write_files[{i}]");
                    let mut file = WriteFile { line: item.line, ..WriteFile::default() };
                    for (k, line, v) in mapping(item, &at, unread) {
                        let path = format!("{at}.{k}");
                        let slot = match k.as_str() {
                            "path" => &mut file.path,
                            "content" => &mut file.content,
                            "permissions" => &mut file.permissions,
                            "owner" => &mut file.owner,
                            "encoding" => &mut file.encoding,
                            _ => {
                                unread.push(Unread { key: path, line, why: "not a write_files key".into() });
                                continue;
                            }
                        };
                        *slot = scalar(v, &path, unread);
                    }
                    files.push(file);
                }
            }
            "coreos" => {
                for (k, line, v) in mapping(value, "coreos", unread) {
                    let path = format!("coreos.{k}");
                    if let Some((_, slot)) = sections.iter_mut().find(|(name, _)| *name == k) {
                        // A section written again merges into the first (a struct decoded
                        // twice), its keys winning: `Section::get` takes the last.
                        let later = section(v, &path, unread);
                        *slot = Some(match slot.take() {
                            Some(mut earlier) => {
                                earlier.fields.extend(later.fields);
                                earlier.empty.extend(later.empty);
                                earlier
                            }
                            None => later,
                        });
                    } else if k == "units" {
                        units.clear();
                        for (i, item) in sequence(v, &path, unread).iter().enumerate() {
                            units.push(unit(item, &format!("coreos.units[{i}]"), unread));
                        }
                    } else {
                        unread.push(Unread { key: path, line, why: "clusterdef does not model it".into() });
                    }
                }
            }
            _ => unread.push(Unread { key, line, why: "clusterdef does not model it".into() }),
        }
    }
    let [etcd2, etcd, fleet, locksmith, update, flannel] = sections.map(|(_, s)| s);
    Ok(CloudConfig {
        hostname,
        ssh_authorized_keys: keys,
        etcd2,
        etcd,
        fleet,
        locksmith,
        update,
        flannel,
        units,
        write_files: files,
        unread: reading.unread,
        repeated: reading.repeated,
    })
}

fn unit(node: &Node, at: &str, unread: &mut Reading) -> CloudUnit {
    let mut out = CloudUnit { line: node.line, ..CloudUnit::default() };
    for (k, line, v) in mapping(node, at, unread) {
        let path = format!("{at}.{k}");
        match k.as_str() {
            "name" => out.name = scalar(v, &path, unread),
            "command" => out.command = scalar(v, &path, unread),
            "content" => out.content = scalar(v, &path, unread),
            "runtime" => out.runtime = boolean(v, &path, unread),
            "enable" => out.enable = boolean(v, &path, unread),
            "mask" => out.mask = boolean(v, &path, unread),
            "drop_ins" => {
                for (i, item) in sequence(v, &path, unread).iter().enumerate() {
                    let at = format!("{path}[{i}]");
                    let pairs = mapping(item, &at, unread);
                    let get = |key: &str, unread: &mut Reading| {
                        pairs
                            .iter()
                            .find(|(k, _, _)| k == key)
                            .and_then(|(_, _, v)| scalar(v, &format!("{at}.{key}"), unread))
                    };
                    if let (Some(name), Some(content)) = (get("name", unread), get("content", unread)) {
                        out.drop_ins.push((name, content));
                    }
                }
            }
            _ => unread.push(Unread { key: path, line, why: "not a coreos.units key".into() }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_normalised_strings_take_any_scalar_and_the_rest_is_listed() {
        let text = "#cloud-config\nhostname: core-01\ncoreos:\n  update:\n    reboot-strategy: off\n  etcd2:\n    client-cert-auth: yes\n    proxy: on\n  flannel:\n    interface: eth1\n  units:\n    - name: etcd2.service\n      command: start\n      enable: \"true\"\nusers:\n  - name: core\n";
        let config = parse(text).expect("reads");
        assert_eq!(config.hostname.as_ref().map(|f| f.value.as_str()), Some("core-01"));
        let update = config.update.as_ref().expect("update");
        assert_eq!(update.get("reboot_strategy").map(|f| (f.value.as_str(), f.line)), Some(("off", 5)));
        let etcd2 = config.etcd2.as_ref().expect("etcd2");
        assert_eq!(etcd2.get("client_cert_auth").map(|f| f.value.as_str()), Some("true"));
        assert_eq!(etcd2.get("proxy").map(|f| f.value.as_str()), Some("on"));
        assert_eq!(config.units[0].command.as_ref().map(|f| f.value.as_str()), Some("start"));
        assert!(!config.units[0].enable, "a quoted \"true\" is not a boolean to coreos-cloudinit");
        let unread: Vec<(&str, usize)> = config.unread.iter().map(|u| (u.key.as_str(), u.line)).collect();
        assert_eq!(unread, [("coreos.units[0].enable", 14), ("users", 15)]);
    }

    #[test]
    fn a_file_without_the_header_or_with_broken_yaml_is_an_error_with_a_position() {
        assert_eq!(parse("hostname: x\n").expect_err("no header").line, 1);
        assert!(parse("#cloud-config  \n").is_ok(), "trailing whitespace after the header is allowed");
        let error = parse("#cloud-config\ncoreos:\n  units: [\n").expect_err("broken");
        assert!(error.line >= 3, "{error:?}");
    }

    /// go-yaml decodes a mapping written twice into the same struct: a section merges, its later
    /// keys winning; a scalar or a list is replaced. Each repeat is listed with both lines.
    #[test]
    fn repeated_keys_read_as_the_decoder_reads_them() {
        let text = "#cloud-config\nhostname: a\nhostname: b\ncoreos:\n  fleet:\n    metadata: role=x\n    public-ip: 1.1.1.1\n  units:\n    - name: one.service\n  fleet:\n    public-ip: 2.2.2.2\n  units:\n    - name: two.service\n  etcd2:\n    discovery: #DISCOVERY_URL\n";
        let config = parse(text).expect("reads");
        assert_eq!(config.hostname.as_ref().map(|f| f.value.as_str()), Some("b"));
        let fleet = config.fleet.as_ref().expect("fleet");
        assert_eq!(fleet.get("metadata").map(|f| f.value.as_str()), Some("role=x"), "kept from the first");
        assert_eq!(fleet.get("public_ip").map(|f| (f.value.as_str(), f.line)), Some(("2.2.2.2", 11)), "the later wins");
        let units: Vec<&str> = config.units.iter().filter_map(|u| u.name.as_ref()).map(|n| n.value.as_str()).collect();
        assert_eq!(units, ["two.service"], "a list written again replaces the first");
        let repeated: Vec<(&str, usize, usize)> =
            config.repeated.iter().map(|r| (r.key.as_str(), r.line, r.first)).collect();
        assert_eq!(repeated, [("hostname", 3, 2), ("coreos.fleet", 10, 5), ("coreos.units", 12, 8)]);
        let etcd2 = config.etcd2.as_ref().expect("etcd2");
        assert_eq!(etcd2.get("discovery"), None);
        assert_eq!(etcd2.empty, [("discovery".to_string(), 15)], "a key with only a comment after it");
    }
}
