//! `--baseline`: one report that has every kind of change at once — newly
//! failing (from passed and from skipped), fixed, still failing, new and
//! removed gates, slower checks — and the `--slower-than` threshold deciding
//! which checks count as slower.

mod support;

use checkpoint_model::result::{CheckResult, GateResult, RunReport, Status};
use checkpoint_report::baseline::SlowerThan;

fn check(name: &str, status: Status, ms: f64) -> CheckResult {
    CheckResult {
        message: (status != Status::Passed).then(|| format!("{name}: {}", status.as_str())),
        duration_ms: ms,
        ..support::check(name, "http", status)
    }
}

fn gate(id: &str, status: Status, checks: Vec<CheckResult>) -> GateResult {
    GateResult {
        reason: (status != Status::Passed).then(|| status.as_str().to_string()),
        duration_ms: checks.iter().map(|c| c.duration_ms).sum(),
        ..support::gate(id, &format!("gate {id}"), status, checks)
    }
}

fn report(started_at: &str, gates: Vec<GateResult>) -> RunReport {
    RunReport { duration_ms: 1000.0, ..support::report("checkpoint test", "One", started_at, gates) }
}

fn yesterday() -> RunReport {
    report(
        "2026-11-30T08:00:00Z",
        vec![
            gate("regressed", Status::Passed, vec![check("health", Status::Passed, 10.0)]),
            gate("was-skipped", Status::Skipped, vec![check("rows", Status::Skipped, 0.0)]),
            gate("repaired", Status::Failed, vec![check("login", Status::Failed, 30.0)]),
            gate("broken", Status::Errored, vec![check("queue", Status::Errored, 5.0)]),
            gate(
                "steady",
                Status::Passed,
                vec![
                    check("slow query", Status::Passed, 200.0),
                    check("jittery ping", Status::Passed, 2.0),
                    check("a bit slower", Status::Passed, 1000.0),
                ],
            ),
            gate("retired", Status::Passed, vec![check("old", Status::Passed, 1.0)]),
        ],
    )
}

fn today() -> RunReport {
    report(
        "2026-12-01T08:00:00Z",
        vec![
            gate("regressed", Status::Failed, vec![check("health", Status::Failed, 12.0)]),
            gate("was-skipped", Status::TimedOut, vec![check("rows", Status::TimedOut, 5000.0)]),
            gate("repaired", Status::Passed, vec![check("login", Status::Passed, 31.0)]),
            gate("broken", Status::Failed, vec![check("queue", Status::Failed, 6.0)]),
            gate(
                "steady",
                Status::Passed,
                vec![
                    // +250ms, +125%: slower by the default.
                    check("slow query", Status::Passed, 450.0),
                    // 4.5× but only +7ms: jitter, not slower by the default.
                    check("jittery ping", Status::Passed, 9.0),
                    // +30%, +300ms: not slower by the default, slower with `25%`.
                    check("a bit slower", Status::Passed, 1300.0),
                ],
            ),
            gate("added", Status::Passed, vec![check("new", Status::Passed, 1.0)]),
        ],
    )
}

fn line<'a>(md: &'a str, prefix: &str) -> &'a str {
    md.lines().find(|l| l.contains(prefix)).unwrap_or_else(|| panic!("no `{prefix}` line in\n{md}"))
}

#[test]
fn every_category_in_one_report_with_the_default_threshold() {
    let md = checkpoint_report::markdown(&today(), Some(&yesterday()));
    assert!(md.contains("## Changes since 2026-11-30T08:00:00Z"), "{md}");
    assert!(md.find("## Changes since").unwrap() < md.find("## Criteria").unwrap(), "changes lead");
    assert_eq!(line(&md, "**Newly failing:**"), "- 🔴 **Newly failing:** `regressed`, `was-skipped`");
    assert_eq!(line(&md, "**Fixed:**"), "- 🟢 **Fixed:** `repaired`");
    assert_eq!(line(&md, "**Still failing:**"), "- 🟠 **Still failing:** `broken`");
    assert_eq!(line(&md, "**New gates:**"), "- **New gates:** `added` · **Removed gates:** `retired`");
    assert_eq!(line(&md, "**Slower"), "- 🐢 **Slower (> 50% and ≥ +100ms):** `steady` › slow query (200ms → 450ms)");
}

#[test]
fn the_slower_than_threshold_decides_which_checks_are_slower() {
    let pct: SlowerThan = "25%".parse().unwrap();
    let md = checkpoint_report::markdown::markdown_with(&today(), Some(&yesterday()), &pct);
    let slower = line(&md, "**Slower");
    assert!(slower.starts_with("- 🐢 **Slower (> 25%):**"), "{slower}");
    // 25% alone lets the jitter in, and catches the 30% slowdown.
    for name in ["slow query", "jittery ping", "a bit slower"] {
        assert!(slower.contains(name), "{name} missing: {slower}");
    }
    let abs: SlowerThan = "1s".parse().unwrap();
    let md = checkpoint_report::markdown::markdown_with(&today(), Some(&yesterday()), &abs);
    // Only the timed-out check grew by a second or more (0ms before: no baseline figure).
    assert_eq!(line(&md, "**Slower"), "- 🐢 **Slower (≥ +1.00s):** none");
    let both: SlowerThan = "20%,250ms".parse().unwrap();
    let md = checkpoint_report::markdown::markdown_with(&today(), Some(&yesterday()), &both);
    let slower = line(&md, "**Slower");
    assert!(
        slower.contains("slow query") && slower.contains("a bit slower") && !slower.contains("jittery"),
        "{slower}"
    );
    // The categories do not depend on the threshold.
    assert_eq!(line(&md, "**Fixed:**"), "- 🟢 **Fixed:** `repaired`");
}
