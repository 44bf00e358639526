//! What clusterdef itself writes on a machine, per operating system: the one list the renderers
//! write from and the host-configuration rules check declarations against, so a declared file or
//! unit can never silently replace (or be replaced by) one of clusterdef's.

use crate::cluster::Cluster;
use crate::group_ref::GroupRef;
use crate::settings::{EtcdRelease, Os, RebootStrategy};
use crate::unit_file;

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

/// The drop-in on etcd's unit: on Flatcar it configures a member (`etcd-member.service`); on
/// CoreOS, with TLS, it gives etcd (`etcd2.service`) its key.
pub const ETCD_DROPIN: &str = "20-clusterdef.conf";

/// The unit that runs a Flatcar worker's `etcd gateway`.
pub const GATEWAY_UNIT: &str = "etcd-gateway.service";

/// The directory systemd reads administrators' units and drop-ins from, where host units and
/// drop-ins are written.
pub const SYSTEMD_DIR: &str = "/etc/systemd/system";

/// The drop-in coreos-cloudinit writes (under `/run`) for each `coreos.<section>` clusterdef
/// renders; one of the same name under `/etc` would shadow it whole.
pub const CLOUDINIT_DROPIN: &str = "20-cloudinit.conf";

/// Where etcd keeps its data on a member.
pub const ETCD_DATA_DIR: &str = "/var/lib/etcd";

/// The file the machine's SSH keys are written to: by Ignition on Flatcar, by coreos-cloudinit
/// on CoreOS.
pub const fn ssh_keys_file(os: Os) -> &'static str {
    match os {
        Os::Flatcar => "/home/core/.ssh/authorized_keys.d/ignition",
        Os::CoreOs => "/home/core/.ssh/authorized_keys.d/coreos-cloudinit",
    }
}

/// Who puts a path on the machine, as messages name them.
pub mod who {
    /// The render itself.
    pub const RENDER: &str = "clusterdef's render";
    /// The PKI `clusterdef pki` makes, copied as docs/kubernetes.md says.
    pub const PKI: &str = "the PKI from `clusterdef pki` (copied there as docs/kubernetes.md says)";
    /// The etcd TLS files of the `tls` block.
    pub const TLS: &str = "the cluster's etcd TLS files (`tls`)";
    /// The OS's provisioning writing the declared SSH keys.
    pub const SSH: &str = "the provisioning of the declared SSH keys";
    /// coreos-cloudinit, from a section clusterdef renders.
    pub const CLOUDINIT: &str = "coreos-cloudinit (from the `coreos` section clusterdef renders)";
    /// The kubelet's TLS bootstrap.
    pub const KUBELET: &str = "the kubelet (its TLS bootstrap)";
    /// etcd's own data.
    pub const ETCD: &str = "etcd (its data directory)";
}

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
    /// Where the kubelet keeps the certificates its TLS bootstrap gets.
    pub const KUBELET_PKI_DIR: &str = "/var/lib/kubelet/pki";
    /// Where the first member records that the manifests were applied.
    pub const BOOTSTRAPPED: &str = "/var/lib/clusterdef/kubernetes-bootstrapped";
    /// The apiservers' port.
    pub const API_PORT: u16 = 6443;
}

