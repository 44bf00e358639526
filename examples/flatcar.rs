//! The guide's production cluster on Flatcar Container Linux: Ignition configs with the units
//! placed at compile time. `cargo run --example flatcar [DIR]`.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    clusterdef_examples::run("flatcar", &clusterdef_examples::seed::flatcar::PRODUCTION)
}
