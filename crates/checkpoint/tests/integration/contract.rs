//! `checkpoint contract diff OLD NEW` as a user runs it: the printed list and
//! its exit code (0 no breaking change, 1 some, 2 unreadable input), JSON for
//! machines, files and URLs (a spec served in-process, split over two
//! documents, one behind a token). The pairs come from the differ's corpus
//! (`crates/checkpoint-contract/tests/diff`).

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support;
use crate::support::{checkpoint, stderr, stdout};
use serde_json::Value;

fn corpus(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../checkpoint-contract/tests/diff").join(case)
}

fn diff(args: &[&str], cwd: &Path) -> Output {
    checkpoint().current_dir(cwd).args(["contract", "diff"]).args(args).output().unwrap()
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
            "message": "response 200 property `created_at` removed",
            // Pinned: a fingerprint must not change between versions, or ignore files break.
            "fingerprint": "1d72a1a64f6aa826",
            "pointer": "/paths/~1items~1{id}/get/responses/200",
            "in_new": false,
            "file": "old.yaml",
            "line": 7
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
    support::serve(app)
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

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(o)))
}

fn fingerprints(doc: &Value, key: &str) -> Vec<String> {
    doc[key].as_array().unwrap().iter().map(|c| c["fingerprint"].as_str().unwrap().to_string()).collect()
}

#[test]
fn fingerprints_are_the_same_across_runs_and_working_directories() {
    let case = corpus("response-properties");
    let a = json_of(&diff(&["old.yaml", "new.yaml", "--format", "json"], &case));
    let (old, new) = (case.join("old.yaml"), case.join("new.yaml"));
    let elsewhere = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let b = json_of(&diff(&[old.to_str().unwrap(), new.to_str().unwrap(), "--format", "json"], elsewhere.path()));
    let (fa, fb) = (fingerprints(&a, "changes"), fingerprints(&b, "changes"));
    assert_eq!(fa, fb);
    let mut unique = fa.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), fa.len(), "one fingerprint per change: {fa:?}");
    assert!(fa.iter().all(|f| f.len() == 16 && f.bytes().all(|b| b.is_ascii_hexdigit())), "{fa:?}");
}

#[test]
fn an_ignore_entry_silences_exactly_its_change_until_its_expiry() {
    let case = corpus("response-properties");
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    for f in ["old.yaml", "new.yaml"] {
        std::fs::copy(case.join(f), dir.path().join(f)).unwrap();
    }
    let all = json_of(&diff(&["old.yaml", "new.yaml", "--format", "json"], dir.path()));
    let breaking: Vec<&Value> = all["changes"].as_array().unwrap().iter().filter(|c| c["breaking"] == true).collect();
    assert_eq!(breaking.len(), 3);
    let entry = |c: &Value, expires: &str| {
        format!(
            "- fingerprint: {}\n  reason: accepted in the test\n  expires: {expires}\n",
            c["fingerprint"].as_str().unwrap()
        )
    };
    let ignore = dir.path().join("ignore.yaml");
    let run = || diff(&["old.yaml", "new.yaml", "--format", "json", "--ignore", "ignore.yaml"], dir.path());

    // Two of three breaking changes ignored: the third still fails, and only the two are gone.
    std::fs::write(&ignore, entry(breaking[0], "2999-12-31") + &entry(breaking[1], "2999-12-31")).unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc = json_of(&o);
    assert_eq!(
        fingerprints(&doc, "ignored"),
        [&breaking[0]["fingerprint"], &breaking[1]["fingerprint"]].map(|f| f.as_str().unwrap().to_string())
    );
    let left = fingerprints(&doc, "changes");
    assert_eq!(left.len(), all["changes"].as_array().unwrap().len() - 2);
    assert!(left.contains(&breaking[2]["fingerprint"].as_str().unwrap().to_string()));

    // All three ignored: exit 0.
    std::fs::write(&ignore, breaking.iter().map(|c| entry(c, "2999-12-31")).collect::<String>()).unwrap();
    assert_eq!(run().status.code(), Some(0), "{}", stdout(&run()));

    // One entry past its date: its change counts again, and is named as expired.
    let text = entry(breaking[0], "2000-01-01") + &entry(breaking[1], "2999-12-31") + &entry(breaking[2], "2999-12-31");
    std::fs::write(&ignore, text).unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
    let doc = json_of(&o);
    assert_eq!(doc["expired"], serde_json::json!([breaking[0]["fingerprint"]]));
    assert_eq!(doc["breaking"], 1);

    // A broken entry is a usage error that names the file, the entry and the fix.
    std::fs::write(&ignore, "- fingerprint: nope\n  reason: x\n").unwrap();
    let o = run();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ignore.yaml: entry 1: fingerprint `nope` is not 16 hex digits"), "{err}");
}

#[test]
fn github_annotations_name_the_file_and_line() {
    let o = diff(&["old.yaml", "new.yaml", "--format", "github"], &corpus("response-properties"));
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let old = std::fs::read_to_string(corpus("response-properties").join("old.yaml")).unwrap();
    let want_line = old
        .lines()
        .position(|l| {
            l.trim_start().starts_with("\"200\":")
                || l.trim_start().starts_with("'200':")
                || l.trim_start().starts_with("200:")
        })
        .unwrap()
        + 1;
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(&format!("::error file=old.yaml,line={want_line},title=breaking response-property-removed::GET /items/{{id}}: response 200 property `created_at` removed")),
        "{out}"
    );
    assert!(out.contains("::warning file=old.yaml"), "may-break changes are warnings: {out}");
}

#[test]
fn junit_for_ci_readers_is_valid_against_the_schema() {
    let o = diff(&["old.yaml", "new.yaml", "--format", "junit"], &corpus("response-properties"));
    assert_eq!(o.status.code(), Some(1));
    let xml = stdout(&o);
    // One testcase per change, a failure per breaking one (3 breaking of 7).
    assert!(xml.contains(r#"<testsuites name="contract diff" tests="7" failures="3">"#), "{xml}");
    // The change is the testcase name, as a CI view lists it.
    assert!(xml.contains("name=\"GET /items/{id}: response 200 property `created_at` removed\""), "{xml}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("contract.xml");
    std::fs::write(&file, &xml).unwrap();
    let xsd = format!("{}/../../../shared/schemas/junit-10.xsd", env!("CARGO_MANIFEST_DIR"));
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", &xsd])
        .arg(&file)
        .output()
        .expect("xmllint (libxml2-utils) is needed: scripts/provision.sh installs it");
    assert!(lint.status.success(), "{}\n{xml}", String::from_utf8_lossy(&lint.stderr));
}
