//! Declarations that an engine would reject, reinterpret or expand at boot (Kubernetes,
//! Ignition, systemd, dnsmasq, iPXE), each refused by `check` with its rule at the exact
//! position, as `clusterdef check` prints it. One case per way a value could break a machine;
//! each is a reproduction that passed `check` before its rule existed.

use std::path::Path;

use clusterdef_build::input::{Failure, check_source};

/// A Kubernetes cluster on Flatcar that passes every rule, with `extra` added at the end.
fn kubernetes(extra: &str) -> String {
    format!(
        r#"name: "k",
os: flatcar,
kubernetes: {{ version: "v1.36.3" }},
network: {{ subnet: "10.0.0.0/24" }},
central: 3 across cabinets [a, b, c] {{ addresses: "10.0.0.11".."10.0.0.13" }},
workers: 6 across cabinets [a, b, c] {{ addresses: "10.0.0.21".."10.0.0.26" }},
{extra}
"#
    )
}

/// The errors `check` prints for `text`, or nothing when it passes.
fn check(text: &str) -> Vec<(Option<String>, usize, usize, String)> {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    match check_source(text, "t.cluster", here, here, false) {
        Ok(_) => Vec::new(),
        Err(Failure::Invalid { problems, .. }) => {
            problems.into_iter().map(|p| (p.rule, p.line.unwrap_or(0), p.column.unwrap_or(0), p.message)).collect()
        }
        Err(Failure::Io(e)) => panic!("{e}"),
    }
}

/// `text` is refused by `rule` at `line:column` with a message holding `says`.
#[track_caller]
fn refused(text: &str, rule: &str, at: (usize, usize), says: &str) {
    let errors = check(text);
    assert!(
        errors.iter().any(|(r, l, c, m)| r.as_deref() == Some(rule) && (*l, *c) == at && m.contains(says)),
        "expected `{rule}` at {}:{} saying {says:?}; got {errors:#?}\n{text}",
        at.0,
        at.1
    );
}

#[track_caller]
fn accepted(text: &str) {
    let errors = check(text);
    assert!(errors.is_empty(), "{errors:#?}\n{text}");
}

/// The line of `needle` in `text` and the column just after it (1-based), for positions.
fn at(text: &str, needle: &str) -> (usize, usize) {
    let offset = text.find(needle).unwrap_or_else(|| panic!("{needle:?} in the text"));
    let line = text[..offset].matches('\n').count() + 1;
    let column = offset - text[..offset].rfind('\n').map_or(0, |n| n + 1) + 1;
    (line, column)
}

#[test]
fn the_base_cluster_passes() {
    accepted(&kubernetes(""));
}

#[test]
fn workloads_whose_object_names_collide_are_refused_naming_both() {
    for (a, b) in [("w.service", "w@.service"), ("w.service", "w.socket")] {
        let text = kubernetes(&format!(
            "unit \"{a}\" {{ image: \"quay.io/x/w:1\" }},\nunit \"{b}\" {{ image: \"quay.io/x/w:1\" }},"
        ));
        let (line, column) = at(&text, &format!("unit \"{b}\""));
        refused(&text, "workload_placement", (line, column + 5), &format!("`{a}` and `{b}` both become"));
    }
}

#[test]
fn node_labels_the_kubelet_or_clusterdef_set_are_refused() {
    for key in
        ["kubernetes.io/hostname", "topology.kubernetes.io/zone", "node.kubernetes.io/controller", "kubernetes.io/os"]
    {
        let text = kubernetes(&format!("pool \"more\": 2 {{ metadata: {{ \"{key}\" = same }} }},"));
        refused(&text, "node_label", at(&text, &format!("\"{key}\"")), "sets");
    }
}

#[test]
fn a_pod_range_without_room_for_every_node_is_refused() {
    let narrow = kubernetes("").replace("version: \"v1.36.3\"", "version: \"v1.36.3\", pods: \"10.20.0.0/28\"");
    refused(&narrow, "kubernetes_settings", at(&narrow, "\"10.20.0.0/28\""), "narrower than the /24");
    let one = kubernetes("").replace("version: \"v1.36.3\"", "version: \"v1.36.3\", pods: \"10.20.0.0/24\"");
    refused(
        &one,
        "kubernetes_settings",
        at(&one, "\"10.20.0.0/24\""),
        "holds 1 node range of /24, and the cluster can have up to 9 nodes",
    );
    let pool = kubernetes("pool \"big\": autoscale 1..300,")
        .replace("version: \"v1.36.3\"", "version: \"v1.36.3\", pods: \"10.20.0.0/16\"");
    refused(&pool, "kubernetes_settings", at(&pool, "\"10.20.0.0/16\""), "holds 256 node ranges");
    let fits = kubernetes("pool \"big\": autoscale 1..200,")
        .replace("version: \"v1.36.3\"", "version: \"v1.36.3\", pods: \"10.20.0.0/16\"");
    accepted(&fits);
    for (range, block) in
        [("127.1.0.0/16", "loopback"), ("169.254.0.0/16", "link-local"), ("224.0.0.0/14", "multicast")]
    {
        let text = kubernetes("").replace("version: \"v1.36.3\"", &format!("version: \"v1.36.3\", pods: \"{range}\""));
        refused(&text, "kubernetes_settings", at(&text, &format!("\"{range}\"")), block);
        let text =
            kubernetes("").replace("version: \"v1.36.3\"", &format!("version: \"v1.36.3\", services: \"{range}\""));
        refused(&text, "kubernetes_settings", at(&text, &format!("\"{range}\"")), block);
    }
}

#[test]
fn a_version_not_written_canonically_is_refused() {
    for version in ["v1.036.03", "v1.36.03", "v01.36.3"] {
        let text = kubernetes("").replace("\"v1.36.3\"", &format!("\"{version}\""));
        refused(&text, "kubernetes_settings", at(&text, &format!("\"{version}\"")), "no Kubernetes release");
    }
}

#[test]
fn image_references_outside_the_distribution_grammar_are_refused() {
    for image in ["-bad.io/x:1", "bad-.io/x:1", "quay.io/a.-b:1", "quay.io/a_.b:1", "localhost:99999/x:1"] {
        let text = kubernetes(&format!("unit \"w.service\" {{ image: \"{image}\" }},"));
        refused(&text, "image_name", at(&text, &format!("\"{image}\"")), "no container image reference");
    }
}

#[test]
fn a_nul_in_a_command_or_environment_is_refused() {
    let text =
        kubernetes("unit \"w.service\" { image: \"quay.io/x/w:1\", command: [\"a\", \"b\\0c\"], env: [\"A=\\0\"] },");
    refused(&text, "image_name", at(&text, "\"b\\0c\""), "NUL");
    refused(&text, "image_name", at(&text, "\"A=\\0\""), "NUL");
}
