//! The user's view of `cluster!`: clusters that must compile, and clusters that must not, with
//! the exact errors rustc shows. Regenerate the `.stderr` files with `TRYBUILD=overwrite`.

use std::path::Path;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}

/// The rules table of docs/rules.md, as the catalogue in `clusterdef_model::Rule` describes the
/// rules: the catalogue is the one source, the page shows it.
fn rules_table() -> String {
    let mut table = String::from("| Rule | Applies to | Rejects |\n|---|---|---|\n");
    for rule in clusterdef::Rule::ALL {
        // A rule that says why it cannot be allowed has said it already.
        let allow =
            if rule.allowable() || rule.rejects().contains("Cannot be allowed") { "" } else { " Cannot be allowed." };
        table.push_str(&format!("| `{}` | {} | {}.{allow} |\n", rule.name(), rule.applies_to(), rule.rejects()));
    }
    table
}

/// docs/rules.md shows the catalogue's table; `UPDATE_DOCS=1` rewrites it from the catalogue.
#[test]
fn the_rules_page_shows_the_catalogue() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/rules.md");
    let docs = std::fs::read_to_string(&path).expect("docs/rules.md is readable");
    let start = docs.find("| Rule | Applies to | Rejects |").expect("the rules table");
    let end = docs[start..].find("\n\n").map_or(docs.len(), |e| start + e + 1);
    let table = rules_table();
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(&path, format!("{}{table}{}", &docs[..start], &docs[end..])).expect("rewrite docs/rules.md");
        return;
    }
    assert!(
        docs[start..end] == table,
        "docs/rules.md differs from the rule catalogue (UPDATE_DOCS=1 to rewrite):\n{table}"
    );
}

/// Every rule has a compile-fail case and a line in docs/rules.md.
#[test]
fn every_rule_is_tested_and_documented() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let docs = std::fs::read_to_string(root.join("../docs/rules.md")).expect("docs/rules.md is readable");
    for rule in clusterdef::Rule::ALL {
        let case = root.join("fail").join(format!("{}.rs", rule.name()));
        assert!(case.exists(), "rule `{}` has no compile-fail case at {}", rule.name(), case.display());
        let stderr = std::fs::read_to_string(case.with_extension("stderr")).expect("the case has a .stderr");
        assert!(
            stderr.contains(&format!("rule `{}`", rule.name())),
            "the case for `{}` does not fail on that rule",
            rule.name()
        );
        assert!(docs.contains(&format!("| `{}` |", rule.name())), "docs/rules.md does not list `{}`", rule.name());
    }
}
