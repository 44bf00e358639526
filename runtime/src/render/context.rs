//! What every renderer shares, and the one thing they may depend on besides the model: the
//! cluster with its bootstrap resolved, and the rule that turns names into file names. The
//! formats depend on this module, never on each other's output or on `render/mod.rs`.

use std::borrow::Cow;
use std::fmt;

use clusterdef_model::{Bootstrap, Checked, Cluster, Review, Segments, Violations};

/// What rendering needs beyond the cluster itself.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// The discovery URL for a cluster declared `bootstrap: discovery` without one.
    pub discovery_url: Option<String>,
    /// A member joining a running cluster in one step of a change (`clusterdef render NEW
    /// --step N`): its etcd starts with the membership of that moment, as an existing cluster's
    /// new member must. `None`: every member starts a new cluster, as at first boot.
    pub etcd_join: Option<EtcdJoin>,
}

/// One member joining a running cluster: what its etcd starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct EtcdJoin {
    /// The joining member's name.
    pub member: String,
    /// `name=peer_url,…`: every member at that moment, learners and itself included, as etcd
    /// requires of a member that joins.
    pub initial_cluster: String,
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
            RenderError::MissingDiscoveryUrl => f.write_str(&RenderError::missing_discovery_url(
                "pass `RenderOptions { discovery_url }` to `render_with`",
            )),
            RenderError::UnsafePath(p) => write!(f, "`{p}` is not a safe file name for an artifact"),
        }
    }
}

impl RenderError {
    /// The message of [`RenderError::MissingDiscoveryUrl`], ending with `fix`: how the front end
    /// at hand supplies the URL (a `render_with` option, a command-line flag, a builder call).
    pub fn missing_discovery_url(fix: &str) -> String {
        format!(
            "the cluster bootstraps by discovery but names no URL: declare `bootstrap: discovery \"https://discovery.etcd.io/<token>\"`, or {fix}"
        )
    }
}

impl std::error::Error for RenderError {}

impl From<Violations> for RenderError {
    fn from(v: Violations) -> RenderError {
        RenderError::Invalid(v)
    }
}

/// Where the current release of `os` on `channel` is served, for machines that boot over the
/// network (they run from RAM and never update themselves, so they boot the channel's current
/// release): the directory holding the PXE kernel and initrd.
pub fn release_url(os: clusterdef_model::Os, channel: clusterdef_model::Channel) -> String {
    match os {
        clusterdef_model::Os::CoreOs => format!("http://{}.release.core-os.net/amd64-usr/current", channel.as_str()),
        clusterdef_model::Os::Flatcar => {
            format!("http://{}.release.flatcar-linux.net/amd64-usr/current", channel.as_str())
        }
    }
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
    /// What the rules found: where each unit runs, decided now when nothing schedules at run
    /// time (Flatcar; empty on CoreOS, where fleet decides), computed once for the plan and the
    /// configs; and the violations of rules the cluster allows, for the plan's accepted risks.
    pub review: Cow<'c, Review>,
    /// Each machine's network segment, indexed once for every config.
    pub segments: Segments<'c>,
    /// A member joining a running cluster, if this render is one step of a change.
    pub etcd_join: Option<EtcdJoin>,
}

impl<'c> Context<'c> {
    /// Checks the cluster and resolves its bootstrap.
    pub fn new(cluster: &'c Cluster, options: &RenderOptions) -> Result<Context<'c>, RenderError> {
        let review = cluster.check_and_place()?;
        Context::reviewed(cluster, Cow::Owned(review), options)
    }

    /// The context of a cluster the rules have checked already: their review is used as it is.
    pub fn checked(checked: &'c Checked, options: &RenderOptions) -> Result<Context<'c>, RenderError> {
        Context::reviewed(checked.cluster(), Cow::Borrowed(checked.review()), options)
    }

    fn reviewed(
        cluster: &'c Cluster,
        review: Cow<'c, Review>,
        options: &RenderOptions,
    ) -> Result<Context<'c>, RenderError> {
        let discovery = match &cluster.bootstrap {
            Bootstrap::Static => None,
            Bootstrap::Discovery(Some(url)) => Some(url.to_string()),
            Bootstrap::Discovery(None) => Some(options.discovery_url.clone().ok_or(RenderError::MissingDiscoveryUrl)?),
        };
        Ok(Context { cluster, discovery, review, segments: cluster.segments(), etcd_join: options.etcd_join.clone() })
    }
}

/// `value` as one word of a systemd command line: double-quoted, with `%` (a specifier), `$`
/// (a variable), `\` and `"` escaped, so systemd passes it on as written.
pub fn exec_word(value: &str) -> String {
    let mut word = String::from("\"");
    for c in value.chars() {
        match c {
            '%' => word.push_str("%%"),
            '$' => word.push_str("$$"),
            '\\' | '"' => {
                word.push('\\');
                word.push(c);
            }
            c => word.push(c),
        }
    }
    word.push('"');
    word
}

/// The step that gives etcd its key, as a `[Service]` line of a drop-in on the unit that runs
/// etcd: `clusterdef pki` writes keys 0600 root, the user copies them as root, and etcd runs as
/// `etcd`. It runs before every start, so a key copied after the boot is given at the next
/// restart; `-` makes a missing key no failure of the step (etcd then fails on it and is
/// restarted). `privileged`: the unit runs as `etcd` (`User=etcd`, CoreOS's etcd2), so the step
/// asks for root with `+`.
pub fn give_etcd_its_key(key: &str, privileged: bool) -> String {
    let prefix = if privileged { "-+" } else { "-" };
    format!("ExecStartPre={prefix}/usr/bin/chown etcd:etcd {}\n", exec_word(key))
}
