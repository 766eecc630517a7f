//! `checkpoint contract diff OLD NEW` as a user runs it: the printed list and
//! its exit code (0 no breaking change, 1 some, 2 unreadable input), JSON for
//! machines, files and URLs (a spec served in-process, split over two
//! documents, one behind a token). The pairs come from the differ's corpus
//! (`crates/checkpoint-contract/tests/diff`).

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use serde_json::Value;

fn checkpoint() -> Command {
    let mut c = Command::cargo_bin("checkpoint").expect("binary");
    c.env_remove("CHECKPOINT_DIR").env("NO_COLOR", "1").env("CI", "true");
    c.env_remove("GITHUB_ACTIONS").env_remove("GITHUB_STEP_SUMMARY");
    c
}

fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../checkpoint-contract/tests/diff").join(case)
}

fn diff(args: &[&str], cwd: &Path) -> Output {
    checkpoint().current_dir(cwd).args(["contract", "diff"]).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn no_change_exits_0() {
    let o = diff(&["old.yaml", "new.json"], &corpus("identical"));
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "no changes\n");
    // Only descriptions and examples differ: nothing to report either.
    let o = diff(&["old.yaml", "new.yaml"], &corpus("descriptions-only"));
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), "no changes\n"));
}

#[test]
fn non_breaking_changes_only_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    let spec = |extra: &str| {
        format!(
            "openapi: 3.1.0\ninfo: {{ title: t, version: '1' }}\npaths:\n  /a:\n    get: {{ responses: {{ '200': {{ description: ok }} }} }}\n{extra}"
        )
    };
    std::fs::write(dir.path().join("old.yaml"), spec("")).unwrap();
    std::fs::write(
        dir.path().join("new.yaml"),
        spec("  /b:\n    get: { responses: { '200': { description: ok } } }\n"),
    )
    .unwrap();
    let o = diff(&["old.yaml", "new.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "Non-breaking changes (1):\n  /b\n    path `/b` added  [path-added]\n\n0 breaking changes, 1 non-breaking\n"
    );
}

#[test]
fn breaking_changes_exit_1_and_come_first() {
    let o = diff(&["old.yaml", "new.yaml"], &corpus("response-properties"));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    insta::assert_snapshot!("response_properties", stdout(&o));
    let o = diff(&["old.yaml", "new.yaml"], &corpus("paths-and-operations"));
    assert_eq!(o.status.code(), Some(1));
    insta::assert_snapshot!("paths_and_operations", stdout(&o));
}

#[test]
fn breaking_only_hides_the_rest_but_counts_it() {
    let o = diff(&["old.yaml", "new.yaml", "--breaking-only"], &corpus("paths-and-operations"));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    assert!(!out.contains("Non-breaking"), "{out}");
    assert!(out.ends_with("\n2 breaking changes, 4 non-breaking (not shown)\n"), "{out}");
}

#[test]
fn json_for_machines() {
    let o = diff(&["old.yaml", "new.yaml", "--format", "json"], &corpus("response-properties"));
    assert_eq!(o.status.code(), Some(1));
    let doc: Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    assert_eq!(doc["old"], "old.yaml");
    assert_eq!(doc["breaking"], 3);
    assert_eq!(doc["may_break"], 1);
    assert_eq!(doc["non_breaking"], 3);
    assert_eq!(
        doc["changes"][0],
        serde_json::json!({
            "breaking": true,
            "level": "breaking",
            "rule": "response-property-removed",
            "operation": "GET /items/{id}",
            "path": "/items/{id}",
            "location": "response 200 body /created_at",
            "message": "response 200 property `created_at` removed"
        })
    );
    let o = diff(&["old.yaml", "new.yaml", "--format", "json", "--breaking-only"], &corpus("response-properties"));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(doc["changes"].as_array().unwrap().len(), 4, "breaking and may-break");
    assert_eq!(doc["non_breaking"], 3, "still counted");
}

#[test]
fn fail_on_may_break_fails_on_changes_that_may_break() {
    // `tags[].label` was optional: its removal may break, nothing else in the case does.
    let dir = corpus("response-properties");
    let only_optional = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let old = std::fs::read_to_string(dir.join("old.yaml")).unwrap();
    std::fs::write(only_optional.path().join("old.yaml"), &old).unwrap();
    // The new contract with only the optional property gone.
    let trimmed = old.replacen("properties: { label: { type: string } }", "properties: {}", 1);
    assert_ne!(trimmed, old, "the case declares tags[].label");
    std::fs::write(only_optional.path().join("new.yaml"), &trimmed).unwrap();
    let o = diff(&["old.yaml", "new.yaml"], only_optional.path());
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("[response-optional-property-removed]"), "{}", stdout(&o));
    let o = diff(&["old.yaml", "new.yaml", "--fail-on", "may-break"], only_optional.path());
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}

