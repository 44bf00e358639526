//! What `cluster!` costs per expansion: parse, every rule and code generation, on the seed's
//! production cluster and on synthetic clusters across sizes (machines at 10 to 10,000 with 100
//! units; units at 10 to 1,000 with 100 machines). Each size also reports the expansion's output
//! bytes per second, and a plain copy of that many bytes is timed beside it for scale.
//!
//! Outside a compiler, proc_macro2 runs in fallback mode, where dropping tens of thousands of
//! tokens costs milliseconds; inside rustc the macro hands its output over and never drops it.
//! So the output is dropped outside the timed part (`iter_with_large_drop`).
//!
//! Also the largest group the rules accept, and a count past the limit.
//!
//! Run with `cargo bench -p clusterdef-syntax --bench expand`.

use std::hint::black_box;

use clusterdef_syntax::synthetic;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use proc_macro2::TokenStream;
use quote::quote;

/// The seed's production cluster, as the examples crate declares it (`cluster/production.cluster`
/// is the same text as its `cluster!` body).
fn production_source() -> String {
    std::fs::read_to_string(examples_dir().join("cluster/production.cluster")).expect("the seed's production cluster")
}

fn examples_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples")
}

/// Unit files, read relative to the examples crate as the macro would.
fn example_files(path: &str) -> Result<String, String> {
    std::fs::read_to_string(examples_dir().join(path)).map_err(|e| e.to_string())
}

fn tokens(src: &str) -> TokenStream {
    src.parse().expect("benchmark input tokenizes")
}

fn expand(input: &TokenStream) -> TokenStream {
    clusterdef_syntax::expand(input.clone(), &quote!(::clusterdef), &example_files)
}

/// Times the expansion of `input` and, beside it, a copy of as many bytes as it outputs.
fn sweep_point(c: &mut Criterion, group: &str, label: String, input: &TokenStream, machines: u64) {
    let out = expand(input).to_string();
    assert!(!out.contains("compile_error"), "benchmark input must pass the rules: {out}");
    let bytes = out.len() as u64;
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes));
    g.bench_with_input(BenchmarkId::new("expand", &label), input, |b, input| {
        b.iter_with_large_drop(|| black_box(expand(input)))
    });
    let source = vec![0x5au8; bytes as usize];
    g.bench_with_input(BenchmarkId::new("memcpy", &label), &source, |b, source| b.iter(|| black_box(source.clone())));
    g.finish();
    println!("{group}/{label}: {machines} machines, {bytes} output bytes");
}

fn bench(c: &mut Criterion) {
    let production = tokens(&production_source());
    assert!(!expand(&production).to_string().contains("compile_error"));
    c.bench_function("expand/seed_production", |b| b.iter_with_large_drop(|| black_box(expand(&production))));

    for machines in [10u32, 100, 1_000, 10_000] {
        let input = tokens(&synthetic::source(machines, 100));
        sweep_point(c, "expand_machines", format!("{machines}m_100u"), &input, u64::from(machines));
    }
    for units in [10u32, 100, 1_000] {
        let input = tokens(&synthetic::source(100, units));
        sweep_point(c, "expand_units", format!("100m_{units}u"), &input, 100);
    }
    let budget = tokens(&synthetic::source(1_000, 500));
    sweep_point(c, "expand_budget", "1000m_500u".to_string(), &budget, 1_000);

    // The largest group the rules accept: one pool that takes the cluster to the limit of
    // machines listed one by one, checked and expanded whole; and a count past the limit, which
    // is refused before any machine is expanded.
    let largest = clusterdef_model::MAX_FIXED_MACHINES - 3;
    let limit = tokens(&format!("central: 3 across cabinets [a, b, c], workers: {largest} across cabinets [a, b, c]"));
    sweep_point(c, "expand_limit", format!("{largest}m_one_pool"), &limit, largest);
    let huge = tokens("central: 3 across cabinets [a, b, c], workers: 4294967295");
    assert!(expand(&huge).to_string().contains("compile_error"));
    c.bench_function("expand_limit/refused_4294967295", |b| b.iter_with_large_drop(|| black_box(expand(&huge))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
