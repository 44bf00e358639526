//! Rules that depend on the operating system the machines run.

use super::Report;
use crate::rule::Rule;
use crate::settings::{Bootstrap, Channel, EtcdRelease, Os};
use crate::subject::{GroupPart, Subject, UnitPart};

/// Runs the rules that depend on the operating system.
pub(super) fn check(r: &mut Report<'_>) {
    static_bootstrap(r);
    unit_placement(r);
    os_support(r);
    reserved_unit_name(r);
}

/// The units clusterdef writes itself on Flatcar machines.
const FLATCAR_ETCD_UNITS: [&str; 2] = ["etcd-member.service", crate::own::GATEWAY_UNIT];

/// `reserved_unit_name`: on Flatcar clusterdef writes `etcd-member.service` (with the member's
/// drop-in) and `etcd-gateway.service` itself; a declared unit of the same name would be a second
/// entry under one name, which Ignition rejects when the machine boots.
fn reserved_unit_name(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.os != Os::Flatcar {
        return;
    }
    for (u, unit) in c.units.iter().enumerate() {
        if FLATCAR_ETCD_UNITS.contains(&&*unit.name) {
            r.push(
                Rule::ReservedUnitName,
                Subject::Unit(u, UnitPart::Name),
                format!(
                    "`{}` is written by clusterdef on Flatcar machines; a second entry under that name is a duplicate \
                     Ignition rejects at boot",
                    unit.name
                ),
                "give the unit a name of its own; to change how etcd runs, use the cluster's etcd settings",
            );
        }
    }
}

/// `unit_placement`: on Flatcar nothing schedules units at run time, so each must be placed when
/// the cluster is rendered (`Cluster::compile_placement`, fleet's rules decided now). A unit that
/// cannot be is reported on its name, with the reason.
fn unit_placement(r: &mut Report<'_>) {
    if r.cluster.os != Os::Flatcar {
        return;
    }
    let (placement, problems) = r.cluster.compile_placement();
    r.placement = placement;
    for problem in problems {
        r.push(Rule::UnitPlacement, Subject::Unit(problem.unit, problem.part), problem.message, problem.help);
    }
}

/// `static_bootstrap`: Flatcar's etcd 3.5 finds its peers from a static `initial-cluster`, the
/// only bootstrap without an external dependency: v2 discovery needs discovery.etcd.io (a
/// deprecated public service whose future is open) and etcd 3.7 removes it; v3 discovery needs
/// etcd 3.6. So Flatcar members bootstrap statically, which needs their addresses. Reported on
/// the bootstrap declaration, or on the members when the bootstrap follows from them.
fn static_bootstrap(r: &mut Report<'_>) {
    let c = r.cluster;
    // Members without addresses are `member_addresses`' (not allowable): no bootstrap helps them.
    if c.os != Os::Flatcar || c.bootstrap == Bootstrap::Static || !c.members.addressing.is_static() {
        return;
    }
    r.push(
        Rule::StaticBootstrap,
        Subject::Bootstrap,
        "Flatcar members would bootstrap by discovery: etcd 3.5's v2 discovery depends on discovery.etcd.io, \
         a deprecated public service, and etcd 3.7 removes it",
        "the members have static addresses, so write `bootstrap: static` (or leave `bootstrap` out): they then \
         list each other in a static initial-cluster",
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
