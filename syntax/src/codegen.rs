//! Generating the Rust expression that builds a checked cluster.
//!
//! The expression is a block holding one `const`, so the same output serves in expression
//! position and in `const`/`static` items. The block imports what it uses: the runtime crate's
//! private module as `__clusterdef` (from the path the caller gives, `$crate` when called
//! through `clusterdef::cluster!`), `Cow::Borrowed` for every string and list, and
//! `Some`/`None` from `::core`. Names imported in the block take precedence over the caller's,
//! and every other path is absolute, so the output works with a renamed crate, without the
//! prelude, and beside user items that shadow common names. `Borrowed(&[…])` is a variant
//! constructor, so its borrowed temporaries live as long as the `const`, which a `const fn`
//! call would not allow.
//!
//! The value is written straight into flat token buffers: a thousand-machine cluster with 500
//! units is some 60,000 tokens, and building each through `quote!` (a new stream per fragment,
//! the crate path cloned into each) or printing and re-lexing source text costs several times
//! more.

use clusterdef_model::{
    Addressing, Allow, Boot, BootServerKind, Bootstrap, Channel, Cluster, Cni, Container, Domain, DomainKind,
    DomainNetwork, DropIn, EtcdRelease, Group, HostConfig, HostFile, HostUnit, Hostnames, InventoryEntry, Ipv4Net,
    Kubernetes, Layout, Network, Os, Owner, RebootStrategy, RebootWindow, Requirement, Rule, Size, Spread, Tls, Unit,
    UnitBody, UnitCommand, Weekday, Windows,
};
use proc_macro2::{Delimiter, Group as TokenGroup, Ident, Literal, Punct, Spacing, Span, TokenStream, TokenTree};
use quote::quote;

/// The name the runtime's private module is imported under inside the expansion.
const PRIVATE: &str = "__clusterdef";

/// A token writer: tokens go into the innermost open group.
pub struct Out {
    stack: Vec<(Delimiter, Vec<TokenTree>)>,
}

impl Out {
    fn new() -> Out {
        Out { stack: vec![(Delimiter::None, Vec::new())] }
    }

    fn push(&mut self, tree: TokenTree) {
        if let Some((_, top)) = self.stack.last_mut() {
            top.push(tree);
        }
    }

    fn ident(&mut self, name: &str) {
        self.push(TokenTree::Ident(Ident::new(name, Span::call_site())));
    }

    fn punct(&mut self, ch: char) {
        self.push(TokenTree::Punct(Punct::new(ch, Spacing::Alone)));
    }

    /// `__clusterdef::a::b` for `a::b`.
    fn path(&mut self, segments: &str) {
        self.ident(PRIVATE);
        for segment in segments.split("::") {
            self.push(TokenTree::Punct(Punct::new(':', Spacing::Joint)));
            self.push(TokenTree::Punct(Punct::new(':', Spacing::Alone)));
            self.ident(segment);
        }
    }

    fn literal(&mut self, literal: Literal) {
        self.push(TokenTree::Literal(literal));
    }

    /// Writes a group: `open`, then what `inner` writes, then the closing delimiter.
    fn group(&mut self, delimiter: Delimiter, inner: impl FnOnce(&mut Out)) {
        self.stack.push((delimiter, Vec::new()));
        inner(self);
        self.close_group();
    }

    /// Closes the innermost open group into a token of the group around it.
    fn close_group(&mut self) {
        if self.stack.len() > 1
            && let Some((delimiter, trees)) = self.stack.pop()
        {
            self.push(TokenTree::Group(TokenGroup::new(delimiter, trees.into_iter().collect())));
        }
    }

    fn finish(mut self) -> TokenStream {
        self.stack.pop().map(|(_, top)| top.into_iter().collect()).unwrap_or_default()
    }
}

/// Writes a model value as tokens that rebuild it in a `const` context, with every path going
/// through `__clusterdef`.
pub trait Emit {
    /// Appends the tokens to `out`.
    fn emit(&self, out: &mut Out);
}

/// The tokens of an expression that rebuilds `value` inside the block [`cluster_expr`] makes.
pub fn tokens_of<T: Emit + ?Sized>(value: &T) -> TokenStream {
    let mut out = Out::new();
    value.emit(&mut out);
    out.finish()
}

/// The expression for a checked cluster; `krate` is the path of the runtime crate.
pub fn cluster_expr(cluster: &Cluster, krate: &TokenStream) -> TokenStream {
    let value = tokens_of(cluster);
    quote! {
        {
            use #krate::__private::{self as __clusterdef, Borrowed};
            use ::core::option::Option::{None, Some};
            const __CLUSTERDEF_CLUSTER: __clusterdef::Cluster = #value;
            __CLUSTERDEF_CLUSTER
        }
    }
}

