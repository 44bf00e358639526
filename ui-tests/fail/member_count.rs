fn main() {
    let _cluster = clusterdef::cluster! {
        central: 1 across cabinets [a],
    };
}
