// Production cluster with central services and the seed's unit table.
static PRODUCTION: clusterdef::Cluster = clusterdef::cluster! {
    name: "prod",
    production: true,
    tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
    channel: stable,
    network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.2"] },
    central: 5 across cabinets [one, two, three] {
        addresses: "10.0.0.101".."10.0.0.105",
        hostnames: "central-{n}",
    },
    workers: autoscale 3..50 across cabinets [one, two] { channel: beta, metadata: { disk = spinning } },
    unit "monitoring.service" { global, body: "[Service]\nExecStart=/usr/bin/monitor\n" },
    unit "kubernetes.service" { global, metadata: { role = central }, body: "[Service]\nExecStart=/usr/bin/kube\n" },
    unit "webapp.service" { metadata: { role = worker }, body: "[Service]\nExecStart=/usr/bin/webapp\n" },
    unit "dist-db.service" { metadata: { role = worker, cabinet = one }, body: "[Service]\nExecStart=/usr/bin/db\n" },
};

fn main() {
    assert_eq!(PRODUCTION.architecture(), clusterdef::Architecture::CentralServices);
    assert_eq!(PRODUCTION.units.len(), 4);
}
