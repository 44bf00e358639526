//! The generated module: the cluster's facts as constants, so code that talks to the cluster
//! cannot drift from its declaration.

use std::collections::BTreeMap;

use clusterdef::render::cloud_config::{self, Membership};
use clusterdef::{Cluster, GroupRef};
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// A name as a constant's identifier: `central-1` → `CENTRAL_1`, `webapp@.service` →
/// `WEBAPP__SERVICE`. Names that would collide get their position appended.
fn const_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let raw: Vec<String> = names
        .into_iter()
        .map(|n| {
            let mut id: String =
                n.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
            if id.is_empty() || id.starts_with(|c: char| c.is_ascii_digit()) {
                id.insert(0, '_');
            }
            id
        })
        .collect();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for id in &raw {
        *counts.entry(id.as_str()).or_default() += 1;
    }
    raw.iter()
        .enumerate()
        .map(|(i, id)| if counts[id.as_str()] > 1 { format!("{id}_{i}") } else { id.clone() })
        .collect()
}

fn opt_str(value: Option<&str>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// The module's source, formatted, starting with an `@generated` header that names `source`.
pub fn generate_module(cluster: &Cluster, source: &str) -> String {
    let membership = Membership::of(cluster);
    let name = cluster.name.to_string();
    let cluster_value = clusterdef_syntax::codegen::cluster_expr(cluster, &quote!(::clusterdef));
    let endpoints: Vec<String> = cluster.etcd_members().iter().map(cloud_config::client_url).collect();
    let initial_cluster = &membership.initial_cluster;
    let member_count = endpoints.len();

    let machines: Vec<_> = cluster.machines();
    let machine_values: Vec<TokenStream> = machines
        .iter()
        .map(|m| {
            let group = cluster.group(m.group).expect("machines come from the cluster's groups");
            let hostname = &m.hostname;
            let group_name = group.name.to_string();
            let role = group.role.to_string();
            let domain = opt_str(m.domain.and_then(|d| group.spread.as_ref()?.domains.get(d)).map(|d| &*d.name));
            let address = match m.address {
                Some(a) => {
                    let [x, y, z, w] = a.octets();
                    quote!(::core::option::Option::Some(::std::net::Ipv4Addr::new(#x, #y, #z, #w)))
                }
                None => quote!(::core::option::Option::None),
            };
            let member = m.group == GroupRef::Members;
            quote! {
                ::clusterdef::MachineFacts {
                    hostname: #hostname, group: #group_name, role: #role, domain: #domain, address: #address, etcd_member: #member,
                }
            }
        })
        .collect();
    let machine_consts: Vec<TokenStream> = const_names(machines.iter().map(|m| m.hostname.as_str()))
        .into_iter()
        .zip(&machine_values)
        .zip(&machines)
        .map(|((id, value), m)| {
            let id = format_ident!("{}", id);
            let doc = format!("`{}`.", m.hostname);
            quote!(#[doc = #doc] pub const #id: ::clusterdef::MachineFacts = #value;)
        })
        .collect();

    let pools: Vec<String> = cluster.pools.iter().map(|p| p.name.to_string()).collect();
    let pool_consts = const_names(pools.iter().map(String::as_str)).into_iter().zip(&pools).map(|(id, p)| {
        let id = format_ident!("{}", id);
        let doc = format!("Pool `{p}`.");
        quote!(#[doc = #doc] pub const #id: &str = #p;)
    });
    let units: Vec<String> = cluster.units.iter().map(|u| u.name.to_string()).collect();
    let unit_consts = const_names(units.iter().map(String::as_str)).into_iter().zip(&units).map(|(id, u)| {
        let id = format_ident!("{}", id);
        let doc = format!("Unit `{u}`.");
        quote!(#[doc = #doc] pub const #id: &str = #u;)
    });

    let tokens = quote! {
        /// The cluster, as declared and checked.
        pub static CLUSTER: ::clusterdef::Cluster = #cluster_value;
        /// The cluster's name.
        pub const NAME: &str = #name;
        /// How many etcd members the cluster has.
        pub const MEMBER_COUNT: usize = #member_count;
        /// Every etcd member's client URL, in member order.
        pub const ETCD_ENDPOINTS: &[&str] = &[#(#endpoints),*];
        /// The etcd `initial-cluster` every member and proxy is configured with.
        pub const INITIAL_CLUSTER: &str = #initial_cluster;
        /// Every machine of the fixed-size groups (autoscaled pools have none in advance).
        pub const MACHINES: &[::clusterdef::MachineFacts] = &[#(#machine_values),*];
        /// The worker pools' names.
        pub const POOLS: &[&str] = &[#(#pools),*];
        /// The fleet units' names.
        pub const UNITS: &[&str] = &[#(#units),*];
        /// Each machine by hostname.
        pub mod machine {
            #(#machine_consts)*
        }
        /// Each pool's name.
        pub mod pool {
            #(#pool_consts)*
        }
        /// Each unit's name.
        pub mod unit {
            #(#unit_consts)*
        }
    };
    let header =
        format!("// @generated by clusterdef-build from {source}. Do not edit: change {source} and rebuild.\n\n");
    match syn::parse2::<syn::File>(tokens.clone()) {
        Ok(file) => header + &prettyplease::unparse(&file),
        // The tokens come from checked values; should formatting ever fail, the unformatted module
        // still compiles.
        Err(_) => header + &tokens.to_string() + "\n",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_names_are_identifiers_and_distinct() {
        assert_eq!(
            const_names(["central-1", "webapp@.service", "1st", "a.b", "a-b"]),
            ["CENTRAL_1", "WEBAPP__SERVICE", "_1ST", "A_B_3", "A_B_4"]
        );
    }

    #[test]
    fn the_generated_module_matches_its_golden_file() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let text =
            std::fs::read_to_string(root.join("examples/cluster/production.cluster")).expect("the example input");
        let load = |p: &str| std::fs::read_to_string(root.join("examples").join(p)).map_err(|e| e.to_string());
        let compiled = clusterdef_syntax::source::compile_source(&text, &load).expect("the example checks");
        let module = generate_module(compiled.cluster(), "cluster/production.cluster");
        let golden = root.join("clusterdef-build/tests/golden/production.rs");
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::create_dir_all(golden.parent().expect("dir")).expect("golden dir");
            std::fs::write(&golden, &module).expect("write golden");
        }
        let expected = std::fs::read_to_string(&golden).expect("golden file (UPDATE_GOLDEN=1 writes it)");
        assert!(
            module == expected,
            "the generated module differs from clusterdef-build/tests/golden/production.rs:\n{module}"
        );
        assert!(module.starts_with("// @generated by clusterdef-build"));
    }
}
