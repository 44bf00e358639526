//! An Ignition config (spec 3.x) as Ignition reads it, for the importer: what it writes and
//! enables on a machine, each file's contents decoded as Ignition decodes them, and what it
//! would fetch from elsewhere (which an importer cannot follow offline).
//!
//! - Versions 3.0.0 to 3.6.0 (no breaking changes within spec 3; later fields are read where
//!   the importer uses them). Spec 2 configs, which Flatcar translates at boot, are refused with
//!   that reason.
//! - A `data:` URL is decoded as Ignition's decoder does: `data:[<media type>][;base64],<data>`,
//!   the data percent-decoded, then base64-decoded when marked so, then gunzipped when
//!   `compression` is `gzip`. Any other scheme (`http`, `https`, `tftp`, `s3`, `gs`, `arn`) is a
//!   [`Contents::Remote`].
//! - `ignition.config.merge` and `replace` with a `data:` URL are read as configs of their own
//!   (to a depth of [`MAX_DEPTH`]); with another URL, a remote reference.
//! - `storage.disks`, `raid`, `filesystems` and `luks`, `kernelArguments`, and keys this reader
//!   does not know are listed in [`Config::unread`], by JSON pointer, so an importer names them.
//!
//! Hostile input: every decoded byte (data URLs, their gzip expansion, nested configs) counts
//! against one budget of [`MAX_DECODED`] bytes per config, checked before and while decoding;
//! nesting is bounded; nothing is fetched.

use std::io::Read as _;

use serde_json::{Map, Value};

/// The most bytes a config's contents may decode to in all (its nested configs included).
pub const MAX_DECODED: usize = 64 << 20;

/// The deepest nesting of configs in `data:` URLs read.
pub const MAX_DEPTH: usize = 8;

/// A config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// `ignition.version`.
    pub version: String,
    /// `ignition.config.merge`, in order.
    pub merge: Vec<Reference>,
    /// `ignition.config.replace`.
    pub replace: Option<Reference>,
    /// `passwd.users`.
    pub users: Vec<User>,
    /// `storage.files`.
    pub files: Vec<File>,
    /// `storage.directories`: path and mode.
    pub directories: Vec<(String, Option<u32>)>,
    /// `storage.links`: path, target, and whether it is a hard link.
    pub links: Vec<(String, String, bool)>,
    /// `systemd.units`.
    pub units: Vec<Unit>,
    /// What the config says that this reader does not read, by JSON pointer, with why.
    pub unread: Vec<(String, &'static str)>,
}

/// Another config a config refers to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    /// A config inline, in a `data:` URL.
    Inline(Box<Config>),
    /// A config at a URL that is fetched at boot.
    Remote(String),
}

/// A user of `passwd.users`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    /// `name`.
    pub name: String,
    /// `sshAuthorizedKeys`.
    pub ssh_authorized_keys: Vec<String>,
}

/// A file of `storage.files`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct File {
    /// `path`.
    pub path: String,
    /// `mode`, as written (decimal in JSON).
    pub mode: Option<u32>,
    /// `overwrite`.
    pub overwrite: Option<bool>,
    /// `user`: a name or an id.
    pub user: Option<Owner>,
    /// `group`: a name or an id.
    pub group: Option<Owner>,
    /// `contents`.
    pub contents: Option<Contents>,
    /// `append`, in order.
    pub append: Vec<Contents>,
}

/// Who owns a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Owner {
    /// By name.
    Name(String),
    /// By id.
    Id(u32),
}

/// A file's contents.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Contents {
    /// Decoded from a `data:` URL (and gunzipped).
    Data(Vec<u8>),
    /// Fetched from a URL at boot.
    Remote(String),
}

/// A unit of `systemd.units`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Unit {
    /// `name`.
    pub name: String,
    /// `contents`.
    pub contents: Option<String>,
    /// `enabled` (`None`: left as the image has it).
    pub enabled: Option<bool>,
    /// `mask`.
    pub mask: Option<bool>,
    /// `dropins`: name and contents.
    pub dropins: Vec<(String, Option<String>)>,
}