/// The expression that stands in for a cluster that failed to compile, beside its errors.
pub fn placeholder_expr(errors: TokenStream, krate: &TokenStream) -> TokenStream {
    quote! {
        {
            #errors
            #krate::__private::placeholder()
        }
    }
}

/// `Borrowed("…")`
fn text(out: &mut Out, s: &str) {
    out.ident("Borrowed");
    out.group(Delimiter::Parenthesis, |o| o.literal(Literal::string(s)));
}

/// `Borrowed(&[…, …])`
fn list<T: Emit>(out: &mut Out, items: &[T]) {
    out.ident("Borrowed");
    out.group(Delimiter::Parenthesis, |o| {
        o.punct('&');
        o.group(Delimiter::Bracket, |o| {
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    o.punct(',');
                }
                item.emit(o);
            }
        });
    });
}

/// `Some(…)` or `None`
fn option<T: Emit>(out: &mut Out, value: Option<&T>) {
    match value {
        Some(v) => {
            out.ident("Some");
            out.group(Delimiter::Parenthesis, |o| v.emit(o));
        }
        None => out.ident("None"),
    }
}

/// `__clusterdef::path(…)`
fn call(out: &mut Out, path: &str, args: impl FnOnce(&mut Out)) {
    out.path(path);
    out.group(Delimiter::Parenthesis, args);
}

fn boolean(out: &mut Out, value: bool) {
    out.ident(if value { "true" } else { "false" });
}

/// Writes `__clusterdef::Name { field: value, … }`.
struct Fields<'o> {
    out: &'o mut Out,
}

impl<'o> Fields<'o> {
    fn open(out: &'o mut Out, path: &str) -> Fields<'o> {
        out.path(path);
        out.stack.push((Delimiter::Brace, Vec::new()));
        Fields { out }
    }

    fn field(self, name: &str, value: impl FnOnce(&mut Out)) -> Fields<'o> {
        self.out.ident(name);
        self.out.punct(':');
        value(self.out);
        self.out.punct(',');
        self
    }

    fn close(self) {
        self.out.close_group();
    }
}

impl Emit for std::borrow::Cow<'static, str> {
    fn emit(&self, out: &mut Out) {
        text(out, self);
    }
}

impl Emit for u32 {
    fn emit(&self, out: &mut Out) {
        out.literal(Literal::u32_suffixed(*self));
    }
}

impl Emit for std::net::Ipv4Addr {
    fn emit(&self, out: &mut Out) {
        call(out, "Ipv4Addr::new", |o| {
            for (i, octet) in self.octets().into_iter().enumerate() {
                if i > 0 {
                    o.punct(',');
                }
                o.literal(Literal::u8_unsuffixed(octet));
            }
        });
    }
}

impl<A: Emit, B: Emit> Emit for (A, B) {
    fn emit(&self, out: &mut Out) {
        out.group(Delimiter::Parenthesis, |o| {
            self.0.emit(o);
            o.punct(',');
            self.1.emit(o);
        });
    }
}

macro_rules! emit_unit_enum {
    ($($ty:ident),*) => {
        $(impl Emit for $ty {
            fn emit(&self, out: &mut Out) {
                out.path(&format!("{}::{self:?}", stringify!($ty)));
            }
        })*
    };
}

emit_unit_enum!(
    Layout,
    EtcdRelease,
    Channel,
    DomainKind,
    RebootStrategy,
    Weekday,
    Rule,
    Os,
    UnitCommand,
    Cni,
    BootServerKind
);

impl Emit for HostConfig {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "HostConfig")
            .field("files", |o| list(o, &self.files))
            .field("units", |o| list(o, &self.units))
            .field("dropins", |o| list(o, &self.dropins))
            .close();
    }
}

impl Emit for HostFile {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "HostFile")
            .field("path", |o| self.path.emit(o))
            .field("contents", |o| self.contents.emit(o))
            .field("mode", |o| self.mode.emit(o))
            .field("owner", |o| option(o, self.owner.as_ref()))
            .field("group", |o| option(o, self.group.as_ref()))
            .close();
    }
}

impl Emit for Owner {
    fn emit(&self, out: &mut Out) {
        match self {
            Owner::Name(name) => call(out, "Owner::Name", |o| name.emit(o)),
            Owner::Id(id) => call(out, "Owner::Id", |o| id.emit(o)),
        }
    }
}

impl Emit for HostUnit {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "HostUnit")
            .field("name", |o| self.name.emit(o))
            .field("body", |o| option(o, self.body.as_ref()))
            .field("enable", |o| option(o, self.enable.as_ref()))
            .field("mask", |o| boolean(o, self.mask))
            .field("command", |o| option(o, self.command.as_ref()))
            .close();
    }
}

