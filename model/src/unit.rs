//! A fleet unit (or, with Kubernetes, a workload) and the options that place it.

use std::borrow::Cow;

use crate::text::{List, Text, UnitBody};

/// A fleet unit and the `[X-Fleet]` options that place it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Unit {
    /// The unit's name, such as `monitoring.service`.
    pub name: Text,
    /// The unit file's `[Unit]`/`[Service]`/`[Install]` text.
    pub body: UnitBody,
    /// `Global=true`: run on every machine that matches the metadata.
    pub global: bool,
    /// `MachineMetadata=`: every requirement must hold (AND); a requirement holds when the
    /// machine's value is one of its values (OR).
    pub machine_metadata: List<Requirement>,
    /// `Conflicts=` globs.
    pub conflicts: List<Text>,
    /// `MachineOf=`: run where this unit runs.
    pub machine_of: Option<Text>,
    /// `MachineID=`: run on this machine only.
    pub machine_id: Option<Text>,
    /// `Replaces=` globs.
    pub replaces: List<Text>,
    /// How many instances of a template unit to run: `name@1.service` … `name@N.service`. Each
    /// is placed on its own (with the unit's metadata, `conflicts` and `machine_of`). `None`:
    /// one instance on Flatcar; on CoreOS, fleet starts what the operator submits.
    #[cfg_attr(feature = "serde", serde(default))]
    pub instances: Option<u32>,
    /// The container image it runs, and what the container needs beside it: on a cluster that
    /// runs Kubernetes, the unit is then a workload the scheduler places, not a host unit.
    #[cfg_attr(feature = "serde", serde(default, skip_serializing_if = "Option::is_none"))]
    pub container: Option<crate::kubernetes::settings::Container>,
}

impl Unit {
    /// A unit with this name and body and no placement options.
    pub fn new(name: impl Into<Text>, body: UnitBody) -> Unit {
        Unit {
            name: name.into(),
            body,
            global: false,
            machine_metadata: Cow::Borrowed(&[]),
            conflicts: Cow::Borrowed(&[]),
            machine_of: None,
            machine_id: None,
            replaces: Cow::Borrowed(&[]),
            instances: None,
            container: None,
        }
    }

    /// Whether the unit is a template (`name@.service`).
    pub fn is_template(&self) -> bool {
        self.name.contains("@.")
    }

    /// The names of the units that run: a template's instances `name@1.service` …
    /// `name@N.service` (one unless `instances` says otherwise), or the unit itself.
    pub fn instance_names(&self) -> Vec<String> {
        match self.name.split_once("@.") {
            Some((prefix, suffix)) => {
                (1..=self.instances.unwrap_or(1).max(1)).map(|i| format!("{prefix}@{i}.{suffix}")).collect()
            }
            None => vec![self.name.to_string()],
        }
    }

    /// The instances a CoreOS cluster's members start by name, leaving fleet to place each:
    /// those of a template that declares `instances` (a template without a count is only
    /// submitted). Empty for any other unit.
    pub fn started_instances(&self) -> Vec<String> {
        if self.is_template() && self.instances.is_some() { self.instance_names() } else { Vec::new() }
    }
}

/// One key of a `MachineMetadata` requirement: the machine's value of `key` must be one of `values`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct Requirement {
    /// The metadata key.
    pub key: Text,
    /// The accepted values.
    pub values: List<Text>,
}
