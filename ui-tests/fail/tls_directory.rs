fn main() {
    let _flatcar = clusterdef::cluster! {
        os: flatcar,
        production: true,
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/server.pem", key: "/etc/private/server-key.pem" },
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
    };
}
