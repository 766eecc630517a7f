//! Quality gates against real components: a Prometheus endpoint served
//! in-process (axum) whose request counter really increments, the test
//! Postgres (`CHECKPOINT_TEST_PG`: schemas and tables prefixed `quality_`),
//! and real Redis servers — the shared one (`CHECKPOINT_TEST_REDIS`) and a
//! private `redis-server` for the hit ratio, because `INFO stats` is
//! server-wide and other tests' GETs would move a shared server's figures.
//! Checkpoints are written as YAML and go through the real loader.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use checkpoint_model::result::Status;
use serde_json::json;
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::support::{self, Run, pg, redis};

/// Loads `yaml` as `checkpoints/1.yaml` of a fresh project (plus `files`
/// relative to its root) and runs every gate.
async fn run_yaml(yaml: &str, vars: &[(&str, &str)], files: &[(&str, &str)]) -> Run {
    Run { gates: support::run(yaml, support::Setup { vars, files, jobs: 1, ..Default::default() }).await }
}

type Counts = Arc<Mutex<BTreeMap<(String, u16), u64>>>;

/// An API that counts its requests by route and status and renders them the
/// way the demo service does (`route="/items/{id}"` included).
async fn metrics_server() -> String {
    let counts: Counts = Arc::new(Mutex::new(BTreeMap::new()));
    counts.lock().unwrap().insert(("/health".into(), 200), 1);
    counts.lock().unwrap().insert(("/items/{id}".into(), 404), 2);
    let app = axum::Router::new()
        .route(
            "/health",
            get(|State(c): State<Counts>| async move {
                *c.lock().unwrap().entry(("/health".into(), 200)).or_default() += 1;
                "ok"
            }),
        )
        .route(
            "/metrics",
            get(|State(c): State<Counts>| async move {
                let mut out = String::from(
                    "# HELP http_requests_total Requests by route and status.\n# TYPE http_requests_total counter\n",
                );
                for ((route, status), n) in c.lock().unwrap().iter() {
                    out.push_str(&format!(
                        "http_requests_total{{method=\"GET\",route=\"{route}\",status=\"{status}\"}} {n}\n"
                    ));
                }
                out.push_str("# HELP process_open_fds Open fds.\n# TYPE process_open_fds gauge\nprocess_open_fds 12\n");
                out
            }),
        )
        .route("/broken", get(|| async { "http_requests_total{route=\"/health\" 3\n" }))
        .with_state(counts);
    support::serve(app).await
}

#[tokio::test]
async fn metrics_counter_increases_across_an_action() {
    let api = metrics_server().await;
    let yaml = r#"
gates:
  - id: monitoring
    title: Monitoring collecting metrics
    checks:
      - name: requests are counted
        metrics: { url: "${API}/metrics", metric: http_requests_total }
        expect: { value: { gt: 0 }, series: { gte: 2 } }
      - name: health counter before
        metrics:
          url: "${API}/metrics"
          metric: http_requests_total
          labels: { route: /health, status: "200" }
        capture: { BEFORE: $.value }
      - name: call health
        http: { url: "${API}/health" }
      - name: health counter increased
        metrics:
          url: "${API}/metrics"
          metric: http_requests_total
          labels: { route: /health, status: "200" }
        expect: { value: { gt: "${BEFORE}" }, json: { "$.series[0].labels.method": GET } }
  - id: unchanged
    title: Without an action in between the counter does not increase
    checks:
      - name: before
        metrics: { url: "${API}/metrics", metric: http_requests_total, labels: { route: "/items/{id}" } }
        capture: { ITEMS: $.value }
      - name: after
        metrics: { url: "${API}/metrics", metric: http_requests_total, labels: { route: "/items/{id}" } }
        expect: { value: { gt: "${ITEMS}" } }
  - id: aggregate
    title: Several series are aggregated
    checks:
      - name: count series
        metrics: { url: "${API}/metrics", metric: http_requests_total, aggregate: count }
        expect: { value: 2 }
  - id: misspelt
    title: A missing metric names the closest ones
    checks:
      - name: typo
        metrics: { url: "${API}/metrics", metric: http_request_total }
  - id: wrong-label
    title: A label value that is not there
    checks:
      - name: status 500
        metrics: { url: "${API}/metrics", metric: http_requests_total, labels: { status: "500" } }
  - id: broken
    title: A malformed exposition fails loudly
    checks:
      - name: broken page
        metrics: { url: "${API}/broken", metric: http_requests_total }
"#;
    let run = run_yaml(yaml, &[("API", &api)], &[]).await;
    let m = run.gate("monitoring");
    assert_eq!(m.status, Status::Passed, "{m:#?}");
    let u = run.gate("unchanged");
    assert_eq!(u.status, Status::Failed, "{u:#?}");
    assert_eq!(u.reason.as_deref(), Some("after: value: expected > 2, got 2"));
    assert_eq!(run.gate("aggregate").status, Status::Passed, "{:#?}", run.gate("aggregate"));
    let t = run.gate("misspelt");
    assert_eq!(t.status, Status::Failed);
    assert_eq!(
        t.reason.as_deref(),
        Some(
            "typo: metric `http_request_total` not found among 2 metric names; closest: `http_requests_total`, `process_open_fds`"
        )
    );
    let w = run.gate("wrong-label");
    assert_eq!(
        w.reason.as_deref(),
        Some(
            "status 500: no series matches `http_requests_total{status=\"500\"}`: `status` is one of \"200\", \"404\""
        )
    );
    let b = run.gate("broken");
    assert_eq!(b.status, Status::Failed);
    let reason = b.reason.as_deref().unwrap();
    assert!(reason.contains("is not valid Prometheus text format: at line:col 1:"), "{reason}");
    let ev = b.checks[0].evidence.as_deref().unwrap();
    assert!(ev.contains("http_requests_total{route=\"/health\" 3"), "the page is shown: {ev}");
}

