//! Our `junit.xml` read as CI readers read it: junitparser (its xunit2
//! reading, which knows flaky and rerun elements) and junit2html (PyPI, in
//! `.cache/tools/junit`, installed by scripts/provision.sh), on a healthy, a
//! broken and a flaky run of the binary against a local HTTP server and the
//! Postgres/Redis of `scripts/test-services.sh`; plus GitLab's documented
//! rule — a `failure`/`error` with text shows the text, not `message` —
//! applied to our XML directly.
//!
//! Without the readers these tests fail when `CI=true`; elsewhere they say so
//! and pass.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::support;
use crate::support::checkpoint;
use serde_json::Value;

/// `/health` answers 200, `/down` 503, `/slow` after 3 s, `/flaky` 503 twice then 200.
fn server() -> String {
    let calls = Arc::new(AtomicU32::new(0));
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }))
        .route(
            "/down",
            axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable") }),
        )
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(3)).await;
                "late"
            }),
        )
        .route(
            "/flaky",
            axum::routing::get(move || {
                let calls = calls.clone();
                async move {
                    if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                        (axum::http::StatusCode::SERVICE_UNAVAILABLE, "warming up")
                    } else {
                        (axum::http::StatusCode::OK, "ready")
                    }
                }
            }),
        );
    support::serve(app)
}

/// The checkpoint every run here is: the local services, `API` the server
/// `api`, then `gates` — which therefore start at line 6 of `1.yaml`.
fn local_services(api: &str, gates: &str) -> String {
    format!("checkpoint: 1\ntitle: Local services\nvars:\n  API: \"{api}\"\ngates:\n{gates}")
}

/// Every gate green: the API, Postgres and Redis all answer.
const HEALTHY: &str = r#"  - id: api
    title: API responding
    checks:
      - name: health
        http: { url: "${API}/health" }
        expect: { status: 200, json: { $.status: ok } }
  - id: db
    title: Database reachable
    checks:
      - name: select one
        postgres: { dsn: "${PG}", query: "SELECT 1 AS one" }
        expect:
          json:
            $[0].one: 1
  - id: redis
    title: Redis connectivity
    checks:
      - name: ping
        redis: { url: "${REDIS}", command: [PING] }
        expect: { reply: PONG }
"#;

/// A check red each way one can be: a wrong status (and the check skipped
/// after it), a query error, a refused connection, a timeout. Line N here is
/// line N + 5 of `1.yaml`.
const BROKEN: &str = r#"  - id: api
    title: API responding
    checks:
      - name: health
        http: { url: "${API}/health" }
        expect: { status: 200 }
  - id: health-db
    title: /health reports the database healthy
    checks:
      - name: GET /down
        http: { url: "${API}/down" }
        expect: { status: 200 }
      - name: after
        http: { url: "${API}/health" }
  - id: db
    title: Database has the items table
    checks:
      - name: items
        postgres: { dsn: "${PG}", query: "SELECT count(*) AS n FROM checkpoint_no_such_table" }
  - id: metrics
    title: Metrics endpoint up
    checks:
      - name: unreachable
        http: { url: "http://127.0.0.1:9/metrics" }
  - id: slow
    title: Reports answer in time
    checks:
      - name: GET /slow
        http: { url: "${API}/slow" }
        timeout: 300ms
"#;

/// A check that passes on its third attempt.
const FLAKY: &str = r#"  - id: warmup
    title: API warms up
    checks:
      - name: eventually ready
        http: { url: "${API}/flaky" }
        expect: { status: 200 }
        retry: { until: 10s, every: 50ms }
"#;

/// Runs the local services' `gates` against a fresh [`server`] in a fresh
/// project and returns the project (kept for the test's life) and the run's
/// `junit.xml`.
fn run(gates: &str) -> (tempfile::TempDir, PathBuf) {
    let yaml = local_services(&server(), gates);
    let dir = tempfile::tempdir().unwrap();
    let (pg, redis) = support::pg_and_redis();
    support::write_checkpoint(dir.path(), "1.yaml", &yaml);
    let out = checkpoint()
        .current_dir(dir.path())
        .args(["run", "1", "--var", &format!("PG={pg}"), "--var", &format!("REDIS={redis}")])
        .output()
        .unwrap();
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&out.stderr));
    let xml = dir.path().join("checkpoint-results/junit.xml");
    (dir, xml)
}

