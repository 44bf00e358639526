//! The etcd members of a declaration as a change sees them, and how two declarations' members
//! differ. O(members) with a map by name.

use std::collections::HashMap;

use clusterdef_model::{Cluster, GroupPart, GroupRef, Subject};

use crate::render::cloud_config::{client_url, peer_url};

/// One etcd member: what `etcdctl` and a joining member's `initial-cluster` name it by.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Member {
    /// Its name, the machine's hostname.
    pub name: String,
    /// The URL peers reach it at (`member add --peer-urls`, `initial-cluster`).
    pub peer_url: String,
    /// The URL clients reach it at (`--endpoints`).
    pub client_url: String,
    /// Its failure domain, `cabinet a` or `zone us-east-1a`; `None` outside any.
    pub domain: Option<String>,
    /// Its index in its declaration's member group (for errors on that declaration's tokens).
    #[cfg_attr(feature = "serde", serde(skip))]
    pub index: u32,
}

impl Member {
    /// `name=peer_url`, one entry of `initial-cluster`.
    pub fn initial_entry(&self) -> String {
        format!("{}={}", self.name, self.peer_url)
    }

    /// The declaration's part this member stands for: its hostname.
    pub fn subject(&self) -> Subject {
        Subject::Group(GroupRef::Members, GroupPart::Hostname(self.index as usize))
    }
}

/// The members of `cluster`, in machine order; `None` when one has no static address (a
/// membership change names every peer URL, which DHCP decides at boot). O(members).
pub fn members_of(cluster: &Cluster) -> Option<Vec<Member>> {
    let group = &cluster.members;
    let count = group.fixed_count().unwrap_or(0);
    let placement = group.placement(count);
    let spread = group.spread.as_ref();
    cluster
        .etcd_members()
        .into_iter()
        .zip(placement)
        .enumerate()
        .map(|(i, (m, domain))| {
            m.address?;
            let domain = domain.and_then(|d| {
                spread.and_then(|s| s.domains.get(d).map(|name| format!("{} {}", s.kind.key(), name.name)))
            });
            Some(Member {
                name: m.name.clone(),
                peer_url: peer_url(&m),
                client_url: client_url(&m),
                domain,
                index: i as u32,
            })
        })
        .collect()
}

/// How NEW's members differ from OLD's, member by member (matched by name).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemberDiff {
    /// In both, unchanged.
    pub kept: Vec<Member>,
    /// In both under one name and in one domain, at another address: `member update`.
    pub moved_address: Vec<(Member, Member)>,
    /// Only in NEW, or in NEW in another domain than in OLD (it leaves, then joins anew).
    pub joining: Vec<Member>,
    /// Only in OLD, or moving to another domain.
    pub leaving: Vec<Member>,
}

/// The difference between `old` and `new` members. O(old + new).
pub fn diff(old: &[Member], new: &[Member]) -> MemberDiff {
    let by_name: HashMap<&str, &Member> = new.iter().map(|m| (m.name.as_str(), m)).collect();
    let old_names: HashMap<&str, &Member> = old.iter().map(|m| (m.name.as_str(), m)).collect();
    let mut out = MemberDiff::default();
    for o in old {
        match by_name.get(o.name.as_str()) {
            Some(n) if n.domain == o.domain && n.peer_url == o.peer_url => out.kept.push((*n).clone()),
            Some(n) if n.domain == o.domain => out.moved_address.push((o.clone(), (*n).clone())),
            _ => out.leaving.push(o.clone()),
        }
    }
    for n in new {
        match old_names.get(n.name.as_str()) {
            Some(o) if o.domain == n.domain => {}
            _ => out.joining.push(n.clone()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(name: &str, address: &str, domain: &str) -> Member {
        Member {
            name: name.into(),
            peer_url: format!("http://{address}:2380"),
            client_url: format!("http://{address}:2379"),
            domain: Some(format!("cabinet {domain}")),
            index: 0,
        }
    }

    #[test]
    fn members_are_kept_moved_joined_or_left_by_name() {
        let old = [member("a", "10.0.0.1", "x"), member("b", "10.0.0.2", "x"), member("c", "10.0.0.3", "y")];
        let new = [member("a", "10.0.0.1", "x"), member("b", "10.0.0.9", "x"), member("c", "10.0.0.3", "z")];
        let d = diff(&old, &new);
        assert_eq!(d.kept, [new[0].clone()]);
        assert_eq!(d.moved_address, [(old[1].clone(), new[1].clone())]);
        // c moves to another domain: it leaves and joins anew.
        assert_eq!(d.leaving, [old[2].clone()]);
        assert_eq!(d.joining, [new[2].clone()]);
    }
}
