//! The block grammar: top-level entries, group specifications and their options, the network,
//! TLS and Kubernetes blocks (units and host configuration are `units`'). Values inside them
//! are parsed by [`super::values`].

use clusterdef_model::DomainKind;
use clusterdef_model::Layout;
use clusterdef_model::suggest::closest;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitBool, LitStr, Token};

use crate::ast::*;
use crate::symbol::*;

use super::Grammar;
use super::recovery::*;
use super::values::*;

impl Grammar<'_, '_> {
    pub(super) fn entry(&mut self, input: ParseStream) -> syn::Result<Entry> {
        if !input.peek(Ident::peek_any) {
            return Err(with_help(
                input.span(),
                "expected a key such as `central`, `workers` or `unit`",
                format!("the keys are {}", TOP_KEYS.join(", ")),
            ));
        }
        let key = Ident::parse_any(input)?;
        let name = key.unraw().to_string();
        let kind = match name.as_str() {
            "name" => {
                colon(input, &key)?;
                EntryKind::Name(name_value(input, &key)?)
            }
            "production" => {
                colon(input, &key)?;
                if at_item_end(input) {
                    return Err(missing_value(input, &key, "`true` or `false`"));
                }
                let b: LitBool = input.parse().map_err(|_| input.error("expected `true` or `false`"))?;
                EntryKind::Production(Spanned::new(b.value, SpanRange::single(b.span)))
            }
            "etcd" => {
                colon(input, &key)?;
                EntryKind::Etcd(etcd_release(input, &key)?)
            }
            "os" => {
                colon(input, &key)?;
                EntryKind::Os(os(input, &key)?)
            }
            "channel" => {
                colon(input, &key)?;
                EntryKind::Channel(channel(input, &key)?)
            }
            "ssh_keys" => {
                colon(input, &key)?;
                EntryKind::SshKeys(self.string_list(input, &key, "SSH keys")?)
            }
            "network" => {
                colon(input, &key)?;
                EntryKind::Network(self.network(input, &key)?)
            }
            "bootstrap" => {
                colon(input, &key)?;
                EntryKind::Bootstrap(bootstrap(input, &key)?)
            }
            "boot_server" => {
                colon(input, &key)?;
                let kind = if input.peek(Ident) {
                    let word: Ident = input.parse()?;
                    if word != "matchbox" {
                        return Err(syn::Error::new(
                            word.span(),
                            "expected the boot server's base URL, or `matchbox` and its URL (`boot_server: matchbox \"http://10.0.0.2:8080\"`)",
                        ));
                    }
                    Some(SpanRange::single(word.span()))
                } else {
                    None
                };
                EntryKind::BootServer(
                    kind,
                    string(input, &key, "the boot server's base URL, e.g. \"http://10.0.0.2:8080\"")?,
                )
            }
            "tls" => {
                colon(input, &key)?;
                EntryKind::Tls(self.tls(input, &key)?)
            }
            "central" | "machines" | "workers" => {
                colon(input, &key)?;
                let spec = self.group_spec(input, &key)?;
                match name.as_str() {
                    "workers" => EntryKind::Workers(spec),
                    "machines" => EntryKind::Members(Layout::Small, spec),
                    _ => EntryKind::Members(Layout::CentralServices, spec),
                }
            }
            "etcd_node" => {
                colon(input, &key)?;
                let address = address(input, &key)?;
                let options =
                    if input.peek(syn::token::Brace) { self.group_options(input)? } else { GroupOptions::default() };
                EntryKind::EtcdNode(address, options)
            }
            "pool" => {
                if at_item_end(input) || input.peek(Token![:]) {
                    return Err(input.error("expected the pool's name after `pool`, e.g. `pool db: 3`"));
                }
                let pool_name = name_value(input, &key)?;
                colon(input, &key)?;
                EntryKind::Pool(pool_name, self.group_spec(input, &key)?)
            }
            "unit" => EntryKind::Unit(self.unit(input, &key)?),
            "host" => {
                colon(input, &key)?;
                EntryKind::Host(self.host(input, &key)?)
            }
            "kubernetes" => {
                colon(input, &key)?;
                EntryKind::Kubernetes(self.kubernetes(input, &key)?)
            }
            "allow" => {
                let (rule, reason) = allow_entry(input)?;
                EntryKind::Allow(rule, reason)
            }
            _ => return Err(unknown_key(&key, TOP_KEYS, "a cluster")),
        };
        Ok(Entry { key, kind })
    }