/// The venv scripts/provision.sh makes, or None (a note) outside CI.
pub(crate) fn tools() -> Option<PathBuf> {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/tools/junit/bin");
    if bin.join("junit2html").is_file() && bin.join("python").exists() {
        return Some(bin);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "junitparser/junit2html missing in {} (scripts/provision.sh installs them)",
        bin.display()
    );
    eprintln!("note: junitparser/junit2html not installed; run scripts/provision.sh");
    None
}

/// What junitparser's xunit2 reading sees: totals and, per testcase, its
/// results (tag, message, text) and flaky/rerun elements.
const READ: &str = r#"
import json, sys
from junitparser.xunit2 import JUnitXml
x = JUnitXml.fromfile(sys.argv[1])
def res(r):
    return {"tag": r._tag, "message": r.message, "text": r.text}
def extra(e):
    return {"message": e.message, "system_out": e.system_out}
cases = []
for s in x:
    for c in s:
        cases.append({"suite": s.name, "name": c.name, "time": c.time, "results": [res(r) for r in c.result],
                      "flaky": [extra(e) for e in c.flaky_failures() + c.flaky_errors()],
                      "rerun": [extra(e) for e in c.rerun_failures() + c.rerun_errors()],
                      "system_out": c.system_out})
print(json.dumps({"tests": x.tests, "failures": x.failures, "errors": x.errors, "skipped": x.skipped, "cases": cases}))
"#;

