//! Change plans of clusters built at run time.

use std::borrow::Cow;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

use clusterdef_model::{Addressing, Bootstrap, DomainKind, Group, Layout, Network, Os, Size};

use super::*;

/// A Flatcar cluster of `n` members named `{group}-k` across `cabinets`, addresses from
/// 10.0.0.`first`.
fn members(group: &str, n: u32, cabinets: &[&str], first: u8) -> Cluster {
    let mut g = Group::new(group.to_string(), "central", Size::Fixed(n));
    if !cabinets.is_empty() {
        g = g.across(DomainKind::Cabinet, cabinets.iter().map(|c| c.to_string()));
    }
    g.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, first), last: Ipv4Addr::new(10, 0, 0, 250) };
    let mut cluster = Cluster::new("prod", Layout::CentralServices, g);
    cluster.os = Os::Flatcar;
    cluster.bootstrap = Bootstrap::Static;
    cluster.network = Some(Network::new("10.0.0.0/24".parse().expect("subnet")));
    cluster
}

fn allow_domains() -> ChangeOptions {
    ChangeOptions { dead: Vec::new(), allow: vec![(ChangeRule::DomainQuorum, "the window is minutes".into())] }
}

/// The membership after each step, replayed from the steps' actions alone.
fn replay(old: &Cluster, plan: &ChangePlan) -> Vec<BTreeSet<String>> {
    let mut now: BTreeSet<String> = old.etcd_members().into_iter().map(|m| m.name).collect();
    plan.steps
        .iter()
        .map(|s| {
            let name = s.member.clone().unwrap_or_default();
            match s.action {
                Action::Join => assert!(now.insert(name), "{} joins twice", s.title),
                Action::Leave | Action::RemoveDead => assert!(now.remove(&name), "{} leaves twice", s.title),
                _ => {}
            }
            now.clone()
        })
        .collect()
}

#[test]
fn three_to_five_across_cabinets_adds_two_learners_and_names_the_window_a_cabinet_takes_quorum() {
    let (old, new) = (members("central", 3, &["a", "b", "c"], 11), members("central", 5, &["a", "b", "c"], 11));
    // Four members across three cabinets: one cabinet holds two, and its loss leaves 2 of 4.
    let refused = plan(&old, &new, &ChangeOptions::default()).expect_err("the four-member window");
    assert_eq!(refused.len(), 1, "{refused:?}");
    assert_eq!(refused[0].rule, ChangeRule::DomainQuorum);
    assert!(
        refused[0].message.contains("step 1 losing cabinet a; step 2 losing cabinet a"),
        "the window lasts until the second learner is promoted: {}",
        refused[0].message
    );
    let plan = plan(&old, &new, &allow_domains()).expect("allowed");
    assert_eq!(plan.steps.iter().map(|s| s.action).collect::<Vec<_>>(), [Action::Join, Action::Join]);
    let first = &plan.steps[0];
    assert_eq!(first.member.as_deref(), Some("central-4"));
    let endpoints = "--endpoints=http://10.0.0.11:2379,http://10.0.0.12:2379,http://10.0.0.13:2379";
    let add = format!("etcdctl {endpoints} member add central-4 --learner --peer-urls=http://10.0.0.14:2380");
    assert!(first.commands[0].contains(&add), "{}", first.commands[0]);
    assert!(first.commands[0].starts_with("until { L=$(etcdctl"), "retried until listed: {}", first.commands[0]);
    assert!(first.commands[1].contains("member promote \"$ID\"") && first.commands[1].contains(", false$"));
    let join = first.join.as_ref().expect("a joiner");
    assert_eq!(
        join.initial_cluster,
        "central-1=http://10.0.0.11:2380,central-2=http://10.0.0.12:2380,central-3=http://10.0.0.13:2380,central-4=http://10.0.0.14:2380"
    );
    // While it is a learner, three voters tolerate a cabinet; once promoted, four do not.
    assert_eq!((first.during.tolerates, first.after.voters, first.after.tolerates), (1, 4, 1));
    // Midway, the learner does not vote: three voters across three cabinets keep quorum
    // through cabinet a's loss; once it is promoted they do not.
    assert_eq!((first.midway.voters, first.midway.learners), (3, 1));
    assert!(first.midway.domain("cabinet a").expect("a").keeps_quorum);
    assert!(!first.after.domain("cabinet a").expect("a").keeps_quorum);
    assert!(!first.during.domain("cabinet a").expect("a").keeps_quorum);
    assert_eq!((plan.after.voters, plan.after.tolerates), (5, 2));
    assert_eq!(plan.accepted.len(), 1);
}

