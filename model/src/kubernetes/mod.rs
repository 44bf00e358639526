//! Kubernetes on Flatcar: the settings a cluster declares, the nodes its machines register as
//! (labels and taints), the workloads its units become, and what the cluster keeps when a
//! failure domain is lost. The rules, the plan and the renderers all read these from here.
//!
//! The rooms: `settings` (the declared settings and the containers), `names` (the labels and
//! taints clusterdef sets, what Kubernetes accepts as a name, label or image reference, and how
//! a value reaches it unexpanded), `nodes` (the node kinds), `workloads` (what each unit
//! becomes and where it may run), `capacity` (the pods a node holds and what takes them),
//! `losses` (what each failure domain's loss leaves); here what
//! the cluster as a whole says of Kubernetes.

mod capacity;
mod losses;
mod names;
mod nodes;
mod reference;
pub(crate) mod settings;
mod workloads;

pub use capacity::{
    ADDON_PODS_PER_NODE, Crowding, KindSet, MAX_PODS, PodRoom, STATIC_PODS_PER_MEMBER, crowded_after_losses, kind_sets,
    own_pods, pods_per_node, room_of,
};
pub use losses::{DomainLoss, FailureDomain, WorkloadLoss};
pub use names::*;
pub use nodes::{NodeCount, NodeKind, kind_name};
pub use reference::image_problem;
pub use settings::{Cni, Container, Kubernetes, SUPPORTED_MINORS};
pub use workloads::{Workload, WorkloadKind, avoided};

use crate::cluster::Cluster;

impl Cluster {
    /// Whether the cluster runs Kubernetes.
    pub fn runs_kubernetes(&self) -> bool {
        self.kubernetes.is_some()
    }

    /// The most machines the cluster can have (each a node): fixed groups as declared,
    /// autoscaled pools at their maximum; `None` when a pool declares no maximum.
    pub fn most_machines(&self) -> Option<u64> {
        self.groups().try_fold(0u64, |sum, (_, g)| match g.size {
            crate::group::Size::Fixed(n) => Some(sum + u64::from(n)),
            crate::group::Size::Autoscale { max, .. } => max.map(|m| sum + u64::from(m)),
        })
    }

    /// Whether unit `u` runs as a Kubernetes workload: the cluster runs Kubernetes and the unit
    /// names a container image (or follows one that does, through `machine_of`).
    pub fn is_workload(&self, u: usize) -> bool {
        self.runs_kubernetes() && self.units.get(u).is_some_and(|unit| unit.container.is_some())
    }
}
