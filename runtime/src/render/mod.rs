//! Rendering a checked cluster into the files its machines boot from.
//!
//! One module per output format, each a pure function from the model to bytes: [`cloud_config`],
//! [`fleet`] (unit files), [`pxe`] (pxelinux, iPXE, dnsmasq) and [`plan`]. [`yaml`] is the
//! writer the cloud-configs go through. Writing to disk lives in [`crate::output`], and nowhere
//! else.

pub mod cloud_config;
pub mod context;
pub mod fleet;
pub mod graph;
pub mod ignition;
pub mod json;
pub mod kubernetes;
pub mod plan;
pub mod pxe;
pub mod yaml;

use std::collections::BTreeMap;

use clusterdef_model::{Cluster, Os};

pub use context::{Context, RenderError, RenderOptions, file_component};
pub use plan::{AcceptedRisk, Plan};

/// The rendered files of a cluster: paths relative to the output directory (always
/// `/`-separated), each with the file's bytes, in path order.
///
/// ```
/// use clusterdef::{Render, cluster};
///
/// let artifacts = cluster! { central: 3 across cabinets [a, b, c], bootstrap: discovery "https://discovery.etcd.io/x" }
///     .render()?;
/// assert!(artifacts.text("cloud-config/central-1.yml").is_some_and(|t| t.starts_with("#cloud-config")));
/// for (path, bytes) in &artifacts {
///     assert!(!path.starts_with('/') && !bytes.is_empty());
/// }
/// # let dir = std::env::temp_dir().join(format!("clusterdef-doc-{}", std::process::id()));
/// let report = artifacts.write_to(&dir)?;
/// assert_eq!(report.written.len(), artifacts.len());
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Artifacts(BTreeMap<String, Vec<u8>>);

impl Artifacts {
    /// The bytes of the file at `path`.
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.0.get(path).map(Vec::as_slice)
    }

    /// The file at `path` as text, if it is UTF-8 (every file clusterdef renders is).
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// Whether there is a file at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.0.contains_key(path)
    }

    /// The paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// How many files there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The bytes of every file together.
    pub fn total_bytes(&self) -> usize {
        self.0.values().map(Vec::len).sum()
    }
}

impl<'a> IntoIterator for &'a Artifacts {
    type Item = (&'a str, &'a [u8]);
    type IntoIter = Box<dyn Iterator<Item = (&'a str, &'a [u8])> + 'a>;

    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl IntoIterator for Artifacts {
    type Item = (String, Vec<u8>);
    type IntoIter = std::collections::btree_map::IntoIter<String, Vec<u8>>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, Vec<u8>)> for Artifacts {
    fn from_iter<I: IntoIterator<Item = (String, Vec<u8>)>>(files: I) -> Artifacts {
        Artifacts(files.into_iter().collect())
    }
}

impl std::ops::Index<&str> for Artifacts {
    type Output = [u8];

    /// The bytes of the file at `path`; panics if there is none (use [`Artifacts::get`] to ask).
    fn index(&self, path: &str) -> &[u8] {
        &self.0[path]
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
        let mut out = BTreeMap::new();
        // The OS decides the formats: cloud-configs and fleet units for CoreOS, Ignition configs
        // (units placed now) for Flatcar.
        let configs = match self.os {
            Os::CoreOs => cloud_config::render(&ctx).into_iter().chain(fleet::render(self)).collect::<Vec<_>>(),
            Os::Flatcar => {
                // Built once: the configs carry its parts, the render its manifests.
                let k8s = kubernetes::Prepared::new(self, &self.etcd_members());
                let mut configs = ignition::render(&ctx, k8s.as_ref());
                configs.extend(k8s.map(|k| k.artifacts).unwrap_or_default());
                configs
            }
        };
        for (path, text) in configs
            .into_iter()
            .chain(pxe::render(&ctx))
            .chain([("plan.txt".to_string(), Plan::from_review(self, &ctx.placement, &ctx.allowed).to_string())])
        {
            check_path(&path)?;
            out.insert(path, text.into_bytes());
        }
        Ok(Artifacts(out))
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
