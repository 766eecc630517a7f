//! One matcher vocabulary for every check kind.
//!
//! In a checkpoint file a matcher is either a plain value (equality) or a
//! mapping of operators, all of which must hold:
//!
//! ```yaml
//! status: 200
//! duration: { lt: 200ms }
//! json:
//!   $.status: ok
//!   $.items: { length: { gte: 1 } }
//!   $.email: { matches: "^user-.*@example\\.com$" }
//!   $.role: { one_of: [admin, user] }
//! ```
//!
//! Equality is lenient across scalar types (`"42"` equals `42`) because values
//! captured or interpolated from variables are strings. Bounds accept numbers,
//! durations (`200ms`, compared with a duration in milliseconds) and
//! percentages (`0.1%`, compared with a ratio).

use std::fmt::Write as _;

use serde_json::Value;

use crate::interp::{self, InterpError, Lookup};

pub const OPERATORS: &[&str] = &[
    "equals",
    "not_equals",
    "contains",
    "not_contains",
    "matches",
    "gt",
    "gte",
    "lt",
    "lte",
    "exists",
    "type",
    "length",
    "one_of",
];

#[derive(Clone, Debug, PartialEq)]
pub enum Op {
    Equals(Value),
    NotEquals(Value),
    Contains(Value),
    NotContains(Value),
    Matches(String),
    Gt(Value),
    Gte(Value),
    Lt(Value),
    Lte(Value),
    Exists(bool),
    Type(String),
    Length(Box<Matcher>),
    OneOf(Vec<Value>),
}

/// All of its operators must hold.
#[derive(Clone, Debug, PartialEq)]
pub struct Matcher {
    pub ops: Vec<Op>,
}

/// What went wrong turning YAML into a matcher.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MatcherError {
    pub message: String,
    pub hint: Option<String>,
    /// The operator at fault (`lenght`, `matches`), so the loader can point at it.
    pub op: Option<String>,
}

const TYPES: &[&str] = &["string", "number", "integer", "boolean", "array", "object", "null"];

impl Matcher {
    pub fn equals(v: Value) -> Self {
        Self { ops: vec![Op::Equals(v)] }
    }

    pub fn parse(v: &Value) -> Result<Self, MatcherError> {
        let Value::Object(map) = v else {
            return Ok(Self::equals(v.clone()));
        };
        if map.is_empty() {
            return Err(MatcherError {
                message: "empty matcher".into(),
                hint: Some("write a value to compare with, or operators like `{ gte: 1 }`".into()),
                op: None,
            });
        }
        let mut ops = Vec::new();
        for (k, x) in map {
            let op = Self::parse_op(k, x).map_err(|mut e| {
                e.op.get_or_insert_with(|| k.clone());
                e
            })?;
            ops.push(op);
        }
        Ok(Self { ops })
    }

    fn parse_op(k: &str, x: &Value) -> Result<Op, MatcherError> {
        {
            let op = match k {
                "equals" => Op::Equals(x.clone()),
                "not_equals" => Op::NotEquals(x.clone()),
                "contains" => Op::Contains(x.clone()),
                "not_contains" => Op::NotContains(x.clone()),
                "matches" => {
                    let Value::String(re) = x else {
                        return Err(err("`matches` takes a regular expression string", None));
                    };
                    if !re.contains("${") {
                        regex::Regex::new(re).map_err(|e| {
                            err(
                                &format!("invalid regular expression `{re}`: {}", first_line(&e.to_string())),
                                Some(
                                    "regex syntax is Rust's `regex` crate; escape `.` as `\\\\.` in YAML double quotes"
                                        .into(),
                                ),
                            )
                        })?;
                    }
                    Op::Matches(re.clone())
                }
                "gt" | "gte" | "lt" | "lte" => {
                    if bound(x).is_none() && !is_template(x) {
                        return Err(err(
                            &format!(
                                "`{k}` takes a number, a duration like `200ms` or a percentage like `1%`, not {}",
                                show(x)
                            ),
                            None,
                        ));
                    }
                    match k {
                        "gt" => Op::Gt(x.clone()),
                        "gte" => Op::Gte(x.clone()),
                        "lt" => Op::Lt(x.clone()),
                        _ => Op::Lte(x.clone()),
                    }
                }
                "exists" => match x {
                    Value::Bool(b) => Op::Exists(*b),
                    _ => return Err(err("`exists` takes `true` or `false`", None)),
                },
                "type" => match x {
                    Value::String(t) if TYPES.contains(&t.as_str()) => Op::Type(t.clone()),
                    _ => {
                        return Err(err(&format!("`type` takes one of {}", TYPES.join(", ")), None));
                    }
                },
                "length" => Op::Length(Box::new(Self::parse(x)?)),
                "one_of" => match x {
                    Value::Array(a) if !a.is_empty() => Op::OneOf(a.clone()),
                    _ => return Err(err("`one_of` takes a non-empty list of values", None)),
                },
                other => {
                    let hint = crate::diag::did_you_mean(other, OPERATORS.iter().copied()).map_or_else(
                        || {
                            format!(
                                "matchers are {}; to compare with an object write `equals: {{…}}`",
                                OPERATORS.join(", ")
                            )
                        },
                        |s| format!("did you mean `{s}`?"),
                    );
                    return Err(err(&format!("unknown matcher `{other}`"), Some(hint)));
                }
            };
            Ok(op)
        }
    }