impl Emit for DropIn {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "DropIn")
            .field("unit", |o| self.unit.emit(o))
            .field("name", |o| self.name.emit(o))
            .field("body", |o| self.body.emit(o))
            .close();
    }
}

impl Emit for bool {
    fn emit(&self, out: &mut Out) {
        boolean(out, *self);
    }
}

impl Emit for Cluster {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Cluster")
            .field("name", |o| self.name.emit(o))
            .field("os", |o| self.os.emit(o))
            .field("production", |o| boolean(o, self.production))
            .field("layout", |o| self.layout.emit(o))
            .field("etcd_release", |o| self.etcd_release.emit(o))
            .field("bootstrap", |o| self.bootstrap.emit(o))
            .field("members", |o| self.members.emit(o))
            .field("pools", |o| list(o, &self.pools))
            .field("network", |o| option(o, self.network.as_ref()))
            .field("channel", |o| self.channel.emit(o))
            .field("ssh_keys", |o| list(o, &self.ssh_keys))
            .field("boot_server", |o| option(o, self.boot_server.as_ref()))
            .field("boot_server_kind", |o| self.boot_server_kind.emit(o))
            .field("tls", |o| option(o, self.tls.as_ref()))
            .field("units", |o| list(o, &self.units))
            .field("allows", |o| list(o, &self.allows))
            .field("host", |o| self.host.emit(o))
            .field("kubernetes", |o| option(o, self.kubernetes.as_ref()))
            .close();
    }
}

impl Emit for Kubernetes {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Kubernetes")
            .field("version", |o| self.version.emit(o))
            .field("services", |o| self.services.emit(o))
            .field("pods", |o| self.pods.emit(o))
            .field("cni", |o| self.cni.emit(o))
            .field("eviction_seconds", |o| self.eviction_seconds.emit(o))
            .close();
    }
}

impl Emit for Container {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Container")
            .field("image", |o| self.image.emit(o))
            .field("command", |o| list(o, &self.command))
            .field("ports", |o| list(o, &self.ports))
            .field("env", |o| list(o, &self.env))
            .close();
    }
}

impl Emit for u16 {
    fn emit(&self, out: &mut Out) {
        out.literal(Literal::u16_suffixed(*self));
    }
}

impl Emit for Bootstrap {
    fn emit(&self, out: &mut Out) {
        match self {
            Bootstrap::Static => out.path("Bootstrap::Static"),
            Bootstrap::Discovery(url) => call(out, "Bootstrap::Discovery", |o| option(o, url.as_ref())),
        }
    }
}

impl Emit for Group {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Group")
            .field("name", |o| self.name.emit(o))
            .field("role", |o| self.role.emit(o))
            .field("size", |o| self.size.emit(o))
            .field("spread", |o| option(o, self.spread.as_ref()))
            .field("addressing", |o| self.addressing.emit(o))
            .field("hostnames", |o| self.hostnames.emit(o))
            .field("channel", |o| option(o, self.channel.as_ref()))
            .field("metadata", |o| list(o, &self.metadata))
            .field("reboot", |o| self.reboot.emit(o))
            .field("windows", |o| self.windows.emit(o))
            .field("ssh_keys", |o| list(o, &self.ssh_keys))
            .field("boot", |o| self.boot.emit(o))
            .field("inventory", |o| list(o, &self.inventory))
            .field("macs", |o| list(o, &self.macs))
            .field("install_disk", |o| option(o, self.install_disk.as_ref()))
            .field("host", |o| self.host.emit(o))
            .field("host_in", |o| list(o, &self.host_in))
            .close();
    }
}

impl Emit for InventoryEntry {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "InventoryEntry")
            .field("mac", |o| self.mac.emit(o))
            .field("domain", |o| option(o, self.domain.as_ref()))
            .close();
    }
}

impl Emit for Ipv4Net {
    fn emit(&self, out: &mut Out) {
        call(out, "Ipv4Net::new", |o| {
            self.addr.emit(o);
            o.punct(',');
            o.literal(Literal::u8_suffixed(self.prefix));
        })
    }
}

impl Emit for DomainNetwork {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "DomainNetwork")
            .field("kind", |o| self.kind.emit(o))
            .field("name", |o| self.name.emit(o))
            .field("subnet", |o| self.subnet.emit(o))
            .field("gateway", |o| option(o, self.gateway.as_ref()))
            .close();
    }
}

impl Emit for Size {
    fn emit(&self, out: &mut Out) {
        match self {
            Size::Fixed(n) => call(out, "Size::Fixed", |o| n.emit(o)),
            Size::Autoscale { min, max } => Fields::open(out, "Size::Autoscale")
                .field("min", |o| option(o, min.as_ref()))
                .field("max", |o| option(o, max.as_ref()))
                .close(),
        }
    }
}

