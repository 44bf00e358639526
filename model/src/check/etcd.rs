//! Rules that protect the etcd cluster: member count, failure domains, production settings,
//! bootstrap (reboot safety is `reboot`'s).

use super::{Report, plural};
use crate::group::Size;
use crate::group_ref::GroupRef;
use crate::quorum::{majority, tolerance};
use crate::rule::Rule;
use crate::settings::{Bootstrap, Channel, EtcdRelease, Layout, Os};
use crate::subject::{GroupPart, Subject};

const MEMBERS: GroupRef = GroupRef::Members;

fn at(part: GroupPart) -> Subject {
    Subject::Group(MEMBERS, part)
}

/// Runs the rules that protect the etcd cluster; the ones about a member count need a fixed one.
pub(super) fn check(r: &mut Report<'_>) {
    members_fixed(r);
    super::reboot::reboot_quorum(r);
    let Size::Fixed(n) = r.cluster.members.size else {
        return;
    };
    member_count(r, n);
    even_members(r, n);
    failure_domain_quorum(r, n);
    single_domain(r, n);
    small_cluster_size(r, n);
    dev_not_production(r);
    etcd_tls(r);
    production_channel(r);
    production_static_addresses(r);
    bootstrap(r);
    member_addresses(r);
}

/// `members_fixed`: the members' count is fixed. A member scaled away still counts toward the
/// quorum, so an autoscaled membership loses writes on every scale-down, and its data with it.
fn members_fixed(r: &mut Report<'_>) {
    if let Size::Autoscale { .. } = r.cluster.members.size {
        let key = r.cluster.layout.members_key();
        r.push(
            Rule::MembersFixed,
            at(GroupPart::Size),
            "etcd members cannot autoscale: a member that is scaled away still counts toward the quorum, \
             so every scale-down brings the cluster closer to losing writes, and its data goes with it",
            format!("give `{key}:` a fixed count such as 3 or 5, and autoscale a worker pool instead"),
        );
    }
}

fn tolerance_phrase(n: u32) -> String {
    format!(
        "{} need {} for a quorum and tolerate {}",
        plural(n, "member", "members"),
        majority(n),
        plural(tolerance(n), "failure", "failures")
    )
}

/// `member_count`: the member count suits the layout: one node for dev/test, 3–9 machines for a
/// small cluster, 3–5 central machines (more write slowly, fewer tolerate no failure).
fn member_count(r: &mut Report<'_>, n: u32) {
    let c = r.cluster;
    let subject = at(GroupPart::Size);
    match c.layout {
        Layout::DevTest if n != 1 => r.push(
            Rule::MemberCount,
            subject,
            format!("a dev/test cluster has exactly one etcd node, but this one has {n}"),
            "declare one `etcd_node:`, or use `central:` for a replicated etcd cluster",
        ),
        Layout::Small if n < 3 => r.push(
            Rule::MemberCount,
            subject,
            format!("a small cluster runs etcd on every machine and needs 3 to 9 machines; {}", tolerance_phrase(n)),
            "use `machines: 3` or more, or `etcd_node:` for a dev/test cluster",
        ),
        Layout::CentralServices if n == 1 => r.push(
            Rule::MemberCount,
            subject,
            "one etcd member is only for dev/test clusters: it tolerates no failure, so losing that machine \
             stops fleet, locksmith and every etcd client",
            "use `central: 3` or `central: 5`, or declare a dev/test cluster with `etcd_node: \"<address>\"`",
        ),
        Layout::CentralServices if n < 3 => r.push(
            Rule::MemberCount,
            subject,
            format!("production central services are 3 to 5 machines; {}", tolerance_phrase(n)),
            "use `central: 3` (tolerates 1 failure) or `central: 5` (tolerates 2)",
        ),
        Layout::CentralServices if n > 5 => r.push(
            Rule::MemberCount,
            subject,
            format!(
                "production central services are 3 to 5 machines; with {n} members every write waits for {}, \
                 which slows the cluster more than it adds safety",
                majority(n)
            ),
            "use `central: 5` (tolerates 2 failures) and put the other machines in a worker pool",
        ),
        _ => {}
    }
}

