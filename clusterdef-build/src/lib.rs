//! clusterdef from `build.rs`: read a `.cluster` file (the text that would go inside
//! `cluster! { … }`, or the model's `.yaml`/`.json` form), check it with the same grammar and
//! rules as the macro, write its artifacts, and generate a typed module of the cluster's facts.
//!
//! ```ignore
//! // build.rs
//! fn main() {
//!     clusterdef_build::Builder::new("cluster/prod.cluster").compile();
//! }
//! ```
//!
//! ```ignore
//! // src/lib.rs
//! pub mod prod {
//!     clusterdef::include_cluster!("prod");
//! }
//! ```
//!
//! Errors print as `file:line:col` with the source line and a caret, all of them at once, and
//! fail the build. The script prints `cargo::rerun-if-changed` for the `.cluster` file and every
//! unit file it names, writes only under `OUT_DIR` (or the directory given), rewrites a file
//! only when its bytes change, and uses no network.
#![forbid(unsafe_code)]

pub mod input;
mod module;
pub mod record;

use std::fmt;
use std::path::PathBuf;

use clusterdef::{Cluster, Render, RenderError, RenderOptions, WriteError, WriteReport};
use clusterdef_syntax::files::unit_file_path;

pub use module::generate_module;

/// Configures one `.cluster` file's build.
#[derive(Clone, Debug)]
pub struct Builder {
    input: PathBuf,
    artifacts_dir: Option<PathBuf>,
    manifest_dir: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    discovery_url: Option<String>,
}

/// What a build produced.
#[derive(Clone, Debug)]
pub struct Output {
    /// The checked cluster.
    pub cluster: Cluster,
    /// The generated module, `OUT_DIR/clusterdef/<name>.rs`.
    pub module: PathBuf,
    /// Where the artifacts went.
    pub artifacts_dir: PathBuf,
    /// What writing the artifacts did.
    pub report: WriteReport,
    /// The files the build read, for `rerun-if-changed`.
    pub inputs: Vec<PathBuf>,
}

/// Why a build failed.
#[derive(Debug)]
pub enum Error {
    /// The `.cluster` file breaks the grammar or the rules; the text is rustc-style diagnostics.
    Cluster(String),
    /// Reading the input or writing the output failed.
    Io(PathBuf, std::io::Error),
    /// The artifacts could not be rendered.
    Render(RenderError),
    /// The artifacts could not be written.
    Write(WriteError),
    /// `build.rs` environment is missing (`OUT_DIR`, `CARGO_MANIFEST_DIR`).
    Env(&'static str),
    /// The artifacts directory holds a render of a running cluster's declaration whose change
    /// to this one needs steps (`clusterdef change`).
    Change(record::Refusal),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Cluster(diagnostics) => f.write_str(diagnostics.trim_end()),
            Error::Io(path, e) => write!(f, "{}: {e}", path.display()),
            Error::Render(RenderError::MissingDiscoveryUrl) => f.write_str(&RenderError::missing_discovery_url(
                "call `.discovery_url(\"https://discovery.etcd.io/<token>\")` on the `clusterdef_build::Builder`",
            )),
            Error::Render(e) => write!(f, "{e}"),
            Error::Write(e) => write!(f, "{e}"),
            Error::Env(var) => write!(f, "{var} is not set: clusterdef-build runs from a build script"),
            Error::Change(refusal) => write!(f, "{refusal}"),
        }
    }
}

impl std::error::Error for Error {}

impl Builder {
    /// A build of `input`, a path relative to the crate root.
    pub fn new(input: impl Into<PathBuf>) -> Builder {
        Builder { input: input.into(), artifacts_dir: None, manifest_dir: None, out_dir: None, discovery_url: None }
    }

