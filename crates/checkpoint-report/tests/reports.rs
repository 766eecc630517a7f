//! Every report rendered from one fixture covering each outcome, snapshotted;
//! the JUnit validated against junit-10.xsd with xmllint and read back.

mod support;

use checkpoint_model::plan::Severity;
use checkpoint_model::raw::RawPlanRef;
use checkpoint_model::result::{
    Attempt, CaseResult, CheckResult, Filters, GateResult, RunReport, ServiceReport, StackReport, Status,
};

fn check(name: &str, status: Status, message: Option<&str>, evidence: Option<&str>) -> CheckResult {
    CheckResult {
        message: message.map(Into::into),
        evidence: evidence.map(Into::into),
        duration_ms: 12.0,
        ..support::check(name, "http", status)
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
        severity,
        wave: Some("wave1".into()),
        plan: Some(RawPlanRef { file: Some("docs/plan.md".into()), heading: None, item: Some(title.into()) }),
        reason: reason.map(Into::into),
        duration_ms: 123.0,
        ..support::gate(id, title, status, checks)
    }
}

/// A failed attempt (of a retried check) with its message and evidence.
fn failed_attempt(message: &str, duration_ms: f64, evidence: &str) -> Attempt {
    Attempt {
        status: Status::Failed,
        message: Some(message.into()),
        started_ms: None,
        duration_ms,
        evidence: Some(evidence.into()),
    }
}

fn fixture() -> RunReport {
    let mut flaky = check("eventually processed", Status::Passed, None, Some("rows: 1"));
    flaky.attempts = vec![
        failed_attempt(
            "$[0].status: expected \"processed\", got \"queued\"",
            4.0,
            "SELECT status FROM jobs WHERE id = 7",
        ),
        Attempt { status: Status::Passed, message: None, started_ms: None, duration_ms: 5.0, evidence: None },
    ];
    let mut rerun = check(
        "health",
        Status::Failed,
        Some("status: expected 200, got 503\n(after 2 attempts)"),
        Some(
            "GET http://127.0.0.1:49153/health/db\n\n→ 503 Service Unavailable\n\u{1b}[31m{\"status\":\"unhealthy\"}\u{1b}[0m ]]> <tag>& ``` fence\u{7}",
        ),
    );
    rerun.attempts =
        vec![failed_attempt("status: expected 200, got 503", 3.0, "GET http://api:8000/health \u{2192} 503"); 2];
    rerun.service = Some("api".into());
    rerun.logs = Some("api | \u{1b}[33mWARN\u{1b}[0m database unavailable: password ****\napi | retrying".into());
    rerun.logged = Some(
        "INFO:     172.18.0.1:40112 - \"GET /health/db HTTP/1.1\" 503 Service Unavailable\nERROR:    Exception in ASGI application\nTraceback (most recent call last):\n  File \"/app/health.py\", line 12, in db\n    raise RuntimeError(\"db gone\")\nRuntimeError: db gone <&>".into(),
    );
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
        // A status the contract does not declare, accepted by the check's policy: the row says so.
        case(
            "GET /metrics (metrics)",
            Status::Passed,
            Some("undeclared 401, accepted (undeclared_status: client-errors)"),
        ),
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
        duration_ms: 4321.5,
        verdict,
        criteria,
        filters: Filters { waves: vec!["wave1".into()], gates: vec![], shard: None, order: vec![] },
        stack: Some(StackReport {
            project: "checkpoint-1-abc123".into(),
            compose_files: vec!["docker-compose.test.yml".into()],
            tool: "docker-compose 1.29.2".into(),
            started_ms: None,
            up_ms: None,
            ready_ms: Some(8123.0),
            services: vec![ServiceReport {
                name: "api".into(),
                image: Some("checkpoint-local/demo:dev".into()),
                state: "running".into(),
                health: Some("healthy".into()),
                restarts: 0,
                ready_ms: None,
                exit_code: None,
                oom_killed: false,
                ports: vec!["8000/tcp -> 127.0.0.1:49153".into()],
                log_file: Some("checkpoint-results/logs/api.log".into()),
                one_shot: false,
            }],
            logs_dir: Some("checkpoint-results/logs".into()),
            not_ready: None,
            incidents: vec![],
        }),
        ..support::report("checkpoint 0.1.0", "Day 1 — backend", "2026-11-22T10:00:00Z", gates)
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
    assert_eq!(names, ["GET /health (health)", "GET /items (listItems)", "GET /metrics (metrics)"]);
    assert_eq!(contract.failures, 1);
}

