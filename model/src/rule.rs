//! The names of the architecture rules.

use std::fmt;

macro_rules! rules {
    ($($variant:ident { name: $name:literal, applies: $applies:literal, protects: $protects:literal, rejects: $rejects:literal, })*) => {
        /// An architecture rule. Each has a stable name, used in `allow(NAME, reason = "…")`.
        ///
        /// This catalogue is the one description of every rule: the variants' documentation,
        /// [`Rule::protects`], [`Rule::rejects`] and the table in `docs/rules.md` (checked against
        /// it by a test) all come from it. How each rule checks is documented on its function
        /// in `check/`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $(
                #[doc = concat!("`", $name, "` protects ", $protects, ".")]
                #[doc = ""]
                #[doc = concat!("Applies to ", $applies, " clusters. Rejects ", $rejects, ".")]
                $variant,
            )*
        }

        impl Rule {
            /// Every rule, in a stable order.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The rule's stable name.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Rule::$variant => $name,)*
                }
            }

            /// What the rule protects, in one line.
            pub const fn protects(self) -> &'static str {
                match self {
                    $(Rule::$variant => $protects,)*
                }
            }

            /// Which clusters the rule applies to: `all`, `production`, a layout.
            pub const fn applies_to(self) -> &'static str {
                match self {
                    $(Rule::$variant => $applies,)*
                }
            }

            /// What the rule rejects, in full.
            pub const fn rejects(self) -> &'static str {
                match self {
                    $(Rule::$variant => $rejects,)*
                }
            }
        }
    };
}

