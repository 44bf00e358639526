//! Parsing a `cluster!` body into the spanned syntax tree.
//!
//! The parser recovers: a malformed entry or option is recorded and skipped up to the next
//! comma, so one invocation reports every syntax error at once.

use std::net::Ipv4Addr;

use clusterdef_model::suggest::closest;
use clusterdef_model::{Channel, DomainKind, EtcdRelease, Ipv4Net, RebootStrategy, RebootWindow, Rule};
use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Ident, LitBool, LitFloat, LitInt, LitStr, Token, braced, bracketed};

use crate::ast::*;
use crate::symbol::*;

/// Reads a unit body file named relative to the crate root.
pub type FileLoader<'a> = &'a dyn Fn(&str) -> Result<String, String>;

/// Parses a `cluster!` body. Returns the tree (with the malformed parts left out) and every
/// syntax error found.
pub fn parse(tokens: TokenStream, load: FileLoader<'_>) -> (ClusterAst, Vec<syn::Error>) {
    let mut errors = Vec::new();
    let mut ast = ClusterAst::default();
    let parser = |input: ParseStream| {
        let mut p = Grammar { errors: &mut errors, load };
        p.comma_list(input, "entries", |p, input| {
            let entry = p.entry(input)?;
            ast.entries.push(entry);
            Ok(())
        });
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        errors.push(e);
    }
    (ast, errors)
}

/// The grammar's parser state: the errors it has recovered from so far, and how it reads unit files.
struct Grammar<'e, 'l> {
    errors: &'e mut Vec<syn::Error>,
    load: FileLoader<'l>,
}

/// Skips tokens up to (not including) the next comma at this nesting level.
fn skip_to_comma(input: ParseStream) {
    while !input.is_empty() && !input.peek(Token![,]) {
        if input.parse::<TokenTree>().is_err() {
            break;
        }
    }
}

fn unknown_key(key: &Ident, known: &[&str], place: &str) -> syn::Error {
    let name = key.unraw().to_string();
    let hint = match closest(&name, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("the keys are {}", known.join(", ")),
    };
    syn::Error::new(key.span(), format!("unknown key `{name}` in {place}\n  = help: {hint}"))
}

/// The error for a key given twice, on the second occurrence.
pub(crate) fn duplicate(key: &Ident) -> syn::Error {
    syn::Error::new(
        key.span(),
        format!(
            "`{}` is set twice\n  = help: remove this one or the earlier one; each key takes one value",
            key.unraw()
        ),
    )
}

/// Records `value` in `slot`, or reports a duplicate key.
fn set_once<T>(slot: &mut Option<T>, key: &Ident, value: T) -> syn::Result<()> {
    if slot.is_some() {
        return Err(duplicate(key));
    }
    *slot = Some(value);
    Ok(())
}

fn colon(input: ParseStream, key: &Ident) -> syn::Result<()> {
    if input.peek(Token![:]) {
        input.parse::<Token![:]>()?;
        Ok(())
    } else {
        Err(input.error(format!("expected `:` after `{}`", key.unraw())))
    }
}

/// Whether the next tokens end the current item (a comma or the end of the list).
fn at_item_end(input: ParseStream) -> bool {
    input.is_empty() || input.peek(Token![,])
}

fn missing_value(input: ParseStream, key: &Ident, expected: &str) -> syn::Error {
    input.error(format!("missing value for `{}`\n  = help: expected {expected}", key.unraw()))
}

/// Opens a `[…]` list, or explains that lists use square brackets.
fn open_brackets<'a>(input: ParseStream<'a>, what: &str) -> syn::Result<syn::parse::ParseBuffer<'a>> {
    if input.peek(syn::token::Bracket) {
        let content;
        bracketed!(content in input);
        return Ok(content);
    }
    wrong_delimiter(input, "[", "]", what)
}

/// Opens a `{…}` block, or explains that blocks use braces.
fn open_braces<'a>(input: ParseStream<'a>, what: &str) -> syn::Result<syn::parse::ParseBuffer<'a>> {
    if input.peek(syn::token::Brace) {
        let content;
        braced!(content in input);
        return Ok(content);
    }
    wrong_delimiter(input, "{", "}", what)
}

