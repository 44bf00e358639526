//! The easy development/testing cluster from the CoreOS architecture guide: one etcd node at a
//! static address, and workers that reach it through an etcd2 proxy. Never production.
use clusterdef::cluster;

fn main() {
    let dev = cluster! {
        name: "dev",
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.1"] },
        etcd_node: "10.0.0.101" { hostnames: [etcdserver] },
        workers: 8 { channel: alpha },
        unit "stress.service" {
            metadata: { role = worker },
            body: "[Unit]\nDescription=Take a beating\n\n[Service]\nExecStart=/usr/bin/sha256sum /dev/zero\n",
        },
    };
    print!("{}", clusterdef_examples::describe(&dev));
    println!("{dev:#?}");
}
