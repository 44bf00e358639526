//! The plan of clusters built at run time.

use std::borrow::Cow;
use std::net::Ipv4Addr;

use clusterdef_model::{Addressing, Layout, Network, Unit, UnitBody};

use super::text::{WIDEST_COLUMN, table};
use super::*;

#[test]
fn each_placed_instance_is_named_with_its_machine_in_the_text_and_the_tables() {
    let mut members = Group::new("central", "central", Size::Fixed(3));
    members.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 11), last: Ipv4Addr::new(10, 0, 0, 13) };
    let mut cluster = Cluster::new("t", Layout::CentralServices, members);
    cluster.os = Os::Flatcar;
    cluster.bootstrap = Bootstrap::Static;
    cluster.network = Some(Network::new("10.0.0.0/24".parse().expect("subnet")));
    cluster.pools = Cow::Owned(vec![Group::new("worker", "worker", Size::Fixed(3))]);
    let mut web = Unit::new("web@.service", UnitBody::Inline(Cow::Borrowed("[Service]\nExecStart=/bin/true\n")));
    web.instances = Some(2);
    web.machine_metadata = Cow::Owned(vec![clusterdef_model::Requirement {
        key: Cow::Borrowed("role"),
        values: Cow::Owned(vec![Cow::Borrowed("worker")]),
    }]);
    cluster.units = Cow::Owned(vec![web]);
    let plan = Plan::of(&cluster);
    let placed = "web@1.service: worker-1, web@2.service: worker-2";
    assert!(plan.to_string().contains(&format!("web@.service: placed on {placed}")), "{plan}");
    assert!(plan.tables().contains(placed), "{}", plan.tables());
}

#[test]
fn cells_of_any_length_lay_out_without_padding_every_row_to_them() {
    let long = "z".repeat(70_000);
    let rows = vec![vec![long.clone(), "a".to_string()], vec!["b".to_string(), "c".to_string()]];
    let text = table(&["name", "x"], &rows);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[2], format!("  {long}  a"), "the long cell is written whole");
    assert_eq!(lines[3], format!("  b{}  c", " ".repeat(WIDEST_COLUMN - 1)), "other rows pad to the cap");
    assert!(text.len() < 70_000 + 4 * WIDEST_COLUMN + 64, "{} bytes", text.len());
}
