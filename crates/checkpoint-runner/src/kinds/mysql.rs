//! `mysql` (MySQL and MariaDB): a query's rows as JSON, or a table and its columns exist,
//! after an optional fixture file and statements in the same transaction — the same result
//! shape as `postgres`.
//!
//! Queries go over the text protocol (`COM_QUERY`), so every value arrives as the server
//! prints it and is turned into JSON by its column type: integers, floats and decimals as
//! numbers, `NULL` as null, `JSON` columns parsed, dates, times and text as strings. (MariaDB
//! stores `JSON` as `LONGTEXT`: those columns come back as strings.)

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::MysqlSpec;

use futures::TryStreamExt as _;
use serde_json::{Map, Number, Value, json};
use sqlx::mysql::{MySqlConnection, MySqlRow};
use sqlx::{AssertSqlSafe, Column as _, Connection as _, Either, Row as _, TypeInfo as _};

use super::sql_script::{self, Script};
use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

pub struct Mysql;

#[async_trait]
impl CheckKind for Mysql {
    type Spec = MysqlSpec;

    async fn observe(&self, spec: &MysqlSpec, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let request = Request {
            dsn: &spec.dsn,
            script: sql_script::load(&spec.script(), &ctx.root)?,
            query: spec.query.as_deref(),
            table: spec.table.as_deref(),
            columns: &spec.columns,
            rollback: spec.rollback,
        };
        observe(&request).await
    }
}

/// What one `mysql` check asks, after interpolation.
#[derive(Debug, Default)]
pub(crate) struct Request<'a> {
    pub dsn: &'a str,
    pub script: Script<'a>,
    pub query: Option<&'a str>,
    /// `schema.table` or `table` (in the connection's database), with the columns it must have.
    pub table: Option<&'a str>,
    pub columns: &'a [String],
    pub rollback: bool,
}

pub(crate) async fn observe(request: &Request<'_>) -> Result<Observation, ObserveError> {
    let target = describe_dsn(request.dsn);
    let started = Instant::now();
    let mut conn = MySqlConnection::connect(request.dsn).await.map_err(|e| {
        let why = describe_error(&e);
        ObserveError::failed(
            format!("cannot connect to MySQL at {target}: {why}"),
            format!("connect {target}\n→ {why}"),
        )
    })?;
    let result = in_transaction(&mut conn, request, &target, started).await;
    let _ = conn.close().await;
    result
}

async fn in_transaction(
    conn: &mut MySqlConnection,
    request: &Request<'_>,
    target: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let script = &request.script;
    if script.is_empty() {
        return judge(conn, request, target, started, String::new(), 0).await;
    }
    exec(conn, "START TRANSACTION", target).await?;
    let outcome = match sql_script::run::<sqlx::MySql>(conn, script).await {
        Ok(steps) => {
            let affected = steps.iter().map(|s| s.rows_affected).sum();
            let log = sql_script::describe(&steps, script.statements);
            judge(conn, request, target, started, log, affected).await
        }
        Err(failed) => Err(sql_script::step_failed(&failed, target, &describe_error(&failed.error))),
    };
    let end = if request.rollback || outcome.is_err() { "ROLLBACK" } else { "COMMIT" };
    exec(conn, end, target).await?;
    outcome.map(|mut o| {
        if request.rollback {
            o.evidence.push_str("\n(rolled back: the statements left no rows behind; DDL commits on its own in MySQL)");
        }
        o
    })
}

async fn judge(
    conn: &mut MySqlConnection,
    request: &Request<'_>,
    target: &str,
    started: Instant,
    log: String,
    affected: u64,
) -> Result<Observation, ObserveError> {
    let observation = match (request.query, request.table) {
        (Some(q), _) => query(conn, q, target, started, &log).await?,
        (None, Some(table)) => self::table(conn, table, request.columns, target, started, &log).await?,
        (None, None) => Observation {
            document: Some(json!({ "rows_affected": affected })),
            evidence: format!("{target}\n{log}"),
            ..Observation::default()
        }
        .field("row_count", 0)
        .duration(started.elapsed()),
    };
    let affected = affected + observation.fields.get("rows_affected").and_then(Value::as_u64).unwrap_or(0);
    Ok(observation.field("rows_affected", affected))
}

async fn exec(conn: &mut MySqlConnection, sql: &'static str, target: &str) -> Result<(), ObserveError> {
    sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut *conn).await.map(|_| ()).map_err(|e| query_failed(sql, target, &e))
}

