// Two writers of one path on one machine: a cluster-wide file and a group's, a file where
// clusterdef writes the hostname, a host unit named like a fleet unit, a file inside a file.
fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c] { host: { file "/etc/motd" { contents: "central\n" } } },
        host: {
            file "/etc/motd" { contents: "all\n" },
            file "/etc/hostname" { contents: "mine\n" },
            file "/etc/app" { contents: "a\n" },
            file "/etc/app/conf" { contents: "b\n" },
            unit "web.service" { body: "[Service]\nExecStart=/bin/true\n" },
        },
        unit "web.service" { body: "[Service]\nExecStart=/usr/bin/web\n" },
    };
}
