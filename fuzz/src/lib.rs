//! The fuzz target of the DSL front ends, and a mutator to drive it without a nightly toolchain.
//!
//! [`dsl`] is the target: any bytes, read as `.cluster` text, through the parser, the lowering,
//! every rule, the diagnostics renderer every front end prints errors with (build.rs, the CLI,
//! the importer's check of its printed declaration), and for accepted clusters the printer and
//! a re-check of the printed text (what `clusterdef import` does), every renderer and the plan's
//! text and tables. It checks what must hold for every input: no panic, and a rejected input
//! carries at least one error with a position that the renderer shows. The same function can be
//! handed to libFuzzer (`cargo fuzz`) where a nightly toolchain exists; here the test in
//! `tests/fuzz.rs` drives it with [`mutate`] from the committed corpus for a few seconds.

use clusterdef::Render;
use clusterdef::render::{Context, RenderOptions};
use clusterdef_syntax::source::{compile_source, render_errors};

/// What the target made of an input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The cluster passed the rules and rendered.
    Accepted,
    /// The cluster was rejected with at least one positioned error, rendered.
    Rejected,
}

/// A unit file every `file "…"` body reads, so file bodies are exercised too.
fn load(path: &str) -> Result<String, String> {
    if path.contains("missing") {
        Err("no such file".to_string())
    } else {
        Ok("[Service]\nExecStart=/bin/true\n".to_string())
    }
}

/// Renders `errors` of `text` as every front end does, plain and in colour, and checks that
/// each error's ` --> ` line is there.
fn rendered_errors(text: &str, errors: &[clusterdef_syntax::source::SourceError]) {
    for styled in [false, true] {
        let out = render_errors("fuzz.cluster", text, errors, styled);
        assert!(out.matches("fuzz.cluster:").count() >= errors.len(), "every error is shown with its position");
    }
}

/// The cluster every accepted input is changed to and from: Flatcar central services with
/// static addresses, so a membership change can be planned.
fn other_cluster() -> clusterdef::Cluster {
    let text = "name: \"fuzz\", os: flatcar, network: { subnet: \"10.0.0.0/24\" },\ncentral: 3 across cabinets [a, b, c] { addresses: \"10.0.0.11\"..=\"10.0.0.15\" },\nworkers: 2,\n";
    compile_source(text, &load)
        .map(|c| c.checked.into_cluster())
        .unwrap_or_else(|_| panic!("the fuzz target's own cluster compiles"))
}

/// The fuzz target. Panics (which the harness reports) if an invariant does not hold.
pub fn dsl(data: &[u8]) -> Verdict {
    let text = String::from_utf8_lossy(data);
    match compile_source(&text, &load) {
        Ok(compiled) => {
            // What the importer does with a cluster: print it, check the printed text.
            let printed = clusterdef_syntax::print::print(compiled.cluster());
            if let Err(errors) = compile_source(&printed, &load) {
                rendered_errors(&printed, &errors);
            }
            let options = RenderOptions {
                discovery_url: Some("https://discovery.etcd.io/fuzz".to_string()),
                ..RenderOptions::default()
            };
            if Context::checked(&compiled.checked, &options).is_ok() {
                // Rendering a checked cluster succeeds (or refuses an unsafe path); it never panics.
                let _ = compiled.checked.render_with(&options);
                let plan = compiled.checked.plan();
                let _ = plan.to_string();
                let _ = plan.tables();
            }
            // A change from the cluster to itself plans without a membership step, or is
            // refused with findings; it never panics. Nor does one to or from another cluster,
            // each step naming a member of one side and its text written.
            let same = clusterdef::change::plan(compiled.cluster(), compiled.cluster(), &Default::default());
            if let Ok(same) = &same {
                assert!(
                    same.steps.iter().all(|s| s.member.is_none()),
                    "a change to the same declaration moves no member: {same}"
                );
            }
            let other = other_cluster();
            for (from, to) in [(compiled.cluster(), &other), (&other, compiled.cluster())] {
                match clusterdef::change::plan(from, to, &Default::default()) {
                    Ok(plan) => {
                        let _ = plan.to_string();
                        let names: std::collections::HashSet<String> =
                            from.etcd_members().into_iter().chain(to.etcd_members()).map(|m| m.name).collect();
                        assert!(plan.steps.iter().filter_map(|s| s.member.as_ref()).all(|m| names.contains(m)));
                    }
                    Err(findings) => assert!(findings.iter().all(|f| !f.message.is_empty())),
                }
            }
            Verdict::Accepted
        }
        Err(errors) => {
            assert!(!errors.is_empty(), "a rejected input carries at least one error");
            for e in &errors {
                assert!(e.line >= 1 && e.column >= 1, "every error has a position: {e:?}");
                assert!(!e.message.is_empty(), "every error says something");
            }
            rendered_errors(&text, &errors);
            Verdict::Rejected
        }
    }
}