#[test]
fn five_to_three_removes_the_last_declared_members_one_at_a_time() {
    let (old, new) = (members("central", 5, &["a", "b", "c"], 11), members("central", 3, &["a", "b", "c"], 11));
    // Four members across three cabinets again: the window is named, and allowed here.
    assert!(super::plan(&old, &new, &ChangeOptions::default()).is_err());
    let plan = plan(&old, &new, &allow_domains()).expect("plans");
    let leaves: Vec<_> = plan.steps.iter().filter(|s| s.action == Action::Leave).map(|s| s.member.clone()).collect();
    assert_eq!(leaves, [Some("central-5".to_string()), Some("central-4".to_string())]);
    for s in plan.steps.iter().filter(|s| s.action == Action::Leave) {
        assert!(s.during.tolerates >= 1, "{}: {:?}", s.title, s.during);
        // The removed member is never an endpoint of its own removal.
        let leaving = s.member.as_deref().expect("a member");
        let address = if leaving == "central-5" { "10.0.0.15" } else { "10.0.0.14" };
        assert!(s.commands.iter().all(|c| !c.contains(&format!("{address}:2379"))), "{:?}", s.commands);
    }
}

#[test]
fn the_dev_node_grows_into_three_members_and_leaves_last() {
    let mut old = members("etcd", 1, &[], 10);
    old.layout = Layout::DevTest;
    let new = members("central", 3, &["a", "b", "c"], 11);
    let plan = plan(&old, &new, &allow_domains()).expect("plans");
    let order: Vec<_> = plan.steps.iter().filter_map(|s| s.member.clone()).collect();
    assert_eq!(order, ["central-1", "central-2", "central-3", "etcd-1"]);
    let after = replay(&old, &plan);
    assert_eq!(after.last().map(|s| s.len()), Some(3));
}

#[test]
fn the_only_member_never_leaves_to_make_room() {
    let mut old = members("etcd", 1, &[], 11);
    old.layout = Layout::DevTest;
    // central-1 would take the dev node's address.
    let new = members("central", 3, &["a", "b", "c"], 11);
    let found = plan(&old, &new, &allow_domains());
    let plan = found.expect("a growth joins the others first, then the dev node leaves, then central-1 joins");
    let order: Vec<_> = plan.steps.iter().filter_map(|s| s.member.clone()).collect();
    assert_eq!(order, ["central-2", "central-3", "etcd-1", "central-1"]);
    // One member to one at its address: nothing can join first.
    let one = members("central", 1, &[], 11);
    let refused = super::plan(&old, &one, &allow_domains()).expect_err("no room");
    assert_eq!(refused[0].rule, ChangeRule::Quorum);
}

#[test]
fn a_dead_member_is_removed_first_and_its_replacement_joins() {
    let (old, new) = (members("central", 3, &["a", "b", "c"], 11), members("central", 3, &["a", "b", "c"], 11));
    let options = ChangeOptions { dead: vec!["central-2".into()], allow: allow_domains().allow };
    let plan = plan(&old, &new, &options).expect("plans");
    assert_eq!(plan.steps[0].action, Action::RemoveDead);
    assert!(plan.steps[0].commands.iter().all(|c| !c.contains("10.0.0.12:2379")), "a dead endpoint is never asked");
    assert_eq!((plan.before.voters, plan.before.down, plan.before.tolerates), (3, 1, 0));
    assert_eq!(plan.steps[1].action, Action::Join);
    assert_eq!(plan.steps[1].member.as_deref(), Some("central-2"));
    // Two dead of three: no quorum, nothing can be planned.
    let options = ChangeOptions { dead: vec!["central-2".into(), "central-3".into()], allow: Vec::new() };
    let refused = super::plan(&old, &new, &options).expect_err("no quorum");
    assert_eq!(refused[0].rule, ChangeRule::Quorum);
}

