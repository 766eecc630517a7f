//! The binary as a user runs it: exit codes, diagnostics, reports on disk,
//! secrets kept out of every output. Against a real HTTP server (in-process
//! axum), and the Postgres, Redis and Django app started by
//! `scripts/test-services.sh`.

use std::path::Path;

use crate::support;
use crate::support::{checkpoint, text, write_checkpoint};
use serde_json::json;

/// A tiny API on a background thread with its own runtime.
fn server() -> String {
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route(
            "/login",
            axum::routing::post(|| async {
                axum::Json(json!({"access_token": "canary-token-7f3a9b2c4d", "token_type": "bearer"}))
            }),
        )
        .route(
            "/session",
            axum::routing::post(|| async {
                (
                    [
                        ("set-cookie", "refresh_token=canary-cookie-91e2d7; HttpOnly; Path=/"),
                        ("x-session-token", "canary-header-3b8f40"),
                    ],
                    axum::Json(json!({"access_token": "canary-captured-55c1e0", "token_type": "bearer"})),
                )
            }),
        )
        .route(
            "/down",
            axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unavailable") }),
        );
    support::serve(app)
}

#[test]
fn validate_reports_every_problem_with_file_line_col_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        "1.yaml",
        "checkpoint: 1\ntitle: Broken\ngates:\n  - id: a\n    title: A\n    sevrity: must\n    checks:\n      - name: x\n        http: { url: \"http://localhost/\" }\n",
    );
    write_checkpoint(
        dir.path(),
        "2.yaml",
        "checkpoint: 2\ntitle: Also broken\ngates:\n  - id: b\n    title: B\n    needs: [nope]\n    checks:\n      - name: y\n        tcp: { address: \"${UNDEFINED_THING}\" }\n",
    );
    let out = checkpoint().current_dir(dir.path()).arg("validate").output().unwrap();
    let t = text(&out);
    assert_eq!(out.status.code(), Some(2), "{t}");
    assert!(t.contains("checkpoints/1.yaml:6:5"), "{t}");
    assert!(t.contains("did you mean `severity`?"), "{t}");
    assert!(t.contains("checkpoints/2.yaml"), "both files in one pass: {t}");
    assert!(t.contains("nothing was run"), "{t}");
}

