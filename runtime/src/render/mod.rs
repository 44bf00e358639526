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
pub mod inputs;
pub mod json;
pub mod kubernetes;
pub mod matchbox;
pub mod plan;
pub mod pxe;
pub mod yaml;

use std::collections::BTreeMap;

use clusterdef_model::{Checked, Cluster, Os};

pub use context::{Context, EtcdJoin, RenderError, RenderOptions, file_component};
pub use inputs::{Keep, KeepNothing};
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
///
/// A render made for an output directory ([`render_keeping`]) leaves out the configs the
/// directory holds unchanged, made from the same inputs: they are listed by
/// [`Artifacts::kept`], not among the files.
#[derive(Clone, Debug, Default)]
pub struct Artifacts {
    files: BTreeMap<String, Vec<u8>>,
    /// Each config's inputs ([`inputs`]), made or kept.
    configs: BTreeMap<String, ConfigInputs>,
}

/// What a config was made from, and whether the render left it out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigInputs {
    /// The fingerprint of its inputs ([`inputs::of_config`]).
    pub fingerprint: u64,
    /// Whether the render left it out, as the directory holds it made from these inputs.
    pub kept: bool,
}

/// Two renders are equal when they write the same: the same files, and the same configs left
/// as the directory holds them.
impl PartialEq for Artifacts {
    fn eq(&self, other: &Artifacts) -> bool {
        self.files == other.files && self.kept().eq(other.kept())
    }
}

impl Eq for Artifacts {}

impl Artifacts {
    /// Adds (or replaces) the file at `path`: for a front end's own file beside the render (the
    /// record of the declaration rendered).
    pub fn insert(&mut self, path: String, bytes: Vec<u8>) {
        self.configs.remove(&path);
        self.files.insert(path, bytes);
    }

    /// The bytes of the file at `path` (none for a config the render left out: [`Artifacts::kept`]).
    pub fn get(&self, path: &str) -> Option<&[u8]> {
        self.files.get(path).map(Vec::as_slice)
    }

    /// The file at `path` as text, if it is UTF-8 (every file clusterdef renders is).
    pub fn text(&self, path: &str) -> Option<&str> {
        self.get(path).and_then(|b| std::str::from_utf8(b).ok())
    }

    /// Whether there is a file at `path`.
    pub fn contains(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }

    /// The paths, in order.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// Every file, in path order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.files.iter().map(|(p, b)| (p.as_str(), b.as_slice()))
    }

    /// How many files there are.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The bytes of every file together.
    pub fn total_bytes(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }

    /// The configs the render left out, in path order: the output directory it was made for
    /// holds each unchanged, made from the same inputs.
    pub fn kept(&self) -> impl Iterator<Item = &str> {
        self.configs.iter().filter(|(_, c)| c.kept).map(|(p, _)| p.as_str())
    }

    /// What the config at `path` was made from (none: not a config, or a file a front end
    /// added).
    pub fn inputs(&self, path: &str) -> Option<ConfigInputs> {
        self.configs.get(path).copied()
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
        self.files.into_iter()
    }
}

impl FromIterator<(String, Vec<u8>)> for Artifacts {
    fn from_iter<I: IntoIterator<Item = (String, Vec<u8>)>>(files: I) -> Artifacts {
        Artifacts { files: files.into_iter().collect(), configs: BTreeMap::new() }
    }
}

impl std::ops::Index<&str> for Artifacts {
    type Output = [u8];

    /// The bytes of the file at `path`; panics if there is none (use [`Artifacts::get`] to ask).
    fn index(&self, path: &str) -> &[u8] {
        &self.files[path]
    }
}

/// Rendering, planning and writing for [`Cluster`].
pub trait Render {
    /// Every artifact, in memory. Checks the rules first.
    fn render(&self) -> Result<Artifacts, RenderError> {
        self.render_with(&RenderOptions::default())
    }
    /// [`Render::render`] with options.
    fn render_with(&self, options: &RenderOptions) -> Result<Artifacts, RenderError>;
    /// The plan: roles, domains, quorum and fault tolerance, unit placements.
    fn plan(&self) -> Plan;
}

impl Render for Cluster {
    fn render_with(&self, options: &RenderOptions) -> Result<Artifacts, RenderError> {
        render_in(&Context::new(self, options)?, &KeepNothing)
    }

    fn plan(&self) -> Plan {
        Plan::of(self)
    }
}

/// A checked cluster renders from the review of its one run of the rules: nothing is checked
/// twice.
impl Render for Checked {
    fn render_with(&self, options: &RenderOptions) -> Result<Artifacts, RenderError> {
        render_in(&Context::checked(self, options)?, &KeepNothing)
    }

