//! A response against its operation's contract: the status is declared, the
//! content type is one the response declares, and a JSON body is valid
//! against the schema — each problem naming the JSON pointer in the body and
//! the schema rule broken (`required` at `#/components/schemas/Item`).
//!
//! Schemas are validated as JSON Schema 2020-12 (3.0 ones were rewritten on
//! load). `discriminator`, which JSON Schema ignores, is honoured by
//! rewriting each `oneOf`/`anyOf` that has one into "if the property says
//! `cat`, then the `Cat` schema": a failure then speaks of the branch the
//! body chose, not of every branch it did not.

use std::collections::HashMap;
use std::sync::Arc;

use jsonschema::{Draft, Registry, Resource};
use serde_json::{Map, Value, json};

use crate::ops::Operation;
use crate::sample::is_json;
use crate::{Contract, pointer, walk};

/// The registry URI of the contract document.
const URI: &str = "urn:checkpoint:contract";

/// Most schema problems reported for one response.
const MAX_PROBLEMS: usize = 10;

/// One way a response breaks the contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// `status`, `content-type`, `json`, or the JSON Schema keyword broken
    /// (`required`, `type`, `format`, `enum`, `additionalProperties`, …).
    pub rule: String,
    /// Where in the body, as a JSON pointer (`/0/created_at`); `None` for
    /// the status and content type.
    pub pointer: Option<String>,
    /// One line: `"created_at" is a required property`.
    pub message: String,
    /// The schema location of the rule: `#/components/schemas/Item/required`.
    pub schema: Option<String>,
}

impl Problem {
    /// A problem with the response as a whole (status, content type, body), not a place in its body.
    fn whole(rule: &str, message: String) -> Self {
        Problem { rule: rule.into(), pointer: None, message, schema: None }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pointer {
            Some(p) => write!(f, "body {}: {}", if p.is_empty() { "/" } else { p }, self.message)?,
            None => f.write_str(&self.message)?,
        }
        match &self.schema {
            Some(s) => write!(f, " ({} at {s})", self.rule),
            None => Ok(()),
        }
    }
}

/// What validation found for one response.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Outcome {
    /// The response key that applies: `200`, `2XX`, `default`.
    pub matched: Option<String>,
    /// The media type of the schema the body was validated against.
    pub media_type: Option<String>,
    pub problems: Vec<Problem>,
}

/// Validates responses of one contract; compiled schemas are cached.
pub struct Validator {
    contract: Contract,
    registry: Registry<'static>,
    compiled: HashMap<String, Arc<jsonschema::Validator>>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator").field("source", &self.contract.source).finish_non_exhaustive()
    }
}

impl Validator {
    pub fn new(contract: &Contract) -> Result<Self, String> {
        let mut contract = contract.clone();
        discriminators(&mut contract.doc);
        let registry = Registry::new()
            .draft(Draft::Draft202012)
            .retrieve_known_draft_meta_schemas(false)
            .add(URI, Resource::from_contents(contract.doc.clone()))
            .and_then(jsonschema::RegistryBuilder::prepare)
            .map_err(|e| format!("the contract's schemas cannot be prepared: {e}"))?;
        Ok(Self { contract, registry, compiled: HashMap::new() })
    }

