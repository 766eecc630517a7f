//! Postgres quality gates, called by [`super::postgres`]:
//!
//! - **schema drift** (`schema:` or `schema_file:`): the expected tables,
//!   columns and types against `pg_catalog` of the live database. Missing
//!   tables, missing columns, type mismatches and (with `strict: true`)
//!   unexpected columns are *conflicts*: the field `conflicts` (expected `0`
//!   unless the check says otherwise), the list as the document, one evidence
//!   line each. Types are compared after normalising Postgres' aliases
//!   (`int4` = `integer`, `varchar` = `character varying`, `timestamptz` =
//!   `timestamp with time zone`, …); a type written without modifiers
//!   (`numeric`) accepts any (`numeric(10,2)`), one written with them must match.
//! - **query timing** (`repeat: N`): the query runs N times on one connection;
//!   `p50`, `p95`, `p99`, `max`, `mean` (ms, nearest-rank) are over the runs,
//!   `duration` is the whole observation as for any check.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use checkpoint_model::kinds::PostgresSpec;
use checkpoint_model::matcher::Matcher;
use indexmap::IndexMap;
use serde_json::{Value, json};
use sqlx::PgConnection;

use super::postgres::{describe_sqlx_error, query};
use crate::observe::{Observation, ObserveError};

/// Expected tables → columns → types, as written.
pub type Schema = IndexMap<String, IndexMap<String, String>>;

/// The expected schema: inline, or read from `schema_file` (YAML or JSON) under `root`.
pub fn expected_schema(spec: &PostgresSpec, root: &Path) -> Result<Schema, ObserveError> {
    if let Some(s) = &spec.schema {
        return Ok(s.clone());
    }
    let file = spec.schema_file.as_deref().unwrap_or_default();
    let path = root.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ObserveError::Errored(format!(
            "cannot read schema_file `{}`: {e} (paths are relative to the project root)",
            path.display()
        ))
    })?;
    serde_saphyr::from_str::<Schema>(&text).map_err(|e| {
        let first = e.to_string().lines().next().unwrap_or_default().to_string();
        ObserveError::Errored(format!(
            "schema_file `{}` is not a mapping of tables to columns and types: {first} (write `items: {{ id: uuid, price: numeric }}`)",
            path.display()
        ))
    })
}

/// One difference between the expected and the live schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conflict {
    pub table: String,
    pub column: Option<String>,
    /// `missing_table`, `missing_column`, `type_mismatch`, `unexpected_column`.
    pub kind: &'static str,
    pub expected: Option<String>,
    pub found: Option<String>,
}

impl Conflict {
    /// `items.price: expected numeric, found text`.
    pub fn line(&self) -> String {
        let at = match &self.column {
            Some(c) => format!("{}.{c}", self.table),
            None => self.table.clone(),
        };
        let e = self.expected.as_deref().unwrap_or_default();
        let f = self.found.as_deref().unwrap_or_default();
        match self.kind {
            "missing_table" => format!("{at}: table missing"),
            "missing_column" => format!("{at}: column missing (expected {e})"),
            "unexpected_column" => format!("{at}: unexpected column ({f})"),
            _ => format!("{at}: expected {e}, found {f}"),
        }
    }

    fn to_json(&self) -> Value {
        json!({ "table": self.table, "column": self.column, "kind": self.kind, "expected": self.expected, "found": self.found })
    }
}

/// `schema.table` → column → the live type as `format_type` writes it, for the schemas named.
type Live = BTreeMap<String, Vec<(String, String)>>;

async fn live_schema(conn: &mut PgConnection, schemas: &[String], target: &str) -> Result<Live, ObserveError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(
        "SELECT n.nspname::text, c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
           FROM pg_attribute a
           JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE a.attnum > 0 AND NOT a.attisdropped
            AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
            AND n.nspname = ANY($1)
          ORDER BY n.nspname, c.relname, a.attnum",
    )
    .bind(schemas)
    .fetch_all(&mut *conn)
    .await
    .map_err(|e| {
        let why = describe_sqlx_error(&e);
        ObserveError::failed(format!("reading the catalog failed: {why}"), format!("{target}\npg_catalog\n→ {why}"))
    })?;
    let mut live = Live::new();
    for (ns, table, column, ty) in rows {
        live.entry(format!("{ns}.{table}")).or_default().push((column, ty));
    }
    Ok(live)
}

/// `items` → (`public`, `items`); `app.items` → (`app`, `items`).
fn qualify(table: &str) -> (String, String) {
    match table.split_once('.') {
        Some((s, t)) => (s.to_string(), t.to_string()),
        None => ("public".to_string(), table.to_string()),
    }
}

