fn main() {
    let _cluster = clusterdef::cluster! {
        machines: 5 across zones [a, b, c],
        workers: 3,
    };
}