/// `even_members`: an even count above 2 raises the quorum without raising the tolerance, so the
/// error shows both and names the odd counts either side.
fn even_members(r: &mut Report<'_>, n: u32) {
    // Two members tolerate nothing at all, which `member_count` already reports.
    if n > 2 && n.is_multiple_of(2) {
        let range = match r.cluster.layout {
            Layout::Small => 3..=9,
            Layout::CentralServices => 3..=5,
            Layout::DevTest => 1..=1,
        };
        let fits: Vec<String> =
            [n - 1, n + 1].into_iter().filter(|c| range.contains(c)).map(|c| c.to_string()).collect();
        let advice = if fits.is_empty() { format!("{} or {}", n - 1, n + 1) } else { fits.join(" or ") };
        r.push(
            Rule::EvenMembers,
            at(GroupPart::Size),
            format!(
                "{n} etcd members tolerate {}, the same as {}: the extra member raises the quorum to {} \
                 and adds one more machine that can fail, but no fault tolerance",
                plural(tolerance(n), "failure", "failures"),
                n - 1,
                majority(n)
            ),
            format!("use {advice} members"),
        );
    }
}

/// `failure_domain_quorum`: with the members dealt across their cabinets or zones, losing any
/// one domain must leave a quorum: no domain may hold more than n − majority members. Each
/// domain that holds too many is reported on its own tokens with the arithmetic.
fn failure_domain_quorum(r: &mut Report<'_>, n: u32) {
    let group = &r.cluster.members;
    let Some(spread) = &group.spread else { return };
    let tol = tolerance(n);
    // With no tolerance at all the member count is the mistake, and `member_count` says so.
    if tol == 0 {
        return;
    }
    let counts = group.domain_counts(n);
    let kind = spread.kind;
    let needed = n.div_ceil(tol);
    let explicit = spread.domains.iter().any(|d| d.count.is_some());
    for (i, (domain, held)) in spread.domains.iter().zip(&counts).enumerate() {
        if *held > tol {
            let subject = if explicit { at(GroupPart::DomainCount(i)) } else { at(GroupPart::Domain(i)) };
            r.push(
                Rule::FailureDomainQuorum,
                subject,
                format!(
                    "{} {} holds {} of {n} etcd members; losing it leaves {}, and quorum is {}",
                    kind.key(),
                    domain.name,
                    held,
                    n - held,
                    majority(n)
                ),
                format!(
                    "no {} may hold more than {} of {n} members; spread them across at least {needed} {}",
                    kind.key(),
                    tol,
                    kind.plural()
                ),
            );
        }
    }
}

/// `single_domain`: production members are spread `across` cabinets or zones; one rack or zone
/// holding every member is one failure away from no etcd.
fn single_domain(r: &mut Report<'_>, n: u32) {
    let c = r.cluster;
    if c.production && c.layout != Layout::DevTest && n >= 2 && c.members.spread.is_none() {
        r.push(
            Rule::SingleDomain,
            at(GroupPart::Whole),
            format!(
                "production etcd members must be spread across cabinets or zones: all {n} members share one \
                 cabinet's power and network, so losing it loses the whole cluster"
            ),
            format!(
                "add `across cabinets [a, b, c]` or `across zones [\"us-east-1a\", ...]` to `{}:`",
                c.layout.members_key()
            ),
        );
    }
}

/// `small_cluster_size`: a small cluster runs etcd on all of its 3–9 machines and has no worker
/// pools; beyond that the guide's answer is central services.
fn small_cluster_size(r: &mut Report<'_>, n: u32) {
    let c = r.cluster;
    if c.layout != Layout::Small {
        return;
    }
    if n > 9 {
        r.push(
            Rule::SmallClusterSize,
            at(GroupPart::Size),
            format!(
                "a small cluster runs etcd on every machine, and {n} machines is above 9: every write would \
                 wait for {} members",
                majority(n)
            ),
            format!(
                "use central services instead: `central: 5 across cabinets [a, b, c]` and a worker pool of {}",
                n - 5
            ),
        );
    }
    for (i, pool) in c.pools.iter().enumerate() {
        r.push(
            Rule::SmallClusterSize,
            Subject::Group(GroupRef::Pool(i), GroupPart::Whole),
            format!(
                "a small cluster runs etcd on every machine, so it has no worker pools, but pool `{}` is declared",
                pool.name
            ),
            "rename `machines:` to `central:` for a cluster with central services and workers, \
             or add the pool's machines to `machines:`",
        );
    }
}

