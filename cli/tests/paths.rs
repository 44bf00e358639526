//! Paths as users type them: the declaration named from the crate root, from inside `cluster/`,
//! absolute, with `./` and with `..`; unit and host files named relative to the crate root or
//! kept beside the declaration; `..` that stays inside the project works, one that leaves is
//! refused, and a path that names two files is refused rather than one chosen.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn clusterdef_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clusterdef"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run clusterdef")
}

fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

struct Project(PathBuf);

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

const DECLARATION: &str = r#"name: "paths",
bootstrap: discovery "https://discovery.etcd.io/token",
central: 3 across cabinets [a, b, c],
workers: autoscale,
host: { file "/etc/motd" { contents: file "files/motd" } },
unit "a.service" { body: file "units/a.service" },
unit "b.service" { body: file "./units/b.service" },
unit "c.service" { body: file "cluster/../units/c.service" },
unit "beside.service" { body: file "beside.service" },
"#;

/// A crate with `cluster/prod.cluster`, unit files under `units/` and one beside the
/// declaration, and a file outside the crate.
fn project(name: &str) -> Project {
    let root = std::env::temp_dir().join(format!("clusterdef-paths-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let krate = root.join("crate");
    for dir in ["cluster", "units", "files"] {
        std::fs::create_dir_all(krate.join(dir)).expect("dirs");
    }
    std::fs::write(krate.join("Cargo.toml"), "[package]\nname = \"p\"\nversion = \"0.1.0\"\n").expect("manifest");
    for unit in ["a", "b", "c"] {
        std::fs::write(krate.join(format!("units/{unit}.service")), format!("[Service]\nExecStart=/bin/{unit}\n"))
            .expect("unit");
    }
    std::fs::write(krate.join("cluster/beside.service"), "[Service]\nExecStart=/bin/beside\n").expect("beside");
    std::fs::write(krate.join("files/motd"), "welcome\n").expect("motd");
    std::fs::write(krate.join("cluster/prod.cluster"), DECLARATION).expect("declaration");
    std::fs::write(root.join("secret"), "outside").expect("secret");
    Project(root)
}

#[test]
fn the_declaration_is_found_however_its_path_is_written() {
    let p = project("ways");
    let krate = p.0.join("crate");
    let absolute = krate.join("cluster/prod.cluster").display().to_string();
    let ways: [(PathBuf, &str); 6] = [
        (krate.clone(), "cluster/prod.cluster"),
        (krate.clone(), "./cluster/prod.cluster"),
        (krate.join("cluster"), "prod.cluster"),
        (krate.join("cluster"), "../cluster/prod.cluster"),
        (krate.join("units"), "../cluster/prod.cluster"),
        (p.0.clone(), &absolute),
    ];
    for (dir, file) in &ways {
        let out = clusterdef_in(dir, &["check", file]);
        assert_eq!(out.status.code(), Some(0), "check {file} from {}: {}", dir.display(), text(&out));
    }
    // Rendering from inside `cluster/` writes the same bodies as from the crate root.
    let from_root = clusterdef_in(&krate, &["render", "cluster/prod.cluster", "--out", "../out-root"]);
    assert_eq!(from_root.status.code(), Some(0), "{}", text(&from_root));
    let from_inside = clusterdef_in(&krate.join("cluster"), &["render", "prod.cluster", "--out", "../../out-inside"]);
    assert_eq!(from_inside.status.code(), Some(0), "{}", text(&from_inside));
    let config = |out: &str| std::fs::read_to_string(p.0.join(out).join("cloud-config/central-1.yml")).expect("config");
    assert_eq!(config("out-root"), config("out-inside"));
    for body in ["/bin/a", "/bin/b", "/bin/c", "/bin/beside"] {
        let units = std::fs::read_dir(p.0.join("out-root/units")).expect("fleet units");
        let found =
            units.filter_map(Result::ok).any(|e| std::fs::read_to_string(e.path()).unwrap_or_default().contains(body));
        assert!(found, "{body} in the rendered fleet units");
    }
    assert!(config("out-root").contains("welcome"), "the host file's contents");
}

#[test]
fn a_path_that_leaves_the_project_or_names_two_files_is_refused_at_its_position() {
    let p = project("refused");
    let krate = p.0.join("crate");
    std::fs::write(
        krate.join("cluster/bad.cluster"),
        "central: 3 across cabinets [a, b, c],\nunit \"x.service\" { body: file \"../../secret\" },\n",
    )
    .expect("declaration");
    for (dir, file) in [(krate.clone(), "cluster/bad.cluster"), (krate.join("cluster"), "bad.cluster")] {
        let out = clusterdef_in(&dir, &["check", file]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        assert!(text(&out).contains("outside the project"), "{}", text(&out));
        assert!(text(&out).contains(&format!("{file}:2:31")), "{}", text(&out));
        assert!(!text(&out).contains("outside\n"), "the secret is never printed");
    }
    // `units/a.service` at the crate root and beside the declaration: two files, refused.
    std::fs::create_dir_all(krate.join("cluster/units")).expect("dirs");
    std::fs::write(krate.join("cluster/units/a.service"), "[Service]\nExecStart=/bin/other\n").expect("unit");
    let out = clusterdef_in(&krate, &["check", "cluster/prod.cluster"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("names a file relative to the crate root"), "{}", text(&out));
    assert!(text(&out).contains("cluster/prod.cluster:6:31"), "{}", text(&out));
}
