// Metadata a kubelet cannot register as node labels: a reserved prefix, a value ending in `_`.
fn main() {
    let _cluster = clusterdef::cluster! {
        os: flatcar,
        kubernetes: { version: "v1.36.3" },
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 2 { addresses: "10.0.0.21".."10.0.0.22", metadata: { "kubernetes.io/disk" = ssd, rack = "r4_" } },
    };
}