fn wrong_delimiter<T>(input: ParseStream, open: &str, close: &str, what: &str) -> syn::Result<T> {
    if let Some((TokenTree::Group(group), _)) = input.cursor().token_tree() {
        let found = match group.delimiter() {
            Delimiter::Parenthesis => "`(…)`",
            Delimiter::Brace => "`{…}`",
            Delimiter::Bracket => "`[…]`",
            Delimiter::None => "a group",
        };
        return Err(syn::Error::new(
            group.span(),
            format!(
                "wrong delimiter: {what} is written in `{open}…{close}`, not {found}\n  = help: replace the delimiters with `{open}` and `{close}`"
            ),
        ));
    }
    Err(input.error(format!("expected `{open}`: {what} is written in `{open}…{close}`")))
}

impl Grammar<'_, '_> {
    /// Parses `item, item, …` with an optional trailing comma, recovering at commas.
    fn comma_list(
        &mut self,
        input: ParseStream,
        what: &str,
        mut item: impl FnMut(&mut Self, ParseStream) -> syn::Result<()>,
    ) {
        while !input.is_empty() {
            if let Err(e) = item(self, input) {
                self.errors.push(e);
                skip_to_comma(input);
            }
            if input.is_empty() {
                break;
            }
            if input.peek(Token![,]) {
                let _ = input.parse::<Token![,]>();
            } else {
                self.errors.push(input.error(format!("expected `,` between {what}")));
                skip_to_comma(input);
                let _ = input.parse::<Token![,]>();
            }
        }
    }

    fn entry(&mut self, input: ParseStream) -> syn::Result<Entry> {
        if !input.peek(Ident::peek_any) {
            return Err(input.error(format!(
                "expected a key such as `central`, `workers` or `unit`\n  = help: the keys are {}",
                TOP_KEYS.join(", ")
            )));
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
                EntryKind::BootServer(string(input, &key, "the boot server's base URL, e.g. \"http://10.0.0.2:8080\"")?)
            }
            "tls" => {
                colon(input, &key)?;
                EntryKind::Tls(self.tls(input, &key)?)
            }
            "central" | "machines" | "workers" => {
                colon(input, &key)?;
                let spec = self.group_spec(input, &key)?;
                if name == "workers" { EntryKind::Workers(spec) } else { EntryKind::Members(spec) }
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
            "allow" => {
                let (rule, reason) = allow(input)?;
                EntryKind::Allow(rule, reason)
            }
            _ => return Err(unknown_key(&key, TOP_KEYS, "a cluster")),
        };
        Ok(Entry { key, kind })
    }

