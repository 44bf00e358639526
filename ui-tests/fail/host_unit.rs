// Host units that would not do what they say: a bad name, nothing declared, a masked unit with a
// body, `enable` without `[Install]`, `enable: false` on a shipped unit on CoreOS (cloudinit never
// disables), and `command` on Flatcar.
fn main() {
    let _coreos = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        host: {
            unit "docker tcp.socket" { mask },
            unit "nothing.service" {},
            unit "masked.service" { mask, body: "[Service]\nExecStart=/bin/true\n" },
            unit "noinstall.service" { body: "[Service]\nExecStart=/bin/true\n", enable: true },
            unit "docker.service" { enable: false },
        },
    };
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        host: { unit "docker.service" { command: restart } },
    };
}
