//! `reboot_quorum`: reboot windows that never take more members down at once than quorum
//! allows, and windows only for domains the group has.

use super::{Report, join};
use crate::group::{Size, Windows};
use crate::group_ref::GroupRef;
use crate::quorum::{majority, tolerance};
use crate::rule::Rule;
use crate::settings::{Layout, RebootStrategy};
use crate::subject::{GroupPart, Subject};
use crate::suggest::closest;

const MEMBERS: GroupRef = GroupRef::Members;

fn at(part: GroupPart) -> Subject {
    Subject::Group(MEMBERS, part)
}

/// The members' half of `reboot_quorum`: with `reboot: reboot`, how many members the declared
/// windows can take down at once, checked at every window's opening.
fn members_down_together(r: &mut Report<'_>, n: u32) {
    let c = r.cluster;
    let group = &c.members;
    let key = c.layout.members_key();
    if c.layout == Layout::DevTest || group.reboot != RebootStrategy::Reboot {
        return;
    }
    let tol = tolerance(n);
    let quorum_help = format!(
        "use `reboot: etcd_lock` (locksmith lets one member reboot at a time), or give each {} its own \
         reboot window that overlaps no other's",
        group.spread.as_ref().map_or("cabinet", |s| s.kind.key())
    );
    match &group.windows {
        Windows::Any => r.push(
            Rule::RebootQuorum,
            at(GroupPart::Reboot),
            format!(
                "with `reboot: reboot` and no reboot window, every etcd member reboots as soon as it stages an \
                 update, and all {n} stage the same update within the hour: more than {} down at once loses \
                 the quorum of {}",
                tol,
                majority(n)
            ),
            quorum_help,
        ),
        Windows::All(window) => r.push(
            Rule::RebootQuorum,
            at(GroupPart::Windows),
            format!(
                "one reboot window ({window}) for every etcd member lets all {n} reboot at once; more than {tol} \
                 down loses the quorum of {}",
                majority(n)
            ),
            quorum_help,
        ),
        Windows::PerDomain(windows) => {
            let Some(spread) = &group.spread else {
                r.push(
                    Rule::RebootQuorum,
                    at(GroupPart::Windows),
                    format!("per-domain reboot windows need `{key}:` to be spread `across` cabinets or zones"),
                    format!("add `across cabinets [...]` to `{key}:`, or use `reboot: etcd_lock`"),
                );
                return;
            };
            let counts = group.domain_counts(n);
            let index: std::collections::HashMap<&str, usize> =
                spread.domains.iter().enumerate().rev().map(|(i, d)| (&*d.name, i)).collect();
            let windowed: std::collections::HashSet<&str> = windows.iter().map(|(d, _)| &**d).collect();
            for (i, domain) in spread.domains.iter().enumerate() {
                if counts.get(i).copied().unwrap_or(0) > 0 && !windowed.contains(&*domain.name) {
                    r.push(
                        Rule::RebootQuorum,
                        at(GroupPart::Windows),
                        format!(
                            "{} {} has no reboot window, so its members may reboot at any time, while another {} \
                             is down too",
                            spread.kind.key(),
                            domain.name,
                            spread.kind.key()
                        ),
                        format!("add `{}: \"Sun 04:00\" for \"1h\"` to the windows", domain.name),
                    );
                }
            }
            let domains: Vec<Option<usize>> = windows.iter().map(|(d, _)| index.get(&**d).copied()).collect();
            for together in overlapping_windows(windows.iter().map(|(_, w)| w), &domains, &counts, tol) {
                let names: Vec<String> = together.domains.iter().map(|&d| spread.domains[d].name.to_string()).collect();
                r.push(
                    Rule::RebootQuorum,
                    at(GroupPart::Window(together.last)),
                    format!(
                        "the reboot windows of {} {} overlap, so {} of {n} etcd members can be down at once; \
                         quorum is {}",
                        spread.kind.plural(),
                        join(&names),
                        together.down,
                        majority(n)
                    ),
                    "move the windows apart so that at most one of these domains reboots at a time",
                );
            }
        }
    }
}

/// Windows open at one moment that take more members down than the quorum can spare.
struct OpenTogether {
    /// The last of the open windows, by declaration order: where the error points.
    last: usize,
    /// The domains (with members) whose windows are open, in the order of their windows.
    domains: Vec<usize>,
    /// How many members those domains hold.
    down: u32,
}

