//! Machines that boot: every Flatcar machine of a rendered cluster started with systemd as PID 1
//! (`systemd-nspawn -b`) in its own network namespace, on a private bridge, from a
//! copy-on-write root (an overlay on a minimal Debian root built once by
//! `scripts/build-boot-root.sh`) with Flatcar's own files the configs rely on, after real
//! Ignition applied its first-boot config. What the boots must show is read from inside the
//! running machines (`systemctl`, `networkctl`, `hostname`, `ip`, etcdctl, through `nsenter`
//! into the machine's namespaces), and the plug is pulled per failure domain: every machine of
//! the domain killed at once (its PID 1, no clean shutdown), the cluster asked for a write and a
//! linearizable read, then the machines booted again from the same disks.
//!
//! What is emulated (docs/rendering.md says it too): Flatcar runs etcd in a container
//! (`docker run … quay.io/coreos/etcd:v3.5.x`); here a test-only `/usr/bin/docker` runs the local
//! etcd 3.5 with the same arguments, the environment of its `--env-file` and `-e` alone, its `-v`
//! mounts bound in a mount namespace of its own and its `-u` user, and refuses any other image or
//! option. The workload units of the seeds, the guide's containers, become units that leave a
//! mark under `/run/marks` (same names, placement and `[Install]` handling); a host `.mount` of
//! a block device no container has mounts a tmpfs at the same place.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clusterdef::{Cluster, Ipv4Net, Plan, Render, UnitBody, cluster};

use crate::applied::{ETCD_MEMBER_UNIT, ignite};
use crate::support::{Lan, TempDir, target_dir, tool};

mod bed;
mod machine;
mod matchbox;

use bed::machines_of;
pub use bed::{Booted, bootable};
pub use machine::{Machine, base_root, put_file};

/// etcdctl (3.5) inside `machine`, against `endpoints`, with the machine's certificate when the
/// cluster has TLS; on success its stdout, which is all a reader of its JSON may be given.
fn etcdctl(cluster: &Cluster, machine: &Machine, endpoints: &str, command: &str) -> (bool, String) {
    let tls = cluster
        .tls
        .as_ref()
        .map_or_else(String::new, |t| format!(" --cacert={} --cert={} --key={}", t.ca, t.cert, t.key));
    machine.sh_answer(&format!("ETCDCTL_API=3 /opt/etcd-3.5/etcdctl --dial-timeout=3s --command-timeout=5s --endpoints={endpoints}{tls} {command}"))
}

/// The v2 API through `endpoints` (the gateway serves both).
fn etcdctl_v2(cluster: &Cluster, machine: &Machine, endpoints: &str, command: &str) -> (bool, String) {
    let tls = cluster
        .tls
        .as_ref()
        .map_or_else(String::new, |t| format!(" --ca-file={} --cert-file={} --key-file={}", t.ca, t.cert, t.key));
    machine
        .sh_answer(&format!("ETCDCTL_API=2 /opt/etcd-3.5/etcdctl --timeout=5s --endpoints={endpoints}{tls} {command}"))
}

