//! clusterdef: declare a CoreOS cluster's architecture in Rust and have its rules checked when
//! it compiles.
//!
//! ```
//! use clusterdef::cluster;
//!
//! let cluster = cluster! { central: 5 across cabinets [a, b, c], workers: autoscale };
//! assert_eq!(cluster.members.domain_counts(5), vec![2, 2, 1]);
//! ```
//!
//! A cluster that breaks an architecture rule does not compile. The error sits on the tokens at
//! fault, says why, and says how to fix it:
//!
//! ```compile_fail
//! // error: cabinet a holds 2 of 3 etcd members; losing it leaves 1, and quorum is 2
//! let cluster = clusterdef::cluster! { central: 3 across cabinets [a, b] };
//! ```
//!
//! Clusters can also be built at run time (with the `macros` feature off, syn is never compiled)
//! and checked by the same rules with [`Cluster::check`]. The grammar is documented in
//! `docs/grammar.md`.
#![forbid(unsafe_code)]

pub use clusterdef_model::*;

pub mod change;
#[cfg(feature = "import")]
pub mod import;
pub mod output;
mod parallel;
pub mod read;
pub mod render;
#[doc(hidden)]
pub mod synthetic;

pub use output::{WriteError, WriteReport};
pub use render::{Artifacts, Plan, Render, RenderError, RenderOptions};

/// Declares a cluster and checks its architecture rules at compile time.
///
/// Expands to a [`Cluster`] value; it works in expression position and in `const` and `static`
/// items. See `docs/grammar.md` for the grammar and `docs/rules.md` for the rules.
///
/// ```
/// static PROD: clusterdef::Cluster = clusterdef::cluster! {
///     name: "prod",
///     central: 3 across zones ["us-east-1a", "us-east-1b", "us-east-1c"],
///     workers: autoscale 3..50,
/// };
/// assert_eq!(PROD.pools[0].role, "worker");
/// ```
#[cfg(feature = "macros")]
#[macro_export]
macro_rules! cluster {
    ($($body:tt)*) => {
        $crate::__private::cluster_impl! { ($crate) $($body)* }
    };
}

/// A machine's facts, as `clusterdef-build` writes them into a generated module's `MACHINES`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MachineFacts {
    /// The hostname.
    pub hostname: &'static str,
    /// The group it belongs to.
    pub group: &'static str,
    /// Its fleet role.
    pub role: &'static str,
    /// Its cabinet or zone, if its group is spread.
    pub domain: Option<&'static str>,
    /// Its static address, if it has one.
    pub address: Option<std::net::Ipv4Addr>,
    /// Whether it runs an etcd member.
    pub etcd_member: bool,
}

/// Includes the module `clusterdef-build` generated for a `.cluster` file, by the file's name:
/// `cluster/prod.cluster` becomes `include_cluster!("prod")`.
///
/// ```ignore
/// pub mod prod {
///     clusterdef::include_cluster!("prod");
/// }
/// // prod::CLUSTER, prod::ETCD_ENDPOINTS, prod::machine::CENTRAL_1, …
/// ```
#[macro_export]
macro_rules! include_cluster {
    ($name:literal) => {
        ::core::include!(::core::concat!(::core::env!("OUT_DIR"), "/clusterdef/", $name, ".rs"));
    };
}

/// Items the code `cluster!` generates refers to. Not public API.
#[doc(hidden)]
pub mod __private {
    pub use clusterdef_model::*;
    pub use std::borrow::Cow::{self, Borrowed};
    pub use std::net::Ipv4Addr;

    #[cfg(feature = "macros")]
    pub use clusterdef_macros::cluster_impl;

    /// The value `cluster!` expands to beside its errors.
    pub const fn placeholder() -> crate::Cluster {
        crate::Cluster::placeholder()
    }
}
