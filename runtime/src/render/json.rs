//! A small JSON writer for the Ignition configs: values built in order, written compactly and
//! deterministically, every string escaped as RFC 8259 requires.

use std::fmt::Write as _;
use std::sync::Arc;

/// A JSON value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// A string.
    Str(String),
    /// An integer.
    Int(i64),
    /// A boolean.
    Bool(bool),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in the order given (the spec's field names).
    Obj(Vec<(&'static str, Json)>),
    /// A value already written as JSON text ([`Json::shared`]): what many configs carry alike
    /// is escaped once and copied into each.
    Raw(Arc<str>),
}

impl Json {
    /// A string value.
    pub fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// An object from `(key, value)` pairs, leaving out the `None` values.
    pub fn obj<const N: usize>(fields: [(&'static str, Option<Json>); N]) -> Json {
        Json::Obj(fields.into_iter().filter_map(|(k, v)| Some((k, v?))).collect())
    }

    /// The value written once, to be copied wherever it appears.
    pub fn shared(&self) -> Json {
        let mut out = String::new();
        self.write(&mut out);
        Json::Raw(out.into())
    }

    /// A `data:` URL of `bytes` as a JSON string: every byte outside `[A-Za-z0-9._~-]`
    /// percent-encoded, which every Ignition version reads back exactly. Nothing in it needs
    /// JSON escaping, so it is written as JSON text directly.
    pub fn data_url(bytes: &[u8]) -> Json {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut out = String::with_capacity(8 + bytes.len() * 2);
        out.push_str("\"data:,");
        for &b in bytes {
            if b.is_ascii_alphanumeric() || b"._~-".contains(&b) {
                out.push(b as char);
            } else {
                out.push('%');
                out.push(HEX[usize::from(b >> 4)] as char);
                out.push(HEX[usize::from(b & 15)] as char);
            }
        }
        out.push('"');
        Json::Raw(out.into())
    }

    /// The value as JSON text, with a final newline.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        self.write(&mut out);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String) {
        match self {
            Json::Str(s) => write_string(out, s),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Raw(text) => out.push_str(text),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    item.write(out);
                }
                out.push(']');
            }
            Json::Obj(fields) => {
                out.push('{');
                for (i, (k, v)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    // Copies the runs between characters that need escaping in one go: configs are mostly
    // long data URLs and unit text with nothing to escape.
    let mut run = 0;
    for (i, ch) in s.char_indices() {
        let escape = match ch {
            '"' => "\\\"",
            '\\' => "\\\\",
            '\n' => "\\n",
            '\r' => "\\r",
            '\t' => "\\t",
            c if (c as u32) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => "",
            _ => continue,
        };
        out.push_str(&s[run..i]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{:04x}", ch as u32);
        } else {
            out.push_str(escape);
        }
        run = i + ch.len_utf8();
    }
    out.push_str(&s[run..]);
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_escaped_and_data_urls_encode_all_but_unreserved_bytes() {
        let v = Json::obj([("a", Some(Json::str("q\"\\\n\u{1}é"))), ("b", None), ("c", Some(Json::Int(420)))]);
        assert_eq!(v.to_text(), "{\"a\":\"q\\\"\\\\\\n\\u0001é\",\"c\":420}\n");
        assert_eq!(Json::data_url(b"a b=1\n").to_text(), "\"data:,a%20b%3D1%0A\"\n");
        assert_eq!(Json::data_url("é\u{ff}\"\\".as_bytes()).to_text(), "\"data:,%C3%A9%C3%BF%22%5C\"\n");
        let v = Json::str("x\u{2028}y\u{1f}\t\"end");
        assert_eq!(v.to_text(), "\"x\\u2028y\\u001f\\t\\\"end\"\n");
        let shared = Json::obj([("k", Some(Json::str("a\"b")))]);
        assert_eq!(
            Json::Arr(vec![shared.shared(), Json::Int(1)]).to_text(),
            Json::Arr(vec![shared, Json::Int(1)]).to_text()
        );
    }
}
