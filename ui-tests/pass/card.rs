// The design card's example, exactly as written.
use clusterdef::cluster;

fn main() {
    let cluster = cluster! { central: 5 across cabinets [a, b, c], workers: autoscale };
    assert_eq!(cluster.members.domain_counts(5), [2, 2, 1]);
    assert!(cluster.check().is_ok());
}