    fn string_list(&mut self, input: ParseStream, key: &Ident, what: &str) -> syn::Result<Vec<Spanned<String>>> {
        if at_item_end(input) {
            return Err(missing_value(input, key, &format!("a list of {what}, e.g. `[\"…\"]`")));
        }
        if input.peek(LitStr) {
            return Ok(vec![string(input, key, what)?]);
        }
        let content = open_brackets(input, &format!("a list of {what}"))?;
        let mut out = Vec::new();
        self.comma_list(&content, what, |_, input| {
            out.push(string(input, key, what)?);
            Ok(())
        });
        Ok(out)
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
                            return Err(domain.name.span.error(format!(
                                "the network of `{}` needs a `subnet`\n  = help: write `{{ subnet: \"10.0.0.0/24\", gateway: \"10.0.0.1\" }}`",
                                domain.name.value
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
                    if input.peek(LitStr) {
                        net.dns.push(address(input, &key)?);
                        return Ok(());
                    }
                    let content = open_brackets(input, "a list of DNS servers")?;
                    let mut errors = Vec::new();
                    while !content.is_empty() {
                        match address(&content, &key) {
                            Ok(a) => net.dns.push(a),
                            Err(e) => {
                                errors.push(e);
                                skip_to_comma(&content);
                            }
                        }
                        if !content.is_empty() {
                            content.parse::<Token![,]>()?;
                        }
                    }
                    combine(errors)
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

    fn tls(&mut self, input: ParseStream, key: &Ident) -> syn::Result<Spanned<[String; 3]>> {
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
            let value = string(input, &k, "an absolute path")?.value;
            match k.unraw().to_string().as_str() {
                "ca" => set_once(&mut ca, &k, value),
                "cert" => set_once(&mut cert, &k, value),
                "key" => set_once(&mut tls_key, &k, value),
                _ => Err(unknown_key(&k, TLS_KEYS, "`tls`")),
            }
        });
        match (ca, cert, tls_key) {
            (Some(ca), Some(cert), Some(k)) => Ok(Spanned::new([ca, cert, k], SpanRange::single(key.span()).to(span))),
            _ => Err(syn::Error::new(
                key.span(),
                format!("`tls` needs `ca`, `cert` and `key`\n  = help: write {EXAMPLE}"),
            )),
        }
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
            return Err(input.error(
                "unexpected token after the machine count\n  = help: a group is written `COUNT [across cabinets [a, b, c]] [{ options }]`",
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

    fn unit(&mut self, input: ParseStream, key: &Ident) -> syn::Result<UnitAst> {
        if !input.peek(LitStr) {
            return Err(input
                .error("expected the unit's name as a string after `unit`, e.g. `unit \"monitoring.service\" { … }`"));
        }
        let name = string(input, key, "the unit's name")?;
        let brace_span = input.span();
        let content = open_braces(input, "a unit's options")?;
        let mut u = UnitAst {
            span: SpanRange::single(key.span()).to(SpanRange::single(brace_span)),
            name,
            global: None,
            metadata: None,
            requirements: Vec::new(),
            conflicts: Vec::new(),
            machine_of: None,
            machine_id: None,
            replaces: Vec::new(),
            body: None,
        };
        let load = self.load;
        self.comma_list(&content, "unit options", |p, input| {
            let key = Ident::parse_any(input)?;
            let k = key.unraw().to_string();
            if k == "global" {
                let mut on = true;
                if input.peek(Token![:]) {
                    input.parse::<Token![:]>()?;
                    let b: LitBool = input.parse().map_err(|_| input.error("expected `true` or `false`"))?;
                    on = b.value;
                }
                if u.global.is_some() {
                    return Err(duplicate(&key));
                }
                if on {
                    u.global = Some(SpanRange::single(key.span()));
                }
                return Ok(());
            }
            colon(input, &key)?;
            match k.as_str() {
                "metadata" => {
                    if u.metadata.is_some() {
                        return Err(duplicate(&key));
                    }
                    let span = input.span();
                    let content = open_braces(input, "MachineMetadata requirements")?;
                    u.metadata = Some(SpanRange::single(key.span()).to(SpanRange::single(span)));
                    p.comma_list(&content, "requirements", |p, input| {
                        let rk = name_value(input, &key)?;
                        if !input.peek(Token![=]) {
                            return Err(input.error(format!("expected `=` after `{}`, e.g. `role = worker`", rk.value)));
                        }
                        input.parse::<Token![=]>()?;
                        let mut values = Vec::new();
                        if input.peek(syn::token::Bracket) {
                            let content = open_brackets(input, "the accepted values")?;
                            p.comma_list(&content, "values", |_, input| {
                                values.push(name_value(input, &key)?);
                                Ok(())
                            });
                        } else {
                            values.push(name_value(input, &key)?);
                        }
                        u.requirements.push((rk, values));
                        Ok(())
                    });
                    Ok(())
                }
                "conflicts" => {
                    u.conflicts = p.string_list(input, &key, "unit name globs")?;
                    Ok(())
                }
                "replaces" => {
                    u.replaces = p.string_list(input, &key, "unit name globs")?;
                    Ok(())
                }
                "machine_of" => {
                    let s = string(input, &key, "the name of the unit to run beside")?;
                    set_once(&mut u.machine_of, &key, s)
                }
                "machine_id" => {
                    let s = string(input, &key, "a machine ID")?;
                    set_once(&mut u.machine_id, &key, s)
                }
                "body" => {
                    let b = body(input, &key, load)?;
                    set_once(&mut u.body, &key, b)
                }
                _ => Err(unknown_key(&key, UNIT_KEYS, "a unit")),
            }
        });
        Ok(u)
    }
}

fn combine(errors: Vec<syn::Error>) -> syn::Result<()> {
    let mut iter = errors.into_iter();
    match iter.next() {
        None => Ok(()),
        Some(mut first) => {
            for e in iter {
                first.combine(e);
            }
            Err(first)
        }
    }
}

fn lit_str(input: ParseStream, key: &Ident, expected: &str) -> syn::Result<LitStr> {
    if at_item_end(input) {
        return Err(missing_value(input, key, expected));
    }
    input.parse::<LitStr>().map_err(|_| input.error(format!("expected {expected} as a string literal")))
}

fn string(input: ParseStream, key: &Ident, expected: &str) -> syn::Result<Spanned<String>> {
    let lit = lit_str(input, key, expected)?;
    Ok(Spanned::new(lit.value(), SpanRange::single(lit.span())))
}

/// An identifier, a string or an integer used as a name.
fn name_value(input: ParseStream, key: &Ident) -> syn::Result<Spanned<String>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "a name (an identifier or a string)"));
    }
    if input.peek(LitStr) {
        let lit: LitStr = input.parse()?;
        return Ok(Spanned::new(lit.value(), SpanRange::single(lit.span())));
    }
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        return Ok(Spanned::new(lit.to_string(), SpanRange::single(lit.span())));
    }
    if input.peek(Ident::peek_any) {
        let ident = Ident::parse_any(input)?;
        return Ok(Spanned::new(ident.unraw().to_string(), SpanRange::single(ident.span())));
    }
    Err(input.error("expected a name: an identifier such as `a`, or a string such as \"us-east-1a\""))
}