#[test]
fn an_address_move_is_an_update_and_stops_writes_when_nothing_is_tolerated() {
    let (old, new) = (members("central", 3, &["a", "b", "c"], 11), members("central", 3, &["a", "b", "c"], 21));
    // While a member restarts, another cabinet's loss takes quorum: a window, named.
    let plan = plan(&old, &new, &allow_domains()).expect("three tolerate one restart at a time");
    assert!(plan.steps.iter().take(3).all(|s| s.action == Action::MoveAddress));
    assert!(plan.steps[0].commands[0].contains("member update \"$ID\" --peer-urls=http://10.0.0.21:2380"));
    let (one, moved) = (members("etcd", 1, &[], 11), members("etcd", 1, &[], 12));
    let refused = super::plan(&one, &moved, &ChangeOptions::default()).expect_err("the only member restarts");
    assert_eq!(refused[0].rule, ChangeRule::Downtime);
}

#[test]
fn what_a_running_cluster_cannot_change_is_refused_on_new() {
    let old = members("central", 3, &["a", "b", "c"], 11);
    let mut new = old.clone();
    new.name = Cow::Borrowed("other");
    new.os = Os::CoreOs;
    let refused = plan(&old, &new, &ChangeOptions::default()).expect_err("identity");
    let subjects: Vec<_> = refused.iter().filter(|f| f.rule == ChangeRule::Identity).map(|f| f.subject).collect();
    assert_eq!(subjects, [Subject::Name, Subject::Os]);
}

#[test]
fn kubernetes_moves_one_minor_at_a_time() {
    use clusterdef_model::Kubernetes;
    let mut old = members("central", 3, &["a", "b", "c"], 11);
    old.kubernetes = Some(Kubernetes::new("v1.34.2"));
    for (to, ok) in [("v1.35.0", true), ("v1.34.5", true), ("v1.36.0", false), ("v1.33.9", false)] {
        let mut new = old.clone();
        new.kubernetes = Some(Kubernetes::new(to));
        match plan(&old, &new, &ChangeOptions::default()) {
            Ok(p) => {
                assert!(ok, "{to} planned");
                let actions: Vec<_> = p.steps.iter().map(|s| s.action).collect();
                assert_eq!(actions, [Action::UpgradeControlPlane, Action::UpgradeNodes], "control plane first");
            }
            Err(f) => assert!(!ok && f[0].rule == ChangeRule::KubernetesVersion, "{to}: {f:?}"),
        }
    }
}

/// The upgrade as an operator runs it: each member's static pods written in place, then NEW's
/// kube-proxy applied (never newer than an apiserver, so after every member); then each node
/// drained, its kubelet unit written in place and restarted, and uncordoned, one at a time.
#[test]
fn an_upgrade_applies_kube_proxy_after_the_control_plane_and_drains_node_by_node() {
    use clusterdef_model::Kubernetes;
    let mut old = members("central", 3, &["a", "b", "c"], 11);
    old.kubernetes = Some(Kubernetes::new("v1.35.4"));
    let mut new = old.clone();
    new.kubernetes = Some(Kubernetes::new("v1.36.3"));
    let planned = plan(&old, &new, &ChangeOptions::default()).expect("one minor");
    let control_plane = &planned.steps[0];
    assert_eq!(control_plane.commands, ["kubectl apply -f kubernetes/manifests/02-kube-proxy.yaml"]);
    assert_eq!(control_plane.machines.len(), 3, "every member");
    assert!(
        control_plane.machines.iter().all(|m| m.contains("/etc/kubernetes/manifests/kube-apiserver.yaml")
            && m.contains("at v1.36.3")
            && m.contains("/readyz")),
        "{:?}",
        control_plane.machines
    );
    let nodes = &planned.steps[1];
    let pairs: Vec<(&str, &str)> = nodes.commands.chunks(2).map(|p| (p[0].as_str(), p[1].as_str())).collect();
    assert_eq!(pairs.len(), nodes.machines.len(), "one drain and one uncordon a node");
    for ((drain, uncordon), machine) in pairs.iter().zip(&nodes.machines) {
        let node = machine.split(':').next().expect("a node");
        assert!(drain.starts_with(&format!("kubectl drain {node} --ignore-daemonsets")), "{drain}");
        assert_eq!(*uncordon, format!("kubectl uncordon {node}"));
        assert!(machine.contains("systemctl restart kubelet.service"), "{machine}");
    }
}

