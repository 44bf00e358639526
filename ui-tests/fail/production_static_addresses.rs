// Production central services without static addresses; the help fits the declaration: a
// network to declare where there is none, addresses inside the declared subnet where there is.
fn main() {
    let _cluster = clusterdef::cluster! {
        production: true,
        bootstrap: discovery "https://discovery.etcd.io/abc",
        central: 3 across cabinets [a, b, c],
    };
    let _with_network = clusterdef::cluster! {
        production: true,
        bootstrap: discovery "https://discovery.etcd.io/abc",
        network: { subnet: "192.168.4.0/24" },
        central: 5 across zones ["z-1", "z-2", "z-3"],
    };
}
