//! What `cluster!` costs per expansion: parse, rules and code generation, on the seed's
//! production cluster and on generated clusters of growing size.
//!
//! Outside a compiler, proc_macro2 runs in fallback mode, where dropping tens of thousands of
//! tokens costs milliseconds; inside rustc the macro hands its output over and never drops it.
//! So the output is dropped outside the timed part (`iter_with_large_drop`).
//!
//! Run with `cargo bench -p clusterdef-syntax --bench expand`.

use std::fmt::Write as _;
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use proc_macro2::TokenStream;
use quote::quote;

const PRODUCTION: &str = r#"
    name: "prod",
    production: true,
    etcd: 2,
    channel: stable,
    ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.2", "10.0.0.3"] },
    central: 5 across cabinets [one, two, three] {
        addresses: "10.0.0.101".."10.0.0.105",
        hostnames: "central-{n}",
        reboot: etcd_lock,
        window: "Sun 04:00" for "2h",
    },
    workers: autoscale 3..50 across cabinets [one, two] { channel: beta, metadata: { disk = spinning } },
    unit "monitoring.service" { global, body: "[Service]\nExecStart=/usr/bin/monitor\n" },
    unit "kubernetes.service" { global, metadata: { role = central }, body: "[Service]\nExecStart=/usr/bin/kube\n" },
    unit "webapp@.service" { metadata: { role = worker }, conflicts: ["webapp@*.service"], body: "[Service]\nExecStart=/usr/bin/webapp\n" },
    unit "dist-db.service" { metadata: { role = worker, cabinet = one }, body: "[Service]\nExecStart=/usr/bin/db\n" },
"#;

/// A central-services cluster with `machines` machines (5 central, the rest in pools of 100,
/// all statically addressed) and `units` units placed by metadata.
pub fn generated(machines: u32, units: u32) -> String {
    let mut src = String::from(
        r#"name: "big", network: { subnet: "10.0.0.0/8", gateway: "10.0.0.1" },
        central: 5 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.15" },"#,
    );
    let mut left = machines.saturating_sub(5);
    let mut pool = 0u32;
    while left > 0 {
        let n = left.min(100);
        let base = 10 + pool;
        let _ = write!(
            src,
            r#" pool p{pool}: {n} across cabinets [a, b, c] {{ addresses: "10.{base}.0.1".."10.{base}.0.{n}", metadata: {{ tier = t{t} }} }},"#,
            t = pool % 4
        );
        left -= n;
        pool += 1;
    }
    let tiers = pool.clamp(1, 4);
    for u in 0..units {
        let _ = write!(
            src,
            r#" unit "app-{u}.service" {{ metadata: {{ role = worker, tier = t{t}, cabinet = [a, b] }}, conflicts: ["app-{u}-*.service"], body: "[Service]\nExecStart=/usr/bin/app {u}\n" }},"#,
            t = u % tiers
        );
    }
    src
}

fn tokens(src: &str) -> TokenStream {
    src.parse().expect("benchmark input tokenizes")
}

fn no_files(path: &str) -> Result<String, String> {
    Err(format!("no file {path}"))
}

fn expand(input: &TokenStream) -> TokenStream {
    let out = clusterdef_syntax::expand(input.clone(), &quote!(::clusterdef), &no_files);
    assert!(!out.to_string().contains("compile_error"), "benchmark input must pass the rules: {out}");
    out
}

fn bench(c: &mut Criterion) {
    let production = tokens(PRODUCTION);
    c.bench_function("expand/seed_production", |b| {
        b.iter_with_large_drop(|| {
            black_box(clusterdef_syntax::expand(black_box(production.clone()), &quote!(::clusterdef), &no_files))
        })
    });
    expand(&production);

    let mut group = c.benchmark_group("expand/generated");
    group.sample_size(20);
    for (machines, units) in [(10, 10), (100, 100), (1_000, 500), (10_000, 1_000)] {
        let input = tokens(&generated(machines, units));
        expand(&input);
        group.throughput(Throughput::Elements(u64::from(machines)));
        group.bench_with_input(BenchmarkId::from_parameter(format!("{machines}m_{units}u")), &input, |b, input| {
            b.iter_with_large_drop(|| {
                black_box(clusterdef_syntax::expand(black_box(input.clone()), &quote!(::clusterdef), &no_files))
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
