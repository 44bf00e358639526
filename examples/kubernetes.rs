//! Renders the guide's production cluster as a Kubernetes cluster on Flatcar (see
//! `clusterdef_examples::kubernetes::PRODUCTION`) and prints where the files went and the plan,
//! with where each workload runs and what each cabinet's loss leaves. Pass a directory to
//! render somewhere else.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    clusterdef_examples::run("kubernetes", &clusterdef_examples::kubernetes::PRODUCTION)
}