/// The Ignition reader's fuzz target (`clusterdef import`'s reading of Flatcar configs and
/// matchbox's): any bytes, read as an Ignition config (and as a render's record). What must hold: no panic; a refusal says
/// why; a config read decodes at most [`MAX_DECODED`] bytes in all, its nested configs
/// included, and nests no deeper than [`MAX_DEPTH`].
///
/// [`MAX_DECODED`]: clusterdef::read::ignition::MAX_DECODED
/// [`MAX_DEPTH`]: clusterdef::read::ignition::MAX_DEPTH
pub fn ignition(data: &[u8]) -> Verdict {
    use clusterdef::read::ignition::{Config, Contents, MAX_DECODED, MAX_DEPTH, Reference, parse};
    /// The bytes decoded in `config` and the configs it holds inline, and how deep they nest.
    fn decoded(config: &Config, depth: usize) -> (usize, usize) {
        let data = |c: &Contents| match c {
            Contents::Data(bytes) => bytes.len(),
            Contents::Remote(_) => 0,
        };
        let mut bytes: usize = config.files.iter().flat_map(|f| f.contents.iter().chain(&f.append)).map(data).sum();
        let mut deepest = depth;
        for reference in config.merge.iter().chain(&config.replace) {
            if let Reference::Inline(inner) = reference {
                let (b, d) = decoded(inner, depth + 1);
                bytes += b;
                deepest = deepest.max(d);
            }
        }
        (bytes, deepest)
    }
    let text = String::from_utf8_lossy(data);
    // The importer reads the same text as one machine's config (Ignition, or Butane translated
    // first), each finding at its line: whatever it makes of it, it answers.
    let file = clusterdef::import::SourceFile { path: "machine.ign".into(), text: text.clone().into_owned() };
    let _ = clusterdef::import::import(&[file], None);
    let _ = clusterdef::read::json_lines::JsonLines::new(&text).line("/storage/files/0/contents");
    // The same bytes as a render's record: a format this release reads, or a refusal at a line.
    match clusterdef::output::record::Record::parse(data) {
        Ok(record) => assert!((1..=clusterdef::output::record::FORMAT).contains(&record.format)),
        Err(e @ clusterdef::output::record::RecordError::Format { .. }) => {
            assert!(e.line() >= 1 && e.column() >= 1, "a format refused has a position: {e}");
        }
        Err(_) => {}
    }
    if clusterdef::read::butane::is_butane(&text)
        && let Ok(translated) = clusterdef::read::butane::translate(&text)
    {
        let _ = parse(&translated.ignition);
        let _ = translated.untranslated_entries();
    }
    match parse(&text) {
        Ok(config) => {
            let (bytes, depth) = decoded(&config, 0);
            assert!(bytes <= MAX_DECODED, "{bytes} bytes decoded, over the budget");
            assert!(depth <= MAX_DEPTH, "configs nested {depth} deep");
            Verdict::Accepted
        }
        Err(e) => {
            assert!(!e.0.is_empty(), "a refusal says why");
            Verdict::Rejected
        }
    }
}

