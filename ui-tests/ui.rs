//! The user's view of `cluster!`: clusters that must compile, and clusters that must not, with
//! the exact errors rustc shows. Regenerate the `.stderr` files with `TRYBUILD=overwrite`.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.pass("pass/*.rs");
    t.compile_fail("fail/*.rs");
}
