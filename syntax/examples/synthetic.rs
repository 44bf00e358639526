//! Prints a synthetic cluster in the `.cluster` language, for the scripts that time the front
//! ends on large inputs:
//! `cargo run --release -p clusterdef-syntax --example synthetic -- MACHINES UNITS`, or
//! `… -- kubernetes MACHINES DOMAINS WORKLOADS` for the Kubernetes scale cluster
//! (`clusterdef_model::synthetic::kubernetes_at_scale`).

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let numbers: Vec<u32> = args.iter().filter_map(|a| a.parse().ok()).collect();
    match (args.first().map(String::as_str), &numbers[..]) {
        (Some("kubernetes"), [machines, domains, workloads]) => print!(
            "{}",
            clusterdef_syntax::print::print(&clusterdef_model::synthetic::kubernetes_at_scale(
                *machines, *domains, *workloads
            ))
        ),
        (_, [machines, units]) => print!("{}", clusterdef_syntax::synthetic::source(*machines, *units)),
        _ => {
            eprintln!("usage: synthetic MACHINES UNITS | synthetic kubernetes MACHINES DOMAINS WORKLOADS");
            std::process::exit(2);
        }
    }
}
