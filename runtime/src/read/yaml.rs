//! YAML as the CoreOS-era tools read it (go-yaml, YAML 1.1): a tree of scalars, sequences and
//! mappings, each node with its line and column, each scalar with whether it was plain (so the
//! reader of a field can apply YAML 1.1's implicit types where the engine does, and only there).

use std::collections::HashMap;

use granit_parser::{Event, Options, Parser, ScalarStyle};

/// The most nodes a document may expand to, aliases included: a few aliases to large
/// collections can otherwise expand to billions of nodes.
const MAX_NODES: usize = 1_000_000;

/// The most bytes of scalar text a document may expand to, aliases included: the most a file
/// the importer reads may hold (1 MiB), so an alias's copies count against the same budget as
/// the file's own bytes (`&h "<500,000 a>"` then 5,000 `*h` would otherwise copy 2.5 GB).
pub const MAX_TEXT_BYTES: usize = 1 << 20;

/// A node with the position (1-based line and column) where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// What the node holds.
    pub value: Value,
    /// The line it starts on.
    pub line: usize,
    /// The column it starts at.
    pub column: usize,
}

/// A node's content.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// A scalar: its text after escapes, and whether it was written plain (unquoted, not a
    /// block), the only kind YAML 1.1 resolves to booleans, integers and null.
    Scalar {
        /// The text.
        text: String,
        /// Whether it was a plain scalar.
        plain: bool,
    },
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, keys in document order.
    Map(Vec<(Node, Node)>),
}

