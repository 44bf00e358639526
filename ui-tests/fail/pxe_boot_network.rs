fn main() {
    // One subnet for three zones: every zone's boot server answers every PXE machine.
    let _shared = clusterdef::cluster! {
        network: { subnet: "10.10.0.0/16", gateway: "10.10.0.1" },
        boot_server: "http://10.10.0.5:8080",
        central: 3 across zones ["us-east-1a", "us-east-1b", "us-east-1c"] { addresses: "10.10.1.11".."10.10.1.13" },
        workers: autoscale across zones ["us-east-1a", "us-east-1b", "us-east-1c"] { boot: pxe },
        pool batch: autoscale { boot: pxe },
    };
}