/// Retries `check` until it holds or `within` passes; the last answer.
fn eventually(within: Duration, mut check: impl FnMut() -> (bool, String)) -> (bool, String) {
    let deadline = Instant::now() + within;
    loop {
        let (ok, text) = check();
        if ok || Instant::now() >= deadline {
            return (ok, text);
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// Every unit the plan places on each machine, by hostname: `name` for a unit, each instance's
/// name for a template.
fn planned_units(cluster: &Cluster, plan: &Plan) -> BTreeMap<String, BTreeSet<String>> {
    let machines = machines_of(plan);
    // A config shared by several machines (PXE machines listed by MAC) runs its units on each.
    let mut hostnames_of: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (h, c, _) in &machines {
        hostnames_of.entry(c.as_str()).or_default().push(h.as_str());
    }
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for unit in &plan.units {
        // A global template starts the same instances on each of its machines, which the plan
        // does not list one by one: the declaration's.
        let declared = cluster.units.iter().find(|u| u.name == unit.name.as_str());
        let every: Vec<String> = match declared {
            Some(u) if u.is_template() && u.global => u.instance_names(),
            _ => Vec::new(),
        };
        for (i, config) in unit.placed_configs.iter().enumerate() {
            let names = match unit.instances.get(i) {
                Some(instance) => vec![instance.clone()],
                None if !every.is_empty() => every.clone(),
                None => vec![unit.name.clone()],
            };
            for hostname in hostnames_of.get(config.as_str()).into_iter().flatten() {
                out.entry(hostname.to_string()).or_default().extend(names.iter().cloned());
            }
        }
    }
    out
}

/// What every boot must show: hostnames and addresses set by the machines themselves, machines
/// that reach each other, the planned units active where planned and nowhere else, one etcd
/// cluster of the planned members through `etcd-member.service`, and the workers' gateway
/// serving v2 and v3.
pub fn assert_booted_as_planned(name: &str, cluster: &Cluster, booted: &Booted) {
    let plan = &booted.plan;
    let prefix = cluster.network.as_ref().map(|n| n.subnet.prefix).unwrap_or(24);
    let members: Vec<&clusterdef::render::plan::MachinePlan> =
        plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines).collect();
    let client_urls: Vec<String> = plan.etcd.member_urls.iter().map(|m| m.client_url.clone()).collect();
    let planned_machines: BTreeMap<&str, &clusterdef::render::plan::MachinePlan> =
        plan.groups.iter().flat_map(|g| &g.machines).map(|m| (m.hostname.as_str(), m)).collect();
    for (hostname, machine) in &booted.machines {
        let planned = planned_machines.get(hostname.as_str());
        // A config shared by a pool (autoscaled, or PXE machines listed by MAC) names no host:
        // the machine keeps the name it booted with (the site's DHCP may give one).
        if planned.is_some_and(|p| p.config.ends_with(&format!("/{}.ign", p.hostname))) {
            assert_eq!(machine.sh("hostname").1, *hostname, "{name}: {hostname}'s hostname");
        }
        let domain = planned.and_then(|m| m.domain.as_deref());
        let segment_prefix = cluster
            .network
            .as_ref()
            .and_then(|n| n.domains.iter().find(|d| Some(d.name.as_ref()) == domain))
            .map_or(prefix, |d| d.subnet.prefix);
        let (_, addresses) = eventually(Duration::from_secs(30), || {
            let (ok, text) = machine.sh("ip -4 -o addr show dev eth0");
            (ok && text.contains("inet "), text)
        });
        match planned.and_then(|m| m.address) {
            // A static address: the declared one, from the rendered `.network` file.
            Some(address) => assert!(
                addresses.contains(&format!("inet {address}/{segment_prefix}")),
                "{name}: {hostname} has {addresses}, not {address}/{segment_prefix}"
            ),
            // DHCP, from Flatcar's catch-all network file.
            None => assert!(addresses.contains("dynamic"), "{name}: {hostname} has no DHCP address: {addresses}"),
        }
        let (_, status) = eventually(Duration::from_secs(30), || {
            let (ok, text) = machine.sh("networkctl --no-pager --no-legend list eth0");
            (ok && text.contains("configured") && !text.contains("configuring"), text)
        });
        assert!(status.contains("configured"), "{name}: networkd did not configure {hostname}'s eth0: {status}");
        // It reaches every member at its address.
        for member in &members {
            let to = member.address.expect("static");
            let (ok, _) =
                eventually(Duration::from_secs(20), || machine.sh(&format!("timeout 3 bash -c '</dev/tcp/{to}/2380'")));
            assert!(ok, "{name}: {hostname} does not reach {} at {to}", member.hostname);
        }
    }
    // The planned units, active where planned and nowhere else.
    let planned = planned_units(cluster, plan);
    let patterns: Vec<String> = plan.units.iter().map(|u| u.name.replace("@.", "@*.")).collect();
    for hostname in booted.machines.keys().filter(|_| !patterns.is_empty()) {
        let machine = booted.machine(hostname);
        let (_, listed) = machine
            .sh(&format!("systemctl list-units --state=active --plain --no-legend --no-pager {}", patterns.join(" ")));
        let active: BTreeSet<String> =
            listed.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string).collect();
        let want = planned.get(hostname).cloned().unwrap_or_default();
        assert_eq!(active, want, "{name}: on {hostname}, active units against the plan");
        for unit in &want {
            let (_, mark) = machine.sh(&format!("cat /run/marks/{unit}"));
            assert_eq!(mark, *unit, "{name}: {unit} ran on {hostname}");
        }
    }
    // One etcd cluster of the planned members, through etcd-member.service.
    let endpoints = client_urls.join(",");
    let initial: Vec<String> = plan.etcd.member_urls.iter().map(|m| format!("{}={}", m.name, m.peer_url)).collect();
    let mut v2 = false;
    for member in &members {
        let machine = booted.machine(&member.hostname);
        // etcd's own environment, as the drop-in's `Environment=` lines reached it through
        // systemd, the wrapper and the container.
        let (_, environ) = machine.sh("tr '\\0' '\\n' </proc/$(systemctl show -p MainPID --value etcd-member)/environ");
        let env: BTreeMap<&str, &str> = environ.lines().filter_map(|l| l.split_once('=')).collect();
        // Whether the members serve the v2 API, as etcd's own environment says.
        v2 = env.get("ETCD_ENABLE_V2") == Some(&"true");
        let url = plan.etcd.member_urls.iter().find(|u| u.name == member.hostname).expect("a member");
        for (key, want) in [
            ("ETCD_NAME", member.hostname.as_str()),
            ("ETCD_INITIAL_CLUSTER", &initial.join(",")),
            ("ETCD_INITIAL_CLUSTER_TOKEN", cluster.name.as_ref()),
            ("ETCD_INITIAL_ADVERTISE_PEER_URLS", url.peer_url.as_str()),
            ("ETCD_ADVERTISE_CLIENT_URLS", url.client_url.as_str()),
        ] {
            assert_eq!(env.get(key).copied(), Some(want), "{name}: {key} in {}'s etcd: {environ}", member.hostname);
        }
        let (active, _) = machine.sh("systemctl is-active etcd-member.service");
        assert!(
            active,
            "{name}: etcd-member is not active on {}: {}",
            member.hostname,
            machine.sh("journalctl -u etcd-member --no-pager | tail -20").1
        );
    }
    let first = booted.machine(&members[0].hostname);
    let (ok, health) = eventually(Duration::from_secs(60), || etcdctl(cluster, first, &endpoints, "endpoint health"));
    assert!(ok, "{name}: the members are not healthy: {health}");
    let (_, list) = etcdctl(cluster, first, &endpoints, "member list");
    let names: BTreeSet<String> = list.lines().filter_map(|l| l.split(", ").nth(2)).map(str::to_string).collect();
    let planned_names: BTreeSet<String> = plan.etcd.member_urls.iter().map(|m| m.name.clone()).collect();
    assert_eq!(names, planned_names, "{name}: the members etcd knows");
    // Each worker through its gateway, v3 and v2.
    let scheme = if cluster.tls.is_some() { "https" } else { "http" };
    let local = format!("{scheme}://127.0.0.1:2379");
    let member_names: BTreeSet<&str> = members.iter().map(|m| m.hostname.as_str()).collect();
    for (hostname, machine) in booted.machines.iter().filter(|(h, _)| !member_names.contains(h.as_str())) {
        let (active, _) = machine.sh("systemctl is-active etcd-gateway.service");
        assert!(active, "{name}: the gateway is not active on {hostname}");
        let key = format!("/boot/{hostname}");
        let (ok, text) =
            eventually(Duration::from_secs(30), || etcdctl(cluster, machine, &local, &format!("put {key} v3")));
        assert!(ok, "{name}: v3 through {hostname}'s gateway: {text}");
        let (ok, text) = etcdctl(cluster, machine, &local, &format!("get {key} --print-value-only"));
        assert!(ok && text == "v3", "{name}: v3 read through {hostname}'s gateway: {text}");
        // v2 when the members serve it (locksmith needs it), refused when they do not.
        let (ok, text) = etcdctl_v2(cluster, machine, &local, &format!("set {key}-v2 v2"));
        assert_eq!(ok, v2, "{name}: v2 through {hostname}'s gateway (the members serve v2: {v2}): {text}");
    }
}

/// The plug, per failure domain of the members (without domains, per member machine): every
/// machine of the domain killed at once; a survivor asked for a write and a linearizable read,
/// which succeed exactly when the plan says etcd keeps its quorum (with no member left, a
/// worker's gateway asked); the machines booted again from the same disks rejoin, and every
/// member is healthy.
pub fn pull_each_domains_plug(name: &str, cluster: &Cluster, booted: &mut Booted) {
    let client: BTreeMap<String, String> =
        booted.plan.etcd.member_urls.iter().map(|m| (m.name.clone(), m.client_url.clone())).collect();
    let all_endpoints: String = client.values().cloned().collect::<Vec<_>>().join(",");
    let in_domain: BTreeMap<String, Option<String>> =
        booted.plan.groups.iter().flat_map(|g| &g.machines).map(|m| (m.hostname.clone(), m.domain.clone())).collect();
    let (quorum, members) = (booted.plan.etcd.quorum, booted.plan.etcd.members);
    let plugs: Vec<(String, Vec<String>, bool)> = if booted.plan.domain_losses.is_empty() {
        client.keys().map(|m| (format!("machine {m}"), vec![m.clone()], members > quorum)).collect()
    } else {
        booted
            .plan
            .domain_losses
            .iter()
            .map(|loss| {
                let lost = in_domain
                    .iter()
                    .filter(|(_, d)| d.as_deref() == Some(loss.domain.as_str()))
                    .map(|(h, _)| h.clone())
                    .collect();
                (format!("{} {}", loss.kind.key(), loss.domain), lost, loss.keeps_quorum)
            })
            .collect()
    };
    let scheme = if cluster.tls.is_some() { "https" } else { "http" };
    for (what, lost, keeps_quorum) in &plugs {
        for hostname in lost {
            booted.machines.get_mut(hostname).expect("a machine").pull_plug();
        }
        let survivor = client.keys().find(|m| !lost.contains(m));
        let key = format!("/plug/{}", what.replace(' ', "-"));
        match survivor {
            Some(survivor) => {
                let machine = booted.machine(survivor);
                let endpoints: Vec<&str> =
                    client.iter().filter(|(n, _)| !lost.contains(n)).map(|(_, u)| u.as_str()).collect();
                let endpoints = endpoints.join(",");
                let put = format!("put {key} up");
                let (wrote, text) = if *keeps_quorum {
                    eventually(Duration::from_secs(30), || etcdctl(cluster, machine, &endpoints, &put))
                } else {
                    etcdctl(cluster, machine, &endpoints, &put)
                };
                assert_eq!(wrote, *keeps_quorum, "{name}: a write with {what} gone: {text}");
                let (read, text) = etcdctl(cluster, machine, &endpoints, &format!("get {key} --consistency=l"));
                assert_eq!(read, *keeps_quorum, "{name}: a linearizable read with {what} gone: {text}");
            }
            None => {
                // No member left: a worker's gateway has nothing to forward to.
                let worker = booted.machines.keys().find(|h| !lost.contains(h) && !client.contains_key(*h));
                if let Some(worker) = worker {
                    let local = format!("{scheme}://127.0.0.1:2379");
                    let (wrote, text) = etcdctl(cluster, booted.machine(worker), &local, &format!("put {key} up"));
                    assert!(!wrote, "{name}: a write through {worker}'s gateway with {what} gone: {text}");
                }
            }
        }
        for hostname in lost {
            booted.machines.get_mut(hostname).expect("a machine").boot();
        }
        for hostname in lost {
            booted.machine(hostname).wait_booted(Duration::from_secs(120));
        }
        let first = booted.machine(&booted.plan.etcd.member_urls[0].name);
        let (ok, health) =
            eventually(Duration::from_secs(90), || etcdctl(cluster, first, &all_endpoints, "endpoint health"));
        assert!(ok, "{name}: after {what} came back: {health}");
    }
}

#[test]
fn boots_the_flatcar_production_seed_and_pulls_each_cabinets_plug() {
    let (name, given) = crate::support::scenario_cluster(
        "the Flatcar production seed",
        &clusterdef_examples::seed::flatcar::PRODUCTION,
        boots_here,
    );
    if name != "the Flatcar production seed" {
        let _serial = crate::support::heavy();
        boot_and_unplug(&name, "scenario", &given);
        return;
    }
    let _serial = crate::support::heavy();
    let cluster = bootable(&clusterdef_examples::seed::flatcar::PRODUCTION);
    let started = Instant::now();
    let mut booted = Booted::boot("prod", &cluster);
    let boot_time = started.elapsed();
    assert_booted_as_planned("production", &cluster, &booted);
    // The host configuration ran at boot: the central machines' data mount.
    for m in booted.plan.groups.iter().filter(|g| g.members).flat_map(|g| &g.machines) {
        let (mounted, _) = booted.machine(&m.hostname).sh("mountpoint -q /var/lib/data");
        assert!(mounted, "production: /var/lib/data is not mounted on {}", m.hostname);
    }
    pull_each_domains_plug("production", &cluster, &mut booted);
    eprintln!("production: 11 machines booted in {boot_time:?}, all checks and plugs in {:?}", started.elapsed());
    assert!(booted.machines.values().all(Machine::is_up));
}

/// Boots `cluster` as the test bed runs it (`bootable`), checks what every boot must show and
/// pulls each domain's plug; the machines, still running.
fn boot_and_unplug(name: &str, tag: &str, cluster: &Cluster) -> Booted {
    let cluster = bootable(cluster);
    let mut booted = Booted::boot(tag, &cluster);
    assert_booted_as_planned(name, &cluster, &booted);
    pull_each_domains_plug(name, &cluster, &mut booted);
    booted
}

#[test]
fn boots_the_flatcar_small_seed_and_pulls_each_zones_plug() {
    let _serial = crate::support::heavy();
    boot_and_unplug("small", "small", &clusterdef_examples::seed::flatcar::SMALL);
}

#[test]
fn boots_the_flatcar_devtest_seed_and_its_etcd_node_is_the_one_plug_that_stops_writes() {
    let _serial = crate::support::heavy();
    let booted = boot_and_unplug("devtest", "devtest", &clusterdef_examples::seed::flatcar::DEVTEST);
    // The bed's one etcd image is the release the render pins; another tag is an image the
    // machine does not have, refused rather than run on the wrong release.
    let member = booted.machine(&booted.plan.etcd.member_urls[0].name);
    let run =
        |tag: &str| member.sh(&format!("docker run --rm quay.io/coreos/etcd:{tag} /usr/local/bin/etcd --version"));
    let release = crate::support::pinned_etcd_release().expect("the render pins a tagged etcd image");
    let (ran, said) = run(&format!("v{release}"));
    assert!(ran && said.starts_with(&format!("etcd Version: {release}")), "devtest: the pinned image: {said}");
    let (ran, said) = run("v3.5.15");
    assert!(!ran && said.contains("image quay.io/coreos/etcd:v3.5.15"), "devtest: another etcd image runs: {said}");
}

/// Host configuration at every scope, each piece with something to see at boot.
static HOSTED: Cluster = cluster! {
    // A space, a specifier and a `%` in the name, which reaches etcd-member's drop-in as the
    // cluster token.
    name: "hosted boot %n 100%",
    os: flatcar,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
    host: {
        file "/etc/clusterdef-boot/cluster" { contents: "every machine\n" },
        unit "mark-host.service" {
            body: "[Unit]\nDescription=A host unit that leaves its mark\n\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/sh -c 'cat /etc/clusterdef-boot/cluster >/run/host-mark; echo \"$MARK\" >>/run/host-mark'\n\n[Install]\nWantedBy=multi-user.target\n",
        },
        dropin "mark-host.service" "10-mark.conf" { body: "[Service]\nEnvironment=\"MARK=set by a drop-in\"\n" },
        unit "systemd-logind.service" { mask },
    },
    machines: 3 across cabinets [a, b, c] {
        addresses: "10.0.0.11".."10.0.0.13",
        host_in: { a: { file "/etc/clusterdef-boot/cabinet" { contents: "a\n" } } },
    },
};

#[test]
fn boots_host_configuration_that_runs_shows_its_drop_in_and_stays_masked() {
    let _serial = crate::support::heavy();
    let booted = Booted::boot("hosted", &HOSTED);
    assert_booted_as_planned("hosted", &HOSTED, &booted);
    for m in booted.plan.groups.iter().flat_map(|g| &g.machines) {
        let machine = booted.machine(&m.hostname);
        let (active, _) = machine.sh("systemctl is-active mark-host.service");
        assert!(active, "hosted: the host unit did not run at boot on {}", m.hostname);
        assert_eq!(machine.sh("cat /run/host-mark").1, "every machine\nset by a drop-in", "on {}", m.hostname);
        let (_, environment) = machine.sh("systemctl show -p Environment --value mark-host.service");
        assert_eq!(environment, "\"MARK=set by a drop-in\"", "the drop-in's setting, as systemd shows it");
        let (active, state) = machine.sh("systemctl is-active systemd-logind.service");
        assert!(!active, "hosted: the masked unit runs on {}: {state}", m.hostname);
        assert_eq!(machine.sh("systemctl is-enabled systemd-logind.service").1, "masked");
        let cabinet = machine.sh("cat /etc/clusterdef-boot/cabinet");
        assert_eq!(cabinet.0, m.domain.as_deref() == Some("a"), "the cabinet's file only in cabinet a: {cabinet:?}");
    }
}

/// Whether the boot tests run a cluster given from outside: Flatcar without Kubernetes (the
/// real-node tests run those), on a network, at most 15 machines.
fn boots_here(cluster: &Cluster) -> Result<(), &'static str> {
    if cluster.kubernetes.is_some() {
        Err("runs Kubernetes (the real-node tests boot it)")
    } else if !bootable_here(cluster) || cluster.os != clusterdef::Os::Flatcar {
        Err("is no Flatcar cluster on a network of at most 15 machines")
    } else {
        Ok(())
    }
}

