//! What each config is made from, as one number, so that a render into a directory that holds
//! the config made from the same inputs, unchanged, need not make it again.
//!
//! A config of a machine (or of a pool in a domain) is a function of three things, and of
//! nothing else: what every config of the cluster shares (every field of the cluster but its
//! pools, the render's options and resolved bootstrap, and per format what the renderer builds
//! once from them, such as the Kubernetes configuration), its own group, and its own machine,
//! domain and the units placed on it. The fingerprint hashes the `Debug` form of each (every
//! derived `Debug` names every field; the model has no hand-written one), streamed into the
//! content hash without building the text. [`shared`] destructures the cluster without `..`,
//! so a field added to it does not compile until it is placed here.
//!
//! The output directory mixes in the program that renders (see `crate::output`), so a rebuilt
//! clusterdef makes every config anew.

use std::fmt::{self, Debug, Write as _};

use clusterdef_model::{Cluster, GroupRef};

use super::context::Context;

/// Which configs a render may leave out: those a directory holds, unchanged, made from the
/// same inputs. The output directory's preparation answers it (`output::Prepared`).
pub trait Keep: Sync {
    /// Whether the directory holds, as clusterdef wrote it, the file at `path` made from
    /// `inputs` (a fingerprint of this module): then the render leaves it as it is.
    fn keeps(&self, path: &str, inputs: u64) -> bool;
}

/// Keeps nothing: every config is made (a render in memory, or into a new directory).
pub struct KeepNothing;

impl Keep for KeepNothing {
    fn keeps(&self, _: &str, _: u64) -> bool {
        false
    }
}

/// A fingerprint being built: `Debug` forms streamed into the content hash.
#[derive(Clone)]
pub struct Inputs(clusterdef_fs::ContentHasher);

impl Inputs {
    /// A fingerprint of nothing yet, for the format `format` (configs of two formats never
    /// share one).
    pub fn new(format: &str) -> Inputs {
        let mut inputs = Inputs(clusterdef_fs::ContentHasher::new());
        inputs.add(&format);
        inputs
    }

    /// Adds `part`'s `Debug` form, closed by a separator, so that parts never run together.
    pub fn add(&mut self, part: &dyn Debug) -> &mut Inputs {
        // Writing into the hasher cannot fail.
        let _ = write!(self, "{part:?}\u{1f}");
        self
    }

    /// The fingerprint of everything added.
    pub fn finish(&self) -> u64 {
        self.0.finish()
    }
}

impl fmt::Write for Inputs {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.update(s.as_bytes());
        Ok(())
    }
}

/// What every config of `ctx`'s cluster shares, for the format `format`, with `built`: what the
/// renderer builds once for every config (its own `Debug`). O(cluster without its pools).
pub fn shared(ctx: &Context<'_>, format: &str, built: &dyn Debug) -> Inputs {
    // Every field by name: a new one must be placed (here, or per group below) to compile.
    let Cluster {
        name,
        os,
        production,
        layout,
        etcd_release,
        bootstrap,
        members,
        pools: _,
        network,
        channel,
        ssh_keys,
        boot_server,
        boot_server_kind,
        tls,
        units,
        allows: _,
        host,
        kubernetes,
    } = ctx.cluster;
    let mut inputs = Inputs::new(format);
    inputs
        .add(&(name, os, production, layout, etcd_release, bootstrap, members))
        .add(&(network, channel, ssh_keys, boot_server, boot_server_kind, tls, units, host, kubernetes))
        .add(&(&ctx.discovery, &ctx.etcd_join))
        .add(built);
    inputs
}

/// The fingerprint of each group of the cluster: the members', then each pool's, in order (a
/// config's own group, looked up by [`of_config`] in O(1)). O(groups).
pub fn groups(cluster: &Cluster) -> Vec<u64> {
    let members = Inputs::new("group").add(&cluster.members).finish();
    std::iter::once(members).chain(cluster.pools.iter().map(|pool| Inputs::new("group").add(pool).finish())).collect()
}

/// The fingerprint of one config: the shared inputs, its group's fingerprint (from [`groups`]),
/// and what is its own (`own`: its machine, domain and the units placed on it).
pub fn of_config(shared: &Inputs, groups: &[u64], group: GroupRef, own: &dyn Debug) -> u64 {
    let slot = match group {
        GroupRef::Members => 0,
        GroupRef::Pool(i) => i + 1,
    };
    let mut inputs = shared.clone();
    inputs.add(&groups.get(slot)).add(own);
    inputs.finish()
}

/// One config of a render: its path, the fingerprint of its inputs, and its text, unless the
/// directory keeps it (`None`).
pub struct Made {
    /// Its path in the render.
    pub path: String,
    /// The fingerprint of its inputs ([`of_config`]).
    pub inputs: u64,
    /// Its text; `None` when [`Keep::keeps`] it.
    pub text: Option<String>,
}

impl Made {
    /// The config at `path` made from `inputs`: left out when `keep` keeps it, else `make`'s.
    pub fn new(path: &str, inputs: u64, keep: &dyn Keep, make: impl FnOnce() -> String) -> Made {
        let text = (!keep.keeps(path, inputs)).then(make);
        Made { path: path.to_string(), inputs, text }
    }
}
