//! The DSL read from a file (`.cluster`: what would go inside `cluster! { … }`), for build
//! scripts and the CLI. Same grammar, same rules as the macro; errors carry `line:column`
//! and print like rustc's, with the source line and a caret.

use proc_macro2::TokenStream;

use crate::{CompileError, Compiled, FileLoader, compile_detailed};

/// One error in a source file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceError {
    /// 1-based line of the first character at fault.
    pub line: usize,
    /// 1-based column (in characters) of the first character at fault.
    pub column: usize,
    /// 1-based line of the last character at fault.
    pub end_line: usize,
    /// 1-based column just past the last character at fault.
    pub end_column: usize,
    /// What is wrong, why, and how to fix it (several lines).
    pub message: String,
    /// The rule broken, or `None` for a syntax error.
    pub rule: Option<clusterdef_model::Rule>,
}

/// The deepest nesting of brackets a source may have. The grammar needs four levels (a unit's
/// metadata list inside its braces inside the cluster); deeper input is refused before it is
/// tokenized, since tokenizing and dropping a token tree recurse once per level and a few
/// thousand levels would overflow the stack.
pub const MAX_NESTING: usize = 32;

/// The first bracket that opens a level deeper than [`MAX_NESTING`], if any. Brackets inside
/// string and character literals and comments do not count, as the tokenizer would not count
/// them.
fn too_deep(text: &str) -> Option<SourceError> {
    let chars: Vec<char> = text.chars().collect();
    let (mut depth, mut line, mut column, mut i) = (0usize, 1usize, 1usize, 0usize);
    // Moves past `n` characters, keeping the line and column of the next one.
    let advance = |i: &mut usize, line: &mut usize, column: &mut usize, n: usize| {
        for _ in 0..n {
            if chars.get(*i) == Some(&'\n') {
                *line += 1;
                *column = 1;
            } else {
                *column += 1;
            }
            *i += 1;
        }
    };
    while i < chars.len() {
        let rest = &chars[i..];
        let skip = match rest {
            ['/', '/', ..] => rest.iter().position(|c| *c == '\n').unwrap_or(rest.len()),
            ['/', '*', ..] => {
                let mut level = 0usize;
                let mut j = 0;
                while j < rest.len() {
                    match (rest[j], rest.get(j + 1)) {
                        ('/', Some('*')) => {
                            level += 1;
                            j += 2;
                        }
                        ('*', Some('/')) => {
                            level -= 1;
                            j += 2;
                            if level == 0 {
                                break;
                            }
                        }
                        _ => j += 1,
                    }
                }
                j
            }
            ['"', ..] => {
                let mut j = 1;
                while j < rest.len() && rest[j] != '"' {
                    j += if rest[j] == '\\' { 2 } else { 1 };
                }
                j + 1
            }
            ['r', '#' | '"', ..] => {
                let hashes = rest[1..].iter().take_while(|c| **c == '#').count();
                if rest.get(1 + hashes) == Some(&'"') {
                    let close: Vec<char> = std::iter::once('"').chain(std::iter::repeat_n('#', hashes)).collect();
                    let body = 2 + hashes;
                    let end = (body..rest.len()).find(|&j| rest[j..].starts_with(&close));
                    end.map_or(rest.len(), |j| j + close.len())
                } else {
                    1
                }
            }
            ['\'', '\\', _, '\'', ..] => 4,
            ['\'', c, '\'', ..] if *c != '\\' => 3,
            ['(' | '[' | '{', ..] => {
                depth += 1;
                if depth > MAX_NESTING {
                    return Some(SourceError {
                        line,
                        column,
                        end_line: line,
                        end_column: column + 1,
                        message: format!(
                            "brackets nest more than {MAX_NESTING} deep here; the language needs at most 4 levels\n  = help: check for unbalanced or repeated brackets"
                        ),
                        rule: None,
                    });
                }
                1
            }
            [')' | ']' | '}', ..] => {
                depth = depth.saturating_sub(1);
                1
            }
            _ => 1,
        };
        let step = skip.clamp(1, chars.len() - i);
        advance(&mut i, &mut line, &mut column, step);
    }
    None
}