/// Every pair of sizes 1–7, across one to three cabinets, some members replaced by others at
/// new addresses: the steps end at NEW's members, one change at a time, and writes never stop.
#[test]
fn every_size_pair_ends_at_new_with_writes_served_throughout() {
    for cabinets in [&["a"][..], &["a", "b"], &["a", "b", "c"]] {
        for a in 1..=7 {
            for b in 1..=7 {
                for replaced in [false, true] {
                    let old = members("old", a, cabinets, 11);
                    let new = if replaced { members("new", b, cabinets, 14) } else { members("old", b, cabinets, 11) };
                    let options = allow_domains();
                    let plan = match plan(&old, &new, &options) {
                        Ok(p) => p,
                        // Only the only member holding a joiner's address, with nothing to join first.
                        Err(f) => {
                            assert!(f.iter().all(|f| f.rule == ChangeRule::Quorum), "{a} -> {b}: {f:?}");
                            continue;
                        }
                    };
                    let wanted: BTreeSet<String> = new.etcd_members().into_iter().map(|m| m.name).collect();
                    let states = replay(&old, &plan);
                    let last = states
                        .last()
                        .cloned()
                        .unwrap_or_else(|| old.etcd_members().into_iter().map(|m| m.name).collect());
                    assert_eq!(last, wanted, "{a} -> {b} across {cabinets:?}, replaced {replaced}");
                    for s in &plan.steps {
                        assert!(s.during.serves && s.after.serves, "{a} -> {b}: {} stops writes", s.title);
                        assert!(s.during.learners <= 1);
                        assert!(s.during.voters as usize <= a.max(b) as usize + 1, "{a} -> {b}: {}", s.title);
                    }
                }
            }
        }
    }
}

#[test]
fn every_transition_rule_is_documented_with_whether_it_can_be_allowed() {
    let doc = include_str!("../../../docs/rules.md");
    for rule in ChangeRule::ALL {
        let row = doc.lines().find(|l| l.starts_with(&format!("| `{}` |", rule.name())));
        let row = row.unwrap_or_else(|| panic!("docs/rules.md has no row for `{}`", rule.name()));
        let said = if rule.allowable() { "Allowable" } else { "Cannot be allowed" };
        assert!(row.contains(said), "`{}`'s row does not say {said}", rule.name());
    }
}

#[test]
fn nodes_whose_labels_change_are_relabelled_by_hand() {
    use clusterdef_model::Kubernetes;
    let mut old = members("central", 3, &["a", "b", "c"], 11);
    old.kubernetes = Some(Kubernetes::new("v1.36.3"));
    let mut pool = Group::new("worker", "worker", Size::Fixed(2));
    pool.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 31), last: Ipv4Addr::new(10, 0, 0, 39) };
    pool.metadata = Cow::Owned(vec![(Cow::Borrowed("disk"), Cow::Borrowed("ssd"))]);
    old.pools = Cow::Owned(vec![pool.clone()]);
    let mut new = old.clone();
    pool.metadata = Cow::Owned(vec![(Cow::Borrowed("gpu"), Cow::Borrowed("yes"))]);
    new.pools = Cow::Owned(vec![pool]);
    let plan = plan(&old, &new, &ChangeOptions::default()).expect("plans");
    let relabel = plan.steps.iter().find(|s| s.action == Action::Relabel).expect("a relabel step");
    assert_eq!(
        relabel.commands,
        [
            "kubectl label node worker-1 gpu=yes disk- --overwrite",
            "kubectl label node worker-2 gpu=yes disk- --overwrite"
        ]
    );
    assert!(plan.steps.iter().all(|s| s.member.is_none()), "no member moves");
}

