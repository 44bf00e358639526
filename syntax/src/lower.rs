//! Lowering the syntax tree to the typed model, remembering where each part came from.

use std::borrow::Cow;
use std::collections::HashMap;

use clusterdef_model::{
    Addressing, Allow, Boot, BootServerKind, Bootstrap, Cluster, Domain, DomainNetwork, DropIn, Group, GroupPart,
    GroupRef, HostConfig, HostFile, HostPart, HostScope, HostUnit, Hostnames, InventoryEntry, KubernetesPart, Layout,
    Network, NetworkPart, Requirement, Size, Spread, Subject, Tls, Unit, UnitBody, UnitPart, Windows,
};
use proc_macro2::Span;

use crate::ast::*;
use crate::parse::{help_text, with_help};

/// Where each part of a lowered cluster was written.
#[derive(Clone, Debug, Default)]
pub struct SpanMap {
    spans: HashMap<Subject, SpanRange>,
    /// The whole invocation, for errors about something missing.
    pub call_site: Option<SpanRange>,
}

impl SpanMap {
    fn set(&mut self, subject: Subject, span: SpanRange) {
        self.spans.insert(subject, span);
    }

    /// The source range of `subject`, or of its nearest enclosing part that has one.
    pub fn span(&self, subject: Subject) -> SpanRange {
        let mut current = Some(subject);
        while let Some(s) = current {
            if let Some(span) = self.spans.get(&s) {
                return *span;
            }
            current = s.parent();
        }
        self.call_site.unwrap_or_else(|| SpanRange::single(Span::call_site()))
    }
}

fn text(s: &str) -> Cow<'static, str> {
    Cow::Owned(s.to_string())
}

