// The guide's database on the workers of cabinet one only: when cabinet one is lost, the
// control plane keeps quorum, and the database has nowhere to go.
fn main() {
    let _cluster = clusterdef::cluster! {
        os: flatcar,
        kubernetes: { version: "v1.36.3" },
        network: { subnet: "10.0.0.0/24" },
        central: 5 across cabinets [one, two, three] { addresses: "10.0.0.11".."10.0.0.15" },
        workers: 4 across cabinets [one, two] { addresses: "10.0.0.21".."10.0.0.24" },
        unit "dist-db.service" { metadata: { role = worker, cabinet = one }, image: "quay.io/example/dist-db:2.0" },
    };
}
