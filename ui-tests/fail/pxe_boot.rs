fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c] { boot: pxe },
        network: { subnet: "10.0.0.0/24" },
        workers: 3 { boot: pxe, addresses: "10.0.0.50".."10.0.0.52" },
        pool gpu: autoscale { boot: pxe "https://boot.example.com" },
    };
}
