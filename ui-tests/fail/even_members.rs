fn main() {
    let _cluster = clusterdef::cluster! {
        central: 4 across cabinets [a, b, c, d],
    };
}
