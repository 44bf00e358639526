//! Generating the Rust expression that builds a checked cluster.
//!
//! The expression is a block holding one `const`, so the same output serves in expression
//! position and in `const`/`static` items. Every path is absolute and goes through the runtime
//! crate's path (`$crate` when called through `clusterdef::cluster!`), so the output works with a
//! renamed crate and without the prelude.

use clusterdef_model::{
    Addressing, Allow, Boot, Bootstrap, Channel, Cluster, Domain, DomainKind, EtcdRelease, Group,
    Hostnames, Layout, Network, RebootStrategy, RebootWindow, Requirement, Rule, Size, Spread,
    Unit, UnitBody, Weekday, Windows,
};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{format_ident, quote};

/// Turns a model value into tokens that rebuild it in a `const` context.
pub trait Emit {
    /// The tokens; `k` is the path of the runtime crate.
    fn emit(&self, k: &TokenStream) -> TokenStream;
}

/// The expression for a checked cluster.
pub fn cluster_expr(cluster: &Cluster, k: &TokenStream) -> TokenStream {
    let value = cluster.emit(k);
    let name = Ident::new("__CLUSTERDEF_CLUSTER", Span::mixed_site());
    quote! {
        {
            const #name: #k::Cluster = #value;
            #name
        }
    }
}

/// The expression that stands in for a cluster that failed to compile, beside its errors.
pub fn placeholder_expr(errors: TokenStream, k: &TokenStream) -> TokenStream {
    quote! {
        {
            #errors
            #k::__private::placeholder()
        }
    }
}

