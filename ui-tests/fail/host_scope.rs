// Host configuration for a domain the group does not have: a misspelt cabinet, and `host_in` on
// a group spread across nothing.
fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [one, two, three] {
            host_in: { tow: { file "/etc/motd" { contents: "two\n" } } },
        },
        workers: 2 { host_in: { one: { file "/etc/motd" { contents: "one\n" } } } },
    };
}
