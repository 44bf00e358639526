//! `clusterdef graph` of a Kubernetes cluster: each workload drawn with an edge to exactly the
//! boxes of the node kinds the plan lets it run on, and with `--lose DOMAIN` the cluster after
//! that domain's loss as the plan says it (no edge into the lost domain, the members left and
//! quorum, the control plane, each workload's pods), in every format; an unknown domain is an
//! error naming the known ones.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use support::{clusterdef, stderr, stdout};

fn kubernetes() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster/kubernetes.cluster").display().to_string()
}

/// A DOT picture as the tests read it: each box's node kind (`group/domain`, from its first label
/// line and its column's title) and whether its column is the lost one; each unit's label; the
/// edges, unit → box; the summary box's lines.
struct Dot {
    boxes: BTreeMap<String, (String, bool)>,
    units: BTreeMap<String, String>,
    edges: BTreeSet<(String, String)>,
    summary: Vec<String>,
}

fn label(line: &str) -> String {
    line.split("label=\"").nth(1).and_then(|l| l.split('"').next()).unwrap_or_default().to_string()
}

fn read_dot(dot: &str) -> Dot {
    let mut out = Dot { boxes: BTreeMap::new(), units: BTreeMap::new(), edges: BTreeSet::new(), summary: Vec::new() };
    let mut column = String::new();
    for line in dot.lines().map(str::trim) {
        if line.starts_with("label=") {
            column = label(line);
        } else if line.starts_with('g') && line.contains("[label=") {
            let id = line.split_whitespace().next().unwrap_or_default().to_string();
            let text = label(line);
            let mut lines = text.split("\\n");
            let first = lines.next().unwrap_or_default();
            if column.starts_with("after losing") {
                out.summary = lines.map(str::to_string).collect();
                continue;
            }
            let group = first.split_whitespace().next().unwrap_or_default();
            let domain = column.split_whitespace().nth(1).unwrap_or_default();
            out.boxes.insert(id, (format!("{group}/{domain}"), column.ends_with("(lost)")));
        } else if line.starts_with('u') && line.contains("[label=") {
            out.units.insert(line.split_whitespace().next().unwrap_or_default().to_string(), label(line));
        } else if let Some((from, to)) = line.split_once(" -> ") {
            let to = to.split([' ', ';']).next().unwrap_or_default();
            out.edges.insert((from.to_string(), to.to_string()));
        }
    }
    out
}

fn plan() -> serde_json::Value {
    serde_json::from_str(&stdout(&clusterdef(&["plan", &kubernetes(), "--format", "json"]))).expect("plan json")
}

/// Each workload's edges go to exactly the boxes of its eligible kinds, minus the lost domain's.
fn edges_follow_the_plan(picture: &Dot, plan: &serde_json::Value, lost: Option<&str>) {
    for w in plan["kubernetes"]["workloads"].as_array().expect("workloads") {
        let name = w["name"].as_str().expect("a name");
        let (id, _) = picture
            .units
            .iter()
            .find(|(_, l)| l.starts_with(&format!("{name} · ")))
            .unwrap_or_else(|| panic!("{name} is not drawn: {:?}", picture.units));
        let drawn: BTreeSet<&String> =
            picture.edges.iter().filter(|(u, _)| u == id).map(|(_, b)| &picture.boxes[b].0).collect();
        let eligible: BTreeSet<String> = w["eligible"]
            .as_array()
            .expect("eligible")
            .iter()
            .map(|k| k.as_str().expect("a kind").to_string())
            .filter(|k| lost.is_none_or(|d| !k.ends_with(&format!("/{d}"))))
            .collect();
        assert_eq!(drawn, eligible.iter().collect(), "{name}'s edges against the plan");
    }
}

