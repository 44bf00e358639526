//! The room for pods the plan counts, read back from the apiserver at rest: every node allows
//! the kubelet's `maxPods` the render wrote, and the pods bound to nodes are the ones the plan
//! places (each node's own: the addons' and the static pods' mirrors; the DaemonSets';
//! CoreDNS's; the Deployments'), none left unbound.

use clusterdef::kubernetes::MAX_PODS;
use clusterdef::render::plan::KubernetesPlan;

use super::api::Api;

/// What the apiserver at `at` says of the room for pods, against `plan`; what it found, or how
/// it differs.
pub fn as_planned(api: &Api, at: &str, plan: &KubernetesPlan) -> Result<String, String> {
    let nodes = api.get(at, &["nodes"])?;
    let nodes = nodes["items"].as_array().cloned().unwrap_or_default();
    for node in &nodes {
        let allows = &node["status"]["allocatable"]["pods"];
        if allows.as_str() != Some(MAX_PODS.to_string().as_str()) {
            return Err(format!(
                "node {} allows {allows} pods, not the {MAX_PODS} the render wrote",
                node["metadata"]["name"]
            ));
        }
    }
    let pods = api.get(at, &["pods", "--all-namespaces"])?;
    let (mut bound, mut unbound) = (0u64, Vec::new());
    for pod in pods["items"].as_array().into_iter().flatten() {
        let ended = matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"));
        if !pod["metadata"]["deletionTimestamp"].is_null() || ended {
            continue;
        }
        match pod["spec"]["nodeName"].as_str() {
            Some(_) => bound += 1,
            None => unbound.push(pod["metadata"]["name"].as_str().unwrap_or_default().to_string()),
        }
    }
    if !unbound.is_empty() || bound != plan.pods_placed {
        return Err(format!(
            "{bound} pods bound to nodes and {unbound:?} not; the plan places {} on nodes that hold {}",
            plan.pods_placed, plan.pod_slots
        ));
    }
    Ok(format!("{bound} pods bound, as the plan places, on {} nodes that allow {MAX_PODS} each", nodes.len()))
}
