// Kubernetes on CoreOS, at a release that does not exist, with a pod range over the machines.
fn main() {
    let _cluster = clusterdef::cluster! {
        kubernetes: { version: "1.36", pods: "10.0.0.0/16" },
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 2,
    };
}