/// Every conflict between `expected` and `live`, in the schema's order.
pub fn compare(expected: &Schema, live: &Live, strict: bool) -> Vec<Conflict> {
    let mut out = Vec::new();
    for (table, columns) in expected {
        let (ns, name) = qualify(table);
        let Some(have) = live.get(&format!("{ns}.{name}")) else {
            out.push(Conflict {
                table: table.clone(),
                column: None,
                kind: "missing_table",
                expected: None,
                found: None,
            });
            continue;
        };
        for (column, want) in columns {
            let conflict = |kind, found: Option<&String>| Conflict {
                table: table.clone(),
                column: Some(column.clone()),
                kind,
                expected: Some(want.clone()),
                found: found.cloned(),
            };
            match have.iter().find(|(c, _)| c == column) {
                None => out.push(conflict("missing_column", None)),
                Some((_, found)) if !same_type(want, found) => out.push(conflict("type_mismatch", Some(found))),
                Some(_) => {}
            }
        }
        if strict {
            for (column, found) in have {
                if !columns.contains_key(column) {
                    out.push(Conflict {
                        table: table.clone(),
                        column: Some(column.clone()),
                        kind: "unexpected_column",
                        expected: None,
                        found: Some(found.clone()),
                    });
                }
            }
        }
    }
    out
}

/// A type in canonical words: base name, modifiers (if written), array depth.
#[derive(Debug, PartialEq, Eq)]
struct Canon {
    base: String,
    modifiers: Option<String>,
    array: usize,
}

fn canon(t: &str) -> Canon {
    let mut s = t.trim().to_ascii_lowercase();
    let mut array = 0;
    while let Some(rest) = s.strip_suffix("[]") {
        s = rest.trim_end().to_string();
        array += 1;
    }
    if let Some(rest) = s.strip_prefix('_') {
        // pg's internal array names: `_int4`.
        s = rest.to_string();
        array += 1;
    }
    // Modifiers may sit mid-name: `timestamp(3) with time zone`.
    let mut modifiers = None;
    if let (Some(open), Some(close)) = (s.find('('), s.find(')'))
        && open < close
    {
        modifiers = Some(s[open + 1..close].replace(' ', ""));
        s = format!("{}{}", &s[..open], &s[close + 1..]);
    }
    let words: Vec<&str> = s.split_whitespace().collect();
    let s = words.join(" ");
    let base = match s.as_str() {
        "int" | "int4" | "integer" | "serial" | "serial4" => "integer",
        "int8" | "bigint" | "bigserial" | "serial8" => "bigint",
        "int2" | "smallint" | "smallserial" | "serial2" => "smallint",
        "float8" | "double precision" | "double" | "float" => "double precision",
        "float4" | "real" => "real",
        "decimal" | "numeric" => "numeric",
        "varchar" | "character varying" | "char varying" => "character varying",
        "char" | "character" | "bpchar" => "character",
        "bool" | "boolean" => "boolean",
        "timestamptz" | "timestamp with time zone" => "timestamp with time zone",
        "timestamp" | "timestamp without time zone" => "timestamp without time zone",
        "timetz" | "time with time zone" => "time with time zone",
        "time" | "time without time zone" => "time without time zone",
        "varbit" | "bit varying" => "bit varying",
        other => other,
    }
    .to_string();
    Canon { base, modifiers, array }
}

/// Same type after aliases; modifiers count only when the expectation writes them.
pub fn same_type(expected: &str, found: &str) -> bool {
    let (e, f) = (canon(expected), canon(found));
    e.base == f.base && e.array == f.array && (e.modifiers.is_none() || e.modifiers == f.modifiers)
}

/// The schema comparison as an observation.
pub async fn schema_drift(
    conn: &mut PgConnection,
    spec: &PostgresSpec,
    root: &Path,
    target: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let expected = expected_schema(spec, root)?;
    let mut schemas: Vec<String> = expected.keys().map(|t| qualify(t).0).collect();
    schemas.sort();
    schemas.dedup();
    let live = live_schema(conn, &schemas, target).await?;
    let elapsed = started.elapsed();
    let conflicts = compare(&expected, &live, spec.strict);
    let columns: usize = expected.values().map(IndexMap::len).sum();
    let mut evidence = format!(
        "{target}\nschema: {} table{}, {columns} column{} expected{}\n",
        expected.len(),
        if expected.len() == 1 { "" } else { "s" },
        if columns == 1 { "" } else { "s" },
        if spec.strict { " (strict: extra columns count)" } else { "" }
    );
    if conflicts.is_empty() {
        evidence.push_str("no conflicts\n");
    } else {
        let _ = writeln!(evidence, "{} conflict{}:", conflicts.len(), if conflicts.len() == 1 { "" } else { "s" });
        for c in &conflicts {
            let _ = writeln!(evidence, "{}", c.line());
        }
    }
    let mut obs = Observation {
        document: Some(Value::Array(conflicts.iter().map(Conflict::to_json).collect())),
        evidence,
        ..Observation::default()
    }
    .field("conflicts", conflicts.len())
    .duration(elapsed);
    obs.defaults.push(("conflicts", Matcher::equals(Value::from(0))));
    if let Some(first) = conflicts.first() {
        // The one-line reason of a failed `conflicts` names the first conflict.
        obs.notes.insert("conflicts".into(), Value::from(first.line()));
    }
    Ok(obs)
}

