//! The unit and host-configuration blocks: `unit "…" { … }` and `host: { … }`. Values inside
//! them are parsed by [`super::values`].

use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Ident, LitBool, LitStr, Token};

use crate::ast::*;
use crate::symbol::*;

use super::Grammar;
use super::recovery::*;
use super::values::*;

impl Grammar<'_, '_> {
    pub(super) fn unit(&mut self, input: ParseStream, key: &Ident) -> syn::Result<UnitAst> {
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
            instances: None,
            body: None,
            image: None,
            command: Vec::new(),
            ports: Vec::new(),
            env: Vec::new(),
        };
        let load = self.load;
        let mut container_key: Option<Ident> = None;
        self.comma_list(&content, "unit options", |p, input| {
            let key = Ident::parse_any(input)?;
            let k = key.unraw().to_string();
            if matches!(k.as_str(), "command" | "ports" | "env") && container_key.is_none() {
                container_key = Some(key.clone());
            }
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
                "instances" => {
                    let n = instance_count(input, &key)?;
                    set_once(&mut u.instances, &key, n)
                }
                "body" => {
                    let b = body(input, &key, load)?;
                    set_once(&mut u.body, &key, b)
                }
                "image" => {
                    let s = string(input, &key, "a container image such as \"quay.io/example/webapp:1.4\"")?;
                    set_once(&mut u.image, &key, s)
                }
                "command" => {
                    u.command = p.string_list(input, &key, "the command and its arguments")?;
                    Ok(())
                }
                "env" => {
                    u.env = p.string_list(input, &key, "`NAME=value` entries")?;
                    Ok(())
                }
                "ports" => {
                    if at_item_end(input) {
                        return Err(missing_value(input, &key, "a list of ports, e.g. `[80, 443]`"));
                    }
                    let content = open_brackets(input, "a list of ports")?;
                    let mut ports = Vec::new();
                    p.comma_list(&content, "ports", |_, input| {
                        ports.push(port(input, &key)?);
                        Ok(())
                    });
                    u.ports = ports;
                    Ok(())
                }
                _ => Err(unknown_key(&key, UNIT_KEYS, "a unit")),
            }
        });
        if let (Some(key), None) = (&container_key, &u.image) {
            return Err(with_help(
                key.span(),
                format!("`{key}` describes a container, and the unit names no `image`"),
                "add `image: \"registry/name:tag\"` (the unit then runs as a Kubernetes workload), or remove it",
            ));
        }
        Ok(u)
    }

    /// `{ file "PATH" { … }, unit "NAME" { … }, dropin "UNIT" "NAME.conf" { … }, … }`.
    pub(super) fn host(&mut self, input: ParseStream, key: &Ident) -> syn::Result<HostAst> {
        if at_item_end(input) {
            return Err(missing_value(
                input,
                key,
                "`{ file \"/etc/…\" { … }, unit \"…\" { … }, dropin \"…\" \"….conf\" { … } }`",
            ));
        }
        let start = SpanRange::single(input.span());
        let content = open_braces(input, "host configuration")?;
        let mut host = HostAst { span: start, files: Vec::new(), units: Vec::new(), dropins: Vec::new() };
        let load = self.load;
        self.comma_list(&content, "host files, units and drop-ins", |p, input| {
            let item = Ident::parse_any(input)?;
            match item.unraw().to_string().as_str() {
                "file" => {
                    let path = string(input, &item, "the file's absolute path, e.g. \"/etc/motd\"")?;
                    let inner = open_braces(input, "a host file's options")?;
                    let (mut contents, mut mode, mut owner, mut group) = (None, None, None, None);
                    p.comma_list(&inner, "file options", |_, input| {
                        let key = Ident::parse_any(input)?;
                        colon(input, &key)?;
                        match key.unraw().to_string().as_str() {
                            "contents" => {
                                let b = body(input, &key, load)?;
                                set_once(&mut contents, &key, b)
                            }
                            "mode" => {
                                let m = file_mode(input, &key)?;
                                set_once(&mut mode, &key, m)
                            }
                            "owner" => {
                                let o = owner_value(input, &key)?;
                                set_once(&mut owner, &key, o)
                            }
                            "group" => {
                                let g = owner_value(input, &key)?;
                                set_once(&mut group, &key, g)
                            }
                            _ => Err(unknown_key(&key, HOST_FILE_KEYS, "a host file")),
                        }
                    });
                    let contents = contents.ok_or_else(|| {
                        with_help(
                            path.span.start,
                            format!("host file `{}` has no contents", path.value),
                            "add `contents: \"…\"` or `contents: file \"files/name\"`",
                        )
                    })?;
                    host.files.push(HostFileAst { path, contents, mode, owner, group });
                    Ok(())
                }
                "unit" => {
                    let name = string(input, &item, "the unit's name, e.g. \"docker-tcp.socket\"")?;
                    let inner = open_braces(input, "a host unit's options")?;
                    let (mut body_value, mut enable, mut mask, mut command) = (None, None, None, None);
                    p.comma_list(&inner, "unit options", |_, input| {
                        let key = Ident::parse_any(input)?;
                        if key == "mask" && !input.peek(Token![:]) {
                            return set_once(&mut mask, &key, SpanRange::single(key.span()));
                        }
                        colon(input, &key)?;
                        match key.unraw().to_string().as_str() {
                            "body" => {
                                let b = body(input, &key, load)?;
                                set_once(&mut body_value, &key, b)
                            }
                            "enable" => {
                                let b: LitBool =
                                    input.parse().map_err(|_| input.error("expected `true` or `false`"))?;
                                set_once(&mut enable, &key, Spanned::new(b.value, SpanRange::single(b.span)))
                            }
                            "command" => {
                                let c = unit_command(input, &key)?;
                                set_once(&mut command, &key, c)
                            }
                            _ => Err(unknown_key(&key, HOST_UNIT_KEYS, "a host unit")),
                        }
                    });
                    host.units.push(HostUnitAst { name, body: body_value, enable, mask, command });
                    Ok(())
                }
                "dropin" => {
                    let unit = string(input, &item, "the unit the drop-in applies to, e.g. \"docker.service\"")?;
                    let name = string(input, &item, "the drop-in's file name, e.g. \"10-limits.conf\"")?;
                    let inner = open_braces(input, "a drop-in's options")?;
                    let mut body_value = None;
                    p.comma_list(&inner, "drop-in options", |_, input| {
                        let key = Ident::parse_any(input)?;
                        colon(input, &key)?;
                        match key.unraw().to_string().as_str() {
                            "body" => {
                                let b = body(input, &key, load)?;
                                set_once(&mut body_value, &key, b)
                            }
                            _ => Err(unknown_key(&key, DROPIN_KEYS, "a drop-in")),
                        }
                    });
                    let body_value = body_value.ok_or_else(|| {
                        with_help(
                            name.span.start,
                            format!("drop-in `{}` on `{}` has no body", name.value, unit.value),
                            "add `body: \"[Service]\\n…\"`",
                        )
                    })?;
                    host.dropins.push(DropInAst { unit, name, body: body_value });
                    Ok(())
                }
                _ => Err(unknown_key(&item, HOST_ITEMS, "host configuration")),
            }
        });
        Ok(host)
    }
}
