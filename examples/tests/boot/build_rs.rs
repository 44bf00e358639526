//! The build.rs front end (`clusterdef-build`) against the macro: same source, same artifacts.

use clusterdef::{Render, UnitBody};
use clusterdef_examples::{built, seed};
use proc_macro2::TokenStream;

/// The `.cluster` file holds exactly the macro's body (comments and layout aside).
#[test]
fn the_cluster_file_is_the_macro_body() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("lib.rs")).expect("lib.rs");
    let start = lib.find("pub static PRODUCTION: Cluster = cluster! {").expect("the macro")
        + "pub static PRODUCTION: Cluster = cluster! {".len();
    let end = start + lib[start..].find("\n    };").expect("its end");
    let macro_body: TokenStream = lib[start..end].parse().expect("tokens");
    let file = std::fs::read_to_string(root.join("cluster/production.cluster")).expect("the file");
    let file_body: TokenStream = file.parse().expect("tokens");
    assert_eq!(file_body.to_string(), macro_body.to_string());
}

#[test]
fn build_rs_and_the_macro_give_byte_identical_artifacts() {
    let from_file = built::CLUSTER.render().expect("renders");
    let from_macro = seed::PRODUCTION.render().expect("renders");
    assert_eq!(from_file.paths().collect::<Vec<_>>(), from_macro.paths().collect::<Vec<_>>());
    for (path, bytes) in &from_file {
        assert!(bytes == &from_macro[path], "{path} differs between the build.rs and macro paths");
    }
    // And what build.rs wrote under OUT_DIR is that render.
    let dir = std::path::Path::new(env!("OUT_DIR")).join("clusterdef/production");
    for (path, bytes) in &from_file {
        let written = std::fs::read(dir.join(path)).unwrap_or_else(|e| panic!("{path} under OUT_DIR: {e}"));
        assert!(written == *bytes, "{path} under OUT_DIR differs from the render");
    }
}

#[test]
fn generated_constants_are_the_clusters_facts() {
    assert_eq!(built::NAME, "prod");
    assert_eq!(built::MEMBER_COUNT, 5);
    assert_eq!(
        built::ETCD_ENDPOINTS,
        [
            "https://10.0.0.101:2379",
            "https://10.0.0.102:2379",
            "https://10.0.0.103:2379",
            "https://10.0.0.104:2379",
            "https://10.0.0.105:2379"
        ]
    );
    let central_1 = built::machine::CENTRAL_1;
    assert_eq!(central_1.address, Some(std::net::Ipv4Addr::new(10, 0, 0, 101)));
    assert_eq!(central_1.domain, Some("one"));
    assert!(central_1.etcd_member);
    assert_eq!(built::MACHINES.len(), 5, "the autoscaled workers have no machines in advance");
    assert_eq!(built::POOLS, [built::pool::WORKER]);
    assert_eq!(built::UNITS, ["monitoring.service", "kubernetes.service", "webapp@.service", "dist-db.service"]);
    assert_eq!(built::unit::WEBAPP__SERVICE, "webapp@.service");
    // The constants agree with the configs the machines boot from.
    let artifacts = built::CLUSTER.render().expect("renders");
    let config = artifacts.text("cloud-config/central-1.yml").expect("utf-8");
    assert!(config.contains(&format!("initial-cluster: \"{}\"", built::INITIAL_CLUSTER)));
    // Unit files named in the .cluster file are read relative to the crate, like the macro's.
    let monitoring = built::CLUSTER.units.iter().find(|u| u.name == "monitoring.service").expect("unit");
    assert!(matches!(&monitoring.body, UnitBody::File { path, .. } if path == "units/monitoring.service"));
    assert!(monitoring.body.text().contains("prom/node-exporter"));
}
