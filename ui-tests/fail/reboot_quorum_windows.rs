fn main() {
    let _cluster = clusterdef::cluster! {
        central: 5 across cabinets [a, b, c] {
            reboot: reboot,
            window: {
                a: "Mon 04:00" for "1h",
                b: "Mon 04:30" for "1h",
                d: "Wed 04:00" for "1h",
            },
        },
    };
}
