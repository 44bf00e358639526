// Easy dev/test cluster: one etcd node, workers that read from it.
fn main() {
    let dev = clusterdef::cluster! {
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
        etcd_node: "10.0.0.101" { hostnames: [etcdserver] },
        workers: 8 { channel: alpha },
    };
    assert_eq!(dev.architecture(), clusterdef::Architecture::DevTest);
    assert!(!dev.production);
}
