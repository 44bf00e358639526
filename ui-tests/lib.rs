//! Holds no code: the tests live in `ui.rs`, `pass/` and `fail/`.