/// Reads, checks and lowers DSL text. Every error is returned, each with its position.
pub fn compile_source(text: &str, load: FileLoader<'_>) -> Result<Compiled, Vec<SourceError>> {
    if let Some(error) = too_deep(text) {
        return Err(vec![error]);
    }
    let tokens: TokenStream = match text.parse() {
        Ok(tokens) => tokens,
        Err(e) => {
            let span = e.span();
            let (start, end) = (span.start(), span.end());
            return Err(vec![SourceError {
                line: start.line,
                column: start.column + 1,
                end_line: end.line,
                end_column: end.column + 1,
                message: format!("the text does not tokenize: {e}\n  = help: check quotes and brackets"),
                rule: None,
            }]);
        }
    };
    compile_detailed(tokens, load).map_err(|errors| {
        errors
            .into_iter()
            .flat_map(|CompileError { error, rule }| error.into_iter().map(move |e| (e, rule)))
            .map(|(e, rule)| SourceError::of(&e, rule))
            .collect()
    })
}

impl SourceError {
    /// The error `e` (one message of a spanned `syn::Error`) at its position in the text.
    fn of(e: &syn::Error, rule: Option<clusterdef_model::Rule>) -> SourceError {
        let span = e.span();
        let (start, end) = (span.start(), span.end());
        SourceError {
            line: start.line,
            column: start.column + 1,
            end_line: end.line,
            end_column: end.column + 1,
            message: e.to_string(),
            rule,
        }
    }

    /// `message` on the tokens that wrote `subject` (or its nearest enclosing part that has
    /// tokens), in text compiled with `spans`: how a check made outside the compiler (a change
    /// between two declarations) points into one.
    pub fn at(spans: &crate::SpanMap, subject: clusterdef_model::Subject, message: String) -> SourceError {
        SourceError::of(&spans.span(subject).error(message), None)
    }
}

/// Prints errors the way rustc does, through rustc's own renderer (annotate-snippets): `error: …`,
/// ` --> path:line:col`, the source lines with the fault underlined (a long line shown as a
/// window around it), then the help and note lines. `styled` adds rustc's colours.
///
/// Linear in the text plus the errors: the errors' positions are turned into byte offsets in one
/// pass over the text, and each error hands the renderer only the lines it
/// covers, cut to a window of at most [`SNIPPET_WINDOW`] bytes either side of the fault, with the
/// position in the ` --> ` line given as it was found rather than counted again.
pub fn render_errors(path: &str, text: &str, errors: &[SourceError], styled: bool) -> String {
    use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

    let renderer = if styled { Renderer::styled() } else { Renderer::plain() };
    let offsets = byte_offsets(text, errors);
    let mut out = String::new();
    for (i, (e, &(start, end, line_begin))) in errors.iter().zip(&offsets).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut message = e.message.lines();
        let title = message.next().unwrap_or_default();
        let (window, span) = snippet_window(text, line_begin, start, end.max(start));
        // The renderer counts the column from the start of what it is shown; where the window
        // cuts the line, the count in its ` --> ` line is put right below.
        let shown_column = window[..span.start].chars().rev().take_while(|c| *c != '\n').count() + 1;
        let snippet =
            Snippet::source(window).path(path).line_start(e.line).annotation(AnnotationKind::Primary.span(span));
        let mut group = Level::ERROR.primary_title(title).element(snippet);
        for line in message {
            let line = line.trim_start().trim_start_matches('=').trim_start();
            group = match line.split_once(": ") {
                Some(("help", rest)) => group.element(Level::HELP.message(rest)),
                Some(("note", rest)) => group.element(Level::NOTE.message(rest)),
                _ => group.element(Level::NOTE.message(line)),
            };
        }
        let rendered = renderer.render(&[group]);
        let (line, column) = (e.line, e.column);
        match rendered.find('\n').filter(|_| shown_column != column) {
            Some(title_end) => {
                let (head, rest) = rendered.split_at(title_end);
                out.push_str(head);
                out.push_str(&rest.replacen(&format!(":{line}:{shown_column}"), &format!(":{line}:{column}"), 1));
            }
            None => out.push_str(&rendered),
        }
        out.push('\n');
    }
    out
}

