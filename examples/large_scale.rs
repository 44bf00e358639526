//! The large-scale cluster from the CoreOS architecture guide: central services in three
//! availability zones, and worker pools that boot by PXE over DHCP from a boot server.
use clusterdef::cluster;

fn main() {
    let large = cluster! {
        name: "large",
        production: true,
        etcd: 2,
        network: { subnet: "10.10.0.0/16", gateway: "10.10.0.1", dns: ["10.10.0.2"] },
        boot_server: "http://10.10.0.5:8080",
        central: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
            addresses: "10.10.1.11".."10.10.1.15",
            hostnames: "central-{n}",
        },
        workers: autoscale 10..500 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
            boot: pxe,
            channel: stable,
        },
        pool batch: autoscale 0..200 across zones ["us-east-1a", "us-east-1b"] {
            boot: pxe,
            metadata: { gpu = "false" },
        },
        unit "monitoring.service" {
            global,
            body: "[Unit]\nDescription=Node monitoring\n\n[Service]\nExecStart=/usr/bin/node-exporter\n",
        },
        unit "batch-runner@.service" {
            metadata: { pool = batch, zone = ["us-east-1a", "us-east-1b"] },
            conflicts: ["batch-runner@*.service"],
            body: "[Unit]\nDescription=Batch runner %i\n\n[Service]\nExecStart=/usr/bin/batch-runner --slot %i\n",
        },
    };
    print!("{}", clusterdef_examples::describe(&large));
    println!("{large:#?}");
}
