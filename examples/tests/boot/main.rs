//! The rendered artifacts of the seed clusters, checked against the software that reads them:
//! a YAML 1.1 reader, systemd-analyze, dnsmasq and a real etcd cluster. Also golden files of
//! every artifact. Regenerate the golden files with `UPDATE_GOLDEN=1`.

mod applied;
mod build_rs;
mod etcd;
mod flatcar;
mod host;
mod import;
mod kubernetes;
mod machines;
mod nodes;
mod readback;
mod support;
mod writer;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use clusterdef::render::yaml::{self, MapBuilder, Yaml};
use clusterdef::render::{Context, cloud_config};
use clusterdef::{Render, RenderOptions};
use clusterdef_examples::seed;
use support::{TempDir, entries, expected, get, read_yaml_1_1, tool};

fn golden_dir(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden").join(name)
}

fn files_under(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Ok(rel) = path.strip_prefix(dir) {
                out.insert(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out
}

#[test]
fn seed_artifact_trees_match_the_golden_files() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (name, cluster) in seed::all() {
        let artifacts = cluster.render().expect("seed clusters render");
        let dir = golden_dir(name);
        if update {
            let _ = std::fs::remove_dir_all(&dir);
            for (path, bytes) in &artifacts {
                let file = dir.join(path);
                std::fs::create_dir_all(file.parent().expect("parent")).expect("golden dir");
                std::fs::write(file, bytes).expect("write golden file");
            }
            continue;
        }
        let on_disk = files_under(&dir);
        let rendered: BTreeSet<String> = artifacts.paths().map(str::to_string).collect();
        assert_eq!(
            rendered, on_disk,
            "{name}: the files rendered differ from tests/golden/{name} (UPDATE_GOLDEN=1 to accept)"
        );
        for (path, bytes) in &artifacts {
            let golden = std::fs::read(dir.join(path)).expect("golden file");
            assert!(
                golden == *bytes,
                "{name}/{path} differs from its golden file (UPDATE_GOLDEN=1 to accept):\n{}",
                String::from_utf8_lossy(bytes)
            );
        }
        // Rendering twice gives the same bytes.
        assert_eq!(cluster.render().expect("renders again"), artifacts, "{name}: rendering is deterministic");
    }
}

/// Every cloud-config of every seed cluster, as the YAML value and the text written.
fn all_cloud_configs() -> Vec<(String, Yaml, String)> {
    let mut out = Vec::new();
    for (name, cluster) in seed::all() {
        let ctx = Context::new(cluster, &RenderOptions::default()).expect("seed clusters check");
        for (path, doc) in cloud_config::documents(&ctx) {
            let text = yaml::document("#cloud-config", &doc);
            out.push((format!("{name}/{path}"), doc, text));
        }
    }
    out
}

#[test]
fn every_cloud_config_reads_back_exactly_under_yaml_1_1() {
    let configs = all_cloud_configs();
    assert!(configs.len() >= 20, "the seeds render {} cloud-configs", configs.len());
    let texts: Vec<&str> = configs.iter().map(|(_, _, t)| t.as_str()).collect();
    let parsed = read_yaml_1_1(&texts);
    for ((path, doc, text), value) in configs.iter().zip(&parsed) {
        assert_eq!(text.lines().next(), Some("#cloud-config"), "{path}");
        assert_eq!(*value, expected(doc), "{path} reads back differently under YAML 1.1:\n{text}");
        // The values the YAML 1.1 trap would turn into booleans stay strings.
        let strategy = get(value, &["coreos", "update", "reboot-strategy"]).expect("reboot-strategy");
        assert!(strategy.is_string(), "{path}: reboot-strategy is {strategy}");
    }
    // A worker's proxy flag is the string "on", not `true`.
    let worker = configs.iter().zip(&parsed).find(|((p, _, _), _)| p == "production/cloud-config/worker-one.yml");
    let (_, value) = worker.expect("the production workers' config");
    assert_eq!(get(value, &["coreos", "etcd2", "proxy"]), Some(&serde_json::json!("on")));
}

#[test]
fn tricky_scalars_round_trip_under_yaml_1_1() {
    let tricky = [
        "off",
        "on",
        "yes",
        "no",
        "y",
        "n",
        "true",
        "False",
        "0644",
        "0o17",
        "1e3",
        "1_000",
        "0x1f",
        "~",
        "null",
        "",
        " ",
        "-",
        "- a",
        "? x",
        "a: b",
        "a #b",
        "#c",
        "x\ny",
        "x\n",
        "\n",
        "\ny\n",
        // A random seed found it (1796659633626715401): the first line that is not empty
        // starts with a space, which a literal block would read as its indentation.
        "\n 中o",
        "\n\n  x\ny",
        "  lead",
        "trail  ",
        "tab\there",
        "cr\rlf",
        "quote\"s",
        "back\\slash",
        "'single'",
        "{flow}",
        "[seq]",
        "&anchor",
        "*alias",
        "!tag",
        "%directive",
        "@at",
        "`tick",
        "|",
        ">",
        "é ü 中",
        "\u{85}nel",
        "line\u{2028}sep",
        "\u{feff}bom",
        "\u{7}bell",
        "12:30",
        "2001-12-14",
        ".inf",
        "-.Inf",
        ".nan",
        "=",
        "<<",
        "a\n  b\n\tc",
        "ends with newlines\n\n\n",
    ];
    let mut map = MapBuilder::new();
    let mut seq = Vec::new();
    for (i, s) in tricky.iter().enumerate() {
        map = map.str(&format!("k{i}"), *s);
        seq.push(Yaml::str(*s));
    }
    let keyed = tricky.iter().fold(MapBuilder::new(), |m, s| m.set(s, Yaml::Bool(true)));
    let doc = map.set("list", Yaml::Seq(seq)).set("keys", keyed.build()).build();
    let text = yaml::document("#cloud-config", &doc);
    let parsed = read_yaml_1_1(&[&text]);
    assert_eq!(parsed[0], expected(&doc), "round trip failed for:\n{text}");
}

/// Arbitrary strings (control characters, line and paragraph separators, quotes, YAML
/// indicators, non-ASCII) as values and keys read back exactly under YAML 1.1. The seed is
/// printed so a failure can be replayed with `CLUSTERDEF_YAML_SEED`.
#[test]
fn arbitrary_strings_round_trip_under_yaml_1_1() {
    let seed: u64 = std::env::var("CLUSTERDEF_YAML_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(7, |d| d.as_nanos() as u64) | 1
    });
    let mut state = seed;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let alphabet: Vec<char> = " \t\n\r\0\u{7}\u{1b}\u{7f}\u{85}\u{a0}\u{2028}\u{2029}\u{feff}\"'\\:#-?|>!&*%@`{}[],=~.0123456789aeEflnorsuxyYNéü中😀"
        .chars()
        .collect();
    let strings: Vec<String> = (0..400)
        .map(|_| {
            let len = (next() % 24) as usize;
            (0..len).map(|_| alphabet[(next() % alphabet.len() as u64) as usize]).collect()
        })
        .collect();
    let mut values = MapBuilder::new();
    for (i, s) in strings.iter().enumerate() {
        values = values.str(&format!("k{i}"), s.clone());
    }
    // Each key ends with `#` and its index, which holds no `#`: no two keys are one (`"3"` and
    // `""` with indices 3 and 33 once made two keys "33", and the reader kept one).
    let keys =
        strings.iter().enumerate().fold(MapBuilder::new(), |m, (i, s)| m.set(&format!("{s}#{i}"), Yaml::Int(i as i64)));
    let doc = values
        .set("keys", keys.build())
        .set("list", Yaml::Seq(strings.iter().map(|s| Yaml::str(s.clone())).collect()))
        .build();
    let text = yaml::document("#cloud-config", &doc);
    let parsed = read_yaml_1_1(&[&text]);
    assert_eq!(parsed[0], expected(&doc), "seed {seed}: a string did not round-trip");
}

