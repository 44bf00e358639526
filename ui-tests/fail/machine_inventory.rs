fn main() {
    let _cluster = clusterdef::cluster! {
        network: { subnet: "10.10.0.0/16", gateway: "10.10.0.1" },
        boot_server: "http://10.10.0.5:8080",
        central: 3 across zones [a, b, c] { addresses: "10.10.1.11".."10.10.1.13" },
        workers: autoscale across zones [a, b] {
            boot: pxe,
            inventory: { "52:54:00:00:00:01": a, "52:54:00:00:00:01": b, "52:54:00:00:00:02": d },
        },
        pool db: 2 { inventory: ["52:54:00:00:00:03"] },
    };
}
