//! The `latency` kind against a real HTTP server served in-process (axum)
//! with known behaviour: a fixed delay, a known share of 500s, `Connection:
//! close` after every answer, a header and body it insists on; and a port
//! nobody listens on. Checkpoints go through the real loader and engine.
//!
//! Timing is asserted only where the server's delay dominates (p50 and p95
//! at least the delay, well under ten times it); the harness's own overhead is
//! measured by `scripts/bench-latency.sh` against wrk, not here.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::routing::{get, post};
use checkpoint_model::latency::Figures;
use checkpoint_model::result::{CheckResult, Status};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{self, Run};

#[derive(Default)]
struct Counts {
    all: AtomicU64,
    flaky: AtomicU64,
}

/// `/delay/{ms}`, `/fail-every/{n}` (every n-th answer is a 500), `/close`
/// (answers with `Connection: close`), `POST /echo` (400 without the token
/// header and the JSON body), `/health`, `POST /login` (sets the cookie
/// `session=s1`) and `/private` (401 without exactly that cookie; every
/// answer sets another session). Every request is counted.
async fn server() -> (String, Arc<Counts>) {
    let counts = Arc::new(Counts::default());
    let app = axum::Router::new()
        .route(
            "/delay/{ms}",
            get(|Path(ms): Path<u64>| async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                "ok"
            }),
        )
        .route(
            "/fail-every/{n}",
            get(|Path(n): Path<u64>, State(c): State<Arc<Counts>>| async move {
                if (c.flaky.fetch_add(1, Ordering::SeqCst) + 1) % n == 0 {
                    StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    StatusCode::OK
                }
            }),
        )
        .route("/close", get(|| async { ([(header::CONNECTION, "close")], "bye") }))
        .route(
            "/echo",
            post(|headers: HeaderMap, Json(body): Json<Value>| async move {
                let token = headers.get("x-token").and_then(|v| v.to_str().ok());
                if token == Some("abc") && body == json!({"a": 1}) { StatusCode::OK } else { StatusCode::BAD_REQUEST }
            }),
        )
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route("/login", post(|| async { [(header::SET_COOKIE, "session=s1; Path=/; HttpOnly")] }))
        .route(
            "/private",
            get(|headers: HeaderMap| async move {
                let cookie = headers.get(header::COOKIE).and_then(|v| v.to_str().ok()).unwrap_or_default();
                let status = if cookie == "session=s1" { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
                (status, [(header::SET_COOKIE, "session=rotated; Path=/")])
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            counts.clone(),
            |State(c): State<Arc<Counts>>, req: axum::extract::Request, next: axum::middleware::Next| async move {
                c.all.fetch_add(1, Ordering::SeqCst);
                next.run(req).await
            },
        ))
        .with_state(counts.clone());
    (support::serve(app).await, counts)
}

/// A loopback URL on which nothing listens.
fn refused_url() -> String {
    format!("http://127.0.0.1:{}", support::closed_port())
}

impl Run {
    fn check(&self, id: &str) -> &CheckResult {
        &self.gate(id).checks[0]
    }
    fn figures(&self, id: &str) -> Figures {
        let c = self.check(id);
        Figures::from_metrics(c.metrics.as_ref().unwrap_or_else(|| panic!("no metrics: {c:#?}"))).unwrap()
    }
}

async fn run_yaml(yaml: &str, cancel: CancellationToken) -> Run {
    Run { gates: support::run(yaml, support::Setup { cancel, ..Default::default() }).await }
}

fn one_gate(id: &str, check: &str) -> String {
    format!("gates:\n  - id: {id}\n    title: {id}\n    checks:\n{check}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn percentiles_reflect_the_servers_delay() {
    let (api, counts) = server().await;
    let yaml = one_gate(
        "p95",
        &format!(
            r#"      - name: GET /delay/20 p95 under 2s
        latency: {{ url: "{api}/delay/20", requests: 60, concurrency: 4, warmup: 8 }}
        expect:
          p95: {{ lt: 2s }}
          requests: 60
          json: {{ "$.status_codes['200']": 60 }}
"#
        ),
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    let g = run.gate("p95");
    assert_eq!(g.status, Status::Passed, "{g:#?}");
    let f = run.figures("p95");
    assert_eq!((f.requests, f.errors, f.concurrency), (60, 0, 4));
    assert_eq!(counts.all.load(Ordering::SeqCst), 68, "8 warmup requests are sent, not measured");
    for (name, v) in f.percentiles() {
        assert!(v >= 20.0, "{name} {v}ms is below the server's 20ms delay");
    }
    let (p50, p95) = (f.p50.unwrap(), f.p95.unwrap());
    assert!(p50 < 200.0, "p50 {p50}ms: the 20ms delay should dominate");
    assert!(p50 <= p95 && p95 <= f.max.unwrap() && f.min.unwrap() <= p50, "{f:?}");
    assert_eq!(f.histogram.iter().map(|b| b.count).sum::<u64>(), 60, "every response is in a bucket");
    assert!(f.histogram.len() <= 10);
    assert!(f.rps > 0.0 && f.duration_ms >= 20.0 * 60.0 / 4.0, "{f:?}");
    let ev = run.check("p95").evidence.as_deref().unwrap();
    assert!(ev.contains(&format!("GET {api}/delay/20")), "{ev}");
    assert!(ev.contains("60 requests in "), "{ev}");
    assert!(ev.contains("p95 "), "{ev}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_p95_fails_with_a_one_line_reason() {
    let (api, _) = server().await;
    let yaml = one_gate(
        "slow",
        &format!(
            r#"      - name: GET /delay/20 p95 under 5ms
        latency: {{ url: "{api}/delay/20", requests: 20, concurrency: 2 }}
        expect: {{ p95: {{ lt: 5ms }} }}
"#
        ),
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    let c = run.check("slow");
    assert_eq!(c.status, Status::Failed);
    let reason = c.message.as_deref().unwrap();
    assert!(reason.starts_with("p95: expected < 5ms, got "), "{reason}");
    assert!(reason.ends_with("ms (20 requests, c=2)"), "{reason}");
    assert!(c.metrics.is_some(), "the figures are reported for a failed check too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn error_rate_counts_a_known_share_of_500s() {
    let (tolerant, _) = server().await;
    let (strict, _) = server().await;
    let yaml = format!(
        r#"gates:
  - id: tolerant
    title: Up to a quarter may fail
    checks:
      - name: every fifth fails
        latency: {{ url: "{tolerant}/fail-every/5", requests: 100, concurrency: 4 }}
        expect: {{ error_rate: {{ lte: 25% }}, errors: 20 }}
  - id: strict
    title: The default allows no error
    checks:
      - name: every fifth fails
        latency: {{ url: "{strict}/fail-every/5", requests: 100, concurrency: 4 }}
        expect: {{ p95: {{ lt: 2s }} }}
"#
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    assert_eq!(run.gate("tolerant").status, Status::Passed, "{:#?}", run.gate("tolerant"));
    let f = run.figures("tolerant");
    assert_eq!((f.requests, f.errors), (100, 20));
    assert!((f.error_rate - 0.2).abs() < 1e-9);
    assert_eq!(f.status_codes.get("500"), Some(&20));
    assert!(f.p95.is_some(), "responses with an error status are timed too");
    let s = run.check("strict");
    assert_eq!(s.status, Status::Failed);
    assert_eq!(
        s.message.as_deref(),
        Some("error_rate: expected ≤ 0%, got 20% — 20 of 100 requests failed: HTTP 500 Internal Server Error")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_port_fails_with_error_rate_one() {
    let url = refused_url();
    let yaml = one_gate(
        "down",
        &format!(
            r#"      - name: nothing listens
        latency: {{ url: "{url}/health", requests: 40, concurrency: 4 }}
        expect: {{ p95: {{ lt: 200ms }} }}
"#
        ),
    );
    let started = Instant::now();
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    let c = run.check("down");
    assert_eq!(c.status, Status::Failed, "{c:#?}");
    assert_eq!(
        c.message.as_deref(),
        Some("all 40 requests failed: connection refused (is the service up, and is the port published?)")
    );
    let f = run.figures("down");
    assert_eq!((f.requests, f.errors, f.error_rate), (40, 40, 1.0));
    assert_eq!(f.p95, None, "no response, no latency");
    assert_eq!(f.error_kinds[0].error, "connection refused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_rate_is_roughly_respected() {
    let (api, counts) = server().await;
    let yaml = one_gate(
        "rate",
        &format!(
            r#"      - name: 50 requests/s for a second
        latency: {{ url: "{api}/health", duration: 1s, rate: 50, concurrency: 4 }}
"#
        ),
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    assert_eq!(run.gate("rate").status, Status::Passed, "{:#?}", run.gate("rate"));
    let f = run.figures("rate");
    assert_eq!(f.requests, 50, "one request every 20ms for 1s: {f:?}");
    assert_eq!(counts.all.load(Ordering::SeqCst), 50);
    assert!((0.9..1.3).contains(&(f.duration_ms / 1000.0)), "{f:?}");
    assert!((40.0..56.0).contains(&f.rps), "{f:?}");
    assert_eq!(f.rate, Some(50.0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keep_alive_closed_by_the_server_is_reopened_and_counted() {
    let (api, counts) = server().await;
    let yaml = one_gate(
        "close",
        &format!(
            r#"      - name: the server closes every connection
        latency: {{ url: "{api}/close", requests: 20, concurrency: 1 }}
"#
        ),
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    assert_eq!(run.gate("close").status, Status::Passed, "{:#?}", run.gate("close"));
    let f = run.figures("close");
    assert_eq!((f.requests, f.errors), (20, 0));
    assert!(f.reconnects >= 19, "one reconnect per request after the first: {f:?}");
    assert_eq!(counts.all.load(Ordering::SeqCst), 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn method_headers_and_json_body_reach_the_server() {
    let (api, _) = server().await;
    let yaml = format!(
        r#"gates:
  - id: post
    title: POST with a token and a JSON body
    checks:
      - name: echo
        latency:
          url: "{api}/echo"
          method: POST
          headers: {{ X-Token: abc }}
          json: {{ a: 1 }}
          requests: 10
          concurrency: 2
  - id: wrong
    title: Without the token every answer is a 400
    checks:
      - name: echo without token
        latency: {{ url: "{api}/echo", method: POST, json: {{ a: 1 }}, requests: 10, concurrency: 2 }}
"#
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    assert_eq!(run.gate("post").status, Status::Passed, "{:#?}", run.gate("post"));
    let w = run.check("wrong");
    assert_eq!(w.status, Status::Failed);
    assert_eq!(w.message.as_deref(), Some("all 10 requests failed: HTTP 400 Bad Request"));
}

/// A latency check sends the session an earlier `http` check of its gate
/// logged in with, as it is when the measurement starts: what its responses
/// set is not kept, and `cookies: false` sends none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gates_session_cookie_goes_with_every_request() {
    let (api, counts) = server().await;
    let yaml = format!(
        r#"gates:
  - id: logged-in
    title: P95 of an authenticated page
    checks:
      - name: log in
        http: {{ method: POST, url: "{api}/login" }}
      - name: private page
        latency: {{ url: "{api}/private", requests: 20, concurrency: 2 }}
      - name: still the login's session
        http: {{ url: "{api}/private" }}
  - id: opted-out
    title: cookies false sends none
    needs: [logged-in]
    checks:
      - name: private page without cookies
        latency: {{ url: "{api}/private", requests: 5, concurrency: 1, cookies: false }}
"#
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    let g = run.gate("logged-in");
    assert_eq!(g.status, Status::Passed, "{g:#?}");
    let measured = &g.checks[1];
    let f = Figures::from_metrics(measured.metrics.as_ref().unwrap()).unwrap();
    assert_eq!((f.requests, f.errors), (20, 0), "{measured:#?}");
    let evidence = measured.evidence.as_deref().unwrap_or_default();
    assert!(evidence.contains("cookie: session=s1\n"), "the evidence shows the cookie sent: {evidence}");
    run.ended("opted-out", Status::Failed, "all 5 requests failed: HTTP 401 Unauthorized");
    assert_eq!(counts.all.load(Ordering::SeqCst), 1 + 20 + 1 + 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checks_timeout_stops_the_run_and_says_so() {
    let (api, _) = server().await;
    let yaml = one_gate(
        "stuck",
        &format!(
            r#"      - name: answers take 5s
        latency: {{ url: "{api}/delay/5000", requests: 6, concurrency: 2 }}
        timeout: 1s
"#
        ),
    );
    let started = Instant::now();
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    let c = run.check("stuck");
    assert_eq!(c.status, Status::Failed, "the figures so far are reported, not a bare time-out: {c:#?}");
    assert_eq!(
        c.message.as_deref(),
        Some("the check's timeout (1.00s) stopped the run: 6 of 6 requests had no response; set a longer `timeout:`")
    );
    let f = run.figures("stuck");
    assert_eq!((f.requests, f.errors, f.unfinished), (6, 6, 6));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancellation_stops_a_long_run_promptly() {
    let (api, _) = server().await;
    let yaml = one_gate(
        "long",
        &format!(
            r#"      - name: a minute of requests
        latency: {{ url: "{api}/delay/5", duration: 60s, concurrency: 4 }}
"#
        ),
    );
    let cancel = support::cancel_after(Duration::from_millis(300));
    let started = Instant::now();
    let run = run_yaml(&yaml, cancel).await;
    assert!(started.elapsed() < Duration::from_secs(3), "cancellation must be prompt: {:?}", started.elapsed());
    assert_eq!(run.gate("long").status, Status::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_goes_through_the_runs_client_with_the_same_accounting() {
    // No TLS server here: a refused https:// port still takes the reqwest
    // path end to end (connect, error description, counting).
    let url = refused_url().replace("http://", "https://");
    let yaml = one_gate(
        "tls",
        &format!(
            r#"      - name: nothing listens
        latency: {{ url: "{url}/health", requests: 12, concurrency: 3 }}
"#
        ),
    );
    let run = run_yaml(&yaml, CancellationToken::new()).await;
    let c = run.check("tls");
    assert_eq!(c.status, Status::Failed, "{c:#?}");
    assert_eq!(
        c.message.as_deref(),
        Some("all 12 requests failed: connection refused (is the service up, and is the port published?)")
    );
    assert_eq!(run.figures("tls").requests, 12);
}
