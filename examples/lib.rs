//! The four architectures of the CoreOS cluster architecture guide, declared with `cluster!`,
//! and what the example programs share. The tests in `tests/` render these clusters and boot
//! their configs against real etcd, systemd and dnsmasq.

use std::path::PathBuf;

use clusterdef::{Cluster, Render, cluster};

pub mod seed {
    //! The seed guide's clusters.
    use super::*;

    /// Small cluster: five machines that all run etcd, bootstrapped by a discovery URL, so one
    /// cloud-config per machine starts them on a cloud provider.
    pub static SMALL: Cluster = cluster! {
        name: "small",
        production: true,
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
        machines: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
            hostnames: "core-{domain}-{n}",
        },
        bootstrap: discovery "https://discovery.etcd.io/0123456789abcdef0123456789abcdef",
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
        unit "hello.service" {
            global,
            body: "[Unit]\nDescription=Say hello\n\n[Service]\nExecStart=/usr/bin/echo hello\n",
        },
    };

    /// Easy development/testing cluster: one etcd node at a static address; workers reach it
    /// through an etcd2 proxy. Not production.
    pub static DEVTEST: Cluster = cluster! {
        name: "dev",
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.1"] },
        etcd_node: "10.0.0.101" { hostnames: [etcdserver] },
        workers: 3 { channel: alpha },
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
        unit "stress.service" {
            metadata: { role = worker },
            body: "[Unit]\nDescription=Take a beating\n\n[Service]\nExecStart=/usr/bin/sha256sum /dev/zero\n",
        },
    };

    /// Production cluster with central services: five central machines spread across three
    /// cabinets with static networking on the stable channel, autoscaled workers placed by fleet
    /// metadata, and the guide's unit table.
    pub static PRODUCTION: Cluster = cluster! {
        name: "prod",
        production: true,
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
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
            host: { unit "var-lib-data.mount" { body: file "units/var-lib-data.mount" } },
        },
        workers: autoscale 3..50 across cabinets [one, two] {
            channel: beta,
            metadata: { disk = spinning },
            host: {
                unit "docker-tcp.socket" { body: "[Unit]\nDescription=Docker API over TCP, for the cluster's scheduler\n\n[Socket]\nListenStream=2375\nBindIPv6Only=both\nService=docker.service\n\n[Install]\nWantedBy=sockets.target\n" },
                dropin "docker.service" "10-limits.conf" { body: "[Service]\nLimitNOFILE=1048576\nLimitNPROC=infinity\n" },
            },
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
            body: "[Unit]\nDescription=Web application instance %i\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nExecStart=/usr/bin/docker run --rm --name webapp-%i -p 80:8080 example/webapp\n",
        },
        unit "dist-db.service" {
            metadata: { role = worker, cabinet = one },
            body: "[Unit]\nDescription=Distributed database\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nExecStart=/usr/bin/docker run --rm --name dist-db example/dist-db\n",
        },
    };

    /// Large-scale cluster: central services in three availability zones, each zone a network
    /// of its own (a cloud subnet lives in one zone), and worker pools booted by PXE over DHCP
    /// from a boot server on each zone's network. The batch machines share their zones'
    /// networks with the workers, so they are listed by MAC.
    pub static LARGE_SCALE: Cluster = cluster! {
        name: "large",
        production: true,
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
        etcd: 2,
        network: {
            subnet: "10.10.0.0/16",
            dns: ["10.10.0.2"],
            zones: {
                "us-east-1a": { subnet: "10.10.0.0/20", gateway: "10.10.0.1" },
                "us-east-1b": { subnet: "10.10.16.0/20", gateway: "10.10.16.1" },
                "us-east-1c": { subnet: "10.10.32.0/20", gateway: "10.10.32.1" },
            },
        },
        boot_server: "http://10.10.0.5:8080",
        central: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
            addresses: ["10.10.1.11", "10.10.17.11", "10.10.33.11", "10.10.1.12", "10.10.17.12"],
            hostnames: "central-{n}",
        },
        workers: autoscale 10..500 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
            boot: pxe,
            channel: stable,
        },
        pool batch: 4 across zones ["us-east-1a", "us-east-1b"] {
            boot: pxe,
            metadata: { gpu = "false" },
            inventory: {
                "52:54:00:0b:a7:01": "us-east-1a",
                "52:54:00:0b:a7:02": "us-east-1b",
                "52:54:00:0b:a7:03": "us-east-1a",
                "52:54:00:0b:a7:04": "us-east-1b",
            },
        },
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
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

    /// The guide's four architectures on Flatcar Container Linux: the same declarations with
    /// `os: flatcar`, and what Flatcar needs: members with static addresses (they bootstrap from a
    /// static initial-cluster), and a fixed worker count wherever a single unit must be placed,
    /// since nothing schedules at run time.
    pub mod flatcar {
        use super::*;

        /// Small cluster: five machines that all run etcd, statically addressed.
        pub static SMALL: Cluster = cluster! {
            name: "small",
            os: flatcar,
            production: true,
            tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
            network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1" },
            machines: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
                hostnames: "core-{domain}-{n}",
                addresses: "10.0.0.11".."10.0.0.15",
            },
            ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
            unit "hello.service" {
                global,
                body: "[Unit]\nDescription=Say hello\n\n[Service]\nExecStart=/usr/bin/echo hello\n",
            },
        };

        /// Easy development/testing cluster: one etcd node; the workers reach it through their
        /// gateway, and the stress unit is placed on one of them.
        pub static DEVTEST: Cluster = cluster! {
            name: "dev",
            os: flatcar,
            network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.1"] },
            etcd_node: "10.0.0.101" { hostnames: [etcdserver] },
            workers: 3 { channel: alpha },
            ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
            unit "stress.service" {
                metadata: { role = worker },
                body: "[Unit]\nDescription=Take a beating\n\n[Service]\nExecStart=/usr/bin/sha256sum /dev/zero\n",
            },
        };

        /// Production cluster with central services, and the guide's unit table placed at
        /// compile time on four workers in two cabinets.
        pub static PRODUCTION: Cluster = cluster! {
            name: "prod",
            os: flatcar,
            production: true,
            tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
            channel: stable,
            ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
            network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.2", "10.0.0.3"] },
            central: 5 across cabinets [one, two, three] {
                addresses: "10.0.0.101".."10.0.0.105",
                hostnames: "central-{n}",
                reboot: etcd_lock,
                window: "Sun 04:00" for "2h",
                host: { unit "var-lib-data.mount" { body: file "units/var-lib-data.mount" } },
            },
            workers: 4 across cabinets [one, two] {
                channel: beta,
                metadata: { disk = spinning },
                host: {
                    unit "docker-tcp.socket" { body: "[Unit]\nDescription=Docker API over TCP, for the cluster's scheduler\n\n[Socket]\nListenStream=2375\nBindIPv6Only=both\nService=docker.service\n\n[Install]\nWantedBy=sockets.target\n" },
                    dropin "docker.service" "10-limits.conf" { body: "[Service]\nLimitNOFILE=1048576\nLimitNPROC=infinity\n" },
                },
            },
            unit "monitoring.service" { global, body: file "units/monitoring.service" },
            unit "kubernetes.service" { global, metadata: { role = central }, body: file "units/kubernetes.service" },
            unit "webapp@.service" {
                metadata: { role = worker },
                conflicts: ["webapp@*.service"],
                instances: 3,
                body: "[Unit]\nDescription=Web application instance %i\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nExecStart=/usr/bin/docker run --rm --name webapp-%i -p 80:8080 example/webapp\n",
            },
            unit "dist-db.service" {
                metadata: { role = worker, cabinet = one },
                body: "[Unit]\nDescription=Distributed database\nAfter=docker.service\nRequires=docker.service\n\n[Service]\nExecStart=/usr/bin/docker run --rm --name dist-db example/dist-db\n",
            },
        };

        /// Large-scale cluster: central services across zones that are networks of their own,
        /// PXE pools booting Flatcar with Ignition, all served by matchbox (the central machines
        /// installed to disk by MAC); the batch runner runs on every batch machine.
        pub static LARGE_SCALE: Cluster = cluster! {
            name: "large",
            os: flatcar,
            production: true,
            tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
            network: {
                subnet: "10.10.0.0/16",
                dns: ["10.10.0.2"],
                zones: {
                    "us-east-1a": { subnet: "10.10.0.0/20", gateway: "10.10.0.1" },
                    "us-east-1b": { subnet: "10.10.16.0/20", gateway: "10.10.16.1" },
                    "us-east-1c": { subnet: "10.10.32.0/20", gateway: "10.10.32.1" },
                },
            },
            boot_server: matchbox "http://10.10.0.5:8080",
            central: 5 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] {
                addresses: ["10.10.1.11", "10.10.17.11", "10.10.33.11", "10.10.1.12", "10.10.17.12"],
                hostnames: "central-{n}",
                macs: ["52:54:00:ce:00:01", "52:54:00:ce:00:02", "52:54:00:ce:00:03", "52:54:00:ce:00:04", "52:54:00:ce:00:05"],
            },
            workers: autoscale 10..500 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] { boot: pxe },
            pool batch: 4 across zones ["us-east-1a", "us-east-1b"] {
                boot: pxe,
                metadata: { gpu = "false" },
                inventory: {
                    "52:54:00:0b:a7:01": "us-east-1a",
                    "52:54:00:0b:a7:02": "us-east-1b",
                    "52:54:00:0b:a7:03": "us-east-1a",
                    "52:54:00:0b:a7:04": "us-east-1b",
                },
            },
            ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
            unit "monitoring.service" {
                global,
                body: "[Unit]\nDescription=Node monitoring\n\n[Service]\nExecStart=/usr/bin/node-exporter\n",
            },
            unit "batch-runner.service" {
                global,
                metadata: { pool = batch },
                body: "[Unit]\nDescription=Batch runner\n\n[Service]\nExecStart=/usr/bin/batch-runner\n",
            },
        };

        /// Every Flatcar seed cluster, by name.
        pub fn all() -> [(&'static str, &'static Cluster); 4] {
            [("small", &SMALL), ("devtest", &DEVTEST), ("production", &PRODUCTION), ("large_scale", &LARGE_SCALE)]
        }
    }

    /// Every seed cluster, by the name its example and golden files use.
    pub fn all() -> [(&'static str, &'static Cluster); 4] {
        [("small", &SMALL), ("devtest", &DEVTEST), ("production", &PRODUCTION), ("large_scale", &LARGE_SCALE)]
    }
}

