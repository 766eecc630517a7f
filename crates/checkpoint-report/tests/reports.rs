//! Every report rendered from one fixture covering each outcome, snapshotted;
//! the JUnit validated against junit-10.xsd with xmllint and read back.

use checkpoint_model::diag::Location;
use checkpoint_model::plan::Severity;
use checkpoint_model::raw::RawPlanRef;
use checkpoint_model::result::{
    Attempt, CaseResult, CheckResult, CheckpointInfo, FORMAT_VERSION, Filters, GateResult, RunReport, ServiceReport,
    StackReport, Status,
};

fn check(name: &str, status: Status, message: Option<&str>, evidence: Option<&str>) -> CheckResult {
    CheckResult {
        name: name.into(),
        kind: "http".into(),
        location: Location::new("checkpoints/1.yaml", 20, 9),
        status,
        message: message.map(Into::into),
        evidence: evidence.map(Into::into),
        attempts: Vec::new(),
        duration_ms: 12.0,
        service: None,
        logs: None,
        metrics: None,
        cases: Vec::new(),
    }
}

fn gate(
    id: &str,
    title: &str,
    severity: Severity,
    status: Status,
    reason: Option<&str>,
    checks: Vec<CheckResult>,
) -> GateResult {
    GateResult {
        id: id.into(),
        title: title.into(),
        severity,
        wave: Some("wave1".into()),
        tags: vec![],
        needs: vec![],
        plan: Some(RawPlanRef { file: Some("docs/plan.md".into()), heading: None, item: Some(title.into()) }),
        location: Location::new("checkpoints/1.yaml", 10, 7),
        status,
        reason: reason.map(Into::into),
        duration_ms: 123.0,
        checks,
    }
}

fn fixture() -> RunReport {
    let mut flaky = check("eventually processed", Status::Passed, None, Some("rows: 1"));
    flaky.attempts = vec![
        Attempt {
            status: Status::Failed,
            message: Some("$[0].status: expected \"processed\", got \"queued\"".into()),
            duration_ms: 4.0,
        },
        Attempt { status: Status::Passed, message: None, duration_ms: 5.0 },
    ];
    let mut rerun = check(
        "health",
        Status::Failed,
        Some("status: expected 200, got 503\n(after 2 attempts)"),
        Some(
            "GET http://127.0.0.1:49153/health/db\n\n→ 503 Service Unavailable\n\u{1b}[31m{\"status\":\"unhealthy\"}\u{1b}[0m ]]> <tag>& ``` fence\u{7}",
        ),
    );
    rerun.attempts = vec![
        Attempt { status: Status::Failed, message: Some("status: expected 200, got 503".into()), duration_ms: 3.0 },
        Attempt { status: Status::Failed, message: Some("status: expected 200, got 503".into()), duration_ms: 3.0 },
    ];
    rerun.service = Some("api".into());
    rerun.logs = Some("api | \u{1b}[33mWARN\u{1b}[0m database unavailable: password ****\napi | retrying".into());
    let mut contract = check(
        "every operation",
        Status::Failed,
        Some(
            "violations: expected 0, got 1 — GET /items (listItems): 200: body /0: \"created_at\" is a required property",
        ),
        Some("3 operations called, 1 broke the contract"),
    );
    contract.kind = "openapi".into();
    let case = |name: &str, status: Status, message: Option<&str>| CaseResult {
        name: name.into(),
        status,
        message: message.map(str::to_string),
        evidence: Some(format!("GET http://127.0.0.1:49153{}\n\n→ 200", name.split(' ').nth(1).unwrap_or("/"))),
        duration_ms: 2.0,
    };
    contract.cases = vec![
        case("GET /health (health)", Status::Passed, None),
        case(
            "GET /items (listItems)",
            Status::Failed,
            Some(
                "200: body /0: \"created_at\" is a required property (required at #/components/schemas/Item/required)",
            ),
        ),
        case("GET /metrics (metrics)", Status::Passed, None),
    ];
    let gates = vec![
        gate(
            "stack-running",
            "Docker stack running all services",
            Severity::Must,
            Status::Passed,
            None,
            vec![check("every service up", Status::Passed, None, Some("ok"))],
        ),
        gate("worker", "Worker tasks processing", Severity::Must, Status::Passed, None, vec![flaky]),
        gate(
            "health-db",
            "/health reports the database healthy",
            Severity::Must,
            Status::Failed,
            Some("health: status: expected 200, got 503"),
            vec![rerun, check("never ran", Status::Skipped, Some("not run: check `health` did not pass"), None)],
        ),
        gate(
            "auth",
            "Authentication | end-to-end",
            Severity::Should,
            Status::Errored,
            Some("login: cannot resolve `${service.api.8000}`"),
            vec![check("login", Status::Errored, Some("cannot resolve `${service.api.8000}`"), None)],
        ),
        gate(
            "slow",
            "P95 response time < 200ms",
            Severity::Should,
            Status::TimedOut,
            Some("slow: no result within 300ms"),
            vec![check("slow", Status::TimedOut, Some("no result within 300ms"), None)],
        ),
        gate(
            "after-auth",
            "Backend ↔ Database queries working",
            Severity::Must,
            Status::Skipped,
            Some("needs `auth`, which errored"),
            vec![check("query", Status::Skipped, Some("needs `auth`, which errored"), None)],
        ),
        gate("empty", "Cancelled gate", Severity::Nice, Status::Cancelled, Some("the run was interrupted"), vec![]),
        gate(
            "contract",
            "API contract finalised",
            Severity::Should,
            Status::Failed,
            Some("every operation: violations: expected 0, got 1"),
            vec![contract],
        ),
    ];
    let (verdict, criteria) = RunReport::evaluate(&gates, 0.7, Some(0.95));
    RunReport {
        format_version: FORMAT_VERSION,
        tool: "checkpoint 0.1.0".into(),
        checkpoint: CheckpointInfo {
            id: "1".into(),
            title: "Day 1 — backend".into(),
            file: "checkpoints/1.yaml".into(),
            plan: None,
        },
        started_at: "2026-11-22T10:00:00Z".into(),
        duration_ms: 4321.5,
        verdict,
        criteria,
        filters: Filters { waves: vec!["wave1".into()], gates: vec![], shard: None, order: vec![] },
        gates,
        stack: Some(StackReport {
            project: "checkpoint-1-abc123".into(),
            compose_files: vec!["docker-compose.test.yml".into()],
            tool: "docker-compose 1.29.2".into(),
            ready_ms: Some(8123.0),
            services: vec![ServiceReport {
                name: "api".into(),
                image: Some("checkpoint-local/demo:dev".into()),
                state: "running".into(),
                health: Some("healthy".into()),
                restarts: 0,
                exit_code: None,
                oom_killed: false,
                ports: vec!["8000/tcp -> 127.0.0.1:49153".into()],
                log_file: Some("checkpoint-results/logs/api.log".into()),
            }],
            logs_dir: Some("checkpoint-results/logs".into()),
        }),
        interrupted: None,
    }
}