#[test]
fn junit_is_valid_against_the_jenkins_schema() {
    xmllint(&checkpoint_report::junit(&fixture()));
}

/// A fixture with start times: the stack up and ready, then every gate —
/// one after another, or all at once (as the engine runs independent gates,
/// so their checks' times overlap), each check `slower` times its fixture time.
fn timed(at_once: bool, slower: f64) -> checkpoint_model::result::RunReport {
    let mut r = fixture();
    let stack = r.stack.as_mut().unwrap();
    (stack.started_ms, stack.up_ms, stack.ready_ms) = (Some(40.0), Some(1_900.0), Some(2_600.0));
    stack.services[0].ready_ms = Some(2_550.0);
    let first = 40.0 + 1_900.0 + 2_600.0 + 30.0;
    let (mut at, mut end) = (first, first);
    for g in &mut r.gates {
        g.started_ms = Some(at);
        let mut t = at;
        for c in &mut g.checks {
            c.duration_ms *= slower;
            c.started_ms = Some(t);
            t += c.duration_ms;
        }
        g.duration_ms = t - at;
        end = f64::max(end, t);
        if !at_once {
            at = t + 1.0;
        }
    }
    r.duration_ms = end + 1_500.0;
    r
}

/// The testcases' times as a reader that sums them (GitLab, EnricoMi, dorny,
/// mikepenz) adds them up, in milliseconds.
fn summed(xml: &str) -> f64 {
    let parsed = quick_junit::Report::deserialize_from_str(xml).expect("valid JUnit");
    parsed.test_suites.iter().flat_map(|s| &s.test_cases).filter_map(|c| c.time).map(|t| t.as_secs_f64()).sum::<f64>()
        * 1000.0
}

/// Readers sum testcase times: with start times, a first `stack` suite
/// accounts for bring-up, readiness and teardown, so the sum is the run's.
#[test]
fn junit_testcase_times_add_up_to_the_run() {
    let r = timed(false, 1.0);
    let xml = checkpoint_report::junit(&r);
    xmllint(&xml);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("valid JUnit");
    let stack_suite = &parsed.test_suites[0];
    let names: Vec<&str> = stack_suite.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["stack up and ready", "stack down and reports"]);
    let sum = summed(&xml);
    assert!((sum - r.duration_ms).abs() < 5.0, "testcases sum to {sum}ms, the run took {}ms", r.duration_ms);
    // The Markdown's "what CI shows" counts the two testcases too.
    let (tests, ..) = checkpoint_report::junit::counts(&r);
    assert_eq!(tests, parsed.test_suites.iter().map(|s| s.test_cases.len()).sum::<usize>());
}

/// Gates that ran at once: their checks' times add up to more than the
/// gates took; the stack's testcases carry only the time outside any check,
/// so the sum is still the run's, and the measured bring-up is in the text.
#[test]
fn junit_testcase_times_add_up_to_the_run_when_gates_overlap() {
    let (apart, at_once) = (timed(false, 50.0), timed(true, 50.0));
    let checks: f64 = at_once.gates.iter().flat_map(|g| &g.checks).map(|c| c.duration_ms).sum();
    let span = at_once.gates.iter().map(|g| g.duration_ms).fold(0.0, f64::max);
    assert!(checks > span + 2_000.0, "the fixture's checks overlap: {checks}ms of checks in {span}ms");
    let xml = checkpoint_report::junit(&at_once);
    xmllint(&xml);
    let sum = summed(&xml);
    assert!(
        (sum - at_once.duration_ms).abs() < 5.0,
        "testcases sum to {sum}ms, the run took {}ms",
        at_once.duration_ms
    );
    assert!(xml.contains("everything before the first gate started: 4.57s"), "the measured figure stays: {xml}");
    assert!(apart.duration_ms > at_once.duration_ms);
}

