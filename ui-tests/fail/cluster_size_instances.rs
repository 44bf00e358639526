fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        workers: 3,
        unit "web@.service" { body: "[Service]\nExecStart=/bin/true\n", instances: 4294967295 },
        unit "api@.service" { body: "[Service]\nExecStart=/bin/true\n", instances: 6000 },
        unit "job@.service" { body: "[Service]\nExecStart=/bin/true\n", instances: 5000 },
    };
}
