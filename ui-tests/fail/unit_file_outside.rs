// A declaration reads only its own project's files: not an absolute path, not one that climbs
// out of the crate.
fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "a.service" { body: file "/etc/shadow" },
        unit "b.service" { body: file "../../../../../../../../../../../../../../../../../../../../etc/shadow" },
    };
}
