//! `contract-diff` against a live spec served in-process (axum): the
//! committed contract is a file of the project, the live one a URL — one
//! unchanged, one drifted, one split over several documents fetched through
//! their `$ref`s, one behind a token, one that is not there. Checkpoints are
//! written as YAML and go through the real loader and engine.

use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use checkpoint_model::result::Status;
use serde_json::{Value, json};

use crate::support::{self, Run};

/// The committed contract: one item resource.
fn contract(created_at: bool) -> Value {
    let mut item = json!({
        "type": "object",
        "required": ["id", "name"],
        "properties": { "id": { "type": "string" }, "name": { "type": "string" } }
    });
    if created_at {
        item["required"].as_array_mut().unwrap().push(json!("created_at"));
        item["properties"]["created_at"] = json!({ "type": "string", "format": "date-time" });
    }
    json!({
        "openapi": "3.1.0",
        "info": { "title": "Items", "version": "1" },
        "paths": {
            "/items/{id}": { "get": {
                "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                "responses": { "200": { "description": "ok",
                    "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Item" } } } } }
            } },
            "/health": { "get": { "responses": { "200": { "description": "ok" } } } }
        },
        "components": { "schemas": { "Item": item } }
    })
}

/// The same contract as YAML split over two documents, as some services serve it.
const ROOT_YAML: &str = r#"openapi: 3.1.0
info: { title: Items, version: "1" }
paths:
  /items/{itemId}:
    get:
      parameters:
        - { name: itemId, in: path, required: true, schema: { type: string } }
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: { $ref: "schemas.yaml#/Item" }
  /health:
    get: { responses: { "200": { description: ok } } }
"#;
const SCHEMAS_YAML: &str = r"Item:
  type: object
  required: [id, name, created_at]
  properties:
    id: { type: string }
    name: { type: string }
    created_at: { type: string, format: date-time }
";

async fn server() -> String {
    let app = axum::Router::new()
        .route("/same.json", get(|| async { axum::Json(contract(true)) }))
        .route("/openapi.json", get(|| async { axum::Json(contract(false)) }))
        .route("/spec/root.yaml", get(|| async { ROOT_YAML }))
        .route("/spec/schemas.yaml", get(|| async { SCHEMAS_YAML }))
        .route("/broken.json", get(|| async { "{\"openapi\": \"3.1.0\", " }))
        .route(
            "/private.json",
            get(|h: HeaderMap| async move {
                if h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer let-me-in") {
                    Ok(axum::Json(contract(true)))
                } else {
                    Err(StatusCode::UNAUTHORIZED)
                }
            }),
        );
    support::serve(app).await
}

async fn run_yaml(yaml: &str, vars: &[(&str, &str)], files: &[(&str, &str)]) -> Run {
    Run { gates: support::run(yaml, support::Setup { vars, files, jobs: 2, ..Default::default() }).await }
}