/// `members` running Kubernetes with workers `worker-*` (two, at 10.0.0.31 on) publishing
/// `metadata`, and a Deployment `web` of `replicas` that requires `disk=ssd` and, with
/// `spread`, keeps its replicas on nodes of their own.
fn with_web(workers: u32, metadata: (&'static str, &'static str), replicas: u32, spread: bool) -> Cluster {
    use clusterdef_model::{Kubernetes, Requirement, Unit, UnitBody};
    let mut cluster = members("central", 3, &["a", "b", "c"], 11);
    cluster.kubernetes = Some(Kubernetes::new("v1.36.3"));
    let mut pool = Group::new("worker", "worker", Size::Fixed(workers));
    pool.addressing = Addressing::Range { first: Ipv4Addr::new(10, 0, 0, 31), last: Ipv4Addr::new(10, 0, 0, 39) };
    pool.metadata = Cow::Owned(vec![(Cow::Borrowed(metadata.0), Cow::Borrowed(metadata.1))]);
    cluster.pools = Cow::Owned(vec![pool]);
    let mut web = Unit::new("web@.service", UnitBody::Inline(Cow::Borrowed("[Service]\nExecStart=/bin/true\n")));
    web.instances = Some(replicas);
    web.machine_metadata =
        Cow::Owned(vec![Requirement { key: Cow::Borrowed("disk"), values: Cow::Owned(vec![Cow::Borrowed("ssd")]) }]);
    if spread {
        web.conflicts = Cow::Owned(vec![Cow::Borrowed("web@*.service")]);
    }
    web.container = Some(clusterdef_model::Container::new(Cow::Borrowed("example.com/web:1")));
    cluster.units = Cow::Owned(vec![web]);
    cluster
}

#[test]
fn a_step_that_takes_every_node_a_workload_may_run_on_is_refused_until_allowed() {
    // The workers go: web's pods have no node (the members publish no `disk`).
    let old = with_web(2, ("disk", "ssd"), 2, false);
    let new = with_web(0, ("disk", "ssd"), 2, false);
    let found = plan(&old, &new, &ChangeOptions::default()).expect_err("web loses its nodes");
    let finding = found.iter().find(|f| f.rule == ChangeRule::WorkloadNodes).expect("change_workload_nodes");
    let said =
        "workload `web` has 2 nodes it may run on before the change and none during step 1: its 2 pods stay Pending";
    assert!(finding.message.contains(said), "{}", finding.message);
    assert_eq!(finding.subject, Subject::Unit(0, clusterdef_model::UnitPart::Whole));
    let allow =
        ChangeOptions { dead: Vec::new(), allow: vec![(ChangeRule::WorkloadNodes, "web moves elsewhere".into())] };
    let plan = plan(&old, &new, &allow).expect("allowed");
    assert_eq!(plan.steps[0].action, Action::Workers);
    assert_eq!(plan.steps[0].workloads, [WorkloadAtStep { name: "web".into(), nodes: 0, running: 0, wanted: 2 }]);
    assert!(plan.to_string().contains("workload web: 0 of 2 pods (0 nodes it may run on)"), "{plan}");
}

#[test]
fn relabelled_nodes_keep_their_pods_until_a_drain_places_them_again() {
    // The workers lose `disk=ssd`: web keeps running where it runs through the relabelling, and
    // the kubelets' upgrade, draining each node, has nowhere to place it again.
    let old = with_web(2, ("disk", "ssd"), 2, false);
    let mut new = with_web(2, ("gpu", "yes"), 2, false);
    new.kubernetes = Some(clusterdef_model::Kubernetes::new("v1.37.0"));
    let found = plan(&old, &new, &ChangeOptions::default()).expect_err("the drains strand web");
    let numbers = |p: &ChangePlan, action: Action| p.steps.iter().find(|s| s.action == action).map(|s| s.number);
    let allow =
        ChangeOptions { dead: Vec::new(), allow: vec![(ChangeRule::WorkloadNodes, "web moves elsewhere".into())] };
    let planned = plan(&old, &new, &allow).expect("allowed");
    let upgrade = numbers(&planned, Action::UpgradeNodes).expect("the kubelets' step");
    let finding = found.iter().find(|f| f.rule == ChangeRule::WorkloadNodes).expect("change_workload_nodes");
    assert!(
        finding.message.ends_with(&format!("none during step {upgrade}: its 2 pods stay Pending")),
        "{}",
        finding.message
    );
    let relabel = planned.steps.iter().find(|s| s.action == Action::Relabel).expect("a relabel step");
    assert!(relabel.workloads.is_empty(), "{:?}", relabel.workloads);
}