/// A YAML syntax error at a position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct YamlError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl Node {
    /// The scalar's text, if it is a scalar.
    pub fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    /// Whether the node is YAML 1.1's null: a plain `~`, `null` (any case the spec lists) or
    /// nothing at all.
    pub fn is_null(&self) -> bool {
        matches!(&self.value, Value::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// The node as YAML 1.1 reads a boolean: only plain scalars, in the spellings go-yaml
    /// resolves (`y`, `yes`, `on`, `true` and their negatives, in three cases).
    pub fn as_bool(&self) -> Option<bool> {
        match &self.value {
            Value::Scalar { text, plain: true } => match text.as_str() {
                "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => Some(true),
                "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => Some(false),
                _ => None,
            },
            _ => None,
        }
    }

    /// A word for the node's kind, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// The first document of `text`, or `None` for an empty stream.
pub fn parse(text: &str) -> Result<Option<Node>, YamlError> {
    let mut builder = Builder { anchors: HashMap::new(), stack: Vec::new(), nodes: 0, bytes: 0, root: None };
    // Comments mean nothing to go-yaml; not collecting them saves a fifth of the parse.
    let mut options = Options::default();
    options.emit_comments = false;
    for event in Parser::new_from_str_with_options(text, options) {
        let (event, span) = event.map_err(|e| YamlError {
            message: e.info().to_string(),
            line: e.marker().line(),
            column: e.marker().col() + 1,
        })?;
        let (line, column) = (span.start.line(), span.start.col() + 1);
        let at = |message: String| YamlError { message, line, column };
        match event {
            Event::Scalar(value, style, anchor, _) => {
                let plain = style == ScalarStyle::Plain;
                builder.bytes += value.len();
                builder
                    .add(Node { value: Value::Scalar { text: value.into_owned(), plain }, line, column }, anchor)
                    .map_err(at)?;
            }
            Event::SequenceStart(_, anchor, _) => {
                builder.stack.push((Node { value: Value::Seq(Vec::new()), line, column }, anchor, None))
            }
            Event::MappingStart(_, anchor, _) => {
                builder.stack.push((Node { value: Value::Map(Vec::new()), line, column }, anchor, None))
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor, _) = builder.stack.pop().ok_or_else(|| at("unbalanced collection".into()))?;
                builder.add(node, anchor).map_err(at)?;
            }
            Event::Alias(id) => {
                // Counted before it is copied: nodes and bytes both.
                let (nodes, bytes) = builder
                    .anchors
                    .get(&id)
                    .map(|(_, n, b)| (*n, *b))
                    .ok_or_else(|| at("an alias to no anchor".into()))?;
                builder.nodes += nodes;
                builder.bytes += bytes;
                if builder.bytes > MAX_TEXT_BYTES {
                    return Err(at(format!(
                        "the document's text expands past {MAX_TEXT_BYTES} bytes through its aliases, the most a file is read for"
                    )));
                }
                let node = builder.anchors.get(&id).map(|(n, _, _)| n.clone()).unwrap_or_else(|| Node {
                    value: Value::Seq(Vec::new()),
                    line,
                    column,
                });
                builder.add(node, 0).map_err(at)?;
            }
            Event::DocumentEnd if builder.root.is_some() => break,
            _ => {}
        }
    }
    Ok(builder.root)
}

/// A node's size: how many nodes, and how many bytes of scalar text, it holds.
fn size(node: &Node) -> (usize, usize) {
    match &node.value {
        Value::Scalar { text, .. } => (1, text.len()),
        Value::Seq(items) => items.iter().map(size).fold((1, 0), |(n, b), (m, c)| (n + m, b + c)),
        Value::Map(pairs) => pairs.iter().fold((1, 0), |(n, b), (k, v)| {
            let ((kn, kb), (vn, vb)) = (size(k), size(v));
            (n + kn + vn, b + kb + vb)
        }),
    }
}

/// Collections being built: the node, its anchor, and for a mapping the key awaiting its value.
/// Each anchored node is kept with its size, so an alias is counted before it is copied.
struct Builder {
    anchors: HashMap<usize, (Node, usize, usize)>,
    stack: Vec<(Node, usize, Option<Node>)>,
    nodes: usize,
    bytes: usize,
    root: Option<Node>,
}

impl Builder {
    fn add(&mut self, node: Node, anchor: usize) -> Result<(), String> {
        self.nodes += 1;
        if self.nodes > MAX_NODES {
            return Err(format!("the document expands to more than {MAX_NODES} nodes"));
        }
        if anchor != 0 {
            let (nodes, bytes) = size(&node);
            self.anchors.insert(anchor, (node.clone(), nodes, bytes));
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some((Node { value: Value::Seq(items), .. }, _, _)) => items.push(node),
            Some((Node { value: Value::Map(pairs), .. }, _, pending)) => match pending.take() {
                None => *pending = Some(node),
                Some(key) => pairs.push((key, node)),
            },
            Some(_) => return Err("a scalar cannot hold children".into()),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(text: &str) -> Node {
        parse(text).expect("parses").expect("a document")
    }

    #[test]
    fn scalars_keep_their_style_position_and_yaml_1_1_booleans() {
        let root = doc("a: off\nb: \"off\"\nc:\n  - yes\n  - 'on'\nd: |\n  text\n");
        let Value::Map(pairs) = &root.value else { panic!("{root:?}") };
        assert_eq!(pairs[0].1.as_bool(), Some(false));
        assert_eq!(pairs[0].1.text(), Some("off"));
        assert_eq!(pairs[1].1.as_bool(), None, "a quoted off is a string");
        let Value::Seq(items) = &pairs[2].1.value else { panic!() };
        assert_eq!((items[0].as_bool(), items[1].as_bool()), (Some(true), None));
        assert_eq!((items[1].line, items[1].column), (5, 5));
        assert_eq!(pairs[3].1.text(), Some("text\n"));
        assert_eq!((pairs[3].0.line, pairs[3].0.column), (6, 1));
    }

    #[test]
    fn aliases_expand_and_bombs_and_bad_syntax_are_errors_with_positions() {
        let root = doc("x: &k [1, 2]\ny: *k\n");
        let Value::Map(pairs) = &root.value else { panic!() };
        assert_eq!(pairs[0].1.value, pairs[1].1.value);
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..8 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(parse(&bomb).expect_err("refused").message.contains("more than"));
        // A string copied by its aliases counts its bytes each time, against the file's budget.
        let mut strings = format!("h: &h \"{}\"\nl:\n", "a".repeat(500_000));
        strings.push_str(&"  - *h\n".repeat(5_000));
        let started = std::time::Instant::now();
        let error = parse(&strings).expect_err("refused");
        assert!(error.message.contains("through its aliases"), "{error:?}");
        assert!(started.elapsed() < std::time::Duration::from_secs(2), "refused before copying");
        assert!(parse(&format!("h: &h \"{}\"\nl: [*h]\n", "a".repeat(1_000))).is_ok(), "a few copies are fine");
        let error = parse("a: [1, 2\nb: c\n").expect_err("unclosed");
        assert!(error.line >= 1 && error.column >= 1, "{error:?}");
        assert_eq!(parse("").expect("empty"), None);
    }
}
