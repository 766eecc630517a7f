//! The harness against a real Django (`fixtures/django`: Django 5.1 and
//! Django REST framework under gunicorn, served by `scripts/test-services.sh`):
//! the session login a Django project's "Authentication working end-to-end"
//! gate performs — the login form's CSRF cookie, a login that rotates it and
//! sets an HttpOnly `sessionid`, DRF's CSRF check on unsafe methods — and a
//! "P95 response time" gate behind that session (without it, the quick 302 to
//! the login page is not the page measured). And what a red gate says
//! when Django refuses: the server's own words, or where it redirects, on the
//! reason's one line.

use checkpoint_model::result::Status;

use crate::support::{self, Run, Setup};

/// Logs in as the fixture's user: the login page sets `csrftoken`, the form
/// posts it back, the login answers 302 with a new (rotated) `csrftoken`,
/// captured as `CSRF` for DRF's `X-CSRFToken`, and the session cookie.
const LOGIN: &str = r#"
      - name: the login page sets the CSRF cookie
        http: { url: "${DJANGO}/accounts/login/" }
        expect: { status: 200, cookies: { csrftoken: { exists: true } } }
        capture: { FORM_CSRF: { cookie: csrftoken } }
      - name: log in
        http:
          method: POST
          url: "${DJANGO}/accounts/login/"
          form: { username: alice, password: alice-test-pw, csrfmiddlewaretoken: "${FORM_CSRF}" }
        expect:
          status: 302
          headers: { location: /api/me/ }
          cookies: { sessionid: { exists: true } }
        capture: { CSRF: { cookie: csrftoken }, SESSION: { cookie: sessionid } }
"#;

/// The gate "Authentication working end-to-end": [`LOGIN`], then an item
/// created through DRF with the CSRF header, its id captured as `ITEM`. A
/// test may add checks after it.
fn auth_gate() -> String {
    format!(
        r#"
  - id: auth
    title: Authentication working end-to-end
    checks:{LOGIN}
      - name: create an item (DRF checks the CSRF header)
        http:
          method: POST
          url: "${{DJANGO}}/api/items/"
          headers: {{ X-CSRFToken: "${{CSRF}}" }}
          json: {{ name: widget }}
        expect: {{ status: 201, json: {{ $.name: widget }} }}
        capture: {{ ITEM: $.id }}"#
    )
}

async fn run(gates: &str) -> Run {
    let django = support::django();
    let body = format!("gates:\n{gates}");
    // The contract drf-spectacular wrote for the app.
    let contract = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/django/openapi.yaml"))
        .expect("fixtures/django/openapi.yaml");
    let files = [("openapi.yaml", contract.as_str())];
    Run { gates: support::run(&body, Setup { vars: &[("DJANGO", &django)], files: &files, ..Setup::default() }).await }
}

