// Masking what the declaration needs: etcd2 on CoreOS, locksmithd where a reboot strategy needs it.
fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        host: { unit "etcd2.service" { mask }, unit "locksmithd.service" { mask } },
    };
}