/// A small, seedable random source, so a failing run can be replayed.
pub use clusterdef::synthetic::Rng;

/// Fragments the mutator inserts besides the language's own words (`clusterdef_syntax::symbol`):
/// punctuation, and values that stress each stage (huge and negative numbers, unbalanced
/// brackets, escapes, non-ASCII).
const DICTIONARY: &[&str] = &[
    ":",
    ",",
    "=",
    "..",
    "..=",
    "[",
    "]",
    "{",
    "}",
    "(",
    ")",
    "0",
    "1",
    "3",
    "5",
    "4294967296",
    "4294967295",
    "100000000",
    "10000",
    "9998",
    "-1",
    "0.4",
    "2",
    "\"a\"",
    "\"\"",
    "\"10.0.0.1\"",
    "\"10.0.0.0/24\"",
    "\"Thu 04:00\"",
    "\"1h\"",
    "\"x.service\"",
    "\"a\\nb\"",
    "\"\\u{2028}\"",
    "\"é\"",
    // Non-ASCII of every width, bare (where the tokenizer or the parser stops on it) and quoted
    // (where a rule does): 2-, 3- and 4-byte UTF-8, a combining mark, bidi controls, a ZWJ
    // sequence, a BOM, CRLF and tabs.
    "é",
    "☃",
    "😀",
    "\"☃\"",
    "\"😀\"",
    "\u{301}",
    "e\u{301}",
    "\"e\u{301}\"",
    "\u{202e}",
    "\u{200f}",
    "\u{200e}",
    "\"\u{202e}x\"",
    "👨\u{200d}👩\u{200d}👧",
    "\"👨\u{200d}👩\u{200d}👧\"",
    "\u{feff}",
    "\r\n",
    "\t",
    "\u{a0}",
    "\"{n}\"",
    "\"{domain}\"",
    "'",
    "\"",
    "//",
    "/*",
    "r#\"",
    "even_members",
    "value_format",
];

/// Very long names and reasons, made once per mutation at a length past `format!`'s widths.
fn long_piece(rng: &mut Rng) -> String {
    let unit = ["z", "é", "☃", "😀"][rng.below(4)];
    let body = unit.repeat(66_000 + rng.below(4_000));
    match rng.below(3) {
        0 => format!("\"{body}\""),
        1 => format!("allow(even_members, reason = \"{body}\")"),
        _ => body,
    }
}

/// How deep the nesting mutation wraps a piece: within the grammar's reach, past the front
/// end's limit, and deep enough to overflow a recursive tokenizer's stack.
const NESTING: [usize; 4] = [3, 40, 3_000, 20_000];

/// One mutation of `input`: tokens deleted, repeated, swapped or inserted from the dictionary,
/// a piece wrapped in deeply nested brackets, a number made huge, or bytes flipped.
pub fn mutate(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    let (keys, values) = (clusterdef_syntax::symbol::KEYS, clusterdef_syntax::symbol::VALUES);
    let lists: Vec<&[&str]> =
        std::iter::once(DICTIONARY).chain(keys.iter().copied()).chain(values.iter().copied()).collect();
    mutate_with(input, rng, &lists)
}

