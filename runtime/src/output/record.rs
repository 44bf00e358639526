//! The record a render keeps beside its manifest ([`super::DECLARATION`]): the declaration it
//! was rendered from and, for one step of a change, which step of the change from which
//! declaration. The front ends that write renders (`clusterdef render`, build.rs) write and
//! read it to tell what a render replaces; `clusterdef import` reads it to recognise a render
//! of clusterdef's own. The format is owned here, once.

use clusterdef_model::Cluster;
use serde::{Deserialize, Serialize};

/// The record: the declaration rendered, and the change in progress, if a step was rendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The declaration rendered.
    pub cluster: Cluster,
    /// The change one of whose steps this render is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<InProgress>,
}

/// A change one of whose steps was rendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InProgress {
    /// The declaration the cluster ran before the change.
    pub from: Cluster,
    /// The step rendered.
    pub step: usize,
}

impl Record {
    /// The record's bytes, as a render writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        // The model serializes to JSON whatever it holds (strings, numbers, lists, maps).
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a record; the error says where (`line:column`) and why.
    pub fn parse(bytes: &[u8]) -> Result<Record, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}
