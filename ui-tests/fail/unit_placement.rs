// Flatcar has no scheduler: every unit is placed when the cluster is rendered.
fn main() {
    let _cluster = clusterdef::cluster! {
        os: flatcar,
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: autoscale,
        pool db: 1,
        pool cache: 2,
        unit "web.service" { metadata: { role = worker, pool = worker }, body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "db-a.service" { metadata: { pool = db }, conflicts: ["db-*.service"], body: "[Service]\nExecStart=/usr/bin/db\n" },
        unit "db-b.service" { metadata: { pool = db }, conflicts: ["db-*.service"], body: "[Service]\nExecStart=/usr/bin/db\n" },
        unit "cache@.service" {
            metadata: { pool = cache },
            conflicts: ["cache@*.service"],
            instances: 3,
            body: "[Service]\nExecStart=/usr/bin/cache %i\n",
        },
    };
}