    /// The matcher with `${…}` in its operands expanded.
    pub fn expand(&self, vars: &dyn Lookup) -> Result<Self, InterpError> {
        let e = |v: &Value| interp::expand_value(v, vars);
        let ops = self
            .ops
            .iter()
            .map(|op| {
                Ok(match op {
                    Op::Equals(v) => Op::Equals(e(v)?),
                    Op::NotEquals(v) => Op::NotEquals(e(v)?),
                    Op::Contains(v) => Op::Contains(e(v)?),
                    Op::NotContains(v) => Op::NotContains(e(v)?),
                    Op::Matches(s) => Op::Matches(interp::Template::parse(s)?.expand(vars)?),
                    Op::Gt(v) => Op::Gt(e(v)?),
                    Op::Gte(v) => Op::Gte(e(v)?),
                    Op::Lt(v) => Op::Lt(e(v)?),
                    Op::Lte(v) => Op::Lte(e(v)?),
                    Op::OneOf(a) => Op::OneOf(a.iter().map(e).collect::<Result<_, _>>()?),
                    Op::Length(m) => Op::Length(Box::new(m.expand(vars)?)),
                    other => other.clone(),
                })
            })
            .collect::<Result<_, InterpError>>()?;
        Ok(Self { ops })
    }

    /// Checks `actual` (None = absent). The error is one line: `expected …, got …`.
    pub fn check(&self, actual: Option<&Value>) -> Result<(), String> {
        for op in &self.ops {
            check_op(op, actual)?;
        }
        Ok(())
    }

    /// A short human description: `< 200ms`, `= 200`, `matches /^a/`.
    pub fn describe(&self) -> String {
        self.ops.iter().map(describe_op).collect::<Vec<_>>().join(" and ")
    }
}

fn err(message: &str, hint: Option<String>) -> MatcherError {
    MatcherError { message: message.to_string(), hint, op: None }
}

/// The regex crate's message without its drawing: `unclosed group`.
fn first_line(s: &str) -> String {
    let last = s.lines().rfind(|l| !l.trim().is_empty()).unwrap_or(s).trim();
    last.strip_prefix("error: ").unwrap_or(last).to_string()
}

fn is_template(v: &Value) -> bool {
    matches!(v, Value::String(s) if s.contains("${"))
}

/// A bound's numeric value and how to show actuals compared with it.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Unit {
    Plain,
    Millis,
    Ratio,
}

fn bound(v: &Value) -> Option<(f64, Unit)> {
    match v {
        Value::Number(n) => n.as_f64().map(|f| (f, Unit::Plain)),
        Value::String(s) => {
            let s = s.trim();
            if let Some(p) = s.strip_suffix('%') {
                return p.trim().parse::<f64>().ok().map(|f| (f / 100.0, Unit::Ratio));
            }
            if let Ok(f) = s.parse::<f64>() {
                return Some((f, Unit::Plain));
            }
            crate::duration::parse(s).ok().map(|d| (crate::duration::millis(d), Unit::Millis))
        }
        _ => None,
    }
}

fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Shows a value the way a person reads it: strings quoted, long ones cut.
pub fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 120 {
        let cut: String = s.chars().take(117).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn show_opt(v: Option<&Value>) -> String {
    v.map_or_else(|| "nothing (absent)".to_string(), show)
}

fn show_in(unit: Unit, f: f64) -> String {
    match unit {
        Unit::Plain => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                format!("{f}")
            }
        }
        Unit::Millis => crate::duration::human(f),
        Unit::Ratio => {
            let t = format!("{:.3}", f * 100.0);
            format!("{}%", t.trim_end_matches('0').trim_end_matches('.'))
        }
    }
}