#[test]
fn usage_errors_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        "1.yaml",
        "checkpoint: 1\ntitle: T\ngates:\n  - id: a\n    title: A\n    wave: wave1\n    checks:\n      - name: x\n        tcp: { address: \"127.0.0.1:1\" }\n",
    );
    let out = checkpoint().current_dir(dir.path()).args(["run", "1", "--waves", "wave9"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("no gate of checkpoint 1 is in wave `wave9`"));
    let out = checkpoint().current_dir(dir.path()).args(["run", "7"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no checkpoint `7`"));
    let out = checkpoint().args(["run"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// `--color` is obeyed as the process runs it, output piped: `always`
/// colours the diagnostics (a CI log that renders ANSI), `auto` does not
/// colour a pipe, `never` never does.
#[test]
fn color_always_colours_a_pipe_and_auto_does_not() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        "1.yaml",
        "checkpoint: 1\ntitle: T\ngates:\n  - id: a\n    title: A\n    checks:\n      - name: x\n        htp: {}\n",
    );
    let run = |color: &str| {
        let o = support::spawned()
            .env_remove("NO_COLOR")
            .current_dir(dir.path())
            .args(["--color", color, "validate"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", text(&o));
        assert!(support::stderr(&o).contains("unknown key `htp`"), "{}", text(&o));
        o.stderr.contains(&0x1b)
    };
    assert!(run("always"), "--color always must colour a pipe");
    assert!(!run("auto"), "a pipe is not a terminal");
    assert!(!run("never"));
}

#[test]
fn schema_prints_the_committed_schema() {
    let out = checkpoint().arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../checkpoints/checkpoint.schema.json"))
            .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed);
}

fn services_yaml(api: &str) -> String {
    format!(
        r#"
checkpoint: 1
title: Local services
secrets: [LOGIN_SECRET]
vars:
  API: "{api}"
gates:
  - id: api
    title: API responding
    checks:
      - name: health
        http: {{ url: "${{API}}/health" }}
        expect: {{ status: 200, json: {{ $.status: ok }} }}
  - id: login
    title: Authentication working
    checks:
      - name: login with the secret
        http: {{ method: POST, url: "${{API}}/login", json: {{ user: admin, password: "${{ADMIN_PASSWORD}}", note: "${{LOGIN_SECRET}}" }} }}
        capture: {{ TOKEN: $.access_token }}
      - name: database reachable with the DSN
        postgres: {{ dsn: "${{PG}}", query: "SELECT 1 AS one" }}
        expect:
          json:
            $[0].one: 1
  - id: redis
    title: Redis connectivity
    checks:
      - name: ping
        redis: {{ url: "${{REDIS}}", command: [PING] }}
        expect: {{ reply: PONG }}
  - id: degraded
    title: Degraded endpoint
    severity: should
    checks:
      - name: down
        http: {{ url: "${{API}}/down", headers: {{ Authorization: "Bearer ${{TOKEN_FROM_ENV}}" }} }}
        expect: {{ status: 200 }}
"#
    )
}

#[test]
fn run_writes_valid_reports_and_never_leaks_secrets() {
    let api = server();
    let (pg, redis) = support::pg_and_redis();
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), "1.yaml", &services_yaml(&api));
    let out = checkpoint()
        .current_dir(dir.path())
        .env("ADMIN_PASSWORD", "canary-admin-pw-5e1d")
        .env("TOKEN_FROM_ENV", "canary-env-token-88aa")
        .args([
            "run",
            "1",
            "--var",
            &format!("PG={pg}"),
            "--var",
            &format!("REDIS={redis}"),
            "--var",
            "LOGIN_SECRET=canary-declared-secret-42",
        ])
        .output()
        .unwrap();
    let console = text(&out);
    // The should gate fails (1/1 should < 70%): the checkpoint fails with exit 1.
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert!(console.contains("degraded"), "{console}");
    let results = dir.path().join("checkpoint-results");
    let md = std::fs::read_to_string(results.join("integration-test-results.md")).unwrap();
    let xml = std::fs::read_to_string(results.join("junit.xml")).unwrap();
    let json = std::fs::read_to_string(results.join("results.json")).unwrap();
    let html = std::fs::read_to_string(results.join("integration-test-results.html")).unwrap();
    assert!(md.starts_with("# ❌ Checkpoint 1 failed"), "{md}");
    assert!(html.contains("Checkpoint 1 failed"), "{html}");
    assert!(md.contains("down: status: expected 200, got 503"), "{md}");
    // Every output, every canary.
    let pg_password = pg.split(':').nth(2).and_then(|s| s.split('@').next()).unwrap().to_string();
    for canary in [
        "canary-admin-pw-5e1d",
        "canary-env-token-88aa",
        "canary-declared-secret-42",
        "canary-token-7f3a9b2c4d",
        pg_password.as_str(),
    ] {
        for (name, body) in
            [("console", &console), ("markdown", &md), ("junit", &xml), ("json", &json), ("html", &html)]
        {
            assert!(!body.contains(canary), "secret `{canary}` leaked into the {name} output");
        }
    }
    // JUnit is valid against the schema CI systems use.
    let xsd = format!("{}/../../../shared/schemas/junit-10.xsd", env!("CARGO_MANIFEST_DIR"));
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", &xsd])
        .arg(results.join("junit.xml"))
        .output()
        .expect("xmllint (libxml2-utils) is needed: scripts/provision.sh installs it");
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stderr));
    // `checkpoint report` re-renders the same Markdown from the JSON.
    let again = checkpoint()
        .current_dir(dir.path())
        .args(["report", "checkpoint-results/results.json", "-o", "again"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", text(&again));
    assert_eq!(std::fs::read_to_string(dir.path().join("again/integration-test-results.md")).unwrap(), md);
    assert_eq!(std::fs::read_to_string(dir.path().join("again/integration-test-results.html")).unwrap(), html);
}

#[test]
fn list_shows_gates_waves_and_checks() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), "1.yaml", &services_yaml("http://127.0.0.1:9"));
    let out = checkpoint()
        .current_dir(dir.path())
        .args(["list", "1"])
        .env("ADMIN_PASSWORD", "x")
        .env("TOKEN_FROM_ENV", "y")
        .args(["--var", "PG=x", "--var", "REDIS=y", "--var", "LOGIN_SECRET=z"])
        .output()
        .unwrap();
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("login with the secret"), "{t}");
    assert!(t.contains("should"), "{t}");
}

