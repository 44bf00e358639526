// A workload no node can run (no machine publishes `gpu = yes`), three replicas that avoid
// each other on two workers, two workloads that avoid each other on the same workers, and a
// workload with ports whose Service name would start with a digit (its own ports, or its
// follower's, which share its pods and its Service), and a follower declaring its target's port
// (one pod's containers share one network).
fn main() {
    let _cluster = clusterdef::cluster! {
        os: flatcar,
        kubernetes: { version: "v1.36.3" },
        network: { subnet: "10.0.0.0/24" },
        central: 3 across cabinets [a, b, c] { addresses: "10.0.0.11".."10.0.0.13" },
        workers: 2 { addresses: "10.0.0.21".."10.0.0.22" },
        unit "train.service" { metadata: { gpu = yes }, image: "quay.io/example/train:1" },
        unit "web@.service" {
            metadata: { role = worker },
            conflicts: ["web@*.service"],
            instances: 3,
            image: "quay.io/example/web:1",
        },
        unit "cache.service" { metadata: { role = worker }, conflicts: ["queue.service"], image: "quay.io/example/cache:1" },
        unit "queue.service" { metadata: { role = worker }, image: "quay.io/example/queue:1" },
        unit "9lives.service" { metadata: { role = worker }, image: "quay.io/example/cat:9", ports: [80] },
        unit "7seas.service" { metadata: { role = worker }, image: "quay.io/example/sea:7" },
        unit "sidecar.service" { machine_of: "7seas.service", image: "quay.io/example/side:1", ports: [81] },
        unit "api.service" { metadata: { role = worker }, image: "quay.io/example/api:1", ports: [8080] },
        unit "proxy.service" { machine_of: "api.service", image: "quay.io/example/proxy:1", ports: [9090, 8080] },
    };
}
