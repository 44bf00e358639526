fn main() {
    let _cluster = clusterdef::cluster! {
        production: true,
        network: { subnet: "10.0.0.0/24" },
        etcd_node: "10.0.0.101",
    };
}
