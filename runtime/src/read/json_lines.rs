//! Where each value of a JSON text starts, by JSON pointer (RFC 6901): the line a finding
//! about an Ignition config or a recorded declaration points at. serde_json keeps no
//! positions, so the text is scanned once on its own.
//!
//! Hostile input: one pass over the bytes, O(text); a value is recorded only down to
//! [`MAX_DEPTH`] and under keys of at most [`MAX_KEY`] bytes, so the index holds at most one
//! short pointer per value whatever the nesting or the keys' length. A value deeper than that,
//! or in text that is not JSON, answers with the line of the nearest recorded ancestor.

use std::collections::HashMap;

/// The deepest value recorded (`/storage/files/3/contents/source` is 5 deep).
pub const MAX_DEPTH: usize = 6;

/// The longest key a recorded pointer passes through.
pub const MAX_KEY: usize = 256;

/// The line each value of a JSON text starts on.
#[derive(Clone, Debug, Default)]
pub struct JsonLines {
    lines: HashMap<String, usize>,
}

/// Where the scan is inside a container.
enum Frame {
    /// In an object: the key of the value being read (`None` while a key is awaited), and
    /// whether that key can be part of a recorded pointer.
    Object { key: Option<String>, recorded: bool },
    /// In an array: the index of the value being read.
    Array { index: usize },
}

impl JsonLines {
    /// Indexes `text`. O(text).
    pub fn new(text: &str) -> JsonLines {
        let bytes = text.as_bytes();
        let mut lines = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let (mut i, mut line) = (0usize, 1usize);
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'\n' => {
                    line += 1;
                    i += 1;
                }
                b' ' | b'\t' | b'\r' | b':' => i += 1,
                b',' => {
                    match stack.last_mut() {
                        Some(Frame::Array { index }) => *index += 1,
                        Some(Frame::Object { key, .. }) => *key = None,
                        None => {}
                    }
                    i += 1;
                }
                b'}' | b']' => {
                    stack.pop();
                    i += 1;
                }
                b'"' if matches!(stack.last(), Some(Frame::Object { key: None, .. })) => {
                    let (key, end) = string_at(bytes, i);
                    line += bytes[i..end].iter().filter(|&&c| c == b'\n').count();
                    if let Some(Frame::Object { key: slot, recorded }) = stack.last_mut() {
                        *recorded = key.len() <= MAX_KEY;
                        *slot = Some(key);
                    }
                    i = end;
                }
                _ => {
                    // A value: its pointer is recorded while the path to it is short.
                    if let Some(pointer) = pointer_of(&stack) {
                        lines.entry(pointer).or_insert(line);
                    }
                    match b {
                        b'{' => {
                            stack.push(Frame::Object { key: None, recorded: true });
                            i += 1;
                        }
                        b'[' => {
                            stack.push(Frame::Array { index: 0 });
                            i += 1;
                        }
                        b'"' => {
                            let (_, end) = string_at(bytes, i);
                            line += bytes[i..end].iter().filter(|&&c| c == b'\n').count();
                            i = end;
                        }
                        _ => {
                            // A number, `true`, `false`, `null` (or a stray byte): to the next
                            // delimiter.
                            i += 1;
                            while i < bytes.len() && !b",}]: \t\r\n\"".contains(&bytes[i]) {
                                i += 1;
                            }
                        }
                    }
                }
            }
        }
        JsonLines { lines }
    }

    /// An index of lines known otherwise (a translation's, each value with the line of what it
    /// was translated from); the first line given for a pointer wins.
    pub fn from_pointers(pairs: impl IntoIterator<Item = (String, usize)>) -> JsonLines {
        let mut lines = HashMap::new();
        for (pointer, line) in pairs {
            lines.entry(pointer).or_insert(line);
        }
        JsonLines { lines }
    }

    /// The line the value at `pointer` starts on, or that of its nearest recorded ancestor; 0
    /// when not even the root is known (an empty text).
    pub fn line(&self, pointer: &str) -> usize {
        let mut at = pointer;
        loop {
            if let Some(&line) = self.lines.get(at) {
                return line;
            }
            match at.rfind('/') {
                Some(cut) => at = &at[..cut],
                None => return 0,
            }
        }
    }
}

