fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "web.service" { body: file "units/does-not-exist.service" },
    };
}