/// Whether the test bed boots `cluster` as it is: at most 15 machines at once (an autoscaled
/// pool counted as one machine per config).
fn bootable_here(cluster: &Cluster) -> bool {
    machines_of(&cluster.plan()).len() <= 15 && cluster.network.is_some()
}

#[test]
fn boots_random_flatcar_clusters_as_their_plans_say() {
    let _serial = crate::support::heavy();
    let (first, count) = crate::readback::seed_range(2);
    let mut seed = first;
    for _ in 0..count {
        let (cluster, drawn) = loop {
            let (cluster, drawn) = clusterdef::synthetic::random_flatcar_cluster(seed);
            seed = drawn.wrapping_add(1);
            if bootable_here(&cluster) {
                break (cluster, drawn);
            }
        };
        let name =
            format!("random Flatcar cluster drawn from seed {drawn} (replay with CLUSTERDEF_READBACK_SEED={first})");
        boot_and_unplug(&name, &format!("random-{}", drawn % 100_000), &cluster);
    }
}

#[test]
fn boots_the_flatcar_large_scale_seed_across_routed_zones_and_pulls_each_zones_plug() {
    let _serial = crate::support::heavy();
    let cluster = &clusterdef_examples::seed::flatcar::LARGE_SCALE;
    assert!(bootable_here(cluster));
    boot_and_unplug("large-scale", "large", cluster);
}
mod change;
