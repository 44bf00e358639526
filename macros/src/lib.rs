//! The procedural macro behind `clusterdef::cluster!`. Use it through the `clusterdef` crate,
//! whose `cluster!` passes its own path in; this crate only connects the compiler to
//! `clusterdef-syntax`, where parsing, the rules and code generation live.
#![forbid(unsafe_code)]

use proc_macro::TokenStream;

/// Expands `($crate) body…` to a checked `Cluster` expression. Hidden: call `clusterdef::cluster!`.
#[doc(hidden)]
#[proc_macro]
pub fn cluster_impl(input: TokenStream) -> TokenStream {
    clusterdef_syntax::expand_invocation(input.into(), &read_crate_file).into()
}

/// Reads a unit body file relative to the root of the crate being compiled, and only inside it.
/// The generated code includes the same file with `include_str!`, so cargo tracks it and
/// rebuilds when it changes.
fn read_crate_file(path: &str) -> Result<String, String> {
    let root = std::env::var_os("CARGO_MANIFEST_DIR")
        .ok_or_else(|| "CARGO_MANIFEST_DIR is not set, so the crate root is unknown".to_string())?;
    let root = std::path::Path::new(&root);
    clusterdef_syntax::files::read_unit_file(path, root, &[root])
}
