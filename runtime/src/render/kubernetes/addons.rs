//! The cluster's own addons (Kubernetes YAML), Typhoon's set: the pod network (flannel), kube-proxy
//! and CoreDNS at the service range's tenth address. Every system pod reaches the apiservers by
//! [`API_NAME`] (the nodes' `/etc/hosts`), since the `kubernetes` service address works only
//! once kube-proxy runs.

use clusterdef_model::own::kubernetes::{API_NAME, API_PORT};
use clusterdef_model::{Cluster, Cni, Kubernetes};

use super::super::yaml::{MapBuilder, Yaml};
use super::document;

/// flannel's release, and its CNI plugin's.
pub const FLANNEL_IMAGE: &str = "docker.io/flannel/flannel:v0.26.1";
/// flannel's CNI plugin image.
pub const FLANNEL_CNI_IMAGE: &str = "docker.io/flannel/flannel-cni-plugin:v1.5.1-flannel2";
/// CoreDNS.
pub const COREDNS_IMAGE: &str = "registry.k8s.io/coredns/coredns:v1.11.3";

fn meta(name: &str, namespace: Option<&str>) -> Yaml {
    let m = MapBuilder::new().str("name", name);
    match namespace {
        Some(ns) => m.str("namespace", ns).build(),
        None => m.build(),
    }
}

fn object(api: &str, kind: &str, metadata: Yaml) -> MapBuilder {
    MapBuilder::new().str("apiVersion", api).str("kind", kind).set("metadata", metadata)
}

fn strs(items: &[&str]) -> Yaml {
    Yaml::Seq(items.iter().map(|s| Yaml::str(*s)).collect())
}

fn rule(groups: &[&str], resources: &[&str], verbs: &[&str]) -> Yaml {
    MapBuilder::new().set("apiGroups", strs(groups)).set("resources", strs(resources)).set("verbs", strs(verbs)).build()
}

fn service_account(name: &str) -> String {
    document(&object("v1", "ServiceAccount", meta(name, Some("kube-system"))).build())
}

fn cluster_role(name: &str, rules: Vec<Yaml>) -> String {
    document(
        &object("rbac.authorization.k8s.io/v1", "ClusterRole", meta(name, None)).set("rules", Yaml::Seq(rules)).build(),
    )
}

fn binding_to_account(name: &str, role: &str, account: &str) -> String {
    super::rbac::binding(name, role, "ServiceAccount", account, Some("kube-system"))
}

fn host_path(name: &str, path: &str, kind: Option<&str>) -> Yaml {
    let hp = MapBuilder::new().str("path", path);
    let hp = match kind {
        Some(k) => hp.str("type", k),
        None => hp,
    };
    MapBuilder::new().str("name", name).set("hostPath", hp.build()).build()
}

fn mount(name: &str, path: &str, read_only: bool) -> Yaml {
    let m = MapBuilder::new().str("name", name).str("mountPath", path);
    if read_only { m.set("readOnly", Yaml::Bool(true)).build() } else { m.build() }
}

fn field_env(name: &str, path: &str) -> Yaml {
    MapBuilder::new()
        .str("name", name)
        .set("valueFrom", MapBuilder::new().set("fieldRef", MapBuilder::new().str("fieldPath", path).build()).build())
        .build()
}

/// `KUBERNETES_SERVICE_HOST` and `_PORT` pointing at the apiservers' name, not the service.
fn api_env() -> Vec<Yaml> {
    vec![
        MapBuilder::new().str("name", "KUBERNETES_SERVICE_HOST").str("value", API_NAME).build(),
        MapBuilder::new().str("name", "KUBERNETES_SERVICE_PORT").str("value", API_PORT.to_string()).build(),
    ]
}

