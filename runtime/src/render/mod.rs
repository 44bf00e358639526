//! Rendering a checked cluster into the files its machines boot from.
//!
//! One module per output format, each a pure function from the model to bytes: [`cloud_config`],
//! [`fleet`] (unit files), [`pxe`] (pxelinux, iPXE, dnsmasq) and [`plan`]. [`yaml`] is the
//! writer the cloud-configs go through. Writing to disk lives in [`crate::output`], and nowhere
//! else.

pub mod cloud_config;
pub mod fleet;
pub mod plan;
pub mod pxe;
pub mod yaml;

use std::collections::BTreeMap;
use std::fmt;

use clusterdef_model::{Bootstrap, Cluster, Violations};

pub use plan::{AcceptedRisk, Plan};

/// The rendered files: a path relative to the output directory (always `/`-separated) and the
/// file's bytes, in path order.
pub type Artifacts = BTreeMap<String, Vec<u8>>;

/// What rendering needs beyond the cluster itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// The discovery URL for a cluster declared `bootstrap: discovery` without one.
    pub discovery_url: Option<String>,
}

/// Why a cluster could not be rendered.
#[derive(Debug)]
pub enum RenderError {
    /// The cluster breaks rules it does not allow.
    Invalid(Violations),
    /// The cluster bootstraps by discovery and neither it nor the options name the URL.
    MissingDiscoveryUrl,
    /// A name would make an unsafe file path (only possible when a rule was allowed).
    UnsafePath(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::Invalid(v) => write!(f, "the cluster breaks its architecture rules:\n{v}"),
            RenderError::MissingDiscoveryUrl => f.write_str(
                "the cluster bootstraps by discovery but names no URL: declare `bootstrap: discovery \"https://discovery.etcd.io/<token>\"` or pass `RenderOptions { discovery_url }`",
            ),
            RenderError::UnsafePath(p) => write!(f, "`{p}` is not a safe file name for an artifact"),
        }
    }
}

impl std::error::Error for RenderError {}

impl From<Violations> for RenderError {
    fn from(v: Violations) -> RenderError {
        RenderError::Invalid(v)
    }
}

/// Rendering, planning and writing for [`Cluster`].
pub trait Render {
    /// Every artifact, in memory. Checks the rules first.
    fn render(&self) -> Result<Artifacts, RenderError>;
    /// [`Render::render`] with options.
    fn render_with(&self, options: &RenderOptions) -> Result<Artifacts, RenderError>;
    /// The plan: roles, domains, quorum and fault tolerance, unit placements.
    fn plan(&self) -> Plan;
}

impl Render for Cluster {
    fn render(&self) -> Result<Artifacts, RenderError> {
        self.render_with(&RenderOptions::default())
    }

    fn render_with(&self, options: &RenderOptions) -> Result<Artifacts, RenderError> {
        let ctx = Context::new(self, options)?;
        let mut out = Artifacts::new();
        for (path, text) in cloud_config::render(&ctx)
            .into_iter()
            .chain(fleet::render(self))
            .chain(pxe::render(&ctx))
            .chain([("plan.txt".to_string(), self.plan().to_string())])
        {
            check_path(&path)?;
            out.insert(path, text.into_bytes());
        }
        Ok(out)
    }

    fn plan(&self) -> Plan {
        Plan::of(self)
    }
}

/// Refuses paths that could leave the output directory or name nothing.
fn check_path(path: &str) -> Result<(), RenderError> {
    let safe = !path.is_empty()
        && !path.starts_with('/')
        && !path.contains('\\')
        && path.split('/').all(|c| !c.is_empty() && c != "." && c != ".." && !c.contains('\0'));
    if safe { Ok(()) } else { Err(RenderError::UnsafePath(path.to_string())) }
}

/// A name as one path component: letters, digits, `-`, `.` and `_` stay; anything else
/// (`/` in a zone name, say) becomes `_xx` with its bytes in hex, so distinct names stay distinct.
pub fn file_component(name: &str) -> String {
    let mut out = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b == b'-' || b == b'.' {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:02x}"));
        }
    }
    if out.is_empty() || out == "." || out == ".." {
        out = format!("_{out}");
    }
    out
}

/// What every renderer shares: the cluster and its bootstrap, resolved once.
pub struct Context<'c> {
    /// The cluster being rendered.
    pub cluster: &'c Cluster,
    /// The discovery URL, when the cluster bootstraps by discovery.
    pub discovery: Option<String>,
}

impl<'c> Context<'c> {
    /// Checks the cluster and resolves its bootstrap.
    pub fn new(cluster: &'c Cluster, options: &RenderOptions) -> Result<Context<'c>, RenderError> {
        cluster.check()?;
        let discovery = match &cluster.bootstrap {
            Bootstrap::Static => None,
            Bootstrap::Discovery(Some(url)) => Some(url.to_string()),
            Bootstrap::Discovery(None) => Some(options.discovery_url.clone().ok_or(RenderError::MissingDiscoveryUrl)?),
        };
        Ok(Context { cluster, discovery })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_components_are_injective_and_safe() {
        assert_eq!(file_component("central-1"), "central-1");
        assert_eq!(file_component("us-east-1a"), "us-east-1a");
        assert_eq!(file_component("a/b"), "a_2fb");
        assert_eq!(file_component("a_2fb"), "a_5f2fb");
        assert_eq!(file_component(".."), "_..");
        assert!(check_path("units/../x").is_err());
        assert!(check_path("/etc/x").is_err());
        assert!(check_path("cloud-config/central-1.yml").is_ok());
    }
}
