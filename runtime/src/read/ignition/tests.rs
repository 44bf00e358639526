//! The Ignition reader on clusterdef's own configs, on what other tools write (base64, gzip,
//! merges), and on hostile input.

use std::io::Write as _;

use super::*;
use crate::render::Render;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Every config of clusterdef's Flatcar renders reads back: each machine's hostname file
/// decodes to its hostname, and every unit entry is there.
#[test]
fn clusterdefs_own_configs_read_back() {
    let mut read = 0;
    for cluster in crate::synthetic::sample_clusters(6).into_iter().filter(|c| c.os == clusterdef_model::Os::Flatcar) {
        let Ok(artifacts) = cluster.render() else { continue };
        for (path, bytes) in artifacts.iter().filter(|(p, _)| p.ends_with(".ign")) {
            let text = std::str::from_utf8(bytes).expect("UTF-8");
            let config = parse(text).unwrap_or_else(|e| panic!("{path}: {e}"));
            assert_eq!(config.version, "3.3.0");
            assert!(config.unread.is_empty(), "{path}: {:?}", config.unread);
            let raw: Value = serde_json::from_str(text).expect("JSON");
            let units = raw["systemd"]["units"].as_array().map_or(0, Vec::len);
            assert_eq!(config.units.len(), units, "{path}");
            if let Some(hostname) = config.files.iter().find(|f| f.path == "/etc/hostname") {
                let Some(Contents::Data(bytes)) = &hostname.contents else { panic!("{path}: inline hostname") };
                let name = path.rsplit('/').next().unwrap_or_default().trim_end_matches(".ign");
                assert_eq!(String::from_utf8_lossy(bytes), format!("{name}\n"), "{path}");
            }
            read += 1;
        }
    }
    assert!(read >= 20, "{read} configs read");
}