/// Every moment of the week at which windows open together take down more than `tolerance`
/// members, once per last window: a sweep over the windows' openings and closings in time order
/// (the most members are down just after some window opens), keeping the windows open, each
/// domain's open windows (a domain counts once however many of its windows are open) and the
/// members down. `domains[i]` is window `i`'s domain, `None` for one its group does not have
/// (it counts as open but takes no member down). O(W log W) for W windows, plus the names of
/// each report.
fn overlapping_windows<'a>(
    windows: impl Iterator<Item = &'a crate::window::RebootWindow>,
    domains: &[Option<usize>],
    counts: &[u32],
    tolerance: u32,
) -> Vec<OpenTogether> {
    // (time, opens, window); at one time closings (false) sort first: windows are half-open.
    let mut events: Vec<(u64, bool, usize)> = Vec::new();
    for (i, window) in windows.enumerate() {
        for (start, end) in window.spans() {
            events.push((start, true, i));
            events.push((end, false, i));
        }
    }
    events.sort_unstable();
    let mut open_spans = vec![0usize; domains.len()];
    let mut open: std::collections::BTreeSet<usize> = std::collections::BTreeSet::new();
    let mut domain_open = vec![0usize; counts.len()];
    let mut down: u32 = 0;
    let mut reported = std::collections::HashSet::new();
    let mut out = Vec::new();
    let mut e = 0;
    while e < events.len() {
        let time = events[e].0;
        let mut opened = false;
        while e < events.len() && events[e].0 == time {
            let (_, opens, w) = events[e];
            e += 1;
            let members = domains[w].map(|d| (d, counts.get(d).copied().unwrap_or(0)));
            if opens {
                opened = true;
                open_spans[w] += 1;
                if open_spans[w] == 1 {
                    open.insert(w);
                    if let Some((d, c)) = members {
                        domain_open[d] += 1;
                        if domain_open[d] == 1 {
                            down += c;
                        }
                    }
                }
            } else {
                open_spans[w] = open_spans[w].saturating_sub(1);
                if open_spans[w] == 0
                    && open.remove(&w)
                    && let Some((d, c)) = members
                {
                    domain_open[d] -= 1;
                    if domain_open[d] == 0 {
                        down -= c;
                    }
                }
            }
        }
        let Some(&last) = open.last() else { continue };
        if opened && down > tolerance && open.len() > 1 && reported.insert(last) {
            let mut seen = std::collections::HashSet::new();
            let domains = open
                .iter()
                .filter_map(|&w| domains[w])
                .filter(|&d| counts.get(d).copied().unwrap_or(0) > 0 && seen.insert(d))
                .collect();
            out.push(OpenTogether { last, domains, down });
        }
    }
    out
}

/// `reboot_quorum`: updates never reboot more etcd members at once than the quorum can spare.
/// Per-domain windows must name domains the group has, once each (for every group); then, for
/// fixed members rebooting on their own (`reboot: reboot`), a window must keep them from all
/// rebooting together: no window at all, one window for all, a domain without one, or windows
/// whose overlaps take down more than n − majority members are each an error.
pub(super) fn reboot_quorum(r: &mut Report<'_>) {
    window_domains(r);
    if let Size::Fixed(n) = r.cluster.members.size {
        members_down_together(r, n);
    }
}

/// Per-domain windows that name no domain of their group, or one domain twice. O(W + D) for W
/// windows and D domains, plus a "did you mean" per unknown name.
fn window_domains(r: &mut Report<'_>) {
    for (g, group) in r.cluster.groups() {
        let Windows::PerDomain(windows) = &group.windows else {
            continue;
        };
        let names: Vec<&str> = group.spread.iter().flat_map(|s| s.domains.iter().map(|d| &*d.name)).collect();
        let known: std::collections::HashSet<&str> = names.iter().copied().collect();
        for (i, (domain, _)) in windows.iter().enumerate() {
            if !known.contains(&**domain) {
                let hint = closest(domain, names.iter().copied()).map_or_else(
                    || match names.len() {
                        0..=12 => format!("the domains are {}", join(&names)),
                        n => format!("it has {n} domains, from `{}` to `{}`", names[0], names[n - 1]),
                    },
                    |s| format!("did you mean `{s}`?"),
                );
                r.push(
                    Rule::RebootQuorum,
                    Subject::Group(g, GroupPart::Window(i)),
                    format!("`{}` has a reboot window for `{domain}`, which is not one of its domains", group.name),
                    hint,
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        for (i, (domain, _)) in windows.iter().enumerate() {
            if !seen.insert(&**domain) {
                r.push(
                    Rule::RebootQuorum,
                    Subject::Group(g, GroupPart::Window(i)),
                    format!("`{domain}` has two reboot windows; locksmith takes one start and one length"),
                    "keep one window per domain".to_string(),
                );
            }
        }
    }
}