rules! {
    ClusterSize {
        name: "cluster_size",
        applies: "all",
        protects: "declarations that can be checked and rendered in bounded time and memory",
        rejects: "more than 10,000 machines in fixed groups (each gets its own config and is checked one by one): a group that large on its own, and the group that takes the total over; likewise more than 10,000 template instances in all (each is named, placed and listed). Checked first; when it fails, no other rule runs, so a count such as `workers: 100000000` or `instances: 4294967295` is refused in microseconds",
    }
    MemberCount {
        name: "member_count",
        applies: "all",
        protects: "an etcd member count that suits the architecture",
        rejects: "a dev/test cluster with other than one node; a small cluster below 3 machines; central services outside 3–5 (1 says to use `etcd_node:`)",
    }
    EvenMembers {
        name: "even_members",
        applies: "all",
        protects: "an odd etcd member count, since an even one adds no fault tolerance",
        rejects: "an even member count above 2: it raises the quorum but not the tolerance (4 tolerate 1, like 3)",
    }
    FailureDomainQuorum {
        name: "failure_domain_quorum",
        applies: "all",
        protects: "quorum after the loss of any one cabinet or zone",
        rejects: "a cabinet or zone holding more than n − majority members, so losing it loses quorum; names the domain and the arithmetic",
    }
    SingleDomain {
        name: "single_domain",
        applies: "production",
        protects: "production etcd members spread across cabinets or zones",
        rejects: "etcd members not spread `across` cabinets or zones",
    }
    DomainSpread {
        name: "domain_spread",
        applies: "all",
        protects: "a spread whose domains are distinct, used, and add up",
        rejects: "a domain listed twice, counts given for some domains only, counts that do not add up, a domain that holds no machine, counts on an autoscaled group",
    }
    SmallClusterSize {
        name: "small_cluster_size",
        applies: "small",
        protects: "small clusters of 3-9 machines that all run etcd",
        rejects: "more than 9 machines (says to use central services), or worker pools",
    }
    DevNotProduction {
        name: "dev_not_production",
        applies: "dev/test",
        protects: "production clusters that survive the loss of their etcd node",
        rejects: "`production: true`",
    }
    ProductionChannel {
        name: "production_channel",
        applies: "production",
        protects: "production etcd members on the stable channel",
        rejects: "etcd members on beta or alpha",
    }
    ProductionStaticAddresses {
        name: "production_static_addresses",
        applies: "production, central services",
        protects: "static addresses for production central services",
        rejects: "central machines without static addresses",
    }
    Bootstrap {
        name: "bootstrap",
        applies: "all",
        protects: "an etcd bootstrap that can complete",
        rejects: "a production cluster without its discovery URL; a discovery URL that is not http(s)",
    }
    AddressUnique {
        name: "address_unique",
        applies: "all",
        protects: "one address per machine",
        rejects: "two machines with one address, or a machine with the gateway's",
    }
    AddressInSubnet {
        name: "address_in_subnet",
        applies: "all",
        protects: "static addresses inside the declared subnet",
        rejects: "static addresses without a `network`, or outside the machine's subnet (its domain's, when the domain has a network of its own), or its network/broadcast address",
    }
    AddressCount {
        name: "address_count",
        applies: "all",
        protects: "an address for every statically addressed machine",
        rejects: "fewer addresses than machines, extra listed addresses, static addresses on an autoscaled pool",
    }
    GatewayInSubnet {
        name: "gateway_in_subnet",
        applies: "all",
        protects: "a reachable gateway",
        rejects: "a gateway (the cluster's or a domain's) that is not a host of its subnet",
    }
    HostnameValid {
        name: "hostname_valid",
        applies: "all",
        protects: "hostnames that are valid DNS labels",
        rejects: "hostnames that are not DNS labels, capitals in a Kubernetes node's hostname (its kubelet registers the node lower-cased, so the plan's node names and `kubectl drain` commands would miss it), or a hostname list whose length differs from the machine count",
    }
    HostnameUnique {
        name: "hostname_unique",
        applies: "all",
        protects: "one hostname per machine",
        rejects: "two machines with one hostname, in any case (e.g. a pattern without `{n}`; `web-1` and `WEB-1` are one name in DNS)",
    }
    PoolName {
        name: "pool_name",
        applies: "all",
        protects: "distinct pool names usable in hostnames and file names",
        rejects: "pool names that are not DNS labels, or used twice",
    }
    MetadataFormat {
        name: "metadata_format",
        applies: "all",
        protects: "fleet metadata that fleet reads back as written",
        rejects: "metadata keys/values (and domain names, roles) with `=`, `,`, `%` (a fleet specifier), whitespace or quotes, empty ones, a key set twice, or a key the DSL generates (`role`, `pool`, `cabinet`/`zone`)",
    }
    MetadataSatisfiable {
        name: "metadata_satisfiable",
        applies: "all",
        protects: "units that have a machine to run on",
        rejects: "a unit whose `MachineMetadata` no machine satisfies: a key no machine publishes, a value no machine has (with \"did you mean\" and the values that exist), or requirements never met on one machine together",
    }
    FleetExclusiveOptions {
        name: "fleet_exclusive_options",
        applies: "all",
        protects: "units fleet accepts",
        rejects: "`[X-Fleet]` combinations fleet v1.0 rejects: MachineID with MachineOf, Conflicts, Global or Replaces; Global with MachineOf or Replaces; Conflicts with Replaces",
    }
    UnitInstances {
        name: "unit_instances",
        applies: "all",
        protects: "instance counts that say how many copies run",
        rejects: "`instances` on a unit that is not a template (`name@.service`), which has no instances, or on a `global` unit, which runs one copy on every matching machine",
    }
    MachineOfConflicts {
        name: "machine_of_conflicts",
        applies: "all",
        protects: "units whose placement requirements can be met together",
        rejects: "a unit whose own `Conflicts` glob matches its `MachineOf` target",
    }
    MachineOfTarget {
        name: "machine_of_target",
        applies: "all",
        protects: "units that follow a unit that exists",
        rejects: "`MachineOf` naming no unit of the cluster, the unit itself, or forming a cycle",
    }
    UnitName {
        name: "unit_name",
        applies: "all",
        protects: "unit names systemd and fleet accept",
        rejects: "names that break systemd/fleet's rules: characters, length, a missing or unknown type suffix, templates of the wrong type",
    }
    UnitBody {
        name: "unit_body",
        applies: "all",
        protects: "unit files whose placement is the declared one",
        rejects: "an empty unit body, or a body with its own `[X-Fleet]` section (placement comes from the declaration)",
    }
    UnitUnique {
        name: "unit_unique",
        applies: "all",
        protects: "one unit per name, after a template's instances are named",
        rejects: "two units with one name, or a unit named as an instance of a declared template (`web@1.service` beside `web@.service`): fleet keeps one unit per name and systemd runs one file per name, so the plan would count a unit that never runs",
    }
    AutoscaleBounds {
        name: "autoscale_bounds",
        applies: "all",
        protects: "autoscale bounds with min at most max",
        rejects: "an autoscale minimum above its maximum, or a maximum of 0",
    }
    MembersFixed {
        name: "members_fixed",
        applies: "all",
        protects: "an etcd membership that does not scale away",
        rejects: "autoscaled etcd members",
    }
    PxeBoot {
        name: "pxe_boot",
        applies: "all",
        protects: "PXE-booted machines that can find their config",
        rejects: "PXE-booted etcd members, PXE pools with static addresses, PXE pools with no boot server, boot URLs that are not plain `http://` or that hold whitespace or quotes",
    }
    PxeBootNetwork {
        name: "pxe_boot_network",
        applies: "all",
        protects: "PXE machines whose domain and pool do not depend on which boot server answers first",
        rejects: "two PXE pools, or two domains of one PXE pool, booting from one network (the cluster's, or one undeclared): every boot server on a network answers every machine, so a machine would boot whichever config answers first and publish that pool or zone. Each needs a network of its own (`network: { zones: { … } }`), or its machines listed by MAC (`inventory`); one kind per network may take the machines not listed",
    }
    MachineInventory {
        name: "machine_inventory",
        applies: "all",
        protects: "an inventory that places each machine once, in a domain of its pool",
        rejects: "an inventory on a pool that does not PXE-boot, a MAC address listed twice, a machine placed in a domain its pool is not spread across (or in none when it is), a fixed pool whose inventory does not list as many machines per domain as the pool places there",
    }
    MachineMacs {
        name: "machine_macs",
        applies: "all",
        protects: "MAC addresses that name each machine once",
        rejects: "`macs` on an autoscaled group or a PXE pool (whose machines an `inventory` lists), a `macs` list that does not give one address per machine of its group, a MAC address listed twice in the cluster (in `macs` or an `inventory`, compared as matchbox and dnsmasq compare them, case aside)",
    }
    MatchboxBoot {
        name: "matchbox_boot",
        applies: "all",
        protects: "a matchbox that matches every machine to its own config, and no machine to two",
        rejects: "matchbox for a CoreOS cluster (matchbox serves Ignition; CoreOS reads cloud-configs), a PXE pool with a boot URL of its own (one matchbox serves every machine), a group that boots from disk without `macs` (matchbox installs each such machine by its MAC address, and a machine without one is matched by no group), a boot server URL that is not `http://`, `install_disk` on a group nothing installs",
    }
    DomainNetwork {
        name: "domain_network",
        applies: "all",
        protects: "failure-domain networks that exist and are networks of their own",
        rejects: "a failure-domain network for a domain no group is spread across (with \"did you mean\"), declared twice, outside the cluster's subnet, or overlapping another domain's",
    }
    RebootQuorum {
        name: "reboot_quorum",
        applies: "all but dev/test",
        protects: "quorum while updates reboot etcd members",
        rejects: "etcd members with `reboot: reboot` and no window, one window for all, a domain without a window, or windows overlapping so that more than n − majority members can be down at once; windows for domains the group does not have",
    }
    EtcdTls {
        name: "etcd_tls",
        applies: "production",
        protects: "encrypted, authenticated etcd traffic in production",
        rejects: "etcd without `tls: { ca, cert, key }`: plain http lets anyone on the network read every key and write as any client",
    }
    MemberAddresses {
        name: "member_addresses",
        applies: "all",
        protects: "configs that name every etcd member by an address its peers and clients can reach",
        rejects: "a static `initial-cluster` over members without static addresses (each would list every peer at `$private_ipv4`, its own address, so the cluster never forms); Flatcar members without static addresses (Ignition substitutes nothing, so `$private_ipv4` would reach etcd as text); etcd 0.4 workers listing members without addresses. Cannot be allowed: the cluster would never start",
    }
    StaticBootstrap {
        name: "static_bootstrap",
        applies: "Flatcar",
        protects: "a Flatcar etcd cluster that bootstraps without a deprecated public service",
        rejects: "Flatcar members with static addresses that would bootstrap by discovery: etcd 3.5's v2 discovery depends on discovery.etcd.io, a deprecated public service, and etcd 3.7 removes it; `bootstrap: static` lists them in a static `initial-cluster` (members without addresses are `member_addresses`')",
    }
    UnitPlacement {
        name: "unit_placement",
        applies: "Flatcar",
        protects: "units that run where the declaration says with no scheduler at run time",
        rejects: "a single unit whose only eligible machines are in autoscaled or PXE pools (one config serves the whole pool, so it would run on every machine of it), and a unit whose `conflicts` or `machine_of` leave it no machine",
    }
    TlsDirectory {
        name: "tls_directory",
        applies: "Flatcar",
        protects: "TLS files etcd-member can read in its container",
        rejects: "a `tls` block whose `ca`, `cert` and `key` are not in one directory: etcd-member's wrapper mounts one host directory (`ETCD_SSL_DIR`) at `/etc/ssl/certs` in the container, so a file elsewhere is missing when etcd starts",
    }
    TlsPaths {
        name: "tls_paths",
        applies: "all",
        protects: "etcd TLS files `clusterdef pki` can write and every machine keeps apart",
        rejects: "a `ca`, `cert` or `key` path that is not an absolute, normal path to a file (`/`, `/./`, `/../`, a trailing `/`, a component over 255 bytes), two of them the same or one inside another, or one where clusterdef writes or needs something else (the Kubernetes PKI directory and bootstrap kubeconfig, etcd's data directory, the hostname, …). Cannot be allowed: `clusterdef pki` would fail half-way, and one file would replace another on the machines",
    }
    HostPath {
        name: "host_path",
        applies: "all",
        protects: "host files Ignition and coreos-cloudinit write where the declaration says, as it says",
        rejects: "a host file path that is not absolute and normal (`..`, `.`, `//`, a trailing `/`, a control character), with a component over 255 bytes, that lies under `/proc`, `/sys` or `/dev`; a mode over `0o7777`, or (in the language) written with octal digits and no `0o` (`0644` and `644` are decimal); an owner or group name that is no user name; a drop-in name without `.conf` or with a `/`. Cannot be allowed: Ignition rejects the config at boot, or the file lands elsewhere",
    }
    HostUnit {
        name: "host_unit",
        applies: "all",
        protects: "host units that do what they say on the OS that runs them",
        rejects: "a host unit or drop-in target whose name systemd rejects; a host unit that declares nothing; `mask` with a body, `enable` or `command`; `enable: true` on a body without an `[Install]` section (systemctl enable would do nothing); `command` on Flatcar (Ignition has none; an enabled unit starts at boot); `enable: false` on a unit without a body on CoreOS (coreos-cloudinit never disables a unit; Ignition writes it as a preset)",
    }
    HostCollision {
        name: "host_collision",
        applies: "all",
        protects: "one writer for every path on a machine",
        rejects: "two declarations of one file, unit or drop-in for one machine (at one scope or two), a host file at a host unit's or drop-in's path, a file inside another file or where a directory must be, and any of them where clusterdef, the engines it configures or the documented install steps put something (the hostname, network files, update.conf, the etcd drop-in and environment files, every unit's file under /etc/systemd/system, coreos-cloudinit's `20-cloudinit.conf` drop-ins, the etcd TLS files, the Kubernetes PKI, bootstrap kubeconfig and the kubelet's TLS bootstrap, the SSH keys file, etcd's data directory, the fleet units and their submit unit, profile scripts) or a fleet unit of the same name; a file in the `.d` directory of a unit clusterdef writes whole. Cannot be allowed: the machine would boot with whichever was applied last, or Ignition refuses the config",
    }
    HostScope {
        name: "host_scope",
        applies: "all",
        protects: "host configuration that reaches the machines it is declared for",
        rejects: "`host_in` naming a failure domain the group is not spread across (or on a group without domains): its files and units would land on no machine. Cannot be allowed: what the declaration says is never written",
    }
    HostMask {
        name: "host_mask",
        applies: "all",
        protects: "the services the declaration needs on each machine",
        rejects: "masking, disabling (`enable: false`) or stopping (`command: stop`) a unit clusterdef needs on that machine: its etcd member, proxy or gateway, fleet, the fleet units' submit unit, locksmithd and update-engine where a reboot strategy needs them, systemd-networkd (it brings up every machine's network), and on a Kubernetes node the kubelet, docker and containerd",
    }
    KubernetesSettings {
        name: "kubernetes_settings",
        applies: "Kubernetes",
        protects: "a control plane that starts with the settings declared",
        rejects: "`kubernetes` on CoreOS (fleet schedules there); a version that is no `v1.MINOR.PATCH` release clusterdef renders (v1.33 to v1.37); `cni: cilium`, whose manifests clusterdef does not render yet; a version not written canonically (`v1.036.03` names no image tag); a service range narrower than /28 (its tenth address is the DNS service's), or with fewer addresses (its first and last aside) than the cluster's Services (`kubernetes`, `kube-dns`, one a workload with ports); service, pod and machine ranges that overlap, or a service or pod range in the loopback, link-local, multicast or reserved blocks; a pod range narrower than the /24 each node is given (`--node-cidr-mask-size`, rendered explicitly) or with fewer /24s than the nodes the cluster can have (autoscaled pools at their maximum); a unit naming an image on a cluster without Kubernetes, which nothing would run. Cannot be allowed: the control plane would not start, or would route to the wrong place",
    }
    NodeLabel {
        name: "node_label",
        applies: "Kubernetes",
        protects: "node labels every kubelet registers and every workload selects on",
        rejects: "a metadata key, metadata value, failure domain, group name or workload requirement that is no Kubernetes label (keys: an optional DNS-subdomain prefix and a name of at most 63 letters, digits, `-`, `_`, `.`; values: at most 63 such characters), a key under `kubernetes.io/` or `k8s.io/` that a kubelet may not set on itself, or a metadata key that clusterdef or the kubelet sets itself (`kubernetes.io/hostname` and the kubelet's other well-known labels, `topology.kubernetes.io/zone`, `node.kubernetes.io/controller`, `node.kubernetes.io/node`), which a declared value would replace. Cannot be allowed: the kubelet refuses to start, or the apiserver rejects the node",
    }
    ImageName {
        name: "image_name",
        applies: "Kubernetes",
        protects: "containers the kubelet can pull and start",
        rejects: "an image that is no reference by the distribution grammar (domain components, a port of 1–65535, lower-case path components joined by one `.`, `_`, `__` or a run of `-`, a tag, a sha256/384/512 digest), a port 0, an environment entry that is not `NAME=value` or sets a name again (Kubernetes keeps the last), an empty first command word (no program to run), a NUL byte in a command word or an environment entry (`$(NAME)` in either is escaped as `$$(NAME)`, so Kubernetes passes it on as written). Cannot be allowed: the pod fails on every node it is placed on",
    }
    WorkloadPlacement {
        name: "workload_placement",
        applies: "Kubernetes",
        protects: "workloads Kubernetes can express and place",
        rejects: "a workload whose name is no object name (or, with ports, no Service name: it starts with a digit, or is `kubernetes`, the apiserver's own Service in `default`), or is another workload unit's too (`w.service` and `w@.service`, `w.service` and `w.socket`), that has a body besides its image, a `machine_id` or `replaces`, a `machine_of` between a workload and a host unit, a follower with `global` or `instances`, `conflicts` matching a host unit, a port declared twice in one pod (its containers share one network, so only one could listen on it), two workloads that avoid each other and may run on the same nodes (which gets a node would depend on the order their pods are created), requirements no node satisfies, or more replicas avoiding each other than nodes that may run them. Cannot be allowed: the manifest would say something else than the declaration, or pods would stay pending",
    }
    WorkloadSurvival {
        name: "workload_survival",
        applies: "Kubernetes",
        protects: "workloads that are placed again when a failure domain is lost",
        rejects: "a workload that, when every machine of one cabinet or zone is lost and etcd keeps quorum, is left without a node for every pod it wants (the guide's database on workers of cabinet one only), or whose loss leaves nodes that hold fewer pods than the cluster places (110 a node; which stay pending would depend on the order they are created)",
    }
    NodeCapacity {
        name: "node_capacity",
        applies: "Kubernetes",
        protects: "a node for every pod the plan places",
        rejects: "DaemonSets that, with a node's own pods (flannel's and kube-proxy's, and the control plane's static pods on members), take a node past the 110 pods a kubelet runs (its `maxPods`, rendered), or more pods to place than all the nodes hold together (autoscaled pools at their minimum): the scheduler leaves the rest pending, and which depends on the order they are created. Cannot be allowed: the plan would place pods that never run",
    }
    ReservedUnitName {
        name: "reserved_unit_name",
        applies: "Flatcar",
        protects: "the etcd units clusterdef writes on Flatcar",
        rejects: "a declared unit named `etcd-member.service` or `etcd-gateway.service`: clusterdef writes those itself (the member's drop-in, the workers' gateway), and two entries under one name are a duplicate Ignition rejects at boot",
    }
    OsSupport {
        name: "os_support",
        applies: "all",
        protects: "settings the cluster's operating system has",
        rejects: "the `lts` channel on CoreOS, which had none, and `etcd: 0.4` on Flatcar, which runs etcd 3.5",
    }
    ValueFormat {
        name: "value_format",
        applies: "all",
        protects: "configs whose structure no value can change",
        rejects: "values that would change the structure of the file they land in: an SSH key spanning lines (a second authorized key), a boot URL that is not `scheme://host[:port][/path]` with a path of letters, digits, `-._~/` and %-escapes (a blank is an extra kernel argument, `,` a dnsmasq field, `${…}` an iPXE expansion, `#`, `;`, quotes and `\\` mean something to one of them), a line break in an interface name (`.network` lines) or a `Conflicts`/`Replaces` glob (unit lines), a `machine_of` that is not a unit name, a malformed machine ID, an inventory or `macs` entry that is not a MAC address (a `dhcp-host=` option, a matchbox selector), an `install_disk` that is not a plain path under `/dev/` (a word of the installer's command line), an empty or control-character cluster name, a unit body holding a value only coreos-cloudinit fills in (`$private_ipv4`, `$public_ipv4`, `$private_ipv6`, `$public_ipv6`: replaced with a member's address in the copies members submit on CoreOS, never replaced on Flatcar)",
    }
}

