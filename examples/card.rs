//! The design card's example, exactly as written.
use clusterdef::cluster;

fn main() {
    let cluster = cluster! { central: 5 across cabinets [a, b, c], workers: autoscale };
    println!("{cluster:#?}");
}