#[tokio::test]
async fn contract_diff_against_a_live_spec() {
    let api = server().await;
    let yaml = r#"
gates:
  - id: unchanged
    title: API breaking changes = 0
    checks:
      - name: same contract
        contract-diff: { base: api/openapi.json, live: "${API}/same.json" }
  - id: drifted
    title: API breaking changes = 0 (drifted)
    checks:
      - name: drifted contract
        contract-diff: { base: api/openapi.json, live: "${API}/openapi.json" }
  - id: accepted
    title: A known break, accepted
    checks:
      - name: one break expected
        contract-diff: { base: api/openapi.json, live: "${API}/openapi.json" }
        expect:
          breaking: 1
          changes: { gte: 1 }
          json: { "$[?@.breaking == true].rule": response-property-removed }
        capture: { FIRST: "$[0].message" }
  - id: split
    title: A spec in several documents over HTTP
    checks:
      - name: refs fetched
        contract-diff: { base: api/openapi.json, live: "${API}/spec/root.yaml" }
  - id: protected
    title: A spec behind a token
    checks:
      - name: with the token
        contract-diff:
          base: api/openapi.json
          live: "${API}/private.json"
          headers: { Authorization: Bearer let-me-in }
  - id: unauthorized
    title: A spec behind a token, without it
    checks:
      - name: without the token
        contract-diff: { base: api/openapi.json, live: "${API}/private.json" }
  - id: broken
    title: The service serves no valid spec
    checks:
      - name: truncated JSON
        contract-diff: { base: api/openapi.json, live: "${API}/broken.json" }
  - id: down
    title: Nothing listens
    checks:
      - name: refused
        contract-diff: { base: api/openapi.json, live: "http://127.0.0.1:9/openapi.json" }
"#;
    let base = serde_json::to_string_pretty(&contract(true)).unwrap();
    let run = run_yaml(yaml, &[("API", &api)], &[("api/openapi.json", &base)]).await;

    let ok = run.gate("unchanged");
    assert_eq!(ok.status, Status::Passed, "{ok:#?}");
    let ev = ok.checks[0].evidence.as_deref().unwrap();
    assert!(ev.starts_with("base: api/openapi.json (OpenAPI 3.1, 2 operations)\nlive: http://"), "{ev}");
    assert!(ev.ends_with("\nno changes\n"), "{ev}");

    let d = run.gate("drifted");
    assert_eq!(d.status, Status::Failed, "{d:#?}");
    assert_eq!(
        d.reason.as_deref(),
        Some(
            "drifted contract: breaking: expected 0, got 1 — GET /items/{id}: response 200 property `created_at` removed"
        )
    );
    let ev = d.checks[0].evidence.as_deref().unwrap();
    assert!(
        ev.contains(
            "Breaking changes (1):\n  GET /items/{id}\n    response 200 property `created_at` removed  [response-property-removed]\n"
        ),
        "{ev}"
    );
    assert!(ev.ends_with("\n1 breaking change, 0 non-breaking\n"), "{ev}");

    let a = run.gate("accepted");
    assert_eq!(a.status, Status::Passed, "{a:#?}");

    let s = run.gate("split");
    assert_eq!(s.status, Status::Passed, "the same contract, bundled from two documents: {s:#?}");

    let p = run.gate("protected");
    assert_eq!(p.status, Status::Passed, "{p:#?}");
    let u = run.gate("unauthorized");
    assert_eq!(u.status, Status::Failed, "{u:#?}");
    assert!(u.reason.as_deref().unwrap().ends_with("/private.json: HTTP 401 Unauthorized"), "{u:#?}");

    // A broken live spec is the service's fault.
    run.ended("broken", Status::Failed, "/broken.json: line 1 column");

    let down = run.gate("down");
    assert_eq!(down.status, Status::Failed, "{down:#?}");
    assert!(down.reason.as_deref().unwrap().starts_with("refused: live contract http://127.0.0.1:9/openapi.json: "));
}

#[tokio::test]
async fn an_unreadable_committed_contract_is_an_error_not_a_failure() {
    let api = server().await;
    let yaml = r#"
gates:
  - id: bad-base
    title: The committed contract does not parse
    checks:
      - name: broken base
        contract-diff: { base: api/openapi.yaml, live: "${API}/same.json" }
"#;
    let run = run_yaml(yaml, &[("API", &api)], &[("api/openapi.yaml", "openapi: 3.1.0\npaths: [\n")]).await;
    run.ended("bad-base", Status::Errored, "base contract api/openapi.yaml: line ");
}

/// An ignore file silences exactly its change until its date, then the change counts again.
#[tokio::test]
async fn an_ignore_file_accepts_a_change_until_it_expires() {
    let api = server().await;
    let text = |v: &Value| serde_json::to_string_pretty(v).unwrap();
    let (old, new) = (text(&contract(true)), text(&contract(false)));
    let changes = checkpoint_contract::diff::diff(
        &checkpoint_contract::from_text(&old, "old").unwrap(),
        &checkpoint_contract::from_text(&new, "new").unwrap(),
    );
    let [removed] = &changes[..] else { panic!("one change expected: {changes:#?}") };
    let entry = |expires: &str| {
        format!("- fingerprint: {}\n  reason: clients moved to updated_at\n  expires: {expires}\n", removed.fingerprint)
    };
    let yaml = r#"
gates:
  - id: accepted
    title: A known break, accepted until 2999
    checks:
      - name: ignored
        contract-diff: { base: api/openapi.json, live: "${API}/openapi.json", ignore: api/ignore.yaml }
  - id: expired
    title: The acceptance ran out
    checks:
      - name: expired
        contract-diff: { base: api/openapi.json, live: "${API}/openapi.json", ignore: api/expired.yaml }
"#;
    let files = [
        ("api/openapi.json", old.as_str()),
        ("api/ignore.yaml", &entry("2999-12-31")),
        ("api/expired.yaml", &entry("2000-01-01")),
    ];
    let run = run_yaml(yaml, &[("API", &api)], &files).await;

    let a = run.gate("accepted");
    assert_eq!(a.status, Status::Passed, "{a:#?}");
    let ev = a.checks[0].evidence.as_deref().unwrap();
    assert!(ev.contains(&format!("Ignored (1):\n  GET /items/{{id}}: response 200 property `created_at` removed  [response-property-removed] {}: clients moved to updated_at (until 2999-12-31)\n", removed.fingerprint)), "{ev}");

    let e = run.ended("expired", Status::Failed, "breaking: expected 0, got 1");
    let ev = e.checks[0].evidence.as_deref().unwrap();
    assert!(ev.contains(&format!("ignore entry {} expired on 2000-01-01", removed.fingerprint)), "{ev}");
}
