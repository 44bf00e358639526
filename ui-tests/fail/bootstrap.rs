fn main() {
    let _cluster = clusterdef::cluster! {
        bootstrap: static,
        central: 3 across cabinets [a, b, c],
    };
}
