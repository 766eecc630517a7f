//! `--shard k/n` and `checkpoint report merge`, through the real binary: three
//! shards merged give the unsharded run gate for gate. Against real targets —
//! an in-process HTTP server, the Postgres and Redis of
//! `scripts/test-services.sh`, host commands — with `--external`, so no Docker.

use std::path::Path;
use std::process::Output;

use crate::support;
use crate::support::{checkpoint, text};
use checkpoint_model::result::{RunReport, Status, Verdict};
use serde_json::json;

/// An API with a login that hands out a token, an endpoint that wants it, and
/// one that is down.
fn server() -> String {
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { axum::Json(json!({"status": "ok"})) }))
        .route("/login", axum::routing::post(|| async { axum::Json(json!({"token": "shard-token-1"})) }))
        .route(
            "/me",
            axum::routing::get(|h: axum::http::HeaderMap| async move {
                let ok = h.get("authorization").and_then(|v| v.to_str().ok()) == Some("Bearer shard-token-1");
                if ok { (axum::http::StatusCode::OK, "me") } else { (axum::http::StatusCode::UNAUTHORIZED, "no token") }
            }),
        )
        .route("/down", axum::routing::get(|| async { (axum::http::StatusCode::SERVICE_UNAVAILABLE, "maintenance") }));
    support::serve(app)
}

/// Checkpoint 0 (3 gates) included by checkpoint 1 (10 gates): 13 gates, needs
/// chains up to three long, failing and skipped gates, captures across checks.
fn write_checkpoints(dir: &Path) {
    let cps = dir.join("checkpoints");
    std::fs::create_dir_all(&cps).unwrap();
    std::fs::write(
        cps.join("0.yaml"),
        r#"
checkpoint: 0
title: Foundation
gates:
  - id: api-up
    title: API responding
    checks:
      - name: health
        http: { url: "${API}/health" }
        expect: { status: 200, json: { $.status: ok } }
  - id: pg-ready
    title: Postgres accepting connections
    checks:
      - name: select one
        postgres: { dsn: "${PG}", query: "SELECT 1 AS one" }
        expect: { json: { "$[0].one": 1 } }
  - id: redis-ready
    title: Redis connectivity
    checks:
      - name: ping
        redis: { url: "${REDIS}", command: [PING] }
        expect: { reply: PONG }
"#,
    )
    .unwrap();
    std::fs::write(
        cps.join("1.yaml"),
        r#"
checkpoint: 1
title: Sharded
includes: [0]
criteria: { should: 50% }
gates:
  - id: api-login
    title: Authentication working
    needs: [api-up]
    checks:
      - name: login
        http: { method: POST, url: "${API}/login", json: { user: admin } }
        expect: { status: 200 }
        capture: { TOKEN: $.token }
      - name: me with the token
        http: { url: "${API}/me", headers: { Authorization: "Bearer ${TOKEN}" } }
        expect: { status: 200 }
  - id: api-maintenance
    title: Maintenance endpoint answers
    severity: should
    checks:
      - name: down
        http: { url: "${API}/down" }
        expect: { status: 200 }
  - id: pg-table
    title: Shard table exists
    needs: [pg-ready]
    checks:
      - name: table present
        postgres: { dsn: "${PG}", query: "SELECT count(*)::int AS n FROM pg_tables WHERE tablename = 'shard_never_created'" }
        expect: { json: { "$[0].n": 1 } }
  - id: pg-rows
    title: Shard rows readable
    needs: [pg-table]
    checks:
      - name: rows
        postgres: { dsn: "${PG}", query: "SELECT 1 AS one" }
  - id: redis-roundtrip
    title: Redis value round-trips
    needs: [redis-ready]
    checks:
      - name: set then get
        redis: { url: "${REDIS}", commands: [[SET, "shard:probe:${run.id}", ok, EX, "60"], [GET, "shard:probe:${run.id}"]] }
        expect: { reply: ok }
  - id: cmd-echo
    title: Host command works
    checks:
      - name: echo
        command: { argv: [echo, hello shard] }
        expect: { stdout: { contains: hello } }
  - id: cmd-exit
    title: Build step succeeds
    needs: [cmd-echo]
    checks:
      - name: exits 0
        command: { shell: "echo building; exit 3" }
  - id: cmd-after
    title: Deploy step
    needs: [cmd-exit]
    checks:
      - name: deploy
        command: { argv: ["true"] }
  - id: nice-true
    title: Nice to have
    severity: nice
    checks:
      - name: true
        command: { argv: ["true"] }
  - id: should-ok
    title: Should gate that passes
    severity: should
    checks:
      - name: one
        command: { argv: ["true"] }
      - name: two
        command: { shell: "test 1 -eq 1" }
"#,
    )
    .unwrap();
}

struct Env {
    dir: tempfile::TempDir,
    vars: Vec<String>,
}

