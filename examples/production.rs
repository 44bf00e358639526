//! Renders the seed guide's production cluster (see `clusterdef_examples::seed::PRODUCTION`) and prints
//! where the files went and the plan. Pass a directory to render somewhere else.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    clusterdef_examples::run("production", &clusterdef_examples::seed::PRODUCTION)
}