fn text(s: &str, k: &TokenStream) -> TokenStream {
    quote!(#k::__private::Cow::Borrowed(#s))
}

fn list<T: Emit>(items: &[T], k: &TokenStream) -> TokenStream {
    let items = items.iter().map(|i| i.emit(k));
    quote!(#k::__private::Cow::Borrowed(&[#(#items),*]))
}

fn option<T: Emit>(value: Option<&T>, k: &TokenStream) -> TokenStream {
    match value {
        Some(v) => {
            let v = v.emit(k);
            quote!(::core::option::Option::Some(#v))
        }
        None => quote!(::core::option::Option::None),
    }
}

impl Emit for std::borrow::Cow<'static, str> {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        text(self, k)
    }
}

impl Emit for u32 {
    fn emit(&self, _: &TokenStream) -> TokenStream {
        quote!(#self)
    }
}

impl Emit for std::net::Ipv4Addr {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let [a, b, c, d] = self.octets();
        quote!(#k::__private::Ipv4Addr::new(#a, #b, #c, #d))
    }
}

impl<A: Emit, B: Emit> Emit for (A, B) {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let (a, b) = (self.0.emit(k), self.1.emit(k));
        quote!((#a, #b))
    }
}

macro_rules! emit_unit_enum {
    ($ty:ident { $($variant:ident),* }) => {
        impl Emit for $ty {
            fn emit(&self, k: &TokenStream) -> TokenStream {
                match self {
                    $($ty::$variant => quote!(#k::$ty::$variant),)*
                }
            }
        }
    };
}

emit_unit_enum!(Layout {
    Small,
    DevTest,
    CentralServices
});
emit_unit_enum!(EtcdRelease { V0_4, V2 });
emit_unit_enum!(Channel {
    Stable,
    Beta,
    Alpha
});
emit_unit_enum!(DomainKind { Cabinet, Zone });
emit_unit_enum!(RebootStrategy {
    EtcdLock,
    Reboot,
    Off
});
emit_unit_enum!(Weekday {
    Sun,
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat
});

impl Emit for Rule {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let variant = format_ident!("{}", format!("{self:?}"));
        quote!(#k::Rule::#variant)
    }
}

impl Emit for Cluster {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let name = self.name.emit(k);
        let production = self.production;
        let layout = self.layout.emit(k);
        let etcd_release = self.etcd_release.emit(k);
        let bootstrap = self.bootstrap.emit(k);
        let members = self.members.emit(k);
        let pools = list(&self.pools, k);
        let network = option(self.network.as_ref(), k);
        let channel = self.channel.emit(k);
        let ssh_keys = list(&self.ssh_keys, k);
        let boot_server = option(self.boot_server.as_ref(), k);
        let units = list(&self.units, k);
        let allows = list(&self.allows, k);
        quote! {
            #k::Cluster {
                name: #name,
                production: #production,
                layout: #layout,
                etcd_release: #etcd_release,
                bootstrap: #bootstrap,
                members: #members,
                pools: #pools,
                network: #network,
                channel: #channel,
                ssh_keys: #ssh_keys,
                boot_server: #boot_server,
                units: #units,
                allows: #allows,
            }
        }
    }
}

impl Emit for Bootstrap {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            Bootstrap::Static => quote!(#k::Bootstrap::Static),
            Bootstrap::Discovery(url) => {
                let url = option(url.as_ref(), k);
                quote!(#k::Bootstrap::Discovery(#url))
            }
        }
    }
}

impl Emit for Group {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let name = self.name.emit(k);
        let role = self.role.emit(k);
        let size = self.size.emit(k);
        let spread = option(self.spread.as_ref(), k);
        let addressing = self.addressing.emit(k);
        let hostnames = self.hostnames.emit(k);
        let channel = option(self.channel.as_ref(), k);
        let metadata = list(&self.metadata, k);
        let reboot = self.reboot.emit(k);
        let windows = self.windows.emit(k);
        let ssh_keys = list(&self.ssh_keys, k);
        let boot = self.boot.emit(k);
        quote! {
            #k::Group {
                name: #name,
                role: #role,
                size: #size,
                spread: #spread,
                addressing: #addressing,
                hostnames: #hostnames,
                channel: #channel,
                metadata: #metadata,
                reboot: #reboot,
                windows: #windows,
                ssh_keys: #ssh_keys,
                boot: #boot,
            }
        }
    }
}

impl Emit for Size {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            Size::Fixed(n) => quote!(#k::Size::Fixed(#n)),
            Size::Autoscale { min, max } => {
                let (min, max) = (option(min.as_ref(), k), option(max.as_ref(), k));
                quote!(#k::Size::Autoscale { min: #min, max: #max })
            }
        }
    }
}

impl Emit for Spread {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let kind = self.kind.emit(k);
        let domains = list(&self.domains, k);
        quote!(#k::Spread { kind: #kind, domains: #domains })
    }
}

impl Emit for Domain {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let name = self.name.emit(k);
        let count = option(self.count.as_ref(), k);
        quote!(#k::Domain { name: #name, count: #count })
    }
}

impl Emit for Addressing {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            Addressing::Dhcp => quote!(#k::Addressing::Dhcp),
            Addressing::Range { first, last } => {
                let (first, last) = (first.emit(k), last.emit(k));
                quote!(#k::Addressing::Range { first: #first, last: #last })
            }
            Addressing::List(items) => {
                let items = list(items, k);
                quote!(#k::Addressing::List(#items))
            }
        }
    }
}

impl Emit for Hostnames {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            Hostnames::Default => quote!(#k::Hostnames::Default),
            Hostnames::Pattern(p) => {
                let p = p.emit(k);
                quote!(#k::Hostnames::Pattern(#p))
            }
            Hostnames::List(items) => {
                let items = list(items, k);
                quote!(#k::Hostnames::List(#items))
            }
        }
    }
}

impl Emit for RebootWindow {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let day = option(self.day.as_ref(), k);
        let start = self.start_minute;
        let length = self.length_secs;
        quote!(#k::RebootWindow { day: #day, start_minute: #start, length_secs: #length })
    }
}

impl Emit for Windows {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            Windows::Any => quote!(#k::Windows::Any),
            Windows::All(w) => {
                let w = w.emit(k);
                quote!(#k::Windows::All(#w))
            }
            Windows::PerDomain(items) => {
                let items = list(items, k);
                quote!(#k::Windows::PerDomain(#items))
            }
        }
    }
}

impl Emit for Boot {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            Boot::Disk => quote!(#k::Boot::Disk),
            Boot::Pxe { url } => {
                let url = option(url.as_ref(), k);
                quote!(#k::Boot::Pxe { url: #url })
            }
        }
    }
}

impl Emit for Network {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let subnet = self.subnet.addr.emit(k);
        let prefix = self.subnet.prefix;
        let gateway = option(self.gateway.as_ref(), k);
        let dns = list(&self.dns, k);
        let interface = self.interface.emit(k);
        quote! {
            #k::Network {
                subnet: #k::Ipv4Net::new(#subnet, #prefix),
                gateway: #gateway,
                dns: #dns,
                interface: #interface,
            }
        }
    }
}

impl Emit for Unit {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let name = self.name.emit(k);
        let body = self.body.emit(k);
        let global = self.global;
        let machine_metadata = list(&self.machine_metadata, k);
        let conflicts = list(&self.conflicts, k);
        let machine_of = option(self.machine_of.as_ref(), k);
        let machine_id = option(self.machine_id.as_ref(), k);
        let replaces = list(&self.replaces, k);
        quote! {
            #k::Unit {
                name: #name,
                body: #body,
                global: #global,
                machine_metadata: #machine_metadata,
                conflicts: #conflicts,
                machine_of: #machine_of,
                machine_id: #machine_id,
                replaces: #replaces,
            }
        }
    }
}

impl Emit for UnitBody {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        match self {
            UnitBody::Inline(t) => {
                let t = t.emit(k);
                quote!(#k::UnitBody::Inline(#t))
            }
            // The text is included from the file, not copied, so cargo rebuilds when it changes.
            UnitBody::File { path, .. } => {
                let p = path.emit(k);
                let relative = format!("/{path}");
                quote! {
                    #k::UnitBody::File {
                        path: #p,
                        text: #k::__private::Cow::Borrowed(::core::include_str!(::core::concat!(::core::env!("CARGO_MANIFEST_DIR"), #relative))),
                    }
                }
            }
        }
    }
}

impl Emit for Requirement {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let key = self.key.emit(k);
        let values = list(&self.values, k);
        quote!(#k::Requirement { key: #key, values: #values })
    }
}

impl Emit for Allow {
    fn emit(&self, k: &TokenStream) -> TokenStream {
        let rule = self.rule.emit(k);
        let reason = self.reason.emit(k);
        quote!(#k::Allow { rule: #rule, reason: #reason })
    }
}