#[test]
fn members_and_proxies_agree_on_the_initial_cluster() {
    for (name, cluster) in
        [("production", &seed::PRODUCTION), ("devtest", &seed::DEVTEST), ("large_scale", &seed::LARGE_SCALE)]
    {
        let ctx = Context::new(cluster, &RenderOptions::default()).expect("checks");
        let docs = cloud_config::documents(&ctx);
        let texts: Vec<String> = docs.iter().map(|(_, d)| yaml::document("#cloud-config", d)).collect();
        let parsed = read_yaml_1_1(&texts.iter().map(String::as_str).collect::<Vec<_>>());
        let mut lists = BTreeSet::new();
        let mut members = 0;
        for ((path, _), value) in docs.iter().zip(&parsed) {
            let Some(etcd2) = get(value, &["coreos", "etcd2"]) else { continue };
            let list = get(etcd2, &["initial-cluster"]).and_then(|v| v.as_str()).expect("initial-cluster").to_string();
            if get(etcd2, &["proxy"]).is_none() {
                members += 1;
                let own = get(etcd2, &["name"]).and_then(|v| v.as_str()).expect("name");
                let peer = get(etcd2, &["initial-advertise-peer-urls"]).and_then(|v| v.as_str()).expect("peer URL");
                assert!(
                    list.split(',').any(|entry| entry == format!("{own}={peer}")),
                    "{name}/{path}: `{own}={peer}` is not in its initial-cluster {list}"
                );
                assert_eq!(get(etcd2, &["listen-peer-urls"]).and_then(|v| v.as_str()), Some(peer), "{name}/{path}");
            }
            lists.insert(list);
        }
        assert_eq!(lists.len(), 1, "{name}: members and proxies disagree: {lists:?}");
        let entries_count = lists.iter().next().map_or(0, |l| l.split(',').count());
        assert_eq!(entries_count, members, "{name}: initial-cluster lists every member once");
    }
}

