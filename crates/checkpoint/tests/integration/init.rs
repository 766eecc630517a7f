//! `checkpoint init` on the real demo stack: the checkpoint it writes for
//! `docker-compose.test.yml` validates and runs green against the healthy
//! stack (real Docker engine, real compose); on the pystack (FastAPI, Celery,
//! Alembic) it pings the Celery worker through its broker. Needs the images
//! `fixtures/images/build.sh` and `fixtures/pystack/build.sh` build
//! (`scripts/test.sh` does).

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

use std::collections::BTreeSet;

use checkpoint_model::result::{Status, Verdict};

use crate::compose_support;
use crate::support::text;
use compose_support::{Outcome, ids, repo, run_results, set, under_both_tools};

under_both_tools!(
    init_on_the_demo_stack_writes_a_checkpoint_that_runs_green,
    init_checks_exposed_databases_from_inside_the_stack,
    init_on_the_pystack_pings_the_celery_worker_through_its_broker
);

fn bin(cwd: &Path) -> Command {
    compose_support::checkpoint(cwd, &compose_support::images_env("images.env", "fixtures/images/build.sh"))
}

/// `checkpoint` with the pystack's images.
fn pystack_bin(cwd: &Path) -> Command {
    compose_support::checkpoint(cwd, &compose_support::images_env("pystack-images.env", "fixtures/pystack/build.sh"))
}

/// `checkpoint run 0` in `dir` (plus `extra` arguments), as a compose project of
/// its own named after `what`, its reports in `out-<what>`; the stack must leave
/// nothing behind.
fn run_zero(dir: &Path, what: &str, extra: &[&OsStr]) -> Outcome {
    run_zero_with(bin(dir), dir, what, extra)
}

fn run_zero_with(mut bin: Command, dir: &Path, what: &str, extra: &[&OsStr]) -> Outcome {
    let project = compose_support::unique("cp-test-init", what);
    let out = dir.join(format!("out-{what}"));
    let run = bin.args(["run", "0", "-p", &project, "-o"]).arg(&out).args(extra).output().unwrap();
    run_results(&run, &out, &project)
}

fn init_on_the_demo_stack_writes_a_checkpoint_that_runs_green() {
    // A fresh project: just the compose file (the images are prebuilt, nothing is built).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(repo().join("docker-compose.test.yml"), dir.path().join("docker-compose.test.yml")).unwrap();

    let init = bin(dir.path()).arg("init").output().unwrap();
    assert!(init.status.success(), "{}", text(&init));
    assert!(text(&init).contains("wrote checkpoints/0.yaml: 5 gates"), "{}", text(&init));
    assert!(yaml_has_http_probe(dir.path()), "the api's published port gets an HTTP probe");
    let yaml = std::fs::read_to_string(dir.path().join("checkpoints/0.yaml")).unwrap();
    assert!(yaml.contains("compose: { completed: [\"migrate\"] }"), "{yaml}");
    assert!(yaml.contains("http: { url: \"http://${service.api.8000}/health\" }"), "{yaml}");

    // Never overwritten without --force; with it, it is.
    let again = bin(dir.path()).arg("init").output().unwrap();
    assert_eq!(again.status.code(), Some(2), "{}", text(&again));
    assert!(text(&again).contains("exists; pass --force"), "{}", text(&again));
    let forced = bin(dir.path()).args(["init", "--force"]).output().unwrap();
    assert!(forced.status.success(), "{}", text(&forced));

    let valid = bin(dir.path()).arg("validate").output().unwrap();
    assert!(valid.status.success(), "{}", text(&valid));

    // Several files: merged by the compose tool's `config`; the override's port gets its gate.
    std::fs::write(dir.path().join("extra.yml"), "services:\n  worker:\n    ports: [\"9000\"]\n").unwrap();
    let merged = bin(dir.path())
        .args(["init", "--compose", "docker-compose.test.yml", "--compose", "extra.yml", "--out", "checkpoints/9.yaml"])
        .output()
        .unwrap();
    assert!(merged.status.success(), "{}", text(&merged));
    let yaml9 = std::fs::read_to_string(dir.path().join("checkpoints/9.yaml")).unwrap();
    assert!(yaml9.contains("compose: [\"docker-compose.test.yml\", \"extra.yml\"]"), "{yaml9}");
    // 9000 is an HTTP port by convention: the worker gets a request, not a bare connect.
    assert!(yaml9.contains("http: { url: \"http://${service.worker.9000}/\" }"), "{yaml9}");
    assert!(yaml9.contains("compose: { completed: [\"migrate\"] }"), "{yaml9}");
    std::fs::remove_file(dir.path().join("checkpoints/9.yaml")).unwrap();

    let Outcome { code, report, console, .. } = run_zero(dir.path(), "healthy", &[]);
    assert_eq!(code, Some(0), "{console}");
    assert_eq!(report.verdict, Verdict::Passed);
    let ids: Vec<&str> = report.gates.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(ids, ["stack-running", "db-answers", "redis-answers", "api-http-8000", "api-health"]);
    assert!(report.gates.iter().all(|g| g.status == Status::Passed));

    // The app crashed while its server process lives (answers 500, no healthcheck):
    // the old TCP-only checkpoint passed this; the generated one must not.
    let dead = repo().join("crates/checkpoint/tests/fixtures/init/dead-app.yml");
    let Outcome { code, report, console, .. } = run_zero(dir.path(), "dead", &["-f".as_ref(), dead.as_os_str()]);
    assert_eq!(code, Some(1), "a dead app must never pass\n{console}");
    let status = |id: &str| report.gates.iter().find(|g| g.id == id).map(|g| g.status);
    assert_eq!(status("stack-running"), Some(Status::Passed), "the container runs: {console}");
    assert_eq!(status("api-http-8000"), Some(Status::Failed), "{console}");
}

