//! Contract drift on purpose, for the `fixtures/broken/contract-drift.yml` variant:
//! with `DEMO_CONTRACT_DRIFT=1` the API renames the item field `created_at` to
//! `createdAt` — in its responses and in the spec it serves at `/openapi.json` —
//! the way a refactoring that regenerated the spec would. Everything else stays
//! the same, so exactly the contract gates must turn red.

use std::sync::OnceLock;

use serde_json::Value;

/// The field as the committed contract names it, and as the drifted API does.
const FROM: &str = "created_at";
const TO: &str = "createdAt";

/// Whether the drift is switched on (read once).
pub(crate) fn active() -> bool {
    static ACTIVE: OnceLock<bool> = OnceLock::new();
    *ACTIVE.get_or_init(|| std::env::var("DEMO_CONTRACT_DRIFT").is_ok_and(|v| !v.trim().is_empty() && v != "0"))
}

/// An item as the API sends it.
pub(crate) fn item(mut item: Value) -> Value {
    if active() {
        rename(&mut item);
    }
    item
}

/// A list of items as the API sends it.
pub(crate) fn items(mut items: Vec<Value>) -> Vec<Value> {
    if active() {
        items.iter_mut().for_each(rename);
    }
    items
}

fn rename(item: &mut Value) {
    if let Some(fields) = item.as_object_mut()
        && let Some(v) = fields.remove(FROM)
    {
        fields.insert(TO.to_owned(), v);
    }
}

/// The spec the API serves: the committed one, or with the `Item` schema drifted.
pub(crate) fn spec(committed: &str) -> String {
    if !active() {
        return committed.to_owned();
    }
    drifted_spec(committed)
}

fn drifted_spec(committed: &str) -> String {
    let Ok(mut spec) = serde_json::from_str::<Value>(committed) else { return committed.to_owned() };
    if let Some(item) = spec.pointer_mut("/components/schemas/Item") {
        if let Some(props) = item.get_mut("properties") {
            rename(props);
        }
        if let Some(Value::Array(required)) = item.get_mut("required") {
            for name in required.iter_mut() {
                if name == FROM {
                    *name = Value::from(TO);
                }
            }
        }
    }
    serde_json::to_string_pretty(&spec).unwrap_or_else(|_| committed.to_owned())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn the_drifted_spec_renames_the_item_field_only() {
        let committed = crate::openapi::SPEC;
        let drifted: serde_json::Value = serde_json::from_str(&super::drifted_spec(committed)).unwrap();
        let item = &drifted["components"]["schemas"]["Item"];
        assert!(item["properties"].get("createdAt").is_some());
        assert!(item["properties"].get("created_at").is_none());
        assert!(item["required"].as_array().unwrap().contains(&json!("createdAt")));
        // Other schemas keep their created_at.
        let original: serde_json::Value = serde_json::from_str(committed).unwrap();
        assert_eq!(drifted["paths"], original["paths"]);
    }

    #[test]
    fn rename_moves_the_value() {
        let mut v = json!({"id": 1, "created_at": "2026-01-01T00:00:00Z"});
        super::rename(&mut v);
        assert_eq!(v, json!({"id": 1, "createdAt": "2026-01-01T00:00:00Z"}));
    }
}
