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

/// The line and column (1-based) of the first `needle` in `text`, for positions.
fn at(text: &str, needle: &str) -> (usize, usize) {
    position(text, text.find(needle).unwrap_or_else(|| panic!("{needle:?} in the text")))
}

/// The line and column of the last `needle` in `text`.
fn at_last(text: &str, needle: &str) -> (usize, usize) {
    position(text, text.rfind(needle).unwrap_or_else(|| panic!("{needle:?} in the text")))
}

fn position(text: &str, offset: usize) -> (usize, usize) {
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

/// Containers of one pod share its network: two declaring one port cannot both listen on it
/// (the second restarts for ever), and one container's duplicate is refused by the API server.
/// A random real-node run found the first: it passed `check` and crash-looped at boot.
#[test]
fn a_port_declared_twice_in_one_pod_is_refused_at_the_second() {
    let pair = |second: u16| {
        format!(
            "unit \"web.service\" {{ image: \"quay.io/x/web:1\", ports: [8080] }},\nunit \"log.service\" {{ image: \"quay.io/x/log:1\", machine_of: \"web.service\", ports: [{second}] }},"
        )
    };
    let text = kubernetes(&pair(8080));
    refused(
        &text,
        "workload_placement",
        at_last(&text, "8080"),
        "`web.service` and `log.service` share one pod (`log.service` follows `web.service`) and both declare port 8080",
    );
    accepted(&kubernetes(&pair(9090)));
    let text = kubernetes("unit \"web.service\" { image: \"quay.io/x/web:1\", ports: [8080, 9090, 8080] },");
    refused(&text, "workload_placement", at_last(&text, "8080"), "`web.service` declares port 8080 twice");
    // One error a unit, at its first repeat, however long its list.
    let text =
        kubernetes("unit \"web.service\" { image: \"quay.io/x/web:1\", ports: [8080, 9090, 8080, 9090, 8080] },");
    refused(
        &text,
        "workload_placement",
        position(&text, text.find("[8080, 9090, 8080").expect("the list") + 13),
        "it repeats 2 ports more",
    );
    assert_eq!(check(&text).len(), 1, "one error for the unit");
    // Separate pods have networks of their own.
    accepted(&kubernetes(
        "unit \"web.service\" { image: \"quay.io/x/web:1\", ports: [8080] },\nunit \"api.service\" { image: \"quay.io/x/api:1\", ports: [8080] },",
    ));
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

/// Kubernetes would keep only a name's last value (and warn); an empty program fails the
/// container at start. Both passed `check` and rendered as written before their rule.
#[test]
fn an_environment_name_set_twice_or_an_empty_program_is_refused() {
    let text = kubernetes("unit \"w.service\" { image: \"quay.io/x/w:1\", env: [\"A=1\", \"B=2\", \"A=3\"] },");
    refused(&text, "image_name", at(&text, "\"A=3\""), "`A=3` sets `A` again (`A=1` set it first)");
    assert_eq!(check(&text).len(), 1, "the first `A` and `B` are fine");
    accepted(&kubernetes("unit \"w.service\" { image: \"quay.io/x/w:1\", env: [\"A=1\", \"AB=2\", \"a=3\"] },"));
    // One error a way a unit is at fault, however long its list.
    let text = kubernetes(&format!(
        "unit \"w.service\" {{ image: \"quay.io/x/w:1\", env: [{}\"1=x\", \"2=y\"] }},",
        "\"A=1\", ".repeat(100_000)
    ));
    let second = position(&text, text.find("\"A=1\", \"A=1\"").expect("the list") + 7);
    refused(
        &text,
        "image_name",
        second,
        "sets `A` again (`A=1` set it first); Kubernetes would keep only the last (99998 more like it)",
    );
    refused(
        &text,
        "image_name",
        at(&text, "\"1=x\""),
        "`1=x` is not `NAME=value` with a name of letters, digits and `_` (1 more like it)",
    );
    assert_eq!(check(&text).len(), 2, "one error for the repeats, one for the unnamed");

    let text = kubernetes("unit \"w.service\" { image: \"quay.io/x/w:1\", command: [\"\", \"--port\"] },");
    refused(&text, "image_name", at(&text, "\"\""), "the program the container runs, and it is empty");
    // An empty argument after the program is an argument like any other.
    accepted(&kubernetes("unit \"w.service\" { image: \"quay.io/x/w:1\", command: [\"/bin/w\", \"\"] },"));
}

/// The kubelet lower-cases its hostname for the node's name: `Central-1` registers as node
/// `central-1`, and the plan's `kubectl drain Central-1` (and every node name it gives) would
/// name no node. It passed `check` before.
#[test]
fn a_kubernetes_nodes_hostname_with_capitals_is_refused() {
    let base = kubernetes("");
    let text = base.replacen("{ addresses: \"10.0.0.11\"", "{ hostnames: \"Central-{n}\", addresses: \"10.0.0.11\"", 1);
    refused(&text, "hostname_valid", at(&text, "\"Central-{n}\""), "registers the node as `central-1`");
    assert_eq!(check(&text).len(), 1, "one error for the pattern, not one a machine");
    let text = base.replacen(
        "{ addresses: \"10.0.0.21\"",
        "{ hostnames: [\"w-1\", \"W-2\", \"w-3\", \"w-4\", \"W-5\", \"w-6\"], addresses: \"10.0.0.21\"",
        1,
    );
    refused(&text, "hostname_valid", at(&text, "\"W-2\""), "rename the machine `w-2`");
    refused(&text, "hostname_valid", at(&text, "\"W-5\""), "`kubectl drain W-5`");
    // Without Kubernetes no kubelet renames the machine.
    accepted(&flatcar("").replacen(
        "{ addresses: \"10.0.0.11\"",
        "{ hostnames: \"Central-{n}\", addresses: \"10.0.0.11\"",
        1,
    ));
}

/// DNS names are alike in any case, and so are file names on a case-insensitive file system.
#[test]
fn hostnames_alike_but_for_case_are_one_name() {
    let text = flatcar("").replacen("workers: 3 {", "workers: 3 { hostnames: [\"web\", \"db\", \"WEB\"],", 1);
    refused(&text, "hostname_unique", at(&text, "\"WEB\""), "named `WEB` (and `web`, the same name in DNS)");
}

/// A kubelet runs at most 110 pods (`maxPods`); the scheduler leaves the rest pending, and
/// which depends on the order they are created. The base cluster's nodes: three members (the
/// addons' two pods and three static pods each) and six workers (two each), CoreDNS's three
/// replicas, 990 slots. These passed `check` before, and the plan said every pod fit.
#[test]
fn pods_beyond_what_the_nodes_hold_are_refused() {
    let daemonsets = |n: usize| {
        kubernetes(
            &(0..n)
                .map(|i| format!("unit \"d{i}.service\" {{ global, image: \"quay.io/x/d:1\" }},\n"))
                .collect::<String>(),
        )
    };
    accepted(&daemonsets(105));
    // A member holds 5 pods of its own, so the 106th DaemonSet takes it to 111; a worker
    // holds 2, so the 109th.
    let text = daemonsets(109);
    let global = |i: usize| {
        let (line, column) = at(&text, &format!("\"d{i}.service\" {{ global"));
        (line, column + format!("\"d{i}.service\" {{ ").len())
    };
    refused(
        &text,
        "node_capacity",
        global(105),
        "`d105.service` is a DaemonSet that takes each node of `central/a` past the 110 pods a kubelet runs (and each node of 2 other kinds)",
    );
    refused(&text, "node_capacity", global(108), "takes each node of `worker/a` past");
    assert_eq!(check(&text).len(), 2, "one error a DaemonSet that passes the most, not one a DaemonSet beyond it");

    let deployment =
        |n: u32| kubernetes(&format!("unit \"w@.service\" {{ instances: {n}, image: \"quay.io/x/w:1\" }},"));
    // With every domain up (a cabinet's loss would leave too little room for either; below).
    let accepting_losses = "allow(workload_survival, reason = \"a cabinet's loss may leave pods pending\"),";
    accepted(&format!("{}{accepting_losses}", deployment(960)));
    let text = format!("{}{accepting_losses}", deployment(961));
    refused(
        &text,
        "node_capacity",
        at(&text, "961"),
        "bring the pods to place on the cluster's 9 nodes to 991, and they hold 990",
    );

    // Confined to the six workers (660 slots, 12 pods of their own), the whole cluster's room
    // does not help.
    let on_workers = |n: u32| {
        kubernetes(&format!(
            "unit \"w@.service\" {{ metadata: {{ role = worker }}, instances: {n}, image: \"quay.io/x/w:1\" }},"
        ))
    };
    accepted(&format!("{}{accepting_losses}", on_workers(648)));
    let text = format!("{}{accepting_losses}", on_workers(649));
    refused(
        &text,
        "node_capacity",
        at(&text, "649"),
        "bring the pods to place on the 6 nodes it may run on (`worker/a`, `worker/b` and `worker/c`) to 661, and they hold 660",
    );
    assert_eq!(check(&text).len(), 1, "{:#?}", check(&text));

    // Losing cabinet a takes a member and two workers, 9 pods of their own and 330 slots.
    accepted(&deployment(639));
    let text = deployment(640);
    let central_a = position(&text, text.find("[a, b, c]").expect("the central cabinets") + 1);
    refused(
        &text,
        "workload_survival",
        central_a,
        "the loss of cabinet `a` (and of cabinet `b`, and 1 other domain) leaves nodes that hold 660 pods for the 661 the cluster places",
    );
    assert_eq!(check(&text).len(), 1, "one error for the three losses");
    accepted(&format!("{text}{accepting_losses}"));
    // Confined to the workers, a cabinet's loss leaves four (440 slots, 8 pods of their own),
    // though the members left have room.
    accepted(&on_workers(432));
    let text = on_workers(433);
    refused(
        &text,
        "workload_survival",
        central_a,
        "leaves nodes that hold 440 pods for the 441 that may run only on `worker/a`, `worker/b` and `worker/c`",
    );
}

/// The apiserver gives each Service an address of the range but the network's and the
/// broadcast: a /28 holds 14, `kubernetes` and `kube-dns` take two, so 12 workloads with ports
/// fit and the 13th's Service would be refused when the manifests are applied. It passed
/// `check` before.
#[test]
fn more_services_than_the_service_range_holds_are_refused() {
    let services = |n: usize| {
        kubernetes(
            &(0..n)
                .map(|i| format!("unit \"s{i}.service\" {{ image: \"quay.io/x/s:1\", ports: [80] }},\n"))
                .chain(["unit \"quiet.service\" { image: \"quay.io/x/q:1\" },\n".to_string()])
                .collect::<String>(),
        )
        .replace("version: \"v1.36.3\" }", "version: \"v1.36.3\", services: \"10.3.0.0/28\" }")
    };
    accepted(&services(12));
    let text = services(13);
    refused(
        &text,
        "kubernetes_settings",
        at(&text, "\"10.3.0.0/28\""),
        "the service range 10.3.0.0/28 holds 14 Service addresses, and the cluster has 15 Services (`kubernetes`, `kube-dns` and 13 workloads with ports): the apiserver would refuse the last 1",
    );
}

/// A workload's ports make a Service of its name, in `default`, where `kubernetes` is the
/// apiserver's own: applying the workload's would point every in-cluster client's way to the
/// control plane at its pods. It passed `check` before.
#[test]
fn a_workload_whose_service_would_be_the_apiservers_is_refused() {
    let text = kubernetes("unit \"kubernetes.service\" { image: \"quay.io/x/k:1\", ports: [8443] },");
    refused(
        &text,
        "workload_placement",
        at(&text, "\"kubernetes.service\""),
        "the apiserver's own in the `default` namespace",
    );
    // Without ports there is no Service, and a Deployment of that name is a name like any other.
    accepted(&kubernetes("unit \"kubernetes.service\" { image: \"quay.io/x/k:1\" },"));
}

/// A Flatcar cluster without Kubernetes that passes every rule, with `extra` added at the end.
fn flatcar(extra: &str) -> String {
    format!(
        r#"name: "f",
os: flatcar,
tls: {{ ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" }},
ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
network: {{ subnet: "10.0.0.0/24" }},
central: 3 across cabinets [a, b, c] {{ addresses: "10.0.0.11".."10.0.0.13" }},
workers: 3 {{ addresses: "10.0.0.21".."10.0.0.23" }},
unit "web.service" {{ global, metadata: {{ role = worker }}, body: "[Service]\nExecStart=/bin/true\n" }},
{extra}
"#
    )
}

/// A CoreOS cluster that passes every rule, with `extra` added at the end.
fn coreos(extra: &str) -> String {
    format!(
        "name: \"c\",\nnetwork: {{ subnet: \"10.0.0.0/24\" }},\ncentral: 3 across cabinets [a, b, c] {{ addresses: \"10.0.0.11\"..\"10.0.0.13\" }},\nworkers: 2,\n{extra}\n"
    )
}

fn host_file(path: &str) -> String {
    format!("host: {{ file \"{path}\" {{ contents: \"x\\n\" }} }},")
}

#[test]
fn host_files_where_clusterdef_writes_or_needs_a_directory_are_refused() {
    accepted(&flatcar(""));
    let cases: Vec<(String, &str)> = vec![
        (flatcar(&host_file("/etc/systemd/system/web.service")), "which clusterdef's render writes too"),
        (flatcar(&host_file("/etc/systemd/system/etcd-gateway.service")), "which clusterdef's render writes too"),
        (flatcar(&host_file("/etc/systemd/system/etcd-member.service.d/20-clusterdef.conf")), "writes too"),
        (
            flatcar(&host_file("/etc/systemd/system/etcd-gateway.service.d/x.conf")),
            "is a drop-in on `etcd-gateway.service`",
        ),
        (flatcar(&host_file("/etc/flatcar")), "where a directory must be"),
        (flatcar(&host_file("/etc/systemd/network")), "where a directory must be"),
        (flatcar(&host_file("/etc/systemd/system")), "where a directory must be"),
        (flatcar(&host_file("/etc/hostname/x")), "inside /etc/hostname, which is a file"),
        (flatcar(&host_file("/etc/ssl/etcd/server-key.pem")), "the cluster's etcd TLS files"),
        (
            flatcar(&host_file("/home/core/.ssh/authorized_keys.d/ignition")),
            "the provisioning of the declared SSH keys",
        ),
        (flatcar(&host_file("/var/lib/etcd/member/x")), "etcd (its data directory)"),
        (kubernetes(&host_file("/etc/systemd/system/kubelet.service")), "writes too"),
        (kubernetes(&host_file("/etc/systemd/system/kubelet.service.d/x.conf")), "is a drop-in on `kubelet.service`"),
        (kubernetes(&host_file("/etc/kubernetes")), "where a directory must be"),
        (kubernetes(&host_file("/etc/kubernetes/bootstrap-kubeconfig")), "the PKI from `clusterdef pki`"),
        (kubernetes(&host_file("/etc/kubernetes/pki/ca.crt")), "the PKI from `clusterdef pki`"),
        (kubernetes(&host_file("/var/lib/kubelet/kubeconfig")), "the kubelet (its TLS bootstrap)"),
    ];
    for (text, says) in &cases {
        let path = text.split("file \"").nth(1).and_then(|r| r.split('"').next()).unwrap_or_default();
        refused(text, "host_collision", at_last(text, &format!("\"{path}\"")), says);
    }
}

#[test]
fn coreos_drop_ins_that_would_shadow_coreos_cloudinits_own_are_refused() {
    accepted(&coreos(""));
    for unit in ["etcd2.service", "fleet.service", "locksmithd.service"] {
        let text =
            coreos(&format!("host: {{ dropin \"{unit}\" \"20-cloudinit.conf\" {{ body: \"[Service]\\n\" }} }},"));
        refused(&text, "host_collision", at(&text, &format!("\"{unit}\"")), "coreos-cloudinit");
    }
    // flannel's drop-in is not clusterdef's: the importer writes coreos.flannel that way.
    accepted(&coreos("host: { dropin \"flanneld.service\" \"20-cloudinit.conf\" { body: \"[Service]\\n\" } },"));
}

#[test]
fn disabling_or_stopping_what_the_machines_need_is_refused() {
    let networkd = flatcar("host: { unit \"systemd-networkd.service\" { enable: false } },");
    refused(&networkd, "host_mask", at(&networkd, "false"), "disabling `systemd-networkd.service`");
    let update = coreos("host: { unit \"update-engine.service\" { command: stop } },");
    refused(&update, "host_mask", at(&update, "stop"), "stopping `update-engine.service`");
    for unit in ["containerd.service", "docker.service"] {
        let text = kubernetes(&format!("host: {{ unit \"{unit}\" {{ enable: false }} }},"));
        refused(&text, "host_mask", at(&text, "false"), &format!("disabling `{unit}`"));
    }
    // Without a reboot strategy nothing needs update-engine: stopping it is the user's choice.
    let off = "name: \"c\",\nnetwork: { subnet: \"10.0.0.0/24\" },\ncentral: 3 across cabinets [a, b, c] { addresses: \"10.0.0.11\"..\"10.0.0.13\", reboot: off },\nhost: { unit \"update-engine.service\" { command: stop } },\n";
    accepted(off);
}

#[test]
fn a_mode_written_with_octal_digits_but_no_0o_is_refused() {
    for mode in ["0644", "644", "0755", "420"] {
        let text = flatcar(&format!("host: {{ file \"/etc/motd\" {{ contents: \"x\\n\", mode: {mode} }} }},"));
        let errors = check(&text);
        let (line, column) = at(&text, &format!("mode: {mode}"));
        assert!(
            errors.iter().any(|(rule, l, c, m)| rule.is_none()
                && (*l, *c) == (line, column + 6)
                && m.contains(&format!("write `0o{}`", mode.trim_start_matches('0')))),
            "{mode}: {errors:#?}"
        );
    }
    accepted(&flatcar("host: { file \"/etc/motd\" { contents: \"x\\n\", mode: 0o644 } },"));
}

#[test]
fn a_path_component_over_255_bytes_is_refused() {
    let long = format!("/etc/{}", "a".repeat(256));
    let text = flatcar(&host_file(&long));
    refused(&text, "host_path", at(&text, &format!("\"{long}\"")), "longer than 255 bytes");
    accepted(&flatcar(&host_file(&format!("/etc/{}", "a".repeat(255)))));
}

#[test]
fn an_install_section_swallowed_by_a_continuation_is_read_as_systemd_reads_it() {
    let text = flatcar(
        "host: { unit \"x.service\" { enable: true, body: \"[Service]\\nExecStart=/bin/true \\\\\\n[Install]\\nWantedBy=multi-user.target\\n\" } },",
    );
    refused(&text, "host_unit", at(&text, "true,"), "no `[Install]` section");
}

#[test]
fn tls_paths_pki_could_not_write_are_refused() {
    let with_tls = |ca: &str, cert: &str, key: &str| {
        kubernetes("").replace(
            "kubernetes: {",
            &format!("tls: {{ ca: \"{ca}\", cert: \"{cert}\", key: \"{key}\" }},\nkubernetes: {{"),
        )
    };
    accepted(&with_tls("/etc/ssl/etcd/ca.pem", "/etc/ssl/etcd/s.pem", "/etc/ssl/etcd/s-key.pem"));
    let cases = [
        (("/etc/ssl/x.pem", "/etc/ssl/s.pem", "/etc/ssl/x.pem"), 2, "the `ca` path too"),
        (("/etc/ssl/c.pem", "/etc/ssl/s.pem", "/etc/ssl/s.pem"), 2, "the `cert` path too"),
        (
            ("/etc/kubernetes/pki/ca.crt", "/etc/kubernetes/pki/s.pem", "/etc/kubernetes/pki/k.pem"),
            0,
            "/etc/kubernetes/pki",
        ),
        (
            ("/etc/kubernetes/x.pem", "/etc/kubernetes/s.pem", "/etc/kubernetes/bootstrap-kubeconfig"),
            2,
            "the PKI from `clusterdef pki`",
        ),
        (("/etc/ssl/./ca.pem", "/etc/ssl/s.pem", "/etc/ssl/k.pem"), 0, "normal path"),
        (("/etc/ssl/../ca.pem", "/etc/ssl/s.pem", "/etc/ssl/k.pem"), 0, "normal path"),
        (("/", "/etc/ssl/s.pem", "/etc/ssl/k.pem"), 0, "normal path"),
        (("/etc/ssl/ca.pem", "/etc/ssl/ca.pem/s.pem", "/etc/ssl/k.pem"), 1, "inside the `ca` path"),
    ];
    for ((ca, cert, key), at_file, says) in cases {
        let text = with_tls(ca, cert, key);
        let value = [ca, cert, key][at_file];
        let needle = format!("{}: \"{value}\"", ["ca", "cert", "key"][at_file]);
        let (line, column) = at(&text, &needle);
        refused(&text, "tls_paths", (line, column + needle.find('"').unwrap_or(0)), says);
    }
}

#[test]
fn boot_urls_that_dnsmasq_pxelinux_or_ipxe_would_read_otherwise_are_refused() {
    let pxe = |url: &str| {
        format!(
            "boot_server: \"{url}\",\ncentral: 3 across cabinets [a, b, c],\nworkers: autoscale 2..20 {{ boot: pxe }},\nbootstrap: discovery \"https://discovery.etcd.io/t\",\n"
        )
    };
    accepted(&pxe("http://10.0.0.5:8080/boot"));
    accepted(&pxe("http://boot.example.com/a%20b/c"));
    accepted(&pxe("http://[fd00::5]:8080/boot"));
    for (url, says) in [
        ("http://10.0.0.5/a,b${base-url}", "holds ','"),
        ("http://10.0.0.5/${base-url}", "holds '$'"),
        ("http://10.0.0.5/a#b", "holds '#'"),
        ("http://10.0.0.5/a;reboot", "holds ';'"),
        ("http://10.0.0.5/a?x=1", "holds '?'"),
        ("http://user@10.0.0.5/", "no DNS name"),
        ("http://10.0.0.5:99999/", "ports run from 1 to 65535"),
        ("http://10.0.0.5/a%zz", "%-escape"),
        ("10.0.0.5/boot", "scheme://host/path"),
    ] {
        let text = pxe(url);
        refused(&text, "value_format", at(&text, &format!("\"{url}\"")), says);
    }
    let per_pool = "boot_server: \"http://10.0.0.5:8080\",\ncentral: 3 across cabinets [a, b, c],\nworkers: autoscale 2..20 { boot: pxe \"http://10.0.0.6/x,y\" },\nbootstrap: discovery \"https://discovery.etcd.io/t\",\n";
    refused(per_pool, "value_format", at(per_pool, "pxe \"http://10.0.0.6/x,y\""), "holds ','");
}

/// MAC addresses land in a dnsmasq `dhcp-host=` option and a matchbox selector: anything but six
/// hex pairs (a `,set:` that would retag the machine, a newline that would add a dnsmasq line)
/// is refused at its token, as is one address given to two machines in any case.
#[test]
fn mac_addresses_that_dnsmasq_or_matchbox_would_read_otherwise_are_refused() {
    let metal = |central: &str, batch: &str| {
        format!(
            "os: flatcar,\nnetwork: {{ subnet: \"10.0.0.0/24\" }},\nboot_server: matchbox \"http://10.0.0.5:8080\",\n\
             central: 3 {{ addresses: \"10.0.0.11\"..\"10.0.0.13\", macs: [{central}] }},\n\
             pool batch: 2 {{ boot: pxe, inventory: [{batch}] }},\n"
        )
    };
    let good = "\"52:54:00:00:00:01\", \"52:54:00:00:00:02\", \"52:54:00:00:00:03\"";
    let batch = "\"52:54:00:00:00:04\", \"52:54:00:00:00:05\"";
    accepted(&metal(good, batch));
    for (mac, says) in [
        ("52:54:00:00:00:03,set:install", "not a MAC address"),
        ("52:54:00:00:00:03\\ndhcp-boot=evil", "not a MAC address"),
        ("52-54-00-00-00-03", "not a MAC address"),
    ] {
        let central = format!("\"52:54:00:00:00:01\", \"52:54:00:00:00:02\", \"{mac}\"");
        let text = metal(&central, batch);
        refused(&text, "value_format", at(&text, &format!("\"{mac}\"")), says);
    }
    // The same machine twice, once in capitals: matchbox and dnsmasq compare them case aside.
    let text = metal(good, "\"52:54:00:00:00:04\", \"52:54:00:00:00:01\"");
    refused(&text, "machine_inventory", at_last(&text, "\"52:54:00:00:00:01\""), "listed twice");
    let text = metal(
        "\"52:54:00:00:00:01\", \"52:54:00:00:00:02\", \"52:54:00:00:00:0A\"",
        "\"52:54:00:00:00:0a\", \"52:54:00:00:00:05\"",
    );
    refused(&text, "machine_inventory", at(&text, "\"52:54:00:00:00:0a\""), "listed twice");
    // The disk lands on the installer's command line: a plain path under /dev/ or nothing.
    let with_disk =
        |disk: &str| metal(good, batch).replacen("macs: [", &format!("install_disk: \"{disk}\", macs: ["), 1);
    accepted(&with_disk("/dev/disk/by-id/nvme-Samsung_SSD_970_S1234"));
    for disk in ["/dev/sda; reboot", "/dev/../etc/passwd", "sda", "/dev/sd a"] {
        let text = with_disk(disk);
        refused(&text, "value_format", at(&text, &format!("\"{disk}\"")), "not a device path");
    }
    // CoreOS cannot boot from matchbox; the word `matchbox` is the token at fault.
    let text = metal(good, batch).replacen("os: flatcar,\n", "", 1);
    refused(&text, "matchbox_boot", at(&text, "matchbox \""), "runs CoreOS");
}