#[test]
fn graph_draws_each_workload_where_the_plan_lets_it_run() {
    let plan = plan();
    let out = clusterdef(&["graph", &kubernetes()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let picture = read_dot(&stdout(&out));
    assert_eq!(picture.units.len(), 3, "the seed's three workloads: {:?}", picture.units);
    edges_follow_the_plan(&picture, &plan, None);
    assert!(picture.boxes.values().all(|(_, lost)| !lost) && picture.summary.is_empty());
}

#[test]
fn graph_after_a_domains_loss_draws_what_the_plan_says_it_leaves() {
    let plan = plan();
    for loss in plan["domain_losses"].as_array().expect("losses") {
        let domain = loss["domain"].as_str().expect("a domain");
        let out = clusterdef(&["graph", &kubernetes(), "--lose", domain]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let picture = read_dot(&stdout(&out));
        edges_follow_the_plan(&picture, &plan, Some(domain));
        let lost: BTreeSet<&String> = picture.boxes.iter().filter(|(_, (_, l))| *l).map(|(id, _)| id).collect();
        assert_eq!(lost.len(), 2, "cabinet {domain}'s central and worker boxes are drawn lost");
        assert!(picture.boxes.iter().all(|(_, (k, l))| *l == k.ends_with(&format!("/{domain}"))));
        let quorum = if loss["keeps_quorum"] == true { "quorum kept" } else { "quorum lost, no writes" };
        let want_etcd = format!(
            "etcd: {} of {} members left, {} needed: {quorum}",
            loss["members_left"],
            loss["members_left"].as_u64().unwrap_or(0) + loss["members_lost"].as_u64().unwrap_or(0),
            loss["quorum"]
        );
        assert_eq!(picture.summary.first(), Some(&want_etcd), "{:?}", picture.summary);
        let k = plan["kubernetes"]["losses"]
            .as_array()
            .expect("losses")
            .iter()
            .find(|l| l["domain"] == domain)
            .expect("the Kubernetes loss");
        let mut want = vec![want_etcd];
        want.push(
            if k["control_plane"] == true {
                "control plane serves"
            } else {
                "control plane stopped: nothing is placed again"
            }
            .to_string(),
        );
        for w in k["workloads"].as_array().expect("short workloads") {
            let (running, wanted) = (w["running"].as_u64().unwrap_or(0), w["wanted"].as_u64().unwrap_or(0));
            want.push(format!(
                "{}: {running} of {wanted} run, {} pending",
                w["name"].as_str().unwrap_or(""),
                wanted - running
            ));
        }
        assert_eq!(picture.summary, want, "after losing cabinet {domain}");
        // The same in the other formats.
        let mermaid = stdout(&clusterdef(&["graph", &kubernetes(), "--lose", domain, "--format", "mermaid"]));
        assert_eq!(mermaid.matches(":::lost").count(), 2, "{mermaid}");
        assert!(mermaid.contains(&want.join("<br/>")), "{mermaid}");
        let svg = stdout(&clusterdef(&["graph", &kubernetes(), "--lose", domain, "--format", "svg"]));
        assert_eq!(svg.matches("stroke-dasharray=\"4,3\"").count(), 2, "{svg}");
        for line in &want {
            assert!(svg.contains(&format!(">{line}</text>")), "{line} in {svg}");
        }
    }
    // dist-db cannot survive cabinet one: the picture says so.
    let one = read_dot(&stdout(&clusterdef(&["graph", &kubernetes(), "--lose", "one"])));
    assert!(one.units.values().any(|l| l == "dist-db · 1 pod: 0 of 1 run"), "{:?}", one.units);
}

#[test]
fn graph_refuses_a_domain_the_cluster_does_not_have() {
    let out = clusterdef(&["graph", &kubernetes(), "--lose", "four"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out), "error: --lose: no failure domain `four`; the cluster's are one, two, three\n");
    assert!(stdout(&out).is_empty());
}

/// The README shows the production seed's picture as `graph` draws it today.
#[test]
fn the_readme_shows_the_picture_graph_draws() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md")).expect("README");
    let block = readme.split("```mermaid\n").nth(1).and_then(|b| b.split("```").next()).expect("a mermaid block");
    let drawn = stdout(&clusterdef(&["graph", &kubernetes(), "--format", "mermaid"]));
    assert_eq!(
        block, drawn,
        "README.md's picture: run `clusterdef graph examples/cluster/kubernetes.cluster --format mermaid`"
    );
}
