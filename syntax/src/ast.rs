//! The spanned syntax tree of a `cluster! { … }` body. Every node keeps the source range it came
//! from, so later stages can point errors at the exact tokens.

use std::net::Ipv4Addr;

use clusterdef_model::{Channel, DomainKind, EtcdRelease, Ipv4Net, Layout, Os, RebootStrategy, RebootWindow, Rule};
use proc_macro2::{Ident, Span, TokenStream, TokenTree};

/// A source range from the first token's start to the last token's end.
#[derive(Clone, Copy, Debug)]
pub struct SpanRange {
    /// Where the range starts.
    pub start: Span,
    /// Where the range ends.
    pub end: Span,
}

impl SpanRange {
    /// A range covering one token.
    pub fn single(span: Span) -> SpanRange {
        SpanRange { start: span, end: span }
    }

    /// A range from the start of `self` to the end of `other`.
    pub fn to(self, other: SpanRange) -> SpanRange {
        SpanRange { start: self.start, end: other.end }
    }

    /// An error underlining the whole range.
    pub fn error(self, message: impl std::fmt::Display) -> syn::Error {
        let tokens: TokenStream =
            [TokenTree::Ident(Ident::new("start", self.start)), TokenTree::Ident(Ident::new("end", self.end))]
                .into_iter()
                .collect();
        syn::Error::new_spanned(tokens, message)
    }
}

/// A value and the tokens it was written as.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    /// The value.
    pub value: T,
    /// Where it was written.
    pub span: SpanRange,
}

impl<T> Spanned<T> {
    /// Pairs a value with its source range.
    pub fn new(value: T, span: SpanRange) -> Spanned<T> {
        Spanned { value, span }
    }
}

/// A whole `cluster!` body: its entries in order.
#[derive(Clone, Debug, Default)]
pub struct ClusterAst {
    /// The entries as written.
    pub entries: Vec<Entry>,
}

/// One top-level entry. `key` is the entry's leading keyword.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The keyword that starts the entry.
    pub key: Ident,
    /// What follows it.
    pub kind: EntryKind,
}

/// The kinds of top-level entry.
#[derive(Clone, Debug)]
pub enum EntryKind {
    /// `name: NAME`
    Name(Spanned<String>),
    /// `production: BOOL`
    Production(Spanned<bool>),
    /// `etcd: 2 | 0.4`
    Etcd(Spanned<EtcdRelease>),
    /// `os: coreos | flatcar`
    Os(Spanned<Os>),
    /// `channel: stable | beta | alpha`
    Channel(Spanned<Channel>),
    /// `ssh_keys: ["…", …]`
    SshKeys(Vec<Spanned<String>>),
    /// `network: { … }`
    Network(NetworkAst),
    /// `bootstrap: static | discovery ["url"]`
    Bootstrap(Spanned<BootstrapAst>),
    /// `boot_server: [matchbox] "http://…"`: the `matchbox` word where written, and the URL.
    BootServer(Option<SpanRange>, Spanned<String>),
    /// `tls: { ca: "…", cert: "…", key: "…" }`
    Tls(Spanned<[Spanned<String>; 3]>),
    /// `central: SPEC` (central services) or `machines: SPEC` (a small cluster): the layout the
    /// key declares, and the members.
    Members(Layout, GroupSpec),
    /// `etcd_node: "address" [{ options }]`
    EtcdNode(Spanned<Ipv4Addr>, GroupOptions),
    /// `workers: SPEC`
    Workers(GroupSpec),
    /// `pool NAME: SPEC`
    Pool(Spanned<String>, GroupSpec),
    /// `unit "name" { … }`
    Unit(UnitAst),
    /// `host: { … }`, cluster-wide host configuration.
    Host(HostAst),
    /// `kubernetes: { version: "v1.36.3", … }`
    Kubernetes(KubernetesAst),
    /// `allow(RULE, reason = "…")`
    Allow(Spanned<Rule>, Spanned<String>),
}

/// The `kubernetes: { … }` block.
#[derive(Clone, Debug)]
pub struct KubernetesAst {
    /// The whole block.
    pub span: SpanRange,
    /// `version: "v1.36.3"`
    pub version: Spanned<String>,
    /// `services: "10.3.0.0/16"`
    pub services: Option<Spanned<Ipv4Net>>,
    /// `pods: "10.20.0.0/14"`
    pub pods: Option<Spanned<Ipv4Net>>,
    /// `cni: flannel | cilium`
    pub cni: Option<Spanned<clusterdef_model::Cni>>,
    /// `eviction_after: 300` (seconds)
    pub eviction_seconds: Option<Spanned<u32>>,
}