/// Words the Ignition mutator inserts: JSON's punctuation, the keys a config is read by, the
/// data URL forms and encodings the reader decodes, and values of the wrong type.
const IGNITION_WORDS: &[&str] = &[
    ",",
    ":",
    "{",
    "}",
    "[",
    "]",
    "\"",
    "null",
    "true",
    "0",
    "-1",
    "4294967296",
    "1e400",
    "\"\"",
    "\"ignition\"",
    "\"version\"",
    "\"3.4.0\"",
    "\"2.3.0\"",
    "\"config\"",
    "\"merge\"",
    "\"replace\"",
    "\"source\"",
    "\"storage\"",
    "\"files\"",
    "\"path\"",
    "\"contents\"",
    "\"append\"",
    "\"compression\"",
    "\"gzip\"",
    "\"mode\"",
    "\"user\"",
    "\"group\"",
    "\"id\"",
    "\"name\"",
    "\"systemd\"",
    "\"units\"",
    "\"dropins\"",
    "\"enabled\"",
    "\"mask\"",
    "\"passwd\"",
    "\"users\"",
    "\"sshAuthorizedKeys\"",
    "\"security\"",
    "\"tls\"",
    "\"kernelArguments\"",
    "\"data:,\"",
    "\"data:;base64,\"",
    "\"data:;base64,H4sIAAAAAAAA/wMAAAAAAAAAAAA=\"",
    "\"data:,%ZZ\"",
    "\"data:,%00\"",
    "\"https://example.com/x.ign\"",
    "\"tftp://x/y\"",
    "\"data:,{\\\"ignition\\\":{\\\"version\\\":\\\"3.0.0\\\"}}\"",
    "\"\\u0000\"",
    "\"é\"",
];

/// [`mutate`] for Ignition configs: the same mutations, with JSON's words.
pub fn mutate_ignition(input: &[u8], rng: &mut Rng) -> Vec<u8> {
    mutate_with(input, rng, &[IGNITION_WORDS])
}

/// The mutations of [`mutate`], inserting words from `lists` (a list drawn, then a word of it).
fn mutate_with(input: &[u8], rng: &mut Rng, lists: &[&[&str]]) -> Vec<u8> {
    let text = String::from_utf8_lossy(input).into_owned();
    let mut pieces: Vec<String> = split_pieces(&text);
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let n = pieces.len();
        match rng.below(8) {
            6 if n > 0 => {
                let i = rng.below(n);
                let depth = NESTING[rng.below(NESTING.len())];
                let (open, close) = [("[", "]"), ("{", "}"), ("(", ")")][rng.below(3)];
                pieces[i] = format!("{}{}{}", open.repeat(depth), pieces[i], close.repeat(depth));
            }
            7 => {
                let numbers: Vec<usize> = (0..n)
                    .filter(|&i| !pieces[i].is_empty() && pieces[i].bytes().all(|b| b.is_ascii_digit()))
                    .collect();
                if !numbers.is_empty() {
                    let i = numbers[rng.below(numbers.len())];
                    pieces[i] = ["10001", "100000000", "4294967295"][rng.below(3)].to_string();
                }
            }
            0 if n > 0 => {
                pieces.remove(rng.below(n));
            }
            1 if n > 0 => {
                let i = rng.below(n);
                let piece = pieces[i].clone();
                pieces.insert(i, piece);
            }
            2 if n > 1 => {
                let (a, b) = (rng.below(n), rng.below(n));
                pieces.swap(a, b);
            }
            5 if rng.chance(10) => {
                pieces.insert(rng.below(n + 1), format!(" {} ", long_piece(rng)));
            }
            3 | 4 if !lists.is_empty() => {
                let list = lists[rng.below(lists.len())];
                let word = list[rng.below(list.len())];
                pieces.insert(rng.below(n + 1), format!(" {word} "));
            }
            _ => {
                let mut bytes = pieces.concat().into_bytes();
                if !bytes.is_empty() {
                    let i = rng.below(bytes.len());
                    bytes[i] ^= 1 << rng.below(8);
                }
                pieces = split_pieces(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    pieces.concat().into_bytes()
}

/// Splits text into word, number, string and punctuation pieces (whitespace kept with them).
fn split_pieces(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for ch in text.chars() {
        let boundary = ch.is_whitespace() || ",:{}[]()=".contains(ch);
        if boundary {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            out.push(ch.to_string());
        } else {
            current.push(ch);
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}