/// How many bytes of a line the renderer is shown on each side of a fault: enough for any line a
/// person writes, and a bound on the work per error when a file is one enormous line.
pub const SNIPPET_WINDOW: usize = 512;

/// The piece of `text` an error's snippet shows and the fault's byte range within it, for a
/// fault at `start..end` on the line that begins at `line_begin`. The piece is the whole lines
/// from `start`'s to `end`'s, or only `start`'s line when the span runs over more than a
/// window's worth of lines; a line longer than the window either side is cut at character
/// boundaries. The range is widened by [`caret_span`] so an empty fault still shows a caret.
/// O(window): nothing before the window is looked at.
fn snippet_window(text: &str, line_begin: usize, start: usize, end: usize) -> (&str, std::ops::Range<usize>) {
    let (start, end) = caret_span(text, start, end);
    let line_begin = line_begin.min(start);
    let reach = end.max(start).saturating_add(SNIPPET_WINDOW).min(text.len());
    let reach = ceil_char_boundary(text, reach);
    let mut lines_end = text[end..reach].find('\n').map_or(reach, |i| end + i);
    if lines_end - line_begin.max(start.saturating_sub(SNIPPET_WINDOW)) > 4 * SNIPPET_WINDOW {
        // A span over many lines: show its first line only, underlined to that line's end.
        let first_reach = ceil_char_boundary(text, start.saturating_add(SNIPPET_WINDOW).min(text.len()));
        lines_end = text[start..first_reach].find('\n').map_or(first_reach, |i| start + i);
    }
    let from = floor_char_boundary(text, line_begin.max(start.saturating_sub(SNIPPET_WINDOW)));
    let to = lines_end;
    let end = end.min(to).max(start);
    (&text[from..to], (start - from)..(end - from))
}

/// A fault's byte range on character boundaries, widened to the character at `start` when it is
/// empty (so the renderer has something to underline) and left empty only at the end of the
/// text. The one place error spans are widened: a span is always a range of whole characters,
/// whatever their width in UTF-8.
pub fn caret_span(text: &str, start: usize, end: usize) -> (usize, usize) {
    let start = floor_char_boundary(text, start.min(text.len()));
    let end = ceil_char_boundary(text, end.clamp(start, text.len()));
    if end > start {
        return (start, end);
    }
    let width = text[start..].chars().next().map_or(0, char::len_utf8);
    (start, start + width)
}

/// The largest character boundary of `text` at or before `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The smallest character boundary of `text` at or after `at`.
fn ceil_char_boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at += 1;
    }
    at
}

