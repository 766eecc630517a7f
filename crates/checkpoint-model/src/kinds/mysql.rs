//! `mysql` (MySQL and MariaDB): a query (its rows are the document) or a table and its
//! columns, after an optional fixture file and statements run in the same transaction —
//! the result shape of `postgres`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::sql::{self, Script};
use super::{Cx, Kind};

/// A MySQL/MariaDB query or table check, with optional statements before it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MysqlSpec {
    /// `mysql://user:${DB_PASSWORD}@${service.mysql.3306}/app`
    pub dsn: String,
    /// A query; its rows are the result document (a list of objects).
    pub query: Option<String>,
    /// A table that must exist (`schema.table`, or `table` in the DSN's database).
    pub table: Option<String>,
    /// Columns that must exist in `table`.
    #[serde(default)]
    pub columns: Vec<String>,
    /// An SQL file run first (relative to the project root), in the check's transaction.
    pub fixture: Option<String>,
    /// Statements run after the fixture and before the query, in order, in the same transaction.
    #[serde(default)]
    pub statements: Vec<String>,
    /// Roll the transaction back at the end so the check leaves no rows (DDL commits on its own in MySQL).
    #[serde(default)]
    pub rollback: bool,
}

impl MysqlSpec {
    pub fn script(&self) -> Script<'_> {
        Script { fixture: self.fixture.as_deref(), statements: &self.statements, rollback: self.rollback }
    }
}

impl Kind for MysqlSpec {
    const NAME: &'static str = "mysql";
    const EXPECT: &'static [&'static str] = &["row_count", "rows_affected", "json", "duration"];

    fn validate(&self, cx: &mut Cx<'_>) {
        sql::check_modes(
            cx,
            "mysql",
            self.query.is_some(),
            self.table.is_some(),
            !self.columns.is_empty(),
            &self.script(),
        );
    }
}
