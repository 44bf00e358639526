fn main() {
    let _cluster = clusterdef::cluster! {
        workers: autoscale,
    };
}
