//! What makes a machine a node: the kubelet's configuration (KubeletConfiguration YAML), its
//! units (systemd text) and `/etc/hosts`, which names the apiservers.

use clusterdef_model::kubernetes::NodeKind;
use clusterdef_model::own::kubernetes::*;
use clusterdef_model::{EtcdMember, Kubernetes};

use super::super::yaml::{MapBuilder, Yaml};
use super::{document, kubelet_image};

/// The kubelet's configuration, the same on every node (Typhoon's): webhook authentication and
/// authorization, no anonymous or read-only port, the cluster DNS at the service range's tenth
/// address, static pods from [`MANIFESTS_DIR`], systemd cgroups as Flatcar's containerd uses.
pub fn kubelet_config(k: &Kubernetes) -> String {
    let value = MapBuilder::new()
        .str("apiVersion", "kubelet.config.k8s.io/v1beta1")
        .str("kind", "KubeletConfiguration")
        .set(
            "authentication",
            MapBuilder::new()
                .set("anonymous", MapBuilder::new().set("enabled", Yaml::Bool(false)).build())
                .set("webhook", MapBuilder::new().set("enabled", Yaml::Bool(true)).build())
                .set("x509", MapBuilder::new().str("clientCAFile", format!("{PKI_DIR}/ca.crt")).build())
                .build(),
        )
        .set("authorization", MapBuilder::new().str("mode", "Webhook").build())
        .str("cgroupDriver", "systemd")
        .set("clusterDNS", Yaml::Seq(vec![Yaml::str(k.service_ip(10).to_string())]))
        .str("clusterDomain", "cluster.local")
        .set("healthzPort", Yaml::Int(0))
        // The plan's room for pods counts this many a node (`node_capacity`).
        .set("maxPods", Yaml::Int(i64::from(clusterdef_model::kubernetes::MAX_PODS)))
        .set("readOnlyPort", Yaml::Int(0))
        .set("rotateCertificates", Yaml::Bool(true))
        .set("serializeImagePulls", Yaml::Bool(false))
        .str("shutdownGracePeriod", "45s")
        .str("shutdownGracePeriodCriticalPods", "30s")
        .str("staticPodPath", MANIFESTS_DIR)
        .str("resolvConf", "/run/systemd/resolve/resolv.conf")
        .str("volumePluginDir", "/var/lib/kubelet/volumeplugins")
        .build();
    document(&value)
}

/// `/etc/hosts`: localhost, and [`API_NAME`] at every member's address. Go's resolver (the
/// kubelet's, kube-proxy's) returns every address a name has there and dials them in turn, so
/// a node reaches the apiservers while any member answers. O(members).
pub fn hosts(members: &[EtcdMember]) -> String {
    let mut text = String::from("127.0.0.1 localhost\n::1 localhost\n");
    for m in members {
        if let Some(address) = m.address {
            text.push_str(&format!("{address} {API_NAME}\n"));
        }
    }
    text
}

/// `--node-labels=…`: the node kind's labels, `key=value` joined by `,` (`node_label` keeps keys
/// and values to characters that need no quoting).
pub fn node_labels(kind: &NodeKind) -> String {
    let pairs: Vec<String> = kind.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
    pairs.join(",")
}

/// The kubelet as Typhoon runs it on Flatcar: Typhoon's kubelet image under docker, in the
/// host's PID and network namespaces, with the host directories it manages, talking to
/// Flatcar's containerd; it registers with the node kind's labels and taints. Started by
/// [`KUBELET_PATH_UNIT`] once the bootstrap kubeconfig is in place.
pub fn kubelet_unit(k: &Kubernetes, kind: Option<&NodeKind>) -> String {
    let mut flags = vec![
        format!("--bootstrap-kubeconfig={BOOTSTRAP_KUBECONFIG}"),
        format!("--config={KUBELET_CONFIG}"),
        "--container-runtime-endpoint=unix:///run/containerd/containerd.sock".to_string(),
        format!("--kubeconfig={KUBELET_KUBECONFIG}"),
    ];
    if let Some(kind) = kind {
        flags.push(format!("--node-labels={}", node_labels(kind)));
        if !kind.taints.is_empty() {
            flags.push(format!("--register-with-taints={}", kind.taints.join(",")));
        }
    }
    let mounts = [
        "/etc/cni/net.d:/etc/cni/net.d:ro",
        "/etc/kubernetes:/etc/kubernetes:ro",
        "/etc/machine-id:/etc/machine-id:ro",
        "/usr/lib/os-release:/etc/os-release:ro",
        "/lib/modules:/lib/modules:ro",
        "/run:/run",
        "/sys/fs/cgroup:/sys/fs/cgroup",
        "/var/lib/containerd:/var/lib/containerd",
        "/var/lib/kubelet:/var/lib/kubelet:rshared",
        "/var/log:/var/log",
        "/opt/cni/bin:/opt/cni/bin",
    ];
    let volumes: Vec<String> = mounts.iter().map(|m| format!("-v {m}")).collect();
    format!(
        "[Unit]\nDescription=Kubernetes kubelet\nRequires=docker.service\nAfter=docker.service network-online.target\nWants=network-online.target\nConditionPathExists={BOOTSTRAP_KUBECONFIG}\n\n[Service]\nEnvironment=KUBELET_IMAGE={image}\nExecStartPre=/bin/mkdir -p /etc/cni/net.d {MANIFESTS_DIR} /opt/cni/bin /var/lib/kubelet/volumeplugins /var/log/pods\nExecStartPre=-/usr/bin/docker rm -f kubelet\nExecStart=/usr/bin/docker run --name kubelet --privileged --pid host --network host {volumes} ${{KUBELET_IMAGE}} {flags}\nExecStop=-/usr/bin/docker stop kubelet\nRestart=always\nRestartSec=10\n",
        image = kubelet_image(k),
        volumes = volumes.join(" "),
        flags = flags.join(" "),
    )
}

/// Starts the kubelet when its bootstrap kubeconfig has been copied in (at first boot, and at
/// every boot after).
pub fn kubelet_path_unit() -> String {
    format!(
        "[Unit]\nDescription=Start the kubelet once its bootstrap kubeconfig is in place\n\n[Path]\nPathExists={BOOTSTRAP_KUBECONFIG}\nUnit={KUBELET_UNIT}\n\n[Install]\nWantedBy=multi-user.target\n"
    )
}
