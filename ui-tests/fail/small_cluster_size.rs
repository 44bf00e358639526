fn main() {
    let _cluster = clusterdef::cluster! {
        machines: 11 across zones [a, b, c],
    };
}