    /// Checks one response of `op`. `content_type` is the header's value.
    pub fn response(&mut self, op: &Operation<'_>, status: u16, content_type: Option<&str>, body: &[u8]) -> Outcome {
        let mut out = Outcome::default();
        let responses = op.op.get("responses").and_then(Value::as_object);
        let declared: Vec<&String> = responses.map(|r| r.keys().collect()).unwrap_or_default();
        let code = status.to_string();
        let range = format!("{}XX", status / 100);
        let key = declared
            .iter()
            .find(|k| **k == &code)
            .or_else(|| declared.iter().find(|k| k.eq_ignore_ascii_case(&range)))
            .or_else(|| declared.iter().find(|k| k.as_str() == "default"))
            .map(|k| (*k).clone());
        let Some(key) = key else {
            let list = declared.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
            out.problems.push(Problem::whole("status", format!("status {status} is not declared (declared: {list})")));
            return out;
        };
        out.matched = Some(key.clone());
        let response_ptr = pointer::push(&pointer::push(&op.pointer, "responses"), &key);
        let (response, response_ptr) = self.follow(&response_ptr);
        let content = response.get("content").and_then(Value::as_object).cloned().unwrap_or_default();
        if content.is_empty() || status == 204 || status == 304 || op.method == "HEAD" {
            return out;
        }
        let declared_types: Vec<&String> = content.keys().collect();
        let list = declared_types.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ");
        let Some(actual) = content_type.map(essence) else {
            if !body.is_empty() {
                out.problems.push(Problem::whole("content-type", format!("no content-type header (declared: {list})")));
            }
            return out;
        };
        let Some(media) = declared_types.iter().find(|t| media_matches(t, &actual)).map(|t| (*t).clone()) else {
            out.problems.push(Problem::whole(
                "content-type",
                format!("content-type `{actual}` is not declared for status {key} (declared: {list})"),
            ));
            return out;
        };
        out.media_type = Some(media.clone());
        let schema_ptr = pointer::push(&pointer::push(&pointer::push(&response_ptr, "content"), &media), "schema");
        if pointer::get(&self.contract.doc, &schema_ptr).is_none() || !(is_json(&media) || is_json(&actual)) {
            return out;
        }
        if body.iter().all(u8::is_ascii_whitespace) {
            out.problems
                .push(Problem::whole("json", format!("the body is empty, but status {key} declares a {media} body")));
            return out;
        }
        let instance: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(e) => {
                out.problems.push(Problem::whole("json", format!("the body is not JSON ({e})")));
                return out;
            }
        };
        out.problems = self.schema_problems(&schema_ptr, &instance);
        out
    }

    /// Problems of `instance` against the schema at a pointer of the contract.
    pub fn schema_problems(&mut self, schema_ptr: &str, instance: &Value) -> Vec<Problem> {
        let v = match self.compiled(schema_ptr) {
            Ok(v) => v,
            Err(e) => {
                return vec![Problem::whole(
                    "schema",
                    format!("the schema at {} cannot be compiled: {e}", self.contract.display_ref(schema_ptr)),
                )];
            }
        };
        let mut out = Vec::new();
        for e in v.iter_errors(instance) {
            self.explain(&e, &mut out);
            if out.len() >= MAX_PROBLEMS {
                out.truncate(MAX_PROBLEMS);
                break;
            }
        }
        out
    }

    /// One validation error as problems. A failed `anyOf`/`oneOf` whose only
    /// branch besides `type: null` failed (FastAPI's `Optional`, 3.0's
    /// `nullable` on an `allOf`) is explained by that branch's own errors.
    fn explain(&self, e: &jsonschema::ValidationError<'_>, out: &mut Vec<Problem>) {
        use jsonschema::error::ValidationErrorKind as K;
        let plain = branch_types(&self.contract, e.absolute_keyword_location().map(jsonschema::Uri::as_str));
        if let K::AnyOf { context } | K::OneOfNotValid { context } = e.kind()
            && plain.is_none()
        {
            let real: Vec<&Vec<jsonschema::ValidationError<'static>>> =
                context.iter().filter(|branch| !branch.iter().all(|x| self.is_null_type(x))).collect();
            if let [only] = real.as_slice()
                && !only.is_empty()
            {
                for x in *only {
                    self.explain(x, out);
                }
                return;
            }
        }
        let mut message = e.masked_with(short(e.instance())).to_string();
        if matches!(e.kind(), K::AnyOf { .. } | K::OneOfNotValid { .. })
            && let Some(types) = plain
        {
            message = format!("{} is not of type {types}", short(e.instance()));
        }
        let schema = e
            .absolute_keyword_location()
            .and_then(|u| u.as_str().split_once('#').map(|(_, f)| format!("#{}", pointer::from_fragment(f))))
            .map(|f| self.contract.display_ref(&f));
        out.push(Problem {
            rule: e.kind().keyword().to_string(),
            pointer: Some(e.instance_path().as_str().to_string()),
            message,
            schema,
        });
    }

    /// Whether an error is "not null" from a `type: null` branch.
    fn is_null_type(&self, e: &jsonschema::ValidationError<'_>) -> bool {
        matches!(e.kind(), jsonschema::error::ValidationErrorKind::Type { .. })
            && e.absolute_keyword_location()
                .and_then(|u| u.as_str().split_once('#').map(|(_, f)| pointer::from_fragment(f)))
                .and_then(|p| pointer::get(&self.contract.doc, &p).cloned())
                == Some(Value::String("null".into()))
    }

    fn compiled(&mut self, schema_ptr: &str) -> Result<Arc<jsonschema::Validator>, String> {
        if let Some(v) = self.compiled.get(schema_ptr) {
            return Ok(v.clone());
        }
        let wrapper = json!({ "$ref": format!("{URI}#{}", pointer::to_fragment(schema_ptr)) });
        let v = jsonschema::options()
            .with_draft(Draft::Draft202012)
            .with_registry(&self.registry)
            .should_validate_formats(true)
            .build(&wrapper)
            .map_err(|e| e.to_string())?;
        let v = Arc::new(v);
        self.compiled.insert(schema_ptr.to_string(), v.clone());
        Ok(v)
    }

    /// A response object through `$ref`s, with the pointer it was found at.
    fn follow(&self, ptr: &str) -> (Value, String) {
        let mut ptr = ptr.to_string();
        for _ in 0..16 {
            let Some(v) = pointer::get(&self.contract.doc, &ptr) else { break };
            match v.get("$ref").and_then(Value::as_str).and_then(|r| r.strip_prefix('#')) {
                Some(next) => ptr = next.to_string(),
                None => return (v.clone(), ptr),
            }
        }
        (Value::Null, ptr)
    }
}