/// The guide's production cluster as a Kubernetes cluster on Flatcar: the five central
/// services run the control plane beside their etcd members, the workers are nodes, and the
/// guide's units are workloads the scheduler places and places again when a cabinet is lost.
pub mod kubernetes {
    use super::*;

    /// Production: five central machines across three cabinets, six workers across the same
    /// cabinets. The guide's database stays on cabinet one's workers (their disks), so it
    /// cannot survive that cabinet's loss, which the declaration accepts with its reason.
    pub static PRODUCTION: Cluster = cluster! {
        name: "prod",
        os: flatcar,
        production: true,
        kubernetes: { version: "v1.36.3" },
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/ssl/etcd/server-key.pem" },
        ssh_keys: ["ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGV4YW1wbGUta2V5LW9ubHktZm9yLWRvY3M ops@example.com"],
        network: { subnet: "10.0.0.0/24", gateway: "10.0.0.1", dns: ["10.0.0.2", "10.0.0.3"] },
        central: 5 across cabinets [one, two, three] {
            addresses: "10.0.0.101".."10.0.0.105",
            hostnames: "central-{n}",
            reboot: etcd_lock,
            window: "Sun 04:00" for "2h",
        },
        workers: 6 across cabinets [one, two, three] {
            addresses: "10.0.0.111".."10.0.0.116",
            metadata: { disk = spinning },
        },
        unit "monitoring.service" { global, image: "quay.io/prometheus/node-exporter:v1.8.2", ports: [9100] },
        unit "webapp@.service" {
            metadata: { role = worker },
            conflicts: ["webapp@*.service"],
            instances: 3,
            image: "quay.io/example/webapp:1.4",
            ports: [8080],
            env: ["LISTEN=:8080"],
        },
        unit "dist-db.service" {
            metadata: { role = worker, cabinet = one },
            image: "quay.io/example/dist-db:2.0",
            command: ["dist-db", "--data", "/var/lib/dist-db"],
        },
        allow(workload_survival, reason = "the database keeps its data on cabinet one's disks; it waits for the cabinet to return"),
    };
}

/// The production cluster again, read from `cluster/production.cluster` by build.rs through
/// `clusterdef-build`: the cluster and its facts as constants.
pub mod built {
    clusterdef::include_cluster!("production");
}

/// What an example program does: renders `cluster` into the directory given as the first
/// argument (default `target/clusterdef/NAME`), then prints where the files went and the plan.
pub fn run(name: &str, cluster: &Cluster) -> Result<(), Box<dyn std::error::Error>> {
    let dir =
        std::env::args_os().nth(1).map_or_else(|| PathBuf::from("target").join("clusterdef").join(name), PathBuf::from);
    let report = cluster.render()?.write_to(&dir)?;
    let total = report.written.len() + report.unchanged.len();
    println!(
        "rendered {total} files into {} ({} written, {} unchanged, {} removed)",
        dir.display(),
        report.written.len(),
        report.unchanged.len(),
        report.removed.len()
    );
    for path in report.written.iter().chain(&report.unchanged) {
        println!("  {}", dir.join(path).display());
    }
    println!();
    print!("{}", cluster.plan());
    Ok(())
}
