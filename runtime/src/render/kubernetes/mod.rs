//! Kubernetes on Flatcar, rendered: the cluster's manifests (workloads and the objects the
//! control plane needs), and per machine the host configuration that makes it a node (the
//! kubelet, its configuration, `/etc/hosts`) and, on the members, runs the control plane
//! beside etcd (static pods, kubeconfigs, the one-time bootstrap). Each format is a module:
//! [`workloads`] (the cluster's manifests), [`control_plane`] (static pods and kubeconfigs),
//! [`node`] (kubelet units and configuration). Secrets are never rendered here: every key,
//! certificate and token is a path under [`PKI_DIR`], filled by `clusterdef pki`.
//!
//! The layout is Typhoon's (etcd on the controllers, the control plane as static pods beside
//! it, every machine a node), with the declared etcd members as the external etcd.

pub mod addons;
pub mod control_plane;
pub mod node;
pub mod rbac;
pub mod workloads;

use std::borrow::Cow;

use clusterdef_model::own::kubernetes::*;
use clusterdef_model::{Cluster, EtcdMember, GroupRef, HostConfig, HostFile, HostUnit, Kubernetes, Machine, UnitBody};

use super::yaml::{self, Yaml};

/// The image the kubelet runs from (Typhoon's kubelet image: the kubelet and kubectl).
pub fn kubelet_image(k: &Kubernetes) -> String {
    format!("quay.io/poseidon/kubelet:{}", k.version)
}

/// The image of a control-plane component at the cluster's release.
pub fn component_image(k: &Kubernetes, component: &str) -> String {
    format!("registry.k8s.io/{component}:{}", k.version)
}

/// A YAML document as Kubernetes reads it (`---` starts it).
pub(crate) fn document(value: &Yaml) -> String {
    yaml::document("---", value)
}

/// A file clusterdef owns on the machine.
fn own_file(path: &str, mode: u32, contents: String) -> HostFile {
    HostFile {
        path: Cow::Owned(path.to_string()),
        contents: UnitBody::Inline(Cow::Owned(contents)),
        mode,
        owner: None,
        group: None,
    }
}

/// A unit clusterdef writes whole, enabled by its `[Install]` section.
fn own_unit(name: &str, body: String) -> HostUnit {
    HostUnit {
        name: Cow::Owned(name.to_string()),
        body: Some(UnitBody::Inline(Cow::Owned(body))),
        enable: None,
        mask: false,
        command: None,
    }
}

/// What every machine's Kubernetes configuration is made of, built once per render: the node
/// kinds, the files every node carries, each kind's kubelet unit, and each member's control
/// plane. With thousands of machines in hundreds of kinds, working these out per machine would
/// cost machines × kinds × machines-per-group. O(kinds + members + workloads) to build.
#[derive(Debug)]
pub struct Prepared {
    kinds: Vec<clusterdef_model::kubernetes::NodeKind>,
    common: Vec<HostFile>,
    path_unit: HostUnit,
    kubelet_units: Vec<HostUnit>,
    kubelet_unlabelled: HostUnit,
    /// Per member (by name): its files and units beside the common ones.
    members: Vec<(String, Vec<HostFile>, Vec<HostUnit>)>,
    /// The render's own Kubernetes files, for review and for validators: the manifests
    /// (`kubernetes/manifests/…`) and the first member's static pods (`kubernetes/static-pods/…`).
    pub artifacts: Vec<(String, String)>,
}

