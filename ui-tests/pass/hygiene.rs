// The expansion uses absolute paths only: it works without the prelude, through an alias, and
// next to user items that shadow common names.
#![no_implicit_prelude]

mod shadowing {
    #[allow(dead_code)]
    struct Cow;
    #[allow(dead_code)]
    struct Option;
    #[allow(dead_code)]
    struct Ipv4Addr;

    pub fn build() -> ::clusterdef::Cluster {
        ::clusterdef::cluster! {
            network: { subnet: "10.0.0.0/24" },
            central: 3 across cabinets [a, b, c] { addresses: "10.0.0.1".."10.0.0.3" },
        }
    }
}

use ::clusterdef as cd;

fn main() {
    let aliased = cd::cluster! { central: 3 across cabinets [a, b, c] };
    let _ = shadowing::build();
    let _ = aliased;
}

// User items named like the expansion's helpers do not capture it.
#[allow(dead_code, non_snake_case)]
fn Borrowed() {}
#[allow(dead_code, non_upper_case_globals)]
const None: u8 = 0;

#[allow(dead_code)]
fn shadowed_helpers() -> ::clusterdef::Cluster {
    ::clusterdef::cluster! { central: 3 across cabinets [a, b, c] }
}
