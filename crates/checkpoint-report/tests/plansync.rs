//! `plan sync` on real plan documents (`tests/plans/*.md`, written the way
//! teams write them) with results.json fixtures: the exact bytes after the
//! sync (`*.expected.md`), proof that no byte outside the changed boxes moved,
//! the report lines (snapshots), and idempotence.

use std::path::{Path, PathBuf};

use checkpoint_report::plansync::{Outcome, PlanFile, ResultsFile, sync};
use checkpoint_report::read_json;

fn plans() -> PathBuf {
    // Relative, so messages (and snapshots) do not depend on the checkout's path.
    PathBuf::from("tests/plans")
}

fn results(names: &[&str]) -> Vec<ResultsFile> {
    names
        .iter()
        .map(|n| {
            let p = plans().join(n);
            let text = std::fs::read_to_string(&p).unwrap();
            ResultsFile { name: p.display().to_string(), report: read_json(&text).unwrap() }
        })
        .collect()
}

/// Syncs `plan` (the project root is `tests/plans`) and checks everything
/// that must hold for any sync; returns the outcome for the case's own checks.
fn run(plan: &str, res: &[&str]) -> (String, Outcome) {
    run_in(&plans(), plan, res)
}

/// Same, with the project root (what `plan.file` is relative to) given.
fn run_in(root: &Path, plan: &str, res: &[&str]) -> (String, Outcome) {
    let path = plans().join(plan);
    let before = std::fs::read_to_string(&path).unwrap();
    let pf = PlanFile::new(&path, root);
    let out = sync(&before, &pf, &results(res));

    // The exact bytes, committed.
    let expected_path = plans().join(plan.replace(".md", ".expected.md"));
    let expected = std::fs::read_to_string(&expected_path).unwrap();
    assert_eq!(out.text, expected, "{plan}: not the bytes of {}", expected_path.display());

    // Nothing outside the changed boxes moved: same length, and every
    // differing byte lies inside a box that was reported as changed.
    let (a, b) = (before.as_bytes(), out.text.as_bytes());
    assert_eq!(a.len(), b.len(), "{plan}: a box changed width");
    for i in (0..a.len()).filter(|&i| a[i] != b[i]) {
        assert!(out.changes.iter().any(|c| c.bytes.contains(&i)), "{plan}: byte {i} changed outside every box");
    }
    for c in &out.changes {
        assert_ne!(a[c.bytes.clone()], b[c.bytes.clone()], "{plan}: line {} reported but unchanged", c.line);
        let line = before.split('\n').nth(c.line - 1).unwrap();
        assert!(line.contains(&c.before) && line.contains(&c.text), "{plan}: line {} is not {:?}", c.line, c.before);
    }
    assert_eq!(before.starts_with('\u{FEFF}'), out.text.starts_with('\u{FEFF}'));
    assert_eq!(before.ends_with('\n'), out.text.ends_with('\n'));
    assert_eq!(before.matches("\r\n").count(), out.text.matches("\r\n").count());

    // A second sync with the same results has nothing left to do.
    let again = sync(&out.text, &pf, &results(res));
    assert!(again.changes.is_empty(), "{plan}: not idempotent: {:?}", again.changes);
    assert_eq!(again.warnings, out.warnings);

    (before, out)
}

fn report(out: &Outcome) -> String {
    let mut s = out.change_lines();
    for w in &out.warnings {
        s.push_str(&format!("warning: {w}\n"));
    }
    s.push_str(&format!(
        "up to date: {}, left as is: {}, other plans: {}\n",
        out.up_to_date, out.left_as_is, out.other_plans
    ));
    s
}

fn lines(out: &Outcome) -> Vec<(usize, bool)> {
    out.changes.iter().map(|c| (c.line, c.tick)).collect()
}

#[test]
fn day_plan_two_checkpoints_latest_run_wins() {
    let (before, out) = run("day-plan.md", &["day-plan.cp0.results.json", "day-plan.cp1.results.json"]);
    assert_eq!(
        lines(&out),
        vec![
            (18, false),
            (19, true),
            (20, true),
            (28, true),
            (29, true),
            (33, true),
            (34, false),
            (45, true),
            (47, true)
        ]
    );
    // The trailing spaces after "Postgres accepting connections" survive the tick.
    assert!(out.text.contains("- [x] Postgres accepting connections   \n"));
    // The copies inside the ```markdown fence are examples: untouched.
    let fence = |t: &str| t[t.find("```markdown").unwrap()..].split("```\n").next().unwrap().to_string();
    assert_eq!(fence(&before), fence(&out.text));
    insta::assert_snapshot!(report(&out));
}

