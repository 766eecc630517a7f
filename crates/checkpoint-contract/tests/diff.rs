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

/// Disagreements with oasdiff's verdicts that are deliberate (each has its
/// reason in `docs/contract.md`, "Against oasdiff"): old, new, checkpoint's verdict.
const DELIBERATE: &[(&str, &str, bool)] = &[
    ("data/checker/api_security_global_added_base.yaml", "data/checker/api_security_global_added_revision.yaml", true),
    ("data/checker/api_security_added_base.yaml", "data/checker/api_security_added_revision.yaml", true),
    ("data/checker/api_security_updated_revision.yaml", "data/checker/api_security_updated_base.yaml", true),
    (
        "data/required-properties/write-only-changed-base.yaml",
        "data/required-properties/write-only-changed-revision.yaml",
        true,
    ),
    ("data/request_params/base.yaml", "data/request_params/optional-request-params.yaml", true),
    (
        "data/checker/request_body_default_value_changed_base.yaml",
        "data/checker/request_body_default_value_changed_revision.yaml",
        true,
    ),
    ("data/checker/transition_claims_enum_base.yaml", "data/checker/transition_claims_enum_revision.yaml", false),
];

/// The oasdiff corpus (`<workspace>/../shared/corpora/oasdiff`, see its
/// README): every pair's verdict (a breaking change or not) must be oasdiff's,
/// or one of [`DELIBERATE`] — and those must still disagree, so the list and
/// the docs stay true. Skipped, saying so, when the folder is absent.
#[test]
fn oasdiff_corpus() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora/oasdiff");
    let Ok(expect) = std::fs::read_to_string(root.join("expect.tsv")) else {
        println!("oasdiff corpus: skipped ({} not found)", root.display());
        return;
    };
    let (mut pairs, mut breaking, mut caught, mut alarms, mut documented) = (0, 0, 0, 0, 0);
    let mut unexpected = Vec::new();
    for (n, line) in expect.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        let [old, new, want, rule, ..] = cols[..] else {
            panic!("expect.tsv:{}: not `old new want rule level`: {line}", n + 1);
        };
        let want = want == "1";
        let load = |p: &str| checkpoint_contract::from_file(&root.join(p));
        let got = match (load(old), load(new)) {
            (Ok(o), Ok(nw)) => diff::diff(&o, &nw).iter().any(|c| c.breaking),
            (o, nw) => {
                let e = o.err().or(nw.err()).map(|e| e.to_string()).unwrap_or_default();
                unexpected.push(format!("{old} -> {new}: cannot load: {e}"));
                continue;
            }
        };
        pairs += 1;
        breaking += usize::from(want);
        caught += usize::from(want && got);
        alarms += usize::from(!want && got);
        let listed = DELIBERATE.iter().find(|(o, nw, _)| *o == old && *nw == new);
        match (want == got, listed) {
            (true, None) => {}
            (false, Some((_, _, verdict))) if *verdict == got => documented += 1,
            (false, _) => unexpected.push(format!(
                "{old} -> {new}: oasdiff says {} ({rule}), checkpoint says {} (expect.tsv:{}); \
                 fix the rule, or list it in DELIBERATE and docs/contract.md with the reason",
                if want { "breaking" } else { "not breaking" },
                if got { "breaking" } else { "not breaking" },
                n + 1
            )),
            (true, Some(_)) => unexpected.push(format!(
                "{old} -> {new}: now agrees with oasdiff; remove it from DELIBERATE and docs/contract.md"
            )),
        }
    }
    println!(
        "oasdiff corpus: {pairs} pairs, {caught}/{breaking} breaking caught, {alarms} false alarms, \
         {documented} documented disagreements, {} unexpected",
        unexpected.len()
    );
    assert!(unexpected.is_empty(), "{} unexpected verdict(s):\n{}", unexpected.len(), unexpected.join("\n"));
    assert_eq!(documented, DELIBERATE.len(), "a DELIBERATE pair is not in expect.tsv");
}
