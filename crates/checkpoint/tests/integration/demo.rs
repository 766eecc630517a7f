//! End to end on the real demo stack (`docker-compose.test.yml`) with a real
//! Docker engine: the healthy stack passes, each broken variant under
//! `fixtures/broken/` turns exactly its gates red (with the cause in the
//! one-line reason), two runs at once do not collide, an interrupted run leaves
//! nothing behind and still writes valid reports.
//!
//! Needs the images `fixtures/images/build.sh` builds (`scripts/test.sh` does).

use std::collections::BTreeSet;
use std::io::{BufRead as _, BufReader};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use checkpoint_model::result::{RunReport, Status};

use crate::compose_support;
use compose_support::{Outcome, assert_nothing_left, ids, repo, set, tool, under_both_tools};

fn images_env() -> Vec<(String, String)> {
    compose_support::images_env("images.env", "fixtures/images/build.sh")
}

under_both_tools!(
    demo_stack_commands_take_variables_and_down_needs_none,
    demo_canary_secrets_reach_no_output_and_no_file,
    demo_a_failed_up_names_the_tools_error_and_keeps_logs_with_the_reports,
    demo_a_sigkilled_run_leaves_a_stack_that_prune_finds_and_removes,
    demo_healthy_stack_passes_checkpoint_1,
    demo_variant_db_down,
    demo_variant_migration_missing,
    demo_variant_redis_cut,
    demo_variant_worker_stopped,
    demo_variant_api_crashloop,
    demo_variant_wrong_db_credentials,
    demo_variant_push_disabled,
    demo_two_runs_at_once_do_not_collide,
    demo_healthy_stack_passes_ten_runs_in_a_row,
    demo_interrupt_while_waiting_for_readiness,
    demo_interrupt_while_checks_run,
    demo_final_checkpoint_with_faults_passes,
    demo_variant_contract_drift_fails_exactly_the_contract_gates
);

fn bin() -> Command {
    compose_support::checkpoint(&repo(), &images_env())
}

fn unique(name: &str) -> String {
    compose_support::unique("cp-test", name)
}

/// `checkpoint run ARGS -p PROJECT -o OUT`, OUT being `PROJECT-out` in the temp folder:
/// the command, not started yet, and OUT.
fn run_command(args: &[&str], project: &str) -> (Command, PathBuf) {
    let out_dir = std::env::temp_dir().join(format!("{project}-out"));
    let mut command = bin();
    command.args(["run"]).args(args).args(["-p", project, "-o"]).arg(&out_dir);
    (command, out_dir)
}

fn run(args: &[&str], project: &str) -> Outcome {
    let (mut command, out_dir) = run_command(args, project);
    let out = command.output().unwrap();
    compose_support::run_results(&out, &out_dir, project)
}

fn reason<'a>(r: &'a RunReport, gate: &str) -> &'a str {
    r.gates.iter().find(|g| g.id == gate).and_then(|g| g.reason.as_deref()).unwrap_or("")
}

fn demo_healthy_stack_passes_checkpoint_1() {
    let p = unique("healthy");
    let o = run(&["1"], &p);
    assert_eq!(o.code, Some(0), "{}", o.console);
    assert_eq!(ids(&o.report, |s| s != Status::Passed), BTreeSet::new());
    let stack = o.report.stack.as_ref().expect("stack facts");
    assert!(stack.services.iter().any(|s| s.name == "api" && s.health.as_deref() == Some("healthy")), "{stack:?}");
    assert!(stack.services.iter().all(|s| s.log_file.is_some()), "every service's log is saved: {stack:?}");
}

