//! Reading rendered files back the way the programs that consume them read them.
//!
//! The plan is computed from the model and the files are rendered from the model; nothing but a
//! reader that follows the consumers' own parsing rules can tell whether the two still agree.
//! These readers share no code with the renderers: they implement the consumers' rules from
//! their sources, quirks included, so a file that a renderer writes in a form the consumer
//! misreads is read back wrong here too.
//!
//! - [`fleet`]: unit files as fleet parses them (go-systemd's deserializer, fleet's multi-value
//!   splitting, requirement keys and their legacy names, specifiers), machine metadata as
//!   fleetd parses its `metadata` setting, and fleet's metadata matching.
//! - [`yaml`] (feature `import`): YAML as go-yaml reads it (YAML 1.1 booleans on plain scalars
//!   only), every node with its position.
//! - [`cloud_config`] (feature `import`): a cloud-config as coreos-cloudinit reads it.
//! - [`ignition`] (feature `import`): an Ignition config (spec 3) as Ignition reads it, its
//!   files' contents decoded, what it would fetch named.
//! - [`butane`] (feature `import`): a Butane config (`variant: flatcar`) translated into the
//!   Ignition config it stands for, each value with its Butane line.
//! - [`json_lines`] (feature `import`): the line each value of a JSON text starts on, by JSON
//!   pointer, for findings at `file:line`.

#[cfg(feature = "import")]
pub mod butane;
#[cfg(feature = "import")]
pub mod cloud_config;
pub mod fleet;
#[cfg(feature = "import")]
pub mod ignition;
pub mod json_lines;
#[cfg(feature = "import")]
pub mod yaml;
