//! Growth of compiling and rendering errors in a `.cluster` file, in release
//! (`scripts/test.sh` runs it with `cargo test --release -- --ignored`).

use clusterdef_model::synthetic::assert_near_linear;
use clusterdef_syntax::source::{compile_source, render_errors};

fn no_files(path: &str) -> Result<String, String> {
    Err(format!("no file {path}"))
}

/// A declaration with `n` short lines, each an error (an unknown key), compiled and its errors
/// rendered: 600 → 60,000 errors.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn error_rendering_grows_near_linearly() {
    let texts: Vec<(usize, String)> =
        [600, 6_000, 60_000].into_iter().map(|n| (n, format!("central: 3,\n{}", "centrl: 1,\n".repeat(n)))).collect();
    assert_near_linear("errors", 600, |n| {
        let text = &texts.iter().find(|(m, _)| *m == n).expect("built").1;
        let errors = compile_source(text, &no_files).expect_err("every line is an error");
        assert_eq!(errors.len(), n);
        std::hint::black_box(render_errors("m.cluster", text, &errors, false));
    });
}

/// One line of `n` errors: the renderer shows each as a window of the line, so a 1 MiB line
/// of errors costs no more per error than a short one.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn errors_on_one_long_line_grow_near_linearly() {
    let texts: Vec<(usize, String)> =
        [300, 3_000, 30_000].into_iter().map(|n| (n, format!("central: 3, {}", "centrl: 1, ".repeat(n)))).collect();
    assert_near_linear("errors on one line", 300, |n| {
        let text = &texts.iter().find(|(m, _)| *m == n).expect("built").1;
        let errors = compile_source(text, &no_files).expect_err("every entry is an error");
        std::hint::black_box(render_errors("m.cluster", text, &errors, false));
    });
}
