// Flatcar members with addresses, bootstrapping by discovery: the help says `bootstrap: static`,
// and to declare the network where there is none.
fn main() {
    let _with_network = clusterdef::cluster! {
        os: flatcar,
        bootstrap: discovery "https://discovery.etcd.io/x",
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
    };
    let _without_network = clusterdef::cluster! {
        os: flatcar,
        bootstrap: discovery "https://discovery.etcd.io/x",
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
    };
}
