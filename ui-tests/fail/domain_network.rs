fn main() {
    let _cluster = clusterdef::cluster! {
        network: {
            subnet: "10.10.0.0/16",
            gateway: "10.10.0.1",
            zones: {
                "us-east-1a": { subnet: "10.10.0.0/20" },
                "us-east-1b": { subnet: "10.10.8.0/21" },
                "us-east-1d": { subnet: "10.10.32.0/20" },
                "us-east-1c": { subnet: "10.20.0.0/20", gateway: "10.20.16.1" },
            },
        },
        central: 3 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
            addresses: ["10.10.1.11", "10.10.17.11", "10.20.0.11"],
        },
    };
}
