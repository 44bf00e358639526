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