fn yaml_has_http_probe(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join("checkpoints/0.yaml")).is_ok_and(|y| {
        y.contains("http: { url: \"http://${service.api.8000}/\" }") && y.contains("status: { lt: 500 }")
    })
}

/// Databases and caches that are only `expose`d (the usual production-like
/// compose file): a real query and PING inside their containers, and a reach
/// check from the app on their network — green on the healthy stack.
fn init_checks_exposed_databases_from_inside_the_stack() {
    let dir = tempfile::tempdir().unwrap();
    let compose = std::fs::read_to_string(repo().join("docker-compose.test.yml"))
        .unwrap()
        .replace("    ports:\n      - \"5432\"\n", "    expose:\n      - \"5432\"\n")
        .replace("    ports:\n      - \"6379\"\n", "");
    std::fs::write(dir.path().join("docker-compose.test.yml"), compose).unwrap();
    let init = bin(dir.path()).arg("init").output().unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let yaml = std::fs::read_to_string(dir.path().join("checkpoints/0.yaml")).unwrap();
    assert!(yaml.contains("reach: { from: \"api\", to: \"db\", port: 5432 }"), "{yaml}");
    assert!(yaml.contains("exec: { service: \"redis\", argv: [redis-cli, ping] }"), "{yaml}");
    let Outcome { code, report, console, .. } = run_zero(dir.path(), "exposed", &[]);
    assert_eq!(code, Some(0), "{console}");
    let ids: Vec<&str> = report.gates.iter().map(|g| g.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "stack-running",
            "db-answers",
            "db-reachable",
            "redis-answers",
            "redis-reachable",
            "api-http-8000",
            "api-health"
        ]
    );
}

/// The pystack's Celery worker with no healthcheck, as many compose files have it:
/// "running" is all the file promises. The generated checkpoint pings the worker
/// through its broker from its own container — green on the healthy stack; with the
/// worker cut off from Redis (its container runs on, retrying) that gate, and only
/// that gate, is red, naming the broker error. Before, every gate passed.
fn init_on_the_pystack_pings_the_celery_worker_through_its_broker() {
    let dir = tempfile::tempdir().unwrap();
    // The healthcheck is cut from the file itself: an override cannot remove one under
    // docker-compose 1.29 (it rejects `disable: true` / `test: ["NONE"]` beside the base's
    // `interval:` and `retries:`).
    let compose = std::fs::read_to_string(repo().join("fixtures/pystack/docker-compose.yml")).unwrap();
    let probe = "    healthcheck:\n      test: [\"CMD\", \"celery\", \"-A\", \"pystack.worker\", \"inspect\", \"ping\", \"--timeout\", \"3\"]\n      interval: 5s\n      timeout: 10s\n      retries: 6\n      start_period: 5s\n";
    assert!(compose.contains(probe), "the pystack worker's healthcheck changed; update this test");
    std::fs::write(dir.path().join("docker-compose.test.yml"), compose.replace(probe, "")).unwrap();
    let init = pystack_bin(dir.path()).arg("init").output().unwrap();
    assert!(init.status.success(), "{}", text(&init));
    let yaml = std::fs::read_to_string(dir.path().join("checkpoints/0.yaml")).unwrap();
    assert!(
        yaml.contains(
            "exec: { service: \"worker\", argv: [sh, -c, \"celery -A pystack.worker inspect ping --timeout 5 --destination celery@$(hostname)\"] }"
        ),
        "{yaml}"
    );

    let Outcome { code, report, console, .. } = run_zero_with(pystack_bin(dir.path()), dir.path(), "celery", &[]);
    assert_eq!(code, Some(0), "a healthy stack must never fail\n{console}");
    assert_eq!(ids(&report, |s| s != Status::Passed), BTreeSet::new(), "{console}");
    assert!(report.gates.iter().any(|g| g.id == "worker-celery"), "{console}");

    let cut = repo().join("crates/checkpoint/tests/fixtures/init/worker-cut-from-redis.yml");
    let Outcome { code, report, console, .. } =
        run_zero_with(pystack_bin(dir.path()), dir.path(), "celery-cut", &["-f".as_ref(), cut.as_os_str()]);
    assert_eq!(code, Some(1), "a worker that cannot reach its broker must not pass\n{console}");
    assert_eq!(ids(&report, Status::is_failure), set(&["worker-celery"]), "{console}");
    let reason = report.gates.iter().find(|g| g.id == "worker-celery").and_then(|g| g.reason.as_deref()).unwrap_or("");
    assert!(reason.contains("connecting to redis:6379"), "the reason names the broker error: {reason}");
}
