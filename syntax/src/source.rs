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
            .map(|(e, rule)| {
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
            })
            .collect()
    })
}

/// Prints errors the way rustc does, through rustc's own renderer (annotate-snippets): `error: …`,
/// ` --> path:line:col`, the source lines with the fault underlined (a long line shown as a
/// window around it), then the help and note lines. `styled` adds rustc's colours.
pub fn render_errors(path: &str, text: &str, errors: &[SourceError], styled: bool) -> String {
    use annotate_snippets::{AnnotationKind, Level, Renderer, Snippet};

    let renderer = if styled { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut message = e.message.lines();
        let title = message.next().unwrap_or_default();
        let start = byte_offset(text, e.line, e.column);
        let end = byte_offset(text, e.end_line, e.end_column).max(start);
        // An empty span (the end of the text) still shows a caret.
        let span = if end > start { start..end } else { start..(start + 1).min(text.len().max(start)) };
        let snippet = Snippet::source(text).path(path).annotation(AnnotationKind::Primary.span(span));
        let mut group = Level::ERROR.primary_title(title).element(snippet);
        for line in message {
            let line = line.trim_start().trim_start_matches('=').trim_start();
            group = match line.split_once(": ") {
                Some(("help", rest)) => group.element(Level::HELP.message(rest)),
                Some(("note", rest)) => group.element(Level::NOTE.message(rest)),
                _ => group.element(Level::NOTE.message(line)),
            };
        }
        out.push_str(&renderer.render(&[group]));
        out.push('\n');
    }
    out
}

/// The byte offset of 1-based `line` and `column` (in characters) in `text`.
fn byte_offset(text: &str, line: usize, column: usize) -> usize {
    let line_start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    let rest = &text[line_start.min(text.len())..];
    let within: usize = rest.chars().take(column.saturating_sub(1)).map(char::len_utf8).sum();
    (line_start + within).min(text.len())
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
        assert_eq!(compiled.cluster.members.domain_counts(5), [2, 2, 1]);
    }
}