/// The pointer of the value the scan is at, when every step to it is recorded.
fn pointer_of(stack: &[Frame]) -> Option<String> {
    if stack.len() > MAX_DEPTH {
        return None;
    }
    let mut pointer = String::new();
    for frame in stack {
        pointer.push('/');
        match frame {
            Frame::Array { index } => pointer.push_str(&index.to_string()),
            Frame::Object { key: Some(key), recorded: true } => {
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"))
            }
            Frame::Object { .. } => return None,
        }
    }
    Some(pointer)
}

/// The string starting at `bytes[start]` (a `"`), its escapes decoded (a key's, at most
/// [`MAX_KEY`] + 1 bytes of it kept), and the index after its closing quote.
fn string_at(bytes: &[u8], start: usize) -> (String, usize) {
    let mut out: Vec<u8> = Vec::new();
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => return (String::from_utf8_lossy(&out).into_owned(), i + 1),
            b'\\' if i + 1 < bytes.len() => {
                let decoded = match bytes[i + 1] {
                    b'n' => Some(b'\n'),
                    b't' => Some(b'\t'),
                    b'r' => Some(b'\r'),
                    b'b' => Some(8),
                    b'f' => Some(12),
                    b'u' => None,
                    other => Some(other),
                };
                match decoded {
                    Some(c) => {
                        if out.len() <= MAX_KEY {
                            out.push(c);
                        }
                        i += 2;
                    }
                    None => {
                        let hex = bytes.get(i + 2..i + 6).and_then(|h| std::str::from_utf8(h).ok());
                        let c = hex.and_then(|h| u32::from_str_radix(h, 16).ok()).and_then(char::from_u32);
                        if out.len() <= MAX_KEY {
                            let mut buf = [0u8; 4];
                            out.extend_from_slice(c.unwrap_or('\u{fffd}').encode_utf8(&mut buf).as_bytes());
                        }
                        i += 6;
                    }
                }
            }
            c => {
                if out.len() <= MAX_KEY {
                    out.push(c);
                }
                i += 1;
            }
        }
    }
    (String::from_utf8_lossy(&out).into_owned(), bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_value_is_found_at_the_line_it_starts_on() {
        let text = "{\n  \"ignition\": {\"version\": \"3.3.0\"},\n  \"storage\": {\n    \"files\": [\n      {\"path\": \"/a\"},\n      {\n        \"path\": \"/b\\\"\\n\"\n      }\n    ]\n  },\n  \"a/b~c\": 1\n}\n";
        let lines = JsonLines::new(text);
        assert_eq!(lines.line(""), 1);
        assert_eq!(lines.line("/ignition/version"), 2);
        assert_eq!(lines.line("/storage/files/0"), 5);
        assert_eq!(lines.line("/storage/files/1"), 6);
        assert_eq!(lines.line("/storage/files/1/path"), 7);
        assert_eq!(lines.line("/a~1b~0c"), 11, "keys are escaped as pointers escape them");
        // Not there: the nearest ancestor.
        assert_eq!(lines.line("/storage/files/7/mode"), 4);
        assert_eq!(JsonLines::new("").line("/x"), 0);
    }

    #[test]
    fn deep_or_long_paths_answer_with_their_nearest_recorded_ancestor() {
        let deep = format!("{}1{}", "[\n".repeat(100_000), "]".repeat(100_000));
        let lines = JsonLines::new(&deep);
        assert!(lines.lines.len() <= MAX_DEPTH + 1, "{}", lines.lines.len());
        assert_eq!(lines.line(&"/0".repeat(50)), MAX_DEPTH + 1);
        let long = format!("{{\"{}\": {{\"x\": 1}}, \"y\":\n2}}", "k".repeat(10_000));
        let lines = JsonLines::new(&long);
        assert_eq!(lines.line("/y"), 2);
        assert!(lines.lines.keys().all(|p| p.len() <= MAX_DEPTH * (MAX_KEY + 2)));
        // Not JSON at all: no panic, and an answer.
        for text in ["\"", "{\"a", "{\"a\\u12", "]]]}}}", "{,,,:::}", "\u{1}\u{2}"] {
            let _ = JsonLines::new(text).line("/a/b");
        }
    }
}
