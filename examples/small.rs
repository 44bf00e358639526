//! The small cluster from the CoreOS architecture guide: five machines that all run etcd,
//! bootstrapped by a discovery URL, so one cloud-config starts every machine on a cloud provider.
use clusterdef::cluster;

fn main() {
    let small = cluster! {
        name: "small",
        production: true,
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
    print!("{}", clusterdef_examples::describe(&small));
    println!("{small:#?}");
}
