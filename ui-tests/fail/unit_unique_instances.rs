// Names are unique after a template's instances are named: `web@1.service` beside a template
// that runs it, on Flatcar and on CoreOS alike.
fn main() {
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 3 { addresses: "10.0.0.21".."10.0.0.23" },
        unit "web@.service" { body: "[Service]\nExecStart=/usr/bin/web %i\n", metadata: { role = worker }, instances: 2 },
        unit "web@1.service" { body: "[Service]\nExecStart=/usr/bin/other\n", metadata: { role = worker } },
    };
    let _coreos = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "api@2.service" { body: "[Service]\nExecStart=/usr/bin/api\n" },
        unit "api@.service" { body: "[Service]\nExecStart=/usr/bin/api %i\n", instances: 3 },
    };
}