#[test]
fn every_emitted_unit_passes_systemd_analyze_verify() {
    // The units: the fleet units of every seed, and the units cloud-configs carry with content,
    // each (where, name, text). Each is verified under its own name, since systemd checks some
    // names against the contents (a mount's `Where=`).
    let mut units: Vec<(String, String, String)> = Vec::new();
    for (name, cluster) in seed::all() {
        for (path, bytes) in cluster.render().expect("renders") {
            if let Some(unit) = path.strip_prefix("units/") {
                units.push((name.to_string(), unit.to_string(), String::from_utf8(bytes).expect("utf-8")));
            }
        }
    }
    for (path, _, text) in all_cloud_configs() {
        let value = &read_yaml_1_1(&[&text])[0];
        let Some(list) = get(value, &["coreos", "units"]).and_then(|v| v.as_array()) else { continue };
        for unit in list {
            let name = get(unit, &["name"]).and_then(|v| v.as_str()).unwrap_or_default();
            if let (Some(content), false) =
                (get(unit, &["content"]).and_then(|v| v.as_str()), name.ends_with(".network"))
            {
                units.push((path.clone(), name.to_string(), content.to_string()));
            }
        }
    }
    assert!(units.len() >= 10, "{} units to verify", units.len());

    let root = TempDir::new("systemd-root");
    let texts: Vec<&str> = units.iter().map(|(_, _, t)| t.as_str()).collect();
    support::prepare_systemd_root(root.path(), &texts);
    let etc = root.path().join("etc/systemd/system");
    for (source, file, text) in &units {
        // A template is verified as an instance, so `%i` has a value. What stood at the path
        // (a stub another unit depends on) is put back after.
        let path = etc.join(file.replace("@.", "@test."));
        let before = std::fs::read(&path).ok();
        std::fs::write(&path, text).expect("unit");
        let verified = support::verify_unit(root.path(), &path);
        match &before {
            Some(bytes) => std::fs::write(&path, bytes).expect("put back"),
            None => std::fs::remove_file(&path).expect("remove"),
        }
        if let Err(complaints) = verified {
            panic!("systemd-analyze verify {file} of {source}:\n{complaints}\n--- unit ---\n{text}");
        }
    }
}

#[test]
fn pxe_dnsmasq_snippets_pass_dnsmasq_test() {
    let dnsmasq = tool("dnsmasq");
    let artifacts = seed::LARGE_SCALE.render().expect("renders");
    let dir = TempDir::new("dnsmasq");
    let snippets: Vec<_> = artifacts.iter().filter(|(p, _)| p.ends_with("/dnsmasq.conf")).collect();
    assert_eq!(snippets.len(), 3, "one per boot network: the three zones' networks");
    for (path, bytes) in snippets {
        let file = dir.path().join(path.replace('/', "-"));
        std::fs::write(&file, bytes).expect("write snippet");
        let out = Command::new(&dnsmasq).arg("--test").arg("-C").arg(&file).output().expect("run dnsmasq");
        assert!(out.status.success(), "dnsmasq --test {path}: {}", String::from_utf8_lossy(&out.stderr));
    }
    // And the check has teeth: a snippet with a bad option fails.
    let bad = dir.path().join("bad.conf");
    std::fs::write(&bad, "dhcp-range=not-an-address,proxy\n").expect("write");
    let out = Command::new(&dnsmasq).arg("--test").arg("-C").arg(&bad).output().expect("run dnsmasq");
    assert!(!out.status.success());
}

