//! `clusterdef`: check, render, plan, graph, diff and export clusters declared in `.cluster`
//! files (the `cluster!` language) or in the model's YAML or JSON form; import a running
//! cluster's cloud-configs and fleet units as a declaration.
//!
//! Exit codes: 0 success; 1 the input breaks the grammar or the rules (or cannot be rendered,
//! or an import loses something); 2 bad usage or an I/O error; 3 `diff` found differences.
#![forbid(unsafe_code)]

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use clusterdef::{Artifacts, Checked, Render, RenderError, RenderOptions, output};
use clusterdef_build::input::{self, Failure, Problem};
use serde::Serialize;

mod change;
mod import;
mod pki;
mod render;

use import::{Allowed, import};

/// Declare, check and render CoreOS cluster architectures.
#[derive(Parser)]
#[command(name = "clusterdef", version, about, long_about = None)]
#[command(
    after_help = "Exit codes: 0 success, 1 the input breaks the grammar or the rules (or an import loses something), 2 usage or I/O error, 3 diff found differences.\nFILE is a .cluster file (the cluster! language), or the model's .yaml/.yml or .json form."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check FILE against the grammar and every architecture rule; exit 1 on any error.
    Check {
        /// The cluster file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Render every artifact of FILE into DIR (atomic writes, a manifest, stale files removed).
    Render {
        #[command(flatten)]
        target: Target,
        #[command(flatten)]
        step: change::StepArgs,
        /// Output format of the report.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Print the plan: roles, domains, quorum and fault tolerance per domain, unit placements.
    Plan {
        /// The cluster file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Draw the topology: domains → machines → units (and Kubernetes workloads), etcd members
    /// highlighted; with --lose, what the plan says one failure domain's loss leaves.
    Graph {
        /// The cluster file.
        file: PathBuf,
        /// Picture format.
        #[arg(long, value_enum, default_value_t = GraphFormat::Dot)]
        format: GraphFormat,
        /// Draw the cluster after this failure domain's loss (a cabinet's or zone's name).
        #[arg(long, value_name = "DOMAIN")]
        lose: Option<String>,
    },
    /// Show what `render` into DIR would add, change or remove; exit 3 if anything.
    Diff {
        #[command(flatten)]
        target: Target,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Generate the cluster's PKI into DIR, which must not exist: etcd's TLS (at the `tls:`
    /// paths) and, with `kubernetes`, Kubernetes' CAs, certificates, keys, service-account key
    /// pair, bootstrap token and kubeconfigs, one tree per machine as the files go on it.
    /// Private keys are written 0600 and never printed; nothing is overwritten.
    Pki {
        /// The cluster file.
        file: PathBuf,
        /// The directory to create.
        #[arg(long)]
        out: PathBuf,
        /// Renew the PKI in this directory (one `clusterdef pki` wrote) for FILE as now
        /// declared: the same CAs, service-account key and bootstrap token, every other
        /// certificate and key new; the directory is only read.
        #[arg(long, value_name = "OLD_DIR")]
        renew: Option<PathBuf>,
    },
    /// Plan the change of a running cluster from OLD's declaration to NEW's: the ordered steps
    /// (etcd members added as learners and promoted, removed, moved; workers; Kubernetes
    /// upgrades), the commands, and what the cluster tolerates during and after each; exit 1
    /// when a transition rule refuses the change (errors on NEW's tokens).
    Change {
        /// The declaration the cluster runs.
        old: PathBuf,
        /// The declaration it should run.
        new: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// A member of OLD whose machine is gone for good (repeatable); it is removed first.
        #[arg(long, value_name = "MEMBER")]
        dead: Vec<String>,
        /// Take a transition rule's risk on purpose: `RULE=REASON` (repeatable).
        #[arg(long, value_name = "RULE=REASON")]
        allow: Vec<String>,
        /// The cluster's PKI directory (one `clusterdef pki` wrote): list when each
        /// certificate expires, soonest first.
        #[arg(long, value_name = "DIR")]
        pki: Option<PathBuf>,
        /// With --pki, mark the certificates that expire within this many days.
        #[arg(long, value_name = "DAYS", default_value_t = 30, requires = "pki")]
        warn_days: i64,
    },
    /// Print the model's YAML or JSON form, which `check`, `render` and the rest also read.
    Export {
        /// The cluster file.
        file: PathBuf,
        /// The form.
        #[arg(long, value_enum, default_value_t = ExportFormat::Yaml)]
        format: ExportFormat,
    },
    /// Read a running cluster's cloud-configs and fleet units under DIR and print the `.cluster`
    /// declaration they implement, then check it. What the language cannot say is listed with
    /// file:line; exit 1 if anything is lost (unless --allow-lossy) or a rule is broken.
    Import {
        /// The directory of cloud-configs (`#cloud-config` files) and unit files.
        dir: PathBuf,
        /// Write the declaration to FILE instead of standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// The cluster's name, when the files do not say it (a static `initial-cluster-token` does);
        /// by default, the directory's name.
        #[arg(long)]
        name: Option<String>,
        /// Succeed even when something the cluster does cannot be declared (it is still listed).
        #[arg(long)]
        allow_lossy: bool,
        /// Write `allow(rule, reason = "imported: …")` for each rule the cluster breaks, so the
        /// declaration compiles as it is and each risk stays visible in it.
        #[arg(long)]
        allow_risks: bool,
        /// Declare and check it as a production cluster (`production: true`), which no
        /// machine's file can say.
        #[arg(long)]
        production: bool,
        /// How many machines run a member config they all share (no hostname, no address of
        /// its own): the launcher knows (a Vagrantfile's instance count, an autoscaling group),
        /// the files do not.
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        count: Option<u32>,
        /// Output format: the declaration with findings and errors on stderr, or one JSON
        /// object with all three.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
}

/// What `render` writes and `diff` compares: a cluster file, rendered into a directory.
#[derive(clap::Args)]
struct Target {
    /// The cluster file.
    file: PathBuf,
    /// The output directory (for `diff`, the one a previous render went to).
    #[arg(long)]
    out: PathBuf,
    /// The discovery URL, for a cluster declared `bootstrap: discovery` without one.
    #[arg(long, value_name = "URL")]
    discovery_url: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// For people.
    Text,
    /// For tools.
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum GraphFormat {
    /// Graphviz DOT.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
    /// SVG, laid out without Graphviz.
    Svg,
}

#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// YAML (every string quoted).
    Yaml,
    /// JSON.
    Json,
}

/// How a command ended.
enum Outcome {
    Ok,
    Invalid,
    Trouble,
    Differs,
}

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> ExitCode {
        ExitCode::from(match o {
            Outcome::Ok => 0,
            Outcome::Invalid => 1,
            Outcome::Trouble => 2,
            Outcome::Differs => 3,
        })
    }
}

/// `error:` in bold red, when stderr is a terminal and `NO_COLOR` is not set.
/// Whether errors are shown in colour: on a terminal, unless `NO_COLOR` is set.
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

fn paint(text: &str) -> String {
    if !colour() {
        return text.to_string();
    }
    text.lines()
        .map(|l| match l.strip_prefix("error:") {
            Some(rest) => format!("\x1b[1;31merror\x1b[0m:{rest}"),
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

#[derive(Serialize)]
struct CheckReport<'a> {
    ok: bool,
    errors: &'a [Problem],
}

/// Loads FILE, reporting problems in `format`; on failure, the outcome the command ends with.
fn load(file: &Path, format: Format) -> Result<Checked, Outcome> {
    input::load(file, &file.display().to_string(), &input::base_dir(file), colour()).map_err(|f| report(f, format))
}

/// Prints why a file failed, in `format`; the outcome the command ends with.
fn report(failure: Failure, format: Format) -> Outcome {
    match failure {
        Failure::Io(message) => {
            eprint!("{}", paint(&format!("error: {message}\n")));
            Outcome::Trouble
        }
        Failure::Invalid { problems, rendered } => {
            match format {
                // The `.cluster` diagnostics come styled by rustc's renderer already.
                Format::Text if colour() && rendered.contains('\x1b') => eprint!("{rendered}"),
                Format::Text => eprint!("{}", paint(&rendered)),
                Format::Json => println!("{}", json(&CheckReport { ok: false, errors: &problems })),
            }
            Outcome::Invalid
        }
    }
}

#[derive(Serialize, Default)]
struct Diff {
    added: Vec<String>,
    changed: Vec<String>,
    removed: Vec<String>,
}

/// Renders `cluster`, with the discovery URL given on the command line; a missing URL says to
/// pass `--discovery-url`.
fn render(checked: &Checked, options: &RenderOptions) -> Result<Artifacts, String> {
    render_keeping(checked, options, &clusterdef::render::KeepNothing)
}

/// [`render()`] for an output directory, leaving out the configs `keep` keeps.
fn render_keeping(
    checked: &Checked,
    options: &RenderOptions,
    keep: &dyn clusterdef::render::Keep,
) -> Result<Artifacts, String> {
    clusterdef::render::render_keeping(checked, options, keep).map_err(|e| match e {
        RenderError::MissingDiscoveryUrl => RenderError::missing_discovery_url("pass `--discovery-url URL`"),
        e => e.to_string(),
    })
}

fn diff(artifacts: &Artifacts, dir: &Path) -> Result<Diff, String> {
    let previous = output::read_manifest(dir).map_err(|e| e.to_string())?;
    let mut d = Diff::default();
    for (path, bytes) in artifacts {
        // Compared in blocks, never read whole.
        match output::holds(&dir.join(path), bytes).map_err(|e| e.to_string())? {
            Some(true) => {}
            Some(false) => d.changed.push(path.to_string()),
            None => d.added.push(path.to_string()),
        }
    }
    let rendered: BTreeSet<&str> = artifacts.paths().collect();
    d.removed = previous.iter().filter(|p| !rendered.contains(p.as_str()) && dir.join(p).exists()).cloned().collect();
    Ok(d)
}

fn run(cli: Cli) -> Outcome {
    match cli.command {
        Command::Check { file, format } => match load(&file, format) {
            Err(outcome) => outcome,
            Ok(checked) => {
                let cluster = checked.cluster();
                match format {
                    Format::Text => {
                        println!(
                            "ok: {} `{}` passes every architecture rule ({} accepted on purpose)",
                            cluster.architecture(),
                            cluster.name,
                            cluster.allows.len()
                        );
                        // Whether each allow silences something: from the rules' one run.
                        for rule in checked.stale_allows() {
                            eprintln!("warning: `allow({rule})` silences nothing; remove it");
                        }
                    }
                    Format::Json => println!("{}", json(&CheckReport { ok: true, errors: &[] })),
                }
                Outcome::Ok
            }
        },
        Command::Render { target: Target { file, out, discovery_url }, format, step } => {
            let (etcd_join, step) = match (step.from, step.step) {
                (Some(from), Some(n)) => match change::step_of(&from, &file, n, &step.dead) {
                    Ok((join, from, n)) => (Some(join), Some((from, n))),
                    Err(outcome) => return outcome,
                },
                _ => (None, None),
            };
            render::command(&file, &out, RenderOptions { discovery_url, etcd_join }, step, format)
        }
        Command::Change { old, new, format, dead, allow, pki, warn_days } => {
            change::command(&old, &new, format, dead, &allow, pki.as_deref().map(|d| (d, warn_days)))
        }
        Command::Pki { file, out, renew } => pki::command(&file, &out, renew.as_deref()),
        Command::Plan { file, format } => match load(&file, format) {
            Err(outcome) => outcome,
            Ok(checked) => {
                let plan = checked.plan();
                match format {
                    Format::Text => print!("{}", plan.tables()),
                    Format::Json => println!("{}", json(&plan)),
                }
                Outcome::Ok
            }
        },
        Command::Graph { file, format, lose } => match load(&file, Format::Text) {
            Err(outcome) => outcome,
            Ok(checked) => {
                use clusterdef::render::graph;
                let plan = checked.plan();
                let picture = match (&lose, format) {
                    (None, GraphFormat::Dot) => Ok(graph::dot(&plan)),
                    (None, GraphFormat::Mermaid) => Ok(graph::mermaid(&plan)),
                    (None, GraphFormat::Svg) => Ok(graph::svg(&plan)),
                    (Some(d), GraphFormat::Dot) => graph::dot_after(&plan, d),
                    (Some(d), GraphFormat::Mermaid) => graph::mermaid_after(&plan, d),
                    (Some(d), GraphFormat::Svg) => graph::svg_after(&plan, d),
                };
                match picture {
                    Ok(p) => {
                        print!("{p}");
                        Outcome::Ok
                    }
                    Err(e) => {
                        eprintln!("error: --lose: {e}");
                        Outcome::Trouble
                    }
                }
            }
        },
        Command::Diff { target: Target { file, out, discovery_url }, format } => match load(&file, format) {
            Err(outcome) => outcome,
            Ok(checked) => match render(&checked, &RenderOptions { discovery_url, ..RenderOptions::default() })
                .and_then(|mut a| {
                    // As `render` writes it: with the record of the declaration.
                    clusterdef_build::record::record(&mut a, checked.cluster(), None);
                    diff(&a, &out)
                }) {
                Err(e) => {
                    eprint!("{}", paint(&format!("error: {e}\n")));
                    Outcome::Trouble
                }
                Ok(d) => {
                    match format {
                        Format::Text => {
                            for p in &d.added {
                                println!("+ {p}");
                            }
                            for p in &d.changed {
                                println!("~ {p}");
                            }
                            for p in &d.removed {
                                println!("- {p}");
                            }
                            println!(
                                "{} to add, {} to change, {} to remove",
                                d.added.len(),
                                d.changed.len(),
                                d.removed.len()
                            );
                        }
                        Format::Json => println!("{}", json(&d)),
                    }
                    if d.added.is_empty() && d.changed.is_empty() && d.removed.is_empty() {
                        Outcome::Ok
                    } else {
                        Outcome::Differs
                    }
                }
            },
        },
        Command::Import { dir, out, name, allow_lossy, allow_risks, production, count, format } => {
            let allowed = Allowed { lossy: allow_lossy, risks: allow_risks };
            import(&dir, out.as_deref(), name.as_deref(), count, production, allowed, format)
        }
        Command::Export { file, format } => match load(&file, Format::Text) {
            Err(outcome) => outcome,
            Ok(checked) => match (format, checked.cluster()) {
                (ExportFormat::Json, cluster) => {
                    println!("{}", json(cluster));
                    Outcome::Ok
                }
                (ExportFormat::Yaml, cluster) => match serde_json::to_value(cluster) {
                    Ok(value) => {
                        print!("{}", clusterdef::render::yaml::document("# clusterdef model", &to_yaml(&value)));
                        Outcome::Ok
                    }
                    Err(e) => {
                        eprint!("{}", paint(&format!("error: {e}\n")));
                        Outcome::Trouble
                    }
                },
            },
        },
    }
}

/// The serde value as clusterdef's YAML, which quotes every string.
fn to_yaml(value: &serde_json::Value) -> clusterdef::render::yaml::Yaml {
    use clusterdef::render::yaml::Yaml;
    match value {
        serde_json::Value::Null => Yaml::Map(Vec::new()),
        serde_json::Value::Bool(b) => Yaml::Bool(*b),
        serde_json::Value::Number(n) => n.as_i64().map_or_else(|| Yaml::Str(n.to_string()), Yaml::Int),
        serde_json::Value::String(s) => Yaml::Str(s.clone()),
        serde_json::Value::Array(items) => Yaml::Seq(items.iter().map(to_yaml).collect()),
        serde_json::Value::Object(map) => {
            Yaml::Map(map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), to_yaml(v))).collect())
        }
    }
}

fn main() -> ExitCode {
    run(Cli::parse()).into()
}