/// Rows of `q` as JSON objects (columns in order), and the rows a DML statement changed.
pub(crate) async fn rows(conn: &mut MySqlConnection, q: &str) -> Result<(Vec<Value>, u64), sqlx::Error> {
    let mut stream = sqlx::raw_sql(AssertSqlSafe(q.to_string())).fetch_many(&mut *conn);
    let (mut rows, mut affected) = (Vec::new(), 0);
    while let Some(item) = stream.try_next().await? {
        match item {
            Either::Left(done) => affected += done.rows_affected(),
            Either::Right(row) => rows.push(row_json(&row)),
        }
    }
    Ok((rows, affected))
}

fn row_json(row: &MySqlRow) -> Value {
    let mut object = Map::new();
    for (i, column) in row.columns().iter().enumerate() {
        let bytes: Option<Vec<u8>> = row.try_get_unchecked(i).ok().flatten();
        let value = bytes.map_or(Value::Null, |b| cell(column.type_info().name(), &b));
        object.insert(column.name().to_string(), value);
    }
    Value::Object(object)
}

/// One value in the text protocol's form, as JSON by its column type.
fn cell(type_name: &str, bytes: &[u8]) -> Value {
    let text = String::from_utf8_lossy(bytes);
    let numeric = type_name.contains("INT") || matches!(type_name, "FLOAT" | "DOUBLE" | "DECIMAL" | "YEAR");
    if numeric {
        if let Ok(n) = text.parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = text.parse::<u64>() {
            return Value::from(n);
        }
        if let Some(n) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(n);
        }
    }
    match type_name {
        "BOOLEAN" => Value::Bool(text != "0"),
        "JSON" => serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.into_owned())),
        _ => Value::String(text.into_owned()),
    }
}

async fn query(
    conn: &mut MySqlConnection,
    q: &str,
    target: &str,
    started: Instant,
    log: &str,
) -> Result<Observation, ObserveError> {
    let q = q.trim().trim_end_matches(';').trim();
    let (rows, affected) = rows(conn, q).await.map_err(|e| query_failed(q, target, &e))?;
    let elapsed = started.elapsed();
    let n = rows.len();
    let mut evidence = format!("{target}\n{log}{q}\n→ ");
    if n == 0 && affected > 0 {
        let _ = write!(evidence, "{affected} row{} affected", if affected == 1 { "" } else { "s" });
    } else {
        let _ = writeln!(
            evidence,
            "{n} row{} ({})",
            if n == 1 { "" } else { "s" },
            checkpoint_model::duration::human(checkpoint_model::duration::millis(elapsed))
        );
        let rows_text = serde_json::to_string_pretty(&rows).unwrap_or_default();
        evidence.push_str(&excerpt(&rows_text, 4096));
    }
    Ok(Observation { document: Some(Value::Array(rows)), evidence, ..Observation::default() }
        .field("row_count", n)
        .field("rows_affected", affected)
        .duration(elapsed))
}

async fn table(
    conn: &mut MySqlConnection,
    full: &str,
    wanted: &[String],
    target: &str,
    started: Instant,
    log: &str,
) -> Result<Observation, ObserveError> {
    let (schema, name) = match full.split_once('.') {
        Some((s, t)) => (Some(s.to_string()), t.to_string()),
        None => (None, full.to_string()),
    };
    let columns: Vec<String> = sqlx::query_scalar(
        "SELECT CAST(column_name AS CHAR) FROM information_schema.columns
         WHERE table_schema = COALESCE(?, DATABASE()) AND table_name = ? ORDER BY ordinal_position",
    )
    .bind(&schema)
    .bind(&name)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| query_failed("information_schema.columns", target, &e))?;
    let schema = match schema {
        Some(s) => s,
        None => sqlx::query_scalar::<_, Option<String>>("SELECT DATABASE()")
            .fetch_one(&mut *conn)
            .await
            .ok()
            .flatten()
            .unwrap_or_default(),
    };
    Ok(sql_script::table_observation(target, log, (&schema, &name), &columns, wanted, started.elapsed()))
}

fn query_failed(q: &str, target: &str, e: &sqlx::Error) -> ObserveError {
    let why = describe_error(e);
    ObserveError::failed(format!("query failed: {why}"), format!("{target}\n{q}\n→ {why}"))
}

/// The server's own message and SQLSTATE, or the innermost I/O cause.
pub(crate) fn describe_error(e: &sqlx::Error) -> String {
    super::postgres::describe_sqlx_error(e)
}

