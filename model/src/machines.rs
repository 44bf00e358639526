//! The concrete machines a cluster's groups expand to: placement in failure domains, hostnames
//! and addresses. Renderers and rules share this expansion so they always agree.

use std::net::Ipv4Addr;

use crate::cluster::Cluster;
use crate::group::{Group, Hostnames, Size};
use crate::group_ref::GroupRef;

/// One machine of a fixed-size group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Machine {
    /// The group the machine belongs to.
    pub group: GroupRef,
    /// The machine's zero-based index in its group.
    pub index: u32,
    /// The machine's hostname.
    pub hostname: String,
    /// The machine's static address, if its group has static addressing and one is left for it.
    pub address: Option<Ipv4Addr>,
    /// The index of the machine's failure domain in its group's spread, if it has one.
    pub domain: Option<usize>,
}

/// A group with its machines placed.
#[derive(Clone, Debug)]
pub struct PlacedGroup<'a> {
    /// Which group.
    pub group_ref: GroupRef,
    /// The group.
    pub group: &'a Group,
    /// Its machines; empty for an autoscaled group.
    pub machines: Vec<Machine>,
}

impl Group {
    /// The failure domain of each of `count` machines, by index into the spread. Explicit domain
    /// counts are honoured; otherwise machines are dealt out round-robin, so 5 machines across
    /// `[a, b, c]` hold 2, 2 and 1. Machines beyond explicit counts that do not add up get `None`.
    pub fn placement(&self, count: u32) -> Vec<Option<usize>> {
        let Some(spread) = &self.spread else {
            return vec![None; count as usize];
        };
        let n = spread.domains.len();
        if n == 0 {
            return vec![None; count as usize];
        }
        let explicit = spread.domains.iter().any(|d| d.count.is_some());
        let mut left: Vec<u32> =
            spread.domains.iter().map(|d| if explicit { d.count.unwrap_or(0) } else { u32::MAX }).collect();
        let mut out = Vec::with_capacity(count as usize);
        let mut next = 0usize;
        for _ in 0..count {
            let slot = (0..n).map(|k| (next + k) % n).find(|&d| left[d] > 0);
            match slot {
                Some(d) => {
                    left[d] -= 1;
                    out.push(Some(d));
                    next = d + 1;
                }
                None => out.push(None),
            }
        }
        out
    }

    /// How many of `count` machines each domain holds, in spread order.
    pub fn domain_counts(&self, count: u32) -> Vec<u32> {
        let domains = self.spread.as_ref().map_or(0, |s| s.domains.len());
        let mut counts = vec![0; domains];
        for d in self.placement(count).into_iter().flatten() {
            counts[d] += 1;
        }
        counts
    }

    /// The hostname of machine `index`, in failure domain `domain`.
    pub fn hostname(&self, index: u32, domain: Option<usize>) -> String {
        let domain_name = domain.and_then(|d| self.spread.as_ref()?.domains.get(d)).map_or("", |d| &d.name);
        match &self.hostnames {
            Hostnames::Default => format!("{}-{}", self.name, index + 1),
            Hostnames::Pattern(pattern) => pattern
                .replace("{n}", &(index + 1).to_string())
                .replace("{group}", &self.name)
                .replace("{role}", &self.role)
                .replace("{domain}", domain_name),
            Hostnames::List(list) => {
                list.get(index as usize).map_or_else(|| format!("{}-{}", self.name, index + 1), |h| h.to_string())
            }
        }
    }
}

impl Cluster {
    /// Every group with its machines placed: the members first, then the pools.
    pub fn placed_groups(&self) -> Vec<PlacedGroup<'_>> {
        self.groups()
            .map(|(group_ref, group)| {
                let count = match group.size {
                    Size::Fixed(n) => n,
                    Size::Autoscale { .. } => 0,
                };
                let machines = group
                    .placement(count)
                    .into_iter()
                    .enumerate()
                    .map(|(i, domain)| {
                        let index = i as u32;
                        Machine {
                            group: group_ref,
                            index,
                            hostname: group.hostname(index, domain),
                            address: group.addressing.address(index),
                            domain,
                        }
                    })
                    .collect();
                PlacedGroup { group_ref, group, machines }
            })
            .collect()
    }

    /// Every machine of every fixed-size group.
    pub fn machines(&self) -> Vec<Machine> {
        self.placed_groups().into_iter().flat_map(|g| g.machines).collect()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::*;
    use crate::group::{Domain, DomainKind, Spread};

    fn spread(domains: &[(&'static str, Option<u32>)]) -> Group {
        let mut group = Group::new("central", "central", Size::Fixed(5));
        group.spread = Some(Spread {
            kind: DomainKind::Cabinet,
            domains: Cow::Owned(domains.iter().map(|(n, c)| Domain { name: Cow::Borrowed(*n), count: *c }).collect()),
        });
        group
    }

    #[test]
    fn round_robin_deals_evenly() {
        let group = spread(&[("a", None), ("b", None), ("c", None)]);
        assert_eq!(group.domain_counts(5), vec![2, 2, 1]);
        assert_eq!(group.placement(4), vec![Some(0), Some(1), Some(2), Some(0)]);
    }

    #[test]
    fn explicit_counts_are_honoured() {
        let group = spread(&[("a", Some(3)), ("b", Some(1)), ("c", Some(1))]);
        assert_eq!(group.domain_counts(5), vec![3, 1, 1]);
        let short = spread(&[("a", Some(1)), ("b", Some(1))]);
        assert_eq!(short.placement(3), vec![Some(0), Some(1), None]);
    }

    #[test]
    fn hostnames_fill_placeholders() {
        let mut group = spread(&[("a", None), ("b", None)]);
        group.hostnames = Hostnames::Pattern(Cow::Borrowed("{role}-{domain}-{n}"));
        assert_eq!(group.hostname(2, Some(0)), "central-a-3");
        group.hostnames = Hostnames::Default;
        assert_eq!(group.hostname(0, None), "central-1");
    }
}