#[test]
fn day_plan_results_order_does_not_matter() {
    // Same runs given newest first: `started_at` decides, not the order.
    let path = plans().join("day-plan.md");
    let before = std::fs::read_to_string(&path).unwrap();
    let pf = PlanFile::new(&path, &plans());
    let a = sync(&before, &pf, &results(&["day-plan.cp0.results.json", "day-plan.cp1.results.json"]));
    let b = sync(&before, &pf, &results(&["day-plan.cp1.results.json", "day-plan.cp0.results.json"]));
    assert_eq!(a.text, b.text);
    // Only the older run: redis-ready failed there, stack-running passed.
    let c = sync(&before, &pf, &results(&["day-plan.cp0.results.json"]));
    assert_eq!(lines(&c), vec![(19, true)], "{}", c.change_lines());
    assert_eq!(c.up_to_date, 2);
}

#[test]
fn wave_plan_crlf_setext_headings_and_ambiguity() {
    let (_, out) = run("wave-plan-crlf.md", &["wave-plan.results.json"]);
    assert_eq!(lines(&out), vec![(10, true), (12, false), (13, true), (19, true), (22, true), (31, true)]);
    // "Smoke tests green" appears three times: the gate with `heading:` ticks
    // its own (line 31), the one without touches none.
    assert!(out.warnings.iter().any(|w| w.contains("gate `smoke-any`") && w.contains("lines 21, 26, 31")));
    assert_eq!(out.other_plans, 1, "ledger-plan names docs/ledger-plan.md");
    insta::assert_snapshot!(report(&out));
}

#[test]
fn launch_checklist_ballot_boxes_bom_no_final_newline() {
    let (_, out) = run("launch-checklist.md", &["launch.results.json"]);
    assert_eq!(lines(&out), vec![(9, false), (11, false), (12, true), (17, true), (31, true)]);
    // ☒ counts as ticked: a passed gate leaves it as written.
    assert!(out.text.contains("☒ Status page updated"));
    // The table cell and the ~~~ fence keep their ☐.
    assert!(out.text.contains("| ☐ Canary deploy to 5% of traffic | @ana | manual |"));
    assert!(out.text.contains("~~~text\n☐ Canary deploy to 5% of traffic\n- ☐ Smoke suite green on prod\n~~~"));
    insta::assert_snapshot!(report(&out));
}

#[test]
fn plan_file_references_resolve_against_the_root_or_by_trailing_path() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::write(root.join("docs/plan.md"), "- [ ] a\n").unwrap();
    std::fs::write(root.join("plan.md"), "- [ ] a\n").unwrap();
    let pf = PlanFile::new(&root.join("docs/plan.md"), root);
    assert!(pf.refers_to("docs/plan.md"));
    assert!(pf.refers_to("./docs/../docs/plan.md"));
    assert!(pf.refers_to(&root.join("docs/plan.md").display().to_string()));
    // Another file that exists under the root is another plan.
    assert!(!pf.refers_to("plan.md"));
    // Not under this root (results from another checkout): the trailing path decides.
    let elsewhere = PlanFile::new(&root.join("docs/plan.md"), &root.join("nope"));
    assert!(elsewhere.refers_to("docs/plan.md"));
    assert!(elsewhere.refers_to("plan.md"));
    assert!(!elsewhere.refers_to("other/plan.md"));
    assert!(!elsewhere.refers_to("../docs/plan.md"));
}

#[test]
fn gates_sharing_a_line_must_all_pass() {
    let mut r = results(&["launch.results.json"]);
    let report = &mut r[0].report;
    // A second gate on "Canary deploy to 5% of traffic" that failed.
    let mut g = report.gates[0].clone();
    g.id = "canary-errors".into();
    g.status = checkpoint_model::result::Status::Failed;
    report.gates.push(g);
    let path = plans().join("launch-checklist.md");
    let before = std::fs::read_to_string(&path).unwrap();
    let out = sync(&before, &PlanFile::new(&path, &plans()), &r);
    assert!(!out.changes.iter().any(|c| c.line == 12), "{}", out.change_lines());
    assert!(out.text.contains("- ☐ Canary deploy to 5% of traffic"));
}

#[test]
fn this_repository_plan_with_two_real_runs_of_checkpoint_1() {
    // results.json of two real `checkpoint run 1` on the demo stack: all green
    // (07:36:25), then with fixtures/broken/worker-stopped.yml (07:37:02).
    // The later run decides: stack-running and worker failed, networking
    // errored, so those stay open; the rest are ticked.
    let root = plans().join("demo");
    let (_, out) = run_in(
        &root,
        "demo/docs/integration-plan.md",
        &["demo/cp1.results.json", "demo/cp1-worker-stopped.results.json"],
    );
    assert_eq!(
        lines(&out),
        vec![(9, true), (10, true), (15, true), (16, true), (17, true), (18, true), (19, true), (24, true)]
    );
    assert_eq!(out.up_to_date, 3);
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    // Only the green run: all eleven lines ticked.
    let path = plans().join("demo/docs/integration-plan.md");
    let before = std::fs::read_to_string(&path).unwrap();
    let green = sync(&before, &PlanFile::new(&path, &root), &results(&["demo/cp1.results.json"]));
    assert_eq!(green.changes.len(), 11, "{}", green.change_lines());
    assert!(green.changes.iter().all(|c| c.tick));
}

