// Large-scale cluster: central services across availability zones, PXE-booted DHCP workers.
const LARGE: clusterdef::Cluster = clusterdef::cluster! {
    production: true,
    tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
    network: { subnet: "10.10.0.0/16", gateway: "10.10.0.1" },
    boot_server: "http://10.10.0.5:8080",
    central: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] { addresses: "10.10.1.11".."10.10.1.15" },
    workers: autoscale 10..500 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] { boot: pxe },
};

fn main() {
    assert_eq!(LARGE.architecture(), clusterdef::Architecture::LargeScale);
}
