//! The parser, the lowering and the rules on token streams, with the positions errors point at.

use clusterdef_model::{Layout, Size};
use proc_macro2::TokenStream;

use crate::{Compiled, compile};

fn tokens(src: &str) -> TokenStream {
    src.parse().expect("test input tokenizes")
}

fn no_files(path: &str) -> Result<String, String> {
    Err(format!("no file {path} in tests"))
}

fn ok(src: &str) -> Compiled {
    match compile(tokens(src), &no_files) {
        Ok(c) => c,
        Err(errors) => panic!("expected success, got {:?}", errors.iter().map(ToString::to_string).collect::<Vec<_>>()),
    }
}

/// Every error as (line, column, first line of the message).
fn errors(src: &str) -> Vec<(usize, usize, String)> {
    match compile(tokens(src), &no_files) {
        Ok(_) => panic!("expected errors"),
        Err(errors) => errors
            .into_iter()
            .map(|e| {
                let start = e.span().start();
                let first = e.to_string().lines().next().unwrap_or_default().to_string();
                (start.line, start.column, first)
            })
            .collect(),
    }
}

#[test]
fn the_card_example_lowers_to_central_services() {
    let c = ok("central: 5 across cabinets [a, b, c], workers: autoscale").checked.into_cluster();
    assert_eq!(c.layout, Layout::CentralServices);
    assert_eq!(c.members.size, Size::Fixed(5));
    assert_eq!(c.members.domain_counts(5), [2, 2, 1]);
    assert_eq!(c.pools.len(), 1);
    assert_eq!(c.pools[0].size, Size::Autoscale { min: None, max: None });
}

#[test]
fn errors_point_at_the_token_at_fault() {
    let src = "central: 3 across cabinets [a, b]";
    assert_eq!(
        errors(src),
        [(1, 28, "cabinet a holds 2 of 3 etcd members; losing it leaves 1, and quorum is 2".to_string())]
    );
    let src = "central: 4 across cabinets [a, b, c, d]";
    let errs = errors(src);
    assert_eq!(errs.len(), 1);
    assert_eq!((errs[0].0, errs[0].1), (1, 9), "on the count `4`");
}

#[test]
fn every_syntax_error_is_reported_and_parsing_recovers() {
    let src = "centrl: 5,\ncentral: 3 across cabinets (a, b, c),\nworkers: autoscale 3..,\nunit \"x.service\" { bogus: 1, body: \"\" },\nchannel: stabel";
    let errs = errors(src);
    let firsts: Vec<&str> = errs.iter().map(|e| e.2.as_str()).collect();
    assert_eq!(
        firsts,
        [
            "unknown key `centrl` in a cluster",
            "wrong delimiter: the list of cabinets is written in `[…]`, not `(…)`",
            "unknown key `bogus` in a unit",
            "`stabel` is not an update channel: expected one of `stable`, `beta`, `alpha`, `lts`",
        ]
    );
    assert_eq!((errs[0].0, errs[0].1), (1, 0));
    assert_eq!(errs[3].0, 5);
}

#[test]
fn rule_errors_all_come_together() {
    let src = "production: true, channel: beta, central: 4 across cabinets [a, b], workers: autoscale 9..2";
    let rules: Vec<String> = errors(src).into_iter().map(|e| e.2).collect();
    assert_eq!(rules.len(), 8, "{rules:#?}");
}

#[test]
fn names_may_be_identifiers_strings_or_numbers() {
    let c = ok(r#"central: 3 across zones ["us-east-1a", b, 3]"#).checked.into_cluster();
    let names: Vec<&str> = c.members.spread.iter().flat_map(|s| s.domains.iter().map(|d| &*d.name)).collect();
    assert_eq!(names, ["us-east-1a", "b", "3"]);
}

#[test]
fn unit_files_are_read_through_the_loader() {
    let load = |path: &str| -> Result<String, String> { Ok(format!("[Service]\nExecStart=/bin/{path}\n")) };
    let c = compile(tokens(r#"central: 3 across cabinets [a, b, c], unit "m.service" { body: file "m" }"#), &load)
        .expect("compiles")
        .checked
        .into_cluster();
    assert_eq!(c.units[0].body.text(), "[Service]\nExecStart=/bin/m\n");
    let errs = errors(r#"central: 3 across cabinets [a, b, c], unit "m.service" { body: file "units/m" }"#);
    assert_eq!(errs.len(), 1);
    assert!(errs[0].2.starts_with("cannot read unit file `units/m`"), "{}", errs[0].2);
}

#[test]
fn the_expansion_is_a_const_block_with_absolute_paths() {
    let out = crate::expand(tokens("central: 3 across cabinets [a, b, c]"), &quote::quote!(::clusterdef), &no_files)
        .to_string();
    assert!(
        out.starts_with(
            "{ use :: clusterdef :: __private :: { self as __clusterdef , Borrowed } ; use :: core :: option :: Option :: { None , Some } ; const __CLUSTERDEF_CLUSTER : __clusterdef :: Cluster = __clusterdef :: Cluster { name : Borrowed (\"cluster\") ,"
        ),
        "{out}"
    );
    assert!(!out.contains("compile_error"));
    let failed = crate::expand(tokens("central: 2"), &quote::quote!(::clusterdef), &no_files).to_string();
    assert!(failed.contains(":: core :: compile_error !"), "{failed}");
    assert!(failed.contains(":: clusterdef :: __private :: placeholder ()"), "{failed}");
}

#[test]
fn the_crate_path_comes_from_the_wrapper() {
    let input = tokens("(renamed) central: 3 across cabinets [a, b, c]");
    let out = crate::expand_invocation(input, &no_files).to_string();
    assert!(out.contains("use renamed :: __private :: { self as __clusterdef"), "{out}");
}

#[test]
fn no_input_panics() {
    // Truncations of a full cluster: every prefix is either accepted or rejected with errors.
    let full = r#"name: "p", production: true, network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.2"] },
        central: 5 across cabinets [one: 2, two: 2, three: 1] { addresses: "10.0.0.101".."10.0.0.105", hostnames: "c-{n}",
        window: { one: "Mon 04:00" for "1h" }, reboot: etcd_lock, metadata: { disk = ssd } },
        workers: autoscale 3..50 across cabinets [one, two] { channel: beta, boot: pxe "http://10.0.0.5" },
        unit "a.service" { global, metadata: { role = [central, worker] }, conflicts: ["b*"], body: "x" },
        allow(even_members, reason = "r")"#;
    let toks: Vec<proc_macro2::TokenTree> = tokens(full).into_iter().collect();
    for cut in 0..=toks.len() {
        let prefix: TokenStream = toks[..cut].iter().cloned().collect();
        if let Err(errors) = compile(prefix, &no_files) {
            assert!(!errors.is_empty(), "a rejected input carries at least one error");
        }
    }
}