    /// One item, or `[item, …]`: the one form of every list the language has.
    pub(super) fn one_or_list<T>(
        &mut self,
        input: ParseStream,
        key: &Ident,
        what: &str,
        item: impl Fn(ParseStream, &Ident) -> syn::Result<T>,
    ) -> syn::Result<Vec<T>> {
        if at_item_end(input) {
            return Err(missing_value(input, key, &format!("a list of {what}, e.g. `[\"…\"]`")));
        }
        if !input.peek(syn::token::Bracket) && input.peek(LitStr) {
            return Ok(vec![item(input, key)?]);
        }
        let content = open_brackets(input, &format!("a list of {what}"))?;
        let mut out = Vec::new();
        self.comma_list(&content, what, |_, input| {
            out.push(item(input, key)?);
            Ok(())
        });
        Ok(out)
    }

    pub(super) fn string_list(
        &mut self,
        input: ParseStream,
        key: &Ident,
        what: &str,
    ) -> syn::Result<Vec<Spanned<String>>> {
        self.one_or_list(input, key, what, |input, key| string(input, key, what))
    }

    fn network(&mut self, input: ParseStream, key: &Ident) -> syn::Result<NetworkAst> {
        if at_item_end(input) {
            return Err(missing_value(
                input,
                key,
                "`{ subnet: \"10.0.0.0/24\", gateway: \"10.0.0.1\", dns: [\"10.0.0.1\"] }`",
            ));
        }
        let start = input.span();
        let content = open_braces(input, "the network")?;
        let mut net = NetworkAst { span: Some(SpanRange::single(start)), ..NetworkAst::default() };
        let mut seen_kinds = Vec::new();
        self.comma_list(&content, "network settings", |p, input| {
            let key = Ident::parse_any(input)?;
            colon(input, &key)?;
            match key.unraw().to_string().as_str() {
                "subnet" => {
                    let s = subnet(input, &key)?;
                    set_once(&mut net.subnet, &key, s)
                }
                word @ ("zones" | "cabinets") => {
                    let kind = if word == "zones" { DomainKind::Zone } else { DomainKind::Cabinet };
                    if seen_kinds.contains(&kind) {
                        return Err(duplicate(&key));
                    }
                    seen_kinds.push(kind);
                    let content = open_braces(input, "the networks of failure domains")?;
                    p.comma_list(&content, "failure domains", |p, input| {
                        let name = name_value(input, &key)?;
                        colon(input, &key)?;
                        let body = open_braces(input, "a failure domain's network")?;
                        let mut domain = DomainNetworkAst { kind, name, subnet: None, gateway: None };
                        p.comma_list(&body, "network settings", |_, input| {
                            let key = Ident::parse_any(input)?;
                            colon(input, &key)?;
                            match key.unraw().to_string().as_str() {
                                "subnet" => {
                                    let s = subnet(input, &key)?;
                                    set_once(&mut domain.subnet, &key, s)
                                }
                                "gateway" => {
                                    let a = address(input, &key)?;
                                    set_once(&mut domain.gateway, &key, a)
                                }
                                _ => Err(unknown_key(&key, DOMAIN_NETWORK_KEYS, "a failure domain's network")),
                            }
                        });
                        if domain.subnet.is_none() {
                            return Err(domain.name.span.error(help_text(
                                format!("the network of `{}` needs a `subnet`", domain.name.value),
                                "write `{ subnet: \"10.0.0.0/24\", gateway: \"10.0.0.1\" }`",
                            )));
                        }
                        net.domains.push(domain);
                        Ok(())
                    });
                    Ok(())
                }
                "gateway" => {
                    let a = address(input, &key)?;
                    set_once(&mut net.gateway, &key, a)
                }
                "dns" => {
                    net.dns = p.one_or_list(input, &key, "DNS servers", address)?;
                    Ok(())
                }
                "interface" => {
                    let s = string(input, &key, "an interface name such as \"eth0\"")?;
                    set_once(&mut net.interface, &key, s)
                }
                _ => Err(unknown_key(&key, NETWORK_KEYS, "`network`")),
            }
        });
        Ok(net)
    }

