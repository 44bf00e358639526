// Large-scale cluster: central services across availability zones, each zone a network of its
// own, and PXE-booted DHCP workers booting from their zone's network.
const LARGE: clusterdef::Cluster = clusterdef::cluster! {
    production: true,
    tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
    network: {
        subnet: "10.10.0.0/16",
        zones: {
            "us-east-1a": { subnet: "10.10.0.0/20", gateway: "10.10.0.1" },
            "us-east-1b": { subnet: "10.10.16.0/20", gateway: "10.10.16.1" },
            "us-east-1c": { subnet: "10.10.32.0/20", gateway: "10.10.32.1" },
        },
    },
    boot_server: "http://10.10.0.5:8080",
    central: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
        addresses: ["10.10.1.11", "10.10.17.11", "10.10.33.11", "10.10.1.12", "10.10.17.12"],
    },
    workers: autoscale 10..500 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] { boot: pxe },
};

fn main() {
    assert_eq!(LARGE.architecture(), clusterdef::Architecture::LargeScale);
    let network = LARGE.network.as_ref().expect("declared");
    assert_eq!(network.domains.len(), 3);
    let zone_b = LARGE.segment(&LARGE.pools[0], Some(1)).expect("a segment");
    assert_eq!(zone_b.subnet.to_string(), "10.10.16.0/20");
}
