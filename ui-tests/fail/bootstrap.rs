// A discovery URL etcd cannot fetch.
fn main() {
    let _cluster = clusterdef::cluster! {
        bootstrap: discovery "ftp://discovery.example.com/x",
        central: 3 across cabinets [a, b, c],
    };
}
