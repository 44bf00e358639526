fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "web.service" { body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "web.service" { body: "[Service]\nExecStart=/usr/bin/web2\n" },
    };
}
