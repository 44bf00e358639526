//! Growth of the importer over what one file can make large, in release (`scripts/test.sh`
//! runs it with `cargo test --release --features import -- --ignored`).

use clusterdef::Render;
use clusterdef::import::{SourceFile, import};
use clusterdef::synthetic::{assert_near_linear, cluster};

/// A rendered cluster's files, as the importer reads them.
fn rendered() -> Vec<SourceFile> {
    let artifacts = cluster(8, 1).render().expect("renders");
    artifacts
        .into_iter()
        .filter(|(path, _)| path.ends_with(".yml") || path.ends_with(".service"))
        .map(|(path, bytes)| SourceFile { path: path.to_string(), text: String::from_utf8_lossy(&bytes).into_owned() })
        .collect()
}

/// One unit file with `n` `MachineMetadata` lines, and one cloud-config with `n` more fleet
/// metadata pairs: 100 → 10,000 of each.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn import_grows_near_linearly_in_metadata() {
    let base = rendered();
    let sets: Vec<(usize, Vec<SourceFile>)> = [100, 1_000, 10_000]
        .into_iter()
        .map(|n| {
            let mut files = base.clone();
            let lines: String = (0..n).map(|i| format!("MachineMetadata=k{i}=v{i}\n")).collect();
            files.push(SourceFile {
                path: "units/wide.service".to_string(),
                text: format!("[Service]\nExecStart=/bin/true\n\n[X-Fleet]\n{lines}"),
            });
            let pairs: String = (0..n).map(|i| format!(",x{i}=y{i}")).collect();
            let config =
                files.iter_mut().find(|f| f.text.contains("metadata: \"role=")).expect("a config with metadata");
            config.text = config.text.replacen("metadata: \"role=", &format!("metadata: \"q=r{pairs},role="), 1);
            (n, files)
        })
        .collect();
    for (_, files) in &sets {
        let imported = import(files, Some("wide")).expect("imports");
        assert!(imported.cluster.units.iter().any(|u| u.name == "wide.service"));
    }
    assert_near_linear("import", 100, |n| {
        let files = &sets.iter().find(|(m, _)| *m == n).expect("built").1;
        let _ = std::hint::black_box(import(files, Some("wide")));
    });
}

/// YAML aliases: a cloud-config whose `ssh_authorized_keys` lists one anchored key 100 →
/// 10,000 times (each copy counted against the file's budget, none past it).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn import_grows_near_linearly_in_aliases() {
    let base = rendered();
    let sets: Vec<(usize, Vec<SourceFile>)> = [100, 1_000, 10_000]
        .into_iter()
        .map(|n| {
            let mut files = base.clone();
            let config = files.iter_mut().find(|f| f.text.starts_with("#cloud-config")).expect("a config");
            let keys = "  - *k\n".repeat(n);
            config.text = config.text.replacen(
                "#cloud-config\n",
                &format!(
                    "#cloud-config\nanchors: &k \"ssh-ed25519 AAAA{} ops@example.com\"\nssh_authorized_keys:\n{keys}",
                    "k".repeat(40)
                ),
                1,
            );
            (n, files)
        })
        .collect();
    assert_near_linear("import aliases", 100, |n| {
        let files = &sets.iter().find(|(m, _)| *m == n).expect("built").1;
        let _ = std::hint::black_box(import(files, Some("aliases")));
    });
}