async fn pg_exec(sql: &str) {
    let mut conn = PgConnection::connect(&pg()).await.unwrap();
    sqlx::raw_sql(AssertSqlSafe(sql.to_string())).execute(&mut conn).await.unwrap();
    conn.close().await.unwrap();
}

#[tokio::test]
async fn postgres_schema_drift_found_and_not_found() {
    let ns = format!("quality_drift_{}", std::process::id());
    pg_exec(&format!(
        "DROP SCHEMA IF EXISTS {ns} CASCADE; CREATE SCHEMA {ns};
         CREATE TABLE {ns}.items (id uuid PRIMARY KEY, name varchar(100) NOT NULL, price text,
                                  qty int4, tags text[], created_at timestamp(3) with time zone DEFAULT now());
         CREATE TABLE {ns}.users (id bigserial PRIMARY KEY, email character varying(255), active bool);"
    ))
    .await;
    let yaml = r#"
gates:
  - id: no-drift
    title: schema conflicts = 0
    checks:
      - name: aliases match
        postgres:
          dsn: "${PG}"
          schema:
            __NS__.items: { id: uuid, name: "varchar(100)", qty: integer, tags: "text[]", created_at: timestamptz }
            __NS__.users: { id: int8, email: varchar, active: boolean }
  - id: drift
    title: schema conflicts = 0 (drifted)
    checks:
      - name: drifted
        postgres:
          dsn: "${PG}"
          strict: true
          schema: &drifted
            __NS__.items: { id: uuid, name: "varchar(50)", price: numeric, qty: int, tags: "text[]", created_at: timestamptz, sku: text }
            __NS__.orders: { id: uuid }
  - id: relaxed
    title: A gate may tolerate known drift (the same schema, through an alias)
    checks:
      - name: at most six
        postgres:
          dsn: "${PG}"
          strict: true
          schema: *drifted
        expect: { conflicts: { lte: 6 }, json: { "$[0].kind": type_mismatch } }
  - id: from-file
    title: The expected schema from a file
    checks:
      - name: schema file
        postgres: { dsn: "${PG}", schema_file: db/expected.yaml }
  - id: missing-file
    title: A missing schema file is the definition's fault
    checks:
      - name: no such file
        postgres: { dsn: "${PG}", schema_file: db/nope.yaml }
"#;
    let file = format!("{ns}.users:\n  id: bigint\n  email: text\n");
    let yaml = yaml.replace("__NS__", &ns);
    let run = run_yaml(&yaml, &[("PG", &pg())], &[("db/expected.yaml", &file)]).await;
    pg_exec(&format!("DROP SCHEMA IF EXISTS {ns} CASCADE")).await;

    let ok = run.gate("no-drift");
    assert_eq!(ok.status, Status::Passed, "{ok:#?}");
    assert!(ok.checks[0].evidence.as_deref().unwrap().contains("no conflicts"));

    let d = run.gate("drift");
    assert_eq!(d.status, Status::Failed, "{d:#?}");
    assert_eq!(
        d.reason.as_deref(),
        Some(format!("drifted: conflicts: expected 0, got 4 — {ns}.items.name: expected varchar(50), found character varying(100)").as_str())
    );
    let ev = d.checks[0].evidence.as_deref().unwrap();
    for line in [
        format!("{ns}.items.name: expected varchar(50), found character varying(100)"),
        format!("{ns}.items.price: expected numeric, found text"),
        format!("{ns}.items.sku: column missing (expected text)"),
        format!("{ns}.orders: table missing"),
        "4 conflicts:".to_string(),
    ] {
        assert!(ev.contains(&line), "missing `{line}` in:\n{ev}");
    }
    // strict: every column the schema lists exists, so no unexpected ones; the
    // `relaxed` gate (same schema) passes with its own bound and sees the list.
    assert!(!ev.contains("unexpected column"), "{ev}");
    assert_eq!(run.gate("relaxed").status, Status::Passed, "{:#?}", run.gate("relaxed"));

    let f = run.gate("from-file");
    assert_eq!(f.status, Status::Failed, "{f:#?}");
    assert_eq!(
        f.reason.as_deref(),
        Some(format!("schema file: conflicts: expected 0, got 1 — {ns}.users.email: expected text, found character varying(255)").as_str())
    );
    assert!(!f.checks[0].evidence.as_deref().unwrap().contains("unexpected column"), "not strict");

    run.ended("missing-file", Status::Errored, "cannot read schema_file");
}

