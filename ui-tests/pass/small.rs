// Small cluster: 3-9 machines, etcd on every one, bootstrapped by discovery.
fn main() {
    let small = clusterdef::cluster! {
        name: "small",
        production: true,
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
        machines: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"],
        bootstrap: discovery "https://discovery.etcd.io/0123456789abcdef",
    };
    assert_eq!(small.architecture(), clusterdef::Architecture::Small);
    let statics = clusterdef::cluster! {
        network: { subnet: "192.168.1.0/24", gateway: "192.168.1.1" },
        machines: 3 across cabinets [a, b, c] { addresses: ["192.168.1.10", "192.168.1.11", "192.168.1.12"] },
        bootstrap: static,
        etcd: 0.4,
    };
    assert_eq!(statics.etcd_release, clusterdef::EtcdRelease::V0_4);
}