impl Rule {
    /// Whether `allow(RULE, …)` may silence the rule. The rules that keep values writable (a
    /// name, a metadata entry, an SSH key that would otherwise add lines, keys or arguments to
    /// the files machines read) cannot be allowed: accepting them would not be a risk taken on
    /// purpose but a config that says something else than the declaration. Nor can the rules
    /// whose breach is a machine that cannot boot as declared (etcd missing its TLS files, a
    /// config Ignition rejects), or a count that would be ignored (`instances` where it means
    /// nothing).
    pub const fn allowable(self) -> bool {
        !matches!(
            self,
            Rule::UnitName
                | Rule::MetadataFormat
                | Rule::HostnameValid
                | Rule::PoolName
                | Rule::ValueFormat
                | Rule::ClusterSize
                | Rule::TlsDirectory
                | Rule::TlsPaths
                | Rule::ReservedUnitName
                | Rule::UnitInstances
                | Rule::UnitUnique
                | Rule::MemberAddresses
                | Rule::HostPath
                | Rule::MachineMacs
                | Rule::MatchboxBoot
                | Rule::HostUnit
                | Rule::HostCollision
                | Rule::HostMask
                | Rule::HostScope
                | Rule::KubernetesSettings
                | Rule::NodeLabel
                | Rule::ImageName
                | Rule::WorkloadPlacement
                | Rule::NodeCapacity
        )
    }

    /// The rule with this stable name.
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.name() == name)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Rule, D::Error> {
        let name = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Rule::from_name(&name).ok_or_else(|| {
            let hint = crate::suggest::closest(&name, Rule::ALL.iter().map(|r| r.name()))
                .map_or(String::new(), |s| format!(" (did you mean `{s}`?)"));
            serde::de::Error::custom(format!("unknown rule `{name}`{hint}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_snake_case_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for rule in Rule::ALL {
            assert!(seen.insert(rule.name()), "duplicate name {}", rule.name());
            assert!(rule.name().bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
            assert_eq!(Rule::from_name(rule.name()), Some(*rule));
        }
        assert_eq!(Rule::from_name("check3"), None);
    }
}
