//! etcd quorum arithmetic (Raft majority).

/// The number of members a write needs: ⌊n/2⌋ + 1.
pub const fn majority(members: u32) -> u32 {
    members / 2 + 1
}

/// How many members can fail while the rest keep a quorum: n − majority.
pub const fn tolerance(members: u32) -> u32 {
    if members == 0 { 0 } else { members - majority(members) }
}

/// Whether a cluster of `members` keeps quorum after losing `lost` of them.
pub const fn survives(members: u32, lost: u32) -> bool {
    lost <= members && members - lost >= majority(members)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_etcd_table() {
        let table = [(1, 1, 0), (2, 2, 0), (3, 2, 1), (4, 3, 1), (5, 3, 2), (6, 4, 2), (7, 4, 3), (8, 5, 3), (9, 5, 4)];
        for (n, maj, tol) in table {
            assert_eq!((majority(n), tolerance(n)), (maj, tol), "{n} members");
            assert!(survives(n, tol));
            assert!(!survives(n, tol + 1));
        }
    }
}