/// `dev_not_production`: the dev/test layout has one etcd node, whose loss stops every write, so
/// it is never declared production.
fn dev_not_production(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.layout == Layout::DevTest && c.production {
        r.push(
            Rule::DevNotProduction,
            Subject::Production,
            "a dev/test cluster cannot be production: its single etcd node tolerates no failure, so losing \
             one machine stops fleet, locksmith and every etcd client",
            "remove `production: true`, or replace `etcd_node:` with `central: 3 across cabinets [a, b, c]`",
        );
    }
}

/// `etcd_tls`: production etcd traffic is encrypted and authenticated (`tls: { ca, cert, key }`);
/// plain http lets anyone on the network read every key and write as any client.
fn etcd_tls(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.production && c.layout != Layout::DevTest && c.tls.is_none() {
        r.push(
            Rule::EtcdTls,
            Subject::Production,
            "production etcd traffic must use TLS: over plain http anyone on the network can read every key and \
             write as any client, and a member cannot tell a peer from an impostor",
            "add `tls: { ca: \"/etc/ssl/etcd/ca.pem\", cert: \"/etc/ssl/etcd/server.pem\", key: \"/etc/ssl/etcd/server-key.pem\" }`",
        );
    }
}

/// `production_channel`: production members follow the stable channel, so an update that
/// reaches the members has been through beta first.
fn production_channel(r: &mut Report<'_>) {
    let c = r.cluster;
    let channel = c.channel_of(&c.members);
    if c.production && channel != Channel::Stable {
        let subject = if c.members.channel.is_some() { at(GroupPart::Channel) } else { Subject::Channel };
        r.push(
            Rule::ProductionChannel,
            subject,
            format!(
                "production etcd members must follow the stable channel, but `{}` follows {}: {} {} release \
                 that breaks etcd breaks every machine of the cluster at once",
                c.layout.members_key(),
                channel.as_str(),
                if channel.as_str().starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" },
                channel.as_str()
            ),
            format!(
                "set `channel: stable` on `{}:` and give {} to a worker pool instead",
                c.layout.members_key(),
                channel.as_str()
            ),
        );
    }
}

/// How to give the members static addresses, fitted to the declaration: their key, count and
/// spread as declared, addresses inside the declared subnet (or a `network` to declare, when
/// there is none).
fn static_addresses_fix(c: &crate::Cluster) -> String {
    let key = c.layout.members_key();
    let n = match c.members.size {
        Size::Fixed(n) => n.clamp(1, 200),
        Size::Autoscale { .. } => 3,
    };
    // A domain name that is not a bare word is written quoted, as the language reads it.
    let written = |name: &str| {
        let bare = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if bare { name.to_string() } else { format!("{name:?}") }
    };
    let spread = c.members.spread.as_ref().map_or_else(String::new, |s| {
        let names: Vec<String> = s.domains.iter().map(|d| written(&d.name)).collect();
        format!(" across {} [{}]", s.kind.plural(), names.join(", "))
    });
    let base = c
        .network
        .as_ref()
        .map_or(u32::from(std::net::Ipv4Addr::new(10, 0, 0, 0)), |net| u32::from(net.subnet.network()));
    let (first, last) = (std::net::Ipv4Addr::from(base + 11), std::net::Ipv4Addr::from(base + 10 + n));
    let example = format!("`{key}: {n}{spread} {{ addresses: \"{first}\"..\"{last}\" }}`");
    match &c.network {
        Some(net) => format!("give `{key}:` static addresses in the network's subnet {}, e.g. {example}", net.subnet),
        None => format!(
            "give `{key}:` static addresses and declare a `network`, e.g. {example} and `network: {{ subnet: \"10.0.0.0/24\" }}`"
        ),
    }
}