/// Why a config cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IgnitionError(pub String);

impl std::fmt::Display for IgnitionError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IgnitionError {}

fn fail<T>(why: impl Into<String>) -> Result<T, IgnitionError> {
    Err(IgnitionError(why.into()))
}

/// Whether `value` sets anything: a null, or objects and arrays holding only such (matchbox
/// re-marshals every config with `"security": {"tls": {}}`), set nothing. O(value).
fn says_something(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Object(map) => map.values().any(says_something),
        Value::Array(items) => items.iter().any(says_something),
        _ => true,
    }
}

/// Reads `text` as an Ignition config. O(text + decoded bytes).
pub fn parse(text: &str) -> Result<Config, IgnitionError> {
    let mut budget = MAX_DECODED;
    parse_nested(text.as_bytes(), 0, &mut budget)
}

fn parse_nested(bytes: &[u8], depth: usize, budget: &mut usize) -> Result<Config, IgnitionError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| IgnitionError(format!("not JSON: {e}")))?;
    let Value::Object(root) = value else { return fail("not a JSON object") };
    let mut reader = Reader { config: Config::default(), depth, budget };
    reader.root(&root)?;
    Ok(reader.config)
}

struct Reader<'b> {
    config: Config,
    depth: usize,
    budget: &'b mut usize,
}

