//! Synthetic clusters of any size, for the benchmarks and the growth tests.

use std::fmt::Write as _;

/// A central-services cluster with `machines` machines (5 central, the rest in pools of 100,
/// all statically addressed) and `units` units placed by metadata.
pub fn source(machines: u32, units: u32) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(src: &str) -> proc_macro2::TokenStream {
        let tokens: proc_macro2::TokenStream = src.parse().expect("tokens");
        crate::expand(tokens, &quote::quote!(::clusterdef), &|p| Err(p.to_string()))
    }

    fn time(src: &str) -> std::time::Duration {
        let t = std::time::Instant::now();
        drop(std::hint::black_box(expand(src)));
        t.elapsed()
    }

    /// Ten times the machines, or ten times the units, costs at most twelve times as much to
    /// expand. A ratio, not an absolute time; medians of interleaved runs.
    #[test]
    fn expansion_grows_linearly() {
        for (label, small, big) in
            [("machines", source(100, 50), source(1_000, 50)), ("units", source(100, 30), source(100, 300))]
        {
            assert!(!expand(&big).to_string().contains("compile_error"));
            let (mut s, mut b) = (Vec::new(), Vec::new());
            for _ in 0..7 {
                s.push(time(&small));
                b.push(time(&big));
            }
            s.sort();
            b.sort();
            let ratio = b[3].as_secs_f64() / s[3].as_secs_f64();
            assert!(ratio <= 12.0, "10x the {label} took {ratio:.1}x the time ({:?} -> {:?})", s[3], b[3]);
        }
    }
}
