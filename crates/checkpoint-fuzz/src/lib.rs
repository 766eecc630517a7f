//! Inputs for fuzzing the loader and the contract differ: a deterministic
//! generator, mutators for YAML/JSON text, seeds from the project's own valid
//! files, and a scratch project to load checkpoints in. Used by the
//! time-bounded fuzzer (`src/main.rs`, `scripts/fuzz.sh`) and by the
//! fixed-seed no-panic tests (`tests/no_panic.rs`) that run in every suite.

use std::path::{Path, PathBuf};

/// xorshift64*: deterministic per seed, so a finding reproduces.
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next_u64() % (n.max(1) as u64)).unwrap_or(0)
    }
}

/// Bytes that matter to YAML, JSON, interpolation, UTF-8 and OpenAPI.
pub const TOKENS: &[&[u8]] = &[
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

/// `seed` with 1 to 6 random edits; `other` may be spliced in.
pub fn mutate(rng: &mut Rng, seed: &[u8], other: &[u8]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for _ in 0..=rng.below(6) {
        let at = rng.below(bytes.len() + 1);
        match rng.below(8) {
            0 if at < bytes.len() => bytes[at] = (rng.next_u64() & 0xff) as u8,
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

/// Every file under `dir` with one of the extensions.
pub fn files_under(dir: &Path, exts: &[&str], out: &mut Vec<PathBuf>) {
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
pub struct Scratch {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Scratch {
    /// A scratch project with `project`'s compose file and checkpoint 0.
    pub fn new(project: &Path) -> Self {
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

    /// Loads `bytes` as checkpoint 1 and renders its diagnostics (plain),
    /// empty when it loads. Panics if the loader does.
    pub fn load(&self, bytes: &[u8]) -> String {
        // A write that fails (a full disk) would load the previous input again: stop instead.
        std::fs::write(self.dir.join("1.yaml"), bytes).expect("writing the scratch checkpoint");
        let opts = checkpoint_model::load::LoadOptions { dir: self.dir.clone(), ..Default::default() };
        match checkpoint_model::load::load_checkpoints(&opts, &["1".to_string()]) {
            Ok(_) => String::new(),
            Err(d) => {
                assert!(!d.is_empty(), "an error without a diagnostic");
                let _ = d.render(true);
                d.render(false)
            }
        }
    }
}

/// The contract `text` is, if it loads.
pub fn contract(text: &[u8]) -> Option<checkpoint_contract::Contract> {
    let uri = url::Url::parse("file:///fuzz/openapi.yaml").ok()?;
    let b = checkpoint_contract::load::Bundler::new(uri, &String::from_utf8_lossy(text)).ok()?;
    b.finish().ok()
}

/// Seed checkpoints: every valid fixture and the repository's own, each
/// with the project it loads in.
pub fn loader_seeds(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut seeds: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    let valid = root.join("fixtures/checkpoints/valid");
    let mut projects: Vec<PathBuf> =
        std::fs::read_dir(&valid).into_iter().flatten().flatten().map(|e| e.path()).collect();
    projects.sort();
    for project in projects {
        let mut files = Vec::new();
        files_under(&project.join("checkpoints"), &["yaml"], &mut files);
        files.sort();
        seeds.extend(files.into_iter().filter_map(|f| Some((project.clone(), std::fs::read(f).ok()?))));
    }
    for f in ["0", "1", "2", "3", "final"] {
        if let Ok(b) = std::fs::read(root.join(format!("checkpoints/{f}.yaml"))) {
            seeds.push((root.to_path_buf(), b));
        }
    }
    seeds
}

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}
