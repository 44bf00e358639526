//! Synthetic clusters in the language: the model's generator (`clusterdef_model::synthetic`),
//! printed, for the expansion benchmarks and growth tests.

/// A cluster of `machines` machines in all and `units` units (`clusterdef_model::synthetic::cluster`),
/// declared in the language.
pub fn source(machines: u32, units: u32) -> String {
    crate::print::print(&clusterdef_model::synthetic::cluster(machines, units))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(src: &str) -> proc_macro2::TokenStream {
        let tokens: proc_macro2::TokenStream = src.parse().expect("tokens");
        crate::expand(tokens, &quote::quote!(::clusterdef), &|p| Err(p.to_string()))
    }

    /// Ten times the machines, or ten times the units, costs at most twelve times as much to
    /// expand. A ratio, not an absolute time; medians of interleaved runs.
    #[test]
    fn expansion_grows_linearly() {
        for (label, small, big) in
            [("machines", source(100, 50), source(1_000, 50)), ("units", source(100, 30), source(100, 300))]
        {
            assert!(!expand(&big).to_string().contains("compile_error"));
            let (s, b) = clusterdef_model::synthetic::paired_medians(
                7,
                || drop(std::hint::black_box(expand(&small))),
                || drop(std::hint::black_box(expand(&big))),
            );
            let ratio = b.as_secs_f64() / s.as_secs_f64();
            assert!(ratio <= 12.0, "10x the {label} took {ratio:.1}x the time ({s:?} -> {b:?})");
        }
    }
}
