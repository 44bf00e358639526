// Host files whose path, mode or owner the OS cannot write as declared, and a drop-in systemd never reads.
fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        host: {
            file "etc/motd" { contents: "hi\n" },
            file "/proc/sys/vm/swappiness" { contents: "10\n" },
            file "/etc/app.conf" { contents: "x\n", mode: 0o17777, owner: "Root User" },
            dropin "docker.service" "limits" { body: "[Service]\nLimitNOFILE=65536\n" },
        },
    };
}
