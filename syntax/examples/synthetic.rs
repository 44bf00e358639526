//! Prints a synthetic cluster in the `.cluster` language, for the scripts that time the front
//! ends on large inputs: `cargo run --release -p clusterdef-syntax --example synthetic -- MACHINES UNITS`.

fn main() {
    let mut args = std::env::args().skip(1).map(|a| a.parse::<u32>());
    let (Some(Ok(machines)), Some(Ok(units))) = (args.next(), args.next()) else {
        eprintln!("usage: synthetic MACHINES UNITS");
        std::process::exit(2);
    };
    print!("{}", clusterdef_syntax::synthetic::source(machines, units));
}