fn setup() -> Env {
    let api = server();
    let (pg, redis) = support::pg_and_redis();
    let dir = tempfile::tempdir().unwrap();
    write_checkpoints(dir.path());
    let vars = vec![format!("API={api}"), format!("PG={pg}"), format!("REDIS={redis}")];
    Env { dir, vars }
}

impl Env {
    fn run(&self, extra: &[&str], out: &str) -> (Output, Option<RunReport>) {
        let mut c = checkpoint();
        c.current_dir(self.dir.path()).args(["run", "1", "--external", "-o", out]).args(extra);
        for v in &self.vars {
            c.args(["--var", v]);
        }
        let o = c.output().unwrap();
        let json = std::fs::read_to_string(self.dir.path().join(out).join("results.json")).ok();
        (o, json.map(|j| checkpoint_report::read_json(&j).unwrap()))
    }

    fn cmd(&self, args: &[&str]) -> Output {
        checkpoint().current_dir(self.dir.path()).args(args).output().unwrap()
    }
}

/// Valid against the Jenkins schema CI systems use (xmllint, offline).
fn assert_valid_junit(file: &Path) {
    let xsd = std::env::var("CHECKPOINT_JUNIT_XSD")
        .unwrap_or_else(|_| format!("{}/../../../shared/schemas/junit-10.xsd", env!("CARGO_MANIFEST_DIR")));
    assert!(Path::new(&xsd).is_file(), "junit-10.xsd not found at {xsd} (or set CHECKPOINT_JUNIT_XSD)");
    let lint = std::process::Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema", &xsd])
        .arg(file)
        .output()
        .expect("xmllint (libxml2-utils) is needed: scripts/provision.sh installs it");
    assert!(lint.status.success(), "{}: {}", file.display(), String::from_utf8_lossy(&lint.stderr));
}

/// One gate as compared: id, status, reason, (check name, status)s.
type GateShape = (String, Status, Option<String>, Vec<(String, Status)>);

/// What must be equal gate for gate: everything but durations and attempts' timings.
fn shape(r: &RunReport) -> Vec<GateShape> {
    r.gates
        .iter()
        .map(|g| {
            (g.id.clone(), g.status, g.reason.clone(), g.checks.iter().map(|c| (c.name.clone(), c.status)).collect())
        })
        .collect()
}

