// `instances` counts copies of a template; a plain unit has none, a global one runs everywhere.
fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        workers: 3,
        unit "web.service" { instances: 2, body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "agent@.service" { global, instances: 2, body: "[Service]\nExecStart=/usr/bin/agent %i\n" },
    };
}