#[test]
fn pxe_boot_files_point_at_the_pools_config() {
    let artifacts = seed::LARGE_SCALE.render().expect("renders");
    for (path, bytes) in &artifacts {
        let Some(dir) = path.strip_suffix("/boot.ipxe") else { continue };
        let script = String::from_utf8_lossy(bytes);
        let url = script
            .lines()
            .find(|l| l.starts_with("kernel "))
            .and_then(|l| l.split_whitespace().find_map(|w| w.strip_prefix("cloud-config-url=")))
            .expect("the kernel line has cloud-config-url");
        let config = url.strip_prefix("http://10.10.0.5:8080/").expect("on the boot server");
        assert!(artifacts.contains(config), "{path} points at {config}, which is not rendered");
        let pxelinux = String::from_utf8_lossy(&artifacts[&format!("{dir}/pxelinux.cfg/default")]).to_string();
        assert!(pxelinux.contains(&format!("append cloud-config-url={url}\n")), "{dir}: pxelinux and iPXE agree");
        // PXE machines get no $private_ipv4: the platform does not provide it.
        let doc = String::from_utf8_lossy(&artifacts[config]).to_string();
        assert!(!doc.contains("$private_ipv4"), "{config}");
        let parsed = &read_yaml_1_1(&[&doc])[0];
        assert!(entries(parsed).iter().all(|(k, _)| k != "hostname"), "{config}: DHCP names PXE machines");
    }
}

/// The network a dnsmasq snippet answers on, from its `dhcp-range=ADDRESS,proxy,NETMASK`.
fn answers_on(snippet: &str) -> Option<(u32, u32)> {
    let range = snippet.lines().find_map(|l| l.strip_prefix("dhcp-range="))?;
    let parts: Vec<&str> = range.split(',').collect();
    let [address, "proxy", mask] = parts[..] else { panic!("not a scoped proxy range: {range}") };
    let address: std::net::Ipv4Addr = address.parse().expect("an address");
    let mask: std::net::Ipv4Addr = mask.parse().expect("a netmask");
    Some((u32::from(address) & u32::from(mask), u32::from(mask)))
}

/// A zone is a network: no two boot configs answer on one network, each answers only on its
/// own (scoped by netmask), and where pools share a network every machine they list by MAC is
/// tagged once and every kind's script exists.
#[test]
fn no_two_boot_configs_answer_on_one_network() {
    let artifacts = seed::LARGE_SCALE.render().expect("renders");
    let snippets: Vec<(&str, String)> = artifacts
        .iter()
        .filter(|(p, _)| p.ends_with("/dnsmasq.conf"))
        .map(|(p, b)| (p, String::from_utf8_lossy(b).to_string()))
        .collect();
    let networks: Vec<(&str, (u32, u32))> =
        snippets.iter().map(|(p, s)| (*p, answers_on(s).expect("every snippet names its network"))).collect();
    for (i, (a, (net_a, mask_a))) in networks.iter().enumerate() {
        for (b, (net_b, mask_b)) in &networks[i + 1..] {
            let overlap = net_a & mask_b == *net_b || net_b & mask_a == *net_a;
            assert!(!overlap, "{a} and {b} answer on one network");
        }
    }
    let zone_networks = [("us-east-1a", "10.10.0.0"), ("us-east-1b", "10.10.16.0"), ("us-east-1c", "10.10.32.0")];
    for (zone, network) in zone_networks {
        let (path, text) = snippets
            .iter()
            .find(|(_, t)| t.contains(&format!("dhcp-range={network},proxy,255.255.240.0")))
            .unwrap_or_else(|| panic!("no boot config answers on {zone}'s network"));
        // Every script a snippet hands out is rendered, and is its own zone's.
        for line in text.lines().filter(|l| l.starts_with("dhcp-boot=")) {
            let url = line.rsplit(',').next().expect("a URL");
            let script = url.strip_prefix("http://10.10.0.5:8080/").expect("on the boot server");
            assert!(artifacts.contains(script), "{path} hands out {script}, which is not rendered");
            assert!(script.contains(zone), "{path} on {zone}'s network hands out {script}");
        }
    }
    let tagged: Vec<&str> =
        snippets.iter().flat_map(|(_, t)| t.lines().filter_map(|l| l.strip_prefix("dhcp-host="))).collect();
    assert_eq!(tagged.len(), 4, "each of the batch machines is tagged once: {tagged:?}");
}

#[test]
fn a_pxe_pool_across_zones_of_one_network_is_rejected_at_run_time_too() {
    let mut cluster = seed::LARGE_SCALE.clone();
    if let Some(network) = cluster.network.as_mut() {
        network.domains = std::borrow::Cow::Borrowed(&[]);
    }
    cluster.members.addressing = clusterdef::Addressing::Range {
        first: std::net::Ipv4Addr::new(10, 10, 1, 11),
        last: std::net::Ipv4Addr::new(10, 10, 1, 15),
    };
    let err = cluster.check().expect_err("zones that share one network");
    let rules: Vec<clusterdef::Rule> = err.list.iter().map(|v| v.rule).collect();
    assert_eq!(rules, [clusterdef::Rule::PxeBootNetwork], "{err}");
    assert_eq!(err.paths, ["pool[\"worker\"].across"], "{err}");
}