/// `static` or `discovery ["url"]`.
#[derive(Clone, Debug)]
pub enum BootstrapAst {
    /// A static `initial-cluster`.
    Static,
    /// A discovery URL, if given.
    Discovery(Option<Spanned<String>>),
}

/// The `network: { … }` block.
#[derive(Clone, Debug, Default)]
pub struct NetworkAst {
    /// The whole block.
    pub span: Option<SpanRange>,
    /// `subnet: "10.0.0.0/24"`
    pub subnet: Option<Spanned<Ipv4Net>>,
    /// `gateway: "10.0.0.1"`
    pub gateway: Option<Spanned<Ipv4Addr>>,
    /// `dns: ["…"]`
    pub dns: Vec<Spanned<Ipv4Addr>>,
    /// `interface: "eth0"`
    pub interface: Option<Spanned<String>>,
    /// `zones: { NAME: { subnet: "…", gateway: "…" }, … }` and the same for `cabinets`.
    pub domains: Vec<DomainNetworkAst>,
}

/// One failure domain's network: `"us-east-1a": { subnet: "10.10.0.0/20", gateway: "10.10.0.1" }`.
#[derive(Clone, Debug)]
pub struct DomainNetworkAst {
    /// Cabinet or zone, from the key it is listed under.
    pub kind: DomainKind,
    /// The domain's name.
    pub name: Spanned<String>,
    /// Its subnet.
    pub subnet: Option<Spanned<Ipv4Net>>,
    /// Its gateway.
    pub gateway: Option<Spanned<Ipv4Addr>>,
}

/// A group's count, spread and options: `5 across cabinets [a, b, c] { … }`.
#[derive(Clone, Debug)]
pub struct GroupSpec {
    /// The whole specification.
    pub span: SpanRange,
    /// The count or `autoscale`.
    pub size: SizeAst,
    /// The `across` clause.
    pub spread: Option<SpreadAst>,
    /// The `{ … }` options.
    pub options: GroupOptions,
}

/// A count or an autoscale range.
#[derive(Clone, Debug)]
pub enum SizeAst {
    /// A fixed count.
    Fixed(Spanned<u32>),
    /// `autoscale [min..max]`.
    Autoscale {
        /// The whole `autoscale …` clause.
        span: SpanRange,
        /// The minimum, if given.
        min: Option<Spanned<u32>>,
        /// The maximum, if given.
        max: Option<Spanned<u32>>,
    },
}

impl SizeAst {
    /// Where the size was written.
    pub fn span(&self) -> SpanRange {
        match self {
            SizeAst::Fixed(n) => n.span,
            SizeAst::Autoscale { span, .. } => *span,
        }
    }
}

/// `across cabinets [a, b: 2, …]`.
#[derive(Clone, Debug)]
pub struct SpreadAst {
    /// The whole clause.
    pub span: SpanRange,
    /// Cabinets or zones.
    pub kind: DomainKind,
    /// The domains with their optional counts.
    pub domains: Vec<(Spanned<String>, Option<Spanned<u32>>)>,
}

/// The `{ … }` options of a group.
#[derive(Clone, Debug, Default)]
pub struct GroupOptions {
    /// `addresses: …`
    pub addresses: Option<Spanned<AddressesAst>>,
    /// `hostnames: …`
    pub hostnames: Option<Spanned<HostnamesAst>>,
    /// `channel: …`
    pub channel: Option<Spanned<Channel>>,
    /// `metadata: { k = v, … }`
    pub metadata: Vec<(Spanned<String>, Spanned<String>)>,
    /// `role: …`
    pub role: Option<Spanned<String>>,
    /// `reboot: …`
    pub reboot: Option<Spanned<RebootStrategy>>,
    /// `window: …`
    pub window: Option<Spanned<WindowsAst>>,
    /// `ssh_keys: […]`
    pub ssh_keys: Vec<Spanned<String>>,
    /// `boot: disk | pxe ["url"]`
    pub boot: Option<Spanned<BootAst>>,
    /// `inventory: { "mac": DOMAIN, … }` or `inventory: ["mac", …]`
    pub inventory: Option<Spanned<Vec<InventoryAst>>>,
    /// `macs: ["mac", …]`
    pub macs: Option<Spanned<Vec<Spanned<String>>>>,
    /// `install_disk: "/dev/…"`
    pub install_disk: Option<Spanned<String>>,
    /// `host: { … }`
    pub host: Option<HostAst>,
    /// `host_in: { DOMAIN: { … }, … }`
    pub host_in: Vec<(Spanned<String>, HostAst)>,
}

/// `{ file …, unit …, dropin … }`: host configuration at one scope.
#[derive(Clone, Debug)]
pub struct HostAst {
    /// The whole block.
    pub span: SpanRange,
    /// `file "PATH" { … }`
    pub files: Vec<HostFileAst>,
    /// `unit "NAME" { … }`
    pub units: Vec<HostUnitAst>,
    /// `dropin "UNIT" "NAME.conf" { … }`
    pub dropins: Vec<DropInAst>,
}

