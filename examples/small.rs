//! Renders the seed guide's small cluster (see `clusterdef_examples::seed::SMALL`) and prints
//! where the files went and the plan. Pass a directory to render somewhere else.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    clusterdef_examples::run("small", &clusterdef_examples::seed::SMALL)
}