/// (variant, red gates, skipped gates, (gate, text its reason contains))
type Variant = (&'static str, &'static [&'static str], &'static [&'static str], (&'static str, &'static str));

const VARIANTS: &[Variant] = &[
    (
        "db-down",
        &["stack-running", "postgres-ready", "health-db", "api-endpoints", "networking"],
        &["migrations", "auth", "backend-db", "worker", "realtime", "notifications"],
        ("stack-running", "`db` is exited with code 1"),
    ),
    (
        "migration-missing",
        &["migrations"],
        &["auth", "backend-db", "worker", "realtime", "notifications"],
        ("migrations", "table `public.jobs` does not exist"),
    ),
    (
        "redis-cut",
        &["health-db", "api-endpoints", "worker", "networking"],
        &["realtime", "notifications"],
        ("networking", "`api` cannot connect to redis:6379"),
    ),
    (
        "worker-stopped",
        &["stack-running", "worker", "networking"],
        &["realtime", "notifications"],
        ("stack-running", "`worker` is exited with code 0"),
    ),
    (
        "api-crashloop",
        &["stack-running", "health-db", "api-endpoints", "auth", "metrics", "networking"],
        &["backend-db", "worker", "realtime", "notifications"],
        ("stack-running", "a crash loop"),
    ),
    (
        "wrong-db-credentials",
        &["health-db", "api-endpoints", "auth"],
        &["backend-db", "worker", "realtime", "notifications"],
        ("health-db", "expected 200, got 503"),
    ),
    ("push-disabled", &["realtime"], &[], ("realtime", "/ws/jobs: no message matching $.kind = \"realtime-")),
];

fn variant(name: &str) {
    let (_, red, skipped, (gate, text)) = VARIANTS.iter().find(|v| v.0 == name).unwrap();
    let p = unique(name);
    let o = run(&["1", "-f", &format!("fixtures/broken/{name}.yml")], &p);
    assert_eq!(o.code, Some(1), "a broken stack must never pass\n{}", o.console);
    assert_eq!(ids(&o.report, Status::is_failure), set(red), "red gates of {name}\n{}", o.console);
    assert_eq!(ids(&o.report, |s| s == Status::Skipped), set(skipped), "skipped gates of {name}\n{}", o.console);
    assert!(reason(&o.report, gate).contains(text), "{name}: reason of `{gate}` is `{}`", reason(&o.report, gate));
    junit_as_readers_show_it(&o);
}

/// The broken run's junit.xml as junitparser reads it (and GitLab shows it,
/// the element's text rather than `message`): every red testcase's text
/// starts with its one-line reason and carries the service's log tail and,
/// for a check, where it is written; the testcases' times add up to the run's.
fn junit_as_readers_show_it(o: &Outcome) {
    let Some(bin) = crate::junit_readers::tools() else { return };
    let read = crate::junit_readers::junitparser(&bin, &o.out.join("junit.xml"));
    // junit2html's page, its markup stripped and unescaped: what a person reads there.
    let page = crate::junit_readers::junit2html(&bin, &o.out.join("junit.xml"));
    let page = page.split('<').map(|part| part.split_once('>').map_or(part, |(_, t)| t)).collect::<String>();
    let page = crate::junit_readers::unescape(&page);
    let mut red = 0;
    for c in read["cases"].as_array().unwrap() {
        for r in c["results"].as_array().unwrap().iter().filter(|r| r["tag"] == "failure" || r["tag"] == "error") {
            red += 1;
            let (message, text) = (r["message"].as_str().unwrap(), r["text"].as_str().unwrap_or(""));
            let first = text.lines().next().unwrap_or("");
            let shown = message.split(" (after").next().unwrap();
            assert!(
                first.starts_with(shown) || (message.starts_with(first) && !first.is_empty()),
                "{}: the text starts with the reason: {first:?} vs {message:?}",
                c["name"]
            );
            assert!(text.contains("--- last log lines of service `"), "{}: the service's log tail\n{text}", c["name"]);
            if !c["suite"].as_str().unwrap().starts_with("stack: ") {
                assert!(text.contains("\nat checkpoints/"), "{}: where it is written\n{text}", c["name"]);
                let at = text.lines().rev().find(|l| l.starts_with("at checkpoints/")).unwrap();
                assert!(page.contains(at), "{}: junit2html shows {at}", c["name"]);
            }
            // junit2html writes quotes as entities of its own choosing: compare without them.
            let bare = |t: &str| t.replace(['"', '\''], "");
            assert!(bare(&page).contains(&bare(first)), "{}: junit2html shows the reason {first:?}", c["name"]);
        }
    }
    assert!(red > 0, "a broken run has red testcases: {read}");
    let sum: f64 = read["cases"].as_array().unwrap().iter().map(|c| c["time"].as_f64().unwrap_or(0.0)).sum();
    assert!(
        (sum * 1000.0 - o.report.duration_ms).abs() < 100.0,
        "summed testcase times {sum}s, the run took {}ms",
        o.report.duration_ms
    );
}

fn demo_variant_db_down() {
    variant("db-down");
}
fn demo_variant_migration_missing() {
    variant("migration-missing");
}
fn demo_variant_redis_cut() {
    variant("redis-cut");
}
fn demo_variant_worker_stopped() {
    variant("worker-stopped");
}
fn demo_variant_api_crashloop() {
    variant("api-crashloop");
}
fn demo_variant_wrong_db_credentials() {
    variant("wrong-db-credentials");
}
fn demo_variant_push_disabled() {
    variant("push-disabled");
}

fn demo_two_runs_at_once_do_not_collide() {
    let (a, b) = (unique("twin-a"), unique("twin-b"));
    let tool = tool();
    let ta = std::thread::spawn(move || {
        compose_support::set_tool(tool);
        run(&["0"], &a)
    });
    let tb = std::thread::spawn(move || {
        compose_support::set_tool(tool);
        run(&["0"], &b)
    });
    for o in [ta.join().unwrap(), tb.join().unwrap()] {
        assert_eq!(o.code, Some(0), "{}", o.console);
    }
}

fn demo_healthy_stack_passes_ten_runs_in_a_row() {
    for i in 0..10 {
        let o = run(&["0"], &unique(&format!("ten-{i}")));
        assert_eq!(o.code, Some(0), "run {i}: {}", o.console);
    }
}

/// Starts a run, waits for a line on stderr, sends SIGINT, and checks that
/// the run ends promptly, leaves nothing behind and writes valid reports.
fn interrupt_when(args: &[&str], marker: &str, name: &str) -> RunReport {
    let project = unique(name);
    let (mut command, out_dir) = run_command(args, &project);
    let mut child = command.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    for line in BufReader::new(stderr).lines() {
        let line = line.unwrap();
        seen.push_str(&line);
        seen.push('\n');
        if line.contains(marker) {
            break;
        }
    }
    assert!(seen.contains(marker), "never saw `{marker}`:\n{seen}");
    let started = Instant::now();
    Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(started.elapsed() < Duration::from_mins(1), "an interrupted run must end promptly");
    assert_eq!(status.code(), Some(130), "an interrupted run exits 130, whatever it was doing");
    assert_nothing_left(&project);
    let json = std::fs::read_to_string(out_dir.join("results.json")).expect("reports written for an interrupted run");
    let report = checkpoint_report::read_json(&json).unwrap();
    assert!(report.interrupted.is_some(), "{report:?}");
    let xsd = repo().join("../shared/schemas/junit-10.xsd");
    let lint = Command::new("xmllint")
        .args(["--noout", "--nonet", "--schema"])
        .arg(&xsd)
        .arg(out_dir.join("junit.xml"))
        .output()
        .unwrap();
    assert!(lint.status.success(), "{}", String::from_utf8_lossy(&lint.stderr));
    report
}

fn demo_interrupt_while_waiting_for_readiness() {
    // A compose progress line: v1 prints `Creating network …`, v2 ` Network …  Creating`.
    let r = interrupt_when(&["1"], "Creating", "int-ready");
    // Interrupted while compose brought the stack up: cancelled, not "the stack did not start".
    assert!(
        r.gates
            .iter()
            .all(|g| g.status == Status::Cancelled && g.reason.as_deref().is_some_and(|m| m.contains("interrupted"))),
        "{:?}",
        r.gates.iter().map(|g| (&g.id, g.status, &g.reason)).collect::<Vec<_>>()
    );
    assert_eq!(r.interrupted.as_deref(), Some("interrupted (Ctrl-C / SIGTERM)"));
}

fn demo_interrupt_while_checks_run() {
    // worker-stopped makes the worker gate retry for 20 s: interrupt during it.
    let r = interrupt_when(&["1", "-f", "fixtures/broken/worker-stopped.yml"], "PASS", "int-checks");
    assert!(r.gates.iter().any(|g| g.status == Status::Passed), "what ran before the interrupt is kept");
    assert!(
        r.gates.iter().any(|g| g.status == Status::Cancelled),
        "{:?}",
        r.gates.iter().map(|g| (&g.id, g.status)).collect::<Vec<_>>()
    );
}

fn demo_final_checkpoint_with_faults_passes() {
    // Includes every gate of 0–3: Redis stopped, worker killed with work queued,
    // the API cut off from the database — each observed and recovered.
    let o = run(&["final"], &unique("final"));
    assert_eq!(o.code, Some(0), "{}", o.console);
    for g in ["redis-outage", "worker-restart", "db-partition"] {
        assert!(o.report.gates.iter().any(|x| x.id == g && x.status == Status::Passed), "{g}: {}", o.console);
    }
    // The plan's quality gates, every one green on the healthy stack.
    for g in QUALITY {
        assert!(o.report.gates.iter().any(|x| x.id == *g && x.status == Status::Passed), "{g}: {}", o.console);
    }
    let contract = o.report.gates.iter().find(|g| g.id == "contract").unwrap();
    let operations = &contract.checks.iter().find(|c| c.kind == "openapi").unwrap().cases;
    assert_eq!(operations.len(), 14, "every operation of fixtures/demo/openapi.json is called");
}

/// The final checkpoint's quality gates (docs/integration-plan.md, "Quality gates").
const QUALITY: &[&str] =
    &["contract", "breaking-changes", "p95", "db-query-time", "schema-conflicts", "cache-hit-rate", "metrics"];

fn demo_variant_contract_drift_fails_exactly_the_contract_gates() {
    // The API renamed `created_at` to `createdAt` and regenerated the spec it
    // serves; the committed contract was not updated. Everything else works.
    let p = unique("contract-drift");
    let o = run(&["final", "-f", "fixtures/broken/contract-drift.yml"], &p);
    assert_eq!(o.code, Some(1), "a drifted contract must never pass\n{}", o.console);
    assert_eq!(ids(&o.report, Status::is_failure), set(&["contract", "breaking-changes"]), "{}", o.console);
    assert_eq!(ids(&o.report, |s| s == Status::Skipped), set(&[]), "{}", o.console);
    assert!(reason(&o.report, "contract").contains(r#""created_at" is a required property"#), "{}", o.console);
    assert!(reason(&o.report, "breaking-changes").contains("created_at` removed"), "{}", o.console);
    let contract = o.report.gates.iter().find(|g| g.id == "contract").unwrap();
    let failed: Vec<&str> = contract
        .checks
        .iter()
        .flat_map(|c| &c.cases)
        .filter(|k| k.status != Status::Passed)
        .map(|k| k.name.as_str())
        .collect();
    assert_eq!(
        failed,
        [
            "GET /items (listItems)",
            "POST /items (createItem)",
            "GET /items/{id} (getItem)",
            "PUT /items/{id} (updateItem)"
        ]
    );
}

/// `stack up|status|logs` take `--var`/`--env-file` like `run`; `stack down`,
/// as `run --keep` prints it (no variables), still removes everything.
fn demo_stack_commands_take_variables_and_down_needs_none() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("docker-compose.test.yml"), dir.path().join("docker-compose.test.yml")).unwrap();
    std::fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
    std::fs::write(
        dir.path().join("checkpoints/1.yaml"),
        "checkpoint: 1\ntitle: needs a variable\nstack: { compose: [docker-compose.test.yml] }\n\
         vars:\n  API: \"http://${service.api.8000}/${API_PREFIX:?pass --var API_PREFIX=…}\"\n\
         gates:\n  - id: up\n    title: Docker stack running all services\n    checks:\n      \
         - name: all up\n        compose: { completed: [migrate] }\n      - name: health\n        \
         http: { url: \"${API}/health\" }\n",
    )
    .unwrap();
    let project = unique("stackcmds");
    let stack = |args: &[&str]| {
        let out = bin().current_dir(dir.path()).arg("stack").args(args).args(["-p", &project]).output().unwrap();
        (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let (code, text) = stack(&["up", "1"]);
    assert_eq!(code, Some(2), "without the variable the checkpoint does not load:\n{text}");
    assert!(text.contains("API_PREFIX"), "{text}");
    let (code, text) = stack(&["up", "1", "--var", "API_PREFIX=v1"]);
    assert_eq!(code, Some(0), "{text}");
    let (code, text) = stack(&["status", "1", "--var", "API_PREFIX=v1"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("api") && text.contains("running"), "{text}");
    let (code, text) = stack(&["down", "1"]);
    assert_eq!(code, Some(0), "down works without the variables:\n{text}");
    assert_nothing_left(&project);
}

/// A run killed with SIGKILL cannot tear down; its containers carry it as
/// their owner, so the next run mentions the stack and `stack prune` removes it.
fn demo_a_sigkilled_run_leaves_a_stack_that_prune_finds_and_removes() {
    let project = unique("sigkill");
    let (mut command, _) = run_command(&["0"], &project);
    let mut child = command.stderr(Stdio::piped()).stdout(Stdio::null()).spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    for line in BufReader::new(stderr).lines() {
        if line.unwrap().contains("stack: ready") {
            break;
        }
    }
    Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    child.wait().unwrap();
    let prune = |args: &[&str]| {
        let out = bin().args(["stack", "prune"]).args(args).output().unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
    };
    let (code, text) = prune(&["--dry-run"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.lines().any(|l| l.starts_with("orphaned") && l.contains(&project)), "{text}");
    assert!(!nothing_left(&project), "dry run removes nothing");
    let (code, text) = prune(&[]);
    assert_eq!(code, Some(0), "{text}");
    assert!(text.lines().any(|l| l.starts_with("removed") && l.contains(&project)), "{text}");
    assert_nothing_left(&project);
}

/// Whether nothing with the project's label is left (no assertion).
fn nothing_left(project: &str) -> bool {
    let filter = format!("label=com.docker.compose.project={project}");
    let out = Command::new("docker").args(["ps", "-aq", "--filter", &filter]).output().expect("docker CLI");
    String::from_utf8_lossy(&out.stdout).trim().is_empty()
}

/// `compose up` fails (a host port another process holds): the reason is the
/// compose tool's own error line, not its progress output; the logs of what
/// did start are saved with the reports, nothing in the temp directory.
fn demo_a_failed_up_names_the_tools_error_and_keeps_logs_with_the_reports() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = holder.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let over = dir.path().join("port-taken.yml");
    std::fs::write(&over, format!("services:\n  api:\n    ports: [\"127.0.0.1:{port}:8000\"]\n")).unwrap();
    let project = unique("port-taken");
    let out_dir = dir.path().join("out");
    let out = bin().args(["run", "1", "-p", &project, "-f"]).arg(&over).arg("-o").arg(&out_dir).output().unwrap();
    let console = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(3), "{console}");
    let report = checkpoint_report::read_json(&std::fs::read_to_string(out_dir.join("results.json")).unwrap()).unwrap();
    let why = reason(&report, "stack-running");
    assert!(
        why.contains("address already in use") || why.contains("port is already allocated"),
        "the reason names the cause: {why}"
    );
    assert!(out_dir.join("logs/db.log").is_file(), "the logs of what started are kept with the reports\n{console}");
    assert!(!std::env::temp_dir().join(format!("checkpoint-{project}-logs")).exists());
    drop(holder);
    assert_nothing_left(&project);
}

/// Canary secrets through the environment (into a container that prints it
/// to its log), `--var`, `vars:` and a DSN; a check fails on purpose so
/// evidence and log tails are written. No output and no file the run created
/// — reports, saved logs, anything new in the temp directory — holds one.
fn demo_canary_secrets_reach_no_output_and_no_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("docker-compose.test.yml"), dir.path().join("docker-compose.test.yml")).unwrap();
    std::fs::write(
        dir.path().join("leaky.yml"),
        "services:\n  worker:\n    environment:\n      LEAKED: ${CANARY_PASSWORD}\n    \
         entrypoint: [\"sh\", \"-c\", \"echo connecting with $$LEAKED; exec checkpoint-demo worker\"]\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("checkpoints")).unwrap();
    std::fs::write(
        dir.path().join("checkpoints/1.yaml"),
        "checkpoint: 1\ntitle: canaries\nstack: { compose: [docker-compose.test.yml] }\n\
         vars:\n  API: \"http://${service.api.8000}\"\n  SESSION_KEY: canary-vars-key-c41d\n\
         \x20 DB: \"postgres://checkpoint:canary-dsn-pw-77e3@${service.db.5432}/app\"\n\
         gates:\n  - id: leak\n    title: fails on purpose with every secret in sight\n    checks:\n\
         \x20     - name: worker log\n        exec: { service: worker, argv: [sh, -c, \"echo $$LEAKED ${SESSION_KEY} ${CLI_TOKEN}; exit 3\"] }\n\
         \x20     - name: unreached\n        postgres: { dsn: \"${DB}\", query: \"SELECT 1\" }\n",
    )
    .unwrap();
    let project = unique("canary");
    let out_dir = dir.path().join("out");
    let since = std::time::SystemTime::now();
    let out = bin()
        .current_dir(dir.path())
        .env("CANARY_PASSWORD", "canary-env-pw-5a0b")
        .args(["run", "1", "-p", &project, "-f", "leaky.yml", "--var", "CLI_TOKEN=canary-cli-tok-9d2e", "-o"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let console = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{console}");
    assert_nothing_left(&project);
    let worker_log = std::fs::read_to_string(out_dir.join("logs/worker.log")).expect("the worker's log is saved");
    assert!(worker_log.contains("connecting with ****"), "the canary was printed, and masked: {worker_log}");
    let mut files: Vec<PathBuf> = Vec::new();
    let mut todo = vec![out_dir.clone()];
    // Anything the run left in the temp directory counts too.
    for e in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        let newer = e.metadata().and_then(|m| m.modified()).is_ok_and(|t| t > since);
        if newer && e.file_name().to_string_lossy().contains("checkpoint") {
            todo.push(e.path());
        }
    }
    while let Some(p) = todo.pop() {
        if p.is_dir() {
            todo.extend(std::fs::read_dir(&p).unwrap().flatten().map(|e| e.path()));
        } else {
            files.push(p);
        }
    }
    assert!(files.len() >= 4, "{files:?}");
    for canary in ["canary-env-pw-5a0b", "canary-cli-tok-9d2e", "canary-vars-key-c41d", "canary-dsn-pw-77e3"] {
        assert!(!console.contains(canary), "`{canary}` leaked into the console:\n{console}");
        for f in &files {
            let text = String::from_utf8_lossy(&std::fs::read(f).unwrap()).into_owned();
            assert!(!text.contains(canary), "`{canary}` leaked into {}", f.display());
        }
    }
}
