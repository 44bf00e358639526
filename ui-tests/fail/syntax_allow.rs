fn main() {
    let _cluster = clusterdef::cluster! {
        central: 4 across cabinets [a, b, c, d],
        allow(even_member, reason = "replacing a machine"),
        allow(even_members),
        allow(even_members, reason = ""),
        allow(unit_name, reason = "cannot be"),
    };
}