impl Emit for Spread {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Spread")
            .field("kind", |o| self.kind.emit(o))
            .field("domains", |o| list(o, &self.domains))
            .close();
    }
}

impl Emit for Domain {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Domain")
            .field("name", |o| self.name.emit(o))
            .field("count", |o| option(o, self.count.as_ref()))
            .close();
    }
}

impl Emit for Addressing {
    fn emit(&self, out: &mut Out) {
        match self {
            Addressing::Dhcp => out.path("Addressing::Dhcp"),
            Addressing::Range { first, last } => Fields::open(out, "Addressing::Range")
                .field("first", |o| first.emit(o))
                .field("last", |o| last.emit(o))
                .close(),
            Addressing::List(items) => call(out, "Addressing::List", |o| list(o, items)),
        }
    }
}

impl Emit for Hostnames {
    fn emit(&self, out: &mut Out) {
        match self {
            Hostnames::Default => out.path("Hostnames::Default"),
            Hostnames::Pattern(p) => call(out, "Hostnames::Pattern", |o| p.emit(o)),
            Hostnames::List(items) => call(out, "Hostnames::List", |o| list(o, items)),
        }
    }
}

impl Emit for RebootWindow {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "RebootWindow")
            .field("day", |o| option(o, self.day.as_ref()))
            .field("start_minute", |o| o.literal(Literal::u16_suffixed(self.start_minute)))
            .field("length_secs", |o| o.literal(Literal::u64_suffixed(self.length_secs)))
            .close();
    }
}

impl Emit for Windows {
    fn emit(&self, out: &mut Out) {
        match self {
            Windows::Any => out.path("Windows::Any"),
            Windows::All(w) => call(out, "Windows::All", |o| w.emit(o)),
            Windows::PerDomain(items) => call(out, "Windows::PerDomain", |o| list(o, items)),
        }
    }
}

impl Emit for Boot {
    fn emit(&self, out: &mut Out) {
        match self {
            Boot::Disk => out.path("Boot::Disk"),
            Boot::Pxe { url } => Fields::open(out, "Boot::Pxe").field("url", |o| option(o, url.as_ref())).close(),
        }
    }
}

impl Emit for Network {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Network")
            .field("subnet", |o| self.subnet.emit(o))
            .field("gateway", |o| option(o, self.gateway.as_ref()))
            .field("dns", |o| list(o, &self.dns))
            .field("interface", |o| self.interface.emit(o))
            .field("domains", |o| list(o, &self.domains))
            .close();
    }
}

impl Emit for Unit {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Unit")
            .field("name", |o| self.name.emit(o))
            .field("body", |o| self.body.emit(o))
            .field("global", |o| boolean(o, self.global))
            .field("machine_metadata", |o| list(o, &self.machine_metadata))
            .field("conflicts", |o| list(o, &self.conflicts))
            .field("machine_of", |o| option(o, self.machine_of.as_ref()))
            .field("machine_id", |o| option(o, self.machine_id.as_ref()))
            .field("replaces", |o| list(o, &self.replaces))
            .field("instances", |o| option(o, self.instances.as_ref()))
            .field("container", |o| option(o, self.container.as_ref()))
            .close();
    }
}

impl Emit for UnitBody {
    fn emit(&self, out: &mut Out) {
        match self {
            UnitBody::Inline(t) => call(out, "UnitBody::Inline", |o| t.emit(o)),
            // The text is included from the file, not copied, so cargo rebuilds when it changes.
            UnitBody::File { path, .. } => Fields::open(out, "UnitBody::File")
                .field("path", |o| path.emit(o))
                .field("text", |o| {
                    let relative = format!("/{path}");
                    let include = quote! {
                        ::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), #relative))
                    };
                    o.ident("Borrowed");
                    o.group(Delimiter::Parenthesis, |o| {
                        for tree in include {
                            o.push(tree);
                        }
                    });
                })
                .close(),
        }
    }
}

impl Emit for Tls {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Tls")
            .field("ca", |o| self.ca.emit(o))
            .field("cert", |o| self.cert.emit(o))
            .field("key", |o| self.key.emit(o))
            .close();
    }
}

impl Emit for Requirement {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Requirement")
            .field("key", |o| self.key.emit(o))
            .field("values", |o| list(o, &self.values))
            .close();
    }
}

impl Emit for Allow {
    fn emit(&self, out: &mut Out) {
        Fields::open(out, "Allow")
            .field("rule", |o| self.rule.emit(o))
            .field("reason", |o| self.reason.emit(o))
            .close();
    }
}