impl Reader<'_> {
    fn unread(&mut self, pointer: String, why: &'static str) {
        self.config.unread.push((pointer, why));
    }

    /// The object at `pointer` (`None` for null or absent), or an error for another type.
    fn object<'v>(value: Option<&'v Value>, pointer: &str) -> Result<Option<&'v Map<String, Value>>, IgnitionError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Object(map)) => Ok(Some(map)),
            Some(_) => fail(format!("{pointer} is not an object")),
        }
    }

    fn array<'v>(value: Option<&'v Value>, pointer: &str) -> Result<&'v [Value], IgnitionError> {
        match value {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => fail(format!("{pointer} is not an array")),
        }
    }

    fn string(value: Option<&Value>, pointer: &str) -> Result<Option<String>, IgnitionError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => fail(format!("{pointer} is not a string")),
        }
    }

    fn boolean(value: Option<&Value>, pointer: &str) -> Result<Option<bool>, IgnitionError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => fail(format!("{pointer} is not a boolean")),
        }
    }

    fn number(value: Option<&Value>, pointer: &str) -> Result<Option<u32>, IgnitionError> {
        match value {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => match n.as_u64().and_then(|n| u32::try_from(n).ok()) {
                Some(n) => Ok(Some(n)),
                None => fail(format!("{pointer} is not an integer from 0 to 4294967295")),
            },
            Some(_) => fail(format!("{pointer} is not a number")),
        }
    }

    /// Notes every key of `map` at `pointer` that is not in `known`.
    fn rest(&mut self, map: &Map<String, Value>, pointer: &str, known: &[&str]) {
        for key in map.keys().filter(|k| !known.contains(&k.as_str())) {
            self.unread(format!("{pointer}/{key}"), "a key this reader does not know");
        }
    }

    fn root(&mut self, root: &Map<String, Value>) -> Result<(), IgnitionError> {
        let Some(ignition) = Reader::object(root.get("ignition"), "/ignition")? else {
            return fail("no `ignition` section, so no version");
        };
        let version = Reader::string(ignition.get("version"), "/ignition/version")?.unwrap_or_default();
        match version.split('.').collect::<Vec<_>>().as_slice() {
            ["3", minor, _] if minor.parse::<u32>().is_ok_and(|m| m <= 6) => {}
            ["2", ..] | ["1", ..] => {
                return fail(format!(
                    "spec {version}: Flatcar translates spec 2 configs at boot; translate it to spec 3 (`ign-converter`) to import it"
                ));
            }
            _ => return fail(format!("spec {version:?} is not one Ignition 3 reads (3.0.0 to 3.6.0)")),
        }
        self.config.version = version;
        if let Some(config) = Reader::object(ignition.get("config"), "/ignition/config")? {
            for (i, item) in Reader::array(config.get("merge"), "/ignition/config/merge")?.iter().enumerate() {
                let reference = self.reference(item, &format!("/ignition/config/merge/{i}"))?;
                self.config.merge.extend(reference);
            }
            if let Some(replace) = config.get("replace").filter(|v| !v.is_null()) {
                self.config.replace = self.reference(replace, "/ignition/config/replace")?;
            }
            self.rest(config, "/ignition/config", &["merge", "replace"]);
        }
        self.rest(ignition, "/ignition", &["version", "config", "timeouts", "security", "proxy"]);
        for (key, why) in [
            ("timeouts", "fetch timeouts: nothing clusterdef declares"),
            ("security", "TLS for fetching remote configs: nothing clusterdef declares"),
            ("proxy", "a proxy for fetching: nothing clusterdef declares"),
        ] {
            if ignition.get(key).is_some_and(says_something) {
                self.unread(format!("/ignition/{key}"), why);
            }
        }
        if let Some(passwd) = Reader::object(root.get("passwd"), "/passwd")? {
            for (i, user) in Reader::array(passwd.get("users"), "/passwd/users")?.iter().enumerate() {
                self.user(user, &format!("/passwd/users/{i}"))?;
            }
            if !Reader::array(passwd.get("groups"), "/passwd/groups")?.is_empty() {
                self.unread("/passwd/groups".to_string(), "groups of accounts: nothing clusterdef declares");
            }
            self.rest(passwd, "/passwd", &["users", "groups"]);
        }
        if let Some(storage) = Reader::object(root.get("storage"), "/storage")? {
            self.storage(storage)?;
        }
        if let Some(systemd) = Reader::object(root.get("systemd"), "/systemd")? {
            for (i, unit) in Reader::array(systemd.get("units"), "/systemd/units")?.iter().enumerate() {
                self.unit(unit, &format!("/systemd/units/{i}"))?;
            }
            self.rest(systemd, "/systemd", &["units"]);
        }
        if root.get("kernelArguments").is_some_and(says_something) {
            self.unread("/kernelArguments".to_string(), "kernel arguments: nothing clusterdef declares");
        }
        self.rest(root, "", &["ignition", "passwd", "storage", "systemd", "kernelArguments"]);
        Ok(())
    }

    fn reference(&mut self, value: &Value, pointer: &str) -> Result<Option<Reference>, IgnitionError> {
        let Some(map) = Reader::object(Some(value), pointer)? else { return Ok(None) };
        let Some(contents) = self.contents(map, pointer)? else { return Ok(None) };
        Ok(Some(match contents {
            Contents::Remote(url) => Reference::Remote(url),
            Contents::Data(bytes) => {
                if self.depth + 1 > MAX_DEPTH {
                    return fail(format!("{pointer}: configs nested deeper than {MAX_DEPTH}"));
                }
                let child = parse_nested(&bytes, self.depth + 1, self.budget)
                    .map_err(|e| IgnitionError(format!("{pointer}: {e}")))?;
                Reference::Inline(Box::new(child))
            }
        }))
    }

    fn user(&mut self, value: &Value, pointer: &str) -> Result<(), IgnitionError> {
        let Some(map) = Reader::object(Some(value), pointer)? else { return Ok(()) };
        let name = Reader::string(map.get("name"), &format!("{pointer}/name"))?.unwrap_or_default();
        let mut keys = Vec::new();
        for (i, key) in Reader::array(map.get("sshAuthorizedKeys"), pointer)?.iter().enumerate() {
            keys.extend(Reader::string(Some(key), &format!("{pointer}/sshAuthorizedKeys/{i}"))?);
        }
        self.rest(map, pointer, &["name", "sshAuthorizedKeys"]);
        self.config.users.push(User { name, ssh_authorized_keys: keys });
        Ok(())
    }

    fn storage(&mut self, storage: &Map<String, Value>) -> Result<(), IgnitionError> {
        for (i, value) in Reader::array(storage.get("files"), "/storage/files")?.iter().enumerate() {
            let pointer = format!("/storage/files/{i}");
            let Some(map) = Reader::object(Some(value), &pointer)? else { continue };
            let owner = |key: &str| -> Result<Option<Owner>, IgnitionError> {
                let Some(owner) = Reader::object(map.get(key), &format!("{pointer}/{key}"))? else { return Ok(None) };
                if let Some(id) = Reader::number(owner.get("id"), &format!("{pointer}/{key}/id"))? {
                    return Ok(Some(Owner::Id(id)));
                }
                Ok(Reader::string(owner.get("name"), &format!("{pointer}/{key}/name"))?.map(Owner::Name))
            };
            let (user, group) = (owner("user")?, owner("group")?);
            let contents = match Reader::object(map.get("contents"), &format!("{pointer}/contents"))? {
                Some(c) => self.contents(c, &format!("{pointer}/contents"))?,
                None => None,
            };
            let mut append = Vec::new();
            for (j, item) in Reader::array(map.get("append"), &format!("{pointer}/append"))?.iter().enumerate() {
                let at = format!("{pointer}/append/{j}");
                if let Some(c) = Reader::object(Some(item), &at)? {
                    append.extend(self.contents(c, &at)?);
                }
            }
            let file = File {
                path: Reader::string(map.get("path"), &format!("{pointer}/path"))?.unwrap_or_default(),
                mode: Reader::number(map.get("mode"), &format!("{pointer}/mode"))?,
                overwrite: Reader::boolean(map.get("overwrite"), &format!("{pointer}/overwrite"))?,
                user,
                group,
                contents,
                append,
            };
            self.rest(map, &pointer, &["path", "mode", "overwrite", "user", "group", "contents", "append"]);
            self.config.files.push(file);
        }
        for (i, value) in Reader::array(storage.get("directories"), "/storage/directories")?.iter().enumerate() {
            let pointer = format!("/storage/directories/{i}");
            let Some(map) = Reader::object(Some(value), &pointer)? else { continue };
            let path = Reader::string(map.get("path"), &format!("{pointer}/path"))?.unwrap_or_default();
            let mode = Reader::number(map.get("mode"), &format!("{pointer}/mode"))?;
            self.rest(map, &pointer, &["path", "mode", "overwrite", "user", "group"]);
            self.config.directories.push((path, mode));
        }
        for (i, value) in Reader::array(storage.get("links"), "/storage/links")?.iter().enumerate() {
            let pointer = format!("/storage/links/{i}");
            let Some(map) = Reader::object(Some(value), &pointer)? else { continue };
            let path = Reader::string(map.get("path"), &format!("{pointer}/path"))?.unwrap_or_default();
            let target = Reader::string(map.get("target"), &format!("{pointer}/target"))?.unwrap_or_default();
            let hard = Reader::boolean(map.get("hard"), &format!("{pointer}/hard"))?.unwrap_or(false);
            self.rest(map, &pointer, &["path", "target", "hard", "overwrite", "user", "group"]);
            self.config.links.push((path, target, hard));
        }
        for key in ["disks", "raid", "filesystems", "luks"] {
            if !Reader::array(storage.get(key), &format!("/storage/{key}"))?.is_empty() {
                self.unread(
                    format!("/storage/{key}"),
                    "disks, arrays, file systems and encryption: nothing clusterdef declares",
                );
            }
        }
        self.rest(storage, "/storage", &["files", "directories", "links", "disks", "raid", "filesystems", "luks"]);
        Ok(())
    }

    fn unit(&mut self, value: &Value, pointer: &str) -> Result<(), IgnitionError> {
        let Some(map) = Reader::object(Some(value), pointer)? else { return Ok(()) };
        let mut dropins = Vec::new();
        for (i, d) in Reader::array(map.get("dropins"), &format!("{pointer}/dropins"))?.iter().enumerate() {
            let at = format!("{pointer}/dropins/{i}");
            let Some(d) = Reader::object(Some(d), &at)? else { continue };
            let name = Reader::string(d.get("name"), &format!("{at}/name"))?.unwrap_or_default();
            dropins.push((name, Reader::string(d.get("contents"), &format!("{at}/contents"))?));
            self.rest(d, &at, &["name", "contents"]);
        }
        let unit = Unit {
            name: Reader::string(map.get("name"), &format!("{pointer}/name"))?.unwrap_or_default(),
            contents: Reader::string(map.get("contents"), &format!("{pointer}/contents"))?,
            enabled: Reader::boolean(map.get("enabled"), &format!("{pointer}/enabled"))?,
            mask: Reader::boolean(map.get("mask"), &format!("{pointer}/mask"))?,
            dropins,
        };
        self.rest(map, pointer, &["name", "contents", "enabled", "mask", "dropins"]);
        self.config.units.push(unit);
        Ok(())
    }

    /// A resource (`source`, `compression`, `verification`, `httpHeaders`) read as Ignition
    /// fetches it: decoded when it is a `data:` URL, else a remote URL. `None`: no source.
    fn contents(&mut self, map: &Map<String, Value>, pointer: &str) -> Result<Option<Contents>, IgnitionError> {
        let Some(source) = Reader::string(map.get("source"), &format!("{pointer}/source"))? else { return Ok(None) };
        let compression = Reader::string(map.get("compression"), &format!("{pointer}/compression"))?;
        self.rest(map, pointer, &["source", "compression", "verification", "httpHeaders"]);
        let Some(rest) = source.strip_prefix("data:") else { return Ok(Some(Contents::Remote(source))) };
        let mut bytes = data_url(rest, self.budget).map_err(|e| IgnitionError(format!("{pointer}/source: {e}")))?;
        match compression.as_deref() {
            None | Some("") => {}
            Some("gzip") => {
                bytes = gunzip(&bytes, self.budget).map_err(|e| IgnitionError(format!("{pointer}: {e}")))?;
            }
            Some(other) => return fail(format!("{pointer}/compression: {other:?} is not one Ignition reads (gzip)")),
        }
        Ok(Some(Contents::Data(bytes)))
    }
}

