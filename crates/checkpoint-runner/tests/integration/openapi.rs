//! The `openapi` kind against real HTTP servers (axum, in-process) that
//! implement contracts other tools generated: FastAPI's Inventory (OpenAPI
//! 3.1, `anyOf` with null) and drf-spectacular's Pet clinic (3.0, `nullable`,
//! a discriminated `oneOf`). Each server can drift from its contract the way
//! a refactoring does; the checks must name exactly the operations that broke
//! it, with the pointer and the rule. Checkpoints go through the real loader.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use checkpoint_model::result::{CheckResult, GateResult, Status};
use serde_json::{Value, json};

use crate::support;

fn spec(rel: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../checkpoint-contract/tests/specs").join(rel).display().to_string()
}

async fn run_yaml(yaml: &str) -> Vec<GateResult> {
    support::run(yaml, support::Setup { jobs: 2, ..Default::default() }).await
}

fn check<'a>(gates: &'a [GateResult], gate: &str) -> &'a CheckResult {
    &gates.iter().find(|g| g.id == gate).expect("gate").checks[0]
}

fn failing(c: &CheckResult) -> Vec<(String, String)> {
    c.cases
        .iter()
        .filter(|k| k.status != Status::Passed)
        .map(|k| (k.name.clone(), k.message.clone().unwrap_or_default()))
        .collect()
}

/// The FastAPI Inventory contract, implemented; `drift` renames nothing but
/// sends a product status the contract does not know and a string price.
async fn inventory(drift: Arc<AtomicBool>) -> String {
    fn product(drift: &AtomicBool, id: i64, name: &str) -> Value {
        if drift.load(Ordering::SeqCst) {
            json!({"id": id, "name": name, "price": "9.50", "status": "deleted", "tags": []})
        } else {
            json!({"id": id, "name": name, "price": 9.5, "status": "active", "description": null,
                   "dimensions": null, "tags": ["lamp"], "updated_at": "2026-12-01T08:00:00Z"})
        }
    }
    let app = axum::Router::new()
        .route(
            "/products",
            get(|State(d): State<Arc<AtomicBool>>| async move {
                Json(json!({"items": [product(&d, 1, "lamp")], "total": 1, "next": null}))
            })
            .post(|State(d): State<Arc<AtomicBool>>, Json(body): Json<Value>| async move {
                let name = body["name"].as_str().unwrap_or("?").to_string();
                (StatusCode::CREATED, Json(product(&d, 2, &name)))
            }),
        )
        .route(
            "/products/{id}",
            get(|State(d): State<Arc<AtomicBool>>, Path(id): Path<i64>| async move {
                if id == 1 {
                    Json(product(&d, 1, "lamp")).into_response()
                } else {
                    (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response()
                }
            })
            .delete(|Path(id): Path<i64>| async move {
                if id == 1 {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))).into_response()
                }
            }),
        )
        .route("/health", get(|| async { Json(json!({"status": "ok"})) }))
        .route(
            "/openapi.json",
            get(|| async {
                let text = std::fs::read_to_string(spec("fastapi/openapi.json")).unwrap();
                ([("content-type", "application/json")], text).into_response()
            }),
        )
        .with_state(drift);
    support::serve(app).await
}

/// The drf-spectacular Pet clinic; `drift` drops a required dog field.
async fn clinic(drift: Arc<AtomicBool>) -> String {
    fn dog(drift: &AtomicBool) -> Value {
        if drift.load(Ordering::SeqCst) {
            json!({"pet_type": "dog", "name": "Rex", "breed": null})
        } else {
            json!({"pet_type": "dog", "name": "Rex", "breed": null, "good_boy": true, "born": null})
        }
    }
    let app = axum::Router::new()
        .route(
            "/pets/",
            get(|State(d): State<Arc<AtomicBool>>| async move {
                Json(json!([{"pet_type": "cat", "name": "Tom", "lives_left": 9, "owner": null}, dog(&d)]))
            })
            .post(|Json(mut pet): Json<Value>| async move {
                if pet["owner"].is_object() {
                    pet["owner"]["id"] = json!(7);
                }
                (StatusCode::CREATED, Json(pet))
            }),
        )
        .route(
            "/pets/{id}/",
            get(|State(d): State<Arc<AtomicBool>>| async move { Json(dog(&d)) }).put(
                |Json(body): Json<Value>| async move {
                    let mut owner = body;
                    owner["id"] = json!(7);
                    Json(owner)
                },
            ),
        )
        .with_state(drift);
    support::serve(app).await
}

