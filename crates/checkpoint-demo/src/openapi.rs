//! `GET /openapi.json`: the hand-written contract in `fixtures/demo/openapi.json`,
//! compiled into the binary so the served document is exactly the committed file.

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

pub(crate) const SPEC: &str = include_str!("../../../fixtures/demo/openapi.json");

pub(crate) async fn serve() -> impl IntoResponse {
    ([(CONTENT_TYPE, "application/json")], crate::drift::spec(SPEC))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::path::Path;

    use axum::body::to_bytes;
    use serde_json::Value;

    use super::*;

    fn committed_file() -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/openapi.json");
        std::fs::read_to_string(path).expect("fixtures/demo/openapi.json is readable")
    }

    #[tokio::test]
    async fn the_served_document_is_the_committed_file() {
        let response = serve().await.into_response();
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        let body = to_bytes(response.into_body(), usize::MAX).await.unwrap();
        assert_eq!(std::str::from_utf8(&body).unwrap(), committed_file());
    }

    #[test]
    fn it_is_openapi_3_1_and_documents_every_route() {
        let spec: Value = serde_json::from_str(SPEC).expect("valid JSON");
        assert_eq!(spec["openapi"], "3.1.0");
        let documented: BTreeSet<String> = spec["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .filter(|k| *k != "parameters")
                    .map(move |method| format!("{} {path}", method.to_uppercase()))
            })
            .collect();
        let served: BTreeSet<String> =
            crate::api::ROUTES.iter().map(|(method, path)| format!("{method} {path}")).collect();
        assert_eq!(documented, served);
    }

    #[test]
    fn every_reference_resolves() {
        let spec: Value = serde_json::from_str(SPEC).unwrap();
        let mut refs = Vec::new();
        collect_refs(&spec, &mut refs);
        assert!(!refs.is_empty());
        for reference in refs {
            let pointer = reference.strip_prefix('#').expect("local reference");
            assert!(spec.pointer(pointer).is_some(), "{reference} does not resolve");
        }
    }

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref") {
                    out.push(r.clone());
                }
                map.values().for_each(|v| collect_refs(v, out));
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }
}