/// Equality, lenient across scalar types.
pub fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::String(s), Value::Number(_) | Value::Bool(_))
        | (Value::Number(_) | Value::Bool(_), Value::String(s)) => {
            let other = if let Value::String(_) = a { b } else { a };
            // `Value == &str` only matches string values: compare the scalar's text.
            let text = match other {
                Value::Bool(x) => x.to_string(),
                Value::Number(n) => n.to_string(),
                _ => String::new(),
            };
            text == s.trim() || (as_number(a).is_some() && as_number(a) == as_number(b))
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| loosely_equal(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| loosely_equal(v, w)))
        }
        _ => a == b,
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn contains(hay: &Value, needle: &Value) -> bool {
    match hay {
        Value::String(s) => match needle {
            Value::String(n) => s.contains(n.as_str()),
            other => s.contains(&other.to_string()),
        },
        Value::Array(a) => a.iter().any(|x| loosely_equal(x, needle)),
        Value::Object(o) => match needle {
            Value::String(k) => o.contains_key(k),
            Value::Object(sub) => sub.iter().all(|(k, v)| o.get(k).is_some_and(|w| loosely_equal(v, w))),
            _ => false,
        },
        _ => false,
    }
}

fn check_op(op: &Op, actual: Option<&Value>) -> Result<(), String> {
    let fail = |want: String| Err(format!("expected {want}, got {}", show_opt(actual)));
    match op {
        Op::Exists(true) => {
            if actual.is_none() {
                return fail("a value".into());
            }
        }
        Op::Exists(false) => {
            if actual.is_some() {
                return fail("nothing".into());
            }
        }
        Op::Equals(want) => {
            if !actual.is_some_and(|a| loosely_equal(a, want)) {
                return fail(show(want));
            }
        }
        Op::NotEquals(want) => {
            if actual.is_some_and(|a| loosely_equal(a, want)) {
                return fail(format!("anything but {}", show(want)));
            }
        }
        Op::Contains(want) => {
            if !actual.is_some_and(|a| contains(a, want)) {
                return fail(format!("something containing {}", show(want)));
            }
        }
        Op::NotContains(want) => {
            if actual.is_some_and(|a| contains(a, want)) {
                return fail(format!("something not containing {}", show(want)));
            }
        }
        Op::Matches(re) => {
            let rx = regex::Regex::new(re)
                .map_err(|e| format!("invalid regular expression `{re}`: {}", first_line(&e.to_string())))?;
            let text = match actual {
                Some(Value::String(s)) => Some(s.clone()),
                Some(Value::Number(_) | Value::Bool(_)) => actual.map(ToString::to_string),
                _ => None,
            };
            if !text.is_some_and(|t| rx.is_match(&t)) {
                return fail(format!("a value matching /{re}/"));
            }
        }
        Op::Gt(b) | Op::Gte(b) | Op::Lt(b) | Op::Lte(b) => {
            let (limit, unit) =
                bound(b).ok_or_else(|| format!("`{}` is not a number, duration or percentage", show(b)))?;
            let (sym, ok): (&str, fn(f64, f64) -> bool) = match op {
                Op::Gt(_) => (">", |a, l| a > l),
                Op::Gte(_) => ("≥", |a, l| a >= l),
                Op::Lt(_) => ("<", |a, l| a < l),
                _ => ("≤", |a, l| a <= l),
            };
            match actual.and_then(as_number) {
                Some(a) if ok(a, limit) => {}
                Some(a) => return Err(format!("expected {sym} {}, got {}", show_in(unit, limit), show_in(unit, a))),
                None => return fail(format!("a number {sym} {}", show_in(unit, limit))),
            }
        }
        Op::Type(t) => {
            let ok = actual.is_some_and(|a| {
                let n = type_name(a);
                n == t || (t == "number" && n == "integer")
            });
            if !ok {
                return Err(format!(
                    "expected a value of type {t}, got {}",
                    actual.map_or("nothing (absent)".to_string(), |a| format!("{} {}", type_name(a), show(a)))
                ));
            }
        }
        Op::Length(m) => {
            let len = match actual {
                Some(Value::String(s)) => s.chars().count(),
                Some(Value::Array(a)) => a.len(),
                Some(Value::Object(o)) => o.len(),
                _ => return fail("a string, list or object to measure".into()),
            };
            m.check(Some(&Value::from(len))).map_err(|e| format!("length: {e}"))?;
        }
        Op::OneOf(options) => {
            if !actual.is_some_and(|a| options.iter().any(|o| loosely_equal(a, o))) {
                return fail(format!("one of {}", show(&Value::Array(options.clone()))));
            }
        }
    }
    Ok(())
}

