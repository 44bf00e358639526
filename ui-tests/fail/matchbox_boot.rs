fn main() {
    let _coreos = clusterdef::cluster! {
        network: { subnet: "10.10.0.0/16", gateway: "10.10.0.1" },
        boot_server: matchbox "http://10.10.0.5:8080",
        central: 3 { addresses: "10.10.1.11".."10.10.1.13", macs: ["52:54:00:00:00:01", "52:54:00:00:00:02", "52:54:00:00:00:03"] },
    };
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        network: { subnet: "10.10.0.0/16", gateway: "10.10.0.1" },
        boot_server: matchbox "http://10.10.0.5:8080",
        central: 3 { addresses: "10.10.1.11".."10.10.1.13" },
        pool pxe: 2 { boot: pxe "http://10.10.0.6:8080", install_disk: "/dev/vda" },
    };
}
