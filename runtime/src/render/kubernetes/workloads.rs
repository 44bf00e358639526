//! The cluster's manifests (Kubernetes YAML): each workload as a Deployment or DaemonSet whose
//! placement says what the unit's fleet options said, the objects the kubelets' TLS bootstrap
//! needs, and the unit that applies them once on the first member.

use clusterdef_model::kubernetes::{
    CONTROLLER_TAINT, HOSTNAME_LABEL, NAMESPACE, UNIT_LABEL, Workload, WorkloadKind, conflict_label, escape_expansion,
    object_name,
};
use clusterdef_model::own::kubernetes::*;
use clusterdef_model::{Cluster, Kubernetes};

use super::super::yaml::{MapBuilder, Yaml};
use super::{document, kubelet_image};

fn strs<'a>(items: impl IntoIterator<Item = &'a str>) -> Yaml {
    Yaml::Seq(items.into_iter().map(Yaml::str).collect())
}

/// `In` expressions, one per key.
fn expressions(requirements: &[(String, Vec<String>)]) -> Yaml {
    Yaml::Seq(
        requirements
            .iter()
            .map(|(key, values)| {
                MapBuilder::new()
                    .str("key", key.clone())
                    .str("operator", "In")
                    .set("values", strs(values.iter().map(String::as_str)))
                    .build()
            })
            .collect(),
    )
}

/// The pod template's placement: required node affinity for the requirements (one term, AND
/// across keys, `In` within), required anti-affinity on the hostname against the pods its
/// conflict globs match (their labels), and the control-plane toleration where it may run there.
fn placement(w: &Workload) -> (Option<Yaml>, Option<Yaml>) {
    let mut affinity = MapBuilder::new();
    if !w.requirements.is_empty() {
        let term = MapBuilder::new().set("matchExpressions", expressions(&w.requirements)).build();
        affinity = affinity.set(
            "nodeAffinity",
            MapBuilder::new()
                .set(
                    "requiredDuringSchedulingIgnoredDuringExecution",
                    MapBuilder::new().set("nodeSelectorTerms", Yaml::Seq(vec![term])).build(),
                )
                .build(),
        );
    }
    // One term per conflict glob it declares: never beside a pod that glob matches (its own
    // pods too when its replicas spread; else they are left out by name).
    let terms: Vec<Yaml> = w
        .declares
        .iter()
        .map(|&g| {
            let mut selector = vec![MapBuilder::new().str("key", conflict_label(g)).str("operator", "Exists").build()];
            if !w.spreads && w.matched_by.binary_search(&g).is_ok() {
                selector.push(
                    MapBuilder::new()
                        .str("key", UNIT_LABEL)
                        .str("operator", "NotIn")
                        .set("values", strs([w.name.as_str()]))
                        .build(),
                );
            }
            MapBuilder::new()
                .set("labelSelector", MapBuilder::new().set("matchExpressions", Yaml::Seq(selector)).build())
                .str("topologyKey", HOSTNAME_LABEL)
                .build()
        })
        .collect();
    if !terms.is_empty() {
        affinity = affinity.set(
            "podAntiAffinity",
            MapBuilder::new().set("requiredDuringSchedulingIgnoredDuringExecution", Yaml::Seq(terms)).build(),
        );
    }
    let affinity = affinity.build();
    let affinity = (affinity != Yaml::Map(Vec::new())).then_some(affinity);
    let tolerations = w.tolerates_control_plane.then(|| {
        Yaml::Seq(vec![
            MapBuilder::new()
                .str("key", CONTROLLER_TAINT)
                .str("operator", "Exists")
                .str("effect", "NoSchedule")
                .build(),
        ])
    });
    (affinity, tolerations)
}

/// One container per unit the pod holds, named after the unit.
fn containers(cluster: &Cluster, w: &Workload) -> Yaml {
    Yaml::Seq(
        w.containers
            .iter()
            .filter_map(|&u| {
                let unit = &cluster.units[u];
                let c = unit.container.as_ref()?;
                let ports: Vec<Yaml> = c
                    .ports
                    .iter()
                    .map(|p| MapBuilder::new().set("containerPort", Yaml::Int(i64::from(*p))).build())
                    .collect();
                // Kubernetes expands `$(NAME)` in both; escaped, they reach the container as written.
                let env: Vec<Yaml> = c
                    .env
                    .iter()
                    .filter_map(|e| e.split_once('='))
                    .map(|(name, value)| {
                        MapBuilder::new().str("name", name).str("value", escape_expansion(value).into_owned()).build()
                    })
                    .collect();
                let command: Vec<Yaml> =
                    c.command.iter().map(|w| Yaml::str(escape_expansion(w).into_owned())).collect();
                Some(
                    MapBuilder::new()
                        .str("name", object_name(&unit.name))
                        .str("image", c.image.to_string())
                        .non_empty("command", Yaml::Seq(command))
                        .non_empty("ports", Yaml::Seq(ports))
                        .non_empty("env", Yaml::Seq(env))
                        .build(),
                )
            })
            .collect(),
    )
}

