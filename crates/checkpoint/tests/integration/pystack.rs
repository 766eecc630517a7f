//! End to end on the Python reference stack (`fixtures/pystack`: FastAPI on uvicorn,
//! SQLAlchemy + Alembic, Celery on Redis) with a real Docker engine: the healthy stack
//! passes checkpoint 1, and each broken variant under `fixtures/pystack/broken/` turns
//! exactly its gates red, with the cause (the service and its state) in the reason of the
//! first red gate. A broken stack never passes, a healthy one never fails, and a red gate
//! names the cause.
//!
//! Needs the images `fixtures/pystack/build.sh` builds (`scripts/test.sh` runs it). Every
//! test runs under both compose generations (`v1::…`, `v2::…`).

use std::collections::BTreeSet;

use checkpoint_model::result::{RunReport, Status};

use crate::compose_support;
use compose_support::{Outcome, ids, repo, set, under_both_tools};

const CHECKPOINTS: &str = "fixtures/pystack/checkpoints";

under_both_tools!(
    pystack_healthy_stack_passes_checkpoint_1,
    pystack_variant_worker_never_started,
    pystack_variant_worker_dies,
    pystack_variant_migration_fails,
    pystack_variant_api_wrong_db_url,
    pystack_variant_redis_unreachable_from_worker,
    pystack_variant_app_crashed_server_alive,
    pystack_a_500_names_the_exception_the_api_logged,
    pystack_json_logs_name_the_exception_too
);

