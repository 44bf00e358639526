//! What clusterdef itself writes on a machine, per operating system: the one list the renderers
//! write from and the host-configuration rules check declarations against, so a declared file or
//! unit can never silently replace (or be replaced by) one of clusterdef's.

use crate::cluster::{Cluster, EtcdRelease, Os, RebootStrategy};
use crate::subject::GroupRef;

/// Where CoreOS members keep the fleet units they submit.
pub const FLEET_UNITS_DIR: &str = "/etc/clusterdef/fleet-units";

/// The environment file naming the machine's etcd endpoints (CoreOS).
pub const ENV_FILE: &str = "/etc/clusterdef/etcd.env";

/// The login-shell script that loads [`ENV_FILE`], for etcdctl (CoreOS).
pub const ETCDCTL_PROFILE: &str = "/etc/profile.d/etcdctl.sh";

/// The login-shell script that points fleetctl at the local fleet (etcd 0.4 clusters).
pub const FLEETCTL_PROFILE: &str = "/etc/profile.d/fleetctl.sh";

/// The unit that submits the cluster's fleet units from the members (CoreOS).
pub const SUBMIT_UNIT: &str = "clusterdef-fleet-units.service";

/// The drop-in on `etcd-member.service` that configures a Flatcar member.
pub const ETCD_DROPIN: &str = "20-clusterdef.conf";

/// The unit that runs a Flatcar worker's `etcd gateway`.
pub const GATEWAY_UNIT: &str = "etcd-gateway.service";

/// The directory systemd reads administrators' units and drop-ins from, where host units and
/// drop-ins are written.
pub const SYSTEMD_DIR: &str = "/etc/systemd/system";

/// Kubernetes' files and units on Flatcar machines: where the renderer writes them, where
/// `clusterdef pki` expects its secrets copied, and what `host_collision` keeps declarations
/// away from.
pub mod kubernetes {
    /// The kubelet's configuration (KubeletConfiguration).
    pub const KUBELET_CONFIG: &str = "/etc/kubernetes/kubelet.yaml";
    /// The kubelet's bootstrap kubeconfig (a bootstrap token: copied from `clusterdef pki`'s
    /// output, never in Ignition); the kubelet starts once it is there.
    pub const BOOTSTRAP_KUBECONFIG: &str = "/etc/kubernetes/bootstrap-kubeconfig";
    /// The kubelet's kubeconfig, written by its TLS bootstrap.
    pub const KUBELET_KUBECONFIG: &str = "/var/lib/kubelet/kubeconfig";
    /// Where the certificates and keys go (copied from `clusterdef pki`'s output).
    pub const PKI_DIR: &str = "/etc/kubernetes/pki";
    /// The kubelet's static pods: the control plane on the members.
    pub const MANIFESTS_DIR: &str = "/etc/kubernetes/manifests";
    /// The controller manager's kubeconfig.
    pub const CONTROLLER_MANAGER_KUBECONFIG: &str = "/etc/kubernetes/controller-manager.conf";
    /// The scheduler's kubeconfig.
    pub const SCHEDULER_KUBECONFIG: &str = "/etc/kubernetes/scheduler.conf";
    /// The cluster's manifests on the first member, applied once by [`BOOTSTRAP_UNIT`].
    pub const BOOTSTRAP_DIR: &str = "/etc/kubernetes/bootstrap";
    /// The kubelet.
    pub const KUBELET_UNIT: &str = "kubelet.service";
    /// Starts the kubelet once its bootstrap kubeconfig has been copied in.
    pub const KUBELET_PATH_UNIT: &str = "kubelet.path";
    /// Applies the cluster's manifests once, on the first member.
    pub const BOOTSTRAP_UNIT: &str = "clusterdef-kubernetes-bootstrap.service";
    /// The name every node reaches the apiservers by: `/etc/hosts` maps it to each member.
    pub const API_NAME: &str = "kubernetes.clusterdef.internal";
    /// `/etc/hosts`, which carries [`API_NAME`].
    pub const HOSTS_FILE: &str = "/etc/hosts";
    /// The apiservers' port.
    pub const API_PORT: u16 = 6443;
}

/// What clusterdef writes on the machines of one group and failure domain, and the units it
/// needs running there.
#[derive(Clone, Debug, Default)]
pub struct OwnWrites {
    /// Absolute paths of the files it writes.
    pub files: Vec<String>,
    /// Directories whose every file it writes.
    pub directories: Vec<String>,
    /// Units it writes or configures (their names), by content or by drop-in.
    pub units: Vec<String>,
    /// Of those, the units whose whole contents it writes (a drop-in on one would patch a
    /// file the declaration already says all of).
    pub written_units: Vec<String>,
    /// Units the machine needs: masking one breaks what the declaration promises, with why.
    pub needed: Vec<(String, &'static str)>,
}

impl Cluster {
    /// The name of the `.network` file a statically addressed machine gets.
    pub fn network_file_name(&self) -> Option<String> {
        self.network.as_ref().map(|n| format!("00-{}.network", n.interface))
    }