#[test]
fn three_shards_merged_equal_the_unsharded_run() {
    let env = setup();
    let (o, full) = env.run(&[], "full");
    let full = full.unwrap_or_else(|| panic!("no results.json\n{}", text(&o)));
    // pg-table and cmd-exit are must gates that fail: exit 1.
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert_eq!(full.gates.len(), 13);
    let status = |id: &str| full.gates.iter().find(|g| g.id == id).unwrap().status;
    assert_eq!(status("pg-table"), Status::Failed);
    assert_eq!(status("pg-rows"), Status::Skipped);
    assert_eq!(status("cmd-exit"), Status::Failed);
    assert_eq!(status("cmd-after"), Status::Skipped);
    assert_eq!(status("api-maintenance"), Status::Failed);
    assert_eq!(status("api-login"), Status::Passed, "the capture crossed checks");
    assert_eq!(status("redis-roundtrip"), Status::Passed);

    let mut shards = Vec::new();
    for k in 1..=3 {
        let spec = format!("{k}/3");
        let (o, r) = env.run(&["--shard", &spec], &format!("shard-{k}"));
        let r = r.unwrap_or_else(|| panic!("shard {spec}: no results.json\n{}", text(&o)));
        assert!(!r.gates.is_empty(), "13 gates in 6 groups: no shard is empty; shard {spec}");
        assert_eq!(r.filters.shard.as_deref(), Some(spec.as_str()));
        // A needed gate runs on the same shard as the gates that need it.
        for g in &r.gates {
            for n in &g.needs {
                assert!(r.gates.iter().any(|x| &x.id == n), "shard {spec}: {} without {n}", g.id);
            }
        }
        // `list --shard` shows exactly what the shard runs.
        let mut list = vec!["list", "1", "--shard", &spec];
        for v in &env.vars {
            list.extend(["--var", v.as_str()]);
        }
        let listed = text(&env.cmd(&list));
        for g in &full.gates {
            let line = format!(" {} ", g.id);
            let here = r.gates.iter().any(|x| x.id == g.id);
            assert_eq!(listed.contains(&line), here, "list --shard {spec} and {}:\n{listed}", g.id);
        }
        shards.push(r);
    }
    let mut all: Vec<&str> = shards.iter().flat_map(|r| r.gates.iter().map(|g| g.id.as_str())).collect();
    all.sort_unstable();
    let mut expected: Vec<&str> = full.gates.iter().map(|g| g.id.as_str()).collect();
    expected.sort_unstable();
    assert_eq!(all, expected, "each gate in exactly one shard");

    // Merge, shards given in reverse order: the result is in definition order.
    let m = env.cmd(&[
        "report",
        "merge",
        "shard-3/results.json",
        "shard-1/results.json",
        "shard-2/results.json",
        "-o",
        "merged",
    ]);
    assert_eq!(m.status.code(), Some(1), "the merged verdict (failed) is the exit code\n{}", text(&m));
    let merged =
        checkpoint_report::read_json(&std::fs::read_to_string(env.dir.path().join("merged/results.json")).unwrap())
            .unwrap();
    assert_eq!(shape(&merged), shape(&full));
    assert_eq!(merged.criteria, full.criteria);
    assert_eq!(merged.verdict, Verdict::Failed);
    assert!(merged.filters.shard.is_none() && merged.filters.order.is_empty());
    // Every format written; the JUnit has every gate.
    let xml = std::fs::read_to_string(env.dir.path().join("merged/junit.xml")).unwrap();
    assert_eq!(xml.matches("<testsuite ").count(), 13, "{xml}");
    assert_valid_junit(&env.dir.path().join("merged/junit.xml"));
    let md = std::fs::read_to_string(env.dir.path().join("merged/integration-test-results.md")).unwrap();
    assert!(md.starts_with("# ❌ Checkpoint 1 failed") && md.contains("**13 gates**"), "{md}");

    // With a baseline and a slowdown threshold (the unsharded run as yesterday's).
    let b = env.cmd(&[
        "report",
        "merge",
        "shard-1/results.json",
        "shard-2/results.json",
        "shard-3/results.json",
        "-o",
        "vs",
        "--baseline",
        "full/results.json",
        "--slower-than",
        "25%,1h",
    ]);
    assert_eq!(b.status.code(), Some(1), "{}", text(&b));
    let md = std::fs::read_to_string(env.dir.path().join("vs/integration-test-results.md")).unwrap();
    assert!(md.contains("- 🟠 **Still failing:** `api-maintenance`, `pg-table`, `cmd-exit`"), "{md}");
    assert!(md.contains("**Slower (> 25% and ≥ +60m00s):** none"), "{md}");
    let bad = env.cmd(&["report", "full/results.json", "--baseline", "full/results.json", "--slower-than", "fast"]);
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad));
    assert!(text(&bad).contains("is not a slowdown threshold"), "{}", text(&bad));

    // The old form (no `merge` keyword) still merges.
    let old = env.cmd(&["report", "shard-1/results.json", "shard-2/results.json", "shard-3/results.json", "-o", "old"]);
    assert!(old.status.success(), "{}", text(&old));

    // A missing shard, a shard given twice, another checkpoint: exit 2, one clear line.
    let missing = env.cmd(&["report", "merge", "shard-1/results.json", "shard-3/results.json", "-o", "x"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("are in no shard given (got shards 1/3, 3/3)"), "{}", text(&missing));
    let twice = env.cmd(&["report", "merge", "shard-1/results.json", "shard-1/results.json", "-o", "x"]);
    assert_eq!(twice.status.code(), Some(2));
    assert!(text(&twice).contains("shard 1/3 is given twice"), "{}", text(&twice));
    let mut other = shards[1].clone();
    other.checkpoint.id = "2".into();
    std::fs::write(env.dir.path().join("other.json"), checkpoint_report::json(&other)).unwrap();
    let mixed = env.cmd(&["report", "merge", "shard-1/results.json", "other.json", "-o", "x"]);
    assert_eq!(mixed.status.code(), Some(2));
    assert!(text(&mixed).contains("different checkpoints: 1"), "{}", text(&mixed));
    // Overlapping gates (an unsharded run with a shard) are refused too.
    let overlap = env.cmd(&["report", "merge", "full/results.json", "shard-2/results.json", "-o", "x"]);
    assert_eq!(overlap.status.code(), Some(2), "{}", text(&overlap));
}

#[test]
fn an_empty_shard_runs_nothing_and_exits_0() {
    let env = setup();
    // 6 groups over 8 shards: shards 7 and 8 get nothing.
    let (o, r) = env.run(&["--shard", "8/8"], "empty");
    let console = text(&o);
    assert_eq!(o.status.code(), Some(0), "{console}");
    assert!(console.contains("shard 8/8 of checkpoint 1 has no gates"), "{console}");
    let r = r.expect("an empty shard still writes results.json");
    assert!(r.gates.is_empty());
    assert_eq!(r.verdict, Verdict::Passed);
    assert_eq!(r.filters.order.len(), 13);
    let xml = std::fs::read_to_string(env.dir.path().join("empty/junit.xml")).unwrap();
    assert!(xml.contains("<testsuites"), "{xml}");
    assert_valid_junit(&env.dir.path().join("empty/junit.xml"));
    let md = std::fs::read_to_string(env.dir.path().join("empty/integration-test-results.md")).unwrap();
    assert!(md.contains("This shard had no gates to run"), "{md}");
    // Bad shard specs are usage errors, before anything runs.
    for bad in ["0/3", "4/3", "x/y"] {
        let (o, _) = env.run(&["--shard", bad], "bad");
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", text(&o));
        assert!(text(&o).contains("is not a shard"), "{}", text(&o));
    }
}
