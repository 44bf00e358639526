//! The RBAC objects clusterdef renders: the kubelets' TLS bootstrap, and the bindings the
//! addons' service accounts need.

use super::super::yaml::{MapBuilder, Yaml};
use super::document;

/// A ClusterRoleBinding named `name` of `role` to one subject: a `Group`, a `User` or, with its
/// namespace, a `ServiceAccount`.
pub(super) fn binding(name: &str, role: &str, kind: &str, subject: &str, namespace: Option<&str>) -> String {
    let mut who = MapBuilder::new();
    if kind == "Group" || kind == "User" {
        who = who.str("apiGroup", "rbac.authorization.k8s.io");
    }
    let who = who.str("kind", kind).str("name", subject).opt_str("namespace", namespace).build();
    let value = MapBuilder::new()
        .str("apiVersion", "rbac.authorization.k8s.io/v1")
        .str("kind", "ClusterRoleBinding")
        .set("metadata", MapBuilder::new().str("name", name).build())
        .set(
            "roleRef",
            MapBuilder::new()
                .str("apiGroup", "rbac.authorization.k8s.io")
                .str("kind", "ClusterRole")
                .str("name", role)
                .build(),
        )
        .set("subjects", Yaml::Seq(vec![who]))
        .build();
    document(&value)
}

/// The kubelets' TLS bootstrap (Typhoon's): bootstrap tokens may ask for a node certificate
/// and have it approved, nodes may renew theirs. And the kubelets' API for the apiservers: a
/// kubelet asks the apiserver whether its caller may (webhook authorization), and the
/// apiservers call it as `kube-apiserver` (their client certificate) for `kubectl logs`,
/// `exec` and `port-forward`.
pub fn bootstrap_rbac() -> String {
    [
        binding("clusterdef:kube-apiserver-kubelet", "system:kubelet-api-admin", "User", "kube-apiserver", None),
        binding("clusterdef:kubelet-bootstrap", "system:node-bootstrapper", "Group", "system:bootstrappers", None),
        binding(
            "clusterdef:kubelet-bootstrap-approve",
            "system:certificates.k8s.io:certificatesigningrequests:nodeclient",
            "Group",
            "system:bootstrappers",
            None,
        ),
        binding(
            "clusterdef:kubelet-renew-approve",
            "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
            "Group",
            "system:nodes",
            None,
        ),
    ]
    .concat()
}
