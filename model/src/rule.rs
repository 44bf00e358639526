//! The names of the architecture rules.

use std::fmt;

macro_rules! rules {
    ($($(#[doc = $doc:literal])* $variant:ident = $name:literal: $protects:literal,)*) => {
        /// An architecture rule. Each has a stable name, used in `allow(NAME, reason = "…")`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($(#[doc = $doc])* $variant,)*
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
        }
    };
}

rules! {
    /// The cluster declares at most [`MAX_FIXED_MACHINES`](crate::MAX_FIXED_MACHINES) machines
    /// of fixed groups, so checking and rendering it is bounded work.
    ClusterSize = "cluster_size": "declarations that can be checked and rendered in bounded time and memory",
    /// The number of etcd members suits the layout: 1 for dev/test, 3–9 for a small cluster,
    /// 3–5 central-services machines.
    MemberCount = "member_count": "an etcd member count that suits the architecture",
    /// The number of etcd members is odd.
    EvenMembers = "even_members": "an odd etcd member count, since an even one adds no fault tolerance",
    /// Losing any one cabinet or zone leaves a quorum.
    FailureDomainQuorum = "failure_domain_quorum": "quorum after the loss of any one cabinet or zone",
    /// Production etcd members are spread across failure domains.
    SingleDomain = "single_domain": "production etcd members spread across cabinets or zones",
    /// Failure domains are unique, hold machines, and explicit counts add up.
    DomainSpread = "domain_spread": "a spread whose domains are distinct, used, and add up",
    /// A small cluster has at most 9 machines and no worker pools.
    SmallClusterSize = "small_cluster_size": "small clusters of 3-9 machines that all run etcd",
    /// A dev/test cluster is never production.
    DevNotProduction = "dev_not_production": "production clusters that survive the loss of their etcd node",
    /// Production etcd members follow the stable channel.
    ProductionChannel = "production_channel": "production etcd members on the stable channel",
    /// Production central-services machines have static addresses.
    ProductionStaticAddresses = "production_static_addresses": "static addresses for production central services",
    /// The bootstrap method has what it needs: addresses for a static list, a URL for discovery.
    Bootstrap = "bootstrap": "an etcd bootstrap that can complete",
    /// No two machines share an address, and none takes the gateway's.
    AddressUnique = "address_unique": "one address per machine",
    /// Static addresses are host addresses of the declared subnet.
    AddressInSubnet = "address_in_subnet": "static addresses inside the declared subnet",
    /// Static addressing provides an address for every machine.
    AddressCount = "address_count": "an address for every statically addressed machine",
    /// The gateway lies inside the subnet.
    GatewayInSubnet = "gateway_in_subnet": "a reachable gateway",
    /// Hostnames are valid DNS labels.
    HostnameValid = "hostname_valid": "hostnames that are valid DNS labels",
    /// No two machines share a hostname.
    HostnameUnique = "hostname_unique": "one hostname per machine",
    /// Pool names are unique labels.
    PoolName = "pool_name": "distinct pool names usable in hostnames and file names",
    /// fleet metadata keys and values survive fleet's `k=v,k=v` format.
    MetadataFormat = "metadata_format": "fleet metadata that fleet reads back as written",
    /// Some machine satisfies every unit's `MachineMetadata`.
    MetadataSatisfiable = "metadata_satisfiable": "units that have a machine to run on",
    /// No unit combines `[X-Fleet]` options that fleet rejects together.
    FleetExclusiveOptions = "fleet_exclusive_options": "units fleet accepts",
    /// A unit's `MachineOf` target is not matched by its own `Conflicts`.
    MachineOfConflicts = "machine_of_conflicts": "units whose placement requirements can be met together",
    /// A unit's `MachineOf` target is another unit of the cluster, without cycles.
    MachineOfTarget = "machine_of_target": "units that follow a unit that exists",
    /// Unit names follow systemd's naming rules.
    UnitName = "unit_name": "unit names systemd and fleet accept",
    /// Unit bodies hold a unit, and leave `[X-Fleet]` to the declaration.
    UnitBody = "unit_body": "unit files whose placement is the declared one",
    /// Unit names are unique.
    UnitUnique = "unit_unique": "one unit per name",
    /// Autoscale bounds are ordered.
    AutoscaleBounds = "autoscale_bounds": "autoscale bounds with min at most max",
    /// etcd members are a fixed set of machines.
    MembersFixed = "members_fixed": "an etcd membership that does not scale away",
    /// PXE pools boot by DHCP from a boot server, and etcd members never PXE-boot.
    PxeBoot = "pxe_boot": "PXE-booted machines that can find their config",
    /// No two PXE pools or failure domains boot from one network, where every boot server
    /// answers every machine, unless an inventory tells their machines apart.
    PxeBootNetwork = "pxe_boot_network": "PXE machines whose domain and pool do not depend on which boot server answers first",
    /// An inventory names each MAC address once, in a domain of its pool.
    MachineInventory = "machine_inventory": "an inventory that places each machine once, in a domain of its pool",
    /// Failure domain networks name a domain, lie in the cluster's subnet and do not overlap.
    DomainNetwork = "domain_network": "failure-domain networks that exist and are networks of their own",
    /// Updates never reboot enough etcd members at once to lose quorum.
    RebootQuorum = "reboot_quorum": "quorum while updates reboot etcd members",
    /// Production etcd traffic uses TLS with client certificates.
    EtcdTls = "etcd_tls": "encrypted, authenticated etcd traffic in production",
    /// Every value can be written into its file without changing the file's structure: no
    /// newline in an SSH key, no space in a kernel argument, no line break in a unit option.
    ValueFormat = "value_format": "configs whose structure no value can change",
}

impl Rule {
    /// Whether `allow(RULE, …)` may silence the rule. The rules that keep values writable (a
    /// name, a metadata entry, an SSH key that would otherwise add lines, keys or arguments to
    /// the files machines read) cannot be allowed: accepting them would not be a risk taken on
    /// purpose but a config that says something else than the declaration.
    pub const fn allowable(self) -> bool {
        !matches!(
            self,
            Rule::UnitName
                | Rule::MetadataFormat
                | Rule::HostnameValid
                | Rule::PoolName
                | Rule::ValueFormat
                | Rule::ClusterSize
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
