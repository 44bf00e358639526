fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        pool "db_ssd": 2,
        pool db: 2,
        pool db: 3,
    };
}
