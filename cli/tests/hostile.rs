//! The hostile-input suite: every way a user (or a file system) can hand clusterdef something
//! it must refuse, each ending in a clear error or the documented outcome, never a panic, a
//! hang or unbounded memory. Each case runs the real binary under a time limit and an
//! address-space limit (`ulimit -v`); a case that overruns either fails.
//!
//! The limits here are for a debug build, which is some ten times slower than a release one;
//! docs/reliability.md has the release figures.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clusterdef::synthetic::{Rng, many_windows, spread_template};

/// The longest a case may run (debug build).
const TIME_LIMIT: Duration = Duration::from_secs(20);

/// The address space a case may use, in KiB: 2 GiB, so reading a device to the end, or
/// expanding four billion instances, aborts instead of passing.
const MEMORY_LIMIT_KIB: u64 = 2 << 20;

/// What a bounded run of the binary did.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    took: Duration,
}

/// Runs `clusterdef args…` in `dir` under the limits; panics if it does not end in time.
fn bounded(dir: &Path, args: &[&str]) -> Run {
    let script = format!("ulimit -v {MEMORY_LIMIT_KIB} && exec \"$0\" \"$@\"");
    let started = Instant::now();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(env!("CARGO_BIN_EXE_clusterdef"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run clusterdef");
    // Drain both pipes while waiting, so a large output cannot block the child.
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut out_pipe, &mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = std::io::Read::read_to_end(&mut err_pipe, &mut s);
        s
    });
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            let stdout = String::from_utf8_lossy(&out.join().expect("stdout")).into_owned();
            let stderr = String::from_utf8_lossy(&err.join().expect("stderr")).into_owned();
            return Run { code: status.code(), stdout, stderr, took: started.elapsed() };
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("clusterdef {args:?} ran past {TIME_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

impl Run {
    /// Asserts a clean refusal: exit 1 or 2 (never 101, a panic, or a signal), with `error`
    /// text containing `says`.
    fn refused(&self, says: &str) -> &Self {
        assert!(
            matches!(self.code, Some(1 | 2)),
            "exit {:?} (a panic is 101, a signal none):\n{}",
            self.code,
            self.stderr
        );
        assert!(self.stderr.contains(says), "expected {says:?} in:\n{}", self.stderr);
        self
    }
}

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("clusterdef-hostile-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("scratch");
        Scratch(dir)
    }

    fn file(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    fn fifo(&self, name: &str) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        assert!(Command::new("mkfifo").arg(&path).status().expect("mkfifo").success());
        path
    }

    fn link(&self, name: &str, target: impl AsRef<Path>) -> PathBuf {
        let path = self.0.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::os::unix::fs::symlink(target, &path).expect("symlink");
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Non-ASCII of every width at error positions, in every front end's diagnostics: the file that
/// is only an emoji, a snowman where a count goes, bidi controls, a ZWJ sequence, a lone
/// combining mark, a BOM past byte 0. Each is a positioned error, never the renderer's panic.
#[test]
fn non_ascii_at_error_positions_is_a_positioned_error() {
    let s = Scratch::new("unicode");
    let cases = [
        "😀",
        "central: 3, workers: ☃",
        "central: 3, workers: \"é\"",
        "\u{202e}central: 3",
        "central: 3,\n\u{200f}workrs: 2",
        "central: 3, \u{301}",
        "👨\u{200d}👩\u{200d}👧",
        "central: 3,\r\n\u{feff}workers: autoscale",
        "central:\t3 across cabinets [a, b], name: \"☃\u{200d}",
    ];
    for (i, text) in cases.iter().enumerate() {
        s.file(&format!("u{i}.cluster"), text);
        bounded(&s.0, &["check", &format!("u{i}.cluster")]).refused(&format!("u{i}.cluster:"));
    }
}

/// Token soup of the language's own words with non-ASCII between them: never a panic.
#[test]
fn token_soup_with_non_ascii_never_panics() {
    let s = Scratch::new("soup");
    let seed = std::env::var("CLUSTERDEF_HOSTILE_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(17);
    let mut rng = Rng::new(seed);
    let words: Vec<&str> = clusterdef_syntax::symbol::KEYS
        .iter()
        .chain(clusterdef_syntax::symbol::VALUES)
        .flat_map(|list| list.iter().copied())
        .chain([":", ",", "{", "}", "[", "]", "\"é\"", "☃", "😀", "\u{301}", "\u{202e}", "..", "3"])
        .collect();
    for i in 0..40 {
        let text: Vec<&str> = (0..1 + rng.below(12)).map(|_| *rng.pick(&words)).collect();
        let name = format!("s{i}.cluster");
        s.file(&name, text.join(" "));
        let run = bounded(&s.0, &["check", &name]);
        assert!(
            matches!(run.code, Some(0..=2)),
            "seed {seed}, {:?}: exit {:?}\n{}",
            text.join(" "),
            run.code,
            run.stderr
        );
    }
}

/// A table cell longer than `format!`'s widths allow: a 70,000-character reason in `plan`.
#[test]
fn a_70000_character_allow_reason_plans() {
    let s = Scratch::new("long-reason");
    let reason = "r".repeat(70_000);
    s.file(
        "long.cluster",
        format!("central: 4 across cabinets [a, b, c, d],\nallow(even_members, reason = \"{reason}\"),\n"),
    );
    let run = bounded(&s.0, &["plan", "long.cluster"]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stdout.contains(&reason));
}

/// Devices, FIFOs and directories where a file is expected: refused on the handle, at once.
#[test]
fn devices_fifos_and_directories_are_refused_without_reading() {
    let s = Scratch::new("special");
    s.link("z.cluster", "/dev/zero");
    s.link("z.yaml", "/dev/zero");
    s.link("r.json", "/dev/urandom");
    s.fifo("p.cluster");
    std::fs::create_dir_all(s.0.join("d.cluster")).expect("dir");
    for (file, says) in [
        ("z.cluster", "it is a device"),
        ("z.yaml", "it is a device"),
        ("r.json", "it is a device"),
        ("p.cluster", "it is a named pipe"),
        ("d.cluster", "it is a directory"),
    ] {
        for command in ["check", "plan"] {
            let run = bounded(&s.0, &[command, file]);
            run.refused(says);
            assert!(run.took < Duration::from_secs(5), "{command} {file} took {:?}", run.took);
        }
    }
    // A unit body that is a FIFO: a positioned error on the `file "…"` tokens.
    s.fifo("units/p.service");
    s.file("unit.cluster", "central: 3,\nunit \"p.service\" { body: file \"units/p.service\" },\n");
    bounded(&s.0, &["check", "unit.cluster"]).refused("unit.cluster:2:").refused("named pipe");
}

/// What a case puts where a file was.
type Swap<'a> = dyn Fn(&Path) + 'a;

/// The record of the declaration a render keeps in its output directory, swapped for
/// something else: a symlink (to a device or a file outside), a FIFO, a directory, text that is
/// no record, a record past the limit. Each is refused, at once, without reading the thing, and
/// the directory is not written.
#[test]
fn a_swapped_declaration_record_is_refused_without_reading_it() {
    let s = Scratch::new("record");
    s.file("three.cluster", "name: \"r\", os: flatcar, network: { subnet: \"10.0.0.0/24\" }, central: 3 across cabinets [a, b, c] { addresses: \"10.0.0.11\"..=\"10.0.0.13\" },\n");
    s.file("outside.json", "{}");
    let record = |dir: &str| s.0.join(dir).join("clusterdef-declaration.json");
    let prepared = |dir: &str| {
        let run = bounded(&s.0, &["render", "three.cluster", "--out", dir]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
        std::fs::remove_file(record(dir)).expect("the record is written");
    };
    // A later release's record (a format this one does not read, a field it does not know):
    // refused as newer, at its format's line, rather than read as a broken file.
    let newer = "{\n  \"format\": 2,\n  \"signed_by\": \"a later release\"\n}\n";
    let cases: [(&str, &Swap<'_>, &str); 7] = [
        (
            "newer",
            &|p| std::fs::write(p, newer).expect("write"),
            "clusterdef-declaration.json:2:3: recorded in format 2 by a newer clusterdef",
        ),
        ("zero", &|p| std::os::unix::fs::symlink("/dev/zero", p).expect("link"), "symlink"),
        ("out", &|p| std::os::unix::fs::symlink(s.0.join("outside.json"), p).expect("link"), "symlink"),
        ("fifo", &|p| assert!(Command::new("mkfifo").arg(p).status().expect("mkfifo").success()), "named pipe"),
        ("dir", &|p| std::fs::create_dir(p).expect("dir"), "directory"),
        ("junk", &|p| std::fs::write(p, "not json at all").expect("write"), "not a declaration clusterdef recorded"),
        ("huge", &|p| std::fs::File::create(p).and_then(|f| f.set_len(65 << 20)).expect("sparse"), "more than"),
    ];
    for (dir, swap, says) in cases {
        prepared(dir);
        swap(&record(dir));
        let manifest = std::fs::read(s.0.join(dir).join("clusterdef-manifest.txt")).expect("manifest");
        let run = bounded(&s.0, &["render", "three.cluster", "--out", dir]);
        run.refused(says);
        assert!(run.took < Duration::from_secs(5), "{dir}: {:?}", run.took);
        assert_eq!(std::fs::read(s.0.join(dir).join("clusterdef-manifest.txt")).expect("manifest"), manifest, "{dir}");
    }
}

/// Flatcar's configs and matchbox's data built to hurt: a gzip bomb in a `data:` URL (80 MiB
/// of zeros in 80 KB), merges nested twenty deep, JSON cut short, a Butane alias bomb, and
/// matchbox groups and profiles whose ids climb out of the directory. Each is a finding on its
/// file, in bounded time and memory; nothing outside the directory is read or printed.
#[test]
fn hostile_flatcar_configs_and_matchbox_data_are_findings_on_their_files() {
    use base64::Engine as _;
    use std::io::Write as _;
    let s = Scratch::new("flatcar-hostile");
    let b64 = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..80 {
        gz.write_all(&[0u8; 1 << 20]).expect("compress");
    }
    let bomb = gz.finish().expect("gzip");
    s.file("bomb.ign", format!("{{\"ignition\":{{\"version\":\"3.3.0\"}},\"storage\":{{\"files\":[{{\"path\":\"/x\",\"contents\":{{\"compression\":\"gzip\",\"source\":\"data:;base64,{}\"}}}}]}}}}", b64(&bomb)));
    let mut nested = "{\"ignition\":{\"version\":\"3.3.0\"}}".to_string();
    for _ in 0..20 {
        nested = format!(
            "{{\"ignition\":{{\"version\":\"3.3.0\",\"config\":{{\"merge\":[{{\"source\":\"data:;base64,{}\"}}]}}}}}}",
            b64(nested.as_bytes())
        );
    }
    s.file("deep.ign", &nested);
    s.file("cut.json", "{\"ignition\":{\"version\":\"3.3.0\"},\"storage\":{\"files\":[");
    let mut laughs = String::from("variant: flatcar\nversion: 1.0.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9 {
        let j = i - 1;
        laughs
            .push_str(&format!("a{i}: &a{i} [*a{j}, *a{j}, *a{j}, *a{j}, *a{j}, *a{j}, *a{j}, *a{j}, *a{j}, *a{j}]\n"));
    }
    s.file("laughs.bu", &laughs);
    std::fs::create_dir_all(s.0.join("groups")).expect("groups");
    std::fs::create_dir_all(s.0.join("profiles")).expect("profiles");
    s.file(
        "groups/up.json",
        "{\"id\":\"up\",\"profile\":\"../../../../etc/passwd\",\"selector\":{\"mac\":\"52:54:00:00:00:01\"}}",
    );
    s.file("groups/g.json", "{\"id\":\"g\",\"profile\":\"p\",\"selector\":{\"mac\":\"52:54:00:00:00:02\"}}");
    s.file("profiles/p.json", "{\"id\":\"p\",\"ignition_id\":\"../../../../etc/shadow\"}");
    let run = bounded(&s.0, &["import", ".", "--format", "json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(run.took < Duration::from_secs(10), "{:?}", run.took);
    assert!(!run.stdout.contains("root:"), "nothing from /etc is read");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    let findings = report["findings"].as_array().cloned().unwrap_or_default();
    for (file, says) in [
        ("bomb.ign", "gunzips to more than"),
        ("deep.ign", "nested deeper than"),
        ("cut.json", "not an Ignition config"),
        ("laughs.bu", "not a Butane config"),
        ("groups/up.json", "no such profile"),
        ("profiles/p.json", "is not here"),
    ] {
        assert!(
            findings.iter().any(|f| f["file"] == file && f["why"].as_str().is_some_and(|w| w.contains(says))),
            "{file}: {says}: {findings:#?}"
        );
    }
}

/// A PKI directory to renew, or to list the expiries of, with its CA key swapped for a symlink
/// to a device, a FIFO or a file past the limit: the renewal is refused at once without reading
/// it, and the expiry listing skips what is no regular file.
#[test]
fn a_hostile_pki_directory_is_refused_or_skipped_without_reading() {
    let s = Scratch::new("pki");
    s.file(
        "tls.cluster",
        "name: \"p\", os: flatcar, network: { subnet: \"10.0.0.0/24\" },\ncentral: 3 across cabinets [a, b, c] { addresses: \"10.0.0.11\"..=\"10.0.0.13\" },\ntls: { ca: \"/etc/ssl/etcd/ca.pem\", cert: \"/etc/ssl/etcd/m.pem\", key: \"/etc/ssl/etcd/k.pem\" },\n",
    );
    let swaps: [(&str, &Swap<'_>); 3] = [
        ("zero", &|p| std::os::unix::fs::symlink("/dev/zero", p).expect("link")),
        ("fifo", &|p| assert!(Command::new("mkfifo").arg(p).status().expect("mkfifo").success())),
        ("huge", &|p| std::fs::File::create(p).and_then(|f| f.set_len(2 << 20)).expect("sparse")),
    ];
    for (name, swap) in swaps {
        let made = bounded(&s.0, &["pki", "tls.cluster", "--out", name]);
        assert_eq!(made.code, Some(0), "{}", made.stderr);
        let key = s.0.join(name).join("ca/etcd-ca.key");
        std::fs::remove_file(&key).expect("the CA key");
        swap(&key);
        let run = bounded(&s.0, &["pki", "tls.cluster", "--renew", name, "--out", &format!("{name}-new")]);
        run.refused("etcd-ca.key");
        assert!(run.took < Duration::from_secs(5), "{name}: {:?}", run.took);
        assert!(!s.0.join(format!("{name}-new")).exists(), "{name}: nothing written");
        let listed = bounded(&s.0, &["change", "tls.cluster", "tls.cluster", "--pki", name]);
        assert_eq!(listed.code, Some(0), "{name}: {}", listed.stderr);
        assert!(listed.took < Duration::from_secs(5), "{name}: {:?}", listed.took);
    }
}

/// Counts a small file can make large: refused before anything is expanded.
#[test]
fn huge_instance_counts_are_refused_before_expansion() {
    let s = Scratch::new("instances");
    for n in ["4294967295", "10000000"] {
        s.file(
            "i.cluster",
            format!("central: 3,\nworkers: 3,\nunit \"web@.service\" {{ body: \"[Service]\\nExecStart=/bin/true\\n\", instances: {n} }},\n"),
        );
        let run = bounded(&s.0, &["check", "i.cluster"]);
        run.refused(&format!("declares {n} instances")).refused("i.cluster:3:");
        assert!(run.took < Duration::from_secs(5), "{n}: {:?}", run.took);
    }
}

/// Work that used to grow faster than the input: a `conflicts`-spread template over 9,995
/// Flatcar workers, 5,000 per-cabinet reboot windows, 60,000 error lines. Each ends in time.
#[test]
fn inputs_that_grew_superlinear_work_end_in_time() {
    let s = Scratch::new("superlinear");
    s.file("spread.cluster", clusterdef_syntax::print::print(&spread_template(9_995)));
    let run = bounded(&s.0, &["plan", "spread.cluster"]);
    assert_eq!(run.code, Some(0), "{}", &run.stderr[..run.stderr.len().min(2_000)]);
    assert!(run.stdout.contains("web@9995.service"), "every instance is placed");
    s.file("windows.cluster", clusterdef_syntax::print::print(&many_windows(5_000)));
    let run = bounded(&s.0, &["check", "windows.cluster"]);
    assert!(matches!(run.code, Some(0 | 1)), "{}", &run.stderr[..run.stderr.len().min(2_000)]);
    s.file("errors.cluster", format!("central: 3,\n{}", "centrl: 1,\n".repeat(60_000)));
    let run = bounded(&s.0, &["check", "errors.cluster"]);
    run.refused("errors.cluster:60001:1");
    assert_eq!(run.stderr.matches("error: unknown key `centrl`").count(), 60_000);
}

/// A unit that lists one port 150,001 times (750 KB, within a declaration's 1 MiB): one error for the unit at its first
/// repeat, not one per repeat, in time.
#[test]
fn a_port_listed_150_001_times_is_one_error() {
    let s = Scratch::new("ports");
    s.file(
        "p.cluster",
        format!(
            "os: flatcar,\nkubernetes: {{ version: \"v1.36.3\" }},\nnetwork: {{ subnet: \"10.0.0.0/24\" }},\ncentral: 3 {{ addresses: \"10.0.0.11\"..\"10.0.0.13\" }},\nunit \"web.service\" {{ image: \"quay.io/x/web:1\", ports: [{}8080] }},\n",
            "8080,".repeat(150_000)
        ),
    );
    let run = bounded(&s.0, &["check", "p.cluster"]);
    run.refused("`web.service` declares port 8080 twice; it repeats 149999 ports more").refused("p.cluster:5:");
    assert_eq!(run.stderr.matches("error").count(), 1, "{}", &run.stderr[..run.stderr.len().min(2_000)]);
}

/// An import directory that links out of itself, holds special files or oversized ones: none
/// of it is read, each is a finding with its path, and nothing outside appears in the output.
#[test]
fn import_stays_inside_its_directory() {
    let s = Scratch::new("import");
    let outside = s.file("outside/secret.txt", "TOP-SECRET-CONTENT\n");
    let dir = s.0.join("d");
    std::fs::create_dir_all(&dir).expect("d");
    s.file(
        "d/node.yml",
        "#cloud-config\nhostname: node-1\ncoreos:\n  etcd2:\n    name: node-1\n    initial-cluster: node-1=http://10.0.0.1:2380\n",
    );
    s.link("d/secret.service", &outside);
    s.link("d/environ.yml", "/proc/self/environ");
    s.link("d/etc", "/etc");
    s.link("d/zero.yml", "/dev/zero");
    s.link("d/loop", &dir);
    s.link("d/nowhere.yml", s.0.join("missing"));
    s.fifo("d/pipe.yml");
    s.file("d/big.yml", format!("#cloud-config\nhostname: {}\n", "h".repeat(1 << 20)));
    let run = bounded(&s.0, &["import", "d", "--allow-lossy", "--format", "json"]);
    assert!(matches!(run.code, Some(0 | 1)), "exit {:?}: {}", run.code, run.stderr);
    assert!(!run.stdout.contains("TOP-SECRET") && !run.stderr.contains("TOP-SECRET"), "the secret leaked");
    assert!(!run.stdout.contains("PATH=") && !run.stdout.contains("root:"), "the host leaked");
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
    let findings = report["findings"].as_array().expect("findings");
    let about = |file: &str| {
        findings
            .iter()
            .find(|f| f["file"] == file)
            .map(|f| f["why"].as_str().unwrap_or_default().to_string())
            .unwrap_or_else(|| panic!("no finding on {file}: {findings:?}"))
    };
    assert!(about("secret.service").contains("outside the imported directory"));
    assert!(about("environ.yml").contains("outside the imported directory"));
    assert!(about("etc").contains("outside the imported directory"));
    assert!(about("zero.yml").contains("outside the imported directory"));
    assert!(about("nowhere.yml").contains("leads nowhere"));
    assert!(about("pipe.yml").contains("named pipe"));
    assert!(about("big.yml").contains("more than 1048576 bytes"));
    assert!(
        findings.iter().all(|f| !f["file"].as_str().unwrap_or_default().starts_with("loop/")),
        "a loop is walked once"
    );

    // A directory holding no cluster (only a link out of it), and an empty one: `--format json`
    // still prints one object, with what was not read and the error.
    std::fs::create_dir_all(s.0.join("none")).expect("none");
    s.link("none/secret.yml", &outside);
    std::fs::create_dir_all(s.0.join("empty")).expect("empty");
    for (dir, unread) in [("none", 1), ("empty", 0)] {
        let run = bounded(&s.0, &["import", dir, "--format", "json"]);
        assert_eq!(run.code, Some(1), "{dir}: {}", run.stderr);
        let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON object");
        assert_eq!(report["ok"], false);
        assert_eq!(report["declaration"], "");
        assert_eq!(report["findings"].as_array().map(Vec::len), Some(unread), "{dir}: {report}");
        assert!(
            report["errors"][0]["message"].as_str().is_some_and(|m| m.contains("no `#cloud-config` file")),
            "{report}"
        );
    }
}

/// Every entry a write swaps as one, by path, with its files and their bytes: each top-level
/// file, and each entry directly inside a top-level directory (a directory that appears or goes
/// whole shows as its entries).
type Tree = std::collections::BTreeMap<String, Vec<(String, Vec<u8>)>>;

fn tree_of(dir: &Path) -> Tree {
    let mut tree = Tree::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return tree };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if entry.path().is_dir() && !name.starts_with(".clusterdef") {
            for inner in std::fs::read_dir(entry.path()).into_iter().flatten().flatten() {
                let rel = format!("{name}/{}", inner.file_name().to_string_lossy());
                tree.insert(rel, files_of(&inner.path()));
            }
        } else {
            tree.insert(name, files_of(&entry.path()));
        }
    }
    tree
}

fn files_of(path: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![(path.to_path_buf(), String::new())];
    while let Some((p, rel)) = stack.pop() {
        if p.is_dir() {
            for e in std::fs::read_dir(&p).into_iter().flatten().flatten() {
                stack.push((e.path(), format!("{rel}/{}", e.file_name().to_string_lossy())));
            }
        } else {
            out.push((rel, std::fs::read(&p).unwrap_or_default()));
        }
    }
    out.sort();
    out
}

/// A render killed with SIGKILL at random points, over and over, alternating two clusters whose
/// renders differ in every top-level entry (one has `pxe/`, the other not): after every kill,
/// each entry a write swaps as one (a top-level file, an entry directly in a top-level
/// directory) is wholly the one render's or wholly the other's (or, inside the two renames of
/// one swap, set aside whole in the stage), and the next render completes.
/// `CLUSTERDEF_KILL_SEED` replays a run.
#[test]
fn a_render_killed_anywhere_leaves_every_entry_wholly_old_or_new() {
    let s = Scratch::new("kill");
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    for unit in ["monitoring.service", "kubernetes.service", "var-lib-data.mount"] {
        s.file(&format!("units/{unit}"), std::fs::read(examples.join("units").join(unit)).expect("unit"));
    }
    let a = std::fs::read_to_string(examples.join("cluster/production.cluster")).expect("seed");
    let b = a
        .replace("name: \"prod\",", "name: \"prod\",\nallow(pxe_boot_network, reason = \"one lab network\"),")
        .replace("    channel: beta,", "    channel: alpha,\n    boot: pxe \"http://10.0.0.2/boot\",");
    s.file("a.cluster", &a);
    s.file("b.cluster", &b);
    for (name, out) in [("a.cluster", "a"), ("b.cluster", "b")] {
        let run = bounded(&s.0, &["render", name, "--out", out]);
        assert_eq!(run.code, Some(0), "{}", run.stderr);
    }
    let (tree_a, tree_b) = (tree_of(&s.0.join("a")), tree_of(&s.0.join("b")));
    let has_pxe = |t: &Tree| t.keys().any(|k| k.starts_with("pxe/"));
    assert!(has_pxe(&tree_b) && !has_pxe(&tree_a));
    let seed = std::env::var("CLUSTERDEF_KILL_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_secs())
    });
    let mut rng = Rng::new(seed);
    let out = s.0.join("out");
    let (mut killed, mut finished) = (0, 0);
    for round in 0..80 {
        let (input, target) = if round % 2 == 0 { ("a.cluster", &tree_a) } else { ("b.cluster", &tree_b) };
        let before = tree_of(&out);
        // An entry a killed render left set aside is put back by the next render's recovery.
        let aside_before = tree_of(&out.join(".clusterdef-stage/.old"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_clusterdef"))
            .args(["render", input, "--out", "out"])
            .current_dir(&s.0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("render");
        std::thread::sleep(Duration::from_micros(rng.below(15_000) as u64));
        let _ = child.kill();
        let status = child.wait().expect("wait");
        if status.success() {
            finished += 1
        } else {
            killed += 1
        }
        let now = tree_of(&out);
        let aside = tree_of(&out.join(".clusterdef-stage/.old"));
        // Each entry is what it was before this render, or what this render makes (either may
        // be "not there"), or, inside one swap's two renames, set aside whole in the stage, or,
        // set aside by the render killed before, put back whole by this one's recovery.
        for name in before.keys().chain(target.keys()).chain(now.keys()) {
            if name.starts_with(".clusterdef") || name == "clusterdef-manifest.txt" {
                continue;
            }
            let (here, old, new) = (now.get(name), before.get(name), target.get(name));
            let ok = here == old
                || here == new
                || (old.is_none() && here.is_some() && here == aside_before.get(name))
                || (here.is_none() && aside.get(name).is_some_and(|f| Some(f) == old || Some(f) == new));
            assert!(
                ok,
                "seed {seed}, round {round}: `{name}` is neither the old nor the new render's after a kill; per file (path, same as the old, same as the new, bytes): {:?}; set aside: {:?}",
                here.map(|f| f
                    .iter()
                    .map(|(p, b)| {
                        let same = |t: Option<&Vec<(String, Vec<u8>)>>| {
                            t.and_then(|t| t.iter().find(|(q, _)| q == p)).map(|(_, c)| c == b)
                        };
                        (p.clone(), same(old), same(new), b.len())
                    })
                    .collect::<Vec<_>>()),
                aside.keys().collect::<Vec<_>>()
            );
        }
    }
    let run = bounded(&s.0, &["render", "a.cluster", "--out", "out"]);
    assert_eq!(run.code, Some(0), "seed {seed}: the render after the kills: {}", run.stderr);
    let mut now = tree_of(&out);
    now.remove("clusterdef-manifest.txt");
    let mut expected = tree_a.clone();
    expected.remove("clusterdef-manifest.txt");
    assert_eq!(now, expected, "seed {seed}: the last render is exactly its own");
    assert!(killed > 0 && finished + killed == 80, "seed {seed}: {killed} killed, {finished} finished");
}
