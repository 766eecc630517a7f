//! No input may make the loader or the contract differ panic: every prefix of
//! valid checkpoint files (cut by lines and by bytes), thousands of random
//! edits of them and of the project's contracts with fixed seeds, and
//! pathological shapes. The same mutators drive `scripts/fuzz.sh`, which runs
//! for minutes with fresh seeds; these run in every suite and reproduce.

use std::panic::{AssertUnwindSafe, catch_unwind};

use checkpoint_fuzz::{Rng, Scratch, contract, files_under, loader_seeds, mutate, root};

fn load_or_panic(scratch: &Scratch, bytes: &[u8], what: &str) {
    let Ok(rendered) = catch_unwind(AssertUnwindSafe(|| scratch.load(bytes))) else {
        panic!("the loader panicked on {what}:\n{}", String::from_utf8_lossy(bytes))
    };
    assert!(!rendered.contains('\u{0}'), "{what}: a NUL byte in the rendering");
}

#[test]
fn every_prefix_by_lines() {
    // Three seeds of different shapes keep this under a few seconds; the fuzzer covers the rest.
    for (project, seed) in loader_seeds(&root()).into_iter().take(3) {
        let scratch = Scratch::new(&project);
        let ends: Vec<usize> = seed.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).collect();
        for end in ends {
            load_or_panic(&scratch, &seed[..end], &format!("the first {end} bytes"));
        }
    }
}

#[test]
fn every_prefix_by_bytes_of_the_first_part() {
    let (project, seed) = loader_seeds(&root()).remove(0);
    let scratch = Scratch::new(&project);
    for end in 0..seed.len().min(600) {
        load_or_panic(&scratch, &seed[..end], &format!("the first {end} bytes"));
    }
}

#[test]
fn random_checkpoint_edits_with_a_fixed_seed() {
    let seeds = loader_seeds(&root());
    assert!(seeds.len() >= 3, "seeds: {}", seeds.len());
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (project, seed) in &seeds {
        let scratch = Scratch::new(project);
        for round in 0..80 {
            let other = &seeds[rng.below(seeds.len())].1;
            let input = mutate(&mut rng, seed, other);
            load_or_panic(&scratch, &input, &format!("round {round} of the edits of {}", project.display()));
        }
    }
}

#[test]
fn random_contract_edits_with_a_fixed_seed() {
    let mut files = Vec::new();
    files_under(&root().join("fixtures/demo"), &["json"], &mut files);
    files_under(&root().join("crates/checkpoint-contract/tests"), &["json", "yaml", "yml"], &mut files);
    files.sort();
    let seeds: Vec<Vec<u8>> =
        files.iter().filter_map(|f| std::fs::read(f).ok()).filter(|b| contract(b).is_some()).collect();
    assert!(seeds.len() >= 5, "seed contracts: {}", seeds.len());
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    for round in 0..1500 {
        let a = &seeds[rng.below(seeds.len())];
        let b = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, a, b);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            if let (Some(old), Some(new)) = (contract(a), contract(&input)) {
                let _ = checkpoint_contract::diff::diff(&old, &new);
                let _ = checkpoint_contract::diff::diff(&new, &old);
            }
        }));
        assert!(outcome.is_ok(), "the differ panicked on round {round}:\n{}", String::from_utf8_lossy(&input));
    }
}

#[test]
fn deep_nesting_and_long_lines() {
    let scratch = Scratch::new(&root().join("fixtures/checkpoints/valid/every-kind"));
    let deep = format!("checkpoint: 1\ntitle: t\ngates: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    load_or_panic(&scratch, deep.as_bytes(), "5000 nested lists");
    let deep_block = (0..300).map(|i| format!("{}- \n", " ".repeat(i * 2))).collect::<Vec<_>>().concat();
    let nested = format!("checkpoint: 1\ntitle: t\ngates:\n{deep_block}");
    load_or_panic(&scratch, nested.as_bytes(), "300 nested block lists");
    let long = format!("checkpoint: 1\ntitle: \"{}\"\ngates: []\n", "é".repeat(200_000));
    load_or_panic(&scratch, long.as_bytes(), "a 400 kB title");
    let many = format!(
        "checkpoint: 1\ntitle: t\nvars:\n{}",
        (0..5_000).map(|i| format!("  V{i}: x\n")).collect::<Vec<_>>().concat()
    );
    load_or_panic(&scratch, many.as_bytes(), "5000 variables");
}
