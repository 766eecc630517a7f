//! `postgres`: a query (its rows are the document; `repeat` times it), a
//! table and its columns, or schema drift against the live catalog
//! (`schema` / `schema_file`, `strict`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::sql::{self, Script};
use super::{Cx, Kind, given};
use crate::diag::Diagnostic;

/// Most runs of a `repeat`ed query (a gate, not a load test).
const MAX_REPEAT: u64 = 10_000;

/// A Postgres query, or a table/columns existence check.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// `postgres://user:${DB_PASSWORD}@${service.db.5432}/app`
    pub dsn: String,
    /// A query; its rows are the result document (a list of objects).
    pub query: Option<String>,
    /// A table that must exist (`schema.table` or `table`).
    pub table: Option<String>,
    /// Columns that must exist in `table`.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Schema drift: the expected tables (`schema.table` or `table`) with
    /// their columns and types, compared with the live catalog.
    pub schema: Option<IndexMap<String, IndexMap<String, String>>>,
    /// The same as `schema`, from a YAML or JSON file (relative to the project root).
    pub schema_file: Option<String>,
    /// With `schema`: columns the live table has but the schema does not list are conflicts too.
    #[serde(default)]
    pub strict: bool,
    /// With `query`: run it this many times; `p50`, `p95`, `p99`, `max`, `mean` are over the runs.
    pub repeat: Option<u32>,
    /// An SQL file run first (relative to the project root), in the check's transaction.
    pub fixture: Option<String>,
    /// Statements run after the fixture and before the query, in order, in the same transaction.
    #[serde(default)]
    pub statements: Vec<String>,
    /// Roll the transaction back at the end, so the check leaves no trace.
    #[serde(default)]
    pub rollback: bool,
}

impl Kind for PostgresSpec {
    const NAME: &'static str = "postgres";
    const EXPECT: &'static [&'static str] =
        &["row_count", "rows_affected", "json", "duration", "conflicts", "p50", "p95", "p99", "max", "mean"];

    fn validate(&self, cx: &mut Cx<'_>) {
        if self.schema.is_some() || self.schema_file.is_some() || self.repeat.is_some() || self.strict {
            self.check_quality(cx);
            self.no_script_with_quality(cx);
        } else {
            sql::check_modes(
                cx,
                "postgres",
                self.query.is_some(),
                self.table.is_some(),
                !self.columns.is_empty(),
                &self.script(),
            );
        }
    }
}

impl PostgresSpec {
    pub fn script(&self) -> Script<'_> {
        Script { fixture: self.fixture.as_deref(), statements: &self.statements, rollback: self.rollback }
    }

    /// Timing (`repeat`) and schema drift observe the database as it is: no statements before them.
    fn no_script_with_quality(&self, cx: &mut Cx<'_>) {
        let key = if self.fixture.is_some() {
            "fixture"
        } else if !self.statements.is_empty() {
            "statements"
        } else {
            return;
        };
        cx.err_at(
            cx.key_at(key),
            Diagnostic::new(format!("`{key}` cannot go with `repeat`, `schema` or `schema_file`"))
                .label("statements run before a plain `query` or `table` only")
                .hint("load the data in a check of its own before this one (`statements:` without `rollback`)"),
        );
    }

    /// Exactly one of `query`, `table`, `schema`, `schema_file`; `repeat` only
    /// with `query`; `strict` only with a schema; `columns` only with `table`.
    fn check_quality(&self, cx: &mut Cx<'_>) {
        let name = cx.name;
        let modes = given([
            ("query", self.query.is_some()),
            ("table", self.table.is_some()),
            ("schema", self.schema.is_some()),
            ("schema_file", self.schema_file.is_some()),
        ]);
        let hint = "one of `query: SELECT …`, `table: users`, `schema: { items: { id: uuid, price: numeric } }` \
                    or `schema_file: db/schema.yaml`";
        match modes.as_slice() {
            [_] => {}
            [] => {
                cx.err_at(
                    cx.whole.clone(),
                    Diagnostic::new(format!("postgres check `{name}` has nothing to look at"))
                        .label("no `query`, `table`, `schema` or `schema_file`")
                        .hint(hint),
                );
            }
            [first, second, ..] => {
                cx.err_at(
                    cx.key_at(second),
                    Diagnostic::new(format!("postgres check `{name}` has both `{first}` and `{second}`"))
                        .label("a second thing to look at")
                        .hint(format!("a check observes one thing: {hint}")),
                );
            }
        }
        if let Some(r) = self.repeat {
            let at = cx.value_at("repeat");
            if self.query.is_none() {
                cx.err_at(
                    at,
                    Diagnostic::new("`repeat` goes with `query`").label("nothing to repeat").hint(
                        "time a query: `query: SELECT …` with `repeat: 20`, then `expect: { p95: { lt: 100ms } }`",
                    ),
                );
            } else if r == 0 || u64::from(r) > MAX_REPEAT {
                cx.err_at(
                    at,
                    Diagnostic::new(format!("`repeat: {r}` is out of range"))
                        .label(format!("1 to {MAX_REPEAT}"))
                        .hint("how many times to run the query, e.g. `repeat: 20`"),
                );
            }
        }
        if self.strict && !(self.schema.is_some() || self.schema_file.is_some()) {
            cx.err_at(
                cx.key_at("strict"),
                Diagnostic::new("`strict` goes with `schema` or `schema_file`")
                    .label("no schema to be strict about")
                    .hint("`strict: true` makes columns the schema does not list conflicts too"),
            );
        }
        if !self.columns.is_empty() && self.table.is_none() {
            cx.err_at(
                cx.key_at("columns"),
                Diagnostic::new("`columns` goes with `table`")
                    .label("no `table` to look in")
                    .hint("with `schema:` list the columns under each table: `schema: { items: { id: uuid } }`"),
            );
        }
        if let Some(tables) = &self.schema {
            if tables.is_empty() {
                cx.err_at(
                    cx.value_at("schema"),
                    Diagnostic::new("`schema` lists no table")
                        .label("empty")
                        .hint("`schema: { items: { id: uuid, name: text } }`"),
                );
            }
            let schema_node = cx.field("schema");
            for (table, cols) in tables {
                if cols.is_empty() {
                    cx.err_at(
                        cx.place(schema_node.and_then(|n| n.get(table))),
                        Diagnostic::new(format!("table `{table}` in `schema` lists no column"))
                            .label("no columns")
                            .hint(format!("`{table}: {{ id: uuid }}`: each column with its type")),
                    );
                }
            }
        }
    }
}
