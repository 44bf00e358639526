fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "web.service" { body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "web-sidekick.service" {
            machine_of: "web.service",
            conflicts: ["web*"],
            body: "[Service]\nExecStart=/usr/bin/sidekick\n",
        },
    };
}
