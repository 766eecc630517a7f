//! `checkpoint-fuzz loader|diff SECONDS [SEED]`: mutation fuzzing on the
//! stable toolchain (cargo-fuzz needs nightly). Inputs are the project's own
//! valid files (checkpoints; OpenAPI contracts, with oasdiff's corpus when
//! `../shared` is beside the repo), edited at random — bytes flipped,
//! dropped, YAML/JSON tokens spliced in, lines duplicated or re-indented,
//! two inputs crossed — and fed to the target inside `catch_unwind`. A panic
//! is a finding: the input is written to `target/fuzz-findings/` and the
//! process exits 1. The summary line says how many inputs ran.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use checkpoint_fuzz::{Rng, Scratch, contract, files_under, loader_seeds, mutate};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: checkpoint-fuzz loader|diff SECONDS [SEED]";
    let (Some(target), Some(secs)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok())) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let seed: u64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or_else(|| {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos() as u64) | 1
    });
    let root = checkpoint_fuzz::root();
    let mut rng = Rng(seed);
    let deadline = Instant::now() + Duration::from_secs(secs);
    let findings = root.join("target/fuzz-findings");
    // Panics are findings, reported below; the default hook would print each one.
    std::panic::set_hook(Box::new(|_| {}));
    let mut runs: u64 = 0;
    let mut found = 0;
    let report = |bytes: &[u8], runs: u64| {
        let _ = std::fs::create_dir_all(&findings);
        let f = findings.join(format!("{target}-{seed}-{runs}.bin"));
        let _ = std::fs::write(&f, bytes);
        eprintln!("FINDING: {target} panicked on input {runs} (seed {seed}); saved to {}", f.display());
    };
    match target.as_str() {
        "loader" => {
            let seeds = loader_seeds(&root);
            assert!(!seeds.is_empty(), "no seed checkpoints found under {}", root.display());
            let scratches: Vec<Scratch> = seeds.iter().map(|(p, _)| Scratch::new(p)).collect();
            while Instant::now() < deadline {
                let i = rng.below(seeds.len());
                let other = &seeds[rng.below(seeds.len())].1;
                let input = mutate(&mut rng, &seeds[i].1, other);
                runs += 1;
                if catch_unwind(AssertUnwindSafe(|| drop(scratches[i].load(&input)))).is_err() {
                    found += 1;
                    report(&input, runs);
                }
            }
            println!("fuzz loader: {runs} inputs in {secs}s from {} seeds (seed {seed}): {found} panics", seeds.len());
        }
        "diff" => {
            let mut files = Vec::new();
            files_under(&root.join("fixtures/demo"), &["json", "yaml"], &mut files);
            files_under(&root.join("crates/checkpoint-contract/tests"), &["json", "yaml", "yml"], &mut files);
            files_under(&root.join("../shared/corpora/oasdiff/data"), &["json", "yaml", "yml"], &mut files);
            let seeds: Vec<Vec<u8>> =
                files.iter().filter_map(|f| std::fs::read(f).ok()).filter(|b| contract(b).is_some()).collect();
            assert!(!seeds.is_empty(), "no seed contracts found");
            while Instant::now() < deadline {
                let a = &seeds[rng.below(seeds.len())];
                let b = &seeds[rng.below(seeds.len())];
                let input = mutate(&mut rng, a, b);
                runs += 1;
                let outcome = catch_unwind(AssertUnwindSafe(|| {
                    if let Some(new) = contract(&input) {
                        if let Some(old) = contract(a) {
                            let _ = checkpoint_contract::diff::diff(&old, &new);
                            let _ = checkpoint_contract::diff::diff(&new, &old);
                        }
                        let _ = checkpoint_contract::diff::diff(&new, &new);
                    }
                }));
                if outcome.is_err() {
                    found += 1;
                    report(&input, runs);
                }
            }
            println!(
                "fuzz diff: {runs} inputs in {secs}s from {} seed contracts (seed {seed}): {found} panics",
                seeds.len()
            );
        }
        _ => {
            eprintln!("{usage}");
            std::process::exit(2);
        }
    }
    if found > 0 {
        std::process::exit(1);
    }
}
