//! The real `clusterdef` binary on valid and invalid files: output and exit codes.

use std::path::Path;

mod support;

use support::{Scratch, clusterdef, production, stderr, stdout};

#[test]
fn check_accepts_the_seed_and_rejects_with_positions_and_exit_1() {
    let ok = clusterdef(&["check", &production()]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).starts_with("ok: central-services cluster `prod`"));

    let s = Scratch::new("check");
    let bad = s.file("bad.cluster", "central: 4 across cabinets [a, b],\nworkers: autoscale 9..2,\n");
    let out = clusterdef(&["check", &bad]);
    assert_eq!(out.status.code(), Some(1));
    let text = stderr(&out);
    assert!(
        text.contains(&format!(" --> {bad}:1:10\n  |\n1 | central: 4 across cabinets [a, b],\n  |          ^\n")),
        "{text}"
    );
    assert_eq!(text.matches("error: ").count(), 4, "{text}");
    assert!(!text.contains('\x1b'), "no colour when not on a terminal");

    let out = clusterdef(&["check", &bad, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(report["ok"], false);
    let rules: Vec<&str> =
        report["errors"].as_array().expect("errors").iter().filter_map(|e| e["rule"].as_str()).collect();
    assert_eq!(rules, ["even_members", "failure_domain_quorum", "failure_domain_quorum", "autoscale_bounds"]);
    assert_eq!(report["errors"][0]["line"], 1);
    assert_eq!(report["errors"][0]["column"], 10);
}

#[test]
fn an_allow_that_silences_nothing_is_pointed_out() {
    let s = Scratch::new("stale");
    let file = s.file(
        "stale.cluster",
        "central: 3 across cabinets [a, b, c],\nallow(even_members, reason = \"a fourth machine was being racked\"),\n",
    );
    let out = clusterdef(&["check", &file]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("warning: `allow(even_members)` silences nothing; remove it"), "{}", stderr(&out));
    let plan = stdout(&clusterdef(&["plan", &file]));
    let row = plan
        .lines()
        .find(|l| l.trim_start().starts_with("even_members"))
        .map(|l| l.split_whitespace().take(2).collect::<Vec<_>>());
    assert_eq!(row, Some(vec!["even_members", "0"]), "{plan}");
    let used = s
        .file("used.cluster", "central: 4 across cabinets [a, b, c, d],\nallow(even_members, reason = \"racking\"),\n");
    let out = clusterdef(&["check", &used]);
    assert!(stderr(&out).is_empty(), "{}", stderr(&out));
    let plan = stdout(&clusterdef(&["plan", &used]));
    assert!(
        plan.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["even_members", "1", "racking"]),
        "{plan}"
    );
}

#[test]
fn yaml_and_json_forms_round_trip_through_the_same_rules() {
    let s = Scratch::new("forms");
    for (format, name) in [("yaml", "prod.yaml"), ("json", "prod.json")] {
        let exported = clusterdef(&["export", &production(), "--format", format]);
        assert_eq!(exported.status.code(), Some(0), "{}", stderr(&exported));
        let file = s.file(name, &stdout(&exported));
        let check = clusterdef(&["check", &file]);
        assert_eq!(check.status.code(), Some(0), "{name}: {}", stderr(&check));
        // The same artifacts from every form.
        let from_form = clusterdef(&["render", &file, "--out", &s.path(&format!("out-{format}"))]);
        assert_eq!(from_form.status.code(), Some(0), "{}", stderr(&from_form));
    }
    let dsl = clusterdef(&["render", &production(), "--out", &s.path("out-dsl")]);
    assert_eq!(dsl.status.code(), Some(0));
    for format in ["yaml", "json"] {
        let diff = clusterdef(&["diff", &s.path("prod.yaml"), "--out", &s.path(&format!("out-{format}"))]);
        assert_eq!(diff.status.code(), Some(0), "{}", stdout(&diff));
    }
    let diff = clusterdef(&["diff", &s.path("prod.json"), "--out", &s.path("out-dsl")]);
    assert_eq!(diff.status.code(), Some(0), "{}", stdout(&diff));

    // A rule broken in YAML is reported at its path; a syntax error at its line.
    let yaml = std::fs::read_to_string(s.path("prod.yaml")).expect("yaml");
    let broken = s.file("broken.yaml", &yaml.replacen("fixed: 5", "fixed: 4", 1));
    let out = clusterdef(&["check", &broken]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("error: 4 etcd members tolerate 1 failure, the same as 3"), "{}", stderr(&out));
    assert!(stderr(&out).contains(&format!(" --> {broken}: at central.size")), "{}", stderr(&out));
    let typo = s.file("typo.yaml", &yaml.replacen("channel: \"stable\"", "chanel: \"stable\"", 1));
    let out = clusterdef(&["check", &typo]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("chanel"), "unknown keys are errors: {}", stderr(&out));
    assert!(stderr(&out).contains(&format!("{typo}:")), "{}", stderr(&out));
}