/// `application/json` from `application/json; charset=utf-8`.
fn essence(content_type: &str) -> String {
    content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase()
}

/// Whether a declared media range (`application/json`, `text/*`, `*/*`) covers a type.
fn media_matches(declared: &str, actual: &str) -> bool {
    let d = essence(declared);
    d == actual || d == "*/*" || d.strip_suffix("/*").is_some_and(|major| actual.split('/').next() == Some(major))
}

/// A value as a failure message shows it: short, on one line.
fn short(v: &Value) -> String {
    let s = match v {
        Value::Object(m) => format!("object with {} properties", m.len()),
        Value::Array(a) => format!("array of {}", a.len()),
        other => other.to_string(),
    };
    if s.chars().count() > 60 { format!("{}…", s.chars().take(59).collect::<String>()) } else { s }
}

/// `string or null` when every branch of an `anyOf`/`oneOf` is a plain type.
fn branch_types(c: &Contract, location: Option<&str>) -> Option<String> {
    let ptr = location?.split_once('#')?.1;
    let branches = pointer::get(&c.doc, &pointer::from_fragment(ptr))?.as_array()?;
    let mut names = Vec::new();
    for b in branches {
        let b = c.resolve(b);
        let m = b.as_object()?;
        if m.keys().any(|k| !matches!(k.as_str(), "type" | "title" | "description" | "format")) {
            return None;
        }
        match m.get("type")? {
            Value::String(t) => names.push(t.clone()),
            Value::Array(ts) => names.extend(ts.iter().filter_map(Value::as_str).map(str::to_string)),
            _ => return None,
        }
    }
    Some(names.join(" or "))
}