/// Nearest-rank percentile of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// The query run `n` times; the last run's rows are the document.
pub async fn repeated(
    conn: &mut PgConnection,
    q: &str,
    target: &str,
    started: Instant,
    n: u32,
) -> Result<Observation, ObserveError> {
    let mut runs = Vec::with_capacity(n as usize);
    let mut last = None;
    for _ in 0..n {
        let run = Instant::now();
        let obs = query(conn, q, target, run).await?;
        runs.push(checkpoint_model::duration::millis(run.elapsed()));
        last = Some(obs);
    }
    let mut obs = last.unwrap_or_default();
    let mut sorted = runs.clone();
    sorted.sort_by(f64::total_cmp);
    let mean = runs.iter().sum::<f64>() / runs.len().max(1) as f64;
    let figures = [
        ("p50", percentile(&sorted, 50.0)),
        ("p95", percentile(&sorted, 95.0)),
        ("p99", percentile(&sorted, 99.0)),
        ("max", sorted.last().copied().unwrap_or(0.0)),
        ("mean", mean),
    ];
    let human = checkpoint_model::duration::human;
    let line: Vec<String> = figures.iter().map(|(k, v)| format!("{k} {}", human(*v))).collect();
    obs.evidence = format!("{n} runs: {}\n{}", line.join(", "), obs.evidence);
    let mut metrics = serde_json::Map::new();
    metrics.insert("runs".into(), Value::from(n));
    for (k, v) in figures {
        obs = obs.field(k, v);
        metrics.insert(k.into(), Value::from(v));
    }
    obs.metrics = Some(Value::Object(metrics));
    Ok(obs.duration(started.elapsed()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_normalise() {
        for (a, b) in [
            ("int4", "integer"),
            ("int", "integer"),
            ("serial", "integer"),
            ("int8", "bigint"),
            ("varchar", "character varying(255)"),
            ("varchar(255)", "character varying(255)"),
            ("timestamptz", "timestamp with time zone"),
            ("timestamptz", "timestamp(3) with time zone"),
            ("timestamp", "timestamp without time zone"),
            ("numeric", "numeric(10,2)"),
            ("decimal(10, 2)", "numeric(10,2)"),
            ("bool", "boolean"),
            ("float8", "double precision"),
            ("int[]", "integer[]"),
            ("_int4", "integer[]"),
            ("UUID", "uuid"),
            ("char(3)", "character(3)"),
        ] {
            assert!(same_type(a, b), "{a} should equal {b}");
        }
        for (a, b) in [
            ("numeric", "text"),
            ("varchar(100)", "character varying(255)"),
            ("timestamptz", "timestamp without time zone"),
            ("json", "jsonb"),
            ("integer", "integer[]"),
            ("int4", "bigint"),
        ] {
            assert!(!same_type(a, b), "{a} should differ from {b}");
        }
    }

    #[test]
    fn conflicts_are_listed_in_schema_order() {
        let expected: Schema = serde_json::from_value(json!({
            "items": { "id": "uuid", "price": "numeric", "gone": "text" },
            "nope": { "id": "int" }
        }))
        .unwrap();
        let mut live = Live::new();
        live.insert(
            "public.items".into(),
            vec![("id".into(), "uuid".into()), ("price".into(), "text".into()), ("extra".into(), "integer".into())],
        );
        let lines: Vec<String> = compare(&expected, &live, true).iter().map(Conflict::line).collect();
        assert_eq!(
            lines,
            [
                "items.price: expected numeric, found text",
                "items.gone: column missing (expected text)",
                "items.extra: unexpected column (integer)",
                "nope: table missing",
            ]
        );
        assert_eq!(compare(&expected, &live, false).len(), 3);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 10.0);
        assert_eq!(percentile(&v, 95.0), 19.0);
        assert_eq!(percentile(&v, 99.0), 20.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
    }
}
