//! `postgres`: a query's rows as JSON (every column type, via `row_to_json`),
//! or a table and its columns exist.
//!
//! User queries are wrapped as `SELECT json_agg(row_to_json(t)) FROM (<query>) t`
//! so timestamps, jsonb, uuid and numeric all come back typed; statements that
//! cannot be a subquery (`INSERT … RETURNING`, `SHOW`) run as they are and
//! report only their row count.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::PostgresSpec;
use serde_json::{Value, json};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

pub struct Postgres;

#[async_trait]
impl CheckKind for Postgres {
    type Spec = PostgresSpec;

    async fn observe(&self, spec: &PostgresSpec, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        if spec.schema_file.is_some() {
            // A missing or malformed file is the definition's fault: say so before connecting.
            super::pg_quality::expected_schema(spec, &ctx.root)?;
        }
        let target = describe_dsn(&spec.dsn);
        let started = Instant::now();
        let mut conn = PgConnection::connect(&spec.dsn).await.map_err(|e| {
            let why = describe_sqlx_error(&e);
            ObserveError::failed(
                format!("cannot connect to Postgres at {target}: {why}"),
                format!("connect {target}\n→ {why}"),
            )
        })?;
        let script = super::sql_script::load(&spec.script(), &ctx.root)?;
        let result = if script.is_empty() {
            observe_plain(&mut conn, spec, &ctx.root, &target, started).await
        } else {
            with_script(&mut conn, spec, &script, &target, started).await
        };
        let _ = conn.close().await;
        result
    }
}

async fn observe_plain(
    conn: &mut PgConnection,
    spec: &PostgresSpec,
    root: &std::path::Path,
    target: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    if let Some(q) = &spec.query {
        match spec.repeat {
            Some(n) => super::pg_quality::repeated(conn, q, target, started, n).await,
            None => query(conn, q, target, started).await,
        }
    } else if spec.schema.is_some() || spec.schema_file.is_some() {
        super::pg_quality::schema_drift(conn, spec, root, target, started).await
    } else {
        table(conn, spec, target, started).await
    }
}

/// The fixture and statements, then the query or table, in one transaction; committed, or
/// rolled back with `rollback: true` (or when a statement fails).
async fn with_script(
    conn: &mut PgConnection,
    spec: &PostgresSpec,
    script: &super::sql_script::Script<'_>,
    target: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    use super::sql_script;
    exec(conn, "BEGIN", target).await?;
    let outcome = match sql_script::run::<sqlx::Postgres>(conn, script).await {
        Ok(steps) => {
            let affected: u64 = steps.iter().map(|s| s.rows_affected).sum();
            let log = sql_script::describe(&steps, script.statements);
            let observed = match (&spec.query, &spec.table) {
                (Some(q), _) => query(conn, q, target, started).await,
                (None, Some(_)) => table(conn, spec, target, started).await,
                (None, None) => {
                    Ok(Observation { document: Some(json!({ "rows_affected": affected })), ..Observation::default() }
                        .field("row_count", 0)
                        .duration(started.elapsed()))
                }
            };
            observed.map(|mut o| {
                let by_query = o.document.as_ref().and_then(|d| d.get("rows_affected")).and_then(Value::as_u64);
                let total = affected + if spec.query.is_some() { by_query.unwrap_or(0) } else { 0 };
                o.evidence = match o.evidence.strip_prefix(target) {
                    Some(rest) => format!("{target}\n{log}{}", rest.trim_start_matches('\n')),
                    None => format!("{target}\n{log}{}", o.evidence),
                };
                o.field("rows_affected", total)
            })
        }
        Err(failed) => Err(sql_script::step_failed(&failed, target, &describe_sqlx_error(&failed.error))),
    };
    let end = if spec.rollback || outcome.is_err() { "ROLLBACK" } else { "COMMIT" };
    exec(conn, end, target).await?;
    outcome.map(|mut o| {
        if spec.rollback {
            o.evidence.push_str("\n(rolled back: the check left no trace)");
        }
        o
    })
}

