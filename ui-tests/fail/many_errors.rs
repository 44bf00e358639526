fn main() {
    let _cluster = clusterdef::cluster! {
        production: true,
        channel: beta,
        central: 4 across cabinets [a, b],
        workers: autoscale 9..2,
        unit "web.servce" {
            metadata: { role = wroker },
            body: "[Service]\nExecStart=/usr/bin/web\n",
        },
    };
}