/// The byte offsets of each error's start and end (1-based lines, columns in characters) in
/// `text`, with the offset at which the start's line begins. The positions are sorted once and
/// the text walked once, so this is O(text + errors × log errors) however many errors share a
/// line. A position past the end of its line (or of the text) clamps to it.
fn byte_offsets(text: &str, errors: &[SourceError]) -> Vec<(usize, usize, usize)> {
    let mut wanted: Vec<(usize, usize, usize)> = Vec::with_capacity(errors.len() * 2);
    for (i, e) in errors.iter().enumerate() {
        wanted.push((e.line, e.column, 2 * i));
        wanted.push((e.end_line, e.end_column, 2 * i + 1));
    }
    wanted.sort_unstable();
    let mut found = vec![(0usize, 0usize); wanted.len()];
    let (mut line, mut column, mut line_begin) = (1usize, 1usize, 0usize);
    let mut chars = text.char_indices().peekable();
    for (want_line, want_column, slot) in wanted {
        while let Some(&(at, ch)) = chars.peek() {
            if (line, column) >= (want_line, want_column) || (line == want_line && ch == '\n') {
                break;
            }
            chars.next();
            if ch == '\n' {
                line += 1;
                column = 1;
                line_begin = at + 1;
            } else {
                column += 1;
            }
        }
        found[slot] = (chars.peek().map_or(text.len(), |&(at, _)| at), line_begin);
    }
    found.chunks_exact(2).map(|pair| (pair[0].0, pair[1].0, pair[0].1)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_files(path: &str) -> Result<String, String> {
        Err(format!("no file {path}"))
    }

    #[test]
    fn errors_carry_line_and_column_and_print_with_a_caret() {
        let text = "name: \"p\",\ncentral: 3 across cabinets [a, b],\ncentrl: 1,\n";
        let errors = compile_source(text, &no_files).expect_err("two errors");
        assert_eq!(errors.len(), 1, "syntax errors come first: {errors:?}");
        assert_eq!((errors[0].line, errors[0].column, errors[0].end_column), (3, 1, 7));
        let printed = render_errors("cluster/prod.cluster", text, &errors, false);
        assert_eq!(
            printed,
            "error: unknown key `centrl` in a cluster\n --> cluster/prod.cluster:3:1\n  |\n3 | centrl: 1,\n  | ^^^^^^\n  |\n  = help: did you mean `central`?\n"
        );
        let rules = compile_source("central: 3 across cabinets [a, b]", &no_files).expect_err("a rule");
        assert_eq!((rules[0].line, rules[0].column), (1, 29));
        assert!(rules[0].message.starts_with("cabinet a holds 2 of 3 etcd members"));
    }

    #[test]
    fn text_that_does_not_tokenize_is_an_error_with_a_position() {
        let errors = compile_source("central: 3,\nname: \"unterminated", &no_files).expect_err("lex error");
        assert_eq!(errors.len(), 1);
        assert!(errors[0].message.starts_with("the text does not tokenize"), "{}", errors[0].message);
    }

    #[test]
    fn a_valid_file_compiles_like_the_macro_body() {
        let compiled =
            compile_source("central: 5 across cabinets [a, b, c], workers: autoscale", &no_files).expect("ok");
        assert_eq!(compiled.cluster().members.domain_counts(5), [2, 2, 1]);
    }

    /// Renders the errors of `text`, which must be rejected, and returns the output.
    fn rendered(text: &str) -> String {
        let errors = compile_source(text, &no_files).expect_err("rejected");
        render_errors("m.cluster", text, &errors, false)
    }

    #[test]
    fn errors_at_multi_byte_characters_render_without_panicking() {
        for text in [
            "😀",
            "central: 3, workers: ☃",
            "central: 3, workers: \"é\"",
            "\u{200d}\u{202e}central: 3",
            "central: 3,\r\n\u{feff}workers: autoscale",
            "central: 3, e\u{301}: 1",
            "👨\u{200d}👩\u{200d}👧",
            "central: 3 across cabinets [a, b], name: \"\u{200f}",
        ] {
            let out = rendered(text);
            assert!(out.starts_with("error: "), "{text:?}: {out}");
            assert!(out.contains(" --> m.cluster:"), "{text:?}: {out}");
        }
    }

    #[test]
    fn an_empty_span_widens_to_a_whole_character() {
        assert_eq!(caret_span("😀", 0, 0), (0, 4));
        assert_eq!(caret_span("a☃", 1, 1), (1, 4));
        assert_eq!(caret_span("ab", 2, 2), (2, 2), "at the end of the text the span stays empty");
        assert_eq!(caret_span("é", 1, 1), (0, 2), "a start inside a character moves to its start");
    }

    #[test]
    fn a_fault_far_along_a_long_line_keeps_its_column() {
        let text = format!("name: \"{}\", centrl: 1", "x".repeat(70_000));
        let out = rendered(&text);
        assert!(out.contains(" --> m.cluster:1:70011\n"), "{}", &out[..out.len().min(400)]);
        assert!(out.len() < 4 * SNIPPET_WINDOW, "the line is shown as a window: {} bytes", out.len());
    }

    #[test]
    fn byte_offsets_are_found_in_one_pass_for_errors_in_any_order() {
        let text = "ab\ncdé\nf";
        let at = |line, column| SourceError {
            line,
            column,
            end_line: line,
            end_column: column + 1,
            message: String::new(),
            rule: None,
        };
        let errors = [at(3, 1), at(1, 2), at(2, 3), at(2, 9), at(7, 1)];
        assert_eq!(byte_offsets(text, &errors), [(8, 9, 8), (1, 2, 0), (5, 7, 3), (7, 7, 3), (9, 9, 8)]);
    }
}
