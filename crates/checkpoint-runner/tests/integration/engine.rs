//! The engine against real components: an in-process HTTP server (axum),
//! the Postgres and Redis servers started by `scripts/test-services.sh`
//! (`CHECKPOINT_TEST_PG`, `CHECKPOINT_TEST_REDIS`), and host commands.
//! Checkpoints are written as YAML and go through the real loader.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use checkpoint_model::result::Status;
use checkpoint_runner::engine::CancelReason;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::support::{self, Run, pg, redis};

/// A small API: health, login with a token, a protected resource, a flaky endpoint, a slow one.
async fn server() -> String {
    let flaky = Arc::new(AtomicU32::new(0));
    let app = axum::Router::new()
        .route("/health", get(|| async { Json(json!({"status": "ok", "components": {"db": {"status": "healthy"}}})) }))
        .route("/down", get(|| async { (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "degraded"}))) }))
        .route(
            "/login",
            post(|Json(body): Json<Value>| async move {
                if body["password"] == "pw-123456" {
                    (StatusCode::OK, Json(json!({"access_token": "tok-abcdef123456", "token_type": "bearer"})))
                } else {
                    (StatusCode::UNAUTHORIZED, Json(json!({"error": "bad credentials"})))
                }
            }),
        )
        .route(
            "/me",
            get(|headers: HeaderMap| async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer tok-abcdef123456") {
                    (StatusCode::OK, Json(json!({"email": "a@example.com"})))
                } else {
                    (StatusCode::UNAUTHORIZED, Json(json!({"error": "no token"})))
                }
            }),
        )
        .route(
            "/flaky",
            get(|State(n): State<Arc<AtomicU32>>| async move {
                if n.fetch_add(1, Ordering::SeqCst) < 2 { StatusCode::INTERNAL_SERVER_ERROR } else { StatusCode::OK }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .with_state(flaky);
    support::serve(app).await
}

async fn run_yaml(yaml: &str, vars: &[(&str, &str)], cancel: CancellationToken) -> Run {
    Run { gates: support::run(yaml, support::Setup { vars, cancel, ..Default::default() }).await }
}

#[tokio::test]
async fn http_expectations_captures_and_needs() {
    let api = server().await;
    let yaml = r#"
gates:
  - id: health
    title: "/health reports the database healthy"
    checks:
      - name: health answers
        http: { url: "${API}/health" }
        expect:
          status: 200
          headers: { content-type: { contains: json } }
          json:
            $.status: ok
            $.components.db.status: healthy
          duration: { lt: 2s }
  - id: auth
    title: Authentication working end-to-end
    checks:
      - name: login
        http:
          method: POST
          url: "${API}/login"
          json: { email: a@example.com, password: pw-123456 }
        expect: { status: 200 }
        capture: { TOKEN: $.access_token }
      - name: me with the token
        http:
          url: "${API}/me"
          headers: { Authorization: "Bearer ${TOKEN}" }
        expect: { json: { $.email: a@example.com } }
  - id: uses-auth
    title: A later gate sees captures of the gates it needs
    needs: [auth]
    checks:
      - name: me again
        http: { url: "${API}/me", headers: { Authorization: "Bearer ${TOKEN}" } }
  - id: degraded
    title: A failing gate says why in one line
    severity: should
    checks:
      - name: down endpoint
        http: { url: "${API}/down" }
        expect: { status: 200, json: { $.status: ok } }
      - name: never runs
        http: { url: "${API}/health" }
  - id: after-degraded
    title: Skipped because what it needs failed
    needs: [degraded]
    checks:
      - name: whatever
        http: { url: "${API}/health" }
"#;
    let run = run_yaml(yaml, &[("API", &server_url(&api))], CancellationToken::new()).await;
    let ids: Vec<&str> = run.gates.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["health", "auth", "uses-auth", "degraded", "after-degraded"], "definition order");
    assert_eq!(run.gate("health").status, Status::Passed, "{:?}", run.gate("health"));
    assert_eq!(run.gate("auth").status, Status::Passed, "{:?}", run.gate("auth"));
    assert_eq!(run.gate("uses-auth").status, Status::Passed, "{:?}", run.gate("uses-auth"));
    let d = run.gate("degraded");
    assert_eq!(d.status, Status::Failed);
    assert_eq!(d.reason.as_deref(), Some("down endpoint: status: expected 200, got 503"));
    assert_eq!(d.checks[1].status, Status::Skipped);
    let ev = d.checks[0].evidence.as_deref().unwrap();
    assert!(ev.contains("→ 503 Service Unavailable"), "{ev}");
    assert!(ev.contains("2 expectations failed"), "{ev}");
    let a = run.gate("after-degraded");
    assert_eq!(a.status, Status::Skipped);
    assert_eq!(a.reason.as_deref(), Some("needs `degraded`, which failed"));
}

fn server_url(s: &str) -> String {
    s.to_string()
}

#[tokio::test]
async fn retry_timeout_and_connection_refused() {
    let api = server().await;
    // A port nobody listens on.
    let closed = support::closed_port();
    let yaml = format!(
        r#"
gates:
  - id: flaky
    title: Eventually consistent
    checks:
      - name: flaky becomes ok
        http: {{ url: "{api}/flaky" }}
        retry: {{ until: 10s, every: 100ms }}
  - id: slow
    title: Too slow
    checks:
      - name: slow endpoint
        http: {{ url: "{api}/slow" }}
        timeout: 300ms
  - id: refused
    title: Service down
    checks:
      - name: nobody listens
        http: {{ url: "http://127.0.0.1:{closed}/health" }}
  - id: tcp
    title: Port closed
    checks:
      - name: tcp closed
        tcp: {{ address: "127.0.0.1:{closed}" }}
"#
    );
    let run = run_yaml(&yaml, &[], CancellationToken::new()).await;
    let f = run.gate("flaky");
    assert_eq!(f.status, Status::Passed, "{f:?}");
    assert_eq!(f.checks[0].attempts.len(), 3, "two failures then a pass: {:?}", f.checks[0].attempts);
    assert_eq!(f.checks[0].attempts[0].status, Status::Failed);
    // Start offsets (for the HTML timeline): the gate, its check and each
    // attempt, in order, the attempts `every` apart.
    let (g0, c0) = (f.started_ms.unwrap(), f.checks[0].started_ms.unwrap());
    assert!(g0 <= c0, "{g0} {c0}");
    let starts: Vec<f64> = f.checks[0].attempts.iter().map(|a| a.started_ms.unwrap()).collect();
    assert!(starts[0] >= c0 && starts.windows(2).all(|w| w[1] - w[0] >= 100.0), "{starts:?}");
    run.ended("slow", Status::TimedOut, "no result within 300ms");
    run.ended("refused", Status::Failed, "connection refused");
    assert_eq!(run.gate("tcp").status, Status::Failed);
}

#[tokio::test]
async fn postgres_queries_tables_and_errors() {
    let dsn = pg();
    let yaml = r#"
vars:
  DSN: "${PG}"
gates:
  - id: queries
    title: Backend ↔ Database queries working
    checks:
      - name: typed values come back as JSON
        postgres:
          dsn: "${DSN}"
          query: "SELECT 1 AS n, now() AS at, '{\"a\":1}'::jsonb AS j, 12.50::numeric AS price, gen_random_uuid() AS id"
        expect:
          row_count: 1
          json:
            $[0].n: 1
            $[0].j.a: 1
            $[0].price: 12.5
            $[0].id: { matches: "^[0-9a-f-]{36}$" }
            $[0].at: { type: string }
  - id: catalog
    title: Database migrations executed
    checks:
      - name: pg_database has columns
        postgres: { dsn: "${DSN}", table: pg_catalog.pg_database, columns: [datname, datistemplate] }
  - id: missing-table
    title: A missing table is named
    checks:
      - name: users exists
        postgres: { dsn: "${DSN}", table: users_that_do_not_exist }
  - id: bad-sql
    title: A failing query says why
    checks:
      - name: syntax
        postgres: { dsn: "${DSN}", query: "SELECT * FROM nowhere_table" }
  - id: bad-password
    title: Wrong credentials fail
    checks:
      - name: wrong password
        postgres: { dsn: "postgres://checkpoint:wrong-password@127.0.0.1:55432/checkpoint_test", query: "SELECT 1" }
"#;
    let run = run_yaml(yaml, &[("PG", &dsn)], CancellationToken::new()).await;
    assert_eq!(run.gate("queries").status, Status::Passed, "{:#?}", run.gate("queries"));
    assert_eq!(run.gate("catalog").status, Status::Passed, "{:#?}", run.gate("catalog"));
    let m = run.gate("missing-table");
    assert_eq!(m.status, Status::Failed);
    assert_eq!(m.reason.as_deref(), Some("users exists: table `public.users_that_do_not_exist` does not exist"));
    run.ended("bad-sql", Status::Failed, "relation \"nowhere_table\" does not exist");
    run.ended("bad-password", Status::Failed, "password authentication failed");
}

#[tokio::test]
async fn redis_commands_and_queue_round_trip() {
    let url = redis();
    let yaml = r#"
gates:
  - id: redis
    title: Redis connectivity
    checks:
      - name: ping
        redis: { url: "${REDIS}", command: [PING] }
        expect: { reply: PONG }
      - name: queue round trip
        redis:
          url: "${REDIS}"
          commands: [[DEL, "cp:q:${run.id}"], [LPUSH, "cp:q:${run.id}", job-1], [RPOP, "cp:q:${run.id}"]]
        expect: { reply: job-1 }
  - id: wrong
    title: A wrong reply is named
    checks:
      - name: get missing key
        redis: { url: "${REDIS}", command: [GET, "cp:missing:${run.id}"] }
        expect: { reply: { exists: true, type: string } }
"#;
    let mut extra = vec![("REDIS", url.as_str())];
    extra.push(("run.id", "t1"));
    let run = run_yaml(yaml, &extra, CancellationToken::new()).await;
    assert_eq!(run.gate("redis").status, Status::Passed, "{:#?}", run.gate("redis"));
    let w = run.gate("wrong");
    assert_eq!(w.status, Status::Failed);
    assert_eq!(w.reason.as_deref(), Some("get missing key: reply: expected a value of type string, got null null"));
}

#[tokio::test]
async fn commands_exit_codes_and_output() {
    let yaml = r#"
gates:
  - id: cmd
    title: Host commands
    checks:
      - name: echo json
        command: { argv: [sh, -c, "echo '{\"ok\": true}'"] }
        expect: { json: { $.ok: true }, stdout: { contains: ok } }
      - name: shell pipeline with stdin
        command: { shell: "tr a-z A-Z", stdin: "hello" }
        expect: { stdout: HELLO }
  - id: exit1
    title: A non-zero exit fails by default
    checks:
      - name: false
        command: { argv: ["false"] }
  - id: said
    title: A failed exit says what the program said last
    checks:
      - name: migrate
        command: { shell: "echo 'running upgrade'; echo 'ERROR: cannot locate revision abc123' >&2; echo >&2; exit 2" }
  - id: said-stdout
    title: Or on stdout when stderr is empty
    checks:
      - name: quiet on stderr
        command: { shell: "echo 'only stdout'; exit 3" }
  - id: missing
    title: A missing program is named
    checks:
      - name: no such program
        command: { argv: [definitely-not-a-program-xyz] }
"#;
    let run = run_yaml(yaml, &[], CancellationToken::new()).await;
    assert_eq!(run.gate("cmd").status, Status::Passed, "{:#?}", run.gate("cmd"));
    assert_eq!(run.gate("exit1").reason.as_deref(), Some("false: exit_code: expected 0, got 1"));
    assert_eq!(
        run.gate("said").checks[0].message.as_deref(),
        Some("exit_code: expected 0, got 2 — stderr: ERROR: cannot locate revision abc123")
    );
    assert_eq!(
        run.gate("said-stdout").checks[0].message.as_deref(),
        Some("exit_code: expected 0, got 3 — stdout: only stdout")
    );
    assert!(run.gate("missing").reason.as_deref().unwrap().contains("cannot start `definitely-not-a-program-xyz`"));
}

#[tokio::test]
async fn stack_checks_are_skipped_on_an_external_target() {
    let yaml = r#"
gates:
  - id: exec
    title: Needs Docker
    checks:
      - name: exec in api
        exec: { service: api, argv: ["true"] }
"#;
    let run = run_yaml(yaml, &[], CancellationToken::new()).await;
    run.ended("exec", Status::Skipped, "needs the Docker engine");
}

#[tokio::test]
async fn cancellation_reports_cancelled_not_failed() {
    let api = server().await;
    let yaml = format!(
        r#"
gates:
  - id: slow
    title: Slow
    checks:
      - name: slow endpoint
        http: {{ url: "{api}/slow" }}
        timeout: 30s
  - id: later
    title: After slow
    needs: [slow]
    checks:
      - name: health
        http: {{ url: "{api}/health" }}
"#
    );
    let cancel = support::cancel_after(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let run = run_yaml(&yaml, &[], cancel).await;
    assert!(started.elapsed() < Duration::from_secs(4), "cancellation must be prompt: {:?}", started.elapsed());
    assert_eq!(run.gate("slow").status, Status::Cancelled);
    assert_ne!(run.gate("later").status, Status::Passed);
}

const THREE_GATES: &str = r#"
gates:
  - id: bad
    title: Fails at once
    checks:
      - name: false
        command: { shell: "sleep 0.3; false" }
  - id: slow
    title: Running when bad fails
    checks:
      - name: sleeps
        command: { argv: [sleep, "20"] }
        timeout: 30s
  - id: later
    title: Not started yet
    checks:
      - name: true
        command: { argv: ["true"] }
"#;

#[tokio::test]
async fn fail_fast_names_the_gate_in_running_and_pending_gates_and_returns_it() {
    let setup = support::Setup { jobs: 2, fail_fast: true, ..Default::default() };
    let started = std::time::Instant::now();
    let out = support::run_outcome(THREE_GATES, setup).await;
    assert!(started.elapsed() < Duration::from_secs(10), "fail-fast must stop the sleeper: {:?}", started.elapsed());
    assert_eq!(out.cancelled, Some(CancelReason::FailFast { gate: "bad".into() }));
    let gate = |id: &str| out.results.iter().find(|g| g.id == id).unwrap();
    assert_eq!(gate("bad").status, Status::Failed);
    // The running gate was cancelled by fail-fast, not by a Ctrl-C.
    assert_eq!(gate("slow").status, Status::Cancelled);
    assert_eq!(
        gate("slow").checks[0].message.as_deref(),
        Some("--fail-fast: gate `bad` failed"),
        "{:#?}",
        gate("slow")
    );
    assert_eq!(gate("later").status, Status::Cancelled);
    assert_eq!(gate("later").reason.as_deref(), Some("--fail-fast: gate `bad` failed"));
}

#[tokio::test]
async fn a_ctrl_c_before_a_failure_is_not_a_fail_fast() {
    let cancel = support::cancel_after(Duration::from_millis(100));
    let setup = support::Setup { jobs: 2, fail_fast: true, cancel, ..Default::default() };
    let out = support::run_outcome(THREE_GATES, setup).await;
    assert_eq!(out.cancelled, Some(CancelReason::Interrupted));
    for g in &out.results {
        assert_eq!(g.status, Status::Cancelled, "{g:#?}");
        assert!(!g.reason.as_deref().unwrap_or_default().contains("fail-fast"), "{g:#?}");
    }
}

#[tokio::test]
async fn a_run_that_was_not_cut_short_says_so() {
    let yaml = THREE_GATES.replace("sleep 0.3; false", "true").replace("\"20\"", "\"0\"");
    let out = support::run_outcome(&yaml, support::Setup::default()).await;
    assert_eq!(out.cancelled, None);
    assert!(out.results.iter().all(|g| g.status == Status::Passed), "{:#?}", out.results);
}

/// Whether a process whose command line contains `marker` is alive.
fn alive(marker: &str) -> bool {
    std::fs::read_dir("/proc").unwrap().filter_map(Result::ok).any(|e| {
        std::fs::read(e.path().join("cmdline"))
            .is_ok_and(|c| String::from_utf8_lossy(&c).replace('\0', " ").contains(marker))
    })
}

#[tokio::test]
async fn a_command_ends_with_its_own_process_and_takes_its_background_children_along() {
    // The grandchild keeps stdout open for 40 s; the command itself exits 0 at once.
    let yaml = r#"
gates:
  - id: bg
    title: A command that leaves a process behind
    checks:
      - name: start something in the background
        command: { shell: "(sleep 40.123 &); echo started" }
        expect: { stdout: { contains: started } }
        timeout: 20s
  - id: slow
    title: A command that times out
    checks:
      - name: hangs
        command: { shell: "(sleep 41.321 &); sleep 30" }
        timeout: 1s
"#;
    let t0 = std::time::Instant::now();
    let run = run_yaml(yaml, &[], CancellationToken::new()).await;
    assert!(t0.elapsed() < std::time::Duration::from_secs(10), "took {:?}", t0.elapsed());
    assert_eq!(run.gate("bg").status, Status::Passed, "{:#?}", run.gate("bg"));
    assert_eq!(run.gate("slow").status, Status::TimedOut, "{:#?}", run.gate("slow"));
    // Give the kernel a moment to reap, then nothing the checks started is left.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!alive("sleep 40.123"), "the background child outlived its check");
    assert!(!alive("sleep 41.321"), "a timed-out check's process group outlived it");
}

#[tokio::test]
async fn a_body_past_max_body_is_never_judged_and_says_its_size() {
    // A valid 9 MB JSON document, and a body that never ends.
    let big: String = {
        let item = r#"{"id":1,"name":"item"},"#;
        let mut s = String::from("[");
        while s.len() < 9_000_000 {
            s.push_str(item);
        }
        s.push_str(r#"{"id":2,"name":"last"}]"#);
        s
    };
    let size = big.len();
    let app = axum::Router::new()
        .route("/big", axum::routing::get(move || async move { ([("content-type", "application/json")], big.clone()) }))
        .route(
            "/endless",
            axum::routing::get(|| async {
                let chunks = futures::stream::repeat_with(|| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024]));
                axum::body::Body::from_stream(chunks)
            }),
        );
    let api = support::serve(app).await;
    let yaml = r#"
gates:
  - id: default-limit
    title: 9 MB against the default 8 MiB
    checks:
      - name: big json
        http: { url: "${API}/big" }
        expect: { json: { "$[-1:].name": last } }
  - id: raised
    title: the same with max_body raised
    checks:
      - name: big json
        http: { url: "${API}/big", max_body: 20MB }
        expect: { json: { "$[-1:].name": last } }
  - id: endless
    title: an endless body
    checks:
      - name: endless
        http: { url: "${API}/endless", max_body: 1MiB }
        expect: { body: { contains: "the end" } }
        timeout: 20s
  - id: status-only
    title: only the status is judged, the size does not matter
    checks:
      - name: endless, status only
        http: { url: "${API}/endless", max_body: 64KiB }
        expect: { status: 200 }
"#;
    let run = run_yaml(yaml, &[("API", &api)], CancellationToken::new()).await;
    let d = run.gate("default-limit");
    assert_eq!(d.status, Status::Errored, "{d:#?}");
    let why = d.reason.as_deref().unwrap();
    assert!(why.contains("larger than max_body (8.0 MiB)") && why.contains("raise `max_body:`"), "{why}");
    assert!(why.contains(&format!("{} (Content-Length)", checkpoint_model::size::human(size as u64))), "{why}");
    assert_eq!(run.gate("raised").status, Status::Passed, "{:#?}", run.gate("raised"));
    // An endless body never passes.
    run.ended("endless", Status::Errored, "more than 1.0 MiB");
    assert_eq!(run.gate("status-only").status, Status::Passed, "{:#?}", run.gate("status-only"));
}

#[tokio::test]
async fn a_port_that_accepts_and_closes_at_once_is_not_a_service() {
    // What Docker's proxy does on a published port when nothing listens in the container.
    let closing = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let closing_addr = closing.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((s, _)) = closing.accept().await {
            drop(s);
        }
    });
    // A real service: it keeps the connection open and waits for the client.
    let holding = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let holding_addr = holding.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut kept = Vec::new();
        while let Ok((s, _)) = holding.accept().await {
            kept.push(s);
        }
    });
    let yaml = r#"
gates:
  - id: proxy-only
    title: only a proxy
    checks:
      - name: connect
        tcp: { address: "${CLOSING}" }
  - id: service
    title: a listening service
    checks:
      - name: connect
        tcp: { address: "${HOLDING}" }
"#;
    let run = run_yaml(yaml, &[("CLOSING", &closing_addr), ("HOLDING", &holding_addr)], CancellationToken::new()).await;
    run.ended("proxy-only", Status::Failed, "closed it at once: nothing listens behind it");
    assert_eq!(run.gate("service").status, Status::Passed, "{:#?}", run.gate("service"));
}