/// Rewrites every `oneOf`/`anyOf` with a `discriminator` whose branches are
/// all `$ref`s into an explicit choice on the property's value.
fn discriminators(doc: &mut Value) {
    for p in walk::schemas(doc) {
        let Some(Value::Object(s)) = pointer::get_mut(doc, &p) else { continue };
        let Some(prop) = s.get("discriminator").and_then(|d| d.get("propertyName")).and_then(Value::as_str) else {
            continue;
        };
        let prop = prop.to_string();
        let Some(kw) = ["oneOf", "anyOf"].into_iter().find(|k| s.get(*k).is_some_and(Value::is_array)) else {
            continue;
        };
        let branches: Vec<Value> = s.get(kw).and_then(Value::as_array).cloned().unwrap_or_default();
        let refs: Option<Vec<String>> =
            branches.iter().map(|b| b.get("$ref").and_then(Value::as_str).map(str::to_string)).collect();
        let Some(refs) = refs else { continue };
        let mapping: Map<String, Value> = s
            .get("discriminator")
            .and_then(|d| d.get("mapping"))
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default();
        let last = |r: &str| r.rsplit('/').next().unwrap_or(r).to_string();
        let mut choices: Vec<(String, String)> = Vec::new();
        for r in &refs {
            let mut named = false;
            for (value, target) in &mapping {
                let Some(t) = target.as_str() else { continue };
                if t == r || last(t) == last(r) {
                    choices.push((value.clone(), r.clone()));
                    named = true;
                }
            }
            if !named {
                choices.push((last(r), r.clone()));
            }
        }
        let values: Vec<Value> = choices.iter().map(|(v, _)| Value::String(v.clone())).collect();
        let mut all: Vec<Value> = vec![json!({"required": [prop], "properties": {prop.clone(): {"enum": values}}})];
        for (value, r) in &choices {
            all.push(json!({
                "if": {"required": [prop], "properties": {prop.clone(): {"const": value}}},
                "then": {"$ref": r}
            }));
        }
        if let Some(Value::Array(existing)) = s.remove("allOf") {
            all.extend(existing);
        }
        s.remove(kw);
        s.insert("x-checkpoint-branches".into(), Value::Array(branches));
        s.insert("allOf".into(), Value::Array(all));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    fn contract() -> crate::Contract {
        let doc = json!({
            "openapi": "3.1.0", "info": {"title": "t", "version": "1"},
            "paths": {"/pets/{id}": {"get": {"operationId": "getPet", "responses": {
                "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Pet"}}}},
                "4XX": {"$ref": "#/components/responses/Error"}
            }}}},
            "components": {
                "responses": {"Error": {"description": "e", "content": {"application/json": {"schema": {
                    "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}},
                "schemas": {
                    "Pet": {"oneOf": [{"$ref": "#/components/schemas/Cat"}, {"$ref": "#/components/schemas/Dog"}],
                            "discriminator": {"propertyName": "kind", "mapping": {"cat": "#/components/schemas/Cat"}}},
                    "Cat": {"type": "object", "required": ["kind", "lives"], "properties": {
                        "kind": {"type": "string"}, "lives": {"type": "integer", "maximum": 9}}},
                    "Dog": {"type": "object", "required": ["kind", "born"], "properties": {
                        "kind": {"type": "string"}, "born": {"type": "string", "format": "date-time"},
                        "owner": {"anyOf": [{"type": "string"}, {"type": "null"}]}}}
                }
            }
        });
        crate::from_text(&doc.to_string(), "pets.json").unwrap()
    }

    fn check(status: u16, ct: Option<&str>, body: &str) -> Vec<String> {
        let c = contract();
        let ops = c.operations();
        let mut v = super::Validator::new(&c).unwrap();
        v.response(&ops[0], status, ct, body.as_bytes()).problems.iter().map(ToString::to_string).collect()
    }

    const JSON: Option<&str> = Some("application/json; charset=utf-8");

    #[test]
    fn a_valid_body_has_no_problems() {
        assert_eq!(check(200, JSON, r#"{"kind": "cat", "lives": 7}"#), Vec::<String>::new());
        assert_eq!(
            check(200, JSON, r#"{"kind": "Dog", "born": "2020-01-01T00:00:00Z", "owner": null}"#),
            Vec::<String>::new()
        );
        assert_eq!(check(404, JSON, r#"{"error": "no such pet"}"#), Vec::<String>::new());
    }

    #[test]
    fn the_discriminator_picks_the_branch_the_message_speaks_of() {
        assert_eq!(
            check(200, JSON, r#"{"kind": "cat", "lives": 12}"#),
            [
                "body /lives: 12 is greater than the maximum of 9 (maximum at #/components/schemas/Cat/properties/lives/maximum)"
            ]
        );
        assert_eq!(
            check(200, JSON, r#"{"kind": "Dog"}"#),
            [r#"body /: "born" is a required property (required at #/components/schemas/Dog/required)"#]
        );
        let unknown = check(200, JSON, r#"{"kind": "cow"}"#);
        assert_eq!(unknown.len(), 1, "{unknown:?}");
        assert!(unknown[0].starts_with("body /kind: \"cow\" is not one of"), "{unknown:?}");
    }

    #[test]
    fn formats_and_nullable_unions_are_checked() {
        assert_eq!(
            check(200, JSON, r#"{"kind": "Dog", "born": "yesterday"}"#),
            [
                r#"body /born: "yesterday" is not a "date-time" (format at #/components/schemas/Dog/properties/born/format)"#
            ]
        );
        assert_eq!(
            check(200, JSON, r#"{"kind": "Dog", "born": "2020-01-01T00:00:00Z", "owner": 3}"#),
            ["body /owner: 3 is not of type string or null (anyOf at #/components/schemas/Dog/properties/owner/anyOf)"]
        );
    }

    #[test]
    fn status_content_type_and_json_are_checked_first() {
        assert_eq!(check(500, JSON, "{}"), ["status 500 is not declared (declared: 200, 4XX)"]);
        assert_eq!(
            check(200, Some("text/html"), "<html>"),
            ["content-type `text/html` is not declared for status 200 (declared: application/json)"]
        );
        let not_json = check(200, JSON, "{oops");
        assert!(not_json[0].starts_with("the body is not JSON"), "{not_json:?}");
        assert_eq!(check(200, JSON, ""), ["the body is empty, but status 200 declares a application/json body"]);
    }
}