/// Secrets that appear only while the run goes on — a token captured under a
/// name that does not look secret (its source `$.access_token` does), a cookie
/// the server set — and a `--var` secret in a failing expectation are masked
/// in the live console too, not only in the report files.
#[test]
fn secrets_seen_during_the_run_are_masked_everywhere_the_console_included() {
    let api = server();
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        "1.yaml",
        &format!(
            r#"
checkpoint: 1
title: Secrets seen during the run
vars:
  API: "{api}"
gates:
  - id: session
    title: A session is opened and used
    checks:
      - name: open a session
        http: {{ method: POST, url: "${{API}}/session" }}
        capture: {{ TOK: $.access_token, SESS: {{ header: x-session-token }} }}
      - name: use the header's value in a query
        http: {{ url: "${{API}}/health?s=${{SESS}}" }}
      - name: use the token in a URL
        http: {{ url: "${{API}}/items/${{TOK}}" }}
        expect: {{ status: 200 }}
  - id: compare
    title: A secret in an expectation
    checks:
      - name: health carries no password
        http: {{ url: "${{API}}/health" }}
        expect: {{ json: {{ $.status: "${{DB_PASSWORD}}" }} }}
"#
        ),
    );
    let out = checkpoint()
        .current_dir(dir.path())
        .args(["run", "1", "--var", "DB_PASSWORD=canary-pw-9917"])
        .output()
        .unwrap();
    let console = text(&out);
    assert_eq!(out.status.code(), Some(1), "{console}");
    let results = dir.path().join("checkpoint-results");
    let md = std::fs::read_to_string(results.join("integration-test-results.md")).unwrap();
    let xml = std::fs::read_to_string(results.join("junit.xml")).unwrap();
    let json = std::fs::read_to_string(results.join("results.json")).unwrap();
    let html = std::fs::read_to_string(results.join("integration-test-results.html")).unwrap();
    // The failures are there to be read, with their secrets masked.
    assert!(console.contains("expected \"****\""), "{console}");
    assert!(md.contains("/items/****"), "the request in the evidence, its token masked:\n{md}");
    assert!(md.contains("expected \"****\""), "{md}");
    for canary in ["canary-captured-55c1e0", "canary-cookie-91e2d7", "canary-pw-9917", "canary-header-3b8f40"] {
        for (name, body) in
            [("console", &console), ("markdown", &md), ("junit", &xml), ("json", &json), ("html", &html)]
        {
            assert!(!body.contains(canary), "secret `{canary}` leaked into the {name} output:\n{body}");
        }
    }
}

/// Where `needle` stands in `body` and the value after it (past any quotes,
/// escaped or not) is not masked: the text around it.
fn unmasked(body: &str, needle: &str) -> Option<String> {
    body.match_indices(needle).find_map(|(at, _)| {
        let value = body[at + needle.len()..].trim_start_matches(['\\', '"']);
        (!value.starts_with("****")).then(|| body[at..(at + needle.len() + 40).min(body.len())].to_string())
    })
}

