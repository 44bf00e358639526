fn main() {
    let _cluster = clusterdef::cluster! {
        central: 5 across cabinets (a, b, c),
    };
}