#[test]
fn a_gate_heading_narrows_to_its_section_and_subsections() {
    let mut r = results(&["day-plan.cp1.results.json"]);
    let report = &mut r[0].report;
    let mut add = |id: &str, heading: &str, item: &str| {
        let mut g = report.gates[3].clone(); // migrations, passed
        g.id = id.into();
        g.plan = Some(checkpoint_model::raw::RawPlanRef {
            file: None,
            heading: Some(heading.into()),
            item: Some(item.into()),
        });
        report.gates.push(g);
    };
    // Under "### Wave 2", a subsection of "## Day 1 — Checkpoint 1: backend 🚀".
    add("in-subsection", "Day 1 — Checkpoint 1: backend 🚀", "Runbook reviewed by on-call");
    // Exists, but under another heading.
    add("elsewhere", "Day 0 — Checkpoint 0: foundation ✅", "API CRUD lifecycle complete");
    let path = plans().join("day-plan.md");
    let before = std::fs::read_to_string(&path).unwrap();
    let out = sync(&before, &PlanFile::new(&path, &plans()), &r);
    // "Runbook reviewed" is already [x]: found, up to date, no warning.
    assert!(!out.warnings.iter().any(|w| w.contains("in-subsection")), "{:?}", out.warnings);
    assert!(
        out.warnings.iter().any(|w| w.contains("gate `elsewhere`")
            && w.contains("under \"Day 0 — Checkpoint 0: foundation ✅\"")
            && w.contains("did you mean line 54 under \"Day 2 — Checkpoint 2: resilience\"")),
        "{:?}",
        out.warnings
    );
    assert!(!out.changes.iter().any(|c| c.line == 54));
}

#[test]
fn write_in_place_keeps_mode_and_refuses_a_file_changed_meanwhile() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("plan.md");
    std::fs::write(&p, "- [ ] a\r\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o604)).unwrap();
    checkpoint_report::plansync::write_in_place(&p, "- [ ] a\r\n", "- [x] a\r\n").unwrap();
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "- [x] a\r\n");
    assert_eq!(std::fs::metadata(&p).unwrap().permissions().mode() & 0o777, 0o604);
    // Someone saved the plan after the sync read it: their edit wins, nothing is written.
    let e = checkpoint_report::plansync::write_in_place(&p, "- [ ] a\r\n", "- [ ] a\r\n").unwrap_err();
    assert!(e.to_string().contains("changed while it was being synced"), "{e}");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "- [x] a\r\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temp file is removed");
}

#[test]
fn the_checkpoint_heading_picks_between_repeated_items_for_its_own_gates() {
    let dir = tempfile::tempdir().unwrap();
    let text = "# Plan\n\n## Checkpoint 0\n\n- [ ] Redis connectivity\n\n## Checkpoint 1 — re-checks\n\n- [ ] Redis connectivity\n";
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    let path = dir.path().join("docs/plan.md");
    std::fs::write(&path, text).unwrap();
    let mut r = results(&["day-plan.cp1.results.json"]);
    let report = &mut r[0].report;
    report.checkpoint.plan = Some(checkpoint_model::raw::RawPlanRef {
        file: Some("docs/plan.md".into()),
        heading: Some("Checkpoint 1".into()),
        item: None,
    });
    // redis-ready (defined in checkpoints/0.yaml, included) and a gate of checkpoint 1 itself.
    report.gates.retain(|g| g.id == "redis-ready" || g.id == "migrations");
    report.gates[1].plan.as_mut().unwrap().item = Some("Redis connectivity".into());
    let out = sync(text, &PlanFile::new(&path, dir.path()), &r);
    // Checkpoint 1's own gate: its checkpoint's heading picks line 9.
    assert_eq!(lines(&out), vec![(9, true)], "{}", out.change_lines());
    assert!(out.change_lines().contains("(gate migrations passed)"));
    // The included gate has no heading to go by: both lines match, neither is its.
    assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
    assert!(
        out.warnings[0].contains("gate `redis-ready` (checkpoints/0.yaml:30)")
            && out.warnings[0].contains("lines 5, 9")
    );
}