/// A node-critical DaemonSet on every node, tolerating every taint.
fn system_daemonset(name: &str, account: &str, pod: MapBuilder) -> String {
    let labels = || MapBuilder::new().str("k8s-app", name).build();
    let spec = pod
        .set("hostNetwork", Yaml::Bool(true))
        .str("priorityClassName", "system-node-critical")
        .str("serviceAccountName", account)
        .set("tolerations", Yaml::Seq(vec![MapBuilder::new().str("operator", "Exists").build()]))
        .build();
    document(
        &object("apps/v1", "DaemonSet", meta(name, Some("kube-system")))
            .set(
                "spec",
                MapBuilder::new()
                    .set("selector", MapBuilder::new().set("matchLabels", labels()).build())
                    .set(
                        "template",
                        MapBuilder::new()
                            .set("metadata", MapBuilder::new().set("labels", labels()).build())
                            .set("spec", spec)
                            .build(),
                    )
                    .build(),
            )
            .build(),
    )
}

/// flannel in its kube-subnet-manager mode: VXLAN over the nodes' network, each node's pod
/// subnet from the controller manager's allocation in the pod range.
fn flannel(k: &Kubernetes) -> String {
    let cni_conf = r#"{"name":"cbr0","cniVersion":"0.3.1","plugins":[{"type":"flannel","delegate":{"hairpinMode":true,"isDefaultGateway":true}},{"type":"portmap","capabilities":{"portMappings":true}}]}"#;
    let net_conf = format!(r#"{{"Network":"{}","Backend":{{"Type":"vxlan","Port":4789}}}}"#, k.pods);
    let config = object("v1", "ConfigMap", meta("flannel-config", Some("kube-system")))
        .set("data", MapBuilder::new().str("cni-conf.json", cni_conf).str("net-conf.json", net_conf).build())
        .build();
    let init = vec![
        MapBuilder::new()
            .str("name", "install-cni-plugin")
            .str("image", FLANNEL_CNI_IMAGE)
            .set("command", strs(&["cp", "-f", "/flannel", "/opt/cni/bin/flannel"]))
            .set("volumeMounts", Yaml::Seq(vec![mount("cni-plugin", "/opt/cni/bin", false)]))
            .build(),
        MapBuilder::new()
            .str("name", "install-cni")
            .str("image", FLANNEL_IMAGE)
            .set(
                "command",
                strs(&["cp", "-f", "/etc/kube-flannel/cni-conf.json", "/etc/cni/net.d/10-flannel.conflist"]),
            )
            .set(
                "volumeMounts",
                Yaml::Seq(vec![
                    mount("cni", "/etc/cni/net.d", false),
                    mount("flannel-config", "/etc/kube-flannel", true),
                ]),
            )
            .build(),
    ];
    let mut env = vec![field_env("POD_NAME", "metadata.name"), field_env("POD_NAMESPACE", "metadata.namespace")];
    env.extend(api_env());
    let container = MapBuilder::new()
        .str("name", "flannel")
        .str("image", FLANNEL_IMAGE)
        .set("command", strs(&["/opt/bin/flanneld", "--ip-masq", "--kube-subnet-mgr"]))
        .set("env", Yaml::Seq(env))
        .set(
            "securityContext",
            MapBuilder::new()
                .set("privileged", Yaml::Bool(false))
                .set("capabilities", MapBuilder::new().set("add", strs(&["NET_ADMIN", "NET_RAW"])).build())
                .build(),
        )
        .set(
            "volumeMounts",
            Yaml::Seq(vec![
                mount("run", "/run/flannel", false),
                mount("flannel-config", "/etc/kube-flannel", true),
                mount("xtables-lock", "/run/xtables.lock", false),
            ]),
        )
        .build();
    let volumes = vec![
        host_path("run", "/run/flannel", None),
        host_path("cni-plugin", "/opt/cni/bin", None),
        host_path("cni", "/etc/cni/net.d", None),
        MapBuilder::new()
            .str("name", "flannel-config")
            .set("configMap", MapBuilder::new().str("name", "flannel-config").build())
            .build(),
        host_path("xtables-lock", "/run/xtables.lock", Some("FileOrCreate")),
    ];
    let pod = MapBuilder::new()
        .set("initContainers", Yaml::Seq(init))
        .set("containers", Yaml::Seq(vec![container]))
        .set("volumes", Yaml::Seq(volumes));
    [
        service_account("flannel"),
        cluster_role(
            "flannel",
            vec![
                rule(&[""], &["pods"], &["get"]),
                rule(&[""], &["nodes"], &["get", "list", "watch"]),
                rule(&[""], &["nodes/status"], &["patch"]),
            ],
        ),
        binding_to_account("flannel", "flannel", "flannel"),
        document(&config),
        system_daemonset("flannel", "flannel", pod),
    ]
    .concat()
}

/// kube-proxy on every node (flannel needs it; Cilium replaces it).
fn kube_proxy(k: &Kubernetes) -> String {
    let mut env = vec![field_env("NODE_NAME", "spec.nodeName")];
    env.extend(api_env());
    let container = MapBuilder::new()
        .str("name", "kube-proxy")
        .str("image", super::component_image(k, "kube-proxy"))
        .set(
            "command",
            Yaml::Seq(vec![
                Yaml::str("kube-proxy"),
                Yaml::str(format!("--cluster-cidr={}", k.pods)),
                Yaml::str("--hostname-override=$(NODE_NAME)"),
                Yaml::str("--metrics-bind-address=0.0.0.0"),
            ]),
        )
        .set("env", Yaml::Seq(env))
        .set("securityContext", MapBuilder::new().set("privileged", Yaml::Bool(true)).build())
        .set(
            "volumeMounts",
            Yaml::Seq(vec![
                mount("lib-modules", "/lib/modules", true),
                mount("xtables-lock", "/run/xtables.lock", false),
            ]),
        )
        .build();
    let pod = MapBuilder::new().set("containers", Yaml::Seq(vec![container])).set(
        "volumes",
        Yaml::Seq(vec![
            host_path("lib-modules", "/lib/modules", None),
            host_path("xtables-lock", "/run/xtables.lock", Some("FileOrCreate")),
        ]),
    );
    [
        service_account("kube-proxy"),
        binding_to_account("clusterdef:kube-proxy", "system:node-proxier", "kube-proxy"),
        system_daemonset("kube-proxy", "kube-proxy", pod),
    ]
    .concat()
}

/// CoreDNS at the service range's tenth address: `max(2, members)` replicas, preferring the
/// controllers and different nodes (Typhoon's), tolerating the controllers' taint.
fn coredns(cluster: &Cluster, k: &Kubernetes) -> String {
    let replicas = cluster.coredns_replicas();
    let corefile = ".:53 {\n    errors\n    health {\n        lameduck 5s\n    }\n    ready\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        pods insecure\n        fallthrough in-addr.arpa ip6.arpa\n    }\n    prometheus :9153\n    forward . /etc/resolv.conf\n    cache 30\n    loop\n    reload\n    loadbalance\n}\n";
    let labels = || MapBuilder::new().str("k8s-app", "coredns").build();
    let port = |name: &str, protocol: &str| {
        MapBuilder::new().str("name", name).set("containerPort", Yaml::Int(53)).str("protocol", protocol).build()
    };
    let container = MapBuilder::new()
        .str("name", "coredns")
        .str("image", COREDNS_IMAGE)
        .set("args", strs(&["-conf", "/etc/coredns/Corefile"]))
        .set("ports", Yaml::Seq(vec![port("dns", "UDP"), port("dns-tcp", "TCP")]))
        .set("volumeMounts", Yaml::Seq(vec![mount("config", "/etc/coredns", true)]))
        .build();
    let controller =
        |weight: i64, term: Yaml| MapBuilder::new().set("weight", Yaml::Int(weight)).set("preference", term).build();
    let affinity = MapBuilder::new()
        .set(
            "nodeAffinity",
            MapBuilder::new()
                .set(
                    "preferredDuringSchedulingIgnoredDuringExecution",
                    Yaml::Seq(vec![controller(
                        100,
                        MapBuilder::new()
                            .set(
                                "matchExpressions",
                                Yaml::Seq(vec![
                                    MapBuilder::new()
                                        .str("key", clusterdef_model::kubernetes::CONTROLLER_LABEL)
                                        .str("operator", "Exists")
                                        .build(),
                                ]),
                            )
                            .build(),
                    )]),
                )
                .build(),
        )
        .set(
            "podAntiAffinity",
            MapBuilder::new()
                .set(
                    "preferredDuringSchedulingIgnoredDuringExecution",
                    Yaml::Seq(vec![
                        MapBuilder::new()
                            .set("weight", Yaml::Int(100))
                            .set(
                                "podAffinityTerm",
                                MapBuilder::new()
                                    .set("labelSelector", MapBuilder::new().set("matchLabels", labels()).build())
                                    .str("topologyKey", clusterdef_model::kubernetes::HOSTNAME_LABEL)
                                    .build(),
                            )
                            .build(),
                    ]),
                )
                .build(),
        )
        .build();
    let pod = MapBuilder::new()
        .str("priorityClassName", "system-cluster-critical")
        .str("serviceAccountName", "coredns")
        // The node's resolver as upstream: with the cluster's own (ClusterFirst), `forward`
        // would send CoreDNS's misses to itself and `loop` stops it.
        .str("dnsPolicy", "Default")
        .set("affinity", affinity)
        .set(
            "tolerations",
            Yaml::Seq(vec![
                MapBuilder::new()
                    .str("key", clusterdef_model::kubernetes::CONTROLLER_TAINT)
                    .str("operator", "Exists")
                    .str("effect", "NoSchedule")
                    .build(),
            ]),
        )
        .set("containers", Yaml::Seq(vec![container]))
        .set(
            "volumes",
            Yaml::Seq(vec![
                MapBuilder::new()
                    .str("name", "config")
                    .set("configMap", MapBuilder::new().str("name", "coredns").build())
                    .build(),
            ]),
        )
        .build();
    let deployment = object("apps/v1", "Deployment", meta("coredns", Some("kube-system")))
        .set(
            "spec",
            MapBuilder::new()
                .set("replicas", Yaml::Int(i64::from(replicas)))
                .set("selector", MapBuilder::new().set("matchLabels", labels()).build())
                .set(
                    "template",
                    MapBuilder::new()
                        .set("metadata", MapBuilder::new().set("labels", labels()).build())
                        .set("spec", pod)
                        .build(),
                )
                .build(),
        )
        .build();
    let service_port = |name: &str, protocol: &str| {
        MapBuilder::new().str("name", name).set("port", Yaml::Int(53)).str("protocol", protocol).build()
    };
    let service = object("v1", "Service", meta("kube-dns", Some("kube-system")))
        .set(
            "spec",
            MapBuilder::new()
                .set("selector", labels())
                .str("clusterIP", k.service_ip(10).to_string())
                .set("ports", Yaml::Seq(vec![service_port("dns", "UDP"), service_port("dns-tcp", "TCP")]))
                .build(),
        )
        .build();
    let config = object("v1", "ConfigMap", meta("coredns", Some("kube-system")))
        .set("data", MapBuilder::new().str("Corefile", corefile).build())
        .build();
    [
        service_account("coredns"),
        cluster_role(
            "clusterdef:coredns",
            vec![
                rule(&[""], &["endpoints", "services", "pods", "namespaces"], &["list", "watch"]),
                rule(&["discovery.k8s.io"], &["endpointslices"], &["list", "watch"]),
            ],
        ),
        binding_to_account("clusterdef:coredns", "clusterdef:coredns", "coredns"),
        document(&config),
        document(&deployment),
        document(&service),
    ]
    .concat()
}

/// kube-proxy's manifest in the render (`kubernetes/manifests/…`), if `k` runs kube-proxy
/// (with flannel): a Kubernetes upgrade applies NEW's.
pub fn kube_proxy_manifest(k: &Kubernetes) -> Option<String> {
    (k.cni == Cni::Flannel).then(|| format!("kubernetes/manifests/{KUBE_PROXY_FILE}"))
}

/// kube-proxy's manifest's file name.
const KUBE_PROXY_FILE: &str = "02-kube-proxy.yaml";

/// The addons, by file name: the pod network, kube-proxy (with flannel), CoreDNS.
pub fn manifests(cluster: &Cluster) -> Vec<(String, String)> {
    let Some(k) = &cluster.kubernetes else { return Vec::new() };
    let mut out = Vec::new();
    if k.cni == Cni::Flannel {
        out.push(("01-flannel.yaml".to_string(), flannel(k)));
        out.push((KUBE_PROXY_FILE.to_string(), kube_proxy(k)));
    }
    out.push(("03-coredns.yaml".to_string(), coredns(cluster, k)));
    out
}
