//! A render for a directory leaves out the configs the directory holds made from the same
//! inputs: what it writes must be byte for byte what a full render writes, whatever changed.

use std::borrow::Cow;

use clusterdef_model::{Checked, Cluster, synthetic};

use super::tests::tempdir;
use super::*;
use crate::render::{Render, RenderOptions, render_keeping};

fn options() -> RenderOptions {
    RenderOptions { discovery_url: Some("https://discovery.etcd.io/t".to_string()), ..RenderOptions::default() }
}

/// Renders `cluster` into `dir` as `clusterdef render` does: the directory prepared first, the
/// configs it holds from the same inputs left out. The render's artifacts and the report.
fn render_into(dir: &Path, cluster: &Cluster) -> (Artifacts, WriteReport) {
    let (prepared, artifacts) = prepare_and_render(dir, cluster);
    let report = prepared.write(&artifacts, fingerprint(cluster, &options())).expect("written");
    (artifacts, report)
}

/// `dir` prepared for a write, and `cluster` rendered for it (leaving out what it keeps), not
/// yet written.
fn prepare_and_render(dir: &Path, cluster: &Cluster) -> (Prepared, Artifacts) {
    let checked = Checked::new(cluster.clone()).expect("checks");
    let prepared = Prepared::open(dir, LOCK_WAIT).expect("prepared");
    let artifacts = render_keeping(&checked, &options(), &prepared).expect("renders");
    (prepared, artifacts)
}

/// Asserts `dir` holds exactly what a full render of `cluster` makes, and the manifest lists
/// exactly those files.
fn assert_holds_full_render(dir: &Path, cluster: &Cluster, what: &str) {
    let full = cluster.render_with(&options()).expect("renders");
    for (rel, bytes) in &full {
        let held = fs::read(dir.join(rel)).unwrap_or_else(|e| panic!("{what}: {rel}: {e}"));
        assert!(held == bytes, "{what}: {rel} differs from a full render's");
    }
    let listed: Vec<String> = read_manifest(dir).expect("manifest").into_iter().collect();
    assert_eq!(listed, full.paths().map(str::to_string).collect::<Vec<_>>(), "{what}");
}

/// Ways a declaration changes, each named: one pool's metadata (its configs change, no other's),
/// its size, the SSH keys every machine carries, a unit's body, the members' hostnames.
fn changes(cluster: &Cluster) -> Vec<(&'static str, Cluster)> {
    let mut out = Vec::new();
    if !cluster.pools.is_empty() {
        let mut c = cluster.clone();
        let pool = &mut c.pools.to_mut()[0];
        let mut metadata = pool.metadata.to_vec();
        metadata.push(("rack".into(), "r9".into()));
        pool.metadata = Cow::Owned(metadata);
        out.push(("a pool's metadata", c));
        let mut c = cluster.clone();
        let pool = &mut c.pools.to_mut()[0];
        if let clusterdef_model::Size::Fixed(n) = pool.size {
            pool.size = clusterdef_model::Size::Fixed(n + 1);
            out.push(("a pool's size", c));
        }
    }
    let mut c = cluster.clone();
    let mut keys = c.ssh_keys.to_vec();
    keys.push("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKeep keep@example".into());
    c.ssh_keys = Cow::Owned(keys);
    out.push(("the cluster's SSH keys", c));
    if !cluster.units.is_empty() {
        let mut c = cluster.clone();
        let unit = &mut c.units.to_mut()[0];
        unit.body = clusterdef_model::UnitBody::Inline(format!("{}\n# changed\n", unit.body.text()).into());
        out.push(("a unit's body", c));
    }
    let mut c = cluster.clone();
    c.members.hostnames = clusterdef_model::Hostnames::Pattern("m-{n}".into());
    out.push(("the members' hostnames", c));
    out
}

