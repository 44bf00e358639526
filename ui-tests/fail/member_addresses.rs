// Whatever names the members by address has their addresses: the design card on Flatcar
// (Ignition substitutes nothing), a static bootstrap over members without addresses (each would
// list every peer at its own address), etcd 0.4 workers listing members without addresses.
fn main() {
    let _card = clusterdef::cluster! { os: flatcar, central: 5 across cabinets [a, b, c], workers: autoscale };
    let _vagrant = clusterdef::cluster! { bootstrap: static, machines: 3 };
    let _old = clusterdef::cluster! {
        etcd: 0.4,
        bootstrap: discovery "https://discovery.etcd.io/x",
        central: 3 across cabinets [a, b, c],
        workers: 2,
    };
}
