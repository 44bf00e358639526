fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c] { hostnames: [central1, "central_2", "-c3"] },
    };
}
