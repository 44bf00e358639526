fn main() {
    let _cluster = clusterdef::cluster! {
        network: { subnet: "10.0.0.0/33", gateway: "10.0.0.300" },
        central: 3 across cabinets [a, b, c] {
            window: "Thursday 04:00" for "1h",
            hostnames: "central-{num}",
            channel: stabel,
            reboot: best_effort,
        },
    };
}
