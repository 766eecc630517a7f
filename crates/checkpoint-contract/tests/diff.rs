//! The diff corpus: `tests/diff/<case>/` holds `old.(yaml|json)`,
//! `new.(yaml|json)` (and any file their `$ref`s name) and `expected.txt`,
//! the exact list of changes, one per line:
//!
//! ```text
//! BREAKING response-property-removed | GET /items/{id} | response 200 body /created_at | response 200 property `created_at` removed
//! ok       response-property-added | GET /items/{id} | response 200 body /name | response 200 property `name` added
//! ```
//!
//! (`MAYBREAK` marks a change that may break.)
//!
//! An empty `expected.txt` says "no changes". `CHECKPOINT_UPDATE_DIFF=1`
//! rewrites the files from what the differ says; review them before committing.
//!
//! Also: every rule has at least one case, and `docs/contract.md` lists every rule.

use std::path::{Path, PathBuf};

use checkpoint_contract::diff::{self, Change, RULES};

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/diff")
}

fn cases() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(corpus())
        .expect("tests/diff exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn side(dir: &Path, name: &str) -> PathBuf {
    ["yaml", "json", "yml"]
        .iter()
        .map(|ext| dir.join(format!("{name}.{ext}")))
        .find(|p| p.exists())
        .unwrap_or_else(|| panic!("{}: no {name}.yaml or {name}.json", dir.display()))
}

fn record(c: &Change) -> String {
    format!(
        "{:<8} {} | {} | {} | {}",
        match c.level {
            diff::Level::Breaking => "BREAKING",
            diff::Level::MayBreak => "MAYBREAK",
            diff::Level::NonBreaking => "ok",
        },
        c.rule,
        c.operation.as_deref().unwrap_or("-"),
        c.location,
        c.message
    )
}

fn run(dir: &Path) -> Vec<Change> {
    let load = |name: &str| {
        checkpoint_contract::from_file(&side(dir, name)).unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
    };
    diff::diff(&load("old"), &load("new"))
}

#[test]
fn every_case_gives_exactly_its_expected_list() {
    let update = std::env::var_os("CHECKPOINT_UPDATE_DIFF").is_some();
    let mut failures = Vec::new();
    for dir in cases() {
        let got: String = run(&dir).iter().map(|c| record(c) + "\n").collect();
        let path = dir.join("expected.txt");
        if update {
            std::fs::write(&path, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if want != got {
            failures.push(format!(
                "{}:\n--- expected\n{want}--- got\n{got}",
                dir.file_name().unwrap_or_default().to_string_lossy()
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} case(s) differ (CHECKPOINT_UPDATE_DIFF=1 rewrites expected.txt):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn diffs_are_deterministic_and_sorted_by_path_then_method_then_location() {
    for dir in cases() {
        let a = run(&dir);
        assert_eq!(a, run(&dir), "{}", dir.display());
        let methods = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE", "TRACE"];
        let rank = |c: &Change| {
            c.operation
                .as_deref()
                .and_then(|o| o.split(' ').next())
                .map_or(0, |m| methods.iter().position(|x| *x == m).unwrap_or(99) + 1)
        };
        let keys: Vec<(String, usize, String)> =
            a.iter().map(|c| (c.path.clone(), rank(c), c.location.clone())).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{}", dir.display());
    }
}

#[test]
fn every_rule_has_a_case() {
    let all: String =
        cases().iter().map(|d| std::fs::read_to_string(d.join("expected.txt")).unwrap_or_default()).collect();
    // `diff-incomplete` needs a contract too large to commit: a unit test covers it.
    let missing: Vec<&str> = RULES
        .iter()
        .map(|r| r.id)
        .filter(|id| *id != "diff-incomplete" && !all.contains(&format!(" {id} |")))
        .collect();
    assert!(missing.is_empty(), "rules without a case in tests/diff: {missing:?}");
}

#[test]
fn every_line_carries_its_rules_verdict() {
    for dir in cases() {
        for c in run(&dir) {
            let rule = diff::rules::by_id(c.rule).unwrap_or_else(|| panic!("unknown rule {}", c.rule));
            assert_eq!(c.breaking, rule.breaking, "{}", record(&c));
            assert_eq!(c.level, rule.level, "{}", record(&c));
        }
    }
}
#[test]
fn the_documentation_lists_every_rule() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/contract.md"))
        .expect("docs/contract.md");
    let missing: Vec<&str> = RULES.iter().map(|r| r.id).filter(|id| !doc.contains(&format!("`{id}`"))).collect();
    assert!(missing.is_empty(), "docs/contract.md does not list: {missing:?}");
}
