//! What the SQL kinds share — `postgres` and `mysql`: statements and a fixture file run
//! before the query in one transaction (`rollback: true` leaves no trace), and the rule
//! that a check looks at one thing. Not a kind itself.

use super::Cx;
use crate::diag::Diagnostic;

/// A fixture file and statements, as written.
pub struct Script<'a> {
    pub fixture: Option<&'a str>,
    pub statements: &'a [String],
    pub rollback: bool,
}

impl Script<'_> {
    pub fn is_empty(&self) -> bool {
        self.fixture.is_none() && self.statements.is_empty()
    }
}

const HINT: &str = "`query: SELECT count(*) AS n FROM users`, or `table: users` with optional `columns: [id, email]`";

/// At most one of `query` and `table` (none when statements run alone); `columns` only
/// with `table`; `rollback` only with statements; the fixture file exists; no empty statement.
pub(crate) fn check_modes(cx: &mut Cx<'_>, kind: &str, query: bool, table: bool, columns: bool, script: &Script<'_>) {
    let name = cx.name;
    if query && table {
        cx.err_at(
            cx.key_at("table"),
            Diagnostic::new(format!("{kind} check `{name}` has both `query` and `table`"))
                .label("one of `query` or `table`")
                .hint(HINT),
        );
    } else if !query && !table && script.is_empty() {
        cx.err_at(
            cx.whole.clone(),
            Diagnostic::new(format!("{kind} check `{name}` needs `query` or `table`"))
                .label("nothing to look at")
                .hint(HINT),
        );
    }
    if columns && !table {
        cx.err_at(
            cx.key_at("columns"),
            Diagnostic::new("`columns` goes with `table`")
                .label("no `table` to look in")
                .hint("add `table: <name>`, or check columns in the query's result with `expect.json`"),
        );
    }
    check_script(cx, script);
}

/// The fixture file exists; no empty statement; `rollback` has something to roll back.
pub(crate) fn check_script(cx: &mut Cx<'_>, script: &Script<'_>) {
    if let Some(file) = script.fixture
        && !file.contains("${")
    {
        let path = cx.root.join(file);
        if !path.is_file() {
            cx.err_at(
                cx.value_at("fixture"),
                Diagnostic::new(format!("fixture file `{file}` not found"))
                    .label("no such file")
                    .hint(format!("paths are relative to the project root ({})", cx.root.display())),
            );
        }
    }
    if script.statements.iter().any(|s| s.trim().is_empty()) {
        cx.err_at(
            cx.value_at("statements"),
            Diagnostic::new("an empty statement in `statements`")
                .label("no SQL")
                .hint("each entry is one statement: `INSERT INTO t (a) VALUES (1)`"),
        );
    }
    if script.rollback && script.is_empty() {
        cx.err_at(
            cx.key_at("rollback"),
            Diagnostic::new("`rollback` goes with `statements` or `fixture`")
                .label("nothing to roll back")
                .hint("`rollback: true` undoes what `statements:` and `fixture:` changed, after the query saw it"),
        );
    }
}
