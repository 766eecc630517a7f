//! What the runner's integration tests share: a checkpoint written as YAML
//! into a fresh project (plus any files it names), loaded by the real loader
//! and run by the engine against an external target (no Docker); in-process
//! HTTP servers on loopback, a port nobody listens on, and the addresses of
//! the Postgres, Redis and MariaDB that `scripts/test-services.sh` starts.

use std::sync::Arc;

use checkpoint_model::load::{LoadOptions, load_checkpoints};
use checkpoint_model::result::{GateResult, Status};
use checkpoint_runner::engine::RunOutcome;
use checkpoint_runner::scope::RunVars;
use checkpoint_runner::{Engine, ExternalTarget, RunOptions, Target};
use tokio_util::sync::CancellationToken;

/// How to run: `--var`s, files relative to the project root, cancellation,
/// `--jobs`, `--fail-fast`, and what the checks run against (no Docker: the
/// host, or a scripted target).
pub(crate) struct Setup<'a> {
    pub(crate) vars: &'a [(&'a str, &'a str)],
    pub(crate) files: &'a [(&'a str, &'a str)],
    pub(crate) cancel: CancellationToken,
    pub(crate) jobs: usize,
    pub(crate) fail_fast: bool,
    pub(crate) target: Arc<dyn Target>,
}

impl Default for Setup<'_> {
    fn default() -> Self {
        Self {
            vars: &[],
            files: &[],
            cancel: CancellationToken::new(),
            jobs: 4,
            fail_fast: false,
            target: Arc::new(ExternalTarget),
        }
    }
}

/// Loads `body` as `checkpoints/1.yaml` of a fresh project and runs every gate.
/// `body` is the checkpoint after its `checkpoint:` and `title:` lines, which
/// this writes: the number must be the file's, and no test reads the title.
/// A definition error fails the test with the rendered diagnostics.
pub(crate) async fn run(body: &str, setup: Setup<'_>) -> Vec<GateResult> {
    run_outcome(body, setup).await.results
}

/// [`run`], with why the run stopped early.
pub(crate) async fn run_outcome(body: &str, setup: Setup<'_>) -> RunOutcome {
    checkpoint_runner::init_tls();
    let dir = tempfile::tempdir().unwrap();
    let cps = dir.path().join("checkpoints");
    std::fs::create_dir_all(&cps).unwrap();
    std::fs::write(cps.join("1.yaml"), format!("checkpoint: 1\ntitle: test\n{body}")).unwrap();
    for (path, text) in setup.files {
        let p = dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let cli_vars: indexmap::IndexMap<String, String> =
        setup.vars.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect();
    let opts = LoadOptions { dir: cps, cli_vars: cli_vars.clone(), ..LoadOptions::default() };
    let loaded = match load_checkpoints(&opts, &["1".to_string()]) {
        Ok(l) => l,
        Err(d) => panic!("{}", d.render(false)),
    };
    let cp = &loaded.checkpoints[0];
    let mut rv = RunVars { cli: cli_vars, ..RunVars::default() };
    rv.expand_vars(&cp.vars).unwrap();
    let mut engine = Engine::new(
        setup.target,
        dir.path().to_path_buf(),
        setup.cancel,
        rv,
        RunOptions { jobs: setup.jobs, fail_fast: setup.fail_fast },
    );
    engine.resolve_endpoints(&cp.gates).await;
    engine.run(cp.gates.clone().into()).await
}

/// Serves `app` on a free loopback port: `http://127.0.0.1:PORT`.
pub(crate) async fn serve(app: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// A token that is cancelled `after` from now, as a Ctrl-C would be.
pub(crate) fn cancel_after(after: std::time::Duration) -> CancellationToken {
    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(after).await;
        trigger.cancel();
    });
    cancel
}

/// A loopback port on which nothing listens (bound, then released).
pub(crate) fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// The gates of a run, found by id.
pub(crate) struct Run {
    pub(crate) gates: Vec<GateResult>,
}

impl Run {
    /// The gate `id`; the test fails when the run has none.
    pub(crate) fn gate(&self, id: &str) -> &GateResult {
        self.gates.iter().find(|g| g.id == id).unwrap_or_else(|| panic!("no gate {id}"))
    }

    /// The gate `id`, which must have ended `status` for a reason that
    /// contains `because`; the test fails showing the whole gate otherwise.
    pub(crate) fn ended(&self, id: &str, status: Status, because: &str) -> &GateResult {
        let g = self.gate(id);
        assert_eq!(g.status, status, "gate {id}: {g:#?}");
        let reason = g.reason.as_deref().unwrap_or_else(|| panic!("gate {id} has no reason: {g:#?}"));
        assert!(reason.contains(because), "gate {id}: the reason {reason:?} does not say {because:?}");
        g
    }
}

/// The address of a test service in the environment variable `name`; the test
/// fails, naming the script that starts `what`, when it is not set.
pub(crate) fn service(name: &str, what: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the tests through scripts/test.sh, which starts {what}"))
}

/// The test Postgres (`CHECKPOINT_TEST_PG`).
pub(crate) fn pg() -> String {
    service("CHECKPOINT_TEST_PG", "Postgres")
}

/// The test Redis (`CHECKPOINT_TEST_REDIS`).
pub(crate) fn redis() -> String {
    service("CHECKPOINT_TEST_REDIS", "Redis")
}

/// The Django reference app (`CHECKPOINT_TEST_DJANGO`, `fixtures/django`).
pub(crate) fn django() -> String {
    service("CHECKPOINT_TEST_DJANGO", "the Django reference app")
}

/// The Python of the Django reference app's venv (`CHECKPOINT_TEST_DJANGO_PYTHON`),
/// to run its `manage.py`.
pub(crate) fn django_python() -> String {
    service("CHECKPOINT_TEST_DJANGO_PYTHON", "the Django reference app")
}
