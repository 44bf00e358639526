fn main() {
    let _cluster = clusterdef::cluster! {
        central: autoscale 3..5 across cabinets [a, b, c],
    };
}
