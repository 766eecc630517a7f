//! A request for an operation: path and query parameters, headers, body and
//! credentials, taken from what the caller gives, else the spec's examples,
//! else a minimal instance valid against the schema.
//!
//! Generated values are deterministic (the same spec gives the same request),
//! so a register operation and a login operation built from the same
//! `Credentials` schema send the same account.

use base64::Engine as _;
use regex_syntax::hir::{Class, Hir, HirKind};
use serde_json::{Map, Value, json};

use crate::Contract;
use crate::ops::Operation;

/// What the caller gives for an operation.
#[derive(Clone, Debug, Default)]
pub struct Inputs {
    /// Parameter values by name (path, query, header or cookie): `id: 42`.
    pub params: Map<String, Value>,
    /// Request bodies by operationId (or `METHOD /path`), instead of a sample.
    pub bodies: Map<String, Value>,
    pub auth: Auth,
}

/// Credentials, applied to the operations whose security asks for them.
#[derive(Clone, Debug, Default)]
pub struct Auth {
    /// For `http: bearer`, `oauth2` and `openIdConnect` schemes.
    pub bearer: Option<String>,
    /// `user:password`, for `http: basic`.
    pub basic: Option<String>,
    /// For `apiKey` schemes (in header, query or cookie, as the scheme says).
    pub api_key: Option<String>,
    /// The names of the cookies every request carries anyway (the gate's
    /// session, a `Cookie` header of the check's): an `apiKey` scheme in one
    /// of these cookies is satisfied by it, with no `api_key`.
    pub sent_cookies: Vec<String>,
}

/// A request ready to send (the caller joins `path` to the base URL).
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub method: String,
    /// The path with its parameters substituted and encoded: `/items/42`.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    /// A body and its content type.
    pub body: Option<(String, Body)>,
    /// Where each value came from, for the evidence: `id = 42 (params)`.
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Json(Value),
    Text(String),
}

/// Why no request can be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NoRequest {
    /// The operation needs credentials that were not given.
    NoCredentials(String),
}

/// Most nesting the minimal instance follows (recursive schemas).
const MAX_DEPTH: usize = 12;

/// Builds the request for `op`.
pub fn request(c: &Contract, op: &Operation<'_>, inputs: &Inputs) -> Result<Request, NoRequest> {
    let mut r = Request {
        method: op.method.clone(),
        path: op.path.clone(),
        query: Vec::new(),
        headers: Vec::new(),
        body: None,
        notes: Vec::new(),
    };
    let mut cookies = Vec::new();
    for p in &op.parameters {
        let Some(name) = p.get("name").and_then(Value::as_str) else { continue };
        let place = p.get("in").and_then(Value::as_str).unwrap_or("query");
        let required = place == "path" || p.get("required") == Some(&Value::Bool(true));
        let (value, from) = if let Some(v) = inputs.params.get(name) {
            (v.clone(), "params")
        } else if !required {
            continue;
        } else if let Some(v) = parameter_example(c, p) {
            (v, "example")
        } else {
            let schema = p.get("schema").or_else(|| first_media(p.get("content")).and_then(|m| m.get("schema")));
            (schema.map_or(json!("x"), |s| instance(c, s, 0)), "schema")
        };
        let text = scalar(&value);
        r.notes.push(format!("{place} parameter `{name}` = {text} (from {from})"));
        match place {
            "path" => {
                let encoded = percent_encoding::utf8_percent_encode(&text, SEGMENT).to_string();
                r.path = r.path.replace(&format!("{{{name}}}"), &encoded);
            }
            "header" => r.headers.push((name.to_string(), text)),
            "cookie" => cookies.push(format!("{name}={text}")),
            _ => match &value {
                Value::Array(items) => {
                    for i in items {
                        r.query.push((name.to_string(), scalar(i)));
                    }
                }
                _ => r.query.push((name.to_string(), text)),
            },
        }
    }
    credentials(c, op, &inputs.auth, &mut r, &mut cookies)?;
    if !cookies.is_empty() {
        r.headers.push(("cookie".into(), cookies.join("; ")));
    }
    let key = op.operation_id.clone().unwrap_or_else(|| format!("{} {}", op.method, op.path));
    if let Some(body) = op.op.get("requestBody").map(|b| c.resolve(b)) {
        let content = body.get("content").and_then(Value::as_object);
        let chosen = content
            .and_then(|m| m.iter().find(|(t, _)| is_json(t)).or_else(|| m.iter().next()).map(|(t, v)| (t.clone(), v)));
        if let Some((media_type, media)) = chosen {
            let (value, from) = match inputs.bodies.get(&key) {
                Some(v) => (v.clone(), "bodies"),
                None => match media_example(c, media) {
                    Some(v) => (v, "example"),
                    None => (media.get("schema").map_or(json!({}), |s| instance(c, s, 0)), "schema"),
                },
            };
            r.notes.push(format!("body ({media_type}) from {from}"));
            let body = if is_json(&media_type) {
                Body::Json(value)
            } else if media_type == "application/x-www-form-urlencoded" {
                Body::Text(form(&value))
            } else {
                Body::Text(scalar(&value))
            };
            r.body = Some((media_type, body));
        }
    }
    Ok(r)
}

