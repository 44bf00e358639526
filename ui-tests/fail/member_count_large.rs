fn main() {
    let _cluster = clusterdef::cluster! {
        central: 7 across cabinets [a, b, c, d],
    };
}
