//! The clusterdef DSL as ordinary library code over `proc_macro2`.
//!
//! Stages, one module each: [`ast`] (the spanned syntax tree), [`parse`] (tokens to tree, with
//! error recovery), [`lower`] (tree to the typed [`Cluster`], remembering spans), the rules
//! (run on the model by [`Cluster::violations`], the one implementation every front end shares)
//! and [`codegen`] (model to a `const` expression). The `cluster!` macro, build scripts and the
//! CLI call [`compile`] or [`expand`]; unit tests call them on token streams.
#![forbid(unsafe_code)]

pub mod ast;
pub mod codegen;
pub mod files;
pub mod lower;
pub mod parse;
pub mod print;
pub mod source;
pub mod symbol;
#[doc(hidden)]
pub mod synthetic;

use clusterdef_model::{Checked, Cluster};
use proc_macro2::{Delimiter, TokenStream, TokenTree};
use quote::quote;

pub use ast::SpanRange;
pub use lower::SpanMap;
pub use parse::FileLoader;

/// A cluster that parsed and passed every rule it does not allow, with its spans.
#[derive(Clone, Debug)]
pub struct Compiled {
    /// The checked cluster, with what the rules found.
    pub checked: Checked,
    /// Where each part of it was written.
    pub spans: SpanMap,
}

impl Compiled {
    /// The cluster.
    pub fn cluster(&self) -> &Cluster {
        self.checked.cluster()
    }
}

/// Parses, lowers and checks a `cluster!` body. On failure returns every error: all syntax
/// errors if there are any (a half-parsed cluster would only produce misleading rule errors),
/// otherwise every rule violation, each spanned on the tokens at fault.
pub fn compile(tokens: TokenStream, load: FileLoader<'_>) -> Result<Compiled, Vec<syn::Error>> {
    compile_detailed(tokens, load).map_err(|errors| errors.into_iter().map(|e| e.error).collect())
}

/// One error of [`compile_detailed`]: the spanned error and, for a rule violation, the rule.
#[derive(Debug)]
pub struct CompileError {
    /// The error, spanned on the tokens at fault.
    pub error: syn::Error,
    /// The rule broken, or `None` for a syntax error.
    pub rule: Option<clusterdef_model::Rule>,
}

/// [`compile`], keeping which rule each violation broke (for tools that report rules apart).
pub fn compile_detailed(tokens: TokenStream, load: FileLoader<'_>) -> Result<Compiled, Vec<CompileError>> {
    let call_site = whole_span(&tokens);
    let (ast, mut errors) = parse::parse(tokens, load);
    let (lowered, lower_errors) = lower::lower(&ast, call_site, !errors.is_empty());
    errors.extend(lower_errors);
    let syntax = |errors: Vec<syn::Error>| errors.into_iter().map(|error| CompileError { error, rule: None }).collect();
    if !errors.is_empty() {
        return Err(syntax(errors));
    }
    let Some((cluster, spans)) = lowered else {
        return Err(syntax(vec![call_site.error("the cluster could not be read")]));
    };
    let violations = match Checked::new(cluster) {
        Ok(checked) => return Ok(Compiled { checked, spans }),
        Err(violations) => violations.list,
    };
    Err(violations
        .iter()
        .map(|v| CompileError { error: spans.span(v.subject).error(v.full_message()), rule: Some(v.rule) })
        .collect())
}

/// The range from the first to the last token of `tokens` (the call site when empty).
fn whole_span(tokens: &TokenStream) -> SpanRange {
    let mut iter = tokens.clone().into_iter();
    match iter.next() {
        None => SpanRange::single(proc_macro2::Span::call_site()),
        Some(first) => {
            let start = first.span();
            let end = iter.last().map_or(start, |t| t.span());
            SpanRange { start, end }
        }
    }
}

/// Expands a `cluster!` body to an expression of type `Cluster` (the runtime's), where `krate` is the path of
/// the runtime crate. On failure the expression holds every error as a `compile_error!` and then
/// a placeholder cluster, so the caller's other code still type-checks.
pub fn expand(body: TokenStream, krate: &TokenStream, load: FileLoader<'_>) -> TokenStream {
    match compile(body, load) {
        Ok(compiled) => codegen::cluster_expr(compiled.cluster(), krate),
        Err(errors) => {
            let errors: TokenStream = errors.iter().map(syn::Error::to_compile_error).collect();
            codegen::placeholder_expr(errors, krate)
        }
    }
}

/// Expands the input of the hidden `cluster_impl!` macro: `($crate) body…`, as written by the
/// `clusterdef::cluster!` wrapper. Input without the leading group is taken to be a bare body
/// and gets the path `::clusterdef`.
pub fn expand_invocation(input: TokenStream, load: FileLoader<'_>) -> TokenStream {
    let mut iter = input.clone().into_iter();
    if let Some(TokenTree::Group(group)) = iter.next()
        && group.delimiter() == Delimiter::Parenthesis
    {
        let body: TokenStream = iter.collect();
        return expand(body, &group.stream(), load);
    }
    expand(input, &quote!(::clusterdef), load)
}

#[cfg(test)]
mod tests;
