//! What checking and planning cost along each dimension a declaration can make large, and the
//! scale target: a Kubernetes cluster of 10,000 machines across 1,000 failure domains with 1,000
//! workloads, checked and planned (docs/performance.md). Each group is one dimension at three
//! sizes ten times apart; the growth tests (`tests/growth.rs` of the model and of this crate)
//! assert the same dimensions grow no faster than n log n.
//!
//! Run with `cargo bench -p clusterdef --bench scale` (`--features import` adds the import of
//! YAML aliases).

use std::hint::black_box;

use clusterdef::{Cluster, Render, synthetic};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

/// Times `check` (every rule) at each size of one dimension.
fn dimension(c: &mut Criterion, group: &str, sizes: Vec<(String, Cluster)>) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    for (label, cluster) in &sizes {
        g.bench_with_input(BenchmarkId::new("check", label), cluster, |b, cluster| {
            b.iter(|| black_box(cluster.all_violations()))
        });
    }
    g.finish();
}

fn bench(c: &mut Criterion) {
    let k = |m: u32, d: u32, w: u32| synthetic::kubernetes_at_scale(m, d, w);
    dimension(
        c,
        "scale_machines",
        [100u32, 1_000, 10_000].into_iter().map(|m| (format!("{m}m"), k(m, 50, 20))).collect(),
    );
    dimension(
        c,
        "scale_domains",
        [10u32, 100, 1_000].into_iter().map(|d| (format!("{d}d"), k(2_000, d, 20))).collect(),
    );
    dimension(
        c,
        "scale_workloads",
        [10u32, 100, 1_000].into_iter().map(|w| (format!("{w}w"), k(200, 10, w))).collect(),
    );
    dimension(
        c,
        "scale_workloads_x_domains",
        [10u32, 32, 100].into_iter().map(|s| (format!("{s}w_x_{s}d"), k(2_000, s, s))).collect(),
    );
    dimension(
        c,
        "scale_conflicting_workloads",
        [24u32, 240, 2_400].into_iter().map(|w| (format!("{w}w"), synthetic::conflicting_workloads(w))).collect(),
    );
    dimension(
        c,
        "scale_host_items_x_domains",
        [80u32, 800, 8_000].into_iter().map(|d| (format!("{d}d"), synthetic::host_items_across(d))).collect(),
    );
    dimension(
        c,
        "scale_metadata_keys",
        [50u32, 500, 5_000].into_iter().map(|n| (format!("{n}k"), synthetic::many_metadata_keys(n))).collect(),
    );
    dimension(
        c,
        "scale_domain_networks",
        [50u32, 500, 5_000].into_iter().map(|n| (format!("{n}d"), synthetic::domain_networks(n))).collect(),
    );
    dimension(
        c,
        "scale_ports_of_one_pod",
        [100u32, 1_000, 10_000].into_iter().map(|n| (format!("{n}p"), synthetic::ports_in_one_pod(n))).collect(),
    );
    dimension(
        c,
        "scale_confined_workloads",
        [10u32, 100, 1_000].into_iter().map(|n| (format!("{n}w"), synthetic::confined_workloads(n))).collect(),
    );
    // The target: 10,000 machines, 1,000 cabinets, 1,000 workloads, checked and planned.
    let target = k(10_000, 1_000, 1_000);
    let mut g = c.benchmark_group("scale_target");
    g.sample_size(10);
    g.bench_function("check", |b| b.iter(|| black_box(target.all_violations())));
    g.bench_function("plan", |b| b.iter_with_large_drop(|| black_box(target.plan())));
    // A change between two such declarations: one more worker in the first fixed pool.
    let mut grown = target.clone();
    let mut pools = grown.pools.to_vec();
    if let Some(clusterdef::Size::Fixed(n)) =
        pools.iter_mut().map(|p| &mut p.size).find(|s| matches!(s, clusterdef::Size::Fixed(_)))
    {
        *n += 1;
    }
    grown.pools = std::borrow::Cow::Owned(pools);
    let options = clusterdef::change::ChangeOptions::default();
    g.bench_function("change", |b| {
        b.iter_with_large_drop(|| black_box(clusterdef::change::plan(&target, &grown, &options)))
    });
    g.finish();
    #[cfg(feature = "import")]
    aliases(c);
}

/// Import of a cloud-config listing one anchored SSH key 100 → 10,000 times.
#[cfg(feature = "import")]
fn aliases(c: &mut Criterion) {
    use clusterdef::import::{SourceFile, import};
    let base: Vec<SourceFile> = synthetic::cluster(8, 1)
        .render()
        .expect("renders")
        .iter()
        .filter(|(p, _)| p.ends_with(".yml"))
        .map(|(p, b)| SourceFile { path: p.to_string(), text: String::from_utf8_lossy(b).into_owned() })
        .collect();
    let mut g = c.benchmark_group("scale_import_aliases");
    g.sample_size(10);
    for n in [100usize, 1_000, 10_000] {
        let mut files = base.clone();
        let keys = "  - *k\n".repeat(n);
        files[0].text = files[0].text.replacen(
            "#cloud-config\n",
            &format!("#cloud-config\nanchors: &k \"ssh-ed25519 AAAA ops@example.com\"\nssh_authorized_keys:\n{keys}"),
            1,
        );
        g.bench_with_input(BenchmarkId::new("import", format!("{n}a")), &files, |b, files| {
            b.iter(|| black_box(import(files, Some("aliases"))))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