pub(crate) fn junitparser(bin: &Path, xml: &Path) -> Value {
    let out = std::process::Command::new(bin.join("python")).args(["-c", READ]).arg(xml).output().unwrap();
    assert!(out.status.success(), "junitparser: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

pub(crate) fn junit2html(bin: &Path, xml: &Path) -> String {
    let html = xml.with_extension("junit2html.html");
    let out = std::process::Command::new(bin.join("junit2html")).arg(xml).arg(&html).output().unwrap();
    assert!(out.status.success(), "junit2html: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read_to_string(html).unwrap()
}

fn case<'a>(read: &'a Value, name: &str) -> &'a Value {
    read["cases"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}: {read}"))
}

#[test]
fn readers_show_a_healthy_run_as_all_passed() {
    let Some(bin) = tools() else { return };
    let (_dir, xml) = run(HEALTHY);
    let read = junitparser(&bin, &xml);
    assert_eq!(
        (read["tests"].as_u64(), read["failures"].as_u64(), read["errors"].as_u64()),
        (Some(3), Some(0), Some(0))
    );
    for name in ["health", "select one", "ping"] {
        assert_eq!(case(&read, name)["results"], serde_json::json!([]), "{name} passed");
    }
    let html = junit2html(&bin, &xml);
    for name in ["health", "select one", "ping"] {
        assert!(html.contains(name), "junit2html lists {name}");
    }
}

#[test]
fn readers_show_the_reason_and_location_of_every_red_check() {
    let Some(bin) = tools() else { return };
    let (_dir, xml) = run(BROKEN);
    let read = junitparser(&bin, &xml);
    assert_eq!(read["tests"].as_u64(), Some(6), "{read}");
    assert_eq!(read["failures"].as_u64(), Some(3), "{read}");
    assert_eq!(read["errors"].as_u64(), Some(1), "{read}");
    let skipped = read["cases"].as_array().unwrap().iter().filter(|c| c["results"][0]["tag"] == "skipped").count();
    assert_eq!(skipped, 1, "{read}");
    let down = &case(&read, "GET /down")["results"][0];
    assert_eq!(down["tag"], "failure");
    let text = down["text"].as_str().unwrap();
    assert!(text.starts_with("status: expected 200, got 503"), "the reason first: {text}");
    assert!(text.contains("database unavailable"), "the response in the text: {text}");
    assert!(text.contains("at checkpoints/1.yaml:15:15"), "the location: {text}");
    let items = &case(&read, "items")["results"][0];
    assert_eq!(items["tag"], "failure");
    let text = items["text"].as_str().unwrap();
    assert!(text.starts_with("query failed: relation \"checkpoint_no_such_table\" does not exist"), "{text}");
    assert!(text.contains("at checkpoints/1.yaml:23:15"), "{text}");
    let unreachable = &case(&read, "unreachable")["results"][0];
    assert_eq!(unreachable["tag"], "failure");
    let text = unreachable["text"].as_str().unwrap();
    assert_eq!(text.lines().next(), unreachable["message"].as_str(), "the reason first");
    assert!(text.contains("at checkpoints/1.yaml:28:15"), "{text}");
    // Could not observe in time: an `error`, its reason first too.
    let slow = &case(&read, "GET /slow")["results"][0];
    assert_eq!(slow["tag"], "error", "{slow}");
    let text = slow["text"].as_str().unwrap();
    assert_eq!(text.lines().next(), slow["message"].as_str(), "the reason first");
    assert!(text.contains("at checkpoints/1.yaml:33:15"), "{text}");
    let skipped = &case(&read, "after")["results"][0];
    assert_eq!(skipped["tag"], "skipped");
    assert!(skipped["text"].as_str().unwrap().contains("did not pass"), "{skipped}");
    // junit2html shows the same text.
    let html = junit2html(&bin, &xml);
    assert!(html.contains("status: expected 200, got 503"));
    assert!(html.contains("at checkpoints/1.yaml:15:15"));
    assert!(html.contains("checkpoint_no_such_table"));
}

/// GitLab keeps a `failure`/`error`'s text and drops `message` when there is
/// text: every red element's text must start with the one-line reason.
#[test]
fn gitlab_rule_text_wins_over_message_and_still_says_why() {
    let (_dir, xml) = run(BROKEN);
    let xml = std::fs::read_to_string(xml).unwrap();
    let mut red = 0;
    for elem in ["<failure ", "<error "] {
        for part in xml.split(elem).skip(1) {
            red += 1;
            let message = unescape(part.split("message=\"").nth(1).and_then(|m| m.split('"').next()).unwrap());
            let text = unescape(part.split('>').nth(1).and_then(|t| t.split("</").next()).unwrap());
            assert!(!text.trim().is_empty(), "a red element without text: {part}");
            // What GitLab shows (the text) starts with what `message` says.
            let first = text.lines().next().unwrap();
            let shown = message.split(" (after").next().unwrap();
            assert!(first.starts_with(shown) || shown.starts_with(first), "message {message:?}, text {first:?}");
            assert!(text.contains("at checkpoints/1.yaml:"), "{text}");
        }
    }
    assert_eq!(red, 4);
}

/// XML/HTML character references back to text (the named ones, and the
/// numeric quotes junit2html writes).
pub(crate) fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&apos;", "'")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[test]
fn readers_see_a_flaky_check_and_its_attempts() {
    let Some(bin) = tools() else { return };
    let (_dir, xml) = run(FLAKY);
    let read = junitparser(&bin, &xml);
    assert_eq!((read["tests"].as_u64(), read["failures"].as_u64()), (Some(1), Some(0)), "{read}");
    let c = case(&read, "eventually ready");
    assert_eq!(c["results"], serde_json::json!([]), "it passed in the end");
    let flaky = c["flaky"].as_array().unwrap();
    assert_eq!(flaky.len(), 2, "two flaky failures: {c}");
    for (i, f) in flaky.iter().enumerate() {
        assert!(f["message"].as_str().unwrap().contains("expected 200, got 503"), "{f}");
        let out = f["system_out"].as_str().unwrap();
        assert!(out.starts_with(&format!("attempt {} of 3", i + 1)), "{out}");
        assert!(out.contains("expected 200, got 503"), "each attempt keeps its reason: {out}");
        // ... and what it saw itself (the last attempt's evidence is a 200).
        assert!(out.contains("\n  saw: GET ") && out.contains("/flaky → 503"), "each attempt's own evidence: {out}");
    }
    let text = c["system_out"].as_str().unwrap();
    assert!(text.contains("FLAKY: passed on attempt 3 of 3; earlier: 1: failed"), "{text}");
    for i in 1..=2 {
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("  attempt {i} saw: GET ")))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(line.ends_with("503 Service Unavailable") || line.contains("/flaky → 503"), "{line}");
    }
    let html = junit2html(&bin, &xml);
    assert!(html.contains("passed on attempt 3 of 3"), "junit2html shows the check was flaky");
}