    fn tls(&mut self, input: ParseStream, key: &Ident) -> syn::Result<Spanned<[Spanned<String>; 3]>> {
        const EXAMPLE: &str = "`{ ca: \"/etc/ssl/etcd/ca.pem\", cert: \"/etc/ssl/etcd/server.pem\", key: \"/etc/ssl/etcd/server-key.pem\" }`";
        if at_item_end(input) {
            return Err(missing_value(input, key, EXAMPLE));
        }
        let span = SpanRange::single(input.span());
        let content = open_braces(input, "the TLS files")?;
        let (mut ca, mut cert, mut tls_key) = (None, None, None);
        self.comma_list(&content, "TLS files", |_, input| {
            let k = Ident::parse_any(input)?;
            colon(input, &k)?;
            let value = string(input, &k, "an absolute path")?;
            match k.unraw().to_string().as_str() {
                "ca" => set_once(&mut ca, &k, value),
                "cert" => set_once(&mut cert, &k, value),
                "key" => set_once(&mut tls_key, &k, value),
                _ => Err(unknown_key(&k, TLS_KEYS, "`tls`")),
            }
        });
        match (ca, cert, tls_key) {
            (Some(ca), Some(cert), Some(k)) => Ok(Spanned::new([ca, cert, k], SpanRange::single(key.span()).to(span))),
            _ => Err(with_help(key.span(), "`tls` needs `ca`, `cert` and `key`", format!("write {EXAMPLE}"))),
        }
    }

    /// `{ version: "v1.36.3", services: "…", pods: "…", cni: flannel, eviction_after: 300 }`.
    fn kubernetes(&mut self, input: ParseStream, key: &Ident) -> syn::Result<KubernetesAst> {
        const EXAMPLE: &str = "`{ version: \"v1.36.3\" }`";
        if at_item_end(input) {
            return Err(missing_value(input, key, EXAMPLE));
        }
        let span = SpanRange::single(input.span());
        let content = open_braces(input, "the Kubernetes settings")?;
        let (mut version, mut services, mut pods, mut network, mut eviction) = (None, None, None, None, None);
        self.comma_list(&content, "Kubernetes settings", |_, input| {
            let k = Ident::parse_any(input)?;
            colon(input, &k)?;
            match k.unraw().to_string().as_str() {
                "version" => {
                    let v = string(input, &k, "a release such as \"v1.36.3\"")?;
                    set_once(&mut version, &k, v)
                }
                "services" => {
                    let n = subnet(input, &k)?;
                    set_once(&mut services, &k, n)
                }
                "pods" => {
                    let n = subnet(input, &k)?;
                    set_once(&mut pods, &k, n)
                }
                "cni" => {
                    let c = cni(input, &k)?;
                    set_once(&mut network, &k, c)
                }
                "eviction_after" => {
                    let n = seconds(input, &k)?;
                    set_once(&mut eviction, &k, n)
                }
                _ => Err(unknown_key(&k, KUBERNETES_KEYS, "`kubernetes`")),
            }
        });
        let Some(version) = version else {
            return Err(with_help(key.span(), "`kubernetes` needs a `version`", format!("write {EXAMPLE}")));
        };
        Ok(KubernetesAst {
            span: SpanRange::single(key.span()).to(span),
            version,
            services,
            pods,
            cni: network,
            eviction_seconds: eviction,
        })
    }