/// A real Django login (`fixtures/django`): the login page's form token, the
/// CSRF cookie it rotates and the session cookie appear in the evidence of
/// failed checks, as sent and as set, and in no output unmasked.
#[test]
fn a_django_session_login_leaks_no_cookie_or_form_token() {
    let django = std::env::var("CHECKPOINT_TEST_DJANGO")
        .expect("CHECKPOINT_TEST_DJANGO: run through scripts/test.sh, which serves fixtures/django");
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        "1.yaml",
        r#"
checkpoint: 1
title: Django session
gates:
  - id: page
    title: the login page, its evidence kept as the check fails
    checks:
      - name: login page
        http: { url: "${DJANGO}/accounts/login/" }
        expect: { body: { contains: "no such words" } }
  - id: auth
    title: log in, then a check that fails with the session in its evidence
    checks:
      - name: login page
        http: { url: "${DJANGO}/accounts/login/" }
        capture: { FORM_CSRF: { cookie: csrftoken } }
      - name: log in
        http:
          method: POST
          url: "${DJANGO}/accounts/login/"
          form: { username: alice, password: alice-test-pw, csrfmiddlewaretoken: "${FORM_CSRF}" }
        expect: { status: 302, cookies: { sessionid: { exists: true } } }
      - name: who am I
        http: { url: "${DJANGO}/api/me/" }
        expect: { json: { $.username: bob } }
"#,
    );
    let out =
        checkpoint().current_dir(dir.path()).args(["run", "1", "--var", &format!("DJANGO={django}")]).output().unwrap();
    let console = text(&out);
    assert_eq!(out.status.code(), Some(1), "{console}");
    let results = dir.path().join("checkpoint-results");
    let read = |f: &str| std::fs::read_to_string(results.join(f)).unwrap();
    let (md, xml, json, html) = (
        read("integration-test-results.md"),
        read("junit.xml"),
        read("results.json"),
        read("integration-test-results.html"),
    );
    // The evidence is there: the page with its form, the session sent.
    assert!(md.contains("name=\"csrfmiddlewaretoken\" value=\"****\""), "{md}");
    assert!(md.contains("cookie: csrftoken=****; sessionid=****"), "{md}");
    for (name, body) in [("console", &console), ("markdown", &md), ("junit", &xml), ("json", &json), ("html", &html)] {
        for needle in ["sessionid=", "csrftoken=", "csrfmiddlewaretoken\" value=", "csrfmiddlewaretoken\\\" value="] {
            if let Some(at) = unmasked(body, needle) {
                panic!("`{needle}` unmasked in the {name} output: {at}");
            }
        }
    }
}

#[test]
fn completions_man_page_and_version_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let out = checkpoint().args(["completions", shell]).output().unwrap();
        assert!(out.status.success(), "{shell}: {}", text(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        for word in ["run", "validate", "contract", "prune", "compose-tool"] {
            assert!(script.contains(word), "{shell} completion lacks `{word}`");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let f = dir.path().join("checkpoint.bash");
            std::fs::write(&f, script.as_bytes()).unwrap();
            let syntax = std::process::Command::new("bash").arg("-n").arg(&f).output().unwrap();
            assert!(syntax.status.success(), "bash -n: {}", String::from_utf8_lossy(&syntax.stderr));
        }
    }
    let man = checkpoint().arg("man").output().unwrap();
    assert!(man.status.success());
    let page = String::from_utf8_lossy(&man.stdout);
    assert!(page.contains(".TH checkpoint 1") && page.contains("Integration"), "{page}");
    let version = checkpoint().arg("--version").output().unwrap();
    let v = String::from_utf8_lossy(&version.stdout);
    assert!(v.starts_with(&format!("checkpoint {}", env!("CARGO_PKG_VERSION"))), "{v}");
    // Built from a git checkout (as here and in CI): the commit is named.
    if Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.git").exists() {
        assert!(v.contains(" ("), "the commit is part of --version: {v}");
    }
}

/// `CHECKPOINT_DIR` is the default of `--dir`, taken from the command's
/// environment (its context), and `--dir` beats it.
#[test]
fn checkpoint_dir_from_the_environment_is_the_default_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(
        dir.path(),
        "1.yaml",
        "checkpoint: 1\ntitle: Env dir\ngates:\n  - id: a\n    title: A\n    checks:\n      - name: x\n        command: { argv: [\"true\"] }\n",
    );
    let elsewhere = tempfile::tempdir().unwrap();
    let cps = dir.path().join("checkpoints");
    let out = checkpoint().current_dir(elsewhere.path()).env("CHECKPOINT_DIR", &cps).arg("validate").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("ok: 1 checkpoint valid"), "{}", text(&out));
    let out = checkpoint()
        .current_dir(elsewhere.path())
        .env("CHECKPOINT_DIR", &cps)
        .args(["--dir", "nowhere", "validate"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "--dir beats CHECKPOINT_DIR: {}", text(&out));
}