/// Builds the model from the syntax tree. Structural problems the model cannot represent (a
/// missing or doubled etcd declaration, a repeated key) are returned as errors; everything the
/// model can represent is left for the rules to judge.
///
/// When `recovering` is set, parsing already failed and left parts out, so errors about
/// something missing are not reported: they would only echo the syntax errors.
pub fn lower(
    ast: &ClusterAst,
    call_site: SpanRange,
    recovering: bool,
) -> (Option<(Cluster, SpanMap)>, Vec<syn::Error>) {
    let mut errors = Vec::new();
    let mut spans = SpanMap { call_site: Some(call_site), ..SpanMap::default() };
    let mut members: Option<(Layout, &Entry, MembersDecl<'_>)> = None;
    let mut cluster = Cluster::placeholder();
    cluster.name = Cow::Borrowed("cluster");
    let mut bootstrap = None;
    let mut pools = Vec::new();
    let mut units = Vec::new();
    let mut allows = Vec::new();
    let mut ssh_keys = Vec::new();

    for entry in &ast.entries {
        match &entry.kind {
            EntryKind::Name(n) => {
                cluster.name = text(&n.value);
                spans.set(Subject::Name, n.span);
            }
            EntryKind::Production(p) => {
                cluster.production = p.value;
                spans.set(Subject::Production, SpanRange::single(entry.key.span()).to(p.span));
            }
            EntryKind::Etcd(r) => {
                cluster.etcd_release = r.value;
                spans.set(Subject::EtcdRelease, SpanRange::single(entry.key.span()).to(r.span));
            }
            EntryKind::Os(os) => {
                cluster.os = os.value;
                spans.set(Subject::Os, os.span);
            }
            EntryKind::Channel(c) => {
                cluster.channel = c.value;
                spans.set(Subject::Channel, c.span);
            }
            EntryKind::SshKeys(keys) => {
                for key in keys {
                    spans.set(Subject::SshKey(ssh_keys.len()), key.span);
                    ssh_keys.push(text(&key.value));
                }
            }
            EntryKind::Network(net) => {
                let Some(subnet) = &net.subnet else {
                    if !recovering {
                        errors.push(with_help(
                            entry.key.span(),
                            "`network` needs a `subnet`",
                            "add `subnet: \"10.0.0.0/24\"`",
                        ));
                    }
                    continue;
                };
                cluster.network = Some(Network {
                    subnet: subnet.value,
                    gateway: net.gateway.as_ref().map(|g| g.value),
                    dns: Cow::Owned(net.dns.iter().map(|d| d.value).collect()),
                    interface: net
                        .interface
                        .as_ref()
                        .map_or(Cow::Borrowed(Network::DEFAULT_INTERFACE), |i| text(&i.value)),
                    domains: Cow::Owned(
                        net.domains
                            .iter()
                            .filter_map(|d| {
                                Some(DomainNetwork {
                                    kind: d.kind,
                                    name: text(&d.name.value),
                                    subnet: d.subnet.as_ref()?.value,
                                    gateway: d.gateway.as_ref().map(|g| g.value),
                                })
                            })
                            .collect(),
                    ),
                });
                for (i, d) in net.domains.iter().filter(|d| d.subnet.is_some()).enumerate() {
                    spans.set(Subject::Network(NetworkPart::Domain(i)), d.name.span);
                    if let Some(s) = &d.subnet {
                        spans.set(Subject::Network(NetworkPart::DomainSubnet(i)), s.span);
                    }
                    if let Some(g) = &d.gateway {
                        spans.set(Subject::Network(NetworkPart::DomainGateway(i)), g.span);
                    }
                }
                spans.set(Subject::Network(NetworkPart::Whole), SpanRange::single(entry.key.span()));
                spans.set(Subject::Network(NetworkPart::Subnet), subnet.span);
                if let Some(g) = &net.gateway {
                    spans.set(Subject::Network(NetworkPart::Gateway), g.span);
                }
                if let Some(i) = &net.interface {
                    spans.set(Subject::Network(NetworkPart::Interface), i.span);
                }
            }
            EntryKind::Bootstrap(b) => {
                bootstrap = Some(match &b.value {
                    BootstrapAst::Static => Bootstrap::Static,
                    BootstrapAst::Discovery(url) => Bootstrap::Discovery(url.as_ref().map(|u| text(&u.value))),
                });
                spans.set(Subject::Bootstrap, b.span);
            }
            EntryKind::Tls(files) => {
                let [ca, cert, key] = &files.value;
                cluster.tls = Some(Tls { ca: text(&ca.value), cert: text(&cert.value), key: text(&key.value) });
                spans.set(Subject::Tls, files.span);
                for (i, file) in files.value.iter().enumerate() {
                    spans.set(Subject::TlsFile(i), file.span);
                }
            }
            EntryKind::Kubernetes(k) => {
                let mut settings = clusterdef_model::Kubernetes::new(text(&k.version.value));
                if let Some(n) = &k.services {
                    settings.services = n.value;
                }
                if let Some(n) = &k.pods {
                    settings.pods = n.value;
                }
                if let Some(c) = &k.cni {
                    settings.cni = c.value;
                }
                if let Some(n) = &k.eviction_seconds {
                    settings.eviction_seconds = n.value;
                }
                cluster.kubernetes = Some(settings);
                spans.set(Subject::Kubernetes(KubernetesPart::Whole), k.span);
                spans.set(Subject::Kubernetes(KubernetesPart::Version), k.version.span);
                if let Some(n) = &k.services {
                    spans.set(Subject::Kubernetes(KubernetesPart::Services), n.span);
                }
                if let Some(n) = &k.pods {
                    spans.set(Subject::Kubernetes(KubernetesPart::Pods), n.span);
                }
                if let Some(c) = &k.cni {
                    spans.set(Subject::Kubernetes(KubernetesPart::Cni), c.span);
                }
            }
            EntryKind::BootServer(kind, url) => {
                cluster.boot_server = Some(text(&url.value));
                spans.set(Subject::BootServer, url.span);
                if let Some(kind) = kind {
                    cluster.boot_server_kind = BootServerKind::Matchbox;
                    spans.set(Subject::BootServerKind, *kind);
                }
            }
            EntryKind::Members(..) | EntryKind::EtcdNode(..) => {
                let (layout, decl) = match &entry.kind {
                    EntryKind::EtcdNode(address, options) => (Layout::DevTest, MembersDecl::Node(address, options)),
                    EntryKind::Members(layout, spec) => (*layout, MembersDecl::Spec(spec)),
                    _ => continue,
                };
                if let Some((_, first, _)) = members {
                    errors.push(with_help(
                        entry.key.span(),
                        format!("etcd members are declared once, and `{}` already declares them", first.key),
                        "keep one of them: `machines:` for a small cluster, `etcd_node:` for dev/test, or `central:` for central services",
                    ));
                    continue;
                }
                members = Some((layout, entry, decl));
            }
            EntryKind::Workers(spec) => {
                let index = pools.len();
                let group = lower_group(spec, "worker", "worker", GroupRef::Pool(index), &mut spans, entry);
                pools.push(group);
            }
            EntryKind::Pool(name, spec) => {
                let index = pools.len();
                let g = GroupRef::Pool(index);
                let group = lower_group(spec, &name.value, "worker", g, &mut spans, entry);
                spans.set(Subject::Group(g, GroupPart::Name), name.span);
                pools.push(group);
            }
            EntryKind::Unit(u) => {
                // A unit that names an image runs it as a pod: it needs no body.
                if u.body.is_none() && u.image.is_none() && !recovering {
                    errors.push(u.name.span.error(help_text(
                        format!("unit `{}` has no body", u.name.value),
                        format!(
                            "add `body: \"[Service]\\nExecStart=...\"` or `body: file \"units/{}\"` (or, on Kubernetes, `image: \"…\"`)",
                            u.name.value
                        ),
                    )));
                }
                let index = units.len();
                units.push(lower_unit(u, index, &mut spans));
            }
            EntryKind::Allow(rule, reason) => allows.push(Allow { rule: rule.value, reason: text(&reason.value) }),
            // A second `host` entry is a duplicate key, reported by the parser.
            EntryKind::Host(h) => cluster.host = lower_host(h, HostScope::Cluster, &mut spans),
        }
    }

    let Some((layout, entry, decl)) = members else {
        if recovering {
            return (None, errors);
        }
        errors.push(call_site.error(help_text(
            "a cluster needs etcd members",
            "add `central: 3 across cabinets [a, b, c]` (central services), `machines: 5` (small cluster) or `etcd_node: \"10.0.0.101\"` (dev/test)",
        )));
        return (None, errors);
    };
    cluster.layout = layout;
    let role = layout.default_role();
    cluster.members = match decl {
        MembersDecl::Spec(spec) => lower_group(spec, role, role, GroupRef::Members, &mut spans, entry),
        MembersDecl::Node(address, options) => {
            let span = SpanRange::single(entry.key.span()).to(address.span);
            let spec =
                GroupSpec { span, size: SizeAst::Fixed(Spanned::new(1, span)), spread: None, options: options.clone() };
            let mut group = lower_group(&spec, role, role, GroupRef::Members, &mut spans, entry);
            group.addressing = Addressing::List(Cow::Owned(vec![address.value]));
            spans.set(Subject::Group(GroupRef::Members, GroupPart::Addresses), address.span);
            group
        }
    };
    if bootstrap.is_none() {
        // The bootstrap follows from how the members are declared; point there.
        spans.set(Subject::Bootstrap, spans.span(Subject::Group(GroupRef::Members, GroupPart::Whole)));
    }
    cluster.bootstrap = bootstrap.unwrap_or_else(|| {
        if cluster.members.addressing.is_static() { Bootstrap::Static } else { Bootstrap::Discovery(None) }
    });
    cluster.pools = Cow::Owned(pools);
    cluster.units = Cow::Owned(units);
    cluster.allows = Cow::Owned(allows);
    cluster.ssh_keys = Cow::Owned(ssh_keys);
    (Some((cluster, spans)), errors)
}

/// How the etcd members were declared: a group specification, or the dev/test node's address.
#[derive(Clone, Copy)]
enum MembersDecl<'a> {
    Spec(&'a GroupSpec),
    Node(&'a Spanned<std::net::Ipv4Addr>, &'a GroupOptions),
}

fn lower_group(spec: &GroupSpec, name: &str, role: &str, g: GroupRef, spans: &mut SpanMap, entry: &Entry) -> Group {
    let at = |part| Subject::Group(g, part);
    let o = &spec.options;
    let size = match &spec.size {
        SizeAst::Fixed(n) => Size::Fixed(n.value),
        SizeAst::Autoscale { min, max, .. } => {
            if let Some(m) = min {
                spans.set(at(GroupPart::Min), m.span);
            }
            if let Some(m) = max {
                spans.set(at(GroupPart::Max), m.span);
            }
            Size::Autoscale { min: min.as_ref().map(|m| m.value), max: max.as_ref().map(|m| m.value) }
        }
    };
    spans.set(at(GroupPart::Whole), spec.span);
    spans.set(at(GroupPart::Name), SpanRange::single(entry.key.span()));
    spans.set(at(GroupPart::Size), spec.size.span());
    let mut group = Group::new(text(name), text(o.role.as_ref().map_or(role, |r| &r.value)), size);
    if let Some(r) = &o.role {
        spans.set(at(GroupPart::Role), r.span);
    }
    if let Some(spread) = &spec.spread {
        spans.set(at(GroupPart::Spread), spread.span);
        let mut domains = Vec::new();
        for (i, (domain, count)) in spread.domains.iter().enumerate() {
            spans.set(at(GroupPart::Domain(i)), domain.span);
            if let Some(c) = count {
                spans.set(at(GroupPart::DomainCount(i)), c.span);
            }
            domains.push(Domain { name: text(&domain.value), count: count.as_ref().map(|c| c.value) });
        }
        group.spread = Some(Spread { kind: spread.kind, domains: Cow::Owned(domains) });
    }
    if let Some(a) = &o.addresses {
        spans.set(at(GroupPart::Addresses), a.span);
        group.addressing = match &a.value {
            AddressesAst::Dhcp => Addressing::Dhcp,
            AddressesAst::Range(first, last) => Addressing::Range { first: first.value, last: last.value },
            AddressesAst::List(list) => {
                for (i, item) in list.iter().enumerate() {
                    spans.set(at(GroupPart::Address(i)), item.span);
                }
                Addressing::List(Cow::Owned(list.iter().map(|a| a.value).collect()))
            }
        };
    }
    if let Some(h) = &o.hostnames {
        spans.set(at(GroupPart::Hostnames), h.span);
        group.hostnames = match &h.value {
            HostnamesAst::Pattern(p) => Hostnames::Pattern(text(p)),
            HostnamesAst::List(list) => {
                for (i, item) in list.iter().enumerate() {
                    spans.set(at(GroupPart::Hostname(i)), item.span);
                }
                Hostnames::List(Cow::Owned(list.iter().map(|h| text(&h.value)).collect()))
            }
        };
    }
    if let Some(c) = &o.channel {
        spans.set(at(GroupPart::Channel), c.span);
        group.channel = Some(c.value);
    }
    for (i, (k, v)) in o.metadata.iter().enumerate() {
        spans.set(at(GroupPart::MetadataKey(i)), k.span);
        spans.set(at(GroupPart::MetadataValue(i)), v.span);
    }
    group.metadata = Cow::Owned(o.metadata.iter().map(|(k, v)| (text(&k.value), text(&v.value))).collect());
    if let Some(r) = &o.reboot {
        spans.set(at(GroupPart::Reboot), r.span);
        group.reboot = r.value;
    }
    if let Some(w) = &o.window {
        spans.set(at(GroupPart::Windows), w.span);
        group.windows = match &w.value {
            WindowsAst::All(window) => Windows::All(*window),
            WindowsAst::PerDomain(list) => {
                for (i, (domain, window)) in list.iter().enumerate() {
                    spans.set(at(GroupPart::Window(i)), domain.span.to(window.span));
                }
                Windows::PerDomain(Cow::Owned(list.iter().map(|(d, w)| (text(&d.value), w.value)).collect()))
            }
        };
    }
    for (i, key) in o.ssh_keys.iter().enumerate() {
        spans.set(at(GroupPart::SshKey(i)), key.span);
    }
    group.ssh_keys = Cow::Owned(o.ssh_keys.iter().map(|k| text(&k.value)).collect());
    if let Some(inventory) = &o.inventory {
        spans.set(at(GroupPart::Inventory), inventory.span);
        for (i, (mac, _)) in inventory.value.iter().enumerate() {
            spans.set(at(GroupPart::InventoryEntry(i)), mac.span);
        }
        group.inventory = Cow::Owned(
            inventory
                .value
                .iter()
                .map(|(mac, domain)| InventoryEntry {
                    mac: text(&mac.value),
                    domain: domain.as_ref().map(|d| text(&d.value)),
                })
                .collect(),
        );
    }
    if let Some(disk) = &o.install_disk {
        spans.set(at(GroupPart::InstallDisk), disk.span);
        group.install_disk = Some(text(&disk.value));
    }
    if let Some(macs) = &o.macs {
        spans.set(at(GroupPart::Macs), macs.span);
        for (i, mac) in macs.value.iter().enumerate() {
            spans.set(at(GroupPart::Mac(i)), mac.span);
        }
        group.macs = Cow::Owned(macs.value.iter().map(|mac| text(&mac.value)).collect());
    }
    if let Some(h) = &o.host {
        group.host = lower_host(h, HostScope::Group(g), spans);
    }
    group.host_in = Cow::Owned(
        o.host_in
            .iter()
            .enumerate()
            .map(|(i, (domain, h))| {
                let config = lower_host(h, HostScope::Domain(g, i), spans);
                spans.set(Subject::Host(HostScope::Domain(g, i), HostPart::Whole), domain.span);
                (text(&domain.value), config)
            })
            .collect(),
    );
    if let Some(b) = &o.boot {
        spans.set(at(GroupPart::Boot), b.span);
        group.boot = match &b.value {
            BootAst::Disk => Boot::Disk,
            BootAst::Pxe(url) => Boot::Pxe { url: url.as_deref().map(text) },
        };
    }
    group
}

fn lower_unit(u: &UnitAst, index: usize, spans: &mut SpanMap) -> Unit {
    let at = |part| Subject::Unit(index, part);
    spans.set(at(UnitPart::Whole), u.span);
    spans.set(at(UnitPart::Name), u.name.span);
    let body = match &u.body {
        Some(b) => {
            spans.set(at(UnitPart::Body), b.span);
            body_of(&b.value)
        }
        None => UnitBody::Inline(Cow::Borrowed("")),
    };
    let mut unit = Unit::new(text(&u.name.value), body);
    if let Some(g) = u.global {
        spans.set(at(UnitPart::Global), g);
        unit.global = true;
    }
    if let Some(m) = u.metadata {
        spans.set(at(UnitPart::Metadata), m);
    }
    let mut requirements = Vec::new();
    for (i, (key, values)) in u.requirements.iter().enumerate() {
        spans.set(at(UnitPart::Requirement(i)), key.span);
        for (j, v) in values.iter().enumerate() {
            spans.set(at(UnitPart::RequirementValue(i, j)), v.span);
        }
        requirements.push(Requirement {
            key: text(&key.value),
            values: Cow::Owned(values.iter().map(|v| text(&v.value)).collect()),
        });
    }
    unit.machine_metadata = Cow::Owned(requirements);
    for (i, c) in u.conflicts.iter().enumerate() {
        spans.set(at(UnitPart::Conflict(i)), c.span);
    }
    unit.conflicts = Cow::Owned(u.conflicts.iter().map(|c| text(&c.value)).collect());
    for (i, c) in u.replaces.iter().enumerate() {
        spans.set(at(UnitPart::Replace(i)), c.span);
    }
    unit.replaces = Cow::Owned(u.replaces.iter().map(|c| text(&c.value)).collect());
    if let Some(m) = &u.machine_of {
        spans.set(at(UnitPart::MachineOf), m.span);
        unit.machine_of = Some(text(&m.value));
    }
    if let Some(m) = &u.machine_id {
        spans.set(at(UnitPart::MachineId), m.span);
        unit.machine_id = Some(text(&m.value));
    }
    if let Some(n) = &u.instances {
        spans.set(at(UnitPart::Instances), n.span);
        unit.instances = Some(n.value);
    }
    if let Some(image) = &u.image {
        spans.set(at(UnitPart::Image), image.span);
        let mut container = clusterdef_model::Container::new(text(&image.value));
        for (i, c) in u.command.iter().enumerate() {
            spans.set(at(UnitPart::Command(i)), c.span);
        }
        container.command = Cow::Owned(u.command.iter().map(|c| text(&c.value)).collect());
        container.ports = Cow::Owned(u.ports.iter().map(|p| p.value).collect());
        for (i, p) in u.ports.iter().enumerate() {
            spans.set(at(UnitPart::Port(i)), p.span);
        }
        for (i, e) in u.env.iter().enumerate() {
            spans.set(at(UnitPart::Env(i)), e.span);
        }
        container.env = Cow::Owned(u.env.iter().map(|e| text(&e.value)).collect());
        unit.container = Some(container);
    }
    unit
}

/// A body as the model holds it.
fn body_of(b: &BodyAst) -> UnitBody {
    match b {
        BodyAst::Inline(t) => UnitBody::Inline(text(t)),
        BodyAst::File { path, text: t } => UnitBody::File { path: text(path), text: text(t) },
    }
}

/// Host configuration at `scope`, recording a span for each item and each option.
fn lower_host(h: &HostAst, scope: HostScope, spans: &mut SpanMap) -> HostConfig {
    let at = |part| Subject::Host(scope, part);
    spans.set(at(HostPart::Whole), h.span);
    let mut files = Vec::new();
    for (i, f) in h.files.iter().enumerate() {
        spans.set(at(HostPart::File(i)), f.path.span);
        spans.set(at(HostPart::FileContents(i)), f.contents.span);
        if let Some(m) = &f.mode {
            spans.set(at(HostPart::FileMode(i)), m.span);
        }
        if let Some(o) = &f.owner {
            spans.set(at(HostPart::FileOwner(i)), o.span);
        }
        if let Some(g) = &f.group {
            spans.set(at(HostPart::FileGroup(i)), g.span);
        }
        files.push(HostFile {
            path: text(&f.path.value),
            contents: body_of(&f.contents.value),
            mode: f.mode.as_ref().map_or(0o644, |m| m.value),
            owner: f.owner.as_ref().map(|o| o.value.clone()),
            group: f.group.as_ref().map(|g| g.value.clone()),
        });
    }
    let mut units = Vec::new();
    for (i, u) in h.units.iter().enumerate() {
        spans.set(at(HostPart::Unit(i)), u.name.span);
        if let Some(m) = u.mask {
            spans.set(at(HostPart::UnitMask(i)), m);
        }
        if let Some(e) = &u.enable {
            spans.set(at(HostPart::UnitEnable(i)), e.span);
        }
        if let Some(c) = &u.command {
            spans.set(at(HostPart::UnitCommand(i)), c.span);
        }
        units.push(HostUnit {
            name: text(&u.name.value),
            body: u.body.as_ref().map(|b| body_of(&b.value)),
            enable: u.enable.as_ref().map(|e| e.value),
            mask: u.mask.is_some(),
            command: u.command.as_ref().map(|c| c.value),
        });
    }
    let mut dropins = Vec::new();
    for (i, d) in h.dropins.iter().enumerate() {
        spans.set(at(HostPart::DropIn(i)), d.unit.span.to(d.name.span));
        dropins.push(DropIn { unit: text(&d.unit.value), name: text(&d.name.value), body: body_of(&d.body.value) });
    }
    HostConfig { files: Cow::Owned(files), units: Cow::Owned(units), dropins: Cow::Owned(dropins) }
}
