fn main() {
    let _cluster = clusterdef::cluster! {
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
        central: 3 across cabinets [a, b, c] { addresses: ["10.0.0.11", "10.0.0.12", "10.0.0.11"] },
        pool db: 2 { addresses: ["10.0.0.1", "10.0.0.20"] },
    };
}