#[test]
fn workers_added_before_the_old_ones_go_keep_a_workload_running() {
    // Two more workers named on from worker-3: the step adds them before it drains any.
    let old = with_web(2, ("disk", "ssd"), 2, true);
    let new = with_web(4, ("disk", "ssd"), 2, true);
    let plan = plan(&old, &new, &ChangeOptions::default()).expect("plans");
    let workers = plan.steps.iter().find(|s| s.action == Action::Workers).expect("a workers step");
    assert!(workers.workloads.is_empty(), "{:?}", workers.workloads);
    // An added node boots with its tree of the PKI, renewed for NEW under the same CAs.
    assert!(
        workers.machines[0].starts_with("worker-3: provision with NEW's configuration and its tree of the PKI renewed for NEW (`clusterdef pki NEW --renew OLD_PKI"),
        "{:?}",
        workers.machines
    );
}

#[test]
fn draining_node_by_node_leaves_a_spread_workload_short_of_a_pod() {
    let old = with_web(2, ("disk", "ssd"), 2, true);
    let mut new = old.clone();
    new.kubernetes = Some(clusterdef_model::Kubernetes::new("v1.37.0"));
    let plan = plan(&old, &new, &ChangeOptions::default()).expect("an upgrade with nodes left");
    let nodes = plan.steps.iter().find(|s| s.action == Action::UpgradeNodes).expect("the kubelets' step");
    assert_eq!(nodes.workloads, [WorkloadAtStep { name: "web".into(), nodes: 1, running: 1, wanted: 2 }]);
    let control_plane = plan.steps.iter().find(|s| s.action == Action::UpgradeControlPlane).expect("its step");
    assert!(control_plane.workloads.is_empty(), "a control-plane restart takes no node");
}

#[test]
fn a_cluster_without_kubernetes_has_no_workload_predictions() {
    let plan = plan(
        &members("central", 3, &["a", "b", "c"], 11),
        &members("central", 5, &["a", "b", "c"], 11),
        &allow_domains(),
    )
    .expect("plans");
    assert!(plan.steps.iter().all(|s| s.workloads.is_empty()));
}

/// A cluster booting from matchbox: `n` members installed by MAC, `workers` workers installed
/// by MAC, and two machines of a pool that run from RAM.
fn on_matchbox(n: u32, workers: u32) -> Cluster {
    use clusterdef_model::{Boot, BootServerKind};
    let mut cluster = members("central", n, &["a", "b", "c"], 11);
    cluster.boot_server = Some("http://10.0.0.5:8080".into());
    cluster.boot_server_kind = BootServerKind::Matchbox;
    cluster.members.macs = (0..n).map(|i| crate::synthetic::mac(1, i)).collect();
    let mut worker = Group::new("worker", "worker", Size::Fixed(workers));
    worker.macs = (0..workers).map(|i| crate::synthetic::mac(2, i)).collect();
    let mut batch = Group::new("batch", "batch", Size::Fixed(2));
    batch.boot = Boot::Pxe { url: None };
    cluster.pools = Cow::Owned(vec![worker, batch]);
    cluster
}

/// The lines of `plan`'s step that does `action` (to `member`, when named).
fn lines_of<'a>(plan: &'a ChangePlan, action: Action, member: Option<&str>) -> &'a [String] {
    let step = plan.steps.iter().find(|s| s.action == action && (member.is_none() || s.member.as_deref() == member));
    &step.unwrap_or_else(|| panic!("a step {action:?} {member:?}: {:#?}", plan.steps)).machines
}