    /// Writes the artifacts into `dir` (relative to the crate root) instead of
    /// `OUT_DIR/clusterdef/<name>/`.
    pub fn artifacts_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.artifacts_dir = Some(dir.into());
        self
    }

    /// The discovery URL for a cluster declared `bootstrap: discovery` without one (a token
    /// from `https://discovery.etcd.io/new?size=N`, kept out of the checked-in file).
    pub fn discovery_url(mut self, url: impl Into<String>) -> Builder {
        self.discovery_url = Some(url.into());
        self
    }

    /// Uses these directories instead of `CARGO_MANIFEST_DIR` and `OUT_DIR`, for tests and tools.
    pub fn dirs(mut self, manifest_dir: impl Into<PathBuf>, out_dir: impl Into<PathBuf>) -> Builder {
        self.manifest_dir = Some(manifest_dir.into());
        self.out_dir = Some(out_dir.into());
        self
    }

    /// Runs the build from `build.rs`: prints the `rerun-if-changed` lines, and on failure
    /// prints every error and exits with status 1, which fails `cargo build`.
    pub fn compile(self) -> Output {
        let input = self.input.clone();
        println!("cargo::rerun-if-changed={}", input.display());
        match self.try_compile() {
            Ok(output) => {
                for path in output.inputs.iter().skip(1) {
                    println!("cargo::rerun-if-changed={}", path.display());
                }
                output
            }
            Err(e) => {
                eprintln!("{e}");
                std::process::exit(1);
            }
        }
    }

    /// Runs the build and returns what it produced or why it failed.
    pub fn try_compile(self) -> Result<Output, Error> {
        let manifest_dir = match self.manifest_dir {
            Some(d) => d,
            None => {
                std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from).ok_or(Error::Env("CARGO_MANIFEST_DIR"))?
            }
        };
        let out_dir = match self.out_dir {
            Some(d) => d,
            None => std::env::var_os("OUT_DIR").map(PathBuf::from).ok_or(Error::Env("OUT_DIR"))?,
        };
        let path = manifest_dir.join(&self.input);
        let checked = match input::load(&path, &self.input.display().to_string(), &manifest_dir, false) {
            Ok(checked) => checked,
            Err(input::Failure::Io(message)) => {
                return Err(Error::Io(path, std::io::Error::other(message)));
            }
            Err(input::Failure::Invalid { rendered, .. }) => return Err(Error::Cluster(rendered)),
        };

        let name = self.input.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "cluster".into());
        let artifacts_dir = match self.artifacts_dir {
            Some(dir) => manifest_dir.join(dir),
            None => out_dir.join("clusterdef").join(&name),
        };
        let options = RenderOptions { discovery_url: self.discovery_url, ..Default::default() };
        // Nothing to render when the artifacts directory holds, untouched, a render of the same
        // source (`output::up_to_date`).
        let source = clusterdef::output::fingerprint(checked.cluster(), &options);
        let report = match clusterdef::output::up_to_date(&artifacts_dir, source).map_err(Error::Write)? {
            Some(report) => report,
            None => {
                // As `clusterdef render` does: never a whole render over a running cluster's
                // declaration whose change needs steps.
                record::may_render(&artifacts_dir, checked.cluster()).map_err(Error::Change)?;
                let mut artifacts = checked.render_with(&options).map_err(Error::Render)?;
                record::record(&mut artifacts, checked.cluster(), None);
                artifacts.write_to_from(&artifacts_dir, source).map_err(Error::Write)?
            }
        };

        let cluster = checked.into_cluster();
        let module_text = generate_module(&cluster, &self.input.display().to_string());
        let module = out_dir.join("clusterdef").join(format!("{name}.rs"));
        clusterdef::output::write_if_changed(&module, module_text.as_bytes()).map_err(Error::Write)?;

        let own_dir = input::own_dir(&path);
        let mut inputs = vec![path];
        inputs.extend(cluster.body_files().into_iter().filter_map(|p| unit_file_path(p, &[&manifest_dir, &own_dir])));
        Ok(Output { cluster, module, artifacts_dir, report, inputs })
    }
}

