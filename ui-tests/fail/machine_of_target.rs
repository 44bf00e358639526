fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "web.service" { body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "log.service" { machine_of: "wbe.service", body: "[Service]\nExecStart=/usr/bin/log\n" },
        unit "x.service" { machine_of: "y.service", body: "[Service]\nExecStart=/usr/bin/x\n" },
        unit "y.service" { machine_of: "x.service", body: "[Service]\nExecStart=/usr/bin/y\n" },
    };
}