    /// What clusterdef writes on the machines of `group` (and needs there), as the renderer of
    /// the cluster's OS does. Statically addressed machines also get the `.network` file.
    /// O(units).
    pub fn own_writes(&self, group: GroupRef) -> OwnWrites {
        let mut own = OwnWrites::default();
        let Some(g) = self.group(group) else { return own };
        let member = group == GroupRef::Members;
        let static_address = g.addressing.is_static() && self.network.is_some();
        // A shared config names no machine, so it leaves the hostname to the platform.
        if !g.shares_configs() {
            own.files.push("/etc/hostname".to_string());
        }
        if static_address && let Some(name) = self.network_file_name() {
            own.files.push(format!("/etc/systemd/network/{name}"));
            own.files.push(format!("/run/systemd/network/{name}"));
            own.needed.push(("systemd-networkd.service".to_string(), "it brings up the machine's static address"));
        }
        if g.reboot != RebootStrategy::Off {
            own.needed.push(("locksmithd.service".to_string(), "it carries out the group's reboot strategy"));
            own.needed
                .push(("update-engine.service".to_string(), "it fetches the updates the reboot strategy reboots for"));
        }
        match self.os {
            Os::CoreOs => {
                own.files.extend(["/etc/coreos/update.conf", ENV_FILE, ETCDCTL_PROFILE].map(str::to_string));
                if self.etcd_release == EtcdRelease::V0_4 {
                    own.files.push(FLEETCTL_PROFILE.to_string());
                }
                if member {
                    own.directories.push(FLEET_UNITS_DIR.to_string());
                }
                let etcd = match self.etcd_release {
                    EtcdRelease::V2 => "etcd2.service",
                    EtcdRelease::V0_4 => "etcd.service",
                };
                own.units.extend([etcd, "fleet.service", "locksmithd.service"].map(str::to_string));
                if member || self.etcd_release == EtcdRelease::V2 {
                    own.needed.push((etcd.to_string(), "it runs the machine's etcd member or proxy"));
                }
                own.needed.push(("fleet.service".to_string(), "it runs the cluster's fleet units"));
                if member && !self.units.is_empty() {
                    own.units.push(SUBMIT_UNIT.to_string());
                    own.written_units.push(SUBMIT_UNIT.to_string());
                    own.needed.push((SUBMIT_UNIT.to_string(), "it submits the cluster's fleet units"));
                }
            }
            Os::Flatcar => {
                own.files.push("/etc/flatcar/update.conf".to_string());
                let etcd = if member { "etcd-member.service" } else { GATEWAY_UNIT };
                if member {
                    own.files.push(format!("{SYSTEMD_DIR}/etcd-member.service.d/{ETCD_DROPIN}"));
                }
                own.units.push(etcd.to_string());
                if !member {
                    own.written_units.push(GATEWAY_UNIT.to_string());
                }
                own.needed.push((
                    etcd.to_string(),
                    if member { "it runs the machine's etcd member" } else { "it is the machine's way to etcd" },
                ));
                if g.reboot != RebootStrategy::Off {
                    own.units.push("locksmithd.service".to_string());
                }
            }
        }
        if self.os == Os::Flatcar && self.runs_kubernetes() {
            use kubernetes::*;
            own.files.extend([KUBELET_CONFIG, HOSTS_FILE].map(str::to_string));
            own.units.extend([KUBELET_UNIT, KUBELET_PATH_UNIT].map(str::to_string));
            own.written_units.extend([KUBELET_UNIT, KUBELET_PATH_UNIT].map(str::to_string));
            own.needed
                .push((KUBELET_UNIT.to_string(), "it registers the machine as a Kubernetes node and runs its pods"));
            own.needed.push(("docker.service".to_string(), "it runs the kubelet's container"));
            if member {
                own.directories.push(MANIFESTS_DIR.to_string());
                own.files.extend([CONTROLLER_MANAGER_KUBECONFIG, SCHEDULER_KUBECONFIG].map(str::to_string));
                own.directories.push(BOOTSTRAP_DIR.to_string());
                own.units.push(BOOTSTRAP_UNIT.to_string());
                own.written_units.push(BOOTSTRAP_UNIT.to_string());
            }
        }
        // The cluster's fleet units (their instances too): on CoreOS fleet may run them on any
        // machine that matches, on Flatcar they are written where placed.
        for (u, unit) in self.units.iter().enumerate() {
            if self.is_workload(u) {
                continue;
            }
            let mut names = vec![unit.name.to_string()];
            if unit.is_template() {
                names.extend(unit.instance_names());
            }
            own.units.extend(names.iter().cloned());
            own.written_units.extend(names);
        }
        own
    }
}
