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

/// A change to one pool writes that pool's configs and nothing else's: every other config is
/// left as it was (same inode, never rewritten), none of the pool's is kept stale (a
/// fingerprint that missed the group keeps them all), and the directory then holds exactly what
/// a render into a new directory makes, manifest aside.
#[test]
fn a_change_to_one_pool_makes_only_that_pools_configs() {
    use std::os::unix::fs::MetadataExt;
    let s = Scratch::new("keep");
    let declaration = |tier: &str| {
        format!(
            "name: keep,\ncentral: 3 across cabinets [a, b, c] {{ addresses: \"10.0.0.10\"..\"10.0.0.20\" }},\n\
             network: {{ subnet: \"10.0.0.0/24\", gateway: \"10.0.0.1\" }},\n\
             pool web: 12 {{ metadata: {{ tier = {tier} }} }},\npool batch: 12 {{ metadata: {{ tier = back }} }},\n"
        )
    };
    let file = s.0.join("keep.cluster");
    let (out, fresh) = (s.0.join("out"), s.0.join("fresh"));
    let render = |into: &Path| {
        let run = clusterdef(&[
            "render",
            &file.display().to_string(),
            "--out",
            &into.display().to_string(),
            "--format",
            "json",
        ]);
        assert_eq!(run.status.code(), Some(0), "{}", String::from_utf8_lossy(&run.stderr));
        serde_json::from_slice::<serde_json::Value>(&run.stdout).expect("json")
    };
    std::fs::write(&file, declaration("front")).expect("declaration");
    render(&out);
    let inode = |rel: &str| std::fs::symlink_metadata(out.join(rel)).expect("config").ino();
    let before: Vec<(String, u64)> =
        (1..=12).map(|n| format!("cloud-config/batch-{n}.yml")).map(|rel| (rel.clone(), inode(&rel))).collect();
    std::fs::write(&file, declaration("edge")).expect("changed");
    let report = render(&out);
    let written: Vec<&str> = report["written"].as_array().expect("written").iter().filter_map(|w| w.as_str()).collect();
    let configs: Vec<&&str> = written.iter().filter(|w| w.starts_with("cloud-config/")).collect();
    assert_eq!(configs.len(), 12, "only the web pool's configs are made: {written:?}");
    assert!(configs.iter().all(|c| c.starts_with("cloud-config/web-")), "{written:?}");
    for (rel, ino) in before {
        assert_eq!(inode(&rel), ino, "{rel} was rewritten");
    }
    render(&fresh);
    let strip = |dir: &Path| -> Vec<(PathBuf, Vec<u8>)> {
        tree(dir)
            .into_iter()
            .filter(|(p, _)| !p.ends_with("clusterdef-manifest.txt"))
            .map(|(p, b)| (p.strip_prefix(dir).expect("inside").to_path_buf(), b))
            .collect()
    };
    assert!(strip(&out) == strip(&fresh), "the kept render differs from a fresh one");
}