fn count(input: ParseStream, key: &Ident) -> syn::Result<Spanned<u32>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "a machine count"));
    }
    if input.peek(Token![-]) {
        return Err(input.error("a machine count cannot be negative"));
    }
    let lit: LitInt = input.parse().map_err(|_| input.error("expected a machine count such as `3`"))?;
    let n = lit.base10_parse::<u32>()?;
    Ok(Spanned::new(n, SpanRange::single(lit.span())))
}

fn size(input: ParseStream, key: &Ident) -> syn::Result<SizeAst> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "a machine count such as `5`, or `autoscale`"));
    }
    if input.peek(Ident) {
        let ident: Ident = input.fork().parse()?;
        if ident == "autoscale" {
            input.parse::<Ident>()?;
            let start = SpanRange::single(ident.span());
            let mut end = start;
            let mut min = None;
            let mut max = None;
            if input.peek(LitInt) {
                let m = count(input, key)?;
                end = m.span;
                min = Some(m);
            }
            if input.peek(Token![..=]) || input.peek(Token![..]) {
                let dots_span = input.span();
                if input.peek(Token![..=]) {
                    input.parse::<Token![..=]>()?;
                } else {
                    input.parse::<Token![..]>()?;
                }
                end = SpanRange::single(dots_span);
                if input.peek(LitInt) {
                    let m = count(input, key)?;
                    end = m.span;
                    max = Some(m);
                }
            } else if min.is_some() {
                return Err(input.error("expected `..` after the autoscale minimum, e.g. `autoscale 3..50`"));
            }
            return Ok(SizeAst::Autoscale { span: start.to(end), min, max });
        }
        let hint =
            closest(&ident.to_string(), ["autoscale"]).map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
        return Err(syn::Error::new(
            ident.span(),
            format!("expected a machine count or `autoscale`, found `{ident}`{hint}"),
        ));
    }
    Ok(SizeAst::Fixed(count(input, key)?))
}

