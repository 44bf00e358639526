//! The model's strings, lists and bodies: borrowed from the binary for `cluster!` output,
//! owned when built at run time.

use std::borrow::Cow;

/// A string of the model: borrowed from the binary for `cluster!` output, owned when built at run time.
pub type Text = Cow<'static, str>;

/// A list of the model: borrowed for `cluster!` output, owned when built at run time.
pub type List<T> = Cow<'static, [T]>;

/// Where a unit's text came from.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum UnitBody {
    /// Text written in the declaration.
    Inline(Text),
    /// Text read from a file; `path` is relative to the declaring crate.
    File {
        /// The path as written.
        path: Text,
        /// The file's contents.
        text: Text,
    },
}

impl UnitBody {
    /// The unit file's text.
    pub fn text(&self) -> &str {
        match self {
            UnitBody::Inline(text) | UnitBody::File { text, .. } => text,
        }
    }
}
