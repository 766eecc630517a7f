//! Finding things in a bundled contract: every `$ref`, every schema.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::pointer;

/// Every `$ref` string: (pointer of the object holding it, the reference).
pub(crate) fn refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
    let mut path = at.to_string();
    refs_at(v, &mut path, out);
}

/// [`refs`] with one growing pointer: a node's pointer is written out only
/// where a `$ref` is (a large contract has a million nodes and a few thousand refs).
fn refs_at(v: &Value, path: &mut String, out: &mut Vec<(String, String)>) {
    let len = path.len();
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(s)) => out.push((path.clone(), s.clone())),
                    (_, Value::Object(_) | Value::Array(_)) => {
                        path.push('/');
                        push_escaped(path, k);
                        refs_at(x, path, out);
                        path.truncate(len);
                    }
                    _ => {}
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                if matches!(x, Value::Object(_) | Value::Array(_)) {
                    use std::fmt::Write as _;
                    let _ = write!(path, "/{i}");
                    refs_at(x, path, out);
                    path.truncate(len);
                }
            }
        }
        _ => {}
    }
}

/// A reference token appended escaped (`~` → `~0`, `/` → `~1`).
fn push_escaped(path: &mut String, token: &str) {
    for c in token.chars() {
        match c {
            '~' => path.push_str("~0"),
            '/' => path.push_str("~1"),
            c => path.push(c),
        }
    }
}

/// Keywords whose value is one schema.
const ONE: &[&str] = &[
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "additionalItems",
    "items",
    "contentSchema",
];
/// Keywords whose value is a list of schemas.
const LIST: &[&str] = &["allOf", "anyOf", "oneOf", "prefixItems", "items"];
/// Keywords whose value maps names to schemas.
const MAP: &[&str] = &["properties", "patternProperties", "dependentSchemas", "$defs", "definitions"];

/// Pointers to every schema of the contract, deepest first, so a caller that
/// rewrites schemas in place (moving a schema's keywords into a wrapper)
/// never invalidates a pointer it has yet to visit.
pub(crate) fn schemas(doc: &Value) -> Vec<String> {
    let mut found = BTreeSet::new();
    let mut queue = Vec::new();
    openapi_object(doc, "", &mut queue, true);
    while let Some(p) = queue.pop() {
        let p = canonical(&p);
        if !found.insert(p.clone()) {
            continue;
        }
        if let Some(s) = pointer::get(doc, &p) {
            schema(s, &p, &mut queue);
        }
    }
    let mut out: Vec<String> = found.into_iter().collect();
    out.sort_by_key(|p| std::cmp::Reverse(p.matches('/').count()));
    out
}

/// Pointers in `$ref` fragments may be percent-encoded; one spelling each.
fn canonical(p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    p.trim_start_matches('/').split('/').fold(String::new(), |acc, t| pointer::push(&acc, &pointer::unescape(t)))
}

/// Walks the OpenAPI structure (not schemas) for the places schemas sit:
/// `schema:` of parameters, media types and headers, `components.schemas`.
fn openapi_object(v: &Value, at: &str, queue: &mut Vec<String>, top: bool) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                let here = pointer::push(at, k);
                match k.as_str() {
                    "example" | "examples" => {}
                    "schema" if x.is_object() || x.is_boolean() => queue.push(here),
                    "schemas" if at.ends_with("/components") || at == "/components" => {
                        if let Value::Object(s) = x {
                            for name in s.keys() {
                                queue.push(pointer::push(&here, name));
                            }
                        }
                    }
                    k if k.starts_with("x-") && !(top && k == crate::load::DOCUMENTS) => {}
                    _ => openapi_object(x, &here, queue, top && k == crate::load::DOCUMENTS),
                }
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                openapi_object(x, &pointer::push(at, &i.to_string()), queue, false);
            }
        }
        _ => {}
    }
}

fn schema(v: &Value, at: &str, queue: &mut Vec<String>) {
    let Value::Object(m) = v else { return };
    if let Some(Value::String(r)) = m.get("$ref")
        && let Some(target) = r.strip_prefix('#')
    {
        queue.push(target.to_string());
    }
    for (k, x) in m {
        let here = pointer::push(at, k);
        if ONE.contains(&k.as_str()) && (x.is_object() || x.is_boolean()) {
            queue.push(here.clone());
        }
        if LIST.contains(&k.as_str())
            && let Value::Array(a) = x
        {
            for i in 0..a.len() {
                queue.push(pointer::push(&here, &i.to_string()));
            }
        }
        if MAP.contains(&k.as_str())
            && let Value::Object(o) = x
        {
            for name in o.keys() {
                queue.push(pointer::push(&here, name));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn finds_schemas_in_place_and_through_refs_deepest_first() {
        let doc = json!({
            "paths": {"/a": {"get": {"responses": {"200": {"content": {"application/json": {
                "schema": {"$ref": "#/components/schemas/A"},
                "example": {"schema": {"not": "a schema"}}
            }}}}}}},
            "components": {"schemas": {
                "A": {"type": "object", "properties": {"b": {"$ref": "#/x-checkpoint-documents/other.yaml/B"}}}
            }},
            "x-checkpoint-documents": {"other.yaml": {"B": {"type": "array", "items": {"type": "string"}}}}
        });
        let found = super::schemas(&doc);
        assert!(found.contains(&"/components/schemas/A/properties/b".to_string()));
        assert!(found.contains(&"/x-checkpoint-documents/other.yaml/B/items".to_string()), "{found:?}");
        assert!(!found.iter().any(|p| p.contains("example")), "{found:?}");
        let depth = |p: &String| p.matches('/').count();
        assert!(found.windows(2).all(|w| depth(&w[0]) >= depth(&w[1])), "{found:?}");
    }
}