#[test]
fn a_matchbox_cluster_is_served_each_steps_render_before_its_machine_boots() {
    let (old, new) = (on_matchbox(3, 1), on_matchbox(5, 2));
    let plan = plan(&old, &new, &allow_domains()).expect("plans");
    let has = |lines: &[String], all: &[&str]| lines.iter().any(|l| all.iter().all(|w| l.contains(w)));
    let first = lines_of(&plan, Action::Join, Some("central-4"));
    assert!(
        has(
            first,
            &["central-4: installed by matchbox", "--step 1 ", "`install.central-4`", "52:54:01:00:00:03", "/dev/sda"]
        ),
        "{first:#?}"
    );
    assert!(has(first, &["central-5: not PXE-booted before its own step"]), "{first:#?}");
    let second = lines_of(&plan, Action::Join, Some("central-5"));
    assert!(has(second, &["--step 2 ", "`install.central-5`", "52:54:01:00:00:04"]), "{second:#?}");
    assert!(!has(second, &["not PXE-booted"]), "no machine joins after central-5: {second:#?}");
    let others = lines_of(&plan, Action::Reconfigure, None);
    assert!(has(others, &["batch-1, batch-2: they run from RAM", "reboot them"]), "{others:#?}");
    assert!(has(others, &["worker-1: installed by matchbox, they keep"]), "{others:#?}");
    let added = lines_of(&plan, Action::Workers, None);
    assert!(has(added, &["worker-2: installed by matchbox", "`install.worker-2`", "52:54:02:00:00:01"]), "{added:#?}");
    assert!(plan.notes.iter().any(|n| n.starts_with("matchbox: once the last step is done")), "{:?}", plan.notes);

    // Back: each machine that goes stays in matchbox's groups until NEW's render is served.
    let back = super::plan(&new, &old, &allow_domains()).expect("plans");
    for (action, member, mac) in
        [(Action::Leave, Some("central-5"), "52:54:01:00:00:04"), (Action::Workers, None, "52:54:02:00:00:01")]
    {
        let lines = lines_of(&back, action, member);
        assert!(has(lines, &["matchbox groups", mac, "installs it again with OLD's configuration"]), "{lines:#?}");
    }

    // Without matchbox, no step names it; unchanged, nothing is to be done.
    let files = |mut c: Cluster| {
        c.boot_server_kind = clusterdef_model::BootServerKind::Files;
        c
    };
    let plain = super::plan(&files(on_matchbox(3, 1)), &files(on_matchbox(5, 2)), &allow_domains()).expect("plans");
    let said: Vec<&String> = plain.steps.iter().flat_map(|s| &s.machines).chain(&plain.notes).collect();
    assert!(said.iter().all(|l| !l.contains("matchbox")), "{said:#?}");
    let same = super::plan(&new, &new, &ChangeOptions::default()).expect("plans");
    assert_eq!(same.notes, ["the declarations describe the same cluster: nothing to do"]);
}

#[test]
fn a_moved_member_takes_new_configuration_on_its_own_disk() {
    // Installed by matchbox or not, a member at a new address keeps its disk: Ignition runs
    // again there; installing it again would wipe the data the member restarts with.
    let old = on_matchbox(3, 0);
    let mut new = old.clone();
    new.members = members("central", 3, &["a", "b", "c"], 21).members;
    new.members.macs = old.members.macs.clone();
    let plan = plan(&old, &new, &allow_domains()).expect("plans");
    let lines = lines_of(&plan, Action::MoveAddress, Some("central-1"));
    let has = |all: &[&str]| lines.iter().any(|l| all.iter().all(|w| l.contains(w)));
    assert!(
        has(&[
            "central-1: after `member update`",
            "/boot/flatcar/first_boot",
            "ignition/central-1.ign",
            "data directory stays"
        ]),
        "{lines:#?}"
    );
    assert!(has(&["central-1: installed by matchbox; not PXE-booted", "wipes its etcd data"]), "{lines:#?}");
    // Nor is a member reprovisioned when the others are told NEW's members.
    let reconfigure = lines_of(&plan, Action::Reconfigure, None);
    assert!(reconfigure.iter().any(|l| l.contains("never for a member")), "{reconfigure:#?}");
}

#[test]
fn a_moved_member_with_tls_installs_certificates_naming_its_new_address() {
    let mut old = members("central", 3, &["a", "b", "c"], 11);
    old.tls = Some(clusterdef_model::Tls {
        ca: "/etc/ssl/etcd/ca.pem".into(),
        cert: "/etc/ssl/etcd/node.pem".into(),
        key: "/etc/ssl/etcd/node-key.pem".into(),
    });
    let mut new = members("central", 3, &["a", "b", "c"], 21);
    new.tls = old.tls.clone();
    let plan = plan(&old, &new, &allow_domains()).expect("plans");
    let lines = lines_of(&plan, Action::MoveAddress, Some("central-2"));
    assert!(
        lines.iter().any(|l| l.starts_with("central-2: its TLS files from the PKI renewed for NEW")
            && l.contains("machines/central-2")),
        "{lines:#?}"
    );
    // Without TLS, no certificate to install.
    let plain = super::plan(
        &members("central", 3, &["a", "b", "c"], 11),
        &members("central", 3, &["a", "b", "c"], 21),
        &allow_domains(),
    )
    .expect("plans");
    assert!(!lines_of(&plain, Action::MoveAddress, Some("central-2")).iter().any(|l| l.contains("TLS")));
}
