fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c] { hostnames: "central" },
        pool db: 2 { hostnames: [db1, "central"] },
    };
}
