//! The channels beyond request/reply, against real servers: a WebSocket endpoint (axum, in
//! process) that pushes job events, the Redis started by `scripts/test-services.sh` (pub/sub
//! and streams), and Postgres and MariaDB for statements and fixtures in one transaction.
//! Checkpoints are written as YAML and go through the real loader and engine.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse as _;
use axum::routing::{get, post};
use checkpoint_model::result::{GateResult, Status};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::support;

/// An API with a job queue and a WebSocket that pushes `processed` events — unless `push` is off.
async fn realtime_api(push: bool) -> String {
    let (tx, _) = broadcast::channel::<String>(16);
    let submit = post(|State(tx): State<broadcast::Sender<String>>, body: axum::Json<Value>| async move {
        let kind = body["kind"].as_str().unwrap_or("").to_string();
        let push = tx.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            let _ = push.send(json!({ "id": "j1", "kind": kind, "status": "running" }).to_string());
            let _ = push.send(json!({ "id": "j1", "kind": kind, "status": "processed" }).to_string());
        });
        (StatusCode::ACCEPTED, axum::Json(json!({ "id": "j1", "status": "queued" })))
    });
    let socket = get(
        move |State(tx): State<broadcast::Sender<String>>, headers: HeaderMap, upgrade: WebSocketUpgrade| async move {
            if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer tok-secret-123") {
                return (StatusCode::UNAUTHORIZED, "missing bearer token").into_response();
            }
            let mut events = tx.subscribe();
            upgrade
                .on_upgrade(move |mut ws| async move {
                    while let Ok(event) = events.recv().await {
                        if push && ws.send(Message::Text(event.into())).await.is_err() {
                            break;
                        }
                    }
                })
                .into_response()
        },
    );
    let app = axum::Router::new().route("/jobs", submit).route("/ws/jobs", socket).with_state(tx);
    support::serve(app).await
}

fn realtime_yaml(wait_for_kind: &str) -> String {
    format!(
        r#"
gates:
  - id: realtime
    title: Real-time channel delivers job updates
    checks:
      - name: a job's processed event arrives over the socket
        websocket:
          url: "${{WS}}/ws/jobs"
          headers: {{ Authorization: "Bearer tok-secret-123" }}
          wait_for: {{ $.kind: "{wait_for_kind}", $.status: processed }}
          within: 2s
        during:
          - name: submit a job
            http: {{ method: POST, url: "${{API}}/jobs", json: {{ kind: rt-1 }} }}
            expect: {{ status: 202 }}
        expect:
          received: {{ gte: 1 }}
          json: {{ $.id: j1 }}
"#
    )
}

async fn run_realtime(push: bool, wait_for_kind: &str) -> GateResult {
    let api = realtime_api(push).await;
    let ws = api.replace("http://", "ws://");
    let gates = support::run(
        &realtime_yaml(wait_for_kind),
        support::Setup { vars: &[("API", &api), ("WS", &ws)], ..Default::default() },
    )
    .await;
    gates.into_iter().next().unwrap()
}

