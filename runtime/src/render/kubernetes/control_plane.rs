//! The control plane on each member, as the kubelet's static pods (Pod YAML) with the flags
//! Typhoon passes, the declared etcd members as the external etcd, and each component's
//! kubeconfig (certificates by path under [`PKI_DIR`]). Every component binds and is reached at
//! the member's own address, so a member's apiserver, controller manager and scheduler talk to
//! each other without a load balancer, and nothing depends on a name resolving.

use clusterdef_model::own::kubernetes::*;
use clusterdef_model::{Cluster, EtcdMember, Kubernetes};

use super::super::yaml::{MapBuilder, Yaml};
use super::{component_image, document};

/// The service-account issuer (Typhoon's and kubeadm's default).
pub const ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

fn pki(file: &str) -> String {
    format!("{PKI_DIR}/{file}")
}

fn address(member: &EtcdMember) -> String {
    member.address.map_or_else(|| "0.0.0.0".to_string(), |a| a.to_string())
}

/// The members' client URLs, as the apiserver's `--etcd-servers`.
fn etcd_servers(members: &[EtcdMember]) -> String {
    let urls: Vec<String> = members.iter().map(crate::render::cloud_config::client_url).collect();
    urls.join(",")
}

/// kube-apiserver's flags on `member`.
pub fn apiserver_flags(cluster: &Cluster, k: &Kubernetes, members: &[EtcdMember], member: &EtcdMember) -> Vec<String> {
    let at = address(member);
    let mut flags = vec![
        format!("--advertise-address={at}"),
        "--allow-privileged=true".to_string(),
        "--anonymous-auth=false".to_string(),
        "--authorization-mode=Node,RBAC".to_string(),
        format!("--bind-address={at}"),
        format!("--client-ca-file={}", pki("ca.crt")),
        format!("--default-not-ready-toleration-seconds={}", k.eviction_seconds),
        format!("--default-unreachable-toleration-seconds={}", k.eviction_seconds),
        "--enable-admission-plugins=NodeRestriction".to_string(),
        "--enable-bootstrap-token-auth=true".to_string(),
        format!("--etcd-servers={}", etcd_servers(members)),
    ];
    if cluster.tls.is_some() {
        flags.push(format!("--etcd-cafile={}", pki("etcd-ca.crt")));
        flags.push(format!("--etcd-certfile={}", pki("etcd-client.crt")));
        flags.push(format!("--etcd-keyfile={}", pki("etcd-client.key")));
    }
    flags.extend([
        format!("--kubelet-client-certificate={}", pki("apiserver.crt")),
        format!("--kubelet-client-key={}", pki("apiserver.key")),
        "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname".to_string(),
        format!("--secure-port={API_PORT}"),
        format!("--service-account-issuer={ISSUER}"),
        format!("--service-account-jwks-uri={ISSUER}/openid/v1/jwks"),
        format!("--service-account-key-file={}", pki("service-account.pub")),
        format!("--service-account-signing-key-file={}", pki("service-account.key")),
        format!("--service-cluster-ip-range={}", k.services),
        format!("--tls-cert-file={}", pki("apiserver.crt")),
        format!("--tls-private-key-file={}", pki("apiserver.key")),
    ]);
    flags
}

/// kube-controller-manager's flags on `member`.
pub fn controller_manager_flags(k: &Kubernetes, member: &EtcdMember) -> Vec<String> {
    vec![
        "--allocate-node-cidrs=true".to_string(),
        format!("--authentication-kubeconfig={CONTROLLER_MANAGER_KUBECONFIG}"),
        format!("--authorization-kubeconfig={CONTROLLER_MANAGER_KUBECONFIG}"),
        format!("--bind-address={}", address(member)),
        format!("--client-ca-file={}", pki("ca.crt")),
        format!("--cluster-cidr={}", k.pods),
        format!("--cluster-signing-cert-file={}", pki("ca.crt")),
        format!("--cluster-signing-duration=72h"),
        format!("--cluster-signing-key-file={}", pki("ca.key")),
        "--configure-cloud-routes=false".to_string(),
        "--controllers=*,tokencleaner".to_string(),
        format!("--kubeconfig={CONTROLLER_MANAGER_KUBECONFIG}"),
        "--leader-elect=true".to_string(),
        // Explicit, as the rules check the pod range against it (`kubernetes_settings`).
        format!("--node-cidr-mask-size={}", Kubernetes::NODE_CIDR_MASK),
        format!("--root-ca-file={}", pki("ca.crt")),
        format!("--service-account-private-key-file={}", pki("service-account.key")),
        format!("--service-cluster-ip-range={}", k.services),
        "--use-service-account-credentials=true".to_string(),
    ]
}

