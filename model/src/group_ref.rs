//! A reference to one group of a cluster, by position.

/// A group of machines: the etcd members or the worker pool with this index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupRef {
    /// The machines that run etcd members.
    Members,
    /// The worker pool at this index of `Cluster::pools`.
    Pool(usize),
}