    fn group_spec(&mut self, input: ParseStream, key: &Ident) -> syn::Result<GroupSpec> {
        let start = SpanRange::single(key.span());
        let size = size(input, key)?;
        let mut end = size.span();
        let spread = if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "across") {
            let s = self.spread(input)?;
            end = s.span;
            Some(s)
        } else {
            None
        };
        let options = if input.peek(syn::token::Brace) {
            let brace_span = input.span();
            let options = self.group_options(input)?;
            end = SpanRange::single(brace_span);
            options
        } else {
            GroupOptions::default()
        };
        if !at_item_end(input) {
            return Err(with_help(
                input.span(),
                "unexpected token after the machine count",
                "a group is written `COUNT [across cabinets [a, b, c]] [{ options }]`",
            ));
        }
        Ok(GroupSpec { span: start.to(end), size, spread, options })
    }

    fn spread(&mut self, input: ParseStream) -> syn::Result<SpreadAst> {
        let across: Ident = input.parse()?;
        if at_item_end(input) || !input.peek(Ident) {
            return Err(input.error("expected `cabinets` or `zones` after `across`"));
        }
        let kind_ident: Ident = input.parse()?;
        let kind = match kind_ident.to_string().as_str() {
            "cabinets" => DomainKind::Cabinet,
            "zones" => DomainKind::Zone,
            other => {
                let hint = closest(other, DOMAIN_KINDS.iter().copied())
                    .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
                return Err(syn::Error::new(
                    kind_ident.span(),
                    format!("expected `cabinets` or `zones`, found `{other}`{hint}"),
                ));
            }
        };
        let list_span = input.span();
        let content = open_brackets(input, &format!("the list of {}", kind.plural()))?;
        let mut domains = Vec::new();
        self.comma_list(&content, kind.plural(), |_, input| {
            let name = name_value(input, &kind_ident)?;
            let count = if input.peek(Token![:]) {
                input.parse::<Token![:]>()?;
                Some(count(input, &kind_ident)?)
            } else {
                None
            };
            domains.push((name, count));
            Ok(())
        });
        Ok(SpreadAst { span: SpanRange::single(across.span()).to(SpanRange::single(list_span)), kind, domains })
    }

    fn group_options(&mut self, input: ParseStream) -> syn::Result<GroupOptions> {
        let content = open_braces(input, "a group's options")?;
        let mut o = GroupOptions::default();
        self.comma_list(&content, "options", |p, input| {
            let key = Ident::parse_any(input)?;
            colon(input, &key)?;
            let start = SpanRange::single(key.span());
            match key.unraw().to_string().as_str() {
                "addresses" => {
                    let a = addresses(input, &key, p)?;
                    set_once(&mut o.addresses, &key, a)
                }
                "hostnames" => {
                    let h = p.hostnames(input, &key)?;
                    set_once(&mut o.hostnames, &key, h)
                }
                "channel" => {
                    let c = channel(input, &key)?;
                    set_once(&mut o.channel, &key, c)
                }
                "metadata" => {
                    if !o.metadata.is_empty() {
                        return Err(duplicate(&key));
                    }
                    let content = open_braces(input, "fleet metadata")?;
                    p.comma_list(&content, "metadata entries", |_, input| {
                        let k = name_value(input, &key)?;
                        if !input.peek(Token![=]) {
                            return Err(input
                                .error(format!("expected `=` after metadata key `{}`, e.g. `disk = ssd`", k.value)));
                        }
                        input.parse::<Token![=]>()?;
                        let v = name_value(input, &key)?;
                        o.metadata.push((k, v));
                        Ok(())
                    });
                    Ok(())
                }
                "role" => {
                    let r = name_value(input, &key)?;
                    set_once(&mut o.role, &key, r)
                }
                "reboot" => {
                    let r = reboot(input, &key)?;
                    set_once(&mut o.reboot, &key, r)
                }
                "window" => {
                    let w = p.windows(input, &key, start)?;
                    set_once(&mut o.window, &key, w)
                }
                "ssh_keys" => {
                    o.ssh_keys = p.string_list(input, &key, "SSH keys")?;
                    Ok(())
                }
                "boot" => {
                    let b = boot(input, &key)?;
                    set_once(&mut o.boot, &key, b)
                }
                "inventory" => {
                    let i = p.inventory(input, &key)?;
                    set_once(&mut o.inventory, &key, i)
                }
                "install_disk" => {
                    let d = string(input, &key, "the disk to install Flatcar to, e.g. \"/dev/vda\"")?;
                    set_once(&mut o.install_disk, &key, d)
                }
                "macs" => {
                    let span = SpanRange::single(input.span());
                    let macs = p.string_list(input, &key, "MAC addresses, one per machine")?;
                    let span = macs.last().map_or(span, |last| span.to(last.span));
                    set_once(&mut o.macs, &key, Spanned::new(macs, span))
                }
                "host" => {
                    let h = p.host(input, &key)?;
                    set_once(&mut o.host, &key, h)
                }
                "host_in" => {
                    if !o.host_in.is_empty() {
                        return Err(duplicate(&key));
                    }
                    let content = open_braces(input, "host configuration by failure domain")?;
                    p.comma_list(&content, "failure domains", |p, input| {
                        let domain = name_value(input, &key)?;
                        colon(input, &key)?;
                        let host = p.host(input, &key)?;
                        o.host_in.push((domain, host));
                        Ok(())
                    });
                    Ok(())
                }
                _ => Err(unknown_key(&key, GROUP_KEYS, "a group's options")),
            }
        });
        Ok(o)
    }

    /// `{ "52:54:00:12:34:01": DOMAIN, … }` for a spread pool, or `["52:54:00:12:34:01", …]`.
    fn inventory(&mut self, input: ParseStream, key: &Ident) -> syn::Result<Spanned<Vec<InventoryAst>>> {
        if at_item_end(input) {
            return Err(missing_value(
                input,
                key,
                "`{ \"52:54:00:12:34:01\": \"us-east-1a\", … }` or `[\"52:54:00:12:34:01\", …]`",
            ));
        }
        let span = SpanRange::single(input.span());
        let mut entries = Vec::new();
        if input.peek(syn::token::Brace) {
            let content = open_braces(input, "an inventory of MAC addresses and domains")?;
            self.comma_list(&content, "machines", |_, input| {
                let mac = string(input, key, "a MAC address such as \"52:54:00:12:34:01\"")?;
                colon(input, key)?;
                let domain = name_value(input, key)?;
                entries.push((mac, Some(domain)));
                Ok(())
            });
        } else {
            for mac in self.string_list(input, key, "MAC addresses")? {
                entries.push((mac, None));
            }
        }
        Ok(Spanned::new(entries, span))
    }

    fn hostnames(&mut self, input: ParseStream, key: &Ident) -> syn::Result<Spanned<HostnamesAst>> {
        if at_item_end(input) {
            return Err(missing_value(input, key, "a pattern such as \"central-{n}\" or a list `[a, b, c]`"));
        }
        if input.peek(LitStr) {
            let lit: LitStr = input.parse()?;
            let pattern = lit.value();
            check_placeholders(&pattern).map_err(|e| syn::Error::new(lit.span(), e))?;
            return Ok(Spanned::new(HostnamesAst::Pattern(pattern), SpanRange::single(lit.span())));
        }
        let span = input.span();
        let content = open_brackets(input, "a list of hostnames")?;
        let mut names = Vec::new();
        self.comma_list(&content, "hostnames", |_, input| {
            names.push(name_value(input, key)?);
            Ok(())
        });
        Ok(Spanned::new(HostnamesAst::List(names), SpanRange::single(span)))
    }

    fn windows(&mut self, input: ParseStream, key: &Ident, start: SpanRange) -> syn::Result<Spanned<WindowsAst>> {
        if at_item_end(input) {
            return Err(missing_value(
                input,
                key,
                "`\"Thu 04:00\" for \"1h\"` or `{ a: \"Mon 04:00\" for \"1h\", … }`",
            ));
        }
        if input.peek(syn::token::Brace) {
            let span = input.span();
            let content = open_braces(input, "per-domain reboot windows")?;
            let mut windows = Vec::new();
            self.comma_list(&content, "windows", |_, input| {
                let domain = name_value(input, key)?;
                colon(input, key)?;
                let w = window(input, key)?;
                windows.push((domain, w));
                Ok(())
            });
            return Ok(Spanned::new(WindowsAst::PerDomain(windows), SpanRange::single(span)));
        }
        let w = window(input, key)?;
        Ok(Spanned::new(WindowsAst::All(w.value), start.to(w.span)))
    }
}