fn xmllint(xml: &str) {
    let xsd = std::env::var("CHECKPOINT_JUNIT_XSD")
        .unwrap_or_else(|_| format!("{}/../../../shared/schemas/junit-10.xsd", env!("CARGO_MANIFEST_DIR")));
    assert!(
        std::path::Path::new(&xsd).is_file(),
        "junit-10.xsd not found at {xsd} (shared/ sits beside the repo; or set CHECKPOINT_JUNIT_XSD)"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("junit.xml");
    std::fs::write(&file, xml).unwrap();
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
    // Made like any file the user creates: 0666 less the umask, not a temp file's 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let plain = dir.path().join("plain");
        std::fs::write(&plain, "x").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        for p in [&w.junit, &w.markdown, &w.json, &w.html] {
            assert_eq!(mode(p), mode(&plain), "{}", p.display());
        }
    }
}

#[test]
fn a_report_that_cannot_be_put_in_place_is_named_and_leaves_the_json_and_no_temp_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // A directory where junit.xml goes: the rename onto it fails.
    std::fs::create_dir_all(out.join("junit.xml").join("x")).unwrap();
    let err = checkpoint_report::write_all(&fixture(), &out, None).unwrap_err().to_string();
    assert!(err.contains("junit.xml"), "{err}");
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into())
        .collect();
    names.sort();
    // JSON first, in place; the reports after the failed one neither in place nor left as temp files.
    assert_eq!(names, ["junit.xml", "results.json"]);
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

/// Two latency gates: one that passed (its figures are shown all the same)
/// and one whose every request was refused (no percentiles to show).
fn latency_fixture() -> RunReport {
    use checkpoint_model::latency::{Bucket, ErrorCount, Figures};
    let fast = Figures {
        request: "GET http://127.0.0.1:49153/health".into(),
        requests: 500,
        errors: 0,
        error_rate: 0.0,
        concurrency: 8,
        warmup: 20,
        duration_ms: 1021.4,
        rps: 489.5,
        p50: Some(2.312),
        p90: Some(2.804),
        p95: Some(3.021),
        p99: Some(4.103),
        max: Some(17.86),
        min: Some(2.051),
        mean: Some(2.42),
        histogram: vec![
            Bucket { le_ms: 2.3, count: 262 },
            Bucket { le_ms: 2.55, count: 141 },
            Bucket { le_ms: 2.8, count: 47 },
            Bucket { le_ms: 3.05, count: 28 },
            Bucket { le_ms: 4.2, count: 21 },
            Bucket { le_ms: 17.86, count: 1 },
        ],
        status_codes: [("200".to_string(), 500)].into_iter().collect(),
        ..Figures::default()
    };
    let down = Figures {
        request: "GET http://127.0.0.1:49154/items".into(),
        requests: 40,
        errors: 40,
        error_rate: 1.0,
        concurrency: 4,
        rate: Some(20.0),
        duration_ms: 1950.0,
        rps: 20.5,
        error_kinds: vec![ErrorCount { error: "connection refused".into(), count: 40 }],
        ..Figures::default()
    };
    let mut ok = check("GET /health p95 under 200 ms", Status::Passed, None, Some("GET http://127.0.0.1:49153/health"));
    ok.kind = "latency".into();
    ok.metrics = Some(serde_json::to_value(&fast).unwrap());
    let mut bad = check(
        "GET /items at 20/s",
        Status::Failed,
        Some("all 40 requests failed: connection refused (is the service up, and is the port published?)"),
        Some(
            "GET http://127.0.0.1:49154/items\n\n40 requests in 1.95s (20.5 req/s), concurrency 4, fixed rate 20/s, 40 errors (100%)\n40 × connection refused",
        ),
    );
    bad.kind = "latency".into();
    bad.metrics = Some(serde_json::to_value(&down).unwrap());
    let gates = vec![
        gate("p95", "P95 response time < 200ms", Severity::Must, Status::Passed, None, vec![ok]),
        gate(
            "items-p95",
            "Item listing under load",
            Severity::Should,
            Status::Failed,
            Some("GET /items at 20/s: all 40 requests failed: connection refused"),
            vec![bad],
        ),
    ];
    let (verdict, criteria) = RunReport::evaluate(&gates, 0.7, None);
    RunReport { gates, verdict, criteria, stack: None, filters: Filters::default(), ..fixture() }
}

