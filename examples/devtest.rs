//! Renders the seed guide's devtest cluster (see `clusterdef_examples::seed::DEVTEST`) and prints
//! where the files went and the plan. Pass a directory to render somewhere else.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    clusterdef_examples::run("devtest", &clusterdef_examples::seed::DEVTEST)
}
