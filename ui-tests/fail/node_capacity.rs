// More pods than the nodes hold: three members and three workers hold 110 pods each, 660 in
// all, and the cluster's own pods (the addons' on every node, the control plane's static pods,
// CoreDNS) take 24 of them. The scheduler would leave the rest pending, in whatever order.
fn main() {
    let _cluster = clusterdef::cluster! {
        os: flatcar,
        kubernetes: { version: "v1.36.3" },
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 3 { addresses: "10.0.0.21".."10.0.0.23" },
        unit "web@.service" { instances: 700, image: "quay.io/example/web:1" },
    };
}
