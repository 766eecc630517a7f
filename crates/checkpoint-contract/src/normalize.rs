//! OpenAPI 3.0 schemas to the JSON Schema 2020-12 meaning 3.1 uses, so one
//! validator and one differ serve both versions:
//!
//! - `nullable: true` → `"null"` added to `type` (and to `enum`), or the
//!   schema wrapped in `anyOf: [{type: "null"}, …]` when it has no `type`;
//! - boolean `exclusiveMinimum`/`exclusiveMaximum` → the 2020-12 number form;
//! - keywords beside a `$ref` are ignored in 3.0, so they are dropped (but
//!   `nullable: true` beside a `$ref`, a common mistake, is honoured).

use serde_json::{Map, Value, json};

use crate::{pointer, walk};

pub(crate) fn openapi30(doc: &mut Value) {
    for p in walk::schemas(doc) {
        if let Some(Value::Object(s)) = pointer::get_mut(doc, &p) {
            schema30(s);
        }
    }
}

fn schema30(s: &mut Map<String, Value>) {
    if s.contains_key("$ref") {
        let nullable = s.get("nullable") == Some(&Value::Bool(true));
        s.retain(|k, _| k == "$ref" || k.starts_with("x-"));
        if nullable {
            let inner = std::mem::take(s);
            s.insert("anyOf".into(), json!([{"type": "null"}, Value::Object(inner)]));
        }
        return;
    }
    for (bound, exclusive) in [("minimum", "exclusiveMinimum"), ("maximum", "exclusiveMaximum")] {
        match s.get(exclusive) {
            Some(Value::Bool(true)) => {
                if let Some(b) = s.remove(bound) {
                    s.insert(exclusive.into(), b);
                } else {
                    s.remove(exclusive);
                }
            }
            Some(Value::Bool(false)) => {
                s.remove(exclusive);
            }
            _ => {}
        }
    }
    match s.remove("nullable") {
        Some(Value::Bool(true)) => {}
        _ => return,
    }
    if let Some(Value::Array(e)) = s.get_mut("enum")
        && !e.contains(&Value::Null)
    {
        e.push(Value::Null);
    }
    match s.get_mut("type") {
        Some(Value::String(t)) => {
            let t = std::mem::take(t);
            s.insert("type".into(), json!([t, "null"]));
        }
        Some(Value::Array(ts)) => {
            if !ts.contains(&json!("null")) {
                ts.push(json!("null"));
            }
        }
        _ => {
            let inner = std::mem::take(s);
            s.insert("anyOf".into(), json!([{"type": "null"}, Value::Object(inner)]));
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn one(mut v: serde_json::Value) -> serde_json::Value {
        let mut doc = json!({"components": {"schemas": {"S": v.take()}}});
        super::openapi30(&mut doc);
        doc["components"]["schemas"]["S"].take()
    }

    #[test]
    fn nullable_becomes_a_null_type() {
        assert_eq!(one(json!({"type": "string", "nullable": true})), json!({"type": ["string", "null"]}));
        assert_eq!(
            one(json!({"type": "string", "enum": ["a"], "nullable": true})),
            json!({"type": ["string", "null"], "enum": ["a", null]})
        );
        assert_eq!(
            one(json!({"allOf": [{"$ref": "#/x"}], "nullable": true})),
            json!({"anyOf": [{"type": "null"}, {"allOf": [{"$ref": "#/x"}]}]})
        );
        assert_eq!(one(json!({"type": "string", "nullable": false})), json!({"type": "string"}));
    }

    #[test]
    fn nested_nullable_properties_are_rewritten_too() {
        let s = one(json!({"type": "object", "properties": {"a": {"type": "integer", "nullable": true},
            "b": {"type": "array", "items": {"type": "number", "nullable": true}}}}));
        assert_eq!(s["properties"]["a"], json!({"type": ["integer", "null"]}));
        assert_eq!(s["properties"]["b"]["items"], json!({"type": ["number", "null"]}));
    }

    #[test]
    fn boolean_exclusive_bounds_become_numbers() {
        assert_eq!(
            one(
                json!({"type": "number", "minimum": 0, "exclusiveMinimum": true, "maximum": 9, "exclusiveMaximum": false})
            ),
            json!({"type": "number", "exclusiveMinimum": 0, "maximum": 9})
        );
    }

    #[test]
    fn siblings_of_a_ref_are_dropped_but_nullable_is_kept() {
        assert_eq!(one(json!({"$ref": "#/a", "description": "d"})), json!({"$ref": "#/a"}));
        assert_eq!(
            one(json!({"$ref": "#/a", "nullable": true})),
            json!({"anyOf": [{"type": "null"}, {"$ref": "#/a"}]})
        );
    }
}