/// Characters left as they are in a path segment.
const SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// A media type whose body is JSON: `application/json`, `application/problem+json`.
pub fn is_json(media_type: &str) -> bool {
    let t = media_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    t == "application/json" || t.ends_with("+json")
}

fn first_media(content: Option<&Value>) -> Option<&Value> {
    content.and_then(Value::as_object).and_then(|m| m.values().next())
}

/// A parameter's `example`, or its first `examples` entry, or its schema's.
fn parameter_example(c: &Contract, p: &Value) -> Option<Value> {
    if let Some(v) = p.get("example") {
        return Some(v.clone());
    }
    if let Some(v) = first_example(c, p.get("examples")) {
        return Some(v);
    }
    p.get("schema").and_then(|s| schema_example(c, s))
}

fn media_example(c: &Contract, media: &Value) -> Option<Value> {
    if let Some(v) = media.get("example") {
        return Some(v.clone());
    }
    first_example(c, media.get("examples")).or_else(|| media.get("schema").and_then(|s| schema_example(c, s)))
}

/// The first of an `examples` map of Example objects (`value:`), refs resolved.
fn first_example(c: &Contract, examples: Option<&Value>) -> Option<Value> {
    let first = examples?.as_object()?.values().next()?;
    c.resolve(first).get("value").cloned()
}

/// A schema's own example (`example`, `examples[0]`), through `$ref`s.
fn schema_example(c: &Contract, s: &Value) -> Option<Value> {
    let s = schema_target(c, s);
    s.get("example").cloned().or_else(|| s.get("examples").and_then(Value::as_array)?.first().cloned())
}

fn schema_target<'a>(c: &'a Contract, mut s: &'a Value) -> &'a Value {
    for _ in 0..16 {
        match s.get("$ref").and_then(Value::as_str).and_then(|r| c.get(r)) {
            Some(t) => s = t,
            None => break,
        }
    }
    s
}

