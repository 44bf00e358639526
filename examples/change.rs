//! The guide's dev/test cluster grown into its production layout, planned as a change of the
//! running cluster (docs/change.md): the Flatcar dev/test seed, and the production seed under
//! the same name, without TLS (turning TLS on is a change of its own) and at addresses of its
//! own, so every new member joins before the dev node leaves. `cargo run --example change`.

use clusterdef::change::{ChangeOptions, ChangeRule, plan};
use clusterdef_examples::seed::flatcar;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let old = &flatcar::DEVTEST;
    let mut new = flatcar::PRODUCTION.clone();
    new.name = old.name.clone();
    new.production = false;
    new.tls = None;
    new.members.addressing = clusterdef::Addressing::Range {
        first: std::net::Ipv4Addr::new(10, 0, 0, 111),
        last: std::net::Ipv4Addr::new(10, 0, 0, 115),
    };
    new.check()?;
    let options = ChangeOptions {
        dead: Vec::new(),
        allow: vec![(ChangeRule::DomainQuorum, "the growth runs in one maintenance window".to_string())],
    };
    match plan(old, &new, &options) {
        Ok(plan) => {
            print!("{plan}");
            Ok(())
        }
        Err(findings) => {
            for f in &findings {
                eprintln!("error: {}", f.full_message());
            }
            Err("the change is refused".into())
        }
    }
}