#[tokio::test]
async fn postgres_strict_reports_unexpected_columns() {
    let ns = format!("quality_strict_{}", std::process::id());
    pg_exec(&format!(
        "DROP SCHEMA IF EXISTS {ns} CASCADE; CREATE SCHEMA {ns}; CREATE TABLE {ns}.items (id uuid, legacy int2);"
    ))
    .await;
    let yaml = r#"
gates:
  - id: strict
    title: No column the schema does not know
    checks:
      - name: strict items
        postgres: { dsn: "${PG}", strict: true, schema: { "__NS__.items": { id: uuid } } }
  - id: lenient
    title: Extra columns are fine without strict
    checks:
      - name: lenient items
        postgres: { dsn: "${PG}", schema: { "__NS__.items": { id: uuid } } }
"#
    .replace("__NS__", &ns);
    let run = run_yaml(&yaml, &[("PG", &pg())], &[]).await;
    pg_exec(&format!("DROP SCHEMA IF EXISTS {ns} CASCADE")).await;
    assert_eq!(
        run.gate("strict").reason.as_deref(),
        Some(
            format!("strict items: conflicts: expected 0, got 1 — {ns}.items.legacy: unexpected column (smallint)")
                .as_str()
        )
    );
    assert_eq!(run.gate("lenient").status, Status::Passed, "{:#?}", run.gate("lenient"));
}

#[tokio::test]
async fn postgres_query_time_over_repeated_runs() {
    let yaml = r#"
gates:
  - id: fast
    title: DB query time < 100ms
    checks:
      - name: select is fast
        postgres: { dsn: "${PG}", query: "SELECT 1 AS n", repeat: 20 }
        expect: { p95: { lt: 100ms }, max: { lt: 1s }, row_count: 1, json: { "$[0].n": 1 } }
  - id: slow
    title: A slow query fails its bound
    checks:
      - name: sleep 20ms
        postgres: { dsn: "${PG}", query: "SELECT pg_sleep(0.02)", repeat: 5 }
        expect: { p50: { lt: 5ms } }
"#;
    let run = run_yaml(yaml, &[("PG", &pg())], &[]).await;
    let f = run.gate("fast");
    assert_eq!(f.status, Status::Passed, "{f:#?}");
    let m = f.checks[0].metrics.as_ref().expect("figures for the reports");
    assert_eq!(m["runs"], json!(20));
    let (p50, p95, max, mean) = (
        m["p50"].as_f64().unwrap(),
        m["p95"].as_f64().unwrap(),
        m["max"].as_f64().unwrap(),
        m["mean"].as_f64().unwrap(),
    );
    assert!(p50 <= p95 && p95 <= max && mean <= max && p50 > 0.0, "{m}");
    assert!(f.checks[0].evidence.as_deref().unwrap().starts_with("20 runs: p50 "));
    let s = run.gate("slow");
    assert_eq!(s.status, Status::Failed, "{s:#?}");
    let reason = s.reason.as_deref().unwrap();
    assert!(reason.starts_with("sleep 20ms: p50: expected < 5ms, got "), "{reason}");
    let sm = s.checks[0].metrics.as_ref().unwrap();
    assert!(sm["p50"].as_f64().unwrap() >= 20.0, "pg_sleep(0.02) takes at least 20ms: {sm}");
}

