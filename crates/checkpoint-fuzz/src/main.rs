//! `checkpoint-fuzz loader|diff SECONDS [SEED]`: mutation fuzzing on the
//! stable toolchain (cargo-fuzz needs nightly). Inputs are the project's own
//! valid files (checkpoints; OpenAPI contracts, with oasdiff's corpus when
//! `../shared` is beside the repo), edited at random — bytes flipped,
//! dropped, YAML/JSON tokens spliced in, lines duplicated or re-indented,
//! two inputs crossed — and fed to the target inside `catch_unwind`. A panic
//! is a finding: the input is written to `target/fuzz-findings/` and the
//! process exits 1. The summary line says how many inputs ran.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// xorshift64*: deterministic per seed, so a finding reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b": ",
    b"- ",
    b",",
    b"\t",
    b"\n",
    b"  ",
    b"&a ",
    b"*a",
    b"<<: *a",
    b"!tag ",
    b"$",
    b"${",
    b"${X",
    b"\"",
    b"'",
    b"#",
    b"|",
    b">",
    b"?",
    b"---\n",
    b"\0",
    b"\xff",
    b"\xe2\x82",
    b"~",
    b"null",
    b"-1",
    b"99999999999999999999999",
    b"1e999",
    b".nan",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"$ref",
    b"\"$ref\": \"#/\"",
    b"\"#/components/schemas/x\"",
    b"type",
    b"\"type\": [\"null\"]",
    b"allOf",
    b"oneOf",
    b"anyOf",
    b"not",
    b"required",
    b"properties",
    b"items",
    b"prefixItems",
    b"if",
    b"then",
    b"else",
    b"pattern",
    b"\"(\"",
    b"enum",
    b"discriminator",
    b"nullable",
    b"/{id}",
    b"{id}",
    b"\"in\": \"path\"",
    b"webhooks",
    b"3.0.0",
    b"3.1.0",
];

fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..1 + rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(8) {
            0 if at < bytes.len() => bytes[at] = (rng.next() & 0xff) as u8,
            1 if at < bytes.len() => {
                let end = (at + 1 + rng.below(32)).min(bytes.len());
                bytes.drain(at..end);
            }
            2 | 3 => {
                let t = TOKENS[rng.below(TOKENS.len())];
                bytes.splice(at..at, t.iter().copied());
            }
            4 => {
                // A line duplicated: duplicate keys, broken nesting.
                let lines: Vec<Vec<u8>> = bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let i = rng.below(lines.len());
                bytes =
                    lines.iter().enumerate().flat_map(|(j, l)| if j == i { l.repeat(2) } else { l.clone() }).collect();
            }
            5 => {
                // A line re-indented.
                let lines: Vec<Vec<u8>> = bytes.split_inclusive(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
                let i = rng.below(lines.len());
                let shift = rng.below(9);
                bytes = lines
                    .into_iter()
                    .enumerate()
                    .flat_map(|(j, l)| {
                        if j == i {
                            let body: Vec<u8> = l.iter().copied().skip_while(|b| *b == b' ').collect();
                            std::iter::repeat_n(b' ', shift).chain(body).collect()
                        } else {
                            l
                        }
                    })
                    .collect();
            }
            6 if !other.is_empty() => {
                // Crossed with another input.
                let from = rng.below(other.len());
                let len = rng.below(256).min(other.len() - from);
                bytes.splice(at..at, other[from..from + len].iter().copied());
            }
            _ => bytes.truncate(at.max(1)),
        }
    }
    bytes
}

fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files_under(&p, exts, out);
        } else if p.extension().and_then(|x| x.to_str()).is_some_and(|x| exts.contains(&x)) {
            out.push(p);
        }
    }
}

/// A scratch project whose checkpoint 1 is the input (the loader reads files).
struct Scratch {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Scratch {
    fn new(project: &Path) -> Self {
        let tmp = tempfile::tempdir().expect("a temp dir");
        let dir = tmp.path().join("checkpoints");
        std::fs::create_dir(&dir).expect("scratch dir");
        for f in ["docker-compose.yml", "docker-compose.test.yml"] {
            if let Ok(c) = std::fs::read(project.join(f)) {
                let _ = std::fs::write(tmp.path().join("docker-compose.yml"), &c);
                let _ = std::fs::write(tmp.path().join("docker-compose.test.yml"), &c);
            }
        }
        if let Ok(z) = std::fs::read(project.join("checkpoints/0.yaml")) {
            let _ = std::fs::write(dir.join("0.yaml"), z);
        }
        Self { _tmp: tmp, dir }
    }

    fn load(&self, bytes: &[u8]) {
        let _ = std::fs::write(self.dir.join("1.yaml"), bytes);
        let opts = checkpoint_model::load::LoadOptions { dir: self.dir.clone(), ..Default::default() };
        if let Err(d) = checkpoint_model::load::load_checkpoints(&opts, &["1".to_string()]) {
            let _ = d.render(false);
            let _ = d.render(true);
        }
    }
}

fn contract(text: &[u8]) -> Option<checkpoint_contract::Contract> {
    let uri = url::Url::parse("file:///fuzz/openapi.yaml").ok()?;
    let b = checkpoint_contract::load::Bundler::new(uri, &String::from_utf8_lossy(text)).ok()?;
    b.finish().ok()
}

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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
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
            let mut seeds: Vec<(PathBuf, Vec<u8>)> = Vec::new();
            let valid = root.join("fixtures/checkpoints/valid");
            for e in std::fs::read_dir(&valid).into_iter().flatten().flatten() {
                let mut files = Vec::new();
                files_under(&e.path().join("checkpoints"), &["yaml"], &mut files);
                seeds.extend(files.into_iter().filter_map(|f| Some((e.path(), std::fs::read(f).ok()?))));
            }
            for f in ["0", "1", "2", "3", "final"] {
                if let Ok(b) = std::fs::read(root.join(format!("checkpoints/{f}.yaml"))) {
                    seeds.push((root.clone(), b));
                }
            }
            assert!(!seeds.is_empty(), "no seed checkpoints found under {}", valid.display());
            let scratches: Vec<Scratch> = seeds.iter().map(|(p, _)| Scratch::new(p)).collect();
            while Instant::now() < deadline {
                let i = rng.below(seeds.len());
                let other = &seeds[rng.below(seeds.len())].1;
                let input = mutate(&mut rng, &seeds[i].1, other);
                runs += 1;
                if catch_unwind(AssertUnwindSafe(|| scratches[i].load(&input))).is_err() {
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