/// For CoreOS, Flatcar and Kubernetes clusters, fixed and random, and each change of
/// [`changes`] in both directions: a render into the directory holding the other declaration's
/// render writes what a full render writes, and keeps configs whose inputs stayed (a change to
/// one pool keeps every config but that pool's).
#[test]
fn a_render_that_keeps_configs_writes_what_a_full_render_writes() {
    let mut clusters = crate::synthetic::sample_clusters(12);
    // Served by matchbox, each config has a copy in `matchbox/ignition/`: both kept, or both made.
    clusters.extend(
        (0..6).map(|seed| crate::synthetic::on_matchbox(synthetic::random_flatcar_cluster(seed).0, seed as u8)),
    );
    let (mut checked_pairs, mut kept_in_all) = (0, 0);
    for (n, cluster) in clusters.iter().enumerate() {
        if Checked::new(cluster.clone()).is_err() {
            continue;
        }
        for (what, changed) in changes(cluster) {
            if Checked::new(changed.clone()).is_err() {
                continue;
            }
            checked_pairs += 1;
            let dir = tempdir(&format!("keep-{n}"));
            for (from, to) in [(cluster, &changed), (&changed, cluster)] {
                render_into(&dir, from);
                let (artifacts, report) = render_into(&dir, to);
                let what = format!("{} after {what}", to.name);
                assert_holds_full_render(&dir, to, &what);
                let kept: Vec<&str> = artifacts.kept().collect();
                assert!(kept.iter().all(|k| report.unchanged.iter().any(|u| u == k)), "{what}: kept but not unchanged");
                kept_in_all += kept.len();
                if what.contains("a pool's metadata") && cluster.kubernetes.is_none() {
                    // Every config outside the pool is kept; none of the pool's is.
                    let pool = clusterdef_model::GroupRef::Pool(0);
                    let placed = to.placed_groups();
                    let in_pool = |rel: &str| {
                        placed.iter().filter(|p| p.group_ref == pool).any(|p| {
                            let name = crate::render::file_component(&p.group.name);
                            rel.rsplit('/').next().is_some_and(|f| f.starts_with(&name))
                        })
                    };
                    let configs: Vec<&str> = artifacts
                        .paths()
                        .chain(artifacts.kept())
                        .filter(|rel| artifacts.inputs(rel).is_some())
                        .collect();
                    assert!(configs.iter().filter(|c| !in_pool(c)).all(|c| kept.contains(c)), "{what}: {kept:?}");
                }
            }
            let _ = fs::remove_dir_all(&dir);
        }
    }
    assert!(checked_pairs >= 20, "only {checked_pairs} changes passed the rules");
    assert!(kept_in_all > 0, "no config was ever kept");
}

/// A config changed by hand since clusterdef wrote it is never kept: the render makes it and
/// refuses to overwrite it, as for any file changed by someone else.
#[test]
fn a_config_changed_by_hand_is_not_kept() {
    let cluster = synthetic::cluster(12, 2);
    let dir = tempdir("keep-hand");
    render_into(&dir, &cluster);
    let rel = "cloud-config/central-1.yml";
    let mut bytes = fs::read(dir.join(rel)).expect("rendered");
    bytes.extend_from_slice(b"# mine\n");
    fs::write(dir.join(rel), &bytes).expect("edited");
    let (prepared, artifacts) = prepare_and_render(&dir, &cluster);
    assert!(!artifacts.kept().any(|k| k == rel) && artifacts.contains(rel), "an edited config is made again");
    let err = prepared.write(&artifacts, fingerprint(&cluster, &options())).expect_err("refused");
    assert!(matches!(&err, WriteError::NotOurs(p) if p.ends_with(rel)), "{err}");
    assert!(fs::read(dir.join(rel)).expect("left").ends_with(b"# mine\n"));
    let _ = fs::remove_dir_all(&dir);
}