#[tokio::test]
async fn fastapi_contract_holds_then_drifts_on_exactly_the_product_operations() {
    let drift = Arc::new(AtomicBool::new(false));
    let api = inventory(drift.clone()).await;
    let yaml = format!(
        r#"
gates:
  - id: contract
    title: API contract finalised
    checks:
      - name: every operation answers as the contract says
        openapi: {{ spec: "{}", base_url: "{api}" }}
"#,
        spec("fastapi/openapi.json")
    );
    let healthy = run_yaml(&yaml).await;
    let c = check(&healthy, "contract");
    assert_eq!(c.status, Status::Passed, "{:?}\n{:?}", c.message, c.evidence);
    assert_eq!(
        c.cases.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        [
            "GET /products (list_products_products_get)",
            "POST /products (create_product_products_post)",
            "GET /products/{product_id} (get_product_products__product_id__get)",
            "DELETE /products/{product_id} (delete_product_products__product_id__delete)",
            "GET /health (health_health_get)",
        ]
    );

    drift.store(true, Ordering::SeqCst);
    let drifted = run_yaml(&yaml).await;
    let c = check(&drifted, "contract");
    assert_eq!(c.status, Status::Failed);
    assert_eq!(
        failing(c),
        [
            (
                "GET /products (list_products_products_get)".to_string(),
                "200: body /items/0/price: \"9.50\" is not of type \"number\" (type at #/components/schemas/Product/properties/price/type) (and 1 more problem)".to_string()
            ),
            (
                "POST /products (create_product_products_post)".to_string(),
                "201: body /price: \"9.50\" is not of type \"number\" (type at #/components/schemas/Product/properties/price/type) (and 1 more problem)".to_string()
            ),
            (
                "GET /products/{product_id} (get_product_products__product_id__get)".to_string(),
                "200: body /price: \"9.50\" is not of type \"number\" (type at #/components/schemas/Product/properties/price/type) (and 1 more problem)".to_string()
            ),
        ]
    );
    let message = c.message.as_deref().unwrap();
    assert!(
        message.starts_with(
            "violations: expected 0, got 3 — GET /products (list_products_products_get): 200: body /items/0/price"
        ),
        "{message}"
    );
    assert!(message.ends_with("(and 1 more problem); 2 more operations broke it"), "one count each: {message}");
    let evidence = c.cases[0].evidence.as_deref().unwrap();
    assert!(evidence.contains(&format!("GET {api}/products")), "{evidence}");
    assert!(
        evidence.contains("\"deleted\" is not one of \"active\" or \"archived\""),
        "every problem is in the evidence: {evidence}"
    );
}

#[tokio::test]
async fn the_live_services_own_spec_selected_by_tag_and_operation() {
    let api = inventory(Arc::new(AtomicBool::new(false))).await;
    let yaml = format!(
        r#"
gates:
  - id: by-tag
    title: products
    checks:
      - name: product operations
        openapi:
          spec: "{api}/openapi.json"
          base_url: "{api}"
          tags: [products]
          methods: [GET]
          requests:
            get_product_products__product_id__get: {{ params: {{ product_id: 41 }}, status: 404 }}
  - id: misspelt
    title: a typo in the selection
    checks:
      - name: one operation
        openapi: {{ spec: "{api}/openapi.json", base_url: "{api}", operations: [get_prodcut_products__product_id__get] }}
  - id: wrong-status
    title: a status the check insists on
    checks:
      - name: product 1 is gone
        openapi:
          spec: "{api}/openapi.json"
          base_url: "{api}"
          operations: [get_product_products__product_id__get]
          requests: {{ get_product_products__product_id__get: {{ params: {{ product_id: 1 }}, status: 404 }} }}
"#
    );
    let gates = run_yaml(&yaml).await;
    let c = check(&gates, "by-tag");
    assert_eq!(c.status, Status::Passed, "{:?}", c.message);
    assert_eq!(
        c.cases.iter().map(|k| k.name.as_str()).collect::<Vec<_>>(),
        [
            "GET /products (list_products_products_get)",
            "GET /products/{product_id} (get_product_products__product_id__get)"
        ]
    );
    assert!(c.cases[1].evidence.as_deref().unwrap().contains("/products/41"), "{:?}", c.cases[1].evidence);

    let c = check(&gates, "misspelt");
    assert_eq!(c.status, Status::Errored);
    let m = c.message.as_deref().unwrap();
    assert!(m.contains("operationId `get_prodcut_products__product_id__get` is not in the contract"), "{m}");
    assert!(m.contains("did you mean `get_product_products__product_id__get`?"), "{m}");

    let c = check(&gates, "wrong-status");
    assert_eq!(
        failing(c),
        [(
            "GET /products/{product_id} (get_product_products__product_id__get)".to_string(),
            "200: status: expected 404, got 200".to_string()
        )]
    );
}

