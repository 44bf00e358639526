//! Recovering from syntax errors, and making them: each error is recorded where it happens and
//! the parser skips to the next comma at that level, so every mistake in an invocation is
//! reported at once; every error says what, and how to fix it, through [`with_help`].

use clusterdef_model::suggest::closest;
use proc_macro2::{Delimiter, Span, TokenTree};
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, Token, braced, bracketed};

use super::Grammar;

/// What is wrong, then how to fix it, as rustc's `= help:` line: the text of every error.
pub(crate) fn help_text(message: impl std::fmt::Display, help: impl std::fmt::Display) -> String {
    format!("{message}\n  = help: {help}")
}

/// An error at `span` that says what is wrong, then how to fix it.
pub(crate) fn with_help(span: Span, message: impl std::fmt::Display, help: impl std::fmt::Display) -> syn::Error {
    syn::Error::new(span, help_text(message, help))
}

/// Skips tokens up to (not including) the next comma at this nesting level.
pub(super) fn skip_to_comma(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}

pub(super) fn unknown_key(key: &Ident, known: &[&str], place: &str) -> syn::Error {
    let name = key.unraw().to_string();
    let hint = match closest(&name, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("the keys are {}", known.join(", ")),
    };
    with_help(key.span(), format!("unknown key `{name}` in {place}"), hint)
}

/// The error for a key given twice, on the second occurrence.
pub(crate) fn duplicate(key: &Ident) -> syn::Error {
    with_help(
        key.span(),
        format!("`{}` is set twice", key.unraw()),
        "remove this one or the earlier one; each key takes one value",
    )
}

/// Records `value` in `slot`, or reports a duplicate key.
pub(super) fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    *slot = Some(value);
    Ok(())
}

pub(super) fn colon(input: ParseStream, key: &Ident) -> syn::Result<()> {
    if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        Ok(())
    } else {
        Err(input.error(format!("expected `:` after `{}`", key.unraw())))
    }
}

/// Whether the next tokens end the current item (a comma or the end of the list).
pub(super) fn at_item_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(Token![,])
}

pub(super) fn missing_value(input: ParseStream, key: &Ident, expected: &str) -> syn::Error {
    with_help(input.span(), format!("missing value for `{}`", key.unraw()), format!("expected {expected}"))
}

/// Opens a `[…]` list, or explains that lists use square brackets.
pub(super) fn open_brackets<'a>(input: ParseStream<'a>, what: &str) -> syn::Result<syn::parse::ParseBuffer<'a>> {
    if input.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        return Ok(content);
    }
    wrong_delimiter(input, "[", "]", what)
}

/// Opens a `{…}` block, or explains that blocks use braces.
pub(super) fn open_braces<'a>(input: ParseStream<'a>, what: &str) -> syn::Result<syn::parse::ParseBuffer<'a>> {
    if input.peek(syn::token::Brace) {
        let content;
        braced!(content in input);
        return Ok(content);
    }
    wrong_delimiter(input, "{", "}", what)
}

pub(super) fn wrong_delimiter<T>(input: ParseStream, open: &str, close: &str, what: &str) -> syn::Result<T> {
    if let Some((TokenTree::Group(group), _)) = input.cursor().token_tree() {
        let found = match group.delimiter() {
            Delimiter::Parenthesis => "`(…)`",
            Delimiter::Brace => "`{…}`",
            Delimiter::Bracket => "`[…]`",
            Delimiter::None => "a group",
        };
        return Err(with_help(
            group.span(),
            format!("wrong delimiter: {what} is written in `{open}…{close}`, not {found}"),
            format!("replace the delimiters with `{open}` and `{close}`"),
        ));
    }
    Err(input.error(format!("expected `{open}`: {what} is written in `{open}…{close}`")))
}

impl Grammar<'_, '_> {
    /// Parses `item, item, …` with an optional trailing comma, recovering at commas.
    pub(super) fn comma_list(
        &mut self,
        input: ParseStream,
        what: &str,
        mut item: impl FnMut(&mut Self, ParseStream) -> syn::Result<()>,
    ) {
        while !input.is_empty() {
            if let Err(e) = item(self, input) {
                self.errors.push(e);
                skip_to_comma(input);
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                let _ = input.parse::<Token![,]>();
            } else {
                self.errors.push(input.error(format!("expected `,` between {what}")));
                skip_to_comma(input);
                let _ = input.parse::<Token![,]>();
            }
        }
    }
}
