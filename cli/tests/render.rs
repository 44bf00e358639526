//! `clusterdef render` into a directory it prepares while it reads and renders: a refused
//! declaration is reported at once and changes nothing, whatever holds the directory.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

mod support;

use support::{Scratch, clusterdef, production};

/// Every file under `dir` with its bytes, in path order.
fn tree(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(at) = pending.pop() {
        for entry in std::fs::read_dir(&at).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push((path.clone(), std::fs::read(&path).expect("read")));
            }
        }
    }
    files.sort();
    files
}

/// A directory another render holds (its lock names a live process: this test's), and a
/// declaration the rules refuse: the refusal comes at once, not after the 30 s the write would
/// wait for the lock, and the directory is as it was.
#[test]
fn a_refused_declaration_is_reported_at_once_even_while_another_render_holds_the_directory() {
    let s = Scratch::new("locked");
    let out = s.0.join("out");
    let first = clusterdef(&["render", &production(), "--out", &out.display().to_string()]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    std::fs::write(out.join(".clusterdef.lock"), format!("{}\n", std::process::id())).expect("lock");
    let before = tree(&out);
    let bad = s.0.join("bad.cluster");
    std::fs::write(&bad, "central: 4 across cabinets [a, b],\nworkers: autoscale 9..2,\n").expect("bad");
    let started = Instant::now();
    let refused = clusterdef(&["render", &bad.display().to_string(), "--out", &out.display().to_string()]);
    let took = started.elapsed();
    assert_eq!(refused.status.code(), Some(1), "{}", String::from_utf8_lossy(&refused.stderr));
    assert!(took < Duration::from_secs(20), "the refusal waited for the lock: {took:?}");
    assert_eq!(tree(&out), before, "a refused render changes nothing");
}

/// A render the rules refuse into a directory that does not exist leaves no directory behind;
/// an unchanged re-render writes nothing, and one into a prepared directory writes only what
/// changed.
#[test]
fn renders_into_new_and_existing_directories_do_only_what_they_must() {
    let s = Scratch::new("dirs");
    let out = s.0.join("new");
    let bad = s.0.join("bad.cluster");
    std::fs::write(&bad, "central: 4 across cabinets [a, b],\n").expect("bad");
    let refused = clusterdef(&["render", &bad.display().to_string(), "--out", &out.display().to_string()]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(!out.exists(), "a refused render makes no directory");

    let out = out.display().to_string();
    let text = std::fs::read_to_string(production()).expect("seed");
    // Unit files are read from the project only: the copy brings its own.
    std::fs::create_dir_all(s.0.join("units")).expect("units");
    for unit in ["monitoring.service", "kubernetes.service", "var-lib-data.mount"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/units").join(unit);
        std::fs::copy(from, s.0.join("units").join(unit)).expect("unit file");
    }
    let seed = s.0.join("prod.cluster");
    std::fs::write(&seed, &text).expect("seed copy");
    let seed = seed.display().to_string();
    let first = clusterdef(&["render", &seed, "--out", &out]);
    assert_eq!(first.status.code(), Some(0), "{}", String::from_utf8_lossy(&first.stderr));
    let again = clusterdef(&["render", &seed, "--out", &out, "--format", "json"]);
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).expect("json");
    assert_eq!(report["written"], serde_json::json!([]), "an unchanged render writes nothing");
    std::fs::write(&seed, text.replacen("Web application instance", "Web app instance", 1)).expect("changed");
    let changed = clusterdef(&["render", &seed, "--out", &out, "--format", "json"]);
    assert_eq!(changed.status.code(), Some(0), "{}", String::from_utf8_lossy(&changed.stderr));
    let report: serde_json::Value = serde_json::from_slice(&changed.stdout).expect("json");
    let written = report["written"].as_array().expect("written");
    assert!(!written.is_empty(), "{report}");
    assert!(!report["unchanged"].as_array().expect("unchanged").is_empty(), "{report}");
}
