//! The record a render keeps beside its manifest ([`super::DECLARATION`]): the declaration it
//! was rendered from and, for one step of a change, which step of the change from which
//! declaration. The front ends that write renders (`clusterdef render`, build.rs) write and
//! read it to tell what a render replaces; `clusterdef import` reads it to recognise a render
//! of clusterdef's own. The format is owned here, once.
//!
//! The record says its format: a render outlives the release that wrote it, and a later
//! release may record more. A record of a format newer than this release reads is refused
//! saying so (rather than as a file that is not a record), and one without a format was written
//! before formats were numbered: format 1.

use clusterdef_model::Cluster;
use serde::{Deserialize, Serialize};

/// The record format this release writes, and the newest it reads.
pub const FORMAT: u32 = 1;

/// The record: the declaration rendered, and the change in progress, if a step was rendered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// The record's format ([`FORMAT`] when written by this release).
    #[serde(default = "first_format")]
    pub format: u32,
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

/// Records written before formats were numbered are format 1.
fn first_format() -> u32 {
    1
}

/// Only the format, read before anything else: a newer format may hold fields this release
/// does not know.
#[derive(Deserialize)]
struct Format {
    #[serde(default = "first_format")]
    format: u32,
}

/// Why bytes are not a record this release reads.
#[derive(Debug)]
pub enum RecordError {
    /// Not a record: the JSON reader's error, with its line and column.
    Json(serde_json::Error),
    /// A record of a format this release does not read, and where its format is given.
    Format {
        /// The format recorded.
        format: u32,
        /// The line of its `format` key (1-based).
        line: usize,
        /// The column of that key (1-based).
        column: usize,
    },
}

impl RecordError {
    /// The line the error is at (1-based).
    pub fn line(&self) -> usize {
        match self {
            RecordError::Json(e) => e.line(),
            RecordError::Format { line, .. } => *line,
        }
    }

    /// The column the error is at (1-based).
    pub fn column(&self) -> usize {
        match self {
            RecordError::Json(e) => e.column(),
            RecordError::Format { column, .. } => *column,
        }
    }
}

impl std::fmt::Display for RecordError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecordError::Json(e) => write!(f, "not a declaration clusterdef recorded ({e})"),
            RecordError::Format { format: n, .. } if *n > FORMAT => write!(
                f,
                "recorded in format {n} by a newer clusterdef (this release reads formats 1 to {FORMAT}); use that release or a later one"
            ),
            RecordError::Format { format: n, .. } => {
                write!(f, "record format {n} does not exist (formats are numbered from 1)")
            }
        }
    }
}

impl std::error::Error for RecordError {}

impl Record {
    /// The record of `cluster` rendered, in this release's format; `change` for a step.
    pub fn new(cluster: Cluster, change: Option<InProgress>) -> Record {
        Record { format: FORMAT, cluster, change }
    }

    /// The record's bytes, as a render writes them.
    pub fn to_bytes(&self) -> Vec<u8> {
        // The model serializes to JSON whatever it holds (strings, numbers, lists, maps).
        serde_json::to_vec_pretty(self).unwrap_or_default()
    }

    /// Reads a record; the error says where (`line:column`) and why, or which format it is.
    pub fn parse(bytes: &[u8]) -> Result<Record, RecordError> {
        let Format { format } = serde_json::from_slice(bytes).map_err(RecordError::Json)?;
        if format == 0 || format > FORMAT {
            // Where the format is given: found only on this path, in one pass over the text.
            let text = String::from_utf8_lossy(bytes);
            let line = crate::read::json_lines::JsonLines::new(&text).line("/format").max(1);
            let column = text.lines().nth(line - 1).and_then(|l| l.find("\"format\"")).map_or(1, |c| c + 1);
            return Err(RecordError::Format { format, line, column });
        }
        serde_json::from_slice(bytes).map_err(RecordError::Json)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_says_its_format_and_a_newer_one_is_refused_as_newer() {
        let cluster = crate::synthetic::flatcar_cluster(3, 1);
        let bytes = Record::new(cluster.clone(), None).to_bytes();
        let text = String::from_utf8(bytes.clone()).expect("text");
        assert!(text.contains(&format!("\"format\": {FORMAT}")), "{text}");
        assert_eq!(Record::parse(&bytes).expect("reads").cluster, cluster);
        // A later release's record, with a field this one does not know: named as newer,
        // not as a file that is not a record.
        let newer = text.replacen(&format!("\"format\": {FORMAT}"), "\"format\": 2, \"signed_by\": \"x\"", 1);
        let e = Record::parse(newer.as_bytes()).expect_err("newer");
        assert!(matches!(e, RecordError::Format { format: 2, line: 2, column: 3 }), "{e:?}");
        assert!(e.to_string().contains("newer clusterdef"), "{e}");
        // Written before formats were numbered: format 1.
        let unnumbered = text.replacen(&format!("\"format\": {FORMAT},"), "", 1);
        assert_eq!(Record::parse(unnumbered.as_bytes()).expect("reads").format, 1);
        let zero = text.replacen(&format!("\"format\": {FORMAT}"), "\"format\": 0", 1);
        assert!(matches!(Record::parse(zero.as_bytes()), Err(RecordError::Format { format: 0, .. })));
        // Not JSON: the reader's line.
        assert_eq!(Record::parse(b"{\n  \"format\": 1,\n  oops").expect_err("broken").line(), 3);
    }
}