#[tokio::test]
async fn drf_spectacular_contract_with_nullable_and_discriminator() {
    let drift = Arc::new(AtomicBool::new(false));
    let api = clinic(drift.clone()).await;
    let yaml = format!(
        r#"
gates:
  - id: pets
    title: Pet clinic contract
    checks:
      - name: pets
        openapi: {{ spec: "{}", base_url: "{api}", params: {{ id: 3 }} }}
"#,
        spec("drf-spectacular/openapi.yaml")
    );
    let healthy = run_yaml(&yaml).await;
    let c = check(&healthy, "pets");
    assert_eq!(c.status, Status::Passed, "{:?}\n{:#?}", c.message, c.cases);
    assert_eq!(c.cases.len(), 4);

    drift.store(true, Ordering::SeqCst);
    let drifted = run_yaml(&yaml).await;
    assert_eq!(
        failing(check(&drifted, "pets")),
        [
            (
                "GET /pets/ (pets_list)".to_string(),
                "200: body /1: \"good_boy\" is a required property (required at #/components/schemas/Dog/required)"
                    .to_string()
            ),
            (
                "GET /pets/{id}/ (pets_retrieve)".to_string(),
                "200: body /: \"good_boy\" is a required property (required at #/components/schemas/Dog/required)"
                    .to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn a_service_that_is_down_fails_every_operation_with_the_cause() {
    let port = support::closed_port();
    let yaml = format!(
        r#"
gates:
  - id: down
    title: contract of a stopped API
    checks:
      - name: pets
        openapi: {{ spec: "{}", base_url: "http://127.0.0.1:{port}" }}
"#,
        spec("drf-spectacular/openapi.yaml")
    );
    let gates = run_yaml(&yaml).await;
    let c = check(&gates, "down");
    assert_eq!(c.status, Status::Failed);
    assert_eq!(c.cases.len(), 4);
    assert!(
        c.cases
            .iter()
            .all(|k| k.status == Status::Failed && k.message.as_deref().unwrap().contains("connection refused")),
        "{:#?}",
        c.cases
    );
}

/// A FastAPI-style contract declares only its 200s (and 422); the service
/// answers 404 for a missing item, 418 for a teapot, 201 where 200 is
/// declared and 503 when it breaks. `undeclared_status` decides which of the
/// undeclared answers break the contract.
#[tokio::test]
async fn undeclared_statuses_follow_the_policy() {
    use axum::routing::post;
    const CONTRACT: &str = r#"{"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
      "paths": {
        "/items/{id}": {"get": {"operationId": "getItem",
          "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
          "responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"type": "object", "required": ["id"]}}}},
                        "422": {"description": "invalid"}}}},
        "/teapot": {"get": {"operationId": "brew", "responses": {"200": {"description": "tea"}}}},
        "/items": {"post": {"operationId": "createItem", "responses": {"200": {"description": "made"}}}},
        "/crash": {"get": {"operationId": "crash", "responses": {"200": {"description": "never"}}}}
      }}"#;
    let app = axum::Router::new()
        .route("/items/{id}", get(|| async { (StatusCode::NOT_FOUND, Json(json!({"detail": "Not Found"}))) }))
        .route("/teapot", get(|| async { (StatusCode::IM_A_TEAPOT, "short and stout") }))
        .route("/items", post(|| async { (StatusCode::CREATED, Json(json!({"id": "1"}))) }))
        .route("/crash", get(|| async { StatusCode::SERVICE_UNAVAILABLE }));
    let base = support::serve(app).await;
    let yaml = format!(
        r#"
gates:
  - id: default
    title: client errors accepted by default
    checks:
      - name: reads
        openapi: {{ spec: api.json, base_url: "{base}", operations: [getItem, brew], params: {{ id: missing }} }}
  - id: created
    title: an undeclared 2xx is a violation by default
    checks:
      - name: create
        openapi: {{ spec: api.json, base_url: "{base}", operations: [createItem] }}
  - id: strict
    title: strict
    checks:
      - name: reads
        openapi: {{ spec: api.json, base_url: "{base}", operations: [brew], undeclared_status: strict }}
  - id: any
    title: any
    checks:
      - name: all
        openapi: {{ spec: api.json, base_url: "{base}", operations: [brew, createItem, crash], undeclared_status: any }}
"#
    );
    let setup = support::Setup { files: &[("api.json", CONTRACT)], jobs: 2, ..Default::default() };
    let gates = support::run(&yaml, setup).await;
    let default = check(&gates, "default");
    assert_eq!(default.status, Status::Passed, "{default:#?}");
    let notes: Vec<(String, String)> =
        default.cases.iter().map(|k| (k.name.clone(), k.message.clone().unwrap_or_default())).collect();
    assert_eq!(
        notes,
        [
            (
                "GET /items/{id} (getItem)".to_string(),
                "undeclared 404, accepted (undeclared_status: client-errors)".to_string()
            ),
            (
                "GET /teapot (brew)".to_string(),
                // What the server said, as it said it (a plain-text body).
                "undeclared 418, accepted (undeclared_status: client-errors) — the server said \"short and stout\""
                    .to_string()
            ),
        ]
    );
    assert!(default.cases[0].evidence.as_deref().unwrap_or_default().contains("the body is not validated"));
    assert_eq!(
        failing(check(&gates, "created")),
        [("POST /items (createItem)".to_string(), "201: status 201 is not declared (declared: 200)".to_string())]
    );
    assert_eq!(
        failing(check(&gates, "strict")),
        [("GET /teapot (brew)".to_string(), "418: status 418 is not declared (declared: 200)".to_string())]
    );
    assert_eq!(
        failing(check(&gates, "any")),
        [("GET /crash (crash)".to_string(), "503: status 503 is not declared (declared: 200)".to_string())]
    );
}
