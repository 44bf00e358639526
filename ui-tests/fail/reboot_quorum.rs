fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c] { reboot: reboot },
        pool db: 3 { reboot: reboot },
    };
}
