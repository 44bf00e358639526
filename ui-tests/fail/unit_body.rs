fn main() {
    let _cluster = clusterdef::cluster! {
        central: 3 across cabinets [a, b, c],
        unit "empty.service" { body: "  \n" },
        unit "placed.service" { body: "[Service]\nExecStart=/usr/bin/x\n\n[X-Fleet]\nGlobal=true\n" },
    };
}
