//! The manifest across releases (a version-2 manifest hashed by FNV-1a, read by a release that
//! writes version 3), and the directory prepared ahead of a render.

use std::sync::atomic::AtomicBool;

use super::tests::{artifacts, tempdir};
use super::*;

/// The manifest an earlier release (version 2) wrote for `files` now in `dir`: FNV-1a hashes,
/// each file's stamp, or `-` for those in `unstamped` (then compared by their bytes).
fn version_2_manifest(dir: &Path, files: &[(&str, &str)], unstamped: &[&str]) -> String {
    let mut text = String::from("# Files written by clusterdef.\n# clusterdef-manifest 2 source=0000000000000001\n");
    for (rel, bytes) in files {
        let stamp = if unstamped.contains(rel) {
            "-".to_string()
        } else {
            clusterdef_fs::Stamp::of(&fs::symlink_metadata(dir.join(rel)).expect("meta")).to_text()
        };
        text.push_str(&format!("{:016x} {stamp} {rel}\n", clusterdef_fs::fnv1a(bytes.as_bytes())));
    }
    text
}

/// After an upgrade, the first render knows the previous release's files by their FNV-1a
/// hashes, whether their stamps vouch for them or their bytes are read: it keeps those that stay,
/// replaces those that change, refuses one changed by hand, and writes a manifest of this version.
#[test]
fn a_render_over_an_earlier_releases_render_knows_its_files_by_their_old_hashes() {
    let dir = tempdir("v2");
    let files = [("a/same.yml", "same"), ("a/stale.yml", "old"), ("a/read.yml", "read"), ("a/hand.yml", "hand")];
    artifacts(&files).write_to(&dir).expect("first");
    fs::write(dir.join(MANIFEST), version_2_manifest(&dir, &files, &["a/read.yml", "a/hand.yml"])).expect("v2");
    fs::write(dir.join("a/hand.yml"), "HAND").expect("changed by hand");
    let next = [("a/same.yml", "same"), ("a/stale.yml", "new"), ("a/read.yml", "read"), ("a/hand.yml", "hand!")];
    let err = artifacts(&next).write_to(&dir).expect_err("a file changed by hand");
    assert!(matches!(&err, WriteError::NotOurs(p) if p.ends_with("a/hand.yml")), "{err}");
    assert_eq!(fs::read_to_string(dir.join("a/hand.yml")).expect("kept"), "HAND");

    fs::remove_file(dir.join("a/hand.yml")).expect("the user gives it up");
    let report = artifacts(&next).write_to(&dir).expect("second");
    assert_eq!(report.unchanged, ["a/read.yml", "a/same.yml"]);
    assert_eq!(report.written, ["a/hand.yml", "a/stale.yml"]);
    let manifest = Manifest::read(&dir).expect("manifest");
    assert!(manifest.files.values().flatten().all(|e| e.digest == manifest::Digest::Content));
    assert!(
        fs::read_to_string(dir.join(MANIFEST))
            .expect("text")
            .contains(&format!("# clusterdef-manifest {}", manifest::VERSION))
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A union manifest (written while a write commits) of an earlier release's section and this
/// one's: each entry keeps the hash of its own section.
#[test]
fn each_section_of_a_union_manifest_keeps_its_hash() {
    let text = format!(
        "# clusterdef-manifest 2\n{:016x} - a/x\n# clusterdef-manifest 3 source=0000000000000002\n{:016x} - a/x\n",
        clusterdef_fs::fnv1a(b"old"),
        clusterdef_fs::content_hash(b"new")
    );
    let manifest = Manifest::parse(&text);
    let digests: Vec<_> = manifest.entries("a/x").iter().map(|e| e.digest).collect();
    assert_eq!(digests, [manifest::Digest::Fnv1a, manifest::Digest::Content]);
    assert!(manifest.wrote("a/x", b"old") && manifest.wrote("a/x", b"new"));
    assert!(!manifest.wrote("a/x", b"other"));
    assert_eq!(manifest.source, Some(2));
}

/// The source is read from the header alone, and a prepared directory tells an unchanged
/// render from its own look at the files.
#[test]
fn a_prepared_directory_knows_an_unchanged_render() {
    let dir = tempdir("prepared");
    let art = artifacts(&[("a/x.yml", "one"), ("top", "t")]);
    Prepared::open(&dir, LOCK_WAIT).expect("open").write(&art, 5).expect("write");
    assert_eq!(recorded_source(&dir), Some(5));
    let prepared = Prepared::open(&dir, LOCK_WAIT).expect("open");
    assert_eq!(prepared.up_to_date(5).expect("unchanged").unchanged, ["a/x.yml", "top"]);
    assert!(prepared.up_to_date(6).is_none(), "another source");
    drop(prepared);
    fs::write(dir.join("top"), "T").expect("changed");
    assert!(Prepared::open(&dir, LOCK_WAIT).expect("open").up_to_date(5).is_none(), "a changed file");
    assert_eq!(recorded_source(&tempdir("none")), None);
    let _ = fs::remove_dir_all(&dir);
}

/// A preparation waiting for another write's lock stops as soon as it is cancelled, not when
/// its wait runs out: a refused declaration is reported at once.
#[test]
fn a_cancelled_preparation_stops_waiting_for_the_lock() {
    let dir = tempdir("cancel");
    let held = Prepared::open(&dir, LOCK_WAIT).expect("the other write");
    let cancel = AtomicBool::new(true);
    let started = Instant::now();
    let err = Prepared::open_unless(&dir, Duration::from_secs(120), &cancel).err().expect("not taken");
    assert!(matches!(err, WriteError::Locked(_)), "{err}");
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
    drop(held);
    let _ = fs::remove_dir_all(&dir);
}

/// Version lines as a hand or a bug could leave them: an unknown or absurd version, a source
/// that is no hash, a version line cut short. Each is read without panicking: a line naming a
/// version is one (its source read when it is a hash), any other is a comment, and the entries
/// after it then read as an unversioned manifest's (a hash and a path, no stamp).
#[test]
fn hostile_version_lines_are_read_without_harm() {
    for (header, versioned, source) in [
        ("# clusterdef-manifest", false, None),
        ("# clusterdef-manifest ", false, None),
        ("# clusterdef-manifest x source=1", false, None),
        ("# clusterdef-manifest 99999999999999999999999 source=0000000000000001", false, None),
        ("# clusterdef-manifest 3 source=", true, None),
        ("# clusterdef-manifest 3 source=ffffffffffffffffff", true, None),
        ("# clusterdef-manifest 4294967295", true, None),
        ("# clusterdef-manifest 0 source=0000000000000001", true, Some(1)),
    ] {
        let text = format!("{header}\n{:016x} - a/x\n", clusterdef_fs::content_hash(b"x"));
        let manifest = Manifest::parse(&text);
        let expected = if versioned { "a/x" } else { "- a/x" };
        assert_eq!(manifest.files.keys().collect::<Vec<_>>(), [expected], "{header}");
        assert_eq!(manifest.source, source, "{header}");
    }
    let text =
        format!("# clusterdef-manifest 3 source=0000000000000009\n{:016x} - a/x\n", clusterdef_fs::content_hash(b"x"));
    for cut in 0..text.len() {
        let _ = Manifest::parse(&text[..cut]);
    }
}
