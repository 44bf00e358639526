//! `clusterdef change OLD NEW` and the render that knows what it replaces: the plan's steps
//! and commands, the transition rules' findings on NEW's tokens, `--allow` and `--dead`, and
//! `render` refusing a whole declaration over a running cluster's whose change needs steps.

mod support;

use support::{Scratch, clusterdef, stderr, stdout};

const THREE: &str = r#"name: "prod",
os: flatcar,
network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11"..="10.0.0.15" },
workers: 2 { addresses: "10.0.0.21"..="10.0.0.29" },
"#;

fn five() -> String {
    THREE.replace("central: 3", "central: 5")
}

const ALLOW: &str = "--allow=change_domain_quorum=a window of minutes";

#[test]
fn three_to_five_plans_two_learners_and_names_the_window_on_new_s_tokens() {
    let s = Scratch::new("change-plan");
    let (old, new) = (s.file("three.cluster", THREE), s.file("five.cluster", &five()));
    let refused = clusterdef(&["change", &old, &new]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(err.contains("five.cluster:4:1"), "the finding sits on NEW's members declaration: {err}");
    assert!(err.contains("step 1 losing cabinet a; step 2 losing cabinet a"), "{err}");
    assert!(err.contains("--allow change_domain_quorum=REASON"), "{err}");
    let planned = clusterdef(&["change", &old, &new, ALLOW]);
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    let text = stdout(&planned);
    assert!(
        text.contains("step 1: add central-4 (cabinet a)") && text.contains("step 2: add central-5 (cabinet b)"),
        "{text}"
    );
    assert!(text.contains("member add central-4 --learner --peer-urls=http://10.0.0.14:2380"), "{text}");
    assert!(text.contains("accepted risk `change_domain_quorum` (a window of minutes)"), "{text}");
    let json = clusterdef(&["change", &old, &new, ALLOW, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["steps"][0]["action"], "join");
    assert_eq!(value["after"]["voters"], 5);
}

#[test]
fn allow_and_dead_are_checked_before_planning() {
    let s = Scratch::new("change-usage");
    let (old, new) = (s.file("three.cluster", THREE), s.file("five.cluster", &five()));
    for (allow, says) in [
        ("--allow=change_identity=because", "cannot be allowed"),
        ("--allow=change_domain_quorum=", "give the reason"),
        ("--allow=no_such_rule=x", "no transition rule"),
        ("--allow=change_domain_quorum", "RULE=REASON"),
    ] {
        let out = clusterdef(&["change", &old, &new, allow]);
        assert_eq!(out.status.code(), Some(2), "{allow}");
        assert!(stderr(&out).contains(says), "{allow}: {}", stderr(&out));
    }
    let out = clusterdef(&["change", &old, &new, ALLOW, "--dead", "central-9"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("`--dead central-9` names no member of OLD"), "{}", stderr(&out));
}

#[test]
fn a_renamed_cluster_and_a_skipped_minor_are_refused_together() {
    let s = Scratch::new("change-identity");
    let old = s.file("old.cluster", &format!("{THREE}kubernetes: {{ version: \"v1.34.2\" }},\n"));
    let new = s.file(
        "new.cluster",
        &format!("{}kubernetes: {{ version: \"v1.36.0\" }},\n", THREE.replace("\"prod\"", "\"other\"")),
    );
    let out = clusterdef(&["change", &old, &new]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("new.cluster:1:7") && err.contains("change_identity"), "on the name's token: {err}");
    assert!(err.contains("change_kubernetes_version") && err.contains("v1.35.x"), "{err}");
}

#[test]
fn render_refuses_a_whole_declaration_over_a_running_cluster_s_until_its_steps_are_rendered() {
    let s = Scratch::new("change-render");
    let (old, new) = (s.file("three.cluster", THREE), s.file("five.cluster", &five()));
    let out = s.path("out");
    assert_eq!(clusterdef(&["render", &old, "--out", &out]).status.code(), Some(0));
    let record = || std::fs::read(s.0.join("out/clusterdef-declaration.json")).expect("the record");
    let before = record();
    let whole = clusterdef(&["render", &new, "--out", &out]);
    assert_eq!(whole.status.code(), Some(1), "{}", stdout(&whole));
    assert!(stderr(&whole).contains("clusterdef change OLD NEW"), "{}", stderr(&whole));
    assert_eq!(record(), before, "a refused render leaves the record as it was");
    // Step 1 writes central-4 as a member joining the running three.
    let step = clusterdef(&["render", &new, "--step", "1", "--from", &old, "--out", &out]);
    assert_eq!(step.status.code(), Some(0), "{}", stderr(&step));
    let joiner = std::fs::read_to_string(s.0.join("out/ignition/central-4.ign")).expect("central-4's config");
    assert!(joiner.contains("ETCD_INITIAL_CLUSTER_STATE=existing"), "{joiner}");
    let fifth = std::fs::read_to_string(s.0.join("out/ignition/central-5.ign")).expect("central-5's config");
    assert!(fifth.contains("ETCD_INITIAL_CLUSTER_STATE=new"), "not this step's joiner");
    let early = clusterdef(&["render", &new, "--out", &out]);
    assert_eq!(early.status.code(), Some(1));
    assert!(stderr(&early).contains("--step 2 --from OLD"), "{}", stderr(&early));
    assert_eq!(clusterdef(&["render", &new, "--step", "2", "--from", &old, "--out", &out]).status.code(), Some(0));
    assert_eq!(clusterdef(&["render", &new, "--out", &out]).status.code(), Some(0), "every step rendered");
    // Workers need no step of their own.
    let more = s.file("more.cluster", &five().replace("workers: 2", "workers: 3"));
    let grown = clusterdef(&["render", &more, "--out", &out]);
    assert_eq!(grown.status.code(), Some(0), "{}", stderr(&grown));
    let diff = clusterdef(&["diff", &more, "--out", &out]);
    assert_eq!(diff.status.code(), Some(0), "diff counts the record as render writes it: {}", stdout(&diff));
}

#[test]
fn a_step_that_joins_no_member_or_does_not_exist_is_refused() {
    let s = Scratch::new("change-step");
    let (old, new) = (s.file("five.cluster", &five()), s.file("three.cluster", THREE));
    let out = s.path("out");
    let leave = clusterdef(&["render", &new, "--step", "1", "--from", &old, "--out", &out]);
    assert_eq!(leave.status.code(), Some(2));
    assert!(stderr(&leave).contains("boots no joining member"), "{}", stderr(&leave));
    let none = clusterdef(&["render", &new, "--step", "9", "--from", &old, "--out", &out]);
    assert_eq!(none.status.code(), Some(2));
    assert!(stderr(&none).contains("there is no step 9"), "{}", stderr(&none));
}

const TLS: &str =
    "tls: { ca: \"/etc/ssl/etcd/ca.pem\", cert: \"/etc/ssl/etcd/m.pem\", key: \"/etc/ssl/etcd/m-key.pem\" },\n";

/// `pki --renew`: a new directory with the same CAs and new leaves (the old one only read, an
/// existing output refused), the machines the cluster no longer has named; `change --pki` lists
/// each certificate's expiry and marks those within `--warn-days`; the joiner is told where its
/// certificates come from.
#[test]
fn pki_renew_and_change_pki_plan_certificates() {
    let s = Scratch::new("change-pki");
    let (three, five) =
        (s.file("t3.cluster", &format!("{THREE}{TLS}")), s.file("t5.cluster", &format!("{}{TLS}", five())));
    let (old_pki, new_pki) = (s.path("pki"), s.path("pki-5"));
    assert_eq!(clusterdef(&["pki", &three, "--out", &old_pki]).status.code(), Some(0));
    let ca = std::fs::read(s.0.join("pki/ca/etcd-ca.crt")).expect("the CA");
    let renewed = clusterdef(&["pki", &five, "--renew", &old_pki, "--out", &new_pki]);
    assert_eq!(renewed.status.code(), Some(0), "{}", stderr(&renewed));
    assert!(stdout(&renewed).contains("the same CAs"), "{}", stdout(&renewed));
    assert_eq!(std::fs::read(s.0.join("pki-5/ca/etcd-ca.crt")).expect("kept"), ca);
    assert!(s.0.join("pki-5/machines/central-5/etc/ssl/etcd/m.pem").is_file(), "the joiner's certificate");
    let again = clusterdef(&["pki", &five, "--renew", &old_pki, "--out", &new_pki]);
    assert_eq!(again.status.code(), Some(2), "an existing directory is never written over");
    let shrunk = clusterdef(&["pki", &three, "--renew", &new_pki, "--out", &s.path("pki-3")]);
    assert!(stdout(&shrunk).contains("no longer in the cluster: machines/central-4"), "{}", stdout(&shrunk));
    let plan = clusterdef(&["change", &three, &five, ALLOW, "--pki", &old_pki, "--warn-days", "400"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let text = stdout(&plan);
    assert!(text.contains("certificates (soonest first)"), "{text}");
    assert!(text.contains("machines/central-1/etc/ssl/etcd/m.pem (364 days)  RENEW"), "{text}");
    assert!(!text.contains("ca/etcd-ca.crt (3649 days)  RENEW"), "a CA ten years out is not due: {text}");
    assert!(text.contains("clusterdef pki NEW --renew OLD_PKI --out NEW_PKI`, machines/central-4"), "{text}");
    let json = clusterdef(&["change", &three, &five, ALLOW, "--pki", &old_pki, "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["certificates"][0]["due"], false, "30 days by default");
    let missing = clusterdef(&["change", &three, &five, ALLOW, "--pki", &s.path("nothing")]);
    assert_eq!(missing.status.code(), Some(2));
}

/// A Kubernetes cluster whose workload `web` runs on its `disk = ssd` workers.
const WITH_WEB: &str = r#"name: "prod",
os: flatcar,
kubernetes: { version: "v1.36.3" },
tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11"..="10.0.0.15" },
workers: 2 { addresses: "10.0.0.21"..="10.0.0.29", metadata: { disk = ssd } },
unit "web@.service" { metadata: { disk = ssd }, instances: 2, image: "quay.io/example/web:1.0" },
"#;

#[test]
fn a_step_leaving_a_workload_no_node_is_refused_on_its_unit_and_predicted_once_allowed() {
    let s = Scratch::new("change-workloads");
    let old = s.file("old.cluster", WITH_WEB);
    // NEW's workers publish `disk = nvme`, and web asks for it; the kubelets' upgrade drains
    // each node before NEW's manifests are applied, and OLD's web has nowhere to go.
    let new = s.file("new.cluster", &WITH_WEB.replace("disk = ssd", "disk = nvme").replace("v1.36.3", "v1.37.0"));
    let refused = clusterdef(&["change", &old, &new]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let err = stderr(&refused);
    assert!(err.contains("new.cluster:8:1"), "the finding sits on NEW's unit `web`: {err}");
    assert!(err.contains("workload `web` has 2 nodes it may run on before the change and none during step 3"), "{err}");
    assert!(err.contains("--allow change_workload_nodes=REASON"), "{err}");
    let planned = clusterdef(&["change", &old, &new, "--allow=change_workload_nodes=web is retired next"]);
    assert_eq!(planned.status.code(), Some(0), "{}", stderr(&planned));
    assert!(stdout(&planned).contains("workload web: 0 of 2 pods (0 nodes it may run on)"), "{}", stdout(&planned));
    let json = clusterdef(&["change", &old, &new, "--allow=change_workload_nodes=x", "--format", "json"]);
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    assert_eq!(value["steps"][2]["action"], "upgrade_nodes");
    assert_eq!(value["steps"][2]["workloads"][0]["name"], "web");
    assert_eq!(value["steps"][2]["workloads"][0]["running"], 0);
}
