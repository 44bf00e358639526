fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "a.service" { body: "[Service]\nExecStart=/usr/bin/a\n" },
        unit "b.service" {
            global,
            machine_of: "a.service",
            replaces: ["c.service"],
            body: "[Service]\nExecStart=/usr/bin/b\n",
        },
    };
}