/// What Butane and other tools write: base64, gzip, percent-escapes, appends, owners by id and
/// name, a remote file, merges inline and remote, and keys clusterdef cannot say.
#[test]
fn other_tools_configs_read_as_ignition_reads_them() {
    let unit = "[Service]\nExecStart=/bin/true\n";
    let text = serde_json::json!({
        "ignition": {
            "version": "3.4.0",
            "config": {
                "merge": [
                    { "source": format!("data:;base64,{}", base64(br#"{"ignition":{"version":"3.0.0"},"passwd":{"users":[{"name":"core","sshAuthorizedKeys":["ssh-ed25519 AAAA k"]}]}}"#)) },
                    { "source": "https://example.com/extra.ign" }
                ]
            }
        },
        "storage": {
            "files": [
                { "path": "/etc/a", "mode": 420, "overwrite": true, "user": { "id": 500 }, "group": { "name": "core" },
                  "contents": { "source": format!("data:;base64,{}", base64(&gzip(b"gzipped\n"))), "compression": "gzip" },
                  "append": [ { "source": "data:,more%0A" } ] },
                { "path": "/etc/b", "contents": { "source": "data:text/plain;charset=utf-8,a%20b%25" } },
                { "path": "/etc/c", "contents": { "source": "http://10.0.0.2/c" } }
            ],
            "directories": [ { "path": "/var/lib/x", "mode": 448 } ],
            "links": [ { "path": "/etc/l", "target": "/etc/a", "hard": false } ],
            "disks": [ { "device": "/dev/sdb" } ]
        },
        "systemd": { "units": [ { "name": "a.service", "enabled": true, "contents": unit,
                                  "dropins": [ { "name": "10-x.conf", "contents": "[Service]\nNice=5\n" } ] },
                                { "name": "b.service", "mask": true } ] },
        "kernelArguments": { "shouldExist": ["quiet"] },
        "unknownTop": 1
    })
    .to_string();
    let config = parse(&text).expect("reads");
    assert_eq!(config.version, "3.4.0");
    assert_eq!(config.files[0].contents, Some(Contents::Data(b"gzipped\n".to_vec())));
    assert_eq!(config.files[0].append, [Contents::Data(b"more\n".to_vec())]);
    assert_eq!((config.files[0].mode, config.files[0].overwrite), (Some(0o644), Some(true)));
    assert_eq!(
        (config.files[0].user.clone(), config.files[0].group.clone()),
        (Some(Owner::Id(500)), Some(Owner::Name("core".into())))
    );
    assert_eq!(config.files[1].contents, Some(Contents::Data(b"a b%".to_vec())));
    assert_eq!(config.files[2].contents, Some(Contents::Remote("http://10.0.0.2/c".into())));
    assert_eq!(config.directories, [("/var/lib/x".to_string(), Some(0o700))]);
    assert_eq!(config.links, [("/etc/l".to_string(), "/etc/a".to_string(), false)]);
    assert_eq!(config.units[0].dropins, [("10-x.conf".to_string(), Some("[Service]\nNice=5\n".to_string()))]);
    assert_eq!((config.units[1].mask, config.units[1].enabled), (Some(true), None));
    let Reference::Inline(child) = &config.merge[0] else { panic!("an inline merge") };
    assert_eq!(child.users[0].ssh_authorized_keys, ["ssh-ed25519 AAAA k"]);
    assert_eq!(config.merge[1], Reference::Remote("https://example.com/extra.ign".into()));
    let unread: Vec<&str> = config.unread.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(unread, ["/storage/disks", "/kernelArguments", "/unknownTop"]);
}

/// Hostile configs end in an error that says why, never a panic, an allocation past the
/// budget, or unbounded nesting.
#[test]
fn hostile_configs_are_refused_with_a_reason() {
    let config = |source: &str, compression: &str| {
        format!(
            r#"{{"ignition":{{"version":"3.3.0"}},"storage":{{"files":[{{"path":"/x","contents":{{"source":"{source}","compression":"{compression}"}}}}]}}}}"#
        )
    };
    // A gzip bomb: 80 MiB of zeros in a few dozen kilobytes.
    let bomb = gzip(&vec![0u8; 80 << 20]);
    assert!(bomb.len() < 200_000);
    let err = parse(&config(&format!("data:;base64,{}", base64(&bomb)), "gzip")).expect_err("refused");
    assert!(err.0.contains("gunzips to more than"), "{err}");
    // Nested configs past the depth.
    let mut nested = r#"{"ignition":{"version":"3.3.0"}}"#.to_string();
    for _ in 0..=MAX_DEPTH {
        nested = format!(
            r#"{{"ignition":{{"version":"3.3.0","config":{{"merge":[{{"source":"data:;base64,{}"}}]}}}}}}"#,
            base64(nested.as_bytes())
        );
    }
    assert!(parse(&nested).expect_err("too deep").0.contains("nested deeper"));
    for (text, says) in [
        (config("data:,%zz", ""), "malformed %-escape"),
        (config("data:;base64,!!!", ""), "not base64"),
        (config("data:,x", "bzip2"), "not one Ignition reads"),
        (config("data:;base64,aGVsbG8=", "gzip"), "not gzip"),
        (config("data:nocomma", ""), "without a ','"),
        (r#"{"ignition":{"version":"2.3.0"}}"#.to_string(), "spec 2"),
        (r#"{"ignition":{"version":"3.9.0"}}"#.to_string(), "not one Ignition 3 reads"),
        (r#"{"storage":{}}"#.to_string(), "no `ignition` section"),
        (r#"{"ignition":{"version":"3.3.0"},"storage":{"files":{}}}"#.to_string(), "not an array"),
        (r#"{"ignition":{"version":"3.3.0"},"storage":{"files":[{"mode":-1}]}}"#.to_string(), "not an integer"),
        ("[1]".to_string(), "not a JSON object"),
        ("{".to_string(), "not JSON"),
    ] {
        let err = parse(&text).expect_err(&text);
        assert!(err.0.contains(says), "{text}: {err}");
    }
    // Every prefix of a config, and every byte changed once: an answer, never a panic.
    let good = config("data:,abc", "");
    for cut in 0..good.len() {
        let _ = parse(&good[..cut]);
    }
    for i in 0..good.len() {
        let mut bytes = good.clone().into_bytes();
        bytes[i] = bytes[i].wrapping_add(1);
        let _ = parse(&String::from_utf8_lossy(&bytes));
    }
}

/// What matchbox re-marshals every config with (empty `timeouts`, `proxy` and `security.tls`)
/// sets nothing, and nothing is said unread; the same sections setting something are.
#[test]
fn empty_fetch_settings_set_nothing_and_set_ones_are_unread() {
    let empty = r#"{"ignition":{"version":"3.4.0","timeouts":{},"proxy":{"noProxy":[]},"security":{"tls":{"certificateAuthorities":[]}}}}"#;
    assert_eq!(parse(empty).expect("reads").unread, []);
    let set = r#"{"ignition":{"version":"3.4.0","timeouts":{"httpTotal":5},"security":{"tls":{"certificateAuthorities":[{"source":"https://ca"}]}}}}"#;
    let unread: Vec<String> = parse(set).expect("reads").unread.into_iter().map(|(p, _)| p).collect();
    assert_eq!(unread, ["/ignition/timeouts", "/ignition/security"]);
}
