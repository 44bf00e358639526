//! `clusterdef change OLD NEW`: the plan of a running cluster's change, or every transition
//! rule it breaks on NEW's tokens; and `render NEW --step N --from OLD`'s joining member.

use std::path::{Path, PathBuf};

use clusterdef::change::{self, CertificateExpiry, ChangeOptions, ChangePlan, ChangeRule, Finding};
use clusterdef::render::EtcdJoin;
use clusterdef_build::input;

use crate::{Format, Outcome, colour, json, load, paint, report};

/// `render`'s flags for one step of a change.
#[derive(clap::Args)]
pub(crate) struct StepArgs {
    /// Render the configurations of step N of the change from --from to FILE: a member that
    /// joins in that step starts with the membership of that moment (see `clusterdef change`).
    #[arg(long, value_name = "N", requires = "from", value_parser = clap::value_parser!(u32).range(1..))]
    pub step: Option<u32>,
    /// The declaration the cluster runs (with --step).
    #[arg(long, value_name = "OLD", requires = "step")]
    pub from: Option<PathBuf>,
    /// A member of OLD whose machine is gone for good, as given to `clusterdef change`.
    #[arg(long, value_name = "MEMBER", requires = "from")]
    pub dead: Vec<String>,
}

fn usage(message: &str) -> Outcome {
    eprint!("{}", paint(&format!("error: {message}\n")));
    Outcome::Trouble
}

/// `--allow RULE=REASON` read: an allowable transition rule and a reason.
fn allowed(allow: &[String]) -> Result<Vec<(ChangeRule, String)>, String> {
    allow
        .iter()
        .map(|a| {
            let (rule, reason) =
                a.split_once('=').ok_or_else(|| format!("`--allow {a}`: write `--allow RULE=REASON`"))?;
            let rule: ChangeRule = rule.parse()?;
            if !rule.allowable() {
                return Err(format!(
                    "`{}` cannot be allowed: what it refuses loses data or cannot be done",
                    rule.name()
                ));
            }
            if reason.trim().is_empty() {
                return Err(format!("`--allow {}=`: give the reason the risk is acceptable", rule.name()));
            }
            Ok((rule, reason.to_string()))
        })
        .collect()
}

/// OLD, and the plan from it to NEW; on refusal, the findings reported on NEW's tokens and the
/// outcome.
fn planned(
    old: &Path,
    new: &Path,
    options: &ChangeOptions,
    format: Format,
) -> Result<(clusterdef::Checked, ChangePlan), Outcome> {
    let old = load(old, format)?;
    let located = input::load_located(new, &new.display().to_string(), &input::base_dir(new), colour())
        .map_err(|f| report(f, format))?;
    match change::plan(old.cluster(), located.checked.cluster(), options) {
        Ok(plan) => Ok((old, plan)),
        Err(findings) => {
            let listed: Vec<_> =
                findings.iter().map(|f: &Finding| (f.subject, f.rule.name(), f.full_message())).collect();
            Err(report(located.report(&listed), format))
        }
    }
}

/// The certificates under `dir` and when each expires, those within `warn_days` marked due.
fn certificates(dir: &Path, warn_days: i64) -> Result<Vec<CertificateExpiry>, String> {
    let now = time::OffsetDateTime::now_utc();
    let listed = clusterdef_pki::expiries(dir).map_err(|e| e.to_string())?;
    Ok(listed
        .into_iter()
        .map(|e| {
            let days_left = (e.not_after - now).whole_days();
            let t = e.not_after.to_offset(time::UtcOffset::UTC);
            let not_after = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            );
            CertificateExpiry { path: e.path, not_after, days_left, due: days_left <= warn_days }
        })
        .collect())
}

/// Runs `clusterdef change OLD NEW`; with `pki`, the certificates of the PKI directory and the
/// days ahead to warn of their expiry.
pub(crate) fn command(
    old: &Path,
    new: &Path,
    format: Format,
    dead: Vec<String>,
    allow: &[String],
    pki: Option<(&Path, i64)>,
) -> Outcome {
    let allow = match allowed(allow) {
        Ok(a) => a,
        Err(message) => return usage(&message),
    };
    match planned(old, new, &ChangeOptions { dead, allow }, format) {
        Err(outcome) => outcome,
        Ok((_, mut plan)) => {
            if let Some((dir, warn_days)) = pki {
                match certificates(dir, warn_days) {
                    Ok(list) => plan.certificates = list,
                    Err(e) => return usage(&e),
                }
            }
            match format {
                Format::Text => print!("{plan}"),
                Format::Json => println!("{}", json(&plan)),
            }
            Outcome::Ok
        }
    }
}

/// The member joining in step `step` of the change from `from` to `new`, for `render --step`,
/// with the declaration the change starts from and the step's number. Every allowable rule is
/// taken as allowed here: whether to take the step is `change`'s to say; the render only needs
/// the step's membership. A step that joins no member is refused.
pub(crate) fn step_of(
    from: &Path,
    new: &Path,
    step: u32,
    dead: &[String],
) -> Result<(EtcdJoin, clusterdef::Cluster, usize), Outcome> {
    let options = ChangeOptions { dead: dead.to_vec(), ..ChangeOptions::every_risk("render --step") };
    let (old, plan) = planned(from, new, &options, Format::Text)?;
    let Some(found) = plan.steps.get(step as usize - 1) else {
        return Err(usage(&format!("the change has {} steps; there is no step {step}", plan.steps.len())));
    };
    match &found.join {
        Some(join) => Ok((join.clone(), old.into_cluster(), step as usize)),
        None => Err(usage(&format!(
            "step {step} ({}) boots no joining member: its machines take NEW's configuration (`clusterdef render NEW`)",
            found.title
        ))),
    }
}