/// `host:port/db as user` — never the password.
fn describe_dsn(dsn: &str) -> String {
    super::postgres::describe_dsn_with_port(dsn, 3306)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_become_json_by_their_column_type() {
        assert_eq!(cell("BIGINT", b"42"), json!(42));
        assert_eq!(cell("BIGINT UNSIGNED", b"18446744073709551615"), json!(18_446_744_073_709_551_615_u64));
        assert_eq!(cell("DECIMAL", b"3.25"), json!(3.25));
        assert_eq!(cell("BOOLEAN", b"1"), json!(true));
        assert_eq!(cell("JSON", br#"{"a": 1}"#), json!({"a": 1}));
        assert_eq!(cell("DATETIME", b"2026-12-05 01:02:03"), json!("2026-12-05 01:02:03"));
        assert_eq!(cell("VARCHAR", b"007"), json!("007"));
    }

    fn dsn() -> String {
        std::env::var("CHECKPOINT_TEST_MYSQL")
            .expect("CHECKPOINT_TEST_MYSQL is not set: run the tests through scripts/test.sh, which starts MariaDB")
    }

    /// Every common column type of a real MariaDB server, through the text protocol.
    #[tokio::test]
    async fn a_real_server_s_types_come_back_as_json() {
        let dsn = dsn();
        let request = Request {
            dsn: &dsn,
            query: Some(
                "SELECT 1 AS i, CAST(2 AS UNSIGNED) AS u, 2.50 AS d, 1.5e0 AS f, TRUE AS b, NULL AS n,
                        'x' AS s, DATE '2026-12-05' AS day, TIMESTAMP '2026-12-05 01:02:03' AS ts,
                        JSON_OBJECT('a', 1) AS j",
            ),
            ..Request::default()
        };
        let o = observe(&request).await.unwrap();
        let row = &o.document.unwrap()[0];
        assert_eq!(row["i"], json!(1));
        assert_eq!(row["u"], json!(2));
        assert_eq!(row["d"], json!(2.5));
        assert_eq!(row["f"], json!(1.5));
        assert_eq!(row["n"], Value::Null);
        assert_eq!(row["s"], json!("x"));
        assert_eq!(row["day"], json!("2026-12-05"));
        assert_eq!(row["ts"], json!("2026-12-05 01:02:03"));
        // MariaDB's JSON is LONGTEXT: the text, as the server printed it.
        assert_eq!(row["j"], json!("{\"a\": 1}"));
        assert_eq!(o.fields["row_count"], json!(1));
    }

    /// fixture → insert → count in one transaction, rolled back: the count sees the rows,
    /// the table is empty afterwards.
    #[tokio::test]
    async fn statements_run_before_the_query_and_roll_back() {
        let dsn = dsn();
        let mut conn = MySqlConnection::connect(&dsn).await.unwrap();
        sqlx::raw_sql("CREATE TABLE IF NOT EXISTS unit_rollback (id INT PRIMARY KEY, v VARCHAR(10))")
            .execute(&mut conn)
            .await
            .unwrap();
        sqlx::raw_sql("DELETE FROM unit_rollback").execute(&mut conn).await.unwrap();
        let dir = std::env::temp_dir().join(format!("cp-mysql-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fixture =
            "INSERT INTO unit_rollback VALUES (1, 'a'), (2, NULL);\nINSERT INTO unit_rollback VALUES (3, 'c');\n";
        let statements = vec!["UPDATE unit_rollback SET v = 'z' WHERE id > 1".to_string()];
        let request = Request {
            dsn: &dsn,
            script: Script { fixture: Some(("rows.sql".into(), fixture.into())), statements: &statements },
            query: Some("SELECT COUNT(*) AS n, SUM(v IS NULL) AS missing FROM unit_rollback"),
            rollback: true,
            ..Request::default()
        };
        let o = observe(&request).await.unwrap();
        assert_eq!(o.document.as_ref().unwrap()[0]["n"], json!(3), "{}", o.evidence);
        assert_eq!(o.fields["rows_affected"], json!(5), "{}", o.evidence);
        assert!(o.evidence.contains("rows.sql #1 → 2 rows affected"), "{}", o.evidence);
        assert!(o.evidence.contains("statement 1: UPDATE unit_rollback"), "{}", o.evidence);
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unit_rollback").fetch_one(&mut conn).await.unwrap();
        assert_eq!(left, 0, "rollback: true leaves no rows");

        // A failing statement names itself and rolls back what ran before it.
        let bad =
            vec!["INSERT INTO unit_rollback VALUES (9, 'x')".to_string(), "INSERT INTO nowhere VALUES (1)".to_string()];
        let request = Request { dsn: &dsn, script: Script { fixture: None, statements: &bad }, ..Request::default() };
        let Err(ObserveError::Failed { message, .. }) = observe(&request).await else { panic!("must fail") };
        assert!(message.starts_with("statement 2 failed: Table 'checkpoint_test.nowhere' doesn't exist"), "{message}");
        let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM unit_rollback").fetch_one(&mut conn).await.unwrap();
        assert_eq!(left, 0, "a failed script is rolled back");
        sqlx::raw_sql("DROP TABLE unit_rollback").execute(&mut conn).await.unwrap();
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_dsn_is_described_without_its_password() {
        assert_eq!(describe_dsn("mysql://u:secret@db:3307/app"), "db:3307/app as u");
    }
}