#[test]
fn latency_distribution_in_markdown_and_junit() {
    let r = latency_fixture();
    let md = checkpoint_report::markdown(&r, None);
    let section = &md[md.find("## Latency").expect("a latency section")..md.find("## Failures").unwrap()];
    assert!(section.contains("### ✅ `p95` › GET /health p95 under 200 ms"), "passed checks show their figures: {md}");
    assert!(section.contains("| 500 in 1.02s | 490/s | 0 (0%) | 2.31ms | 2.80ms | 3.02ms | 4.10ms | 17.9ms |"), "{md}");
    assert!(section.contains("| 40 in 1.95s | 20.5/s | 40 (100%) | — | — | — | — | — |"), "{md}");
    insta::assert_snapshot!("latency_markdown", section);
    let xml = checkpoint_report::junit(&r);
    assert!(xml.contains("p50     p90     p95     p99     max"), "{xml}");
    assert!(!xml.contains("\"histogram\""), "the distribution is text, not a JSON dump: {xml}");
    insta::assert_snapshot!("latency_junit", xml);
    xmllint(&xml);
    let back = checkpoint_report::read_json(&checkpoint_report::json(&r)).unwrap();
    assert_eq!(checkpoint_report::markdown(&back, None), md, "re-rendered from results.json, the same");
}

/// A stack that was not ready, and one whose worker died after ready: both
/// reach every report (the Markdown's head and Stack section, a first JUnit
/// testsuite `stack`, results.json), and the JUnit stays schema-valid.
#[test]
fn not_ready_and_incidents_reach_every_report() {
    use checkpoint_model::result::{Incident, NotReadyReport, ServiceDiagnosis};
    let mut r = fixture();
    let stack = r.stack.as_mut().unwrap();
    stack.not_ready = Some(NotReadyReport {
        reason: "not ready after 180s: waiting for api (starting)".into(),
        elapsed_ms: 180_000.0,
        services: vec![ServiceDiagnosis {
            service: "api".into(),
            state: "running, health: starting".into(),
            health_checks: vec!["exit 7: curl: (7) Failed to connect".into()],
            log_tail: "sqlalchemy.exc.OperationalError: could not translate host name \"dbx\"\n".into(),
        }],
    });
    stack.incidents = vec![Incident {
        service: "worker".into(),
        what: "exited with code 1".into(),
        restarted: false,
        after_ready_ms: 5230.0,
        at: "2026-11-22T10:00:09Z".into(),
        log_tail: "celery: consumer: Cannot connect to redis://redis:6379/0\n".into(),
    }];
    let md = checkpoint_report::markdown(&r, None);
    let head: String = md.lines().take(12).collect::<Vec<_>>().join("\n");
    assert!(head.contains("**The stack was not ready** (gave up "), "{head}");
    assert!(head.contains("not ready after 180s: waiting for api (starting)"), "{head}");
    assert!(head.contains("`worker` exited with code 1 5.2s after the stack was ready"), "{head}");
    assert!(md.contains("could not translate host name"), "the pending service's log tail is in the Markdown");
    assert!(md.contains("exit 7: curl: (7) Failed to connect"), "its last health check too");
    assert!(md.contains("Cannot connect to redis://redis:6379/0"), "the incident's log tail too");

    let xml = checkpoint_report::junit(&r);
    let first_suite = xml.lines().find(|l| l.trim_start().starts_with("<testsuite ")).unwrap();
    assert!(first_suite.contains("name=\"stack: checkpoint-1-abc123\""), "{first_suite}");
    assert!(xml.contains("type=\"not_ready\""), "{xml}");
    assert!(xml.contains("could not translate host name"), "{xml}");
    assert!(xml.contains("Cannot connect to redis://redis:6379/0"), "{xml}");
    xmllint(&xml);

    let json = checkpoint_report::json(&r);
    let back = checkpoint_report::read_json(&json).unwrap();
    assert_eq!(back.stack, r.stack, "results.json keeps both");
}
