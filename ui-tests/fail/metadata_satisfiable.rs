fn main() {
    let _cluster = clusterdef::cluster! {
        central: 5 across cabinets [a, b, c],
        workers: autoscale across cabinets [one, two] { metadata: { disk = spinning } },
        unit "db.service" {
            metadata: { role = worker, cabinet = [one, tow] },
            body: "[Service]\nExecStart=/usr/bin/db\n",
        },
        unit "ssd.service" {
            metadata: { disks = ssd },
            body: "[Service]\nExecStart=/usr/bin/ssd\n",
        },
        unit "kube.service" {
            metadata: { role = central, disk = spinning },
            body: "[Service]\nExecStart=/usr/bin/kube\n",
        },
    };
}