fn subnet(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Ipv4Net>> {
    let lit = lit_str(input, key, "a subnet such as \"10.0.0.0/24\"")?;
    let subnet: Ipv4Net = lit.value().parse().map_err(|e| syn::Error::new(lit.span(), e))?;
    Ok(Spanned::new(subnet, SpanRange::single(lit.span())))
}

fn address(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Ipv4Addr>> {
    let lit = lit_str(input, key, "an IPv4 address such as \"10.0.0.101\"")?;
    let value = lit.value();
    let addr: Ipv4Addr = value.parse().map_err(|_| {
        syn::Error::new(
            lit.span(),
            format!("`{value}` is not an IPv4 address\n  = help: write four numbers 0-255, e.g. \"10.0.0.101\""),
        )
    })?;
    Ok(Spanned::new(addr, SpanRange::single(lit.span())))
}

fn addresses(input: ParseStream, key: &Ident, p: &mut Grammar<'_, '_>) -> syn::Result<Spanned<AddressesAst>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "`dhcp`, a range `\"10.0.0.101\"..\"10.0.0.105\"` or a list"));
    }
    if input.peek(Ident) {
        let ident: Ident = input.parse()?;
        if ident == "dhcp" {
            return Ok(Spanned::new(AddressesAst::Dhcp, SpanRange::single(ident.span())));
        }
        return Err(syn::Error::new(
            ident.span(),
            format!("expected `dhcp`, a range or a list of addresses, found `{ident}`"),
        ));
    }
    if input.peek(LitStr) {
        let first = address(input, key)?;
        if input.peek(Token![..=]) {
            input.parse::<Token![..=]>()?;
        } else if input.peek(Token![..]) {
            input.parse::<Token![..]>()?;
        } else {
            return Ok(Spanned::new(AddressesAst::List(vec![first.clone()]), first.span));
        }
        let last = address(input, key)?;
        let span = first.span.to(last.span);
        return Ok(Spanned::new(AddressesAst::Range(first, last), span));
    }
    let span = input.span();
    let content = open_brackets(input, "a list of addresses")?;
    let mut list = Vec::new();
    p.comma_list(&content, "addresses", |_, input| {
        list.push(address(input, key)?);
        Ok(())
    });
    Ok(Spanned::new(AddressesAst::List(list), SpanRange::single(span)))
}

fn keyword<T: Copy>(input: ParseStream, key: &Ident, options: &[(&str, T)], what: &str) -> syn::Result<Spanned<T>> {
    let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
    let expected = names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
    if at_item_end(input) {
        return Err(missing_value(input, key, &format!("{what}: one of {expected}")));
    }
    if !input.peek(Ident::peek_any) {
        return Err(input.error(format!("expected {what}: one of {expected}")));
    }
    let ident = Ident::parse_any(input)?;
    let text = ident.unraw().to_string();
    if let Some((_, v)) = options.iter().find(|(n, _)| *n == text) {
        return Ok(Spanned::new(*v, SpanRange::single(ident.span())));
    }
    let hint =
        closest(&text, names.iter().copied()).map_or(String::new(), |s| format!("\n  = help: did you mean `{s}`?"));
    Err(syn::Error::new(ident.span(), format!("`{text}` is not {what}: expected one of {expected}{hint}")))
}

fn channel(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Channel>> {
    keyword(
        input,
        key,
        &[("stable", Channel::Stable), ("beta", Channel::Beta), ("alpha", Channel::Alpha)],
        "an update channel",
    )
}

fn reboot(input: ParseStream, key: &Ident) -> syn::Result<Spanned<RebootStrategy>> {
    if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "best_effort") {
        let ident: Ident = input.parse()?;
        return Err(syn::Error::new(
            ident.span(),
            "`best_effort` was removed from locksmith in v0.6.0 and coreos-cloudinit rejects it\n  = help: use `etcd_lock`, which is what best-effort chose when etcd was running",
        ));
    }
    keyword(
        input,
        key,
        &[("etcd_lock", RebootStrategy::EtcdLock), ("reboot", RebootStrategy::Reboot), ("off", RebootStrategy::Off)],
        "a reboot strategy",
    )
}

/// Which of [`keyword_or_url`]'s keywords was written.
enum Choice {
    /// The first keyword.
    Plain,
    /// The second keyword, and its URL if one followed.
    WithUrl(Option<Spanned<String>>),
}

