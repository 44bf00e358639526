fn main() {
    let _coreos = clusterdef::cluster! { central: 3 across cabinets [a, b, c], workers: 2 { channel: lts } };
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        etcd: 0.4,
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
    };
}