    fn plan(&self) -> Plan {
        Plan::from_review(self.cluster(), &self.review().placement, &self.review().violations)
    }
}

/// [`Render::render_with`] for an output directory that may hold configs made from the same
/// inputs: those `keep` keeps are left out ([`Artifacts::kept`]), so a change to one pool
/// makes that pool's configs and not its neighbours'. Everything else is made as always.
pub fn render_keeping(checked: &Checked, options: &RenderOptions, keep: &dyn Keep) -> Result<Artifacts, RenderError> {
    render_in(&Context::checked(checked, options)?, keep)
}

/// Every artifact of the cluster in `ctx`, leaving out the configs `keep` keeps.
fn render_in(ctx: &Context<'_>, keep: &dyn Keep) -> Result<Artifacts, RenderError> {
    let cluster = ctx.cluster;
    std::thread::scope(|scope| {
        // The plan needs nothing the configs make: written on a thread of its own meanwhile.
        let plan =
            scope.spawn(|| Plan::from_review(cluster, &ctx.review.placement, &ctx.review.violations).to_string());
        // The OS decides the formats: cloud-configs and fleet units for CoreOS, Ignition configs
        // (units placed now) for Flatcar.
        let (configs, others) = match cluster.os {
            Os::CoreOs => (cloud_config::render(ctx, keep), fleet::render(cluster)),
            Os::Flatcar => {
                // Built once: the configs carry its parts, the render its manifests.
                let k8s = kubernetes::Prepared::new(cluster, &cluster.etcd_members());
                let mut others = k8s.as_ref().map(|k| k.artifacts.clone()).unwrap_or_default();
                let configs = match matchbox::layout(cluster) {
                    // Each config is also matchbox's, under `matchbox/ignition/`: kept only
                    // when both copies are.
                    Some(layout) => {
                        let both = matchbox::KeepBoth(keep);
                        let configs = ignition::render(ctx, k8s.as_ref(), &both);
                        others.extend(matchbox::render(ctx, &layout));
                        matchbox::with_copies(configs)
                    }
                    None => ignition::render(ctx, k8s.as_ref(), keep),
                };
                (configs, others)
            }
        };
        // The thread only panics if the plan's code does; the panic goes on here.
        let plan = plan.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        let mut files = Vec::with_capacity(configs.len() + others.len() + 1);
        let mut inputs = Vec::with_capacity(configs.len());
        for made in configs {
            check_path(&made.path)?;
            inputs.push((made.path.clone(), ConfigInputs { fingerprint: made.inputs, kept: made.text.is_none() }));
            if let Some(text) = made.text {
                files.push((made.path, text.into_bytes()));
            }
        }
        for (path, text) in others.into_iter().chain(pxe::render(ctx)).chain([("plan.txt".to_string(), plan)]) {
            check_path(&path)?;
            files.push((path, text.into_bytes()));
        }
        // Sorted once and built in one pass (the same as inserting one by one, a later file of
        // the same path winning, in a fraction of the time for ten thousand paths).
        let files: BTreeMap<String, Vec<u8>> = files.into_iter().collect();
        Ok(Artifacts { files, configs: inputs.into_iter().collect() })
    })
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

    /// A checked cluster renders and plans from its one run of the rules exactly as the
    /// cluster does from its own: same bytes, same plan, same stale allows, for CoreOS, Flatcar
    /// and Kubernetes clusters, random ones included.
    #[test]
    fn a_checked_cluster_renders_what_the_cluster_renders() {
        let clusters = crate::synthetic::sample_clusters(20);
        let options = RenderOptions {
            discovery_url: Some("https://discovery.etcd.io/t".to_string()),
            ..RenderOptions::default()
        };
        let mut checked_ones = 0;
        for cluster in clusters {
            let Ok(checked) = Checked::new(cluster.clone()) else {
                assert!(cluster.render_with(&options).is_err(), "{} renders unchecked", cluster.name);
                continue;
            };
            checked_ones += 1;
            let (from_cluster, from_checked) = (cluster.render_with(&options), checked.render_with(&options));
            assert_eq!(from_cluster.map_err(|e| e.to_string()), from_checked.map_err(|e| e.to_string()));
            assert_eq!(cluster.plan().to_string(), checked.plan().to_string());
            assert_eq!(cluster.stale_allows(), checked.stale_allows());
        }
        assert!(checked_ones >= 10, "only {checked_ones} clusters passed the rules");
    }

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
// Read back with the Ignition reader, which comes with `import` (as every workspace test has it).
#[cfg(all(test, feature = "import"))]
mod matchbox_tests;
