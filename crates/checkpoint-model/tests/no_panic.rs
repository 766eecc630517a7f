//! No input may make the loader panic: every prefix of valid checkpoint
//! files (cut by lines and by bytes), and thousands of random byte edits of
//! them with a fixed seed, must load to `Ok` or to diagnostics that render.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use checkpoint_model::load::{LoadOptions, load_checkpoints};

/// xorshift64*: a tiny deterministic generator, so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/checkpoints")
}

/// Seeds: checkpoint files that load, with the project they load in.
fn seeds() -> Vec<(PathBuf, Vec<u8>)> {
    let valid = fixtures().join("valid");
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../checkpoints/1.yaml");
    let mut out = vec![
        (valid.join("every-kind"), std::fs::read(valid.join("every-kind/checkpoints/1.yaml")).unwrap()),
        (valid.join("includes-and-vars"), std::fs::read(valid.join("includes-and-vars/checkpoints/1.yaml")).unwrap()),
    ];
    if let Ok(b) = std::fs::read(shipped) {
        out.push((valid.join("every-kind"), b));
    }
    out
}

/// A scratch project: the seed's compose file and checkpoint 0, and the input as checkpoint 1.
struct Scratch {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Scratch {
    fn new(project: &Path) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("checkpoints");
        std::fs::create_dir(&dir).unwrap();
        if let Ok(c) = std::fs::read(project.join("docker-compose.yml")) {
            std::fs::write(tmp.path().join("docker-compose.yml"), &c).unwrap();
            std::fs::write(tmp.path().join("docker-compose.test.yml"), &c).unwrap();
        }
        if let Ok(z) = std::fs::read(project.join("checkpoints/0.yaml")) {
            std::fs::write(dir.join("0.yaml"), z).unwrap();
        }
        Self { _tmp: tmp, dir }
    }

    /// Loads `bytes` as checkpoint 1; panics (with the input) if the loader does.
    fn load(&self, bytes: &[u8], what: &str) {
        std::fs::write(self.dir.join("1.yaml"), bytes).unwrap();
        let opts = LoadOptions { dir: self.dir.clone(), use_env: false, ..LoadOptions::default() };
        let outcome = catch_unwind(AssertUnwindSafe(|| match load_checkpoints(&opts, &["1".to_string()]) {
            Ok(_) => String::new(),
            Err(d) => {
                assert!(!d.is_empty());
                let plain = d.render(false);
                let _ = d.render(true);
                plain
            }
        }));
        match outcome {
            Ok(rendered) => {
                assert!(!rendered.contains("\u{0}"), "{what}: a NUL byte in the rendering");
            }
            Err(_) => panic!("the loader panicked on {what}:\n{}", String::from_utf8_lossy(bytes)),
        }
    }
}

#[test]
fn every_prefix_by_lines() {
    for (project, seed) in seeds() {
        let scratch = Scratch::new(&project);
        let ends: Vec<usize> = seed.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).collect();
        for end in ends {
            scratch.load(&seed[..end], &format!("the first {end} bytes"));
        }
    }
}

#[test]
fn every_prefix_by_bytes_of_the_first_part() {
    let (project, seed) = seeds().remove(0);
    let scratch = Scratch::new(&project);
    for end in 0..seed.len().min(600) {
        scratch.load(&seed[..end], &format!("the first {end} bytes"));
    }
}

/// Bytes that matter to YAML, to interpolation, and to UTF-8 decoding.
const SPICE: &[&[u8]] = &[
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
    b"}",
    b"\"",
    b"'",
    b"#",
    b"%",
    b"|",
    b">",
    b"?",
    b"---\n",
    b"...\n",
    b"\0",
    b"\xff",
    b"\xe2\x82",
    b"\xc3\x28",
    b"~",
    b"null",
    b"-1",
    b"99999999999999999999999",
    b"1e999",
    b".nan",
    b"\r\n",
    b"\xef\xbb\xbf",
];

#[test]
fn random_edits_with_a_fixed_seed() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for (project, seed) in seeds() {
        let scratch = Scratch::new(&project);
        for round in 0..250 {
            let mut bytes = seed.clone();
            let edits = 1 + rng.below(4);
            for _ in 0..edits {
                let at = rng.below(bytes.len() + 1);
                match rng.below(6) {
                    0 if at < bytes.len() => bytes[at] = (rng.next() & 0xff) as u8,
                    1 if at < bytes.len() => {
                        bytes.remove(at);
                    }
                    2 => {
                        let s = SPICE[rng.below(SPICE.len())];
                        bytes.splice(at..at, s.iter().copied());
                    }
                    3 => {
                        // Duplicate or drop a whole line: duplicate keys, broken nesting.
                        let lines: Vec<&[u8]> = bytes.split_inclusive(|b| *b == b'\n').collect();
                        let i = rng.below(lines.len());
                        let mut v: Vec<u8> = Vec::new();
                        for (j, l) in lines.iter().enumerate() {
                            if j != i || rng.below(2) == 0 {
                                v.extend_from_slice(l);
                            }
                            if j == i {
                                v.extend_from_slice(l);
                            }
                        }
                        bytes = v;
                    }
                    4 => {
                        // Re-indent a line by a random amount.
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
                    _ => bytes.truncate(at),
                }
            }
            scratch.load(&bytes, &format!("round {round} of the edits"));
        }
    }
}

#[test]
fn deep_nesting_and_long_lines() {
    let scratch = Scratch::new(&fixtures().join("valid/every-kind"));
    let deep = format!("checkpoint: 1\ntitle: t\ngates: {}{}\n", "[".repeat(5000), "]".repeat(5000));
    scratch.load(deep.as_bytes(), "5000 nested lists");
    let deep_block: String = (0..300).map(|i| format!("{}- \n", " ".repeat(i * 2))).collect();
    scratch.load(format!("checkpoint: 1\ntitle: t\ngates:\n{deep_block}").as_bytes(), "300 nested block lists");
    let long = format!("checkpoint: 1\ntitle: \"{}\"\ngates: []\n", "é".repeat(200_000));
    scratch.load(long.as_bytes(), "a 400 kB title");
    let many =
        format!("checkpoint: 1\ntitle: t\nvars:\n{}", (0..5_000).map(|i| format!("  V{i}: x\n")).collect::<String>());
    scratch.load(many.as_bytes(), "5000 variables");
}