fn describe_op(op: &Op) -> String {
    let b = |v: &Value| bound(v).map_or_else(|| show(v), |(f, u)| show_in(u, f));
    let mut s = String::new();
    let _ = match op {
        Op::Equals(v) => write!(s, "= {}", show(v)),
        Op::NotEquals(v) => write!(s, "≠ {}", show(v)),
        Op::Contains(v) => write!(s, "contains {}", show(v)),
        Op::NotContains(v) => write!(s, "does not contain {}", show(v)),
        Op::Matches(r) => write!(s, "matches /{r}/"),
        Op::Gt(v) => write!(s, "> {}", b(v)),
        Op::Gte(v) => write!(s, "≥ {}", b(v)),
        Op::Lt(v) => write!(s, "< {}", b(v)),
        Op::Lte(v) => write!(s, "≤ {}", b(v)),
        Op::Exists(true) => write!(s, "exists"),
        Op::Exists(false) => write!(s, "is absent"),
        Op::Type(t) => write!(s, "is {t}"),
        Op::Length(m) => write!(s, "length {}", m.describe()),
        Op::OneOf(a) => write!(s, "one of {}", show(&Value::Array(a.clone()))),
    };
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(clippy::needless_pass_by_value, reason = "called with json!(…) temporaries")]
    fn m(v: Value) -> Matcher {
        Matcher::parse(&v).unwrap()
    }

    #[test]
    fn equality_is_lenient_across_scalars() {
        assert!(m(json!(200)).check(Some(&json!(200))).is_ok());
        assert!(m(json!("42")).check(Some(&json!(42))).is_ok());
        assert!(m(json!(true)).check(Some(&json!("true"))).is_ok());
        assert_eq!(m(json!(200)).check(Some(&json!(503))).unwrap_err(), "expected 200, got 503");
        assert_eq!(m(json!("ok")).check(None).unwrap_err(), "expected \"ok\", got nothing (absent)");
    }

    #[test]
    fn bounds_understand_durations_and_percentages() {
        let lt = m(json!({"lt": "200ms"}));
        assert!(lt.check(Some(&json!(150.0))).is_ok());
        assert_eq!(lt.check(Some(&json!(312.0))).unwrap_err(), "expected < 200ms, got 312ms");
        let pct = m(json!({"lte": "0.1%"}));
        assert!(pct.check(Some(&json!(0.0005))).is_ok());
        assert!(pct.check(Some(&json!(0.01))).unwrap_err().contains("≤ 0.1%"));
        assert!(m(json!({"gte": 1, "lte": 3})).check(Some(&json!(4))).is_err());
    }

    #[test]
    fn string_list_and_type_operators() {
        assert!(m(json!({"contains": "ok"})).check(Some(&json!("all ok"))).is_ok());
        assert!(m(json!({"contains": "b"})).check(Some(&json!(["a", "b"]))).is_ok());
        assert!(m(json!({"matches": "^a+$"})).check(Some(&json!("aaa"))).is_ok());
        assert!(m(json!({"matches": "^a+$"})).check(Some(&json!("ab"))).is_err());
        assert!(m(json!({"type": "number"})).check(Some(&json!(3))).is_ok());
        assert!(m(json!({"type": "string"})).check(Some(&json!(3))).unwrap_err().contains("integer 3"));
        assert!(m(json!({"length": {"gte": 2}})).check(Some(&json!([1, 2]))).is_ok());
        assert_eq!(m(json!({"length": 3})).check(Some(&json!([1]))).unwrap_err(), "length: expected 3, got 1");
        assert!(m(json!({"one_of": ["a", "b"]})).check(Some(&json!("c"))).is_err());
        assert!(m(json!({"exists": false})).check(None).is_ok());
    }

    #[test]
    fn parse_errors_are_explained() {
        let e = Matcher::parse(&json!({"lenght": 3})).unwrap_err();
        assert_eq!(e.message, "unknown matcher `lenght`");
        assert_eq!(e.hint.as_deref(), Some("did you mean `length`?"));
        assert!(Matcher::parse(&json!({"matches": "("})).unwrap_err().message.contains("invalid regular expression"));
        assert!(Matcher::parse(&json!({"lt": "soon"})).is_err());
        assert!(Matcher::parse(&json!({})).is_err());
    }

    #[test]
    fn describe_reads_naturally() {
        assert_eq!(m(json!({"lt": "200ms"})).describe(), "< 200ms");
        assert_eq!(m(json!(200)).describe(), "= 200");
    }
}