/// `production_static_addresses`: production central machines have static addresses, which
/// the other members, proxies and clients are configured with.
fn production_static_addresses(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.production && c.layout == Layout::CentralServices && !c.members.addressing.is_static() {
        r.push(
            Rule::ProductionStaticAddresses,
            at(GroupPart::Whole),
            "production central services need static addresses: workers and clients reach etcd at fixed \
             addresses, and a changed DHCP lease would strand them",
            static_addresses_fix(c),
        );
    }
}

/// `bootstrap`: the bootstrap has what it needs: production declares its discovery URL rather
/// than leaving it to render time, and a discovery URL is http(s). (Whether the members'
/// addresses are known to what lists them is `member_addresses`'.)
fn bootstrap(r: &mut Report<'_>) {
    let c = r.cluster;
    match &c.bootstrap {
        Bootstrap::Discovery(None) if c.production => r.push(
            Rule::Bootstrap,
            Subject::Bootstrap,
            "a production cluster must declare its discovery URL, so that every render and every machine \
             joins the same etcd cluster",
            "write `bootstrap: discovery \"https://discovery.etcd.io/<token>\"` with a token made for this \
             cluster's size",
        ),
        Bootstrap::Discovery(Some(url)) if !(url.starts_with("http://") || url.starts_with("https://")) => r.push(
            Rule::Bootstrap,
            Subject::Bootstrap,
            format!("the discovery URL `{url}` is not an http:// or https:// URL, so etcd cannot fetch it"),
            "use the URL `https://discovery.etcd.io/new?size=N` returned, e.g. `https://discovery.etcd.io/<token>`",
        ),
        _ => {}
    }
}

/// `member_addresses`: whatever names the members by address has their addresses. A member
/// without a static address is named `$private_ipv4`, which coreos-cloudinit replaces on each
/// machine with that machine's own address: right for the member's own listen URLs, wrong in a
/// static `initial-cluster` (every peer would be listed at the listing machine's address, so no
/// member finds another) and in etcd 0.4 workers' endpoint lists, and never replaced at all by
/// Ignition. Not allowable: each is a cluster that never starts, not a risk.
fn member_addresses(r: &mut Report<'_>) {
    let c = r.cluster;
    if c.members.addressing.is_static() {
        return;
    }
    let fix = static_addresses_fix(c);
    if c.bootstrap == Bootstrap::Static {
        r.push(
            Rule::MemberAddresses,
            Subject::Bootstrap,
            "a static bootstrap lists every member's peer URL in `initial-cluster`, but the members have no \
             static addresses: each would list every peer at `$private_ipv4`, its own address, so the cluster never forms",
            match c.os {
                Os::CoreOs => format!("{fix}, or bootstrap with `bootstrap: discovery \"https://discovery.etcd.io/<token>\"`"),
                Os::Flatcar => fix.clone(),
            },
        );
    } else if c.os == Os::Flatcar {
        r.push(
            Rule::MemberAddresses,
            Subject::Group(GroupRef::Members, GroupPart::Whole),
            "Flatcar members need static addresses: Ignition substitutes nothing, so `$private_ipv4` would reach \
             etcd as text in every member's URLs and the workers' gateway",
            format!("{fix}; the members then list each other in a static initial-cluster"),
        );
    }
    // etcd 0.4 has no proxy: workers list the members' endpoints, which must be known addresses.
    if c.etcd_release == EtcdRelease::V0_4 && !c.pools.is_empty() {
        r.push(
            Rule::MemberAddresses,
            Subject::Group(GroupRef::Members, GroupPart::Whole),
            "with etcd 0.4 the workers run no proxy and list every member's endpoint, but the members have no \
             static addresses to list",
            format!("{fix}, or use `etcd: 2` so that workers reach the members through a proxy"),
        );
    }
}