/// The bytes of a `data:` URL (without its scheme), as Ignition's decoder reads them, charged
/// to `budget`.
fn data_url(rest: &str, budget: &mut usize) -> Result<Vec<u8>, String> {
    let Some((header, data)) = rest.split_once(',') else { return Err("a data URL without a ','".to_string()) };
    let base64 = header.split(';').any(|p| p == "base64");
    // Percent-decoding never lengthens: the data's length bounds what it decodes to.
    if data.len() > *budget {
        return Err(format!("decodes to more than the {MAX_DECODED} bytes a config may hold"));
    }
    let mut unescaped = Vec::with_capacity(data.len());
    let raw = data.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        if raw[i] == b'%' {
            let hex = raw.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => unescaped.push(b),
                None => return Err("a malformed %-escape".to_string()),
            }
            i += 3;
        } else {
            unescaped.push(raw[i]);
            i += 1;
        }
    }
    let bytes = if base64 {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD.decode(&unescaped).map_err(|e| format!("not base64: {e}"))?
    } else {
        unescaped
    };
    *budget -= bytes.len().min(*budget);
    Ok(bytes)
}

/// `bytes` gunzipped, never past `budget` (a small gzip member can expand a thousandfold).
fn gunzip(bytes: &[u8], budget: &mut usize) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let limit = u64::try_from(*budget).unwrap_or(u64::MAX).saturating_add(1);
    flate2::read::GzDecoder::new(bytes).take(limit).read_to_end(&mut out).map_err(|e| format!("not gzip: {e}"))?;
    if out.len() > *budget {
        return Err(format!("gunzips to more than the {MAX_DECODED} bytes a config may hold"));
    }
    *budget -= out.len();
    Ok(out)
}

mod merge;

pub use merge::{Located, Merged, merged};

#[cfg(test)]
mod tests;
