//! Growth of the importer over what one file can make large, and of change planning over what
//! two declarations can make large, in release (`scripts/test.sh`
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

/// `cluster` with one more worker in its pool: a change with a workers step (and, with
/// Kubernetes, every workload predicted through it).
fn one_more_worker(cluster: &clusterdef::Cluster) -> clusterdef::Cluster {
    let mut grown = cluster.clone();
    let mut pools = grown.pools.to_vec();
    if let Some(pool) = pools.first_mut()
        && let clusterdef::Size::Fixed(n) = &mut pool.size
    {
        *n += 1;
        // A pool installed by MAC gets the new machine's (of a family no other MAC has).
        if !pool.macs.is_empty() {
            pool.macs.to_mut().push(clusterdef::synthetic::mac(0x7f, 0));
        }
    }
    grown.pools = std::borrow::Cow::Owned(pools);
    grown
}

/// Asserts that planning the change to one more worker grows near-linearly over the sizes
/// `sizes` (each n, 10 n, 100 n), `cluster(n)` making OLD.
fn assert_change_near_linear(label: &str, sizes: [u32; 3], cluster: impl Fn(u32) -> clusterdef::Cluster) {
    let options = clusterdef::change::ChangeOptions::default();
    let pairs: Vec<(usize, clusterdef::Cluster, clusterdef::Cluster)> = sizes
        .into_iter()
        .map(|n| {
            let old = cluster(n);
            let new = one_more_worker(&old);
            (n as usize, old, new)
        })
        .collect();
    for (_, old, new) in &pairs {
        let plan = clusterdef::change::plan(old, new, &options).expect("plans");
        assert!(plan.steps.iter().any(|s| s.action == clusterdef::change::Action::Workers));
    }
    assert_near_linear(label, sizes[0] as usize, |n| {
        let (_, old, new) = pairs.iter().find(|(m, _, _)| *m == n).expect("built");
        let _ = std::hint::black_box(clusterdef::change::plan(old, new, &options));
    });
}

/// A change's plan over the workloads it predicts through its steps: 30 → 3,000 workloads on
/// 200 machines.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn change_plans_grow_near_linearly_in_workloads() {
    assert_change_near_linear("change (workloads)", [30, 300, 3_000], |n| {
        clusterdef::synthetic::kubernetes_at_scale(200, 20, n)
    });
}

/// A change's plan over the machines: 100 → 10,000 machines across a tenth as many cabinets,
/// 20 workloads.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn change_plans_grow_near_linearly_in_machines() {
    assert_change_near_linear("change (machines)", [100, 1_000, 10_000], |n| {
        clusterdef::synthetic::kubernetes_at_scale(n, n / 10, 20)
    });
}

/// A Flatcar cluster served by matchbox: 5 central machines and `workers` fixed workers, each
/// with a MAC address of its own (so each has an install group and a machine group).
fn on_matchbox(workers: u32) -> clusterdef::Cluster {
    let mut cluster = clusterdef::synthetic::spread_template(workers);
    cluster.units = std::borrow::Cow::Borrowed(&[]);
    clusterdef::synthetic::on_matchbox(cluster, 0)
}

/// A change's plan of a cluster served by matchbox, to one more worker installed by MAC (which
/// render matchbox serves at each step, each machine's groups): 99 → 9,900 workers.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn change_plans_of_matchbox_clusters_grow_near_linearly_in_machines() {
    let old = on_matchbox(99);
    let plan = clusterdef::change::plan(&old, &one_more_worker(&old), &Default::default()).expect("plans");
    let said: Vec<&String> = plan.steps.iter().flat_map(|s| &s.machines).collect();
    assert!(said.iter().any(|l| l.contains("installed by matchbox") && l.contains("52:54:7f:00:00:00")), "{said:#?}");
    assert_change_near_linear("change (matchbox machines)", [99, 990, 9_900], on_matchbox);
}

/// The MAC addresses' rules (one pass over every address), the matchbox layout, its groups,
/// profiles and installers, and the networks' dnsmasq snippets: 99 → 9,900 workers (the
/// largest cluster listed machine by machine is 10,000).
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn matchbox_renders_grow_near_linearly_in_machines() {
    let clusters: Vec<(usize, clusterdef::Cluster)> =
        [99, 990, 9_900].into_iter().map(|n| (n, on_matchbox(n as u32))).collect();
    for (n, cluster) in &clusters {
        let artifacts = cluster.render().expect("a matchbox cluster renders");
        let groups = artifacts.paths().filter(|p| p.starts_with("matchbox/groups/")).count();
        assert_eq!(groups, 2 * (n + 5), "an install and a machine group per machine");
    }
    let of = |n: usize| &clusters.iter().find(|(m, _)| *m == n).expect("built").1;
    // The rules alone, where one pass over the addresses is all but lost in a render.
    assert_near_linear("matchbox rules", 99, |n| {
        let _ = std::hint::black_box(of(n).check());
    });
    assert_near_linear("matchbox render", 99, |n| {
        let _ = std::hint::black_box(of(n).render());
    });
}

