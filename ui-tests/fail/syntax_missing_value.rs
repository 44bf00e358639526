fn main() {
    let _cluster = clusterdef::cluster! {
        central: ,
        workers: autoscale,
    };
}
