// TLS files `clusterdef pki` could not write: the key at the CA's path, a certificate path with
// a `..` in it.
fn main() {
    let _cluster = clusterdef::cluster! {
        tls: { ca: "/etc/ssl/etcd/ca.pem", cert: "/etc/ssl/etcd/../server.pem", key: "/etc/ssl/etcd/ca.pem" },
        central: 3 across cabinets [a, b, c],
    };
}
