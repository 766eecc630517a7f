//! The contract crate on specs written by other tools: a FastAPI-generated
//! OpenAPI 3.1 document (`anyOf` with null), a drf-spectacular 3.0 document
//! (`nullable`, a discriminated `oneOf`), and a hand-written 3.0 contract
//! split across files. Each loads, lists its operations, builds requests
//! whose bodies are valid against their own schemas, and judges responses
//! with messages that name the pointer and the rule.

use std::path::{Path, PathBuf};

use checkpoint_contract::sample::{self, Body, Inputs};
use checkpoint_contract::validate::Validator;
use checkpoint_contract::{Contract, Version, pointer};
use serde_json::{Value, json};

fn spec(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/specs").join(rel)
}

fn load(rel: &str) -> Contract {
    checkpoint_contract::from_file(&spec(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn labels(c: &Contract) -> Vec<String> {
    c.operations().iter().map(checkpoint_contract::ops::Operation::label).collect()
}

/// Problems of a response to operation `id`, as one line each.
fn problems(c: &Contract, id: &str, status: u16, body: &Value) -> Vec<String> {
    let ops = c.operations();
    let op = ops.iter().find(|o| o.operation_id.as_deref() == Some(id)).expect("operation");
    let mut v = Validator::new(c).expect("validator");
    let text = body.to_string();
    v.response(op, status, Some("application/json"), text.as_bytes()).problems.iter().map(ToString::to_string).collect()
}

#[test]
fn every_corpus_spec_loads_with_its_operations() {
    let fastapi = load("fastapi/openapi.json");
    assert_eq!(fastapi.version, Version::V3_1);
    assert_eq!(
        labels(&fastapi),
        [
            "GET /products (list_products_products_get)",
            "POST /products (create_product_products_post)",
            "GET /products/{product_id} (get_product_products__product_id__get)",
            "DELETE /products/{product_id} (delete_product_products__product_id__delete)",
            "GET /health (health_health_get)",
        ]
    );
    let drf = load("drf-spectacular/openapi.yaml");
    assert_eq!(drf.version, Version::V3_0);
    assert_eq!(
        labels(&drf),
        [
            "GET /pets/ (pets_list)",
            "POST /pets/ (pets_create)",
            "GET /pets/{id}/ (pets_retrieve)",
            "PUT /pets/{id}/ (pets_owner_update)",
        ]
    );
    let multi = load("multi-file/openapi.yaml");
    assert_eq!(
        labels(&multi),
        ["GET /orders (listOrders)", "GET /orders/{orderId} (getOrder)", "GET /status (status)"]
    );
}

/// A generated request body must be valid against the schema it came from,
/// or the check would blame the API for the harness's own request.
#[test]
fn generated_request_bodies_are_valid_against_their_own_schemas() {
    for rel in ["fastapi/openapi.json", "drf-spectacular/openapi.yaml", "multi-file/openapi.yaml"] {
        let c = load(rel);
        let mut v = Validator::new(&c).unwrap();
        let inputs = Inputs {
            auth: sample::Auth { api_key: Some("k".into()), basic: Some("u:p".into()), ..Default::default() },
            ..Default::default()
        };
        for op in c.operations() {
            let r = sample::request(&c, &op, &inputs).unwrap_or_else(|e| panic!("{rel} {}: {e:?}", op.label()));
            assert!(!r.path.contains('{'), "{rel} {}: path parameters left in {}", op.label(), r.path);
            let Some((media, Body::Json(body))) = &r.body else { continue };
            let body_ptr = format!("{}/requestBody", op.pointer);
            let schema_ptr = match c.get(&body_ptr).and_then(|b| b.get("$ref")).and_then(Value::as_str) {
                Some(r) => format!("{}/content/{}/schema", r.trim_start_matches('#'), pointer::escape(media)),
                None => format!("{body_ptr}/content/{}/schema", pointer::escape(media)),
            };
            let found = v.schema_problems(&schema_ptr, body);
            assert!(found.is_empty(), "{rel} {}: generated {body} is invalid: {found:?}", op.label());
        }
    }
}

#[test]
fn generated_parameters_follow_examples_and_patterns() {
    let c = load("multi-file/openapi.yaml");
    let ops = c.operations();
    let inputs =
        Inputs { auth: sample::Auth { api_key: Some("secret".into()), ..Default::default() }, ..Default::default() };
    let list = sample::request(&c, &ops[0], &inputs).unwrap();
    assert_eq!(list.query, [("limit".to_string(), "20".to_string())], "the parameter's example");
    assert_eq!(list.headers, [("X-API-Key".to_string(), "secret".to_string())], "the apiKey scheme's header");
    let one = sample::request(&c, &ops[1], &inputs).unwrap();
    assert_eq!(one.path, "/orders/ord_aaaaaaaa", "a string matching the parameter's pattern");
    let status = sample::request(&c, &ops[2], &Inputs::default()).unwrap();
    assert!(status.headers.is_empty(), "`security: []` needs no credentials");
    let refused = sample::request(&c, &ops[0], &Inputs::default()).unwrap_err();
    assert_eq!(refused, sample::NoRequest::NoCredentials("`apiKey` (apiKey)".into()));
}

#[test]
fn fastapi_responses_with_optional_fields() {
    let c = load("fastapi/openapi.json");
    let product = json!({"id": 1, "name": "lamp", "price": 9.5, "status": "active", "description": null,
        "dimensions": {"width_cm": 10, "height_cm": 30}, "tags": [], "updated_at": "2026-11-30T12:00:00Z"});
    let page = json!({"items": [product], "total": 1, "next": null});
    assert_eq!(problems(&c, "list_products_products_get", 200, &page), Vec::<String>::new());
    let bad = json!({"items": [{"id": 1, "name": "lamp", "price": -1, "status": "deleted", "description": 5}],
        "total": 1, "next": null});
    assert_eq!(
        problems(&c, "list_products_products_get", 200, &bad),
        [
            "body /items/0/price: -1 is less than the minimum of 0.0 (minimum at #/components/schemas/Product/properties/price/minimum)",
            r#"body /items/0/status: "deleted" is not one of "active" or "archived" (enum at #/components/schemas/Status/enum)"#,
            "body /items/0/description: 5 is not of type string or null (anyOf at #/components/schemas/Product/properties/description/anyOf)",
        ]
    );
    let validation = json!({"detail": [{"loc": ["body", "name"], "msg": "Field required", "type": "missing"}]});
    assert_eq!(problems(&c, "create_product_products_post", 422, &validation), Vec::<String>::new());
    assert_eq!(
        problems(&c, "get_product_products__product_id__get", 500, &json!({})),
        ["status 500 is not declared (declared: 200, 404, 422)"]
    );
}

#[test]
fn drf_spectacular_nullable_and_discriminator() {
    let c = load("drf-spectacular/openapi.yaml");
    let pets = json!([
        {"pet_type": "cat", "name": "Tom", "lives_left": 9, "owner": null},
        {"pet_type": "dog", "name": "Rex", "breed": null, "good_boy": true, "born": null},
        {"pet_type": "cat", "name": "Kit", "lives_left": 3, "owner": {"id": 1, "name": "Ann", "phone": null}}
    ]);
    assert_eq!(problems(&c, "pets_list", 200, &pets), Vec::<String>::new());
    let bad = json!([
        {"pet_type": "cat", "name": "Tom", "lives_left": 10, "owner": null},
        {"pet_type": "dog", "name": "Rex", "breed": "collie"},
        {"pet_type": "cow", "name": "Bess"}
    ]);
    assert_eq!(
        problems(&c, "pets_list", 200, &bad),
        [
            "body /0/lives_left: 10 is greater than the maximum of 9 (maximum at #/components/schemas/Cat/properties/lives_left/maximum)",
            r#"body /1: "good_boy" is a required property (required at #/components/schemas/Dog/required)"#,
            r#"body /2/pet_type: "cow" is not one of "cat" or "dog" (enum at #/components/schemas/Pet/allOf/0/properties/pet_type/enum)"#,
        ]
    );
    let null_breed_on_a_cat = json!({"pet_type": "cat", "name": "Tom", "lives_left": 1, "owner": {"name": "no id"}});
    assert_eq!(
        problems(&c, "pets_retrieve", 200, &null_breed_on_a_cat),
        [r#"body /owner: "id" is a required property (required at #/components/schemas/Owner/required)"#]
    );
}

#[test]
fn rules_in_other_files_are_named_by_their_file() {
    let c = load("multi-file/openapi.yaml");
    let order = json!({"id": "ord_12345678", "state": "open", "total": {"amount": 0, "currency": "eur"},
        "placed_at": "2026-12-01T08:00:00Z", "note": null});
    assert_eq!(
        problems(&c, "getOrder", 200, &order),
        [
            "body /total/amount: 0 is less than or equal to the minimum of 0 (exclusiveMinimum at schemas/common.yaml#/Money/properties/amount/exclusiveMinimum)",
            r#"body /total/currency: "eur" does not match "^[A-Z]{3}$" (pattern at schemas/common.yaml#/Money/properties/currency/pattern)"#,
        ]
    );
    let ops = c.operations();
    let mut v = Validator::new(&c).unwrap();
    let problem = br#"{"title": "not found", "status": 404}"#;
    let ok = v.response(&ops[1], 404, Some("application/problem+json"), problem);
    assert_eq!(ok.problems, []);
    let wrong = v.response(&ops[1], 404, Some("application/json"), problem);
    assert_eq!(
        wrong.problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["content-type `application/json` is not declared for status 404 (declared: application/problem+json)"]
    );
}

#[test]
fn unreadable_contracts_say_which_file_and_why() {
    let dir = tempdir();
    let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
    write("bad.yaml", "openapi: 3.1.0\npaths:\n  /a: [unclosed\n");
    let e = checkpoint_contract::from_file(&dir.join("bad.yaml")).unwrap_err();
    assert!(e.origin.ends_with("bad.yaml") && e.message.contains("line "), "{e}");
    write("swagger.json", r#"{"swagger": "2.0", "paths": {}}"#);
    let e = checkpoint_contract::from_file(&dir.join("swagger.json")).unwrap_err();
    assert!(e.message.contains("Swagger 2.0"), "{e}");
    write(
        "dangling.yaml",
        "openapi: 3.0.3\npaths: {}\ncomponents:\n  schemas:\n    A: { $ref: '#/components/schemas/B' }\n",
    );
    let e = checkpoint_contract::from_file(&dir.join("dangling.yaml")).unwrap_err();
    assert!(e.message.contains("`$ref: #/components/schemas/B` names nothing"), "{e}");
    write("missing.yaml", "openapi: 3.0.3\npaths: {}\ncomponents:\n  schemas:\n    A: { $ref: 'nope.yaml#/A' }\n");
    let e = checkpoint_contract::from_file(&dir.join("missing.yaml")).unwrap_err();
    assert!(e.origin.contains("missing.yaml") && e.message.contains("nope.yaml"), "{e}");
}

fn tempdir() -> PathBuf {
    let d = std::env::temp_dir().join(format!("cp-contract-{}-{:?}", std::process::id(), std::thread::current().id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Django REST framework's session scheme (`apiKey` in the cookie
/// `sessionid`, as drf-spectacular writes it for `fixtures/django`) is
/// satisfied by a session cookie the caller sends with every request: no
/// `api_key` is placed, the note says which cookie carries it.
#[test]
fn a_cookie_sent_anyway_satisfies_an_api_key_cookie_scheme() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/django/openapi.yaml");
    let c = checkpoint_contract::from_file(&path).unwrap();
    let ops = c.operations();
    let create = ops.iter().find(|o| o.operation_id.as_deref() == Some("items_create")).unwrap();
    let refused = sample::request(&c, create, &Inputs::default()).unwrap_err();
    assert_eq!(refused, sample::NoRequest::NoCredentials("`cookieAuth` (apiKey)".into()));
    let other = Inputs {
        auth: sample::Auth { sent_cookies: vec!["csrftoken".into()], ..Default::default() },
        ..Default::default()
    };
    assert!(sample::request(&c, create, &other).is_err(), "another cookie is not the session");
    let session = Inputs {
        auth: sample::Auth { sent_cookies: vec!["csrftoken".into(), "sessionid".into()], ..Default::default() },
        ..Default::default()
    };
    let r = sample::request(&c, create, &session).unwrap();
    assert!(r.headers.iter().all(|(k, _)| k != "cookie"), "nothing added: {:?}", r.headers);
    assert!(
        r.notes.iter().any(|n| n == "credentials for `cookieAuth`: the cookie `sessionid` sent with every request"),
        "{:?}",
        r.notes
    );
    // An `api_key` given still goes where the scheme says.
    let key = Inputs { auth: sample::Auth { api_key: Some("s1".into()), ..session.auth }, ..Default::default() };
    let r = sample::request(&c, create, &key).unwrap();
    assert!(r.headers.contains(&("cookie".to_string(), "sessionid=s1".to_string())), "{:?}", r.headers);
}
