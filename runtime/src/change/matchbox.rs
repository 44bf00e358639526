//! A change of a cluster that boots from matchbox: which render's data directory matchbox must
//! serve at each step, and what it does to which machine's MAC address.
//!
//! matchbox answers by MAC whatever its data directory holds when a machine asks, and a machine
//! it installs to disk asks only when it PXE-boots: a joining member is installed with its
//! step's configuration only if that step's `matchbox/` is served when it boots; a machine that
//! leaves stays in OLD's groups, and a PXE boot of it (a wiped disk, a boot order) installs it
//! again as the member it was, until NEW's `matchbox/` is served. Machines that run from RAM ask
//! at every boot, so a reboot is how they take NEW's configuration. O(machines) by hostname.

use std::collections::{HashMap, HashSet};

use clusterdef_model::{Boot, Cluster};

use super::workers::{worker_changes, workers};
use super::{Action, Step};
use crate::render::matchbox::{Installed, Layout, layout};

/// What a render's serving takes, as each line that asks for it says it.
const SERVE: &str = "its `matchbox/` and `pxe/` dnsmasq configs";

/// What serving a render means, said once in the notes.
const SERVING: &str = "serving a render puts its `matchbox/` in place of matchbox's whole data directory (a group left from another render still answers) and each network's dnsmasq config of its `pxe/` on that network";

/// The machines matchbox installs by `layout`, by hostname.
fn installed(layout: Option<&Layout>) -> HashMap<&str, &Installed> {
    layout.map(|l| l.installed.iter().map(|m| (m.host.as_str(), m)).collect()).unwrap_or_default()
}

fn groups_of(m: &Installed) -> String {
    format!("`install.{host}` and `machine.{host}` (MAC {mac})", host = m.host, mac = m.mac)
}

/// The line that installs `m` from `render`'s data directory.
fn install_line(m: &Installed, render: &str) -> String {
    format!(
        "{host}: installed by matchbox: serve {render} ({SERVE}), then PXE-boot it: its groups {groups} install Flatcar on {disk} with that configuration, and it boots the installed disk",
        host = m.host,
        groups = groups_of(m),
        disk = m.disk,
    )
}

/// The line that takes `m`'s groups out of what matchbox serves.
fn forget_line(m: &Installed) -> String {
    format!(
        "{host}: its matchbox groups {groups} answer until NEW's render (`clusterdef render NEW`) is served ({SERVE}): a PXE boot of the machine before then installs it again with OLD's configuration",
        host = m.host,
        groups = groups_of(m),
    )
}

/// Adds to `steps` what matchbox must serve at each, when either declaration boots from it;
/// and to `notes`, that NEW's render is served once the steps are done.
pub fn serve(old: &Cluster, new: &Cluster, steps: &mut [Step], notes: &mut Vec<String>) {
    // Each layout made once: O(machines) each.
    let (old_layout, new_layout) = (layout(old), layout(new));
    let (before, after) = (installed(old_layout.as_ref()), installed(new_layout.as_ref()));
    let pxe_from_matchbox = new_layout.as_ref().is_some_and(|l| !l.kinds.is_empty());
    if before.is_empty() && after.is_empty() && !pxe_from_matchbox {
        return;
    }
    let (old_workers, new_workers) = (workers(old), workers(new));
    let (added, removed) = worker_changes(&old_workers, &new_workers);
    let old_names: HashSet<&str> = old_workers.iter().map(|m| m.hostname.as_str()).collect();
    // The members joining from matchbox, by step: O(steps).
    let later_joiners: Vec<(usize, String)> = steps
        .iter()
        .filter(|s| s.action == Action::Join)
        .filter_map(|s| s.member.as_ref().filter(|n| after.contains_key(n.as_str())).map(|n| (s.number, n.clone())))
        .collect();
    for step in steps.iter_mut() {
        let member = step.member.as_deref();
        match step.action {
            Action::Join => {
                if let Some(m) = member.and_then(|n| after.get(n)) {
                    let render =
                        format!("this step's render (`clusterdef render NEW --step {} --from OLD`)", step.number);
                    step.machines.push(install_line(m, &render));
                    let later: Vec<&str> =
                        later_joiners.iter().filter(|(n, _)| *n > step.number).map(|(_, h)| h.as_str()).collect();
                    if !later.is_empty() {
                        step.machines.push(format!("{}: not PXE-booted before its own step: this step's `matchbox/` would install it with this step's membership, not its own", later.join(", ")));
                    }
                }
            }
            Action::Leave | Action::RemoveDead => {
                if let Some(m) = member.and_then(|n| before.get(n)) {
                    step.machines.push(forget_line(m));
                }
            }
            Action::MoveAddress => {
                if let Some(m) = member.and_then(|n| before.get(n)) {
                    step.machines.push(format!("{}: installed by matchbox; not PXE-booted to install it again (installing wipes its etcd data): its configuration changes on its disk as this step says", m.host));
                }
            }
            Action::Workers => {
                for m in added.iter().filter_map(|w| after.get(w.hostname.as_str())) {
                    step.machines.push(install_line(m, "NEW's render (`clusterdef render NEW`)"));
                }
                for m in removed.iter().filter_map(|w| before.get(w.hostname.as_str())) {
                    step.machines.push(forget_line(m));
                }
            }
            Action::Reconfigure => {
                let mut on_disk = Vec::new();
                let mut from_ram = Vec::new();
                for m in new_workers.iter().filter(|m| old_names.contains(m.hostname.as_str())) {
                    if after.contains_key(m.hostname.as_str()) {
                        on_disk.push(m.hostname.as_str());
                    } else if new.group(m.group).is_some_and(|g| matches!(g.boot, Boot::Pxe { .. })) {
                        from_ram.push(m.hostname.as_str());
                    }
                }
                if !on_disk.is_empty() {
                    step.machines.push(format!("{}: installed by matchbox, they keep the configuration they were installed with: NEW's reaches each by writing the changed files, or by installing it again (serve NEW's render, {SERVE}, then PXE-boot it)", on_disk.join(", ")));
                }
                if !from_ram.is_empty() {
                    step.machines.push(format!("{}: they run from RAM and matchbox serves their configuration at every boot: serve NEW's render ({SERVE}), then reboot them one at a time", from_ram.join(", ")));
                }
            }
            _ => {}
        }
    }
    if !steps.is_empty() || old_layout != new_layout {
        notes.push(format!("matchbox: once the last step is done, serve NEW's render (`clusterdef render NEW`, {SERVE}); {SERVING}; `clusterdef plan NEW` lists which group answers each MAC"));
    }
}