/// A Flatcar cluster with a PXE pool of `machines` machines, each in a zone of its own and listed
/// by MAC there: what an inventory can make large, in machines and domains at once.
fn listed_pool(machines: u32) -> clusterdef::Cluster {
    let mut cluster = clusterdef::synthetic::spread_template(3);
    cluster.units = std::borrow::Cow::Borrowed(&[]);
    cluster.boot_server = Some("http://10.0.0.2:8080".into());
    let zones: Vec<String> = (0..machines).map(|z| format!("z{z}")).collect();
    let mut pool = clusterdef::Group::new("batch", "worker", clusterdef::Size::Fixed(machines))
        .across(clusterdef::DomainKind::Zone, zones.clone());
    pool.boot = clusterdef::Boot::Pxe { url: None };
    pool.inventory = (0..machines)
        .map(|i| clusterdef::InventoryEntry {
            mac: clusterdef::synthetic::mac(1, i),
            domain: Some(zones[(i as usize) % zones.len()].clone().into()),
        })
        .collect();
    cluster.pools.to_mut().push(pool);
    cluster
}

/// The inventory's rules over 99 → 9,900 listed machines in as many zones: nothing scans the
/// inventory once per domain, or the domains once per entry.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn inventories_grow_near_linearly_in_machines_and_domains() {
    let clusters: Vec<(usize, clusterdef::Cluster)> =
        [99, 990, 9_900].into_iter().map(|n| (n, listed_pool(n as u32))).collect();
    for (_, cluster) in &clusters {
        cluster.check().expect("a listed pool passes the rules");
    }
    let of = |n: usize| &clusters.iter().find(|(m, _)| *m == n).expect("built").1;
    assert_near_linear("inventory rules", 99, |n| {
        let _ = std::hint::black_box(of(n).check());
    });
}

/// A Flatcar cluster's Ignition configs as the importer reads them (no record beside them, so
/// each is read as a machine's config).
fn flatcar_configs(machines: u32) -> Vec<SourceFile> {
    let artifacts = clusterdef::synthetic::flatcar_cluster(machines, 1).render().expect("renders");
    artifacts
        .into_iter()
        .filter(|(path, _)| path.ends_with(".ign"))
        .map(|(path, bytes)| SourceFile { path: path.to_string(), text: String::from_utf8_lossy(&bytes).into_owned() })
        .collect()
}

/// One Ignition config with 100 → 10,000 files and units of its own (pretty-printed, so each
/// has a line): each is read, scoped and compared with the render.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn import_of_ignition_grows_near_linearly_in_entries() {
    let base = flatcar_configs(12);
    let sets: Vec<(usize, Vec<SourceFile>)> = [100, 1_000, 10_000]
        .into_iter()
        .map(|n| {
            let mut files = base.clone();
            let mut config: serde_json::Value = serde_json::from_str(&files[0].text).expect("JSON");
            let stored = config["storage"]["files"].as_array_mut().expect("files");
            stored.extend((0..n).map(|i| serde_json::json!({"path": format!("/etc/wide/{i}"), "contents": {"source": "data:,x"}})));
            let units = config["systemd"]["units"].as_array_mut().expect("units");
            units.extend((0..n).map(|i| serde_json::json!({"name": format!("wide-{i}.service"), "contents": "[Service]\nExecStart=/bin/true\n"})));
            files[0].text = serde_json::to_string_pretty(&config).expect("JSON");
            (n, files)
        })
        .collect();
    for (_, files) in &sets {
        let imported = import(files, Some("wide")).expect("imports");
        assert!(imported.findings.iter().any(|f| f.what.starts_with("file `/etc/wide/")), "each is said");
    }
    assert_near_linear("import of Ignition", 100, |n| {
        let files = &sets.iter().find(|(m, _)| *m == n).expect("built").1;
        let _ = std::hint::black_box(import(files, Some("wide")));
    });
}

/// clusterdef's own Flatcar render read back with its record, 12 → 1,200 machines: the
/// record read once, each file compared with the render once.
#[test]
#[ignore = "timing: run in release by scripts/test.sh"]
fn import_of_flatcar_renders_grows_near_linearly_in_machines() {
    let sets: Vec<(usize, Vec<SourceFile>)> = [12, 120, 1_200]
        .into_iter()
        .map(|n| {
            let cluster = clusterdef::synthetic::flatcar_cluster(n as u32, 2);
            let mut files: Vec<SourceFile> = cluster
                .render()
                .expect("renders")
                .into_iter()
                .map(|(path, bytes)| SourceFile {
                    path: path.to_string(),
                    text: String::from_utf8_lossy(&bytes).into_owned(),
                })
                .collect();
            let record = clusterdef::output::record::Record::new(cluster, None);
            let text = String::from_utf8(record.to_bytes()).expect("UTF-8");
            files.push(SourceFile { path: clusterdef::output::DECLARATION.to_string(), text });
            (n, files)
        })
        .collect();
    for (_, files) in &sets {
        assert!(import(files, None).expect("imports").findings.is_empty());
    }
    assert_near_linear("import of a Flatcar render", 12, |n| {
        let files = &sets.iter().find(|(m, _)| *m == n).expect("built").1;
        let _ = std::hint::black_box(import(files, None));
    });
}