#[tokio::test]
async fn a_websocket_check_hears_the_event_its_during_check_caused() {
    let g = run_realtime(true, "rt-1").await;
    let c = &g.checks[0];
    assert_eq!(g.status, Status::Passed, "{c:?}");
    let evidence = c.evidence.as_deref().unwrap_or("");
    assert!(evidence.starts_with("during: ✅ submit a job"), "{evidence}");
    assert!(evidence.contains(r#""status":"processed""#), "the message log is the evidence: {evidence}");
}

#[tokio::test]
async fn a_silent_push_path_fails_naming_the_channel_and_what_was_awaited() {
    let g = run_realtime(false, "rt-1").await;
    let reason = g.reason.clone().unwrap_or_default();
    assert_eq!(g.status, Status::Failed);
    assert!(
        reason.contains(
            "/ws/jobs: no message matching $.kind = \"rt-1\", $.status = \"processed\" within 2s (0 messages received)"
        ),
        "{reason}"
    );
}

#[tokio::test]
async fn messages_that_do_not_match_are_received_but_not_counted() {
    let g = run_realtime(true, "someone-else").await;
    let reason = g.reason.clone().unwrap_or_default();
    assert_eq!(g.status, Status::Failed);
    assert!(reason.contains("within 2s (2 messages received)"), "{reason}");
}

#[tokio::test]
async fn a_refused_upgrade_fails_with_the_status() {
    let api = realtime_api(true).await;
    let ws = api.replace("http://", "ws://");
    let yaml = r#"
gates:
  - id: realtime
    title: Real-time channel without a token
    checks:
      - name: connect
        websocket: { url: "${WS}/ws/jobs" }
"#;
    let g = support::run(yaml, support::Setup { vars: &[("WS", &ws)], ..Default::default() }).await.remove(0);
    assert_eq!(g.status, Status::Failed);
    assert!(
        g.reason.as_deref().unwrap_or("").contains("refused the WebSocket upgrade: 401 Unauthorized"),
        "{:?}",
        g.reason
    );
}

#[tokio::test]
async fn a_redis_subscription_hears_what_is_published_during_it() {
    let redis = support::redis();
    let channel = format!("it:events:{}", std::process::id());
    let yaml = r#"
gates:
  - id: notifications
    title: The worker announces processed jobs
    checks:
      - name: an event on the channel
        redis:
          url: "${REDIS}"
          subscribe: "${CHANNEL}"
          wait_for: { $.status: processed }
          within: 2s
        during:
          - name: publish a queued and a processed event
            redis:
              url: "${REDIS}"
              commands:
                - [PUBLISH, "${CHANNEL}", '{"id": 7, "status": "queued"}']
                - [PUBLISH, "${CHANNEL}", '{"id": 7, "status": "processed"}']
        expect: { messages: 1, received: 2, json: { $.id: 7 } }
  - id: quiet
    title: Nothing is announced on an unused channel
    checks:
      - name: silence
        redis: { url: "${REDIS}", psubscribe: "${CHANNEL}:unused:*", within: 300ms }
        expect: { messages: 0 }
"#;
    let gates =
        support::run(yaml, support::Setup { vars: &[("REDIS", &redis), ("CHANNEL", &channel)], ..Default::default() })
            .await;
    for g in &gates {
        assert_eq!(g.status, Status::Passed, "{}: {:?}\n{:?}", g.id, g.reason, g.checks[0].evidence);
    }
}

#[tokio::test]
async fn redis_streams_backlog_and_round_trip() {
    let redis = support::redis();
    let key = format!("it:stream:{}", std::process::id());
    let client = ::redis::Client::open(redis.as_str()).unwrap();
    let mut c = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = ::redis::cmd("DEL").arg(&key).query_async(&mut c).await.unwrap();
    let group = ["CREATE", key.as_str(), "workers", "0", "MKSTREAM"];
    let _: () = ::redis::cmd("XGROUP").arg(&group).query_async(&mut c).await.unwrap();
    for n in 0..4 {
        let _: String = ::redis::cmd("XADD").arg(&key).arg("*").arg("n").arg(n).query_async(&mut c).await.unwrap();
    }
    let yaml = r#"
gates:
  - id: backlog
    title: The workers keep up with the stream
    checks:
      - name: nothing pending, nothing lagging
        redis: { url: "${REDIS}", stream: "${KEY}", group: workers }
        expect: { length: 4, pending: 0, lag: { lte: 1 } }
  - id: round-trip
    title: The stream carries an entry through a consumer group
    checks:
      - name: XADD then XREADGROUP
        redis: { url: "${REDIS}", stream: "${KEY}", round_trip: true }
        expect: { round_trip: { lt: 1s } }
"#;
    let gates =
        support::run(yaml, support::Setup { vars: &[("REDIS", &redis), ("KEY", &key)], ..Default::default() }).await;
    let backlog = gates.iter().find(|g| g.id == "backlog").unwrap();
    assert_eq!(backlog.status, Status::Failed, "4 entries never delivered: lag 4");
    assert!(backlog.reason.as_deref().unwrap_or("").contains("lag"), "{:?}", backlog.reason);
    let rt = gates.iter().find(|g| g.id == "round-trip").unwrap();
    assert_eq!(rt.status, Status::Passed, "{:?} {:?}", rt.reason, rt.checks[0].evidence);
    let len: u64 = ::redis::cmd("XLEN").arg(&key).query_async(&mut c).await.unwrap();
    assert_eq!(len, 4, "the round trip removed its entry");
    let _: () = ::redis::cmd("DEL").arg(&key).query_async(&mut c).await.unwrap();
}

const FIXTURE: &str = "INSERT INTO it_rows (name, email) VALUES ('a', 'a@x'), ('b', NULL), ('c', 'c@x');\nINSERT INTO it_rows (name, email) VALUES ('d', 'd@x'), ('e', 'e@x');\n";

/// fixture → insert → count in one gate; `rollback: true` leaves the table as it was.
async fn sql_gate(kind: &str, dsn: &str, table: &str) -> Vec<GateResult> {
    let yaml = format!(
        r#"
gates:
  - id: data-quality
    title: "5-row fixture → insert → count, < 30% missing email"
    checks:
      - name: fixture, one more row, then count
        {kind}:
          dsn: "${{DSN}}"
          fixture: data/rows.sql
          statements: ["INSERT INTO {table} (name, email) VALUES ('f', 'f@x')"]
          query: "SELECT COUNT(*) AS n, SUM(CASE WHEN email IS NULL THEN 1 ELSE 0 END) * 1.0 / COUNT(*) AS missing FROM {table}"
          rollback: true
        expect:
          rows_affected: 6
          json:
            $[0].n: 6
            $[0].missing: {{ lt: 0.3 }}
  - id: broken-statement
    title: A bad statement names itself
    checks:
      - name: insert into a missing table
        {kind}:
          dsn: "${{DSN}}"
          statements: ["INSERT INTO {table} (name) VALUES ('z')", "INSERT INTO it_nowhere VALUES (1)"]
          query: "SELECT COUNT(*) AS n FROM {table}"
"#
    );
    support::run(
        &yaml,
        support::Setup {
            vars: &[("DSN", dsn)],
            files: &[("data/rows.sql", &FIXTURE.replace("it_rows", table))],
            ..Default::default()
        },
    )
    .await
}

fn assert_sql(gates: &[GateResult]) {
    let dq = gates.iter().find(|g| g.id == "data-quality").unwrap();
    assert_eq!(dq.status, Status::Passed, "{:?}\n{:?}", dq.reason, dq.checks[0].evidence);
    let ev = dq.checks[0].evidence.as_deref().unwrap_or("");
    assert!(ev.contains("data/rows.sql #1 → 3 rows affected"), "{ev}");
    assert!(ev.contains("statement 1: INSERT INTO"), "{ev}");
    assert!(ev.contains("rolled back"), "{ev}");
    let broken = gates.iter().find(|g| g.id == "broken-statement").unwrap();
    assert_eq!(broken.status, Status::Failed);
    assert!(broken.reason.as_deref().unwrap_or("").contains("statement 2 failed:"), "{:?}", broken.reason);
}

/// Creates the table on a real connection, runs [`sql_gate`], checks the table is empty
/// again (rolled back), drops it.
macro_rules! sql_round_trip {
    ($conn:ty, $kind:literal, $dsn:expr, $columns:literal) => {{
        let dsn = $dsn;
        let table = format!("it_rows_{}", std::process::id());
        let mut conn = <$conn as sqlx::Connection>::connect(&dsn).await.unwrap();
        let create = format!("CREATE TABLE IF NOT EXISTS {table} {}", $columns);
        sqlx::raw_sql(sqlx::AssertSqlSafe(create)).execute(&mut conn).await.unwrap();
        assert_sql(&sql_gate($kind, &dsn, &table).await);
        let count = format!("SELECT COUNT(*) FROM {table}");
        let left: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count)).fetch_one(&mut conn).await.unwrap();
        assert_eq!(left, 0, "rollback: true and a failed script leave no rows");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&mut conn).await.unwrap();
    }};
}

