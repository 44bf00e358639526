//! A short fuzz pass: every corpus input, then mutations of them for a bounded time
//! (`CLUSTERDEF_FUZZ_SECS`, default 8; `CLUSTERDEF_FUZZ_SEED` replays a run). Fails on a panic,
//! on a rejection without a positioned error, or on an input that takes too long, and saves the
//! input under `target/fuzz-failures/`.

use std::path::Path;
use std::time::{Duration, Instant};

use clusterdef_fuzz::{Rng, Verdict, dsl, ignition, mutate, mutate_ignition};

/// The most one input may take, far above the worst seen (about 2 ms for the largest corpus
/// input in a debug build): a hang or a blow-up shows as a failure, not a slow test.
const PER_INPUT: Duration = Duration::from_secs(2);

fn run(input: &[u8], label: &str) -> Verdict {
    run_target(dsl, input, label, "cluster")
}

/// `target` on `input` under the time limit; a failure saves the input as `label.extension`.
fn run_target(target: fn(&[u8]) -> Verdict, input: &[u8], label: &str, extension: &str) -> Verdict {
    let start = Instant::now();
    let outcome = std::panic::catch_unwind(|| target(input));
    let took = start.elapsed();
    let failure = match &outcome {
        Err(_) => Some("panicked".to_string()),
        Ok(_) if took > PER_INPUT => Some(format!("took {took:?}")),
        Ok(_) => None,
    };
    if let Some(why) = failure {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-failures");
        let _ = std::fs::create_dir_all(&dir);
        let file = dir.join(format!("{label}.{extension}"));
        let _ = std::fs::write(&file, input);
        panic!("{label} {why}; the input is saved at {}:\n{}", file.display(), String::from_utf8_lossy(input));
    }
    outcome.unwrap_or(Verdict::Rejected)
}

/// How long a mutation pass runs (`CLUSTERDEF_FUZZ_SECS`, 8 s) and its seed
/// (`CLUSTERDEF_FUZZ_SEED` replays one; else the clock's).
fn secs_and_seed() -> (u64, u64) {
    let secs: u64 = std::env::var("CLUSTERDEF_FUZZ_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seed: u64 = std::env::var("CLUSTERDEF_FUZZ_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64)
    });
    (secs, seed)
}

/// Every input of the committed corpus `dir` (under the crate), by file name, in name order.
fn corpus(dir: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    let mut corpus: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the corpus {}: {e}", dir.display()))
        .filter_map(Result::ok)
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("corpus file")))
        .collect();
    corpus.sort();
    corpus
}

#[test]
fn the_front_end_survives_the_corpus_and_its_mutations() {
    let corpus = corpus("corpus");
    assert!(corpus.len() >= 50, "the committed corpus has {} inputs", corpus.len());
    let mut accepted = 0;
    for (name, input) in &corpus {
        if run(input, name) == Verdict::Accepted {
            accepted += 1;
        }
    }
    assert!(accepted >= 8, "the corpus holds valid clusters too ({accepted} accepted)");

    let (secs, seed) = secs_and_seed();
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

/// The Ignition reader on its corpus (`ignition-corpus/`: clusterdef's render, matchbox's
/// re-marshalled form, other tools' encodings and merges, refused specs and nesting), then on
/// mutations of it for a bounded time (`CLUSTERDEF_FUZZ_SECS`, `CLUSTERDEF_FUZZ_SEED`).
#[test]
fn the_ignition_reader_survives_its_corpus_and_its_mutations() {
    let corpus = corpus("ignition-corpus");
    let verdicts: Vec<Verdict> = corpus.iter().map(|(name, input)| run_target(ignition, input, name, "ign")).collect();
    assert!(verdicts.contains(&Verdict::Accepted) && verdicts.contains(&Verdict::Rejected), "{verdicts:?}");
    let (secs, seed) = secs_and_seed();
    let mut rng = Rng::new(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let (mut runs, mut accepted) = (0u64, 0u64);
    while Instant::now() < deadline {
        let (_, base) = &corpus[rng.below(corpus.len())];
        let input = mutate_ignition(base, &mut rng);
        accepted += u64::from(
            run_target(ignition, &input, &format!("ignition-seed-{seed}-run-{runs}"), "ign") == Verdict::Accepted,
        );
        runs += 1;
    }
    println!(
        "fuzz: {runs} mutated Ignition configs in {secs} s (seed {seed}): {accepted} read, the rest refused with a reason"
    );
    assert!(runs > 100, "the pass ran {runs} inputs");
    assert!(accepted > 0, "some mutations stay readable, so the decoders are fuzzed too");
}
