fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c] { metadata: { role = etcd, "disk type" = ssd, rack = "r1,r2" } },
    };
}