/// One of two keywords, the second optionally followed by a URL string: `disk | pxe ["url"]`,
/// `static | discovery ["url"]`.
fn keyword_or_url(
    input: ParseStream,
    key: &Ident,
    (plain, with_url): (&str, &str),
    what: &str,
) -> syn::Result<Spanned<Choice>> {
    let kind = keyword(input, key, &[(plain, false), (with_url, true)], what)?;
    if !kind.value {
        return Ok(Spanned::new(Choice::Plain, kind.span));
    }
    if input.peek(LitStr) {
        let url = string(input, key, "a URL")?;
        let span = kind.span.to(url.span);
        return Ok(Spanned::new(Choice::WithUrl(Some(url)), span));
    }
    Ok(Spanned::new(Choice::WithUrl(None), kind.span))
}

fn boot(input: ParseStream, key: &Ident) -> syn::Result<Spanned<BootAst>> {
    let choice = keyword_or_url(input, key, ("disk", "pxe"), "a boot method")?;
    let value = match choice.value {
        Choice::Plain => BootAst::Disk,
        Choice::WithUrl(url) => BootAst::Pxe(url.map(|u| u.value)),
    };
    Ok(Spanned::new(value, choice.span))
}

fn etcd_release(input: ParseStream, key: &Ident) -> syn::Result<Spanned<EtcdRelease>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "`2` (etcd2) or `0.4` (etcd 0.4)"));
    }
    let wrong = |span: Span, found: &str| {
        syn::Error::new(
            span,
            format!(
                "etcd release `{found}` is not supported\n  = help: write `2` for etcd2 (`coreos.etcd2`) or `0.4` for etcd 0.4 (`coreos.etcd`)"
            ),
        )
    };
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        return match lit.base10_digits() {
            "2" => Ok(Spanned::new(EtcdRelease::V2, SpanRange::single(lit.span()))),
            other => Err(wrong(lit.span(), other)),
        };
    }
    if input.peek(LitFloat) {
        let lit: LitFloat = input.parse()?;
        return match lit.base10_digits() {
            "0.4" => Ok(Spanned::new(EtcdRelease::V0_4, SpanRange::single(lit.span()))),
            "2.0" => Ok(Spanned::new(EtcdRelease::V2, SpanRange::single(lit.span()))),
            other => Err(wrong(lit.span(), other)),
        };
    }
    if input.peek(Ident) {
        let ident: Ident = input.parse()?;
        return match ident.to_string().as_str() {
            "etcd2" => Ok(Spanned::new(EtcdRelease::V2, SpanRange::single(ident.span()))),
            other => Err(wrong(ident.span(), other)),
        };
    }
    Err(input.error("expected `2` (etcd2) or `0.4` (etcd 0.4)"))
}

fn bootstrap(input: ParseStream, key: &Ident) -> syn::Result<Spanned<BootstrapAst>> {
    let choice = keyword_or_url(input, key, ("static", "discovery"), "a bootstrap method")?;
    let value = match choice.value {
        Choice::Plain => BootstrapAst::Static,
        Choice::WithUrl(url) => BootstrapAst::Discovery(url),
    };
    Ok(Spanned::new(value, choice.span))
}

fn window(input: ParseStream, key: &Ident) -> syn::Result<Spanned<RebootWindow>> {
    let start = lit_str(input, key, "a window start such as \"Thu 04:00\"")?;
    if !input.peek(Token![for]) {
        return Err(input.error("expected `for` and a length after the window start, e.g. `\"Thu 04:00\" for \"1h\"`"));
    }
    input.parse::<Token![for]>()?;
    let length = lit_str(input, key, "a window length such as \"1h\"")?;
    let span = SpanRange::single(start.span()).to(SpanRange::single(length.span()));
    let window = RebootWindow::parse(&start.value(), &length.value()).map_err(|e| span.error(e))?;
    Ok(Spanned::new(window, span))
}