#[tokio::test]
async fn session_login_with_csrf_then_the_api_and_its_p95_behind_the_session() {
    let run = run(&format!(
        r#"{}
      - name: the session is alice's
        http: {{ url: "${{DJANGO}}/api/me/" }}
        expect: {{ status: 200, json: {{ $.username: alice }} }}
      - name: read it back
        http: {{ url: "${{DJANGO}}/api/items/${{ITEM}}/" }}
        expect: {{ status: 200, json: {{ $.name: widget }} }}
  - id: p95
    title: P95 response time < 200ms
    needs: [auth]
    checks:
      - name: the items page behind the session
        latency: {{ url: "${{DJANGO}}/api/items/", requests: 30, concurrency: 3 }}
  - id: anonymous
    title: the same page without the session
    needs: [auth]
    checks:
      - name: no cookies
        latency: {{ url: "${{DJANGO}}/api/items/", requests: 5, concurrency: 1, cookies: false }}
  - id: page-p95
    title: a @login_required page, logged in
    needs: [auth]
    checks:
      - name: profile
        latency: {{ url: "${{DJANGO}}/profile/", requests: 10, concurrency: 2 }}
  - id: page-anonymous
    title: the same page without the session
    checks:
      - name: profile
        latency: {{ url: "${{DJANGO}}/profile/", requests: 5, concurrency: 1 }}
"#,
        auth_gate()
    ))
    .await;
    let auth = run.gate("auth");
    assert_eq!(auth.status, Status::Passed, "{auth:#?}");
    let p95 = run.gate("p95");
    assert_eq!(p95.status, Status::Passed, "{p95:#?}");
    let m = p95.checks[0].metrics.as_ref().unwrap();
    assert_eq!((m["requests"].as_u64(), m["errors"].as_u64()), (Some(30), Some(0)), "{m}");
    // Without the session DRF refuses every request: the cookies were what made p95 pass.
    run.ended("anonymous", Status::Failed, "403");
    // A page behind @login_required answers a request without the session with
    // a quick 302 to the login page: that is not the page, and no P95 of it passes.
    assert_eq!(run.gate("page-p95").status, Status::Passed, "{:#?}", run.gate("page-p95"));
    run.ended(
        "page-anonymous",
        Status::Failed,
        "profile: all 5 requests failed: HTTP 302 Found → /accounts/login/?next=/profile/ (a redirect, not the page",
    );
}

#[tokio::test]
async fn a_refusal_names_the_cause_in_the_servers_words() {
    let run = run(&format!(
        r#"
  - id: login
    title: log in
    checks:{LOGIN}
  - id: stale-csrf
    title: the token from before the login
    needs: [login]
    checks:
      - name: create an item
        http:
          method: POST
          url: "${{DJANGO}}/api/items/"
          headers: {{ X-CSRFToken: "${{FORM_CSRF}}" }}
          json: {{ name: widget }}
        expect: {{ status: 201 }}
  - id: invalid
    title: an item without its name
    needs: [login]
    checks:
      - name: create an item
        http:
          method: POST
          url: "${{DJANGO}}/api/items/"
          headers: {{ X-CSRFToken: "${{CSRF}}" }}
          json: {{}}
        expect: {{ status: 201 }}
  - id: anonymous
    title: the API without a session
    checks:
      - name: who am I
        http: {{ url: "${{DJANGO}}/api/me/" }}
        expect: {{ status: 200 }}
  - id: login-required
    title: a page behind @login_required, with the default expectation (a 2xx)
    checks:
      - name: profile
        http: {{ url: "${{DJANGO}}/profile/" }}
  - id: no-slash
    title: a URL without the trailing slash Django appends
    checks:
      - name: health
        http: {{ url: "${{DJANGO}}/health" }}
  - id: redirect-expected
    title: the redirect is what the check expects
    checks:
      - name: profile
        http: {{ url: "${{DJANGO}}/profile/" }}
        expect: {{ status: 302, headers: {{ location: /accounts/login/?next=/profile/ }} }}
  - id: missing
    title: a page that does not exist
    checks:
      - name: nope
        http: {{ url: "${{DJANGO}}/nope/" }}
"#
    ))
    .await;
    assert_eq!(run.gate("login").status, Status::Passed, "{:#?}", run.gate("login"));
    // Django rotates the CSRF token at login: the form's token is no longer the one.
    run.ended(
        "stale-csrf",
        Status::Failed,
        "create an item: status: expected 201, got 403 — the server said \
         \"CSRF Failed: CSRF token from the 'X-Csrftoken' HTTP header incorrect.\"",
    );
    run.ended(
        "invalid",
        Status::Failed,
        "status: expected 201, got 400 — the server said \"name: This field is required.\"",
    );
    run.ended(
        "anonymous",
        Status::Failed,
        "status: expected 200, got 403 — the server said \"Authentication credentials were not provided.\"",
    );
    // A redirect is not a pass unless the check expects it: the page never ran.
    run.ended(
        "login-required",
        Status::Failed,
        "status: expected < 300, got 302 — redirected to /accounts/login/?next=/profile/",
    );
    run.ended("no-slash", Status::Failed, "status: expected < 300, got 301 — redirected to /health/");
    assert_eq!(run.gate("redirect-expected").status, Status::Passed, "{:#?}", run.gate("redirect-expected"));
    // Django's 404 page (DEBUG off) only restates the status: nothing is added.
    let missing = run.ended("missing", Status::Failed, "nope: status: expected < 300, got 404");
    assert_eq!(missing.reason.as_deref(), Some("nope: status: expected < 300, got 404"));
}