/// Shorthand for `Builder::new(input).compile()`.
pub fn compile(input: impl Into<PathBuf>) -> Output {
    Builder::new(input).compile()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("clusterdef-build-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("cluster")).expect("scratch dir");
        dir
    }

    #[test]
    fn errors_are_file_line_col_with_a_caret_and_all_reported() {
        let dir = scratch("errors");
        std::fs::write(
            dir.join("cluster/bad.cluster"),
            "name: \"bad\",\ncentral: 4 across cabinets [a, b],\nworkers: autoscale 9..2,\n",
        )
        .expect("input");
        let err = Builder::new("cluster/bad.cluster").dirs(&dir, dir.join("out")).try_compile().expect_err("rejected");
        let Error::Cluster(text) = err else { panic!("a cluster error, got {err}") };
        assert!(text.contains("error: 4 etcd members tolerate 1 failure, the same as 3"), "{text}");
        assert!(
            text.contains(
                " --> cluster/bad.cluster:2:10\n  |\n2 | central: 4 across cabinets [a, b],\n  |          ^\n"
            ),
            "{text}"
        );
        assert!(text.contains(" --> cluster/bad.cluster:2:29"), "cabinet a: {text}");
        assert!(text.contains(" --> cluster/bad.cluster:3:20"), "the autoscale minimum: {text}");
        assert_eq!(text.matches("error: ").count(), 4, "every error at once: {text}");
        assert!(!dir.join("out").exists(), "nothing is written for a rejected cluster");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// The same refusals as the macro and the CLI: a unit file outside the crate is a
    /// positioned error, and a discovery cluster without a URL says to call `.discovery_url`,
    /// which then makes it build.
    #[test]
    fn unit_files_stay_in_the_crate_and_the_discovery_url_is_an_option() {
        let dir = scratch("confined");
        std::fs::write(dir.join("secret"), "not the project's").expect("a file outside the crate");
        let crate_dir = dir.join("crate");
        std::fs::create_dir_all(crate_dir.join("cluster")).expect("crate");
        std::fs::write(
            crate_dir.join("cluster/escape.cluster"),
            "central: 3 across cabinets [a, b, c],\nunit \"x.service\" { body: file \"../secret\" },\nunit \"y.service\" { body: file \"/etc/shadow\" },\n",
        )
        .expect("input");
        let err = Builder::new("cluster/escape.cluster")
            .dirs(&crate_dir, dir.join("out"))
            .try_compile()
            .expect_err("refused");
        let Error::Cluster(text) = err else { panic!("a cluster error, got {err}") };
        assert!(text.contains(" --> cluster/escape.cluster:2:31") && text.contains("outside the project"), "{text}");
        assert!(text.contains(" --> cluster/escape.cluster:3:31") && text.contains("absolute path"), "{text}");
        assert!(!text.contains("not the project's"));

        std::fs::write(
            crate_dir.join("cluster/card.cluster"),
            "central: 5 across cabinets [a, b, c], workers: autoscale\n",
        )
        .expect("input");
        let card = || Builder::new("cluster/card.cluster").dirs(&crate_dir, dir.join("out"));
        let err = card().try_compile().expect_err("no discovery URL");
        assert!(err.to_string().contains("`.discovery_url(\"https://discovery.etcd.io/<token>\")`"), "{err}");
        let built = card().discovery_url("https://discovery.etcd.io/token").try_compile().expect("builds");
        let config = std::fs::read_to_string(built.artifacts_dir.join("cloud-config/central-1.yml")).expect("config");
        assert!(config.contains("discovery: \"https://discovery.etcd.io/token\""), "{config}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// As `clusterdef render`: the artifacts directory records the declaration, and a build of
    /// a declaration whose change from it needs steps is refused, leaving the render as it was.
    #[test]
    fn a_build_refuses_a_declaration_whose_change_from_the_rendered_one_needs_steps() {
        let dir = scratch("change");
        let three = "name: \"prod\", os: flatcar, network: { subnet: \"10.0.0.0/24\" },\ncentral: 3 across cabinets [a, b, c] { addresses: \"10.0.0.11\"..=\"10.0.0.15\" },\n";
        let input = dir.join("cluster/prod.cluster");
        std::fs::write(&input, three).expect("input");
        let build = || Builder::new("cluster/prod.cluster").dirs(&dir, dir.join("out")).artifacts_dir("artifacts");
        let built = build().try_compile().expect("builds");
        let record = built.artifacts_dir.join(record::DECLARATION);
        let before = std::fs::read(&record).expect("the declaration is recorded");
        std::fs::write(&input, three.replace("central: 3", "central: 5")).expect("input");
        let err = build().try_compile().expect_err("refused");
        assert!(matches!(err, Error::Change(_)) && err.to_string().contains("clusterdef change OLD NEW"), "{err}");
        assert_eq!(std::fs::read(&record).expect("still there"), before);
        assert!(!built.artifacts_dir.join("ignition/central-4.ign").exists(), "nothing of NEW is written");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_good_file_writes_the_module_and_artifacts_and_rewrites_nothing_unchanged() {
        let dir = scratch("good");
        std::fs::create_dir_all(dir.join("units")).expect("units");
        std::fs::write(dir.join("units/web.service"), "[Service]\nExecStart=/usr/bin/web\n").expect("unit");
        std::fs::write(dir.join("cluster/side.service"), "[Service]\nExecStart=/usr/bin/side\n").expect("unit");
        std::fs::create_dir_all(dir.join("files")).expect("files");
        std::fs::write(dir.join("files/motd"), "hello\n").expect("motd");
        std::fs::write(
            dir.join("cluster/dev.cluster"),
            "network: { subnet: \"10.0.0.0/24\" },\netcd_node: \"10.0.0.5\",\nworkers: 2,\nhost: { file \"/etc/motd\" { contents: file \"files/motd\" } },\nunit \"web.service\" { body: file \"units/web.service\" },\nunit \"side.service\" { body: file \"side.service\" },\n",
        )
        .expect("input");
        let build = || Builder::new("cluster/dev.cluster").dirs(&dir, dir.join("out")).try_compile().expect("builds");
        let first = build();
        assert_eq!(first.module, dir.join("out/clusterdef/dev.rs"));
        assert_eq!(first.artifacts_dir, dir.join("out/clusterdef/dev"));
        assert!(first.artifacts_dir.join("cloud-config/etcd-1.yml").exists());
        // Every body file is an input, the one beside the declaration and the host file's too.
        assert_eq!(
            first.inputs,
            [
                dir.join("cluster/dev.cluster"),
                dir.join("units/web.service"),
                dir.join("cluster/side.service"),
                dir.join("files/motd")
            ]
        );
        let module = std::fs::read_to_string(&first.module).expect("module");
        assert!(module.starts_with("// @generated by clusterdef-build from cluster/dev.cluster."));
        assert!(module.contains("pub const ETCD_ENDPOINTS: &[&str] = &[\"http://10.0.0.5:2379\"];"), "{module}");
        let modified = std::fs::metadata(&first.module).and_then(|m| m.modified()).expect("mtime");
        let second = build();
        assert!(second.report.written.is_empty(), "unchanged artifacts are not rewritten");
        assert_eq!(std::fs::metadata(&second.module).and_then(|m| m.modified()).expect("mtime"), modified);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn the_yaml_and_json_forms_build_like_the_dsl() {
        let dir = scratch("forms");
        let dsl = "network: { subnet: \"10.0.0.0/24\" },\netcd_node: \"10.0.0.5\",\nworkers: 2,\n";
        std::fs::write(dir.join("cluster/dev.cluster"), dsl).expect("input");
        let from_dsl =
            Builder::new("cluster/dev.cluster").dirs(&dir, dir.join("out-dsl")).try_compile().expect("builds");
        let json = serde_json::to_string(&from_dsl.cluster).expect("json form");
        std::fs::write(dir.join("cluster/dev.json"), &json).expect("json input");
        let from_json =
            Builder::new("cluster/dev.json").dirs(&dir, dir.join("out-json")).try_compile().expect("builds");
        assert_eq!(from_json.cluster, from_dsl.cluster);
        let module = |o: &Output| std::fs::read_to_string(&o.module).expect("module");
        assert_eq!(
            module(&from_json).replace("cluster/dev.json", "SOURCE"),
            module(&from_dsl).replace("cluster/dev.cluster", "SOURCE")
        );
        // An incomplete YAML form is rejected, naming the file.
        std::fs::write(dir.join("cluster/bad.yaml"), "name: \"x\"\nlayout: \"dev_test\"\nproduction: true\n")
            .expect("yaml");
        let err = Builder::new("cluster/bad.yaml").dirs(&dir, dir.join("out-bad")).try_compile().expect_err("rejected");
        assert!(err.to_string().contains("cluster/bad.yaml"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// Runs `cargo <command>` in a scratch crate under the workspace's `target/`, offline and on
    /// the workspace's lock file. `dependencies` is the manifest's dependency sections; `files`
    /// are (path, text) pairs. The scratch crates share one target directory, so the second one
    /// built reuses the first one's dependencies.
    fn scratch_cargo(name: &str, dependencies: &str, files: &[(&str, &str)], command: &str) -> std::process::Output {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let dir = root.join("target/clusterdef-scratch").join(name);
        let _ = std::fs::remove_dir_all(dir.join("src"));
        let dependencies = dependencies
            .replace("{runtime}", &format!("{:?}", root.join("runtime").display().to_string()))
            .replace("{build}", &format!("{:?}", root.join("clusterdef-build").display().to_string()));
        let manifest = format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2024\"\n\n{dependencies}\n[workspace]\n"
        );
        for (path, text) in std::iter::once(("Cargo.toml", manifest.as_str())).chain(files.iter().copied()) {
            let file = dir.join(path);
            std::fs::create_dir_all(file.parent().expect("parent")).expect("scratch dir");
            std::fs::write(file, text).expect("scratch file");
        }
        let _ = std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"));
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        std::process::Command::new(cargo)
            .args([command, "--offline", "--quiet"])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", root.join("target/clusterdef-scratch/target"))
            .env_remove("RUSTFLAGS")
            .output()
            .expect("run cargo")
    }

    /// The real thing: a crate whose build.rs checks a bad `.cluster` file fails `cargo build`,
    /// printing every error as `file:line:col` with the source line and a caret.
    #[test]
    fn a_bad_cluster_file_fails_cargo_build_with_positions() {
        let out = scratch_cargo(
            "bad-cluster",
            "[dependencies]\nclusterdef = { path = {runtime}, default-features = false }\n\n[build-dependencies]\nclusterdef-build = { path = {build} }\n",
            &[
                (
                    "build.rs",
                    "fn main() {\n    clusterdef_build::Builder::new(\"cluster/prod.cluster\").compile();\n}\n",
                ),
                ("src/main.rs", "fn main() {}\n"),
                (
                    "cluster/prod.cluster",
                    "name: \"prod\",\ncentral: 3 across cabinets [a, b],\nworkers: autoscale 9..2,\n",
                ),
            ],
            "build",
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "the build must fail:\n{stderr}");
        assert!(stderr.contains(" --> cluster/prod.cluster:2:29\n"), "cabinet a, at its position:\n{stderr}");
        assert!(stderr.contains("2 | central: 3 across cabinets [a, b],"), "{stderr}");
        assert!(stderr.contains(" --> cluster/prod.cluster:3:20\n"), "the autoscale bounds too:\n{stderr}");
    }

    /// The macro's output names the runtime crate through `$crate`, so it works when the user
    /// renames the dependency in Cargo.toml (checked with a real `cargo run`).
    #[test]
    fn the_macro_works_under_a_renamed_dependency() {
        let out = scratch_cargo(
            "renamed",
            "[dependencies]\ninfra = { package = \"clusterdef\", path = {runtime} }\n",
            &[(
                "src/main.rs",
                "#![no_implicit_prelude]\nstatic PROD: ::infra::Cluster = ::infra::cluster! { central: 5 across cabinets [a, b, c], workers: autoscale };\nfn main() {\n    ::std::println!(\"{}\", PROD.members.name);\n}\n",
            )],
            "run",
        );
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), "central\n");
    }
}
