//! The DSL read from a file (`.cluster`: what would go inside `cluster! { … }`), for build
//! scripts and the CLI. Same grammar, same rules as the macro; errors carry `line:column`
//! and print like rustc's, with the source line and a caret.

use std::fmt::Write as _;

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

/// How many characters of a long source line an error shows.
const LINE_WINDOW: usize = 120;

/// Prints errors the way rustc does: `error: …`, ` --> path:line:col`, the source line with
/// carets under the fault, then the help and note lines.
pub fn render_errors(path: &str, text: &str, errors: &[SourceError]) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = String::new();
    for (i, e) in errors.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut message = e.message.lines();
        let _ = writeln!(out, "error: {}", message.next().unwrap_or_default());
        let number = e.line.to_string();
        let gutter = " ".repeat(number.len());
        let _ = writeln!(out, "{gutter}--> {path}:{}:{}", e.line, e.column);
        if let Some(source) = lines.get(e.line.saturating_sub(1)) {
            let width = if e.end_line == e.line { e.end_column.saturating_sub(e.column).max(1) } else { 1 };
            // A long line is shown as a window around the fault, as rustc does.
            let chars: Vec<char> = source.chars().collect();
            let (from, to) = if chars.len() > LINE_WINDOW {
                let from = e.column.saturating_sub(1).saturating_sub(LINE_WINDOW / 2);
                (from, (from + LINE_WINDOW).min(chars.len()))
            } else {
                (0, chars.len())
            };
            let (open, close) = (if from > 0 { "..." } else { "" }, if to < chars.len() { "..." } else { "" });
            let shown: String = chars[from..to].iter().collect();
            let pad: String = std::iter::repeat_n(' ', open.len())
                .chain(
                    chars[from..e.column.saturating_sub(1).clamp(from, to)]
                        .iter()
                        .map(|c| if *c == '\t' { '\t' } else { ' ' }),
                )
                .collect();
            let width = width.min(LINE_WINDOW);
            let _ = writeln!(out, "{gutter} |");
            let _ = writeln!(out, "{number} | {open}{shown}{close}");
            let _ = writeln!(out, "{gutter} | {pad}{}", "^".repeat(width));
        }
        for rest in message {
            let _ = writeln!(out, "{gutter} {}", rest.trim_start());
        }
    }
    out
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
        let printed = render_errors("cluster/prod.cluster", text, &errors);
        assert_eq!(
            printed,
            "error: unknown key `centrl` in a cluster\n --> cluster/prod.cluster:3:1\n  |\n3 | centrl: 1,\n  | ^^^^^^\n  = help: did you mean `central`?\n"
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