/// A minimal instance of a schema: examples and defaults first, else the
/// smallest value its keywords allow (required properties only, the fewest
/// items, the lower bound).
pub fn instance(c: &Contract, s: &Value, depth: usize) -> Value {
    let s = schema_target(c, s);
    if depth > MAX_DEPTH {
        return Value::Null;
    }
    let Value::Object(m) = s else {
        return json!("x");
    };
    for k in ["example", "default", "const"] {
        if let Some(v) = m.get(k) {
            return v.clone();
        }
    }
    if let Some(v) = m.get("examples").and_then(Value::as_array).and_then(|a| a.first()) {
        return v.clone();
    }
    if let Some(Value::Array(e)) = m.get("enum")
        && let Some(v) = e.iter().find(|v| !v.is_null()).or(e.first())
    {
        return v.clone();
    }
    if let Some(Value::Array(parts)) = m.get("allOf") {
        let mut merged = Map::new();
        let mut other = None;
        for p in parts {
            match instance(c, p, depth + 1) {
                Value::Object(o) => merged.extend(o),
                v => other = Some(v),
            }
        }
        let own = own_instance(c, m, depth);
        if let Value::Object(o) = own {
            merged.extend(o);
        }
        return match other {
            Some(v) if merged.is_empty() => v,
            _ => Value::Object(merged),
        };
    }
    for k in ["oneOf", "anyOf"] {
        if let Some(Value::Array(branches)) = m.get(k) {
            let pick = branches.iter().position(|b| !is_null_schema(c, b)).unwrap_or(0);
            let Some(branch) = branches.get(pick) else { continue };
            let mut v = instance(c, branch, depth + 1);
            if let (Some(d), Value::Object(o)) = (m.get("discriminator"), &mut v)
                && let Some(prop) = d.get("propertyName").and_then(Value::as_str)
            {
                let target = branch.get("$ref").and_then(Value::as_str).unwrap_or("");
                let mapped = d.get("mapping").and_then(Value::as_object).and_then(|mp| {
                    mp.iter()
                        .find(|(_, r)| r.as_str().is_some_and(|r| r == target || target.ends_with(&format!("/{r}"))))
                        .map(|(k, _)| k.clone())
                });
                let implicit = target.rsplit('/').next().unwrap_or("").to_string();
                o.insert(prop.to_string(), Value::String(mapped.unwrap_or(implicit)));
            }
            if let (Value::Object(mut own), Value::Object(o)) = (own_instance(c, m, depth), &v) {
                own.extend(o.clone());
                return Value::Object(own);
            }
            return v;
        }
    }
    own_instance(c, m, depth)
}

fn is_null_schema(c: &Contract, s: &Value) -> bool {
    let s = schema_target(c, s);
    s.get("type") == Some(&json!("null"))
}

/// The instance a schema's own `type` and bounds call for.
fn own_instance(c: &Contract, m: &Map<String, Value>, depth: usize) -> Value {
    let ty = match m.get("type") {
        Some(Value::String(t)) => t.as_str(),
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .find(|t| *t != "null")
            .or(ts.first().and_then(Value::as_str))
            .unwrap_or(""),
        _ if m.contains_key("properties") || m.contains_key("required") => "object",
        _ if m.contains_key("items") => "array",
        _ => "",
    };
    match ty {
        "object" => {
            let mut o = Map::new();
            let props = m.get("properties").and_then(Value::as_object);
            for name in m.get("required").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str) {
                let v = props.and_then(|p| p.get(name)).map_or(json!("x"), |s| instance(c, s, depth + 1));
                o.insert(name.to_string(), v);
            }
            Value::Object(o)
        }
        "array" => {
            let n = m.get("minItems").and_then(Value::as_u64).unwrap_or(0).min(64);
            let item = m.get("items").filter(|i| i.is_object()).map_or(json!("x"), |i| instance(c, i, depth + 1));
            Value::Array((0..n).map(|_| item.clone()).collect())
        }
        "integer" => number(m, true),
        "number" => number(m, false),
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        "string" => Value::String(string(m)),
        _ => Value::String("x".into()),
    }
}

fn number(m: &Map<String, Value>, integer: bool) -> Value {
    let get = |k: &str| m.get(k).and_then(Value::as_f64);
    let mut v = 1.0_f64;
    if let Some(min) = get("minimum") {
        v = min;
    }
    if let Some(x) = get("exclusiveMinimum") {
        v = if integer { x.floor() + 1.0 } else { x + 1.0 };
    }
    if let Some(max) = get("maximum")
        && v > max
    {
        v = max;
    }
    if let Some(x) = get("exclusiveMaximum")
        && v >= x
    {
        v = if integer { x.ceil() - 1.0 } else { x - 0.5 };
    }
    if let Some(step) = get("multipleOf").filter(|s| *s > 0.0) {
        v = (v / step).ceil() * step;
    }
    if integer || v.fract() == 0.0 {
        #[expect(clippy::cast_possible_truncation, reason = "a bound written in a spec, checked finite")]
        let i = if v.is_finite() { v.round() as i64 } else { 1 };
        json!(i)
    } else {
        json!(v)
    }
}

