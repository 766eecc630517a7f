//! Validation of the quality-gate specs: `metrics`, `postgres` with `schema` /
//! `schema_file` / `repeat`, `redis` with `info`. Kept apart from the other
//! kinds' rules so the shared loader only gains one line per arm.

use serde_json::Value;

use super::{Spot, Validator, field_spot as spot, require_http_url};
use crate::diag::{Diagnostic, Location, did_you_mean};
use crate::yaml::Node;

/// Aggregations of several matching series, as written after `aggregate:`.
pub(crate) const AGGREGATES: &[&str] = &["sum", "max", "min", "count"];

/// Most runs of a `repeat`ed query (a gate, not a load test).
const MAX_REPEAT: u64 = 10_000;

/// True when a postgres spec uses a quality-gate field, so these rules apply.
pub(super) fn uses_quality(spec: &Value) -> bool {
    ["schema", "schema_file", "repeat", "strict"].iter().any(|k| spec.get(*k).is_some())
}

/// Exactly one of `query`, `table`, `schema`, `schema_file`; `repeat` only with
/// `query`; `strict` only with a schema; `columns` only with `table`.
pub(super) fn check_postgres(
    v: &mut Validator<'_>,
    spec: &Value,
    name: &str,
    loc: &Location,
    node: Option<&Node>,
    whole: &Spot,
) {
    let modes: Vec<&str> =
        ["query", "table", "schema", "schema_file"].into_iter().filter(|k| spec.get(*k).is_some()).collect();
    let hint = "one of `query: SELECT …`, `table: users`, `schema: { items: { id: uuid, price: numeric } }` \
                or `schema_file: db/schema.yaml`";
    match modes.as_slice() {
        [_] => {}
        [] => v.err(
            Diagnostic::new(format!("postgres check `{name}` has nothing to look at"))
                .span(whole.0.clone(), whole.1)
                .label("no `query`, `table`, `schema` or `schema_file`")
                .hint(hint),
        ),
        [first, second, ..] => {
            let at = spot(v, node, second, false, loc);
            v.err(
                Diagnostic::new(format!("postgres check `{name}` has both `{first}` and `{second}`"))
                    .span(at.0, at.1)
                    .label("a second thing to look at")
                    .hint(format!("a check observes one thing: {hint}")),
            );
        }
    }
    let has = |k: &str| spec.get(k).is_some();
    if let Some(r) = spec.get("repeat") {
        let at = spot(v, node, "repeat", true, loc);
        if !has("query") {
            v.err(
                Diagnostic::new("`repeat` goes with `query`")
                    .span(at.0, at.1)
                    .label("nothing to repeat")
                    .hint("time a query: `query: SELECT …` with `repeat: 20`, then `expect: { p95: { lt: 100ms } }`"),
            );
        } else if r.as_u64().is_none_or(|n| n == 0 || n > MAX_REPEAT) {
            v.err(
                Diagnostic::new(format!("`repeat: {r}` is out of range"))
                    .span(at.0, at.1)
                    .label(format!("1 to {MAX_REPEAT}"))
                    .hint("how many times to run the query, e.g. `repeat: 20`"),
            );
        }
    }
    if has("strict") && !(has("schema") || has("schema_file")) {
        let at = spot(v, node, "strict", false, loc);
        v.err(
            Diagnostic::new("`strict` goes with `schema` or `schema_file`")
                .span(at.0, at.1)
                .label("no schema to be strict about")
                .hint("`strict: true` makes columns the schema does not list conflicts too"),
        );
    }
    if has("columns") && !has("table") {
        let at = spot(v, node, "columns", false, loc);
        v.err(
            Diagnostic::new("`columns` goes with `table`")
                .span(at.0, at.1)
                .label("no `table` to look in")
                .hint("with `schema:` list the columns under each table: `schema: { items: { id: uuid } }`"),
        );
    }
    if let Some(tables) = spec.get("schema").and_then(Value::as_object) {
        if tables.is_empty() {
            let at = spot(v, node, "schema", true, loc);
            v.err(
                Diagnostic::new("`schema` lists no table")
                    .span(at.0, at.1)
                    .label("empty")
                    .hint("`schema: { items: { id: uuid, name: text } }`"),
            );
        }
        for (table, cols) in tables {
            if cols.as_object().is_some_and(serde_json::Map::is_empty) {
                let at = v.place(node.and_then(|n| n.get("schema")).and_then(|n| n.get(table)), loc);
                v.err(
                    Diagnostic::new(format!("table `{table}` in `schema` lists no column"))
                        .span(at.0, at.1)
                        .label("no columns")
                        .hint(format!("`{table}: {{ id: uuid }}`: each column with its type")),
                );
            }
        }
    }
}

/// `info` is one section name and replaces `command`/`commands`.
pub(super) fn check_redis_info(v: &mut Validator<'_>, spec: &Value, name: &str, loc: &Location, node: Option<&Node>) {
    for other in ["command", "commands"] {
        if spec.get(other).is_some() {
            let at = spot(v, node, other, false, loc);
            v.err(
                Diagnostic::new(format!("redis check `{name}` has both `info` and `{other}`"))
                    .span(at.0, at.1)
                    .label("one of `info`, `command` or `commands`")
                    .hint("`info: stats` reads the server's statistics; run commands in a separate check"),
            );
        }
    }
    let section = spec.get("info").and_then(Value::as_str).unwrap_or_default();
    if !section.contains("${")
        && (section.is_empty() || !section.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
    {
        let at = spot(v, node, "info", true, loc);
        v.err(
            Diagnostic::new(format!("`info: {section}` is not an INFO section"))
                .span(at.0, at.1)
                .label("one word")
                .hint("`info: stats` (hit ratio), or another section: server, clients, memory, keyspace"),
        );
    }
}

/// A Prometheus URL, a metric name as the format allows, a known aggregation.
pub(super) fn check_metrics(v: &mut Validator<'_>, spec: &Value, loc: &Location, node: Option<&Node>) {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    require_http_url(
        v,
        spec,
        "url",
        node,
        loc,
        "the endpoint Prometheus scrapes, e.g. `url: \"http://${service.api.8000}/metrics\"`",
    );
    let metric = s("metric");
    if !metric.contains("${") && !valid_metric_name(&metric) {
        let at = spot(v, node, "metric", true, loc);
        v.err(
            Diagnostic::new(format!("`{metric}` is not a Prometheus metric name"))
                .span(at.0, at.1)
                .label("letters, digits, `_` and `:`, not starting with a digit")
                .hint("the series name as exposed, e.g. `metric: http_requests_total` (labels go in `labels:`)"),
        );
    }
    if let Some(a) = spec.get("aggregate").and_then(Value::as_str)
        && !a.contains("${")
        && !AGGREGATES.contains(&a)
    {
        let at = spot(v, node, "aggregate", true, loc);
        v.err(
            Diagnostic::new(format!("unknown aggregate `{a}`")).span(at.0, at.1).label("not an aggregation").hint(
                did_you_mean(a, AGGREGATES.iter().copied())
                    .map(|m| format!("did you mean `{m}`?"))
                    .unwrap_or_else(|| format!("aggregates: {}", AGGREGATES.join(", "))),
            ),
        );
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the text format's metric names.
pub(crate) fn valid_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
