//! The user's view of `cluster!`: clusters that must compile, and clusters that must not, with
//! the exact errors rustc shows. Regenerate the `.stderr` files with `TRYBUILD=overwrite`.

use std::path::Path;

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
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
