fn main() {
    let _cluster = clusterdef::cluster! {
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
        central: 5 across cabinets [a, b, c] { addresses: "10.0.0.101".."10.0.0.103" },
        workers: autoscale { addresses: "10.0.0.50".."10.0.0.90" },
    };
}
