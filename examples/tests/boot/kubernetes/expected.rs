//! The plan's promise for the workloads (at rest and after a domain's loss) and the check of
//! where their pods are against it: shared by the emulated kubelets' scenario and the real
//! nodes'.

use std::collections::{BTreeMap, BTreeSet};

use clusterdef::render::plan::KubernetesPlan;

/// The plan's promise for every workload, against where its pods are: each bound pod on a node
/// of a kind the plan allows, as many bound as the plan says fit, DaemonSets on exactly the
/// allowed nodes, pods that avoid each other on distinct nodes; and a Deployment's pods that the
/// plan says have no node wait unbound, exactly as many.
pub fn holds(
    placed: &BTreeMap<String, (Vec<String>, usize)>,
    nodes: &BTreeMap<String, String>,
    expected: &[Expected],
) -> Result<(), String> {
    for Expected { name, fits, wanted, kinds, daemon, spreads } in expected {
        let (bound, unbound) = placed.get(name).cloned().unwrap_or_default();
        for node in &bound {
            let kind = nodes.get(node).cloned().unwrap_or_default();
            if !kinds.contains(&kind) {
                return Err(format!("{name} has a pod on {node} ({kind}), which the plan does not allow ({kinds:?})"));
            }
        }
        if bound.len() != *fits as usize {
            return Err(format!("{name}: {} pods bound ({bound:?}), the plan says {fits}", bound.len()));
        }
        if *daemon {
            let want: BTreeSet<&String> = nodes.iter().filter(|(_, k)| kinds.contains(k)).map(|(n, _)| n).collect();
            let have: BTreeSet<&String> = bound.iter().collect();
            if want != have {
                return Err(format!("{name}: on {have:?}, the plan says each of {want:?}"));
            }
        }
        if *spreads && bound.iter().collect::<BTreeSet<_>>().len() != bound.len() {
            return Err(format!("{name}: replicas share a node: {bound:?}"));
        }
        if !*daemon && unbound != (*wanted - *fits) as usize {
            return Err(format!(
                "{name}: {unbound} pods wait unbound, the plan says {} of its {wanted} find no node",
                wanted - fits
            ));
        }
    }
    Ok(())
}

/// What the plan says of a workload: its name, the pods that fit and the pods it wants, the
/// node kinds it may run on, whether it is a DaemonSet, whether its replicas avoid each other.
#[derive(Clone)]
pub struct Expected {
    name: String,
    fits: u32,
    wanted: u32,
    kinds: Vec<String>,
    daemon: bool,
    spreads: bool,
}

impl Expected {
    /// The plan's promise for every workload at rest.
    pub fn at_rest(plan: &KubernetesPlan) -> Vec<Expected> {
        plan.workloads
            .iter()
            .map(|w| Expected {
                name: w.name.clone(),
                fits: w.fits,
                wanted: w.wanted,
                kinds: w.eligible.clone(),
                daemon: w.kind == "DaemonSet",
                spreads: w.avoids.contains(&w.name),
            })
            .collect()
    }

    /// The plan's promise after `loss`, with `alive_nodes` (node → kind) left: the plan lists
    /// the workloads the loss leaves short; every other keeps every pod it wants (a Deployment
    /// its replicas, a DaemonSet one on each eligible node left).
    pub fn after(
        at_rest: &[Expected],
        loss: &clusterdef::render::plan::KubernetesLoss,
        alive_nodes: &BTreeMap<String, String>,
    ) -> Vec<Expected> {
        at_rest
            .iter()
            .map(|rest| match loss.workloads.iter().find(|w| w.name == rest.name) {
                Some(w) => Expected {
                    fits: w.running,
                    wanted: w.wanted,
                    kinds: rest.kinds.iter().filter(|k| !w.lost.contains(k)).cloned().collect(),
                    ..rest.clone()
                },
                None if rest.daemon => {
                    let left = alive_nodes.values().filter(|k| rest.kinds.contains(k)).count() as u32;
                    Expected { fits: left, wanted: left, ..rest.clone() }
                }
                None => rest.clone(),
            })
            .collect()
    }
}