async fn exec(conn: &mut PgConnection, sql: &'static str, target: &str) -> Result<(), ObserveError> {
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await.map(|_| ()).map_err(|e| query_failed(sql, target, &e))
}

pub(crate) async fn query(
    conn: &mut PgConnection,
    q: &str,
    target: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let q = q.trim().trim_end_matches(';').trim();
    let wrapped = format!("SELECT coalesce(json_agg(row_to_json(t)), '[]'::json)::text FROM ({q}) t");
    let rows = match sqlx::query_scalar::<_, String>(AssertSqlSafe(wrapped)).fetch_one(&mut *conn).await {
        Ok(text) => serde_json::from_str::<Value>(&text).unwrap_or(Value::Array(Vec::new())),
        Err(sqlx::Error::Database(db)) if matches!(db.code().as_deref(), Some("42601" | "0A000")) => {
            // Not a subquery-able statement: run it as written.
            let done = sqlx::raw_sql(AssertSqlSafe(q.to_string()))
                .execute(&mut *conn)
                .await
                .map_err(|e| query_failed(q, target, &e))?;
            let elapsed = started.elapsed();
            let n = done.rows_affected();
            return Ok(Observation {
                document: Some(json!({ "rows_affected": n })),
                evidence: format!("{target}\n{q}\n→ {n} rows affected"),
                ..Observation::default()
            }
            .field("row_count", n)
            .duration(elapsed));
        }
        Err(e) => return Err(query_failed(q, target, &e)),
    };
    let elapsed = started.elapsed();
    let n = rows.as_array().map_or(0, Vec::len);
    let mut evidence = format!(
        "{target}\n{q}\n→ {n} row{} ({})\n",
        if n == 1 { "" } else { "s" },
        checkpoint_model::duration::human(checkpoint_model::duration::millis(elapsed))
    );
    let _ = write!(evidence, "{}", excerpt(&serde_json::to_string_pretty(&rows).unwrap_or_default(), 4096));
    Ok(Observation { document: Some(rows), evidence, ..Observation::default() }.field("row_count", n).duration(elapsed))
}

async fn table(
    conn: &mut PgConnection,
    spec: &PostgresSpec,
    target: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let full = spec.table.clone().unwrap_or_default();
    let (schema, name) = match full.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => ("public".to_string(), full.clone()),
    };
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT column_name::text FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
    )
    .bind(&schema)
    .bind(&name)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_failed("information_schema.columns", target, &e))?;
    Ok(super::sql_script::table_observation(target, "", (&schema, &name), &columns, &spec.columns, started.elapsed()))
}

fn query_failed(q: &str, target: &str, e: &sqlx::Error) -> ObserveError {
    let why = describe_sqlx_error(e);
    ObserveError::failed(format!("query failed: {why}"), format!("{target}\n{q}\n→ {why}"))
}

/// The database error's own message and code, or the innermost I/O cause.
pub fn describe_sqlx_error(e: &sqlx::Error) -> String {
    match e {
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => format!("{} (SQLSTATE {code})", db.message()),
            None => db.message().to_string(),
        },
        sqlx::Error::PoolTimedOut => "timed out".into(),
        other => {
            let mut cause: &dyn std::error::Error = other;
            let mut last = other.to_string();
            while let Some(next) = cause.source() {
                last = next.to_string();
                cause = next;
            }
            last
        }
    }
}

/// `host:port/db as user` — never the password.
fn describe_dsn(dsn: &str) -> String {
    describe_dsn_with_port(dsn, 5432)
}

/// `host:port/db as user` for a database DSN (Postgres or MySQL), `default_port`
/// when it names none — never the password.
pub(crate) fn describe_dsn_with_port(dsn: &str, default_port: u16) -> String {
    match reqwest::Url::parse(dsn) {
        Ok(u) => format!(
            "{}:{}{} as {}",
            u.host_str().unwrap_or("localhost"),
            u.port().unwrap_or(default_port),
            u.path(),
            if u.username().is_empty() { "(default user)" } else { u.username() }
        ),
        Err(_) => "(unparsable DSN)".into(),
    }
}