/// A route that raises answers FastAPI's bare `Internal Server Error`; the
/// traceback is in the api's log. The red check's reason quotes its exception
/// (from the log of its own time). A check that got an answer and failed for
/// another reason quotes nothing, though tracebacks were logged around it (its
/// own gate's 500 before it, the other gate's at the same moment). Nor does a
/// 500 the app answered without a traceback, while two other requests' are
/// logged during its wait: uvicorn ties each to its request. Through the nginx
/// in front of it (`fixtures/pystack/proxy/`), a 500 quotes the api's
/// traceback for that request, though the check spoke to the proxy — also
/// where nginx strips the path's `/v1` prefix before passing it on. Under
/// both compose generations: the proxy is an override whose bind mount each
/// resolves itself (the logs come from the engine). The failing requests are
/// answered 100 ms or more apart (0, 0.1 s; the contract's `boom` 0.2 s after
/// it fetched the spec, ~0.24 s; 0.4, 0.55 s; the contract's `fail` 0.35 s
/// after its `boom`, ~0.6 s; 0.8 s): a traceback with two failed requests
/// within 60 ms of it is nobody's, and quoted for neither
/// (`model::logged::requests`).
fn pystack_a_500_names_the_exception_the_api_logged() {
    let project = unique("logged");
    let compose = repo().join("fixtures/pystack/docker-compose.yml");
    let proxy = repo().join("fixtures/pystack/proxy/compose.yml");
    let plan = format!(
        r#"checkpoint: 1
title: what the api logged
stack:
  compose: ["{}", "{}"]
  services: [api, proxy]
  ready_timeout: 180s
vars:
  API: "http://${{service.api.8000}}"
  PROXY: "http://${{service.proxy.80}}"
gates:
  - id: boom
    title: an unhandled error
    checks:
      - name: GET /debug/boom
        http: {{ url: "${{API}}/debug/boom" }}
        expect: {{ status: 200 }}
  - id: proxied
    title: an unhandled error behind the proxy
    checks:
      - name: GET /debug/boom through nginx
        http: {{ url: "${{PROXY}}/debug/boom?after=0.1" }}
        expect: {{ status: 200 }}
  - id: rewritten
    title: an unhandled error behind the proxy, which strips the path's prefix
    checks:
      - name: GET /v1/debug/boom through nginx
        http: {{ url: "${{PROXY}}/v1/debug/boom?after=0.8" }}
        expect: {{ status: 200 }}
  - id: contract
    title: the failing routes against the app's OpenAPI
    checks:
      - name: GET /debug/boom and GET /debug/fail
        openapi:
          spec: "${{API}}/openapi.json"
          base_url: "${{API}}"
          paths: ["/debug/boom", "/debug/fail"]
          requests:
            "GET /debug/boom": {{ params: {{ after: 0.2 }} }}
            "GET /debug/fail": {{ params: {{ after: 0.35 }} }}
  - id: handled
    title: a 500 with no traceback of its own
    checks:
      - name: GET /debug/fail
        http: {{ url: "${{API}}/debug/fail?after=0.55" }}
        expect: {{ status: 200 }}
  - id: after
    title: a failure of its own after a traceback
    checks:
      - name: the route raises, a moment later (expected)
        http: {{ url: "${{API}}/debug/boom?after=0.4" }}
        expect: {{ status: 500 }}
      - name: liveness, with the wrong status expected
        http: {{ url: "${{API}}/health" }}
        expect: {{ status: 201 }}
"#,
        compose.display(),
        proxy.display()
    );
    let images = compose_support::images_env("pystack-images.env", "fixtures/pystack/build.sh");
    let o = compose_support::run_plan(&project, &plan, &images);
    assert_eq!(o.code, Some(1), "{}", o.console);
    assert!(
        o.reason("boom").contains("status: expected 200, got 500")
            && o.reason("boom").contains("`api` logged \"RuntimeError: boom: a deliberate unhandled error\""),
        "the reason quotes its own exception, not the one logged 0.4 s later: {}",
        o.reason("boom")
    );
    assert!(
        o.reason("proxied").contains("`api` logged \"RuntimeError: boom: a deliberate unhandled error after 0.1s\""),
        "the app behind the proxy names the cause: {}",
        o.reason("proxied")
    );
    assert!(
        o.reason("rewritten").contains("`api` logged \"RuntimeError: boom: a deliberate unhandled error after 0.8s\""),
        "the app logged /debug/boom for the /v1/debug/boom sent: {}",
        o.reason("rewritten")
    );
    let proxied = &o.gate("proxied").checks[0];
    assert_eq!(proxied.service.as_deref(), Some("api"), "the evidence is the api's log");
    assert!(proxied.logs.as_deref().is_some_and(|l| l.contains("RuntimeError: boom")), "{:?}", proxied.logs);
    // The evidence behind each quote is its own request's traceback, from the access line on.
    for (id, sent, error) in [
        ("boom", "GET /debug/boom HTTP/1.1\" 500", "RuntimeError: boom: a deliberate unhandled error"),
        (
            "proxied",
            "GET /debug/boom?after=0.1 HTTP/1.0\" 500",
            "RuntimeError: boom: a deliberate unhandled error after 0.1s",
        ),
    ] {
        let check = &o.gate(id).checks[0];
        let logged = check.logged.as_deref().unwrap_or_default();
        assert!(
            logged.lines().next().is_some_and(|l| l.contains(sent)) && logged.lines().last() == Some(error),
            "{id}: what the api logged for the request:\n{logged}"
        );
        assert_eq!(logged.matches(" HTTP/1.").count(), 1, "{id}: no other request's lines:\n{logged}");
    }
    // An `openapi` check calls many operations: each 500 quotes its own traceback.
    let contract = &o.gate("contract").checks[0];
    let case = |name: &str| {
        contract.cases.iter().find(|c| c.name.starts_with(name)).and_then(|c| c.message.clone()).unwrap_or_default()
    };
    assert!(
        case("GET /debug/boom")
            .contains("`api` logged \"RuntimeError: boom: a deliberate unhandled error after 0.2s\""),
        "{:?}: {}\n{}",
        case("GET /debug/boom"),
        contract.message.as_deref().unwrap_or_default(),
        contract.evidence.as_deref().unwrap_or_default()
    );
    assert!(
        case("GET /debug/fail").starts_with("500") && !case("GET /debug/fail").contains("logged"),
        "{}",
        case("GET /debug/fail")
    );
    assert!(o.reason("contract").contains("after 0.2s"), "the gate's reason quotes it too: {}", o.reason("contract"));
    assert!(
        contract.evidence.as_deref().is_some_and(|e| e.contains("after 0.2s")),
        "and the check's list of operations"
    );
    o.assert_red_unquoted("handled", "status: expected 200, got 500");
    assert!(o.reason("after").contains("expected 201, got 200"), "{}", o.console);
    assert!(
        !o.reason("after").contains("RuntimeError"),
        "another check's traceback is not this one's cause: {}",
        o.reason("after")
    );
}

