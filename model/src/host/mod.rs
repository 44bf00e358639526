//! The machines' own configuration: files, host units and drop-ins, declared cluster-wide, per
//! group and per failure domain of a group. Unlike fleet units, host configuration is never
//! scheduled: every machine of its scope carries it from first boot.

use std::borrow::Cow;

mod items;

pub use items::{HostItems, UnitEntry};

use crate::group_ref::GroupRef;
use crate::text::{List, Text, UnitBody};

/// Host configuration at one scope.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields, default))]
pub struct HostConfig {
    /// Files written at their paths.
    pub files: List<HostFile>,
    /// systemd units: written, enabled, masked or started.
    pub units: List<HostUnit>,
    /// Drop-ins on units, shipped ones included.
    pub dropins: List<DropIn>,
}

impl HostConfig {
    /// No configuration, in a `const` context.
    pub const EMPTY: HostConfig =
        HostConfig { files: Cow::Borrowed(&[]), units: Cow::Borrowed(&[]), dropins: Cow::Borrowed(&[]) };

    /// Whether it declares nothing.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty() && self.units.is_empty() && self.dropins.is_empty()
    }
}

/// A file on the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct HostFile {
    /// The absolute path.
    pub path: Text,
    /// The contents, written in the declaration or read from a file of the project.
    pub contents: UnitBody,
    /// The permission bits (at most `0o7777`); `0o644` unless declared.
    pub mode: u32,
    /// The owner, by name or id; `None` is root.
    pub owner: Option<Owner>,
    /// The group, by name or id; `None` is root's.
    pub group: Option<Owner>,
}

/// A user or group, by name or by numeric id.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum Owner {
    /// By name, such as `core`.
    Name(Text),
    /// By id, such as `500`.
    Id(u32),
}

/// A systemd unit on the machine.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct HostUnit {
    /// The unit's name, such as `docker-tcp.socket`.
    pub name: Text,
    /// Its contents; `None` for a unit the OS ships (masked, enabled or started as it is).
    pub body: Option<UnitBody>,
    /// Whether it is enabled at boot; `None` enables a unit whose body has an `[Install]`
    /// section, as `systemctl enable` would act on it, and leaves others alone.
    pub enable: Option<bool>,
    /// Whether it is masked (linked to `/dev/null`).
    pub mask: bool,
    /// A command run on it at boot (CoreOS's coreos-cloudinit only).
    pub command: Option<UnitCommand>,
}

impl HostUnit {
    /// Whether the unit is enabled at boot: as declared, else when its body has an `[Install]`
    /// section that names a target (`WantedBy=`, `RequiredBy=`, `Also=` or `Alias=`).
    pub fn enabled(&self) -> bool {
        self.enable.unwrap_or_else(|| self.body.as_ref().is_some_and(|b| installs(b.text())))
    }
}

pub use crate::unit_file::installs;

/// What coreos-cloudinit does to a unit at boot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "snake_case"))]
pub enum UnitCommand {
    /// `systemctl start`.
    Start,
    /// `systemctl restart`.
    Restart,
    /// `systemctl stop`.
    Stop,
}

impl UnitCommand {
    /// The word the language and coreos-cloudinit use.
    pub const fn as_str(self) -> &'static str {
        match self {
            UnitCommand::Start => "start",
            UnitCommand::Restart => "restart",
            UnitCommand::Stop => "stop",
        }
    }
}

/// A drop-in on a unit: `/etc/systemd/system/<unit>.d/<name>`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(deny_unknown_fields))]
pub struct DropIn {
    /// The unit it applies to, such as `docker.service`.
    pub unit: Text,
    /// The drop-in's file name, ending in `.conf`.
    pub name: Text,
    /// Its contents.
    pub body: UnitBody,
}

/// Where a piece of host configuration is declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostScope {
    /// Cluster-wide.
    Cluster,
    /// In a group's options.
    Group(GroupRef),
    /// For one failure domain of a group: the group and the index into its `host_in` list.
    Domain(GroupRef, usize),
}
