// A known risk, accepted on purpose with a reason, compiles.
fn main() {
    let cluster = clusterdef::cluster! {
        central: 4 across cabinets [a, b, c, d],
        allow(even_members, reason = "a fifth machine is being racked this week"),
    };
    assert!(cluster.check().is_ok());
    assert_eq!(cluster.all_violations().len(), 1);
}
