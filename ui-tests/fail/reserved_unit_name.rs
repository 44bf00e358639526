fn main() {
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 2,
        unit "etcd-gateway.service" {
            metadata: { role = worker },
            body: "[Service]\nExecStart=/usr/bin/true\n",
        },
    };
}
