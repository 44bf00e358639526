//! The production cluster with central services from the CoreOS architecture guide: five
//! central machines spread across three cabinets with static networking on the stable channel,
//! autoscaled workers placed by fleet metadata, and the guide's unit table.
use clusterdef::{Cluster, cluster};

/// The seed's production cluster.
pub static PRODUCTION: Cluster = cluster! {
    name: "prod",
    production: true,
    etcd: 2,
    channel: stable,
    ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
    network: {
        subnet: "10.0.0.0/24",
        gateway: "10.0.0.1",
        dns: ["10.0.0.2", "10.0.0.3"],
    },
    central: 5 across cabinets [one, two, three] {
        addresses: "10.0.0.101".."10.0.0.105",
        hostnames: "central-{n}",
        reboot: etcd_lock,
        window: "Sun 04:00" for "2h",
    },
    workers: autoscale 3..50 across cabinets [one, two] {
        channel: beta,
        metadata: { disk = spinning },
    },
    unit "monitoring.service" {
        global,
        body: file "units/monitoring.service",
    },
    unit "kubernetes.service" {
        global,
        metadata: { role = central },
        body: file "units/kubernetes.service",
    },
    unit "webapp@.service" {
        metadata: { role = worker },
        conflicts: ["webapp@*.service"],
        body: "[Unit]\nDescription=Web application instance %i\n\n[Service]\nExecStart=/usr/bin/docker run --rm --name webapp-%i -p 80:8080 example/webapp\n",
    },
    unit "dist-db.service" {
        metadata: { role = worker, cabinet = one },
        body: "[Unit]\nDescription=Distributed database\n\n[Service]\nExecStart=/usr/bin/docker run --rm --name dist-db example/dist-db\n",
    },
};

fn main() {
    print!("{}", clusterdef_examples::describe(&PRODUCTION));
    println!("{PRODUCTION:#?}");
}