/// A manifest of version 3 (no inputs) keeps nothing; the next render records every config's
/// inputs, and a render of the same declaration after it keeps them all.
#[test]
fn configs_are_kept_only_once_the_manifest_records_their_inputs() {
    let cluster = synthetic::cluster(12, 2);
    let dir = tempdir("keep-v3");
    render_into(&dir, &cluster);
    let text = fs::read_to_string(dir.join(MANIFEST)).expect("manifest");
    let v3: String = text
        .lines()
        .map(|line| match line.split(' ').collect::<Vec<_>>().as_slice() {
            [hash, stamp, _inputs, rel] if !line.starts_with('#') => format!("{hash} {stamp} {rel}\n"),
            _ => format!("{}\n", line.replace(&format!("manifest {}", manifest::VERSION), "manifest 3")),
        })
        .collect();
    fs::write(dir.join(MANIFEST), v3).expect("version 3");
    let (artifacts, report) = render_into(&dir, &cluster);
    assert_eq!(artifacts.kept().count(), 0, "a version-3 manifest records no inputs");
    assert!(report.written.is_empty(), "every file is known unchanged: {:?}", report.written);
    let (artifacts, _) = render_into(&dir, &cluster);
    let configs = artifacts.paths().chain(artifacts.kept()).filter(|rel| artifacts.inputs(rel).is_some()).count();
    assert!(configs > 0 && artifacts.kept().count() == configs, "kept {} of {configs}", artifacts.kept().count());
    assert_holds_full_render(&dir, &cluster, "the same declaration");
    let _ = fs::remove_dir_all(&dir);
}

/// A manifest edited by hand never makes the render keep what it should make: inputs that are
/// not 16 hex digits are none, inputs swapped between two configs keep neither, and lines with
/// fields missing, extra or mangled are read without a panic.
#[test]
fn a_manifest_edited_by_hand_keeps_nothing_it_should_not() {
    let cluster = synthetic::cluster(12, 2);
    let dir = tempdir("keep-edited");
    render_into(&dir, &cluster);
    let text = fs::read_to_string(dir.join(MANIFEST)).expect("manifest");
    let mut lines: Vec<Vec<String>> = text.lines().map(|l| l.split(' ').map(str::to_string).collect()).collect();
    let configs: Vec<usize> =
        (0..lines.len()).filter(|&i| lines[i].len() == 4 && lines[i][3].starts_with("cloud-config/")).collect();
    let (a, b) = (configs[0], configs[1]);
    let swapped = lines[a][2].clone();
    lines[a][2] = lines[b][2].clone();
    lines[b][2] = swapped;
    lines[configs[2]][2] = "not-hex-at-all!!".to_string();
    lines[configs[3]][2] = "0123".to_string();
    let mut edited: String = lines.iter().map(|l| format!("{}\n", l.join(" "))).collect();
    edited.push_str("ffffffffffffffff - 0123456789abcdef\n\u{0} \u{0} \u{0} \u{0} \u{0}\n- - - -\n");
    fs::write(dir.join(MANIFEST), edited).expect("edited");
    let (prepared, artifacts) = prepare_and_render(&dir, &cluster);
    let kept: Vec<&str> = artifacts.kept().collect();
    for i in [a, b, configs[2], configs[3]] {
        assert!(!kept.contains(&lines[i][3].as_str()), "{} kept from an edited line", lines[i][3]);
    }
    assert!(kept.contains(&lines[configs[4]][3].as_str()), "an untouched line keeps its config");
    prepared.write(&artifacts, fingerprint(&cluster, &options())).expect("written");
    assert_holds_full_render(&dir, &cluster, "after an edited manifest");
    let _ = fs::remove_dir_all(&dir);
}

/// A matchbox copy of a config removed by hand is made again, with its original, from the same
/// inputs; the configs whose copies stayed are kept.
#[test]
fn a_missing_matchbox_copy_is_made_again() {
    let cluster = crate::synthetic::on_matchbox(synthetic::flatcar_cluster(12, 2), 7);
    let dir = tempdir("keep-matchbox");
    render_into(&dir, &cluster);
    let copy = "matchbox/ignition/central-1.ign";
    let original = fs::read(dir.join(copy)).expect("rendered");
    fs::remove_file(dir.join(copy)).expect("removed by hand");
    let (artifacts, report) = render_into(&dir, &cluster);
    assert!(artifacts.contains(copy) && artifacts.contains("ignition/central-1.ign"), "both are made again");
    assert!(report.written.iter().any(|w| w == copy), "{:?}", report.written);
    assert_eq!(fs::read(dir.join(copy)).expect("back"), original);
    assert!(artifacts.kept().any(|k| k == "matchbox/ignition/central-2.ign"), "the others stay kept");
    assert_holds_full_render(&dir, &cluster, "after a copy was removed");
    let _ = fs::remove_dir_all(&dir);
}
