//! What a `postgres` or `mysql` check runs before its query: a fixture file and a list of
//! statements, in order, in one transaction with the query, committed at the end or rolled
//! back (`rollback: true`) so the check leaves no trace.
//!
//! A fixture file is sent as it is (both servers take several statements in one text); the
//! server reports each statement's rows affected, so a failure names the statement by its
//! number in the file.

use std::fmt::Write as _;

use futures::TryStreamExt as _;
use sqlx::{AssertSqlSafe, Database, Executor};

/// The rows a statement changed, for every backend's query result.
pub(crate) trait Affected {
    fn affected(&self) -> u64;
}

impl Affected for sqlx::postgres::PgQueryResult {
    fn affected(&self) -> u64 {
        self.rows_affected()
    }
}

impl Affected for sqlx::mysql::MySqlQueryResult {
    fn affected(&self) -> u64 {
        self.rows_affected()
    }
}

/// A fixture file (as shown in messages, and its text) and statements, run in this order.
#[derive(Debug, Default)]
pub(crate) struct Script<'a> {
    pub fixture: Option<(String, String)>,
    pub statements: &'a [String],
}

impl Script<'_> {
    pub(crate) fn is_empty(&self) -> bool {
        self.fixture.is_none() && self.statements.is_empty()
    }
}

/// The script of a spec: its fixture file read (relative to the project root) — a missing
/// file is the definition's fault, said before connecting.
pub(crate) fn load<'a>(
    written: &checkpoint_model::kinds::sql::Script<'a>,
    root: &std::path::Path,
) -> Result<Script<'a>, crate::observe::ObserveError> {
    let fixture = match written.fixture {
        None => None,
        Some(file) => {
            let text = std::fs::read_to_string(root.join(file)).map_err(|e| {
                crate::observe::ObserveError::Errored(format!("cannot read fixture file `{file}`: {e}"))
            })?;
            Some((file.to_string(), text))
        }
    };
    Ok(Script { fixture, statements: written.statements })
}

/// A refused statement as the check's failure: which one and the server's reason; everything
/// before it was rolled back.
pub(crate) fn step_failed(failed: &StepFailed, target: &str, why: &str) -> crate::observe::ObserveError {
    let sql = if failed.sql.is_empty() { String::new() } else { format!("\n{}", failed.sql.trim()) };
    crate::observe::ObserveError::failed(
        format!("{} failed: {why}", failed.label),
        format!("{target}\n{}{sql}\n→ {why}\n(rolled back)", failed.label),
    )
}

/// The observation of a table check, for every backend: `schema.name` exists with the
/// `wanted` columns, given the columns the catalog listed (none: no such table). `log` is
/// what ran before (the script's lines), shown after the target.
pub(crate) fn table_observation(
    target: &str,
    log: &str,
    (schema, name): (&str, &str),
    columns: &[String],
    wanted: &[String],
    elapsed: std::time::Duration,
) -> crate::observe::Observation {
    let exists = !columns.is_empty();
    let missing: Vec<&String> = wanted.iter().filter(|c| !columns.contains(c)).collect();
    let mut problems = Vec::new();
    if !exists {
        problems.push(format!("table `{schema}.{name}` does not exist"));
    } else if !missing.is_empty() {
        let list: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
        problems.push(format!(
            "table `{schema}.{name}` lacks column{} {}",
            if list.len() == 1 { "" } else { "s" },
            list.join(", ")
        ));
    }
    let evidence = if exists {
        format!("{target}\n{log}table {schema}.{name} has columns: {}", columns.join(", "))
    } else {
        format!("{target}\n{log}no table {schema}.{name} (information_schema.columns has no rows for it)")
    };
    let document = serde_json::json!({ "table": format!("{schema}.{name}"), "exists": exists, "columns": columns, "missing": missing });
    crate::observe::Observation { document: Some(document), evidence, problems, ..Default::default() }
        .field("row_count", usize::from(exists))
        .duration(elapsed)
}

/// One statement that ran: what it was (`statement 2`, `fixtures/rows.sql #3`) and its rows affected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Step {
    pub label: String,
    pub rows_affected: u64,
}

/// A statement the server refused: which one, and why.
#[derive(Debug)]
pub(crate) struct StepFailed {
    pub label: String,
    pub sql: String,
    pub error: sqlx::Error,
}

/// Runs the script on `conn` (the caller has begun the transaction).
pub(crate) async fn run<DB>(conn: &mut DB::Connection, script: &Script<'_>) -> Result<Vec<Step>, StepFailed>
where
    DB: Database,
    DB::QueryResult: Affected,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let mut steps = Vec::new();
    if let Some((name, text)) = &script.fixture {
        let mut results = sqlx::raw_sql(AssertSqlSafe(text.clone())).execute_many(&mut *conn);
        let mut n = 0;
        loop {
            match results.try_next().await {
                Ok(Some(done)) => {
                    n += 1;
                    steps.push(Step { label: format!("{name} #{n}"), rows_affected: done.affected() });
                }
                Ok(None) => break,
                Err(error) => {
                    return Err(StepFailed { label: format!("{name} #{}", n + 1), sql: String::new(), error });
                }
            }
        }
    }
    for (i, sql) in script.statements.iter().enumerate() {
        let label = format!("statement {}", i + 1);
        match sqlx::raw_sql(AssertSqlSafe(sql.clone())).execute(&mut *conn).await {
            Ok(done) => steps.push(Step { label, rows_affected: done.affected() }),
            Err(error) => return Err(StepFailed { label, sql: sql.clone(), error }),
        }
    }
    Ok(steps)
}

/// The evidence lines of the steps: `statement 1: INSERT … → 5 rows affected`.
pub(crate) fn describe(steps: &[Step], statements: &[String]) -> String {
    let mut out = String::new();
    for step in steps {
        let sql = step
            .label
            .strip_prefix("statement ")
            .and_then(|n| n.parse::<usize>().ok())
            .and_then(|n| statements.get(n - 1))
            .map(|s| format!(": {}", one_line(s)))
            .unwrap_or_default();
        let s = if step.rows_affected == 1 { "" } else { "s" };
        let _ = writeln!(out, "{}{sql} → {} row{s} affected", step.label, step.rows_affected);
    }
    out
}

/// The first line of a statement, cut to 120 characters.
pub(crate) fn one_line(sql: &str) -> String {
    let line = sql.trim().lines().next().unwrap_or("").trim();
    let multi = sql.trim().lines().nth(1).is_some();
    match line.char_indices().nth(120) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None if multi => format!("{line} …"),
        None => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_names_each_step_and_its_rows() {
        let statements = vec!["INSERT INTO t VALUES (1), (2)".to_string()];
        let steps = vec![
            Step { label: "rows.sql #1".into(), rows_affected: 0 },
            Step { label: "statement 1".into(), rows_affected: 2 },
        ];
        assert_eq!(
            describe(&steps, &statements),
            "rows.sql #1 → 0 rows affected\nstatement 1: INSERT INTO t VALUES (1), (2) → 2 rows affected\n"
        );
    }

    #[test]
    fn one_line_keeps_the_first_line_and_says_there_is_more() {
        assert_eq!(one_line("  SELECT 1  "), "SELECT 1");
        assert_eq!(one_line("SELECT 1\nFROM t"), "SELECT 1 …");
        assert_eq!(one_line(&"x".repeat(130)).chars().count(), 121);
    }
}
