fn main() {
    let _cluster = clusterdef::cluster! {
        production: true,
        bootstrap: discovery "https://discovery.etcd.io/abc",
        central: 3 across cabinets [a, b, c],
    };
}