fn string(m: &Map<String, Value>) -> String {
    let min = m.get("minLength").and_then(Value::as_u64).unwrap_or(0).min(4096) as usize;
    let max = m.get("maxLength").and_then(Value::as_u64).map(|x| x.min(1 << 20) as usize);
    if let Some(p) = m.get("pattern").and_then(Value::as_str)
        && let Some(s) = from_pattern(p, min, max)
    {
        return s;
    }
    let mut s = match m.get("format").and_then(Value::as_str).unwrap_or("") {
        "date-time" => "2026-01-01T00:00:00Z",
        "date" => "2026-01-01",
        "time" => "00:00:00Z",
        "duration" => "PT1S",
        "email" | "idn-email" => "user@example.com",
        "uuid" => "00000000-0000-4000-8000-000000000000",
        "uri" | "url" | "iri" => "https://example.com/",
        "uri-reference" | "iri-reference" => "/",
        "hostname" | "idn-hostname" => "example.com",
        "ipv4" => "192.0.2.1",
        "ipv6" => "2001:db8::1",
        "byte" => "AAAA",
        "password" => "password",
        "regex" => ".*",
        "json-pointer" => "/a",
        _ => "x",
    }
    .to_string();
    while s.chars().count() < min {
        s.push('x');
    }
    if let Some(max) = max
        && s.chars().count() > max
    {
        s = s.chars().take(max).collect();
    }
    s
}

/// The shortest string a regex matches that also has `min..=max` characters:
/// the regex's first alternative, the lower bound of each repetition (grown
/// until `min` is reached), the first character of each class.
fn from_pattern(pattern: &str, min: usize, max: Option<usize>) -> Option<String> {
    let hir = regex_syntax::ParserBuilder::new().build().parse(pattern).ok()?;
    let re = regex::Regex::new(pattern).ok()?;
    for extra in 0..=min.max(1) {
        let mut s = String::new();
        if !emit(&hir, extra, &mut s) {
            return None;
        }
        let n = s.chars().count();
        if n >= min && max.is_none_or(|m| n <= m) && re.is_match(&s) {
            return Some(s);
        }
    }
    None
}

/// Appends the sample for `h`; unbounded repetitions repeat `extra` more times.
fn emit(h: &Hir, extra: usize, out: &mut String) -> bool {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(l) => match std::str::from_utf8(&l.0) {
            Ok(s) => {
                out.push_str(s);
                true
            }
            Err(_) => false,
        },
        HirKind::Class(Class::Unicode(c)) => {
            let ranges = c.ranges();
            let pick = ['a', '0', 'A'].into_iter().find(|ch| ranges.iter().any(|r| r.start() <= *ch && *ch <= r.end()));
            match pick.or_else(|| ranges.first().map(regex_syntax::hir::ClassUnicodeRange::start)) {
                Some(ch) => {
                    out.push(ch);
                    true
                }
                None => false,
            }
        }
        HirKind::Class(Class::Bytes(c)) => match c.ranges().first() {
            Some(r) if r.start().is_ascii() => {
                out.push(char::from(r.start()));
                true
            }
            _ => false,
        },
        HirKind::Repetition(r) => {
            let n = match r.max {
                Some(max) => (r.min as usize + extra).min(max as usize),
                None => r.min as usize + extra,
            };
            (0..n).all(|_| emit(&r.sub, 0, out))
        }
        HirKind::Capture(c) => emit(&c.sub, extra, out),
        HirKind::Concat(parts) => parts.iter().all(|p| emit(p, extra, out)),
        HirKind::Alternation(alts) => alts.first().is_some_and(|a| emit(a, extra, out)),
    }
}

/// A value as it goes into a path, query string or header.
fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        Value::Array(a) => a.iter().map(scalar).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