fn body(input: ParseStream, key: &Ident, load: FileLoader<'_>) -> syn::Result<Spanned<BodyAst>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "the unit's text as a string, or `file \"units/name.service\"`"));
    }
    if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "file") {
        let file: Ident = input.parse()?;
        let path = lit_str(input, key, "a path relative to the crate root")?;
        let span = SpanRange::single(file.span()).to(SpanRange::single(path.span()));
        let text = load(&path.value()).map_err(|e| {
            let help =
                if e.contains("= help:") { "" } else { "\n  = help: unit files are named relative to the crate root" };
            syn::Error::new(path.span(), format!("cannot read unit file `{}`: {e}{help}", path.value()))
        })?;
        return Ok(Spanned::new(BodyAst::File { path: path.value(), text }, span));
    }
    let lit = lit_str(input, key, "the unit's text, or `file \"path\"`")?;
    Ok(Spanned::new(BodyAst::Inline(lit.value()), SpanRange::single(lit.span())))
}

fn allow(input: ParseStream) -> syn::Result<(Spanned<Rule>, Spanned<String>)> {
    if !input.peek(syn::token::Paren) {
        return Err(input.error("expected `(` after `allow`, e.g. `allow(even_members, reason = \"…\")`"));
    }
    let content;
    syn::parenthesized!(content in input);
    let rule_ident =
        Ident::parse_any(&content).map_err(|_| content.error("expected a rule name such as `even_members`"))?;
    let name = rule_ident.unraw().to_string();
    // Read the whole clause first, so a bad rule name does not also leave tokens unparsed.
    let mut reason = None;
    if !content.is_empty() {
        content.parse::<Token![,]>()?;
        if !content.is_empty() {
            let reason_key: Ident = content.parse().map_err(|_| content.error("expected `reason = \"…\"`"))?;
            if reason_key != "reason" {
                return Err(syn::Error::new(reason_key.span(), format!("expected `reason`, found `{reason_key}`")));
            }
            content.parse::<Token![=]>()?;
            let lit: LitStr = content.parse().map_err(|_| content.error("expected the reason as a string"))?;
            let _ = content.parse::<Token![,]>();
            if !content.is_empty() {
                return Err(content.error("unexpected token after the reason"));
            }
            reason = Some(lit);
        }
    }
    let rule = Rule::from_name(&name).ok_or_else(|| {
        let names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        let hint = closest(&name, names.iter().copied())
            .map_or_else(|| format!("the rules are {}", names.join(", ")), |s| format!("did you mean `{s}`?"));
        syn::Error::new(rule_ident.span(), format!("unknown rule `{name}`\n  = help: {hint}"))
    })?;
    if !rule.allowable() {
        return Err(syn::Error::new(
            rule_ident.span(),
            if rule == Rule::ClusterSize {
                format!(
                    "rule `{name}` cannot be allowed: it bounds the work a declaration asks of every front end\n  = help: autoscale the large pool instead"
                )
            } else {
                format!(
                    "rule `{name}` cannot be allowed: it keeps every value writable, and a value that breaks it would change what the machines' files say\n  = help: fix the value instead"
                )
            },
        ));
    }
    let Some(reason) = reason else {
        return Err(syn::Error::new(
            rule_ident.span(),
            format!(
                "`allow({name})` needs a reason\n  = help: write `allow({name}, reason = \"why this risk is acceptable\")`"
            ),
        ));
    };
    if reason.value().trim().is_empty() {
        return Err(syn::Error::new(reason.span(), "the reason is empty\n  = help: say why this risk is acceptable"));
    }
    Ok((
        Spanned::new(rule, SpanRange::single(rule_ident.span())),
        Spanned::new(reason.value(), SpanRange::single(reason.span())),
    ))
}

/// Checks that a hostname pattern uses only the known placeholders.
fn check_placeholders(pattern: &str) -> Result<(), String> {
    let mut rest = pattern;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("hostname pattern `{pattern}` has an unclosed `{{`"));
        };
        let name = &after[..close];
        if !["n", "group", "role", "domain"].contains(&name) {
            let hint = closest(name, ["n", "group", "role", "domain"])
                .map_or(String::new(), |s| format!(" (did you mean `{{{s}}}`?)"));
            return Err(format!(
                "unknown placeholder `{{{name}}}` in hostname pattern{hint}\n  = help: the placeholders are {{n}}, {{group}}, {{role}} and {{domain}}"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}
