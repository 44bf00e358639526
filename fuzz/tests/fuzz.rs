//! A short fuzz pass: every corpus input, then mutations of them for a bounded time
//! (`CLUSTERDEF_FUZZ_SECS`, default 8; `CLUSTERDEF_FUZZ_SEED` replays a run). Fails on a panic,
//! on a rejection without a positioned error, or on an input that takes too long, and saves the
//! input under `target/fuzz-failures/`.

use std::path::Path;
use std::time::{Duration, Instant};

use clusterdef_fuzz::{Rng, Verdict, dsl, mutate};

/// The most one input may take, far above the worst seen (about 2 ms for the largest corpus
/// input in a debug build): a hang or a blow-up shows as a failure, not a slow test.
const PER_INPUT: Duration = Duration::from_secs(2);

fn run(input: &[u8], label: &str) -> Verdict {
    let start = Instant::now();
    let outcome = std::panic::catch_unwind(|| dsl(input));
    let took = start.elapsed();
    let failure = match &outcome {
        Err(_) => Some("panicked".to_string()),
        Ok(_) if took > PER_INPUT => Some(format!("took {took:?}")),
        Ok(_) => None,
    };
    if let Some(why) = failure {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{label}.cluster"));
        let _ = std::fs::write(&file, input);
        panic!("{label} {why}; the input is saved at {}:\n{}", file.display(), String::from_utf8_lossy(input));
    }
    outcome.unwrap_or(Verdict::Rejected)
}

#[test]
fn the_front_end_survives_the_corpus_and_its_mutations() {
    let corpus_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut corpus: Vec<(String, Vec<u8>)> = std::fs::read_dir(&corpus_dir)
        .expect("the corpus")
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("corpus file")))
        .collect();
    corpus.sort();
    assert!(corpus.len() >= 50, "the committed corpus has {} inputs", corpus.len());
    let mut accepted = 0;
    for (name, input) in &corpus {
        if run(input, name) == Verdict::Accepted {
            accepted += 1;
        }
    }
    assert!(accepted >= 8, "the corpus holds valid clusters too ({accepted} accepted)");

    let secs: u64 = std::env::var("CLUSTERDEF_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seed: u64 = std::env::var("CLUSTERDEF_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut runs, mut kept) = (0u64, 0u64);
    let mut verdicts = [0u64; 2];
    while Instant::now() < deadline {
        let (_, base) = &corpus[rng.below(corpus.len())];
        let input = mutate(base, &mut rng);
        let verdict = run(&input, &format!("seed-{seed}-run-{runs}"));
        verdicts[usize::from(verdict == Verdict::Rejected)] += 1;
        runs += 1;
        kept += u64::from(verdict == Verdict::Accepted);
    }
    println!(
        "fuzz: {runs} mutated inputs in {secs} s (seed {seed}): {} accepted (printed, re-checked, rendered, planned), {} rejected (each error rendered by the diagnostics renderer)",
        verdicts[0], verdicts[1]
    );
    assert!(runs > 100, "the pass ran {runs} inputs");
    assert!(kept > 0 || runs < 1000, "some mutations stay valid, so the renderers are fuzzed too");
}
