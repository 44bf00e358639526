//! Parsing a `cluster!` body into the spanned syntax tree, in three stages of its own:
//!
//! - `recovery`: how an error is recorded and skipped up to the next comma, so one invocation
//!   reports every syntax error at once, and the helpers every error is made with;
//! - `blocks`: the block grammar: entries, groups and their options, networks, TLS, Kubernetes;
//! - `units`: the unit and host-configuration blocks;
//! - `values`: the values inside them: names, counts, sizes, addresses and ranges, keywords,
//!   windows, unit bodies, allows.

mod blocks;
mod recovery;
mod units;
mod values;

use proc_macro2::TokenStream;
use syn::parse::{ParseStream, Parser};

use crate::ast::*;
pub(crate) use recovery::{duplicate, help_text, with_help};

/// Reads a unit body file named relative to the crate root.
pub type FileLoader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Parses a `cluster!` body. Returns the tree (with the malformed parts left out) and every
/// syntax error found.
pub fn parse(tokens: TokenStream, load: FileLoader<'_>) -> (ClusterAst, Vec<syn::Error>) {
    let mut errors = Vec::new();
    let mut ast = ClusterAst::default();
    let parser = |input: ParseStream| {
        let mut p = Grammar { errors: &mut errors, load };
        let mut seen = std::collections::HashSet::new();
        p.comma_list(input, "entries", |p, input| {
            let entry = p.entry(input)?;
            // Pools, units and allows repeat; every other key takes one value.
            let repeatable = matches!(entry.kind, EntryKind::Pool(..) | EntryKind::Unit(_) | EntryKind::Allow(..));
            if !repeatable && !seen.insert(entry.key.to_string()) {
                return Err(duplicate(&entry.key));
            }
            ast.entries.push(entry);
            Ok(())
        });
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    (ast, errors)
}

/// The grammar's parser state: the errors it has recovered from so far, and how it reads unit files.
pub(crate) struct Grammar<'e, 'l> {
    pub(crate) errors: &'e mut Vec<syn::Error>,
    pub(crate) load: FileLoader<'l>,
}