/// A private Redis server on a free port, shut down on drop.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    fn start() -> Self {
        let port = support::closed_port();
        let child = std::process::Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("redis-server is installed (scripts/test-services.sh uses it too)");
        let url = format!("redis://127.0.0.1:{port}/0");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, url }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn redis_hit_ratio_after_real_hits_and_misses() {
    let server = PrivateRedis::start();
    let yaml = r#"
gates:
  - id: idle
    title: No traffic is no data, not a pass
    checks:
      - name: idle ratio
        redis: { url: "${R}", info: stats }
        expect: { hit_ratio: { gt: 70% } }
  - id: traffic
    title: "Cache traffic, after `idle` (one job runs gates in definition order)"
    checks:
      - name: three hits and a miss
        redis:
          url: "${R}"
          commands: [[SET, quality:k, v], [GET, quality:k], [GET, quality:k], [GET, quality:k], [GET, quality:missing]]
  - id: hit-rate
    title: cache hit rate > 70%
    needs: [traffic]
    checks:
      - name: hit ratio
        redis: { url: "${R}", info: stats }
        expect: { hit_ratio: { gt: 70% }, keyspace_hits: 3, keyspace_misses: 1, json: { $.keyspace_hits: 3 } }
  - id: too-strict
    title: cache hit rate > 80%
    needs: [traffic]
    checks:
      - name: hit ratio 80
        redis: { url: "${R}", info: stats }
        expect: { hit_ratio: { gt: 80% } }
"#;
    let run = run_yaml(yaml, &[("R", &server.url)], &[]).await;
    let idle = run.gate("idle");
    assert_eq!(idle.status, Status::Failed, "{idle:#?}");
    assert_eq!(
        idle.reason.as_deref(),
        Some(
            "idle ratio: hit_ratio: expected a number > 70%, got nothing (absent) — no keyspace hits or misses yet (0 + 0): there is no hit ratio to judge — the cache has had no reads since the server started or its stats were reset"
        )
    );
    assert_eq!(run.gate("traffic").status, Status::Passed, "{:#?}", run.gate("traffic"));
    let h = run.gate("hit-rate");
    assert_eq!(h.status, Status::Passed, "{h:#?}");
    assert!(h.checks[0].evidence.as_deref().unwrap().contains("hit ratio 75.00%"));
    assert_eq!(run.gate("too-strict").reason.as_deref(), Some("hit ratio 80: hit_ratio: expected > 80%, got 75%"));
}

#[tokio::test]
async fn redis_info_sections_on_the_shared_server() {
    let yaml = r#"
gates:
  - id: server
    title: Redis answers INFO
    checks:
      - name: server section
        redis: { url: "${R}", info: server }
        expect: { json: { $.redis_version: { matches: "^[0-9]+\\." } } }
      - name: stats section
        redis: { url: "${R}", info: stats }
        expect: { keyspace_hits: { type: integer }, json: { $.total_commands_processed: { gt: 0 } } }
"#;
    let run = run_yaml(yaml, &[("R", &redis())], &[]).await;
    assert_eq!(run.gate("server").status, Status::Passed, "{:#?}", run.gate("server"));
}

/// The schema in docs/quality.md, against the demo's own migrations applied
/// to a private Postgres schema: the documented aliases hold on real tables.
#[tokio::test]
async fn documented_schema_matches_the_demo_migrations() {
    let ns = format!("quality_demo_{}", std::process::id());
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/migrations");
    let mut files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    let mut sql = format!("DROP SCHEMA IF EXISTS {ns} CASCADE; CREATE SCHEMA {ns}; SET search_path TO {ns};\n");
    for f in files {
        sql.push_str(&std::fs::read_to_string(f).unwrap());
        sql.push('\n');
    }
    pg_exec(&sql).await;
    let yaml = r#"
gates:
  - id: schema
    title: schema conflicts = 0
    checks:
      - name: the live schema matches the model
        postgres:
          dsn: "${PG}"
          schema:
            __NS__.users: { id: bigint, email: text, password_hash: text, created_at: timestamptz }
            __NS__.items: { id: bigserial, owner_id: int8, name: text, description: text, created_at: timestamptz }
            __NS__.jobs: { id: uuid, kind: text, payload: jsonb, status: text, processed_at: timestamptz }
  - id: strict
    title: strict finds the columns the model leaves out
    checks:
      - name: strict jobs
        postgres: { dsn: "${PG}", strict: true, schema: { __NS__.jobs: { id: uuid, kind: text, payload: json } } }
"#
    .replace("__NS__", &ns);
    let run = run_yaml(&yaml, &[("PG", &pg())], &[]).await;
    pg_exec(&format!("DROP SCHEMA IF EXISTS {ns} CASCADE")).await;
    assert_eq!(run.gate("schema").status, Status::Passed, "{:#?}", run.gate("schema"));
    let s = run.gate("strict");
    assert_eq!(
        s.reason.as_deref(),
        Some(
            format!("strict jobs: conflicts: expected 0, got 4 — {ns}.jobs.payload: expected json, found jsonb")
                .as_str()
        )
    );
    let ev = s.checks[0].evidence.as_deref().unwrap();
    assert!(ev.contains(&format!("{ns}.jobs.processed_at: unexpected column (timestamp with time zone)")), "{ev}");
}
