//! fleet placement: the metadata each machine publishes, and which machines may run a unit.
//! The rules, the plan and the renderers all read it from here.

use crate::cluster::{Cluster, Requirement, Size, Unit};
use crate::subject::GroupRef;

/// The fleet metadata of a machine, in the order it is published: `role`, then `cabinet` or
/// `zone`, then `pool`, then the group's own keys in declaration order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(pub Vec<(String, String)>);

impl Metadata {
    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The keys.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_str())
    }

    /// fleet's `metadata=` form: `role=worker,cabinet=one,disk=ssd`.
    pub fn to_fleet(&self) -> String {
        let pairs: Vec<String> = self.0.iter().map(|(k, v)| format!("{k}={v}")).collect();
        pairs.join(",")
    }

    /// Whether this machine satisfies the requirement (its value is one of the listed values).
    pub fn satisfies(&self, req: &Requirement) -> bool {
        self.get(&req.key).is_some_and(|v| req.values.iter().any(|w| **w == *v))
    }
}

/// One kind of machine: a group, and the failure domain its machines are in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The group.
    pub group: GroupRef,
    /// The index of the domain in the group's spread, if it is spread.
    pub domain: Option<usize>,
    /// What machines of this kind publish.
    pub metadata: Metadata,
}

impl Unit {
    /// Whether a machine publishing `metadata` may run this unit: fleet's `HasMetadata`, every
    /// required key present (AND) with one of its listed values (OR).
    pub fn runs_on(&self, metadata: &Metadata) -> bool {
        self.machine_metadata.iter().all(|req| metadata.satisfies(req))
    }
}

impl Cluster {
    /// The fleet metadata the machines of `group` in `domain` publish. Generated keys come first;
    /// free-form keys cannot repeat them (`metadata_format` rejects that).
    pub fn fleet_metadata(&self, group: GroupRef, domain: Option<usize>) -> Metadata {
        let Some(g) = self.group(group) else {
            return Metadata::default();
        };
        let mut out = vec![("role".to_string(), g.role.to_string())];
        if let (Some(spread), Some(d)) = (&g.spread, domain)
            && let Some(domain) = spread.domains.get(d)
        {
            out.push((spread.kind.key().to_string(), domain.name.to_string()));
        }
        if let GroupRef::Pool(_) = group {
            out.push(("pool".to_string(), g.name.to_string()));
        }
        out.extend(g.metadata.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Metadata(out)
    }

    /// The failure domains a group's machines are in: those holding machines for a fixed group,
    /// all of them for an autoscaled one, `[None]` for a group that is not spread (and none for
    /// a group of zero machines).
    pub fn group_domains(&self, group: GroupRef) -> Vec<Option<usize>> {
        let Some(g) = self.group(group) else {
            return Vec::new();
        };
        match (&g.spread, g.size) {
            (None, Size::Fixed(0)) => vec![],
            (None, _) => vec![None],
            (Some(_), Size::Fixed(n)) => {
                g.domain_counts(n).iter().enumerate().filter(|(_, c)| **c > 0).map(|(d, _)| Some(d)).collect()
            }
            (Some(spread), Size::Autoscale { .. }) => (0..spread.domains.len()).map(Some).collect(),
        }
    }

    /// Every kind of machine the cluster has: one per group and failure domain.
    pub fn metadata_profiles(&self) -> Vec<Profile> {
        self.groups()
            .flat_map(|(group, _)| {
                self.group_domains(group).into_iter().map(move |domain| Profile {
                    group,
                    domain,
                    metadata: self.fleet_metadata(group, domain),
                })
            })
            .collect()
    }
}
