//! Judging an observation: the kind's own problems first, then every
//! expectation (the check's, plus the kind's defaults for fields it did not
//! set). The first failure is the one-line reason; all of them go into the
//! evidence. Captures are taken from the same document.

use checkpoint_model::interp::Lookup;
use checkpoint_model::matcher::Matcher;
use checkpoint_model::plan::{Capture, Check};
use serde_json::Value;

use crate::observe::Observation;

/// `Err((one line, every failure))`.
pub fn evaluate(
    check: &Check,
    kind_defaults: &[(&'static str, Matcher)],
    obs: &Observation,
    vars: &dyn Lookup,
) -> Result<(), (String, Vec<String>)> {
    let mut failures: Vec<String> = obs.problems.clone();
    for e in &check.expect {
        let matcher = match e.matcher.expand(vars) {
            Ok(m) => m,
            Err(err) => {
                failures.push(format!("{}: {}", e.label(), err.message));
                continue;
            }
        };
        let actual = actual(obs, &e.field, e.key.as_deref());
        if let Err(msg) = matcher.check(actual.as_ref()) {
            let note = if e.field == "json" && obs.document.is_none() { " (the result is not JSON)" } else { "" };
            let why = field_note(obs, &e.field);
            failures.push(format!("{}: {msg}{note}{why}", e.label()));
        }
    }
    for (field, m) in &obs.defaults {
        if check.expect.iter().any(|e| e.field == *field) {
            continue;
        }
        let actual = actual(obs, field, None);
        if let Err(msg) = m.check(actual.as_ref()) {
            failures.push(format!("{field}: {msg}{}", field_note(obs, field)));
        }
    }
    for (field, m) in kind_defaults {
        if check.expect.iter().any(|e| e.field == *field) {
            continue;
        }
        let actual = actual(obs, field, None);
        if let Err(msg) = m.check(actual.as_ref()) {
            failures.push(format!("{field}: {msg}{}", field_note(obs, field)));
        }
    }
    match failures.first() {
        None => Ok(()),
        Some(first) => Err((first.clone(), failures)),
    }
}

/// ` — why` when the kind left a note on the field (why it is absent, the first
/// conflict); a note in parentheses is context and follows with a space:
/// `p95: expected < 200ms, got 312ms (500 requests, c=8)`.
fn field_note(obs: &Observation, field: &str) -> String {
    obs.notes
        .get(field)
        .and_then(Value::as_str)
        .map(|why| if why.starts_with('(') { format!(" {why}") } else { format!(" — {why}") })
        .unwrap_or_default()
}

/// The observed value an expectation looks at.
pub fn actual(obs: &Observation, field: &str, key: Option<&str>) -> Option<Value> {
    match (field, key) {
        ("json", Some(path)) => query(obs.document.as_ref()?, path),
        ("headers", Some(name)) => obs.fields.get("headers")?.get(name.to_ascii_lowercase()).cloned(),
        ("cookies", Some(name)) => obs.fields.get("cookies")?.get(name).cloned(),
        (f, _) => obs.fields.get(f).cloned(),
    }
}

/// A JSONPath query: nothing → None, one node → it, several → a list.
pub fn query(doc: &Value, path: &str) -> Option<Value> {
    let p = checkpoint_model::json_path::parse(path).ok()?;
    let nodes = p.query(doc).all();
    match nodes.len() {
        0 => None,
        1 => Some(nodes[0].clone()),
        _ => Some(Value::Array(nodes.into_iter().cloned().collect())),
    }
}

/// Values for the check's `capture:` (strings as they are, the rest as JSON text).
pub fn captures(check: &Check, obs: &Observation) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    for (var, source) in &check.capture {
        let value = match source {
            Capture::Json(path) => {
                let Some(doc) = obs.document.as_ref() else {
                    return Err(format!("capture {var}: the result is not JSON"));
                };
                query(doc, path).ok_or_else(|| format!("capture {var}: {path} matched nothing"))?
            }
            Capture::Header(name) => obs
                .fields
                .get("headers")
                .and_then(|h| h.get(name))
                .cloned()
                .ok_or_else(|| format!("capture {var}: the response has no `{name}` header"))?,
            Capture::Cookie(name) => {
                let set = obs.fields.get("cookies").and_then(Value::as_object);
                set.and_then(|c| c.get(name)).cloned().ok_or_else(|| {
                    let names: Vec<&str> = set.into_iter().flat_map(|c| c.keys().map(String::as_str)).collect();
                    let which = if names.is_empty() { "none".to_string() } else { names.join(", ") };
                    format!("capture {var}: the response set no cookie `{name}` (it set: {which})")
                })?
            }
        };
        match value {
            Value::String(s) => out.push((var.clone(), s)),
            v => out.push((var.clone(), v.to_string())),
        }
    }
    Ok(out)
}

/// For reports: `status = 200`.
pub fn describe(m: &Matcher) -> String {
    m.describe()
}