/// What clusterdef writes on the machines of one group, what the engines it configures and
/// the user's documented steps put there, and the units it needs running: the one list the
/// host-configuration rules check declarations against, and the renderers' writes are tested
/// against (every path a render writes is on it).
#[derive(Clone, Debug, Default)]
pub struct OwnWrites {
    /// Absolute paths of the files put there, each with who puts it ([`who`]).
    pub files: Vec<(String, &'static str)>,
    /// Directories whose every file is clusterdef's or an engine's, with who fills them.
    pub directories: Vec<(String, &'static str)>,
    /// Units it writes or configures (their names), by content or by drop-in.
    pub units: Vec<String>,
    /// Of those, the units whose whole contents it writes (a drop-in on one would patch a
    /// file the declaration already says all of).
    pub written_units: Vec<String>,
    /// Drop-ins it (or an engine it configures) writes: the unit, the file name, who.
    pub dropins: Vec<(String, String, &'static str)>,
    /// Units the machine needs: masking or disabling one breaks what the declaration promises,
    /// with why.
    pub needed: Vec<(String, &'static str)>,
}

impl OwnWrites {
    /// Every file path claimed: the files, each unit's file under [`SYSTEMD_DIR`] (writing
    /// there would replace or override it), each drop-in's file. O(entries).
    pub fn paths(&self) -> Vec<(String, &'static str)> {
        let mut out = self.files.clone();
        out.extend(self.units.iter().map(|u| (format!("{SYSTEMD_DIR}/{u}"), who::RENDER)));
        out.extend(self.dropins.iter().map(|(u, n, w)| (format!("{SYSTEMD_DIR}/{u}.d/{n}"), *w)));
        out
    }

    fn file(&mut self, path: impl Into<String>, who: &'static str) {
        self.files.push((path.into(), who));
    }
}

impl Cluster {
    /// The name of the `.network` file a statically addressed machine gets.
    pub fn network_file_name(&self) -> Option<String> {
        self.network.as_ref().map(|n| format!("00-{}.network", n.interface))
    }

    /// What clusterdef writes on the machines of `group` (and needs there), as the renderer of
    /// the cluster's OS does, with what the engines it configures and the documented install
    /// steps put there. O(units).
    pub fn own_writes(&self, group: GroupRef) -> OwnWrites {
        let mut own = OwnWrites::default();
        let Some(g) = self.group(group) else { return own };
        let member = group == GroupRef::Members;
        let static_address = g.addressing.is_static() && self.network.is_some();
        // A shared config names no machine, so it leaves the hostname to the platform.
        if !g.shares_configs() {
            own.file("/etc/hostname", who::RENDER);
        }
        if static_address && let Some(name) = self.network_file_name() {
            own.file(format!("/etc/systemd/network/{name}"), who::RENDER);
            own.file(format!("/run/systemd/network/{name}"), who::RENDER);
        }
        own.needed.push((
            "systemd-networkd.service".to_string(),
            "it brings up the machine's network (its static address, or DHCP through the OS's default .network)",
        ));
        if g.reboot != RebootStrategy::Off {
            own.needed.push(("locksmithd.service".to_string(), "it carries out the group's reboot strategy"));
            own.needed
                .push(("update-engine.service".to_string(), "it fetches the updates the reboot strategy reboots for"));
        }
        if !self.ssh_keys.is_empty() || !g.ssh_keys.is_empty() {
            own.file(ssh_keys_file(self.os), who::SSH);
        }
        if let Some(tls) = &self.tls {
            for path in [&tls.ca, &tls.cert, &tls.key] {
                if !own.files.iter().any(|(p, _)| *p == **path) {
                    own.file(path.to_string(), who::TLS);
                }
            }
        }
        if member {
            own.directories.push((ETCD_DATA_DIR.to_string(), who::ETCD));
        }
        match self.os {
            Os::CoreOs => self.own_coreos(&mut own, member),
            Os::Flatcar => self.own_flatcar(&mut own, member, g.reboot != RebootStrategy::Off),
        }
        if self.os == Os::Flatcar && self.runs_kubernetes() {
            own_kubernetes(&mut own, member);
        }
        // The cluster's fleet units (their instances too): on CoreOS fleet may run them on any
        // machine that matches, on Flatcar they are written where placed, a template's
        // instances enabled by links in the directories its `[Install]` section names.
        for (u, unit) in self.units.iter().enumerate() {
            if self.is_workload(u) {
                continue;
            }
            let mut names = vec![unit.name.to_string()];
            if unit.is_template() {
                let instances = unit.instance_names();
                if self.os == Os::Flatcar {
                    let body = unit.body.text();
                    let dirs = if unit_file::has_install_section(body) {
                        unit_file::install_dirs(body)
                    } else {
                        vec!["multi-user.target.wants".to_string()]
                    };
                    for dir in &dirs {
                        own.files.extend(instances.iter().map(|i| (format!("{SYSTEMD_DIR}/{dir}/{i}"), who::RENDER)));
                    }
                }
                names.extend(instances);
            }
            own.units.extend(names.iter().cloned());
            own.written_units.extend(names);
        }
        own
    }

    fn own_coreos(&self, own: &mut OwnWrites, member: bool) {
        for path in ["/etc/coreos/update.conf", ENV_FILE, ETCDCTL_PROFILE] {
            own.file(path, who::RENDER);
        }
        if self.etcd_release == EtcdRelease::V0_4 {
            own.file(FLEETCTL_PROFILE, who::RENDER);
        }
        if member {
            own.directories.push((FLEET_UNITS_DIR.to_string(), who::RENDER));
        }
        let etcd = match self.etcd_release {
            EtcdRelease::V2 => "etcd2.service",
            EtcdRelease::V0_4 => "etcd.service",
        };
        own.units.extend([etcd, "fleet.service", "locksmithd.service"].map(str::to_string));
        // Every config carries the etcd, fleet and locksmith sections.
        for unit in [etcd, "fleet.service", "locksmithd.service"] {
            own.dropins.push((unit.to_string(), CLOUDINIT_DROPIN.to_string(), who::CLOUDINIT));
        }
        // With TLS, the drop-in that gives etcd its key, where etcd runs.
        if self.tls.is_some() && (member || self.etcd_release == EtcdRelease::V2) {
            own.dropins.push((etcd.to_string(), ETCD_DROPIN.to_string(), who::RENDER));
        }
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

    fn own_flatcar(&self, own: &mut OwnWrites, member: bool, reboots: bool) {
        own.file("/etc/flatcar/update.conf", who::RENDER);
        let etcd = if member { "etcd-member.service" } else { GATEWAY_UNIT };
        if member {
            own.dropins.push(("etcd-member.service".to_string(), ETCD_DROPIN.to_string(), who::RENDER));
        }
        own.units.push(etcd.to_string());
        if !member {
            own.written_units.push(GATEWAY_UNIT.to_string());
        }
        own.needed.push((
            etcd.to_string(),
            if member { "it runs the machine's etcd member" } else { "it is the machine's way to etcd" },
        ));
        if reboots {
            own.units.push("locksmithd.service".to_string());
        }
    }
}

/// Kubernetes' part: the files and units of every node, the members' control plane, and what
/// the PKI copy and the kubelet's TLS bootstrap put there.
fn own_kubernetes(own: &mut OwnWrites, member: bool) {
    use kubernetes::*;
    own.file(KUBELET_CONFIG, who::RENDER);
    own.file(HOSTS_FILE, who::RENDER);
    own.file(BOOTSTRAP_KUBECONFIG, who::PKI);
    own.file(KUBELET_KUBECONFIG, who::KUBELET);
    own.directories.push((PKI_DIR.to_string(), who::PKI));
    own.directories.push((KUBELET_PKI_DIR.to_string(), who::KUBELET));
    own.units.extend([KUBELET_UNIT, KUBELET_PATH_UNIT].map(str::to_string));
    own.written_units.extend([KUBELET_UNIT, KUBELET_PATH_UNIT].map(str::to_string));
    own.needed.push((KUBELET_UNIT.to_string(), "it registers the machine as a Kubernetes node and runs its pods"));
    own.needed.push(("docker.service".to_string(), "it runs the kubelet's container"));
    own.needed
        .push(("containerd.service".to_string(), "docker runs the kubelet's and the pods' containers through it"));
    if member {
        own.directories.push((MANIFESTS_DIR.to_string(), who::RENDER));
        own.file(CONTROLLER_MANAGER_KUBECONFIG, who::RENDER);
        own.file(SCHEDULER_KUBECONFIG, who::RENDER);
        own.directories.push((BOOTSTRAP_DIR.to_string(), who::RENDER));
        own.file(BOOTSTRAPPED, who::RENDER);
        own.units.push(BOOTSTRAP_UNIT.to_string());
        own.written_units.push(BOOTSTRAP_UNIT.to_string());
    }
}