#[tokio::test]
async fn postgres_statements_and_fixture_run_in_one_transaction_and_roll_back() {
    sql_round_trip!(sqlx::PgConnection, "postgres", support::pg(), "(name text, email text)");
}

#[tokio::test]
async fn mysql_statements_and_fixture_run_in_one_transaction_and_roll_back() {
    let dsn = support::service("CHECKPOINT_TEST_MYSQL", "MariaDB");
    sql_round_trip!(sqlx::MySqlConnection, "mysql", dsn, "(name VARCHAR(20), email VARCHAR(50))");
}

#[tokio::test]
async fn mysql_tables_columns_and_unreachable_servers() {
    let dsn = support::service("CHECKPOINT_TEST_MYSQL", "MariaDB");
    let table = format!("it_cols_{}", std::process::id());
    let mut conn = <sqlx::MySqlConnection as sqlx::Connection>::connect(&dsn).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE TABLE IF NOT EXISTS {table} (id INT, email VARCHAR(50))")))
        .execute(&mut conn)
        .await
        .unwrap();
    let closed = support::closed_port();
    let yaml = format!(
        r#"
gates:
  - id: schema
    title: The table has its columns
    checks:
      - name: the table
        mysql: {{ dsn: "${{DSN}}", table: {table}, columns: [id, email] }}
      - name: a missing column
        mysql: {{ dsn: "${{DSN}}", table: {table}, columns: [id, phone] }}
  - id: down
    title: An unreachable server
    checks:
      - name: connect
        mysql: {{ dsn: "mysql://u:secret-pw@127.0.0.1:{closed}/db", query: "SELECT 1" }}
"#
    );
    let gates = support::run(&yaml, support::Setup { vars: &[("DSN", &dsn)], ..Default::default() }).await;
    let schema = gates.iter().find(|g| g.id == "schema").unwrap();
    assert_eq!(schema.checks[0].status, Status::Passed, "{:?}", schema.checks[0]);
    assert_eq!(schema.checks[1].status, Status::Failed);
    assert!(
        schema.checks[1].message.as_deref().unwrap_or("").ends_with(&format!("{table}` lacks column phone")),
        "{:?}",
        schema.checks[1].message
    );
    let down = gates.iter().find(|g| g.id == "down").unwrap();
    let reason = down.reason.as_deref().unwrap_or("");
    assert!(reason.contains(&format!("cannot connect to MySQL at 127.0.0.1:{closed}/db as u")), "{reason}");
    assert!(!reason.contains("secret-pw"));
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP TABLE {table}"))).execute(&mut conn).await.unwrap();
}