/// "API contract finalised" on a DRF API behind the session: the contract
/// (drf-spectacular's, `cookieAuth`: an `apiKey` in the cookie `sessionid`)
/// is checked with the gate's cookies, so every operation — the unsafe ones
/// with the CSRF header DRF wants — is answered and validated. Without the
/// gate's cookies, the session given as `api_key` reaches the safe operations
/// only: DRF refuses the others (no `csrftoken` cookie), the undeclared 403 is
/// accepted as FastAPI's and DRF's routes need, and each says why.
#[tokio::test]
async fn a_drf_contract_behind_the_session_is_validated_operation_by_operation() {
    let run = run(&format!(
        r#"{}
  - id: contract
    title: API contract finalised
    needs: [auth]
    checks:
      - name: every operation
        openapi:
          spec: openapi.yaml
          base_url: "${{DJANGO}}"
          cookies: true
          headers: {{ X-CSRFToken: "${{CSRF}}" }}
          params: {{ id: "${{ITEM}}" }}
          requests:
            items_create: {{ status: 201 }}
            items_destroy: {{ status: 204 }}
  - id: both
    title: the gate's cookies and the session as an api_key, in one Cookie header
    needs: [auth]
    checks:
      - name: create
        openapi:
          spec: openapi.yaml
          base_url: "${{DJANGO}}"
          cookies: true
          auth: {{ api_key: "${{SESSION}}" }}
          headers: {{ X-CSRFToken: "${{CSRF}}" }}
          operations: [items_create]
  - id: without-cookies
    title: the same contract, the session as an api_key only
    needs: [auth]
    checks:
      - name: every operation
        openapi:
          spec: openapi.yaml
          base_url: "${{DJANGO}}"
          auth: {{ api_key: "${{SESSION}}" }}
          headers: {{ X-CSRFToken: "${{CSRF}}" }}
          params: {{ id: "${{ITEM}}" }}
          methods: [POST, GET]
"#,
        auth_gate()
    ))
    .await;
    let contract = run.gate("contract");
    assert_eq!(contract.status, Status::Passed, "{contract:#?}");
    let cases = &contract.checks[0].cases;
    assert_eq!(cases.len(), 7, "{cases:#?}");
    for case in cases {
        assert_eq!((case.status, case.message.as_deref()), (Status::Passed, None), "answered and validated: {case:#?}");
    }
    let both = run.gate("both");
    let create = &both.checks[0].cases[0];
    assert_eq!((create.status, create.message.as_deref()), (Status::Passed, None), "{both:#?}");
    let evidence = create.evidence.as_deref().unwrap();
    assert_eq!(evidence.matches("\ncookie: ").count(), 1, "one Cookie header: {evidence}");
    let without = run.gate("without-cookies");
    assert_eq!(without.status, Status::Passed, "{without:#?}");
    let create = without.checks[0].cases.iter().find(|c| c.name.contains("items_create")).unwrap();
    assert_eq!(
        create.message.as_deref(),
        Some(
            "undeclared 403, accepted (undeclared_status: client-errors) — \
             the server said \"CSRF Failed: CSRF cookie not set.\""
        ),
        "{create:#?}"
    );
    let list = without.checks[0].cases.iter().find(|c| c.name.contains("items_list")).unwrap();
    assert_eq!(list.message, None, "the session as api_key reaches the safe operations: {list:#?}");
}