impl Prepared {
    /// The prepared configuration of `cluster`, if it runs Kubernetes.
    pub fn new(cluster: &Cluster, members: &[EtcdMember]) -> Option<Prepared> {
        let k = cluster.kubernetes.as_ref()?;
        let kinds = cluster.node_kinds();
        let kubelet_units =
            kinds.iter().map(|kind| own_unit(KUBELET_UNIT, node::kubelet_unit(k, Some(kind)))).collect();
        let manifests = manifests(cluster);
        let mut artifacts: Vec<(String, String)> =
            manifests.iter().map(|(name, text)| (format!("kubernetes/manifests/{name}"), text.clone())).collect();
        let per_member = members
            .iter()
            .enumerate()
            .map(|(i, member)| {
                let pods = control_plane::static_pods(cluster, members, member);
                if i == 0 {
                    artifacts.extend(
                        pods.iter().map(|(name, text)| (format!("kubernetes/static-pods/{name}"), text.clone())),
                    );
                }
                let mut files: Vec<HostFile> = pods
                    .into_iter()
                    .map(|(name, text)| own_file(&format!("{MANIFESTS_DIR}/{name}"), 0o644, text))
                    .collect();
                files.push(own_file(
                    CONTROLLER_MANAGER_KUBECONFIG,
                    0o644,
                    control_plane::kubeconfig("controller-manager", member),
                ));
                files.push(own_file(SCHEDULER_KUBECONFIG, 0o644, control_plane::kubeconfig("scheduler", member)));
                let mut units = Vec::new();
                if i == 0 {
                    for (name, text) in &manifests {
                        files.push(own_file(&format!("{BOOTSTRAP_DIR}/{name}"), 0o644, text.clone()));
                    }
                    units.push(own_unit(BOOTSTRAP_UNIT, workloads::bootstrap_unit(k)));
                }
                (member.name.clone(), files, units)
            })
            .collect();
        Some(Prepared {
            kinds,
            common: vec![
                own_file(KUBELET_CONFIG, 0o644, node::kubelet_config(k)),
                own_file(HOSTS_FILE, 0o644, node::hosts(members)),
            ],
            path_unit: own_unit(KUBELET_PATH_UNIT, node::kubelet_path_unit()),
            kubelet_units,
            kubelet_unlabelled: own_unit(KUBELET_UNIT, node::kubelet_unit(k, None)),
            members: per_member,
            artifacts,
        })
    }

    /// What makes a machine of `group` in `domain` a node (and, for a member, a controller),
    /// as host configuration the Ignition renderer writes like the declared one: files, then
    /// units. O(kinds + members) to find its parts, then the bytes it carries.
    pub fn machine_host(&self, group: GroupRef, domain: Option<usize>, machine: Option<&Machine>) -> HostConfig {
        let mut files = self.common.clone();
        let kubelet = self
            .kinds
            .iter()
            .position(|n| n.group == group && n.domain == domain)
            .map_or(&self.kubelet_unlabelled, |i| &self.kubelet_units[i]);
        let mut units = vec![self.path_unit.clone(), kubelet.clone()];
        if group == GroupRef::Members
            && let Some(m) = machine
            && let Some((_, member_files, member_units)) = self.members.iter().find(|(name, _, _)| *name == m.hostname)
        {
            files.extend(member_files.iter().cloned());
            units.extend(member_units.iter().cloned());
        }
        HostConfig { files: Cow::Owned(files), units: Cow::Owned(units), dropins: Cow::Borrowed(&[]) }
    }
}

/// The directory under the manifests that holds one file per workload: workloads are named by
/// their units, the addons and bootstrap objects by clusterdef, and apart they can never take
/// each other's file names (`kubectl apply -R` applies the top directory's files first).
pub const WORKLOADS_DIR: &str = "workloads";

/// Every manifest, by relative file name: the bootstrap objects, the addons, then one file per
/// workload under [`WORKLOADS_DIR`]. O(workloads × containers).
pub fn manifests(cluster: &Cluster) -> Vec<(String, String)> {
    let mut out = vec![("00-bootstrap-rbac.yaml".to_string(), rbac::bootstrap_rbac())];
    out.extend(addons::manifests(cluster));
    for w in cluster.workloads() {
        out.push((format!("{WORKLOADS_DIR}/{}.yaml", w.name), workloads::workload_manifest(cluster, &w)));
    }
    out
}

#[cfg(test)]
mod tests {
    use clusterdef_model::kubernetes::{ADDON_PODS_PER_NODE, MAX_PODS, STATIC_PODS_PER_MEMBER};

    /// The pods the plan counts on every node are the ones rendered: the addons' DaemonSets, each
    /// member's static pods, CoreDNS's replicas, and the kubelet's `maxPods`.
    #[test]
    fn the_pods_the_plan_counts_are_the_ones_rendered() {
        let cluster = clusterdef_model::synthetic::kubernetes_at_scale(8, 3, 0);
        let addons: String = super::addons::manifests(&cluster).into_iter().map(|(_, text)| text).collect();
        assert_eq!(addons.matches("kind: \"DaemonSet\"").count(), ADDON_PODS_PER_NODE as usize, "{addons}");
        let replicas = format!("replicas: {}\n", cluster.coredns_replicas());
        assert!(addons.contains(&replicas), "CoreDNS at {replicas}{addons}");
        let members = cluster.etcd_members();
        let static_pods = super::control_plane::static_pods(&cluster, &members, &members[0]);
        assert_eq!(static_pods.len(), STATIC_PODS_PER_MEMBER as usize);
        let k = cluster.kubernetes.as_ref().expect("Kubernetes");
        assert!(super::node::kubelet_config(k).contains(&format!("maxPods: {MAX_PODS}\n")));
    }
}
