//! The README's card on Flatcar, with the fix static_bootstrap asks for.
use clusterdef::cluster;

fn main() {
    let cluster = cluster! {
        os: flatcar,
        network: { subnet: "10.0.0.0/24" },
        central: 5 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.15" },
        workers: autoscale,
    };
    assert_eq!(cluster.os, clusterdef::Os::Flatcar);
}
