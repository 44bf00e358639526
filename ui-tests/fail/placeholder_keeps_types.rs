// After an error the macro still produces a `Cluster`, so only the cluster's own error appears:
// the code that uses the value type-checks.
static BAD: clusterdef::Cluster = clusterdef::cluster! { central: 2 across cabinets [a, b] };

fn main() {
    let name: &str = &BAD.name;
    let pools: usize = BAD.pools.len();
    println!("{name} {pools}");
}