#[test]
fn markdown_snapshot() {
    let r = fixture();
    let md = checkpoint_report::markdown(&r, None);
    assert!(md.starts_with("# ❌ Checkpoint 1 failed"), "verdict first");
    assert!(!md.contains('\u{1b}'));
    insta::assert_snapshot!("markdown", md);
}

#[test]
fn markdown_with_baseline_leads_with_changes() {
    let r = fixture();
    let mut b = fixture();
    b.started_at = "2026-11-21T10:00:00Z".into();
    b.gates[2].status = Status::Passed; // health-db was green yesterday
    b.gates[1].status = Status::Failed; // worker was red yesterday
    let md = checkpoint_report::markdown(&r, Some(&b));
    assert!(md.contains("**Newly failing:** `health-db`"), "{md}");
    assert!(md.contains("**Fixed:** `worker`"), "{md}");
    assert!(md.find("Changes since").unwrap() < md.find("## Criteria").unwrap());
}

#[test]
fn junit_snapshot_and_counts() {
    let xml = checkpoint_report::junit(&fixture());
    assert!(!xml.contains('\u{1b}') && !xml.contains('\u{7}'));
    insta::assert_snapshot!("junit", xml);
    // Read back with a real JUnit parser: counts match the model.
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit");
    assert_eq!(parsed.test_suites.len(), 8);
    let health = &parsed.test_suites[2];
    assert_eq!(health.test_cases.len(), 2);
    assert_eq!(health.failures, 1);
    // An openapi check is one testcase per operation.
    let contract = &parsed.test_suites[7];
    let names: Vec<&str> = contract.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "every operation › GET /health (health)",
            "every operation › GET /items (listItems)",
            "every operation › GET /metrics (metrics)"
        ]
    );
    assert_eq!(contract.failures, 1);
}

#[test]
fn junit_is_valid_against_the_jenkins_schema() {
    let xsd = std::env::var("CHECKPOINT_JUNIT_XSD")
        .unwrap_or_else(|_| format!("{}/../../../shared/schemas/junit-10.xsd", env!("CARGO_MANIFEST_DIR")));
    assert!(
        std::path::Path::new(&xsd).is_file(),
        "junit-10.xsd not found at {xsd} (shared/ sits beside the repo; or set CHECKPOINT_JUNIT_XSD)"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, checkpoint_report::junit(&fixture())).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", &xsd])
        .arg(&file)
        .output()
        .expect("xmllint is missing: install libxml2-utils (scripts/provision.sh does)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn json_round_trips_and_checks_the_version() {
    let r = fixture();
    let text = checkpoint_report::json(&r);
    assert_eq!(checkpoint_report::read_json(&text).unwrap(), r);
    let bumped = text.replacen("\"format_version\": 1", "\"format_version\": 99", 1);
    let err = checkpoint_report::read_json(&bumped).unwrap_err().to_string();
    assert!(err.contains("format version 99 is not supported"), "{err}");
    assert!(checkpoint_report::read_json("not json").is_err());
}

#[test]
fn console_summary_snapshot_without_colour() {
    let text = checkpoint_report::console_summary(&fixture(), false);
    assert!(!text.contains('\u{1b}'));
    insta::assert_snapshot!("console", text);
    assert!(checkpoint_report::console_summary(&fixture(), true).contains('\u{1b}'));
}

#[test]
fn write_all_is_atomic_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    let w = checkpoint_report::write_all(&fixture(), &dir.path().join("out"), None).unwrap();
    for p in [&w.junit, &w.markdown, &w.json] {
        assert!(std::fs::metadata(p).unwrap().len() > 100, "{}", p.display());
    }
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn merge_combines_shards_in_plan_order() {
    let full = fixture();
    let mut a = full.clone();
    let mut b = full.clone();
    a.gates.retain(|g| ["stack-running", "auth", "empty"].contains(&g.id.as_str()));
    b.gates.retain(|g| !["stack-running", "auth", "empty"].contains(&g.id.as_str()));
    let merged = checkpoint_report::merge(vec![b, a]).unwrap();
    let ids: Vec<&str> = merged.gates.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids.len(), full.gates.len());
    assert_eq!(merged.criteria, full.criteria);
    assert_eq!(merged.verdict, full.verdict);
    let dup = checkpoint_report::merge(vec![full.clone(), full]).unwrap_err().to_string();
    assert!(dup.contains("more than one shard"), "{dup}");
}
