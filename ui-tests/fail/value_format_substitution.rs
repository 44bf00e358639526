// A unit body with a value only coreos-cloudinit fills in: on CoreOS it would be replaced with a
// member's address in the copy the members submit; on Flatcar it would reach the machine as text.
fn main() {
    let _coreos = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "announce.service" { body: "[Service]\nExecStart=/usr/bin/announce $private_ipv4\n" },
    };
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        unit "announce.service" { global, body: "[Service]\nExecStart=/usr/bin/announce $public_ipv4\n" },
    };
}