#[test]
fn render_then_diff_shows_changes_and_exits_3() {
    let s = Scratch::new("diff");
    let text = std::fs::read_to_string(production()).expect("production");
    // Unit files are read from the project only: the copy brings its own.
    std::fs::create_dir_all(s.0.join("units")).expect("units");
    for unit in ["monitoring.service", "kubernetes.service", "var-lib-data.mount"] {
        let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/units").join(unit);
        std::fs::copy(from, s.0.join("units").join(unit)).expect("unit file");
    }
    let copy = s.file("prod.cluster", &text);
    let out_dir = s.path("out");
    let render = clusterdef(&["render", &copy, "--out", &out_dir, "--format", "json"]);
    assert_eq!(render.status.code(), Some(0), "{}", stderr(&render));
    let report: serde_json::Value = serde_json::from_str(&stdout(&render)).expect("json");
    // Eleven configs and the plan, and the record of the declaration they came from.
    assert_eq!(report["written"].as_array().map(Vec::len), Some(13));
    assert!(s.0.join("out/clusterdef-declaration.json").is_file());
    assert_eq!(clusterdef(&["diff", &copy, "--out", &out_dir]).status.code(), Some(0));

    let changed = s.file(
        "prod.cluster",
        &std::fs::read_to_string(&copy)
            .expect("copy")
            .replace("channel: beta", "channel: alpha")
            .replace("autoscale 3..50 across cabinets [one, two]", "autoscale 3..50 across cabinets [one]"),
    );
    let diff = clusterdef(&["diff", &changed, "--out", &out_dir]);
    assert_eq!(diff.status.code(), Some(3), "{}", stderr(&diff));
    let text = stdout(&diff);
    assert!(text.contains("~ cloud-config/worker-one.yml"), "{text}");
    assert!(text.contains("- cloud-config/worker-two.yml"), "{text}");
    assert!(text.contains("~ clusterdef-declaration.json"), "the record changes with the declaration: {text}");
    assert!(text.ends_with("0 to add, 3 to change, 1 to remove\n"), "{text}");
}

#[test]
fn plan_and_graph_describe_the_topology() {
    let plan = clusterdef(&["plan", &production()]);
    assert_eq!(plan.status.code(), Some(0));
    let text = stdout(&plan);
    let row = |first: &str| {
        text.lines().find(|l| l.trim_start().starts_with(first)).map(|l| l.split_whitespace().collect::<Vec<_>>())
    };
    assert_eq!(row("cabinet one"), Some(vec!["cabinet", "one", "2", "3", "3", "keeps", "quorum"]), "{text}");
    assert_eq!(row("central-1").map(|r| r[4].to_string()), Some("10.0.0.101".to_string()), "{text}");
    assert!(text.contains("  dist-db.service     one of   worker in cabinet one (autoscaled)"), "{text}");
    let json = clusterdef(&["plan", &production(), "--format", "json"]);
    let value: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("plan json");
    assert_eq!(value["etcd"]["tolerates"], 2);
    assert_eq!(value["domain_losses"].as_array().map(Vec::len), Some(3));

    let dot = stdout(&clusterdef(&["graph", &production()]));
    assert!(dot.starts_with("digraph \"prod\" {"), "{dot}");
    assert!(dot.contains("label=\"cabinet one\""), "{dot}");
    assert_eq!(
        dot.matches("fillcolor=\"#f4cccc\"").count(),
        3,
        "the members in each of three cabinets highlighted: {dot}"
    );
    let mermaid = stdout(&clusterdef(&["graph", &production(), "--format", "mermaid"]));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert_eq!(mermaid.matches(":::etcd").count(), 3);
    let svg = stdout(&clusterdef(&["graph", &production(), "--format", "svg"]));
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
    assert_eq!(svg.matches("fill=\"#f4cccc\"").count(), 3);
    assert!(svg.trim_end().ends_with("</svg>"));
}

