// The design card on Flatcar: members without addresses would bootstrap by discovery.
fn main() {
    let _card = clusterdef::cluster! { os: flatcar, central: 5 across cabinets [a, b, c], workers: autoscale };
}
