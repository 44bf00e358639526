//! Growth of the model's algorithms over what a small file can make large, in release
//! (`scripts/test.sh` runs them with `cargo test --release -- --ignored`; a debug build's
//! timings say little about the algorithm).

use clusterdef_model::synthetic::{assert_near_linear, many_windows, spread_template};

/// Compile-time placement of a template whose instances `conflicts` spreads one per machine:
/// 60 → 6,000 instances over as many machines.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn placement_of_a_spread_template_grows_near_linearly() {
    let clusters: Vec<_> = [60, 600, 6_000].into_iter().map(|n| (n, spread_template(n))).collect();
    for (n, cluster) in &clusters {
        let (hosts, problems) = cluster.compile_placement();
        assert!(problems.is_empty() && hosts[0].len() == *n as usize, "{problems:?}");
    }
    assert_near_linear("placement", 60, |n| {
        let cluster = &clusters.iter().find(|(m, _)| *m as usize == n).expect("built").1;
        std::hint::black_box(cluster.compile_placement());
    });
}

/// Every rule over per-cabinet reboot windows: 50 → 5,000 cabinets, each with a window.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn reboot_windows_grow_near_linearly() {
    let clusters: Vec<_> = [50, 500, 5_000].into_iter().map(|n| (n, many_windows(n))).collect();
    assert_near_linear("reboot_quorum", 50, |n| {
        let cluster = &clusters.iter().find(|(m, _)| *m == n).expect("built").1;
        std::hint::black_box(cluster.violations());
    });
}

use clusterdef_model::synthetic::{
    confined_workloads, conflicting_workloads, domain_networks, host_items_across, kubernetes_at_scale,
    many_metadata_keys,
};

/// Runs the rules (and, for Kubernetes, the predictions every loss needs) on prebuilt clusters.
fn rules_grow_near_linearly(label: &str, clusters: Vec<(usize, clusterdef_model::Cluster)>) {
    let n = clusters[0].0;
    assert_near_linear(label, n, |size| {
        let cluster = &clusters.iter().find(|(m, _)| *m == size).expect("built").1;
        std::hint::black_box(cluster.all_violations());
        std::hint::black_box(cluster.domain_losses());
    });
}

/// Machines: a Kubernetes cluster of 100 → 10,000 machines (100 domains, 100 workloads).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn kubernetes_machines_grow_near_linearly() {
    rules_grow_near_linearly(
        "machines",
        [100, 1_000, 10_000].into_iter().map(|n| (n, kubernetes_at_scale(n as u32, 50, 20))).collect(),
    );
}

/// Failure domains: 10 → 1,000 cabinets of one Kubernetes cluster (2,000 machines, 20 workloads).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn failure_domains_grow_near_linearly() {
    rules_grow_near_linearly(
        "domains",
        [10, 100, 1_000].into_iter().map(|n| (n, kubernetes_at_scale(2_000, n as u32, 20))).collect(),
    );
}

/// Workloads: 10 → 1,000 workloads (200 machines, 10 domains).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn workloads_grow_near_linearly() {
    rules_grow_near_linearly(
        "workloads",
        [10, 100, 1_000].into_iter().map(|n| (n, kubernetes_at_scale(200, 10, n as u32))).collect(),
    );
}

/// Workloads × domains: both grow together, their product 100 → 10,000 (10 × 10 to 100 × 100,
/// 2,000 machines); every workload may run in every domain, so each loss touches every workload.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn workloads_times_domains_grow_near_linearly() {
    rules_grow_near_linearly(
        "workloads x domains",
        [(100, 10), (1_000, 32), (10_000, 100)]
            .into_iter()
            .map(|(n, side)| (n, kubernetes_at_scale(2_000, side, side)))
            .collect(),
    );
}

/// Workloads each confined to a cabinet of its own: 10 → 1,000 sets of nodes whose pods are
/// counted against what they hold (`node_capacity`), each domain's loss touching one of them.
/// Every size passes every rule, so every rule runs to its end.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn confined_workloads_grow_near_linearly() {
    let clusters: Vec<_> = [10, 100, 1_000].into_iter().map(|n| (n, confined_workloads(n as u32))).collect();
    for (n, cluster) in &clusters {
        assert_eq!(cluster.node_kinds().len(), n + 5, "one worker kind a cabinet, and the members'");
        let found: Vec<_> = cluster.violations().into_iter().map(|v| v.message).take(3).collect();
        assert!(found.is_empty(), "{n} workloads: {found:?}");
    }
    rules_grow_near_linearly("confined workloads", clusters);
}

/// Workloads that all conflict with each other and may share nodes: 24 → 2,400 (one error per
/// workload, naming a few of the others, not one per pair).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn conflicting_workloads_grow_near_linearly() {
    let clusters: Vec<_> = [24, 240, 2_400].into_iter().map(|n| (n, conflicting_workloads(n as u32))).collect();
    for (n, cluster) in &clusters {
        let errors = cluster.all_violations();
        assert!(errors.len() <= *n + 5, "{n} workloads, {} errors", errors.len());
    }
    rules_grow_near_linearly("conflicting workloads", clusters);
}

/// Host configuration × failure domains: 80 → 8,000 one-machine cabinets, as many host files
/// cluster-wide and one more per cabinet.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn host_items_times_domains_grow_near_linearly() {
    rules_grow_near_linearly(
        "host items x domains",
        [80, 800, 8_000].into_iter().map(|n| (n, host_items_across(n as u32))).collect(),
    );
}

/// Metadata keys: 50 → 5,000 keys on a pool, and a unit requiring each.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn metadata_keys_grow_near_linearly() {
    rules_grow_near_linearly(
        "metadata keys",
        [50, 500, 5_000].into_iter().map(|n| (n, many_metadata_keys(n as u32))).collect(),
    );
}

/// Failure-domain networks: 50 → 5,000 cabinets, each with a subnet of its own (the rules that
/// find a domain's network declared twice or overlapping another's).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn domain_networks_grow_near_linearly() {
    let clusters: Vec<_> = [50, 500, 5_000].into_iter().map(|n| (n, domain_networks(n as u32))).collect();
    for (_, cluster) in &clusters {
        assert_eq!(cluster.violations(), vec![], "the synthetic cluster is valid");
    }
    rules_grow_near_linearly("domain networks", clusters);
}

/// Ports of one pod: a unit and the one following it into its pod each list 50 ports over and
/// over, 100 → 10,000 entries each. One error per unit (the first port it repeats), however
/// long the lists.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn ports_of_one_pod_grow_near_linearly() {
    let clusters: Vec<_> = [100, 1_000, 10_000]
        .into_iter()
        .map(|n| (n, clusterdef_model::synthetic::ports_in_one_pod(n as u32)))
        .collect();
    for (n, cluster) in &clusters {
        let repeats: Vec<_> = cluster
            .all_violations()
            .into_iter()
            .filter(|v| v.rule == clusterdef_model::Rule::WorkloadPlacement)
            .map(|v| v.message)
            .collect();
        assert_eq!(repeats.len(), 2, "{n} ports a unit: one error for each of the two units: {repeats:#?}");
    }
    rules_grow_near_linearly("ports of one pod", clusters);
}
