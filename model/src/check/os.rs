//! Rules that depend on the operating system the machines run.

use super::Report;
use crate::cluster::{Bootstrap, Channel, EtcdRelease, Os};
use crate::rule::Rule;
use crate::subject::{GroupPart, Subject, UnitPart};

/// Runs the rules that depend on the operating system.
pub(super) fn check(r: &mut Report<'_>) {
    static_bootstrap(r);
    unit_placement(r);
    os_support(r);
}

/// `unit_placement`: on Flatcar nothing schedules units at run time, so each must be placed when
/// the cluster is rendered (`Cluster::compile_placement`, fleet's rules decided now). A unit that
/// cannot be is reported on its name, with the reason.
fn unit_placement(r: &mut Report<'_>) {
    if r.cluster.os != Os::Flatcar {
        return;
    }
    for problem in r.cluster.compile_placement().1 {
        r.push(Rule::UnitPlacement, Subject::Unit(problem.unit, UnitPart::Name), problem.message, problem.help);
    }
}

/// `static_bootstrap`: Flatcar's etcd 3.5 finds its peers from a static `initial-cluster`, the
/// only bootstrap without an external dependency: v2 discovery needs discovery.etcd.io (a
/// deprecated public service whose future is open) and etcd 3.7 removes it; v3 discovery needs
/// etcd 3.6. So Flatcar members bootstrap statically, which needs their addresses. Reported on
/// the bootstrap declaration, or on the members when the bootstrap follows from them.
fn static_bootstrap(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.os != Os::Flatcar || c.bootstrap == Bootstrap::Static {
        return;
    }
    let key = c.layout.members_key();
    r.push(
        Rule::StaticBootstrap,
        Subject::Bootstrap,
        "Flatcar members would bootstrap by discovery: etcd 3.5's v2 discovery depends on discovery.etcd.io, \
         a deprecated public service, and etcd 3.7 removes it",
        format!(
            "give `{key}:` static addresses and declare a `network`, e.g. `{key}: 5 across cabinets [a, b, c] \
             {{ addresses: \"10.0.0.11\"..\"10.0.0.15\" }}`, so the members list each other in a static initial-cluster"
        ),
    );
}

/// `os_support`: settings exist on the operating system that runs them: the `lts` channel is
/// Flatcar's (CoreOS had none), and Flatcar runs etcd 3.5, not 0.4.
fn os_support(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.os == Os::CoreOs {
        let lts = "CoreOS Container Linux had no `lts` channel";
        let fix = "use `stable`, or declare `os: flatcar`, whose LTS stream it is";
        if c.channel == Channel::Lts {
            r.push(Rule::OsSupport, Subject::Channel, lts, fix);
        }
        for (g, group) in c.groups() {
            if group.channel == Some(Channel::Lts) {
                r.push(Rule::OsSupport, Subject::Group(g, GroupPart::Channel), lts, fix);
            }
        }
    }
    if c.os == Os::Flatcar && c.etcd_release == EtcdRelease::V0_4 {
        r.push(
            Rule::OsSupport,
            Subject::EtcdRelease,
            "Flatcar runs etcd 3.5 in `etcd-member.service`; etcd 0.4 does not exist there",
            "remove `etcd: 0.4`",
        );
    }
}
