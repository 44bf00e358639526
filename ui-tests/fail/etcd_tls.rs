fn main() {
    let _cluster = clusterdef::cluster! {
        production: true,
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.101".."10.0.0.103" },
    };
}
