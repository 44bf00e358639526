fn main() {
    let _cluster = clusterdef::cluster! {
        centrl: 5 across cabinets [a, b, c],
        workers: autoscale,
    };
}
