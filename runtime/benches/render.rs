//! What rendering costs: every artifact, in memory, for synthetic clusters across sizes
//! (machines at 10 to 10,000 with 100 units; units at 10 to 1,000 with 100 machines), and the
//! same machine counts on Flatcar (Ignition configs, units placed at render time) and on Flatcar
//! running Kubernetes (the units as workloads, the kubelet and control plane files). Each size
//! reports output bytes per second, and a plain copy of that many bytes is timed beside it, so
//! rendering throughput can be read as a fraction of what the machine can move at all.
//!
//! Run with `cargo bench -p clusterdef --bench render`. With `--features import`, the group
//! `import_machines` times `clusterdef::import` reading the same clusters' rendered files back
//! (which includes rendering the imported cluster once to compare).

use std::hint::black_box;

use clusterdef::{Cluster, Render, synthetic};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn point(c: &mut Criterion, group: &str, label: String, cluster: &Cluster) {
    let bytes: usize = cluster.render().expect("the benchmark cluster renders").total_bytes();
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_with_input(BenchmarkId::new("render", &label), cluster, |b, cluster| {
        b.iter_with_large_drop(|| black_box(cluster.render()))
    });
    let source = vec![0x5au8; bytes];
    g.bench_with_input(BenchmarkId::new("memcpy", &label), &source, |b, source| b.iter(|| black_box(source.clone())));
    g.finish();
    println!("{group}/{label}: {bytes} output bytes");
}

fn bench(c: &mut Criterion) {
    for machines in [10u32, 100, 1_000, 10_000] {
        point(c, "render_machines", format!("{machines}m_100u"), &synthetic::cluster(machines, 100));
    }
    for machines in [10u32, 100, 1_000, 10_000] {
        point(c, "render_machines_flatcar", format!("{machines}m_100u"), &flatcar(machines, 100));
    }
    for machines in [10u32, 100, 1_000, 10_000] {
        point(c, "render_machines_kubernetes", format!("{machines}m_100u"), &kubernetes(machines, 100));
    }
    for units in [10u32, 100, 1_000] {
        point(c, "render_units", format!("100m_{units}u"), &synthetic::cluster(100, units));
    }
    #[cfg(feature = "import")]
    for machines in [10u32, 100, 1_000, 10_000] {
        import_point(c, machines);
    }
}

/// Reading a rendered cluster back, bytes read per second.
#[cfg(feature = "import")]
fn import_point(c: &mut Criterion, machines: u32) {
    use clusterdef::import::{SourceFile, import};
    let cluster = synthetic::cluster(machines, 100);
    let artifacts = cluster.render().expect("the benchmark cluster renders");
    let files: Vec<SourceFile> = artifacts
        .iter()
        .filter(|(path, _)| *path != "plan.txt")
        .map(|(path, bytes)| SourceFile { path: path.to_string(), text: String::from_utf8_lossy(bytes).into_owned() })
        .collect();
    let bytes: usize = files.iter().map(|f| f.text.len()).sum();
    let mut g = c.benchmark_group("import_machines");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(bytes as u64));
    g.bench_with_input(BenchmarkId::new("import", format!("{machines}m_100u")), &files, |b, files| {
        b.iter_with_large_drop(|| black_box(import(files, None)))
    });
    g.finish();
}

/// The synthetic cluster on Flatcar: the same machines and units, members bootstrapping from
/// their static addresses.
fn flatcar(machines: u32, units: u32) -> Cluster {
    let cluster = synthetic::flatcar_cluster(machines, units);
    if let Err(violations) = cluster.check() {
        panic!("the Flatcar benchmark cluster breaks rules:\n{violations}");
    }
    cluster
}

/// The synthetic cluster running Kubernetes (`synthetic::kubernetes_cluster`).
fn kubernetes(machines: u32, units: u32) -> Cluster {
    let cluster = synthetic::kubernetes_cluster(machines, units);
    if let Err(violations) = cluster.check() {
        panic!("the Kubernetes benchmark cluster breaks rules:\n{violations}");
    }
    cluster
}

criterion_group!(benches, bench);
criterion_main!(benches);
