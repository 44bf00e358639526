fn main() {
    let _cluster = clusterdef::cluster! {
        ssh_keys: ["ssh-ed25519 AAAA ops@example.com\nssh-ed25519 BBBB intruder"],
        network: { subnet: "10.0.0.0/24", interface: "eth0\nDNS=6.6.6.6" },
        boot_server: "http://10.0.0.5/x console=ttyS0",
        central: 3 across cabinets [a, b, c],
        workers: autoscale { boot: pxe },
        unit "web.service" { body: "[Service]\nExecStart=/usr/bin/web\n" },
        unit "log.service" {
            conflicts: ["web.service\nExecStartPre=/bin/evil"],
            body: "[Service]\nExecStart=/usr/bin/log\n",
        },
    };
}
