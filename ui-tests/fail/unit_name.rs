fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "web.servce" { body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "db@1.mount" { body: "[Mount]\nWhat=/dev/sdb\n" },
        unit "bad name.service" { body: "[Service]\nExecStart=/usr/bin/x\n" },
    };
}
