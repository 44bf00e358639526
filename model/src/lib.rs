//! The typed model of a clusterdef cluster and the architecture rules that check it.
//!
//! This crate has no dependency on `syn`: the `cluster!` macro, build scripts, the CLI and
//! clusters assembled at run time all build a [`Cluster`] and call [`Cluster::check`], so every
//! front end gets the same rules from one implementation. Front ends attach source positions to
//! the [`Subject`] each [`Violation`] names.
//!
//! Every list and string in the model is a [`Cow`](std::borrow::Cow) so that a cluster can be a
//! `const` or `static` (the macro expands to borrowed data) and can also be built at run time
//! (owned data).
#![forbid(unsafe_code)]

mod check;
mod cluster;
pub mod glob;
mod group;
mod group_ref;
mod host;
pub mod kubernetes;
mod machines;
mod net;
mod network;
pub mod own;
mod placement;
pub mod quorum;
mod rule;
mod settings;
mod subject;
pub mod suggest;
#[doc(hidden)]
pub mod synthetic;
mod text;
mod unit;
pub mod unit_file;
mod window;
pub mod words;

pub use check::{CLOUD_INIT_SUBSTITUTIONS, Checked, Review, Violation, Violations};
pub use cluster::*;
pub use group::*;
pub use group_ref::GroupRef;
pub use host::{DropIn, HostConfig, HostFile, HostItems, HostScope, HostUnit, Owner, UnitCommand, UnitEntry, installs};
pub use kubernetes::{Cni, Container, Kubernetes};
pub use machines::{Machine, PlacedGroup};
pub use net::{Ipv4Net, ParseNetError};
pub use network::*;
pub use placement::{Host, Metadata, Profile, Unplaceable};
pub use rule::Rule;
pub use settings::*;
pub use subject::{GroupPart, HostPart, KubernetesPart, NetworkPart, Subject, UnitPart};
pub use text::*;
pub use unit::*;
pub use window::{ParseWindowError, RebootWindow, Weekday};
