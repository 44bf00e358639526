//! Renders the seed guide's large-scale cluster (see `clusterdef_examples::seed::LARGE_SCALE`) and prints
//! where the files went and the plan. Pass a directory to render somewhere else.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    clusterdef_examples::run("large_scale", &clusterdef_examples::seed::LARGE_SCALE)
}