/// kube-scheduler's flags on `member`.
pub fn scheduler_flags(member: &EtcdMember) -> Vec<String> {
    vec![
        format!("--authentication-kubeconfig={SCHEDULER_KUBECONFIG}"),
        format!("--authorization-kubeconfig={SCHEDULER_KUBECONFIG}"),
        format!("--bind-address={}", address(member)),
        format!("--kubeconfig={SCHEDULER_KUBECONFIG}"),
        "--leader-elect=true".to_string(),
    ]
}

/// A host directory or file mounted read-only into a static pod.
fn host_mount(name: &str, path: &str) -> (Yaml, Yaml) {
    (
        MapBuilder::new().str("name", name).str("mountPath", path).set("readOnly", Yaml::Bool(true)).build(),
        MapBuilder::new().str("name", name).set("hostPath", MapBuilder::new().str("path", path).build()).build(),
    )
}

/// A static pod of one component: host network, critical priority, RuntimeDefault seccomp,
/// the PKI directory and `extra` host paths mounted read-only.
fn static_pod(k: &Kubernetes, component: &str, flags: Vec<String>, extra: &[&str]) -> String {
    let mut command = vec![Yaml::str(component)];
    command.extend(flags.into_iter().map(Yaml::Str));
    let mut mounts = vec![host_mount("pki", PKI_DIR)];
    for (i, path) in extra.iter().enumerate() {
        mounts.push(host_mount(&format!("host-{i}"), path));
    }
    let (volume_mounts, volumes): (Vec<Yaml>, Vec<Yaml>) = mounts.into_iter().unzip();
    let container = MapBuilder::new()
        .str("name", component)
        .str("image", component_image(k, component))
        .set("command", Yaml::Seq(command))
        .set("volumeMounts", Yaml::Seq(volume_mounts))
        .build();
    let value = MapBuilder::new()
        .str("apiVersion", "v1")
        .str("kind", "Pod")
        .set(
            "metadata",
            MapBuilder::new()
                .str("name", component)
                .str("namespace", "kube-system")
                .set("labels", MapBuilder::new().str("k8s-app", component).str("tier", "control-plane").build())
                .build(),
        )
        .set(
            "spec",
            MapBuilder::new()
                .set("hostNetwork", Yaml::Bool(true))
                .str("priorityClassName", "system-cluster-critical")
                .set(
                    "securityContext",
                    MapBuilder::new()
                        .set("seccompProfile", MapBuilder::new().str("type", "RuntimeDefault").build())
                        .build(),
                )
                .set("containers", Yaml::Seq(vec![container]))
                .set("volumes", Yaml::Seq(volumes))
                .build(),
        )
        .build();
    document(&value)
}

/// The member's static pods, by file name: kube-apiserver, kube-controller-manager and
/// kube-scheduler. O(members).
pub fn static_pods(cluster: &Cluster, members: &[EtcdMember], member: &EtcdMember) -> Vec<(String, String)> {
    let Some(k) = &cluster.kubernetes else { return Vec::new() };
    vec![
        (
            "kube-apiserver.yaml".to_string(),
            static_pod(k, "kube-apiserver", apiserver_flags(cluster, k, members, member), &[]),
        ),
        (
            "kube-controller-manager.yaml".to_string(),
            static_pod(
                k,
                "kube-controller-manager",
                controller_manager_flags(k, member),
                &[CONTROLLER_MANAGER_KUBECONFIG],
            ),
        ),
        (
            "kube-scheduler.yaml".to_string(),
            static_pod(k, "kube-scheduler", scheduler_flags(member), &[SCHEDULER_KUBECONFIG]),
        ),
    ]
}

/// A component's kubeconfig on `member`: its member's apiserver, the cluster CA and the
/// component's client certificate, all by path. `component` names the files
/// (`PKI_DIR/<component>.crt`).
pub fn kubeconfig(component: &str, member: &EtcdMember) -> String {
    let server = format!("https://{}:{API_PORT}", address(member));
    let value = MapBuilder::new()
        .str("apiVersion", "v1")
        .str("kind", "Config")
        .set(
            "clusters",
            Yaml::Seq(vec![
                MapBuilder::new()
                    .str("name", "local")
                    .set(
                        "cluster",
                        MapBuilder::new().str("server", server).str("certificate-authority", pki("ca.crt")).build(),
                    )
                    .build(),
            ]),
        )
        .set(
            "users",
            Yaml::Seq(vec![
                MapBuilder::new()
                    .str("name", component)
                    .set(
                        "user",
                        MapBuilder::new()
                            .str("client-certificate", pki(&format!("{component}.crt")))
                            .str("client-key", pki(&format!("{component}.key")))
                            .build(),
                    )
                    .build(),
            ]),
        )
        .set(
            "contexts",
            Yaml::Seq(vec![
                MapBuilder::new()
                    .str("name", component)
                    .set("context", MapBuilder::new().str("cluster", "local").str("user", component).build())
                    .build(),
            ]),
        )
        .str("current-context", component)
        .build();
    document(&value)
}
