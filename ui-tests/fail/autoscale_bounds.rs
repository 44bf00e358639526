fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        workers: autoscale 50..3,
        pool idle: autoscale 0..0,
    };
}