fn form(v: &Value) -> String {
    let Value::Object(m) = v else { return scalar(v) };
    m.iter()
        .map(|(k, v)| {
            let enc = |s: &str| percent_encoding::utf8_percent_encode(s, SEGMENT).to_string();
            format!("{}={}", enc(k), enc(&scalar(v)))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Applies the first security requirement the given credentials satisfy.
fn credentials(
    c: &Contract,
    op: &Operation<'_>,
    auth: &Auth,
    r: &mut Request,
    cookies: &mut Vec<String>,
) -> Result<(), NoRequest> {
    if op.security.is_empty() {
        return Ok(());
    }
    let schemes = c.doc.pointer("/components/securitySchemes");
    let mut wanted = Vec::new();
    'requirement: for req in &op.security {
        let mut apply = Vec::new();
        for name in req.keys() {
            let scheme = schemes.and_then(|s| s.get(name)).map(|s| c.resolve(s));
            let Some(scheme) = scheme else { continue 'requirement };
            let kind = scheme.get("type").and_then(Value::as_str).unwrap_or("");
            let http = scheme.get("scheme").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
            let step = match (kind, http.as_str()) {
                ("http", "bearer") | ("oauth2" | "openIdConnect", _) => {
                    auth.bearer.as_ref().map(|t| Place::Header("authorization".into(), format!("Bearer {t}")))
                }
                ("http", "basic") => auth.basic.as_ref().map(|b| {
                    let enc = base64::engine::general_purpose::STANDARD.encode(b.as_bytes());
                    Place::Header("authorization".into(), format!("Basic {enc}"))
                }),
                ("apiKey", _) => {
                    let n = scheme.get("name").and_then(Value::as_str).unwrap_or("X-API-Key").to_string();
                    match (&auth.api_key, scheme.get("in").and_then(Value::as_str)) {
                        (Some(k), Some("query")) => Some(Place::Query(n, k.clone())),
                        (Some(k), Some("cookie")) => Some(Place::Cookie(format!("{n}={k}"))),
                        (Some(k), _) => Some(Place::Header(n, k.clone())),
                        (None, Some("cookie")) if auth.sent_cookies.contains(&n) => Some(Place::Sent(n)),
                        (None, _) => None,
                    }
                }
                _ => None,
            };
            if let Some(s) = step {
                apply.push((name.clone(), s));
            } else {
                wanted.push(format!("`{name}` ({})", if kind == "http" { &http } else { kind }));
                continue 'requirement;
            }
        }
        for (name, step) in apply {
            match step {
                Place::Header(h, v) => r.headers.push((h, v)),
                Place::Query(q, v) => r.query.push((q, v)),
                Place::Cookie(cv) => cookies.push(cv),
                Place::Sent(cookie) => {
                    r.notes.push(format!("credentials for `{name}`: the cookie `{cookie}` sent with every request"));
                    continue;
                }
            }
            r.notes.push(format!("credentials for `{name}`"));
        }
        return Ok(());
    }
    wanted.dedup();
    Err(NoRequest::NoCredentials(wanted.join(" or ")))
}

enum Place {
    Header(String, String),
    Query(String, String),
    /// A cookie the caller sends anyway (its name): nothing to add.
    Sent(String),
    Cookie(String),
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn contract(schemas: serde_json::Value) -> crate::Contract {
        let mut doc = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
            "components": {}});
        doc["components"]["schemas"] = schemas;
        crate::from_text(&doc.to_string(), "t.json").unwrap()
    }

    #[test]
    fn minimal_instances_respect_the_schema() {
        let c = contract(json!({
            "Cred": {"type": "object", "required": ["email", "password"], "properties": {
                "email": {"type": "string", "format": "email"},
                "password": {"type": "string", "minLength": 8},
                "nick": {"type": "string"}}},
            "Hex": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
            "Digits": {"type": "string", "pattern": "^[0-9]+$", "minLength": 3},
            "N": {"type": "integer", "minimum": 5, "multipleOf": 4},
            "Tagged": {"oneOf": [{"$ref": "#/components/schemas/Cat"}], "discriminator": {"propertyName": "kind"}},
            "Cat": {"type": "object", "required": ["meow"], "properties": {"meow": {"type": "boolean"}}}
        }));
        let get = |n: &str| super::instance(&c, &json!({"$ref": format!("#/components/schemas/{n}")}), 0);
        assert_eq!(get("Cred"), json!({"email": "user@example.com", "password": "xxxxxxxx"}));
        assert_eq!(get("Hex"), json!("a".repeat(64)));
        assert_eq!(get("Digits"), json!("000"));
        assert_eq!(get("N"), json!(8));
        assert_eq!(get("Tagged"), json!({"meow": true, "kind": "Cat"}));
    }
}
