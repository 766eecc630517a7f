//! End to end on the Node reference stack (`fixtures/nodestack`: Express 4 and morgan as
//! Debian packages them) with a real Docker engine: a red gate names the error Express
//! logged for its own request, never another request's. Express logs a route's error as
//! its `err.stack` on stderr and morgan the request on stdout, a millisecond either side
//! (`model::logged::requests`).
//!
//! Needs the image `fixtures/nodestack/build.sh` builds (`scripts/test.sh` runs it). Under
//! both compose generations (`v1::…`, `v2::…`).

use checkpoint_model::result::Status;

use crate::compose_support;
use compose_support::{repo, under_both_tools};

under_both_tools!(nodestack_an_express_500_names_the_error_the_api_logged);

/// Three routes fail 200 ms apart in one run: a bug in a handler (`TypeError`, at
/// once), an error passed to `next()` (after 0.2 s) and a 500 the app answers itself
/// with nothing logged (after 0.4 s). Each of the first two quotes its own error with
/// its own stack as the evidence; the third quotes none, though both stacks are in the
/// api's log of its time (before, it quoted the last of them). morgan logs in its
/// `dev` format, colours and all, as express-generator's apps do.
fn nodestack_an_express_500_names_the_error_the_api_logged() {
    let project = compose_support::unique("node-test", "logged");
    let plan = format!(
        r#"checkpoint: 1
title: what the Express api logged
stack:
  compose: ["{}"]
  services: [api]
  ready_timeout: 120s
vars:
  API: "http://${{service.api.3000}}"
gates:
  - id: user
    title: a route with a bug
    checks:
      - name: GET /users/7
        http: {{ url: "${{API}}/users/7" }}
        expect: {{ status: 200 }}
  - id: boom
    title: an error passed to next()
    checks:
      - name: GET /debug/boom
        http: {{ url: "${{API}}/debug/boom?after=0.2" }}
        expect: {{ status: 200 }}
  - id: handled
    title: a 500 the app answered itself
    checks:
      - name: GET /debug/fail
        http: {{ url: "${{API}}/debug/fail?after=0.4" }}
        expect: {{ status: 200 }}
  - id: live
    title: liveness
    checks:
      - name: GET /health
        http: {{ url: "${{API}}/health" }}
        expect: {{ status: 200 }}
"#,
        repo().join("fixtures/nodestack/docker-compose.yml").display()
    );
    let images = compose_support::images_env("nodestack-images.env", "fixtures/nodestack/build.sh");
    let o = compose_support::run_plan(&project, &plan, &images);
    assert_eq!(o.code, Some(1), "{}", o.console);
    assert_eq!(o.gate("live").status, Status::Passed, "{}", o.console);
    assert!(
        o.reason("user").contains("status: expected 200, got 500")
            && o.reason("user")
                .contains("`api` logged \"TypeError: Cannot read properties of undefined (reading 'name')\""),
        "the handler's bug, not the error logged 0.2 s later: {}",
        o.reason("user")
    );
    assert!(
        o.reason("boom").contains("`api` logged \"Error: boom: a deliberate unhandled error after 0.2s\""),
        "{}",
        o.reason("boom")
    );
    o.assert_red_unquoted("handled", "status: expected 200, got 500");
    // The evidence behind each quote: its own request's line and its whole stack.
    for (id, sent, error, frames) in [
        ("user", "GET /users/7 500", "TypeError: Cannot read properties of undefined (reading 'name')", 10),
        ("boom", "GET /debug/boom?after=0.2 500", "Error: boom: a deliberate unhandled error after 0.2s", 1),
    ] {
        let logged = o.gate(id).checks[0].logged.clone().unwrap_or_default();
        assert!(logged.contains(sent) && logged.contains(error), "{id}: what the api logged for it:\n{logged}");
        assert_eq!(logged.matches(" 500 ").count(), 1, "{id}: no other request's line:\n{logged}");
        assert_eq!(logged.lines().filter(|l| l.starts_with("    at ")).count(), frames, "{id}:\n{logged}");
    }
}