/// The label its objects carry and its Service and controller select its pods by.
fn unit_labels(w: &Workload) -> Yaml {
    MapBuilder::new().str(UNIT_LABEL, w.name.clone()).build()
}

/// A workload's manifest.
pub fn workload_manifest(cluster: &Cluster, w: &Workload) -> String {
    let labels = || unit_labels(w);
    // The pods also carry the label of every conflict glob that matches them.
    let pod_labels = || {
        w.matched_by
            .iter()
            .fold(MapBuilder::new().str(UNIT_LABEL, w.name.clone()), |m, &g| m.str(&conflict_label(g), "true"))
            .build()
    };
    let (affinity, tolerations) = placement(w);
    let mut pod_spec = MapBuilder::new();
    if let Some(a) = affinity {
        pod_spec = pod_spec.set("affinity", a);
    }
    if let Some(t) = tolerations {
        pod_spec = pod_spec.set("tolerations", t);
    }
    let pod_spec = pod_spec.set("containers", containers(cluster, w)).build();
    let template = MapBuilder::new()
        .set("metadata", MapBuilder::new().set("labels", pod_labels()).build())
        .set("spec", pod_spec)
        .build();
    let (kind, replicas) = match w.kind {
        WorkloadKind::Deployment(n) => ("Deployment", Some(n)),
        WorkloadKind::DaemonSet => ("DaemonSet", None),
    };
    let mut spec = MapBuilder::new();
    if let Some(n) = replicas {
        spec = spec.set("replicas", Yaml::Int(i64::from(n)));
    }
    let spec =
        spec.set("selector", MapBuilder::new().set("matchLabels", labels()).build()).set("template", template).build();
    let value = MapBuilder::new()
        .str("apiVersion", "apps/v1")
        .str("kind", kind)
        .set(
            "metadata",
            MapBuilder::new().str("name", w.name.clone()).str("namespace", NAMESPACE).set("labels", labels()).build(),
        )
        .set("spec", spec)
        .build();
    let mut text = document(&value);
    if let Some(service) = service(cluster, w) {
        text.push_str(&service);
    }
    text
}

/// The workload's Service, when its containers declare ports: a cluster IP under the workload's
/// name (`NAME.default.svc.cluster.local` through CoreDNS), each declared port forwarded to the
/// same port of every ready pod (kube-proxy). Ports are named `tcp-PORT`, as a Service with more
/// than one needs. O(ports).
fn service(cluster: &Cluster, w: &Workload) -> Option<String> {
    let ports = w.ports(cluster);
    if ports.is_empty() {
        return None;
    }
    let ports: Vec<Yaml> = ports
        .iter()
        .map(|p| {
            MapBuilder::new()
                .str("name", format!("tcp-{p}"))
                .set("port", Yaml::Int(i64::from(*p)))
                .str("protocol", "TCP")
                .set("targetPort", Yaml::Int(i64::from(*p)))
                .build()
        })
        .collect();
    let labels = || unit_labels(w);
    let value = MapBuilder::new()
        .str("apiVersion", "v1")
        .str("kind", "Service")
        .set(
            "metadata",
            MapBuilder::new().str("name", w.name.clone()).str("namespace", NAMESPACE).set("labels", labels()).build(),
        )
        .set("spec", MapBuilder::new().set("ports", Yaml::Seq(ports)).set("selector", labels()).build())
        .build();
    Some(document(&value))
}

/// Applies [`BOOTSTRAP_DIR`] once, with the admin kubeconfig `clusterdef pki` made (copied to
/// `PKI_DIR/admin.conf`), from the kubelet image's kubectl: waits for an apiserver, applies
/// until it succeeds, then records it so later boots skip it.
pub fn bootstrap_unit(k: &Kubernetes) -> String {
    let kubectl = format!("kubectl --kubeconfig={PKI_DIR}/admin.conf");
    format!(
        "[Unit]\nDescription=Apply the cluster's Kubernetes manifests once\nConditionPathExists=!{BOOTSTRAPPED}\nConditionPathExists={PKI_DIR}/admin.conf\nRequires=docker.service\nAfter=docker.service {KUBELET_UNIT}\n\n[Service]\nType=oneshot\nRemainAfterExit=true\nExecStart=/usr/bin/docker run --rm --network host -v /etc/kubernetes:/etc/kubernetes:ro --entrypoint /bin/sh {image} -c \"until {kubectl} version; do sleep 5; done; until {kubectl} apply -R -f {BOOTSTRAP_DIR}; do sleep 5; done\"\nExecStartPost=/bin/mkdir -p /var/lib/clusterdef\nExecStartPost=/usr/bin/touch {BOOTSTRAPPED}\n\n[Install]\nWantedBy=multi-user.target\n",
        image = kubelet_image(k),
    )
}