#[test]
fn unreadable_input_exits_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = corpus("identical").join("old.yaml");
    let good = good.to_str().unwrap();

    let o = diff(&["missing.yaml", good], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "error: cannot load OLD contract: missing.yaml: no such file\n  = help: a contract is a file (YAML or JSON) or an http(s) URL\n"
    );

    std::fs::write(dir.path().join("broken.yaml"), "openapi: 3.1.0\ninfo: { title: t }\npaths: [\n").unwrap();
    let o = diff(&[good, "broken.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    insta::assert_snapshot!("yaml_error", stderr(&o));

    std::fs::write(dir.path().join("broken.json"), "{\"openapi\": \"3.1.0\",\n  \"paths\": {\"/a\": }\n}").unwrap();
    let o = diff(&["broken.json", good], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("--> broken.json:2:19"), "{err}");
    assert!(err.contains("2 |   \"paths\": {\"/a\": }"), "{err}");

    std::fs::write(dir.path().join("swagger.json"), "{\"swagger\": \"2.0\", \"paths\": {}}").unwrap();
    let o = diff(&["swagger.json", "swagger.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("error: cannot load OLD contract: swagger.json: this is a Swagger 2.0 document"), "{err}");
    assert!(err.contains("error: cannot load NEW contract: swagger.json:"), "both sides are reported: {err}");

    let o = diff(&[good, "http://127.0.0.1:9/openapi.json"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).starts_with("error: cannot load NEW contract: http://127.0.0.1:9/openapi.json: "),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_broken_ref_is_reported_with_the_file_that_names_it() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("api.yaml"),
        "openapi: 3.1.0\ninfo: { title: t, version: '1' }\npaths:\n  /a:\n    $ref: paths.yaml#/a\n",
    )
    .unwrap();
    let o = diff(&["api.yaml", "api.yaml"], dir.path());
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("api.yaml: `$ref: paths.yaml#/a`: paths.yaml: no such file"), "{err}");
}

/// A spec split over two documents, and the same one behind a token.
fn server() -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let root = std::fs::read_to_string(corpus("ref-across-files").join("new.yaml")).unwrap();
            let paths = std::fs::read_to_string(corpus("ref-across-files").join("common/new-paths.yaml")).unwrap();
            let schemas = std::fs::read_to_string(corpus("ref-across-files").join("common/new-schemas.yaml")).unwrap();
            let private = root.clone();
            let app = axum::Router::new()
                .route("/api/openapi.yaml", axum::routing::get(move || async move { root }))
                .route("/api/common/new-paths.yaml", axum::routing::get(move || async move { paths }))
                .route("/api/common/new-schemas.yaml", axum::routing::get(move || async move { schemas }))
                .route(
                    "/private/openapi.yaml",
                    axum::routing::get(move |h: axum::http::HeaderMap| async move {
                        match h.get("x-api-key").and_then(|v| v.to_str().ok()) {
                            Some("k-123") => Ok(private),
                            _ => Err(axum::http::StatusCode::FORBIDDEN),
                        }
                    }),
                );
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}

#[test]
fn new_from_a_url_with_its_refs_fetched_too() {
    let api = server();
    let cwd = corpus("ref-across-files");
    let from_files = diff(&["old.yaml", "new.yaml"], &cwd);
    let from_url = diff(&["old.yaml", &format!("{api}/api/openapi.yaml")], &cwd);
    assert_eq!(from_url.status.code(), Some(1), "{}", stderr(&from_url));
    assert_eq!(stdout(&from_url), stdout(&from_files), "a URL and its files give the same list");
    assert!(stdout(&from_url).contains("response 200 property `created_at` removed"));

    let o = diff(&["old.yaml", &format!("{api}/private/openapi.yaml")], &cwd);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("/private/openapi.yaml: HTTP 403 Forbidden"), "{}", stderr(&o));
}

#[test]
fn help_explains_the_rules_and_exit_codes() {
    let o = checkpoint().args(["contract", "diff", "--help"]).output().unwrap();
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0));
    for needle in ["A change is breaking when", "Exit codes:", "1  at least one breaking change", "docs/contract.md"] {
        assert!(out.contains(needle), "{needle}: {out}");
    }
}