/// The gate "Database migrations executed" on a Django project: `manage.py
/// migrate --check` exits 1 when a migration is not applied and prints
/// nothing, so the reason says what the exit means; with `--plan` it names
/// the migrations. Once migrated, the same check passes.
#[tokio::test]
async fn a_migrations_gate_says_what_is_not_applied() {
    let python = support::django_python();
    let app = concat!(env!("CARGO_MANIFEST_DIR"), "/../../fixtures/django");
    let dbs = tempfile::tempdir().unwrap();
    let (empty, migrated) = (dbs.path().join("empty.sqlite3"), dbs.path().join("migrated.sqlite3"));
    let manage = |db: &std::path::Path, args: &str| {
        format!(
            r#"command: {{ argv: ["${{PY}}", manage.py, {args}], cwd: "{app}", env: {{ DJANGO_DB: "{}" }} }}"#,
            db.display()
        )
    };
    let gates = format!(
        r"gates:
  - id: check
    title: Database migrations executed
    checks:
      - name: nothing left to apply
        {}
  - id: plan
    title: Database migrations executed, named
    checks:
      - name: nothing left to apply
        {}
  - id: migrated
    title: Database migrations executed, after migrate
    checks:
      - name: migrate
        {}
      - name: nothing left to apply
        {}
",
        manage(&empty, "migrate, --check"),
        manage(&empty, "migrate, --check, --plan"),
        manage(&migrated, "migrate, --noinput"),
        manage(&migrated, "migrate, --check"),
    );
    let run = Run { gates: support::run(&gates, Setup { vars: &[("PY", &python)], ..Setup::default() }).await };
    run.ended(
        "check",
        Status::Failed,
        "exit_code: expected 0, got 1 — a migration is not applied (Django's `migrate --check` says no more; `--plan` names them)",
    );
    run.ended(
        "plan",
        Status::Failed,
        "exit_code: expected 0, got 1 — 16 unapplied migrations: contenttypes.0001_initial … shop.0001_initial",
    );
    assert_eq!(run.gate("migrated").status, Status::Passed, "{:#?}", run.gate("migrated"));
}

/// A project that serves its schema to a session only (a drf-spectacular
/// view behind `IsAuthenticated`): the gate's session goes with the fetch of
/// the contract, for `contract-diff` and for `openapi` with `cookies: true`;
/// `cookies: false`, and a gate without a login, get the 403.
#[tokio::test]
async fn a_contract_served_to_the_session_only() {
    let run = run(&format!(
        r#"{}
  - id: breaking
    title: API breaking changes = 0
    needs: [auth]
    checks:
      - name: the served contract is the committed one
        contract-diff: {{ base: openapi.yaml, live: "${{DJANGO}}/api/schema/" }}
      - name: every operation, the contract as served
        openapi:
          spec: "${{DJANGO}}/api/schema/"
          base_url: "${{DJANGO}}"
          cookies: true
          headers: {{ X-CSRFToken: "${{CSRF}}" }}
          params: {{ id: "${{ITEM}}" }}
          methods: [GET]
  - id: not-sent
    title: the session not sent
    needs: [auth]
    checks:
      - name: the served contract
        contract-diff: {{ base: openapi.yaml, live: "${{DJANGO}}/api/schema/", cookies: false }}
  - id: anonymous
    title: no login
    checks:
      - name: the served contract
        contract-diff: {{ base: openapi.yaml, live: "${{DJANGO}}/api/schema/" }}
"#,
        auth_gate()
    ))
    .await;
    let breaking = run.gate("breaking");
    assert_eq!(breaking.status, Status::Passed, "{breaking:#?}");
    let diff = &breaking.checks[0];
    let evidence = diff.evidence.as_deref().unwrap_or_default();
    assert!(evidence.contains("/api/schema/ (OpenAPI 3.0, "), "the served contract was read: {evidence}");
    for id in ["not-sent", "anonymous"] {
        run.ended(id, Status::Failed, "live contract http://127.0.0.1");
        run.ended(id, Status::Failed, "/api/schema/: HTTP 403 Forbidden");
    }
}
