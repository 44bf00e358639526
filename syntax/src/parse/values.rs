//! The values of the language: names, strings, counts, sizes, addresses and ranges, keywords,
//! reboot windows, unit bodies and allows.

use std::net::Ipv4Addr;

use clusterdef_model::suggest::closest;
use clusterdef_model::{Channel, EtcdRelease, Ipv4Net, Os, RebootStrategy, RebootWindow, Rule};
use proc_macro2::Span;
use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitFloat, LitInt, LitStr, Token};

use crate::ast::*;

use super::recovery::*;
use super::{FileLoader, Grammar};

pub(super) fn lit_str(input: ParseStream, key: &Ident, expected: &str) -> syn::Result<LitStr> {
    if at_item_end(input) {
        return Err(missing_value(input, key, expected));
    }
    input.parse::<LitStr>().map_err(|_| input.error(format!("expected {expected} as a string literal")))
}

pub(super) fn string(input: ParseStream, key: &Ident, expected: &str) -> syn::Result<Spanned<String>> {
    let lit = lit_str(input, key, expected)?;
    Ok(Spanned::new(lit.value(), SpanRange::single(lit.span())))
}

/// An identifier, a string or an integer used as a name.
pub(super) fn name_value(input: ParseStream, key: &Ident) -> syn::Result<Spanned<String>> {
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

pub(super) fn count(input: ParseStream, key: &Ident) -> syn::Result<Spanned<u32>> {
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

/// `instances: N`, a template's instance count (at least 1).
pub(super) fn instance_count(input: ParseStream, key: &Ident) -> syn::Result<Spanned<u32>> {
    let words = NumberWords {
        missing: "an instance count",
        expected: "expected an instance count such as `3`",
        invalid: "an instance count is a whole number from 1 up, such as `3`",
    };
    whole_number(input, key, 1, words)
}

/// What a number's errors say: when it is missing, when it is no integer, when it is out of range.
struct NumberWords {
    missing: &'static str,
    expected: &'static str,
    invalid: &'static str,
}

/// A whole number of at least `min` that fits `T`, with `words` for its errors.
fn whole_number<T>(input: ParseStream, key: &Ident, min: T, words: NumberWords) -> syn::Result<Spanned<T>>
where
    T: std::str::FromStr + PartialOrd,
    T::Err: std::fmt::Display,
{
    if at_item_end(input) {
        return Err(missing_value(input, key, words.missing));
    }
    let lit: LitInt = input.parse().map_err(|_| input.error(words.expected))?;
    match lit.base10_parse::<T>() {
        Ok(n) if n >= min => Ok(Spanned::new(n, SpanRange::single(lit.span()))),
        _ => Err(syn::Error::new(lit.span(), words.invalid)),
    }
}

/// The `..` or `..=` of a range, if one comes next, and where it was written. Ranges are
/// inclusive either way, for sizes and addresses alike.
pub(super) fn range_dots(input: ParseStream) -> syn::Result<Option<Span>> {
    let span = input.span();
    if input.peek(Token![..=]) {
        input.parse::<Token![..=]>()?;
    } else if input.peek(Token![..]) {
        input.parse::<Token![..]>()?;
    } else {
        return Ok(None);
    }
    Ok(Some(span))
}

pub(super) fn size(input: ParseStream, key: &Ident) -> syn::Result<SizeAst> {
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
            if let Some(dots) = range_dots(input)? {
                end = SpanRange::single(dots);
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

pub(super) fn subnet(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Ipv4Net>> {
    let lit = lit_str(input, key, "a subnet such as \"10.0.0.0/24\"")?;
    let subnet: Ipv4Net = lit.value().parse().map_err(|e| syn::Error::new(lit.span(), e))?;
    Ok(Spanned::new(subnet, SpanRange::single(lit.span())))
}

pub(super) fn address(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Ipv4Addr>> {
    let lit = lit_str(input, key, "an IPv4 address such as \"10.0.0.101\"")?;
    let value = lit.value();
    let addr: Ipv4Addr = value.parse().map_err(|_| {
        with_help(
            lit.span(),
            format!("`{value}` is not an IPv4 address"),
            "write four numbers 0-255, e.g. \"10.0.0.101\"",
        )
    })?;
    Ok(Spanned::new(addr, SpanRange::single(lit.span())))
}

pub(super) fn addresses(
    input: ParseStream,
    key: &Ident,
    p: &mut Grammar<'_, '_>,
) -> syn::Result<Spanned<AddressesAst>> {
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
        if range_dots(input)?.is_none() {
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

pub(super) fn keyword<T: Copy>(
    input: ParseStream,
    key: &Ident,
    options: &[(&str, T)],
    what: &str,
) -> syn::Result<Spanned<T>> {
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
    let message = format!("`{text}` is not {what}: expected one of {expected}");
    Err(match closest(&text, names.iter().copied()) {
        Some(s) => with_help(ident.span(), message, format!("did you mean `{s}`?")),
        None => syn::Error::new(ident.span(), message),
    })
}

pub(super) fn channel(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Channel>> {
    keyword(
        input,
        key,
        &[("stable", Channel::Stable), ("beta", Channel::Beta), ("alpha", Channel::Alpha), ("lts", Channel::Lts)],
        "an update channel",
    )
}

pub(super) fn os(input: ParseStream, key: &Ident) -> syn::Result<Spanned<Os>> {
    keyword(input, key, &[("coreos", Os::CoreOs), ("flatcar", Os::Flatcar)], "an operating system")
}

pub(super) fn reboot(input: ParseStream, key: &Ident) -> syn::Result<Spanned<RebootStrategy>> {
    if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "best_effort") {
        let ident: Ident = input.parse()?;
        return Err(with_help(
            ident.span(),
            "`best_effort` was removed from locksmith in v0.6.0 and coreos-cloudinit rejects it",
            "use `etcd_lock`, which is what best-effort chose when etcd was running",
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
pub(super) enum Choice {
    /// The first keyword.
    Plain,
    /// The second keyword, and its URL if one followed.
    WithUrl(Option<Spanned<String>>),
}

/// One of two keywords, the second optionally followed by a URL string: `disk | pxe ["url"]`,
/// `static | discovery ["url"]`.
pub(super) fn keyword_or_url(
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

pub(super) fn boot(input: ParseStream, key: &Ident) -> syn::Result<Spanned<BootAst>> {
    let choice = keyword_or_url(input, key, ("disk", "pxe"), "a boot method")?;
    let value = match choice.value {
        Choice::Plain => BootAst::Disk,
        Choice::WithUrl(url) => BootAst::Pxe(url.map(|u| u.value)),
    };
    Ok(Spanned::new(value, choice.span))
}

pub(super) fn etcd_release(input: ParseStream, key: &Ident) -> syn::Result<Spanned<EtcdRelease>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "`2` (etcd2) or `0.4` (etcd 0.4)"));
    }
    let wrong = |span: Span, found: &str| {
        with_help(
            span,
            format!("etcd release `{found}` is not supported"),
            "write `2` for etcd2 (`coreos.etcd2`) or `0.4` for etcd 0.4 (`coreos.etcd`)",
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

pub(super) fn bootstrap(input: ParseStream, key: &Ident) -> syn::Result<Spanned<BootstrapAst>> {
    let choice = keyword_or_url(input, key, ("static", "discovery"), "a bootstrap method")?;
    let value = match choice.value {
        Choice::Plain => BootstrapAst::Static,
        Choice::WithUrl(url) => BootstrapAst::Discovery(url),
    };
    Ok(Spanned::new(value, choice.span))
}

pub(super) fn window(input: ParseStream, key: &Ident) -> syn::Result<Spanned<RebootWindow>> {
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

pub(super) fn body(input: ParseStream, key: &Ident, load: FileLoader<'_>) -> syn::Result<Spanned<BodyAst>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "the unit's text as a string, or `file \"units/name.service\"`"));
    }
    if input.peek(Ident) && input.fork().parse::<Ident>().is_ok_and(|i| i == "file") {
        let file: Ident = input.parse()?;
        let path = lit_str(input, key, "a path relative to the crate root")?;
        let span = SpanRange::single(file.span()).to(SpanRange::single(path.span()));
        let text = load(&path.value()).map_err(|e| {
            let message = format!("cannot read unit file `{}`: {e}", path.value());
            if e.contains("= help:") {
                syn::Error::new(path.span(), message)
            } else {
                with_help(path.span(), message, "unit files are named relative to the crate root")
            }
        })?;
        return Ok(Spanned::new(BodyAst::File { path: path.value(), text }, span));
    }
    let lit = lit_str(input, key, "the unit's text, or `file \"path\"`")?;
    Ok(Spanned::new(BodyAst::Inline(lit.value()), SpanRange::single(lit.span())))
}

pub(super) fn allow_entry(input: ParseStream) -> syn::Result<(Spanned<Rule>, Spanned<String>)> {
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
        with_help(rule_ident.span(), format!("unknown rule `{name}`"), hint)
    })?;
    if !rule.allowable() {
        let (why, fix) = if rule == Rule::ClusterSize {
            ("it bounds the work a declaration asks of every front end", "autoscale the large pool instead")
        } else {
            (
                "it keeps every value writable, and a value that breaks it would change what the machines' files say",
                "fix the value instead",
            )
        };
        return Err(with_help(rule_ident.span(), format!("rule `{name}` cannot be allowed: {why}"), fix));
    }
    let Some(reason) = reason else {
        return Err(with_help(
            rule_ident.span(),
            format!("`allow({name})` needs a reason"),
            format!("write `allow({name}, reason = \"why this risk is acceptable\")`"),
        ));
    };
    if reason.value().trim().is_empty() {
        return Err(with_help(reason.span(), "the reason is empty", "say why this risk is acceptable"));
    }
    Ok((
        Spanned::new(rule, SpanRange::single(rule_ident.span())),
        Spanned::new(reason.value(), SpanRange::single(reason.span())),
    ))
}

/// Checks that a hostname pattern uses only the known placeholders.
pub(super) fn check_placeholders(pattern: &str) -> Result<(), String> {
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
            return Err(help_text(
                format!("unknown placeholder `{{{name}}}` in hostname pattern{hint}"),
                "the placeholders are {n}, {group}, {role} and {domain}",
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// `mode: 0o644`: a file's permission bits (`host_path` checks the range); a literal of octal
/// digits without `0o` (`0644`, `644`) is refused, as decimal is never what it means.
pub(super) fn file_mode(input: ParseStream, key: &Ident) -> syn::Result<Spanned<u32>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "the file's mode, e.g. `0o644`"));
    }
    let lit: LitInt = input.parse().map_err(|_| input.error("expected the file's mode, e.g. `0o644`"))?;
    // `0644` and `644` are decimal numbers in this language as in Rust, which no one means for
    // a mode (decimal 644 is 0o1204: sticky bit, owner write-only); written with octal digits
    // only and no `0o`, the mode is refused rather than guessed.
    let digits = lit.base10_digits();
    let written = lit.to_string();
    if !written.starts_with("0o")
        && !written.starts_with("0x")
        && !written.starts_with("0b")
        && digits.bytes().all(|b| (b'0'..=b'7').contains(&b))
    {
        let octal = digits.trim_start_matches('0');
        let octal = if octal.is_empty() { "0" } else { octal };
        return Err(syn::Error::new(
            lit.span(),
            format!(
                "`{written}` would be read as the decimal number {digits}, not the octal mode it looks like\n  = help: write `0o{octal}`"
            ),
        ));
    }
    match lit.base10_parse::<u32>() {
        Ok(n) => Ok(Spanned::new(n, SpanRange::single(lit.span()))),
        Err(_) => Err(syn::Error::new(lit.span(), "a file's mode is a number such as `0o644`")),
    }
}

/// `owner: "core"` or `owner: 500`: a user or group by name or id.
pub(super) fn owner_value(input: ParseStream, key: &Ident) -> syn::Result<Spanned<clusterdef_model::Owner>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "a name such as \"core\" or an id such as `500`"));
    }
    if input.peek(LitInt) {
        let lit: LitInt = input.parse()?;
        let id =
            lit.base10_parse::<u32>().map_err(|_| syn::Error::new(lit.span(), "an id is a number such as `500`"))?;
        return Ok(Spanned::new(clusterdef_model::Owner::Id(id), SpanRange::single(lit.span())));
    }
    let name = string(input, key, "a name such as \"core\" or an id such as `500`")?;
    Ok(Spanned::new(clusterdef_model::Owner::Name(name.value.into()), name.span))
}

/// `command: start|restart|stop`.
pub(super) fn unit_command(input: ParseStream, key: &Ident) -> syn::Result<Spanned<clusterdef_model::UnitCommand>> {
    use clusterdef_model::UnitCommand;
    keyword(
        input,
        key,
        &[("start", UnitCommand::Start), ("restart", UnitCommand::Restart), ("stop", UnitCommand::Stop)],
        "a command",
    )
}

/// A TCP port, 1 to 65535.
pub(super) fn port(input: ParseStream, key: &Ident) -> syn::Result<Spanned<u16>> {
    let words = NumberWords {
        missing: "a port such as `80`",
        expected: "expected a port such as `80`",
        invalid: "a port is a whole number from 1 to 65535",
    };
    whole_number(input, key, 1, words)
}

/// A duration in whole seconds, such as `300`.
pub(super) fn seconds(input: ParseStream, key: &Ident) -> syn::Result<Spanned<u32>> {
    let words = NumberWords {
        missing: "a number of seconds such as `300`",
        expected: "expected a number of seconds such as `300`",
        invalid: "a number of seconds is a whole number such as `300`",
    };
    whole_number(input, key, 0, words)
}

/// `flannel` or `cilium`.
pub(super) fn cni(input: ParseStream, key: &Ident) -> syn::Result<Spanned<clusterdef_model::Cni>> {
    if at_item_end(input) {
        return Err(missing_value(input, key, "`flannel` or `cilium`"));
    }
    let ident = Ident::parse_any(input)?;
    let value = match ident.unraw().to_string().as_str() {
        "flannel" => clusterdef_model::Cni::Flannel,
        "cilium" => clusterdef_model::Cni::Cilium,
        _ => return Err(unknown_key(&ident, crate::symbol::CNIS, "`cni`")),
    };
    Ok(Spanned::new(value, SpanRange::single(ident.span())))
}