/// uvicorn logging JSON (`fixtures/pystack/json-logs/`: python-json-logger on
/// its loggers, as production deployments set it): the traceback is escaped in
/// the error record's `exc_info`. A 500 quotes its exception, not the record
/// as text, and its evidence shows the traceback as text; the 500 the app
/// answered itself, 300 ms later, quotes nothing (`model::logged::json`).
fn pystack_json_logs_name_the_exception_too() {
    let project = unique("json");
    let plan = format!(
        r#"checkpoint: 1
title: what the api logged, in JSON
stack:
  compose: ["{}", "{}"]
  services: [api]
  ready_timeout: 180s
vars:
  API: "http://${{service.api.8000}}"
gates:
  - id: boom
    title: an unhandled error
    checks:
      - name: GET /debug/boom
        http: {{ url: "${{API}}/debug/boom" }}
        expect: {{ status: 200 }}
  - id: handled
    title: a 500 with no traceback of its own
    checks:
      - name: GET /debug/fail
        http: {{ url: "${{API}}/debug/fail?after=0.3" }}
        expect: {{ status: 200 }}
"#,
        repo().join("fixtures/pystack/docker-compose.yml").display(),
        repo().join("fixtures/pystack/json-logs/compose.yml").display()
    );
    let images = compose_support::images_env("pystack-images.env", "fixtures/pystack/build.sh");
    let o = compose_support::run_plan(&project, &plan, &images);
    assert_eq!(o.code, Some(1), "{}", o.console);
    assert!(
        o.reason("boom").ends_with("— `api` logged \"RuntimeError: boom: a deliberate unhandled error\""),
        "the exception, not the JSON record: {}",
        o.reason("boom")
    );
    let logged = o.gate("boom").checks[0].logged.clone().unwrap_or_default();
    assert!(
        logged.lines().next().is_some_and(|l| l.contains(r#"\"GET /debug/boom HTTP/1.1\" 500"#))
            && logged.lines().any(|l| l.contains(r#""levelname": "ERROR""#) && l.contains(r#""exc_info": ""#))
            && logged.lines().any(|l| l.trim_start_matches([' ', '|']) == "Traceback (most recent call last):")
            && logged.lines().last() == Some("RuntimeError: boom: a deliberate unhandled error"),
        "its access line, its record and the traceback as text:\n{logged}"
    );
    o.assert_red_unquoted("handled", "status: expected 200, got 500");
}

fn unique(name: &str) -> String {
    compose_support::unique("pyst-test", name)
}

/// `checkpoint run 1 --dir <CHECKPOINTS> [-f fixtures/pystack/broken/<variant>.yml]`.
fn run(variant: Option<&str>) -> Outcome {
    let project = unique(variant.unwrap_or("healthy"));
    // Under target/: nothing of these runs goes to the system temp dir.
    let out_dir = repo().join("target/pystack-tests").join(&project);
    let images = compose_support::images_env("pystack-images.env", "fixtures/pystack/build.sh");
    let mut cmd = compose_support::checkpoint(&repo(), &images);
    cmd.args(["run", "1", "--dir", CHECKPOINTS, "-p", &project, "-o"]).arg(&out_dir);
    if let Some(v) = variant {
        cmd.args(["-f", &format!("fixtures/pystack/broken/{v}.yml")]);
    }
    let out = cmd.output().unwrap();
    let outcome = compose_support::run_results(&out, &out_dir, &project);
    let _ = std::fs::remove_dir_all(&out_dir);
    outcome
}

/// The first red gate in the report's order (the order the summary prints).
fn first_red(r: &RunReport) -> (&str, &str) {
    r.gates
        .iter()
        .find(|g| g.status.is_failure())
        .map_or(("", ""), |g| (g.id.as_str(), g.reason.as_deref().unwrap_or("")))
}

fn pystack_healthy_stack_passes_checkpoint_1() {
    let o = run(None);
    assert_eq!(o.code, Some(0), "a healthy stack must never fail\n{}", o.console);
    assert_eq!(ids(&o.report, |s| s != Status::Passed), BTreeSet::new(), "{}", o.console);
    let stack = o.report.stack.as_ref().expect("stack facts");
    for service in ["api", "worker"] {
        assert!(
            stack.services.iter().any(|s| s.name == service && s.health.as_deref() == Some("healthy")),
            "`{service}` must be healthy (its healthcheck: uvicorn /health, celery inspect ping): {stack:?}"
        );
    }
}

/// A broken variant: exactly `red` fails, and the first red gate is `first` with a reason
/// that contains every one of `causes` (the service and its state).
struct Variant {
    name: &'static str,
    red: &'static [&'static str],
    first: &'static str,
    causes: &'static [&'static str],
}

fn variant(v: &Variant) {
    let o = run(Some(v.name));
    assert!(!matches!(o.code, Some(0)), "a broken stack must never pass ({})\n{}", v.name, o.console);
    assert_eq!(ids(&o.report, Status::is_failure), set(v.red), "red gates of {}\n{}", v.name, o.console);
    let (gate, reason) = first_red(&o.report);
    assert_eq!(gate, v.first, "first red gate of {}\n{}", v.name, o.console);
    for cause in v.causes {
        assert!(
            reason.contains(cause),
            "{}: the reason of `{gate}` must name the cause ({cause}); it is `{reason}`",
            v.name
        );
    }
}

fn pystack_variant_worker_never_started() {
    variant(&Variant {
        name: "worker-never-started",
        red: &["stack-running", "celery", "networking"],
        first: "stack-running",
        causes: &["`worker`"],
    });
}

fn pystack_variant_worker_dies() {
    variant(&Variant {
        name: "worker-dies",
        red: &["stack-running", "celery"],
        first: "stack-running",
        causes: &["`worker`", "code 1"],
    });
}

fn pystack_variant_api_wrong_db_url() {
    variant(&Variant {
        name: "api-wrong-db-url",
        red: &["health-db", "api-endpoints", "auth"],
        first: "health-db",
        causes: &["database", "unhealthy"],
    });
}

fn pystack_variant_migration_fails() {
    variant(&Variant {
        name: "migration-fails",
        // Today's harness ends the run when `up` fails: every gate is an error.
        red: &[
            "stack-running",
            "postgres-ready",
            "redis-ready",
            "migrations",
            "health-db",
            "api-endpoints",
            "auth",
            "backend-db",
            "celery",
            "networking",
            "metrics",
            "contract",
        ],
        first: "stack-running",
        // The error Alembic logged, from the migrate container's log.
        causes: &["`migrate`", "code 1", "UndefinedColumn) column \"title\" does not exist"],
    });
}

fn pystack_variant_redis_unreachable_from_worker() {
    variant(&Variant {
        name: "redis-unreachable-from-worker",
        red: &["stack-running", "celery", "networking"],
        first: "stack-running",
        causes: &["`worker` is running but unhealthy"],
    });
}

fn pystack_variant_app_crashed_server_alive() {
    variant(&Variant {
        name: "app-crashed-server-alive",
        red: &["stack-running", "health-db", "api-endpoints", "auth", "celery", "metrics"],
        first: "stack-running",
        causes: &["`api` is running but unhealthy", "`api` logged \"RuntimeError: SECRET_KEY is not set"],
    });
}
