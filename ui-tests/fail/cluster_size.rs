fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        workers: 100000000,
        pool a: 6000,
        pool b: 5000,
    };
}