/// `file "PATH" { contents: …, mode: 0o644, owner: …, group: … }`
#[derive(Clone, Debug)]
pub struct HostFileAst {
    /// The path.
    pub path: Spanned<String>,
    /// `contents: "text"` or `contents: file "path"`.
    pub contents: Spanned<BodyAst>,
    /// `mode: 0o644`
    pub mode: Option<Spanned<u32>>,
    /// `owner: "name"` or `owner: 500`
    pub owner: Option<Spanned<clusterdef_model::Owner>>,
    /// `group: "name"` or `group: 500`
    pub group: Option<Spanned<clusterdef_model::Owner>>,
}

/// `unit "NAME" { body: …, enable: bool, mask, command: start }`
#[derive(Clone, Debug)]
pub struct HostUnitAst {
    /// The unit's name.
    pub name: Spanned<String>,
    /// `body: …`
    pub body: Option<Spanned<BodyAst>>,
    /// `enable: true|false`
    pub enable: Option<Spanned<bool>>,
    /// `mask`
    pub mask: Option<SpanRange>,
    /// `command: start|restart|stop`
    pub command: Option<Spanned<clusterdef_model::UnitCommand>>,
}

/// `dropin "UNIT" "NAME.conf" { body: … }`
#[derive(Clone, Debug)]
pub struct DropInAst {
    /// The unit it applies to.
    pub unit: Spanned<String>,
    /// The drop-in's file name.
    pub name: Spanned<String>,
    /// `body: …`
    pub body: Spanned<BodyAst>,
}

/// One machine of an inventory: its MAC address, and its domain for a spread pool.
pub type InventoryAst = (Spanned<String>, Option<Spanned<String>>);

/// `dhcp`, a range, or a list of addresses.
#[derive(Clone, Debug)]
pub enum AddressesAst {
    /// `dhcp`
    Dhcp,
    /// `"first".."last"`, inclusive.
    Range(Spanned<Ipv4Addr>, Spanned<Ipv4Addr>),
    /// `["a", "b"]`
    List(Vec<Spanned<Ipv4Addr>>),
}

/// A hostname pattern or list.
#[derive(Clone, Debug)]
pub enum HostnamesAst {
    /// `"central-{n}"`
    Pattern(String),
    /// `[a, b, c]`
    List(Vec<Spanned<String>>),
}

/// One window, or one per domain.
#[derive(Clone, Debug)]
pub enum WindowsAst {
    /// `"Thu 04:00" for "1h"`
    All(RebootWindow),
    /// `{ a: "Mon 04:00" for "1h", … }`
    PerDomain(Vec<(Spanned<String>, Spanned<RebootWindow>)>),
}

/// How a group boots.
#[derive(Clone, Debug)]
pub enum BootAst {
    /// `disk`
    Disk,
    /// `pxe ["url"]`
    Pxe(Option<String>),
}

/// `unit "name" { … }`.
#[derive(Clone, Debug)]
pub struct UnitAst {
    /// The whole declaration.
    pub span: SpanRange,
    /// The unit's name.
    pub name: Spanned<String>,
    /// `global`
    pub global: Option<SpanRange>,
    /// `metadata: { k = v | [v, …], … }`
    pub metadata: Option<SpanRange>,
    /// The requirements: key and values.
    pub requirements: Vec<(Spanned<String>, Vec<Spanned<String>>)>,
    /// `conflicts: ["glob", …]`
    pub conflicts: Vec<Spanned<String>>,
    /// `machine_of: "unit"`
    pub machine_of: Option<Spanned<String>>,
    /// `machine_id: "id"`
    pub machine_id: Option<Spanned<String>>,
    /// `replaces: ["glob", …]`
    pub replaces: Vec<Spanned<String>>,
    /// `instances: N`
    pub instances: Option<Spanned<u32>>,
    /// `body: "text"` or `body: file "path"`.
    pub body: Option<Spanned<BodyAst>>,
    /// `image: "registry/name:tag"`
    pub image: Option<Spanned<String>>,
    /// `command: ["…", …]`
    pub command: Vec<Spanned<String>>,
    /// `ports: [80, …]`
    pub ports: Vec<Spanned<u16>>,
    /// `env: ["NAME=value", …]`
    pub env: Vec<Spanned<String>>,
}

/// A unit body, inline or from a file.
#[derive(Clone, Debug)]
pub enum BodyAst {
    /// Inline text.
    Inline(String),
    /// A path relative to the crate root, and the file's text once read.
    File {
        /// The path as written.
        path: String,
        /// The file's contents.
        text: String,
    },
}
