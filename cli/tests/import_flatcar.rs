//! `clusterdef import` of clusterdef's own Flatcar renders: the declaration read back from the
//! directory `clusterdef render` wrote, every file compared with what it renders, and a hand
//! edit named at its file and line.

mod support;

use std::path::Path;

use support::{Scratch, clusterdef, stderr, stdout};

fn kubernetes() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster/kubernetes.cluster").display().to_string()
}

/// Every file under `dir` but the manifest (the writer's bookkeeping: stamps and the program's
/// fingerprint), by path.
fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("a directory") {
            let path = entry.expect("an entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(dir).expect("under dir").display().to_string();
                if rel != "clusterdef-manifest.txt" {
                    found.push((rel, std::fs::read(&path).expect("read")));
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn a_flatcar_render_imports_to_a_declaration_that_renders_it_again_byte_for_byte() {
    let s = Scratch::new("import-flatcar");
    let (first, again, declared) = (s.path("first"), s.path("again"), s.path("imported.cluster"));
    let o = clusterdef(&["render", &kubernetes(), "--out", &first]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = clusterdef(&["import", &first, "--out", &declared]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stderr(&o), "", "nothing lost, nothing to note");
    let o = clusterdef(&["render", &declared, "--out", &again]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (before, after) = (files(Path::new(&first)), files(Path::new(&again)));
    assert_eq!(before.len(), after.len());
    for ((path, bytes), (path_again, bytes_again)) in before.iter().zip(&after) {
        assert_eq!(path, path_again);
        assert!(bytes == bytes_again, "{path} differs after the round trip");
    }
    // The imported declaration over the first render: nothing to change.
    let o = clusterdef(&["diff", &declared, "--out", &first]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
}

#[test]
fn a_hand_edit_of_a_flatcar_render_fails_the_import_at_its_line_and_a_broken_record_at_its_column() {
    let s = Scratch::new("import-flatcar-edited");
    let dir = s.path("out");
    let o = clusterdef(&["render", &kubernetes(), "--out", &dir]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    // worker-1's config written out again by hand, one file added at its end.
    let config = Path::new(&dir).join("ignition/worker-1.ign");
    let text = std::fs::read_to_string(&config).expect("the config");
    let (head, tail) = text.split_once("\"files\":[").expect("files");
    let edited =
        format!("{head}\"files\":[\n{{\"path\":\"/etc/by-hand\",\"contents\":{{\"source\":\"data:,x\"}}}},\n{tail}");
    std::fs::write(&config, edited).expect("edit");
    let o = clusterdef(&["import", &dir]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(
            "ignition/worker-1.ign:2: lossy: file `/etc/by-hand` (/storage/files/0): the declaration does not render it"
        ),
        "{}",
        stderr(&o)
    );
    let o = clusterdef(&["import", &dir, "--allow-lossy", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("JSON");
    let findings = report["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!((findings[0]["line"].as_u64(), findings[0]["severity"].as_str()), (Some(2), Some("lossy")));
    // The record cut short: nothing else in the directory says the cluster.
    let record = Path::new(&dir).join("clusterdef-declaration.json");
    let text = std::fs::read_to_string(&record).expect("the record");
    std::fs::write(&record, &text[..text.len() / 2]).expect("cut");
    let o = clusterdef(&["import", &dir]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let said = stderr(&o);
    let at = said.split("clusterdef-declaration.json:").nth(1).expect("the record's position");
    let (line, column) = at.split_once(':').map(|(l, rest)| (l, rest.split(':').next().unwrap_or(""))).expect("l:c");
    assert!(line.parse::<usize>().is_ok_and(|l| l > 1) && column.parse::<usize>().is_ok(), "{said}");
    // A later release's record: named as newer, at its format's line, not read as this
    // release's.
    std::fs::write(&record, text.replacen("\"format\": 1", "\"format\": 7", 1)).expect("newer");
    let o = clusterdef(&["import", &dir]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("clusterdef-declaration.json:2:3: recorded in format 7 by a newer clusterdef"),
        "{}",
        stderr(&o)
    );
}