#[test]
fn help_usage_and_io_errors_have_their_exit_codes() {
    for command in ["check", "render", "plan", "graph", "diff", "export"] {
        let out = clusterdef(&[command, "--help"]);
        assert_eq!(out.status.code(), Some(0), "{command} --help");
        assert!(stdout(&out).contains("Usage: clusterdef"), "{command}");
    }
    assert!(stdout(&clusterdef(&["--help"])).contains("Exit codes: 0 success, 1"));
    assert_eq!(clusterdef(&["render", &production()]).status.code(), Some(2), "--out is required");
    assert_eq!(clusterdef(&["frobnicate"]).status.code(), Some(2));
    let missing = clusterdef(&["check", "no/such/file.cluster"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(stderr(&missing).starts_with("error: no/such/file.cluster:"), "{}", stderr(&missing));
}

/// Any input is contained: a count past the limit, a count the grammar barely accepts, and
/// brackets nested far deeper than a recursive tokenizer's stack allows all end in a positioned
/// error and exit 1, never an abort. (Time and memory are bounded by the limits; the fuzz pass
/// times every input.)
#[test]
fn huge_counts_and_deep_nesting_end_in_positioned_errors() {
    let s = Scratch::new("contained");
    for (name, text, at, says) in [
        (
            "huge.cluster",
            "central: 3 across cabinets [a, b, c],\nworkers: 100000000,\n".to_string(),
            ":2:10",
            "beyond the 10000 machines",
        ),
        (
            "largest.cluster",
            "central: 3 across cabinets [a, b, c],\nworkers: 4294967295,\n".to_string(),
            ":2:10",
            "rule `cluster_size`",
        ),
        (
            "deep.cluster",
            format!("central: {}{}", "[".repeat(20_000), "]".repeat(20_000)),
            ":1:42",
            "nest more than 32 deep",
        ),
        (
            "deep-braces.cluster",
            format!("unit \"x.service\" {}{}", "{".repeat(50_000), "}".repeat(50_000)),
            ":1:",
            "nest more than 32 deep",
        ),
    ] {
        let file = s.file(name, &text);
        let out = clusterdef(&["check", &file]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(&format!("{file}{at}")) && err.contains(says), "{name}: {err}");
        assert!(err.len() < 2_000, "{name}: the error shows a window of the line, not all of it");
    }
    // Brackets inside strings and comments do not count.
    let text = format!(
        "// {}\ncentral: 3 across cabinets [a, b, c],\nunit \"x.service\" {{ body: \"{}\" }},\n",
        "[".repeat(100),
        "(".repeat(100)
    );
    let out = clusterdef(&["check", &s.file("strings.cluster", &text)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Every front end can finish what it starts: the card example bootstraps by discovery, so
/// `render` and `diff` take the URL on the command line, and say so when it is missing.
#[test]
fn render_and_diff_take_the_discovery_url() {
    let s = Scratch::new("discovery");
    let card = s.file("card.cluster", "central: 5 across cabinets [a, b, c], workers: autoscale\n");
    let out_dir = s.path("out");
    for command in ["render", "diff"] {
        let out = clusterdef(&[command, &card, "--out", &out_dir]);
        assert_eq!(out.status.code(), Some(2), "{command}: {}", stderr(&out));
        assert!(stderr(&out).contains("or pass `--discovery-url URL`"), "{command}: {}", stderr(&out));
    }
    let url = "https://discovery.etcd.io/0123456789abcdef";
    let out = clusterdef(&["diff", &card, "--out", &out_dir, "--discovery-url", url]);
    assert_eq!(out.status.code(), Some(3), "everything to add: {}", stderr(&out));
    let out = clusterdef(&["render", &card, "--out", &out_dir, "--discovery-url", url]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let config = std::fs::read_to_string(Path::new(&out_dir).join("cloud-config/central-1.yml")).expect("rendered");
    assert!(config.contains(&format!("discovery: \"{url}\"")), "{config}");
    let out = clusterdef(&["diff", &card, "--out", &out_dir, "--discovery-url", url]);
    assert_eq!(out.status.code(), Some(0), "nothing left to change: {}", stdout(&out));
}

/// A declaration reads only its own project's files: a unit body outside the crate (absolute,
/// climbing out, or through a symlink) is a positioned error, and nothing is rendered.
#[test]
fn unit_files_outside_the_project_are_refused_with_positions() {
    let s = Scratch::new("confined");
    std::fs::write(s.0.join("secret"), "the machine's secret").expect("secret");
    std::fs::create_dir_all(s.0.join("project/units")).expect("project");
    #[cfg(unix)]
    std::os::unix::fs::symlink(s.0.join("secret"), s.0.join("project/units/link.service")).expect("link");
    let text = "central: 3 across cabinets [a, b, c],\n\
                unit \"a.service\" { body: file \"/etc/shadow\" },\n\
                unit \"b.service\" { body: file \"../secret\" },\n\
                unit \"c.service\" { body: file \"units/link.service\" },\n";
    let file = s.file("project/x.cluster", text);
    let out_dir = s.path("out");
    let out = clusterdef(&["render", &file, "--out", &out_dir]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{file}:2:31")) && err.contains("absolute path"), "{err}");
    assert!(err.contains(&format!("{file}:3:31")) && err.contains("outside the project"), "{err}");
    #[cfg(unix)]
    assert!(err.contains(&format!("{file}:4:31")), "the symlink: {err}");
    assert!(!err.contains("the machine's secret"));
    assert!(!Path::new(&out_dir).exists(), "nothing is rendered");
}

/// The Kubernetes seed: its plan says what each cabinet's loss leaves (the database does not
/// survive cabinet one), `pki` writes the PKI once with keys 0600 and refuses the directory the
/// second time without touching it, and a cluster with neither `tls` nor `kubernetes` is told
/// it needs none.
#[test]
fn kubernetes_plan_predicts_each_loss_and_pki_never_overwrites() {
    let file =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/cluster/kubernetes.cluster").display().to_string();
    let plan = clusterdef(&["plan", &file, "--format", "json"]);
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let plan: serde_json::Value = serde_json::from_str(&stdout(&plan)).expect("json");
    let losses = plan["kubernetes"]["losses"].as_array().expect("losses");
    // A loss lists the workloads it touches; one it does not touch keeps what it has at rest.
    let outcome = |domain: &str, workload: &str| {
        let loss = losses.iter().find(|l| l["domain"] == domain).expect("the domain");
        loss["workloads"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|w| w["name"] == workload)
            .map(|w| w["survives"].clone())
    };
    assert_eq!(outcome("one", "dist-db"), Some(serde_json::Value::Bool(false)));
    // A loss lists the workloads it leaves short; the others keep every pod they want.
    assert_eq!(outcome("two", "dist-db"), None, "cabinet two holds none of dist-db's nodes");
    assert_eq!(outcome("one", "webapp"), None, "webapp's replicas find nodes in the other cabinets");
    let text = stdout(&clusterdef(&["plan", &file]));
    assert!(text.contains("cabinet one    serves         dist-db   0 of 1  does not survive"), "{text}");
    assert!(text.contains("cabinet two    serves         (all)             every one keeps its pods"), "{text}");
    assert!(text.contains("(a workload not listed under a loss keeps every pod it wants;"), "{text}");
    // Every node's own pods (2, and 3 more on each of 5 members), the monitoring DaemonSet's 11,
    // CoreDNS's 5, webapp's 3 and dist-db's 1, on 11 nodes of 110.
    assert!(text.contains("pods: 57 placed on nodes that hold 1210"), "{text}");
    assert_eq!(plan["kubernetes"]["pods_placed"], 57);
    assert!(losses.iter().all(|l| l["crowded"].is_null()), "no loss leaves too little room");

    let s = Scratch::new("pki");
    let out = s.path("pki");
    let first = clusterdef(&["pki", &file, "--out", &out]);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(!stdout(&first).contains("PRIVATE KEY") && !stderr(&first).contains("PRIVATE KEY"));
    let key = Path::new(&out).join("machines/central-1/etc/kubernetes/pki/apiserver.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        assert_eq!(std::fs::metadata(&key).expect("key").permissions().mode() & 0o777, 0o600);
    }
    let before = std::fs::read(&key).expect("key");
    let again = clusterdef(&["pki", &file, "--out", &out]);
    assert_eq!(again.status.code(), Some(2), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("exists") && stderr(&again).contains("no key is ever overwritten"),
        "{}",
        stderr(&again)
    );
    assert_eq!(std::fs::read(&key).expect("key"), before, "the key is untouched");

    let plain = s.file("plain.cluster", "central: 3 across cabinets [a, b, c], allow(etcd_tls, reason = \"lab\"),\n");
    let none = clusterdef(&["pki", &plain, "--out", &s.path("none")]);
    assert_eq!(none.status.code(), Some(1));
    assert!(stderr(&none).contains("needs no PKI"), "{}", stderr(&none));
    assert!(!Path::new(&s.path("none")).exists());
}
