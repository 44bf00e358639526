fn main() {
    let _cluster = clusterdef::cluster! {
        name: "a",
        name: "b",
        central: 3 across cabinets [a, b, c],
        machines: 3,
    };
}
