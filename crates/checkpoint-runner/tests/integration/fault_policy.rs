//! The engine's policy for a `fault` check, which the Docker end-to-end tests cannot provoke
//! on demand: a Docker action that never returns is bounded like any other step, and the
//! broken service is restored whatever happens meanwhile — a timeout, a failed `during`
//! check, Ctrl-C. The target here scripts the engine's answers (a hung `docker stop`, a
//! cancel while the fault is in place) and records what the engine asked of it; the real
//! faults run against Docker in `crates/checkpoint/tests/integration/demo.rs`.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use checkpoint_model::result::{GateResult, Status};
use checkpoint_runner::{Target, TargetError};
use checkpoint_target::{ExecOutput, ExecRequest, FaultAction};
use tokio_util::sync::CancellationToken;

use crate::support;

/// What the engine asked, in order: `fault redis`, `restore redis`.
#[derive(Default)]
struct Scripted {
    calls: Mutex<Vec<String>>,
    /// `fault()` never returns.
    hang: bool,
    /// Cancelled by `fault()` once the service is "down", as a Ctrl-C would.
    cancel_when_down: Option<CancellationToken>,
}

#[async_trait]
impl Target for Scripted {
    fn describe(&self) -> String {
        "scripted".into()
    }
    async fn endpoint(&self, _: &str, _: u16) -> Result<String, TargetError> {
        Err(TargetError::Unsupported("scripted".into()))
    }
    async fn services(&self) -> Result<Vec<checkpoint_model::result::ServiceReport>, TargetError> {
        Ok(Vec::new())
    }
    async fn exec(&self, _: &str, _: ExecRequest<'_>) -> Result<ExecOutput, TargetError> {
        Err(TargetError::Unsupported("scripted".into()))
    }
    async fn logs_tail(&self, _: &str, _: usize) -> Result<String, TargetError> {
        Ok(String::new())
    }
    async fn fault(&self, service: &str, _: FaultAction, _: Option<&str>) -> Result<(), TargetError> {
        self.calls.lock().unwrap().push(format!("fault {service}"));
        if self.hang {
            std::future::pending::<()>().await;
        }
        if let Some(c) = &self.cancel_when_down {
            c.cancel();
        }
        Ok(())
    }
    async fn restore(&self, service: &str, _: FaultAction, _: Option<&str>) -> Result<(), TargetError> {
        self.calls.lock().unwrap().push(format!("restore {service}"));
        Ok(())
    }
}

const YAML: &str = r#"
gates:
  - id: outage
    title: Redis outage
    checks:
      - name: stop redis
        fault:
          service: redis
          action: stop
          during:
            - name: first look
              command: { argv: ["true"] }
            - name: second look
              command: { argv: ["true"] }
          after:
            - name: back
              command: { argv: ["true"] }
          recover_within: 5s
"#;

async fn run(target: Arc<Scripted>, cancel: CancellationToken) -> GateResult {
    support::run(YAML, support::Setup { cancel, target, ..Default::default() }).await.remove(0)
}

#[tokio::test(start_paused = true)]
async fn a_docker_action_that_never_returns_times_out_and_is_undone() {
    let target = Arc::new(Scripted { hang: true, ..Scripted::default() });
    let g = run(target.clone(), CancellationToken::new()).await;
    let c = &g.checks[0];
    assert_eq!(c.status, Status::TimedOut);
    assert_eq!(c.message.as_deref(), Some("could not stop `redis` within 30.00s (the check's timeout)"));
    assert_eq!(*target.calls.lock().unwrap(), ["fault redis", "restore redis"]);
}

#[tokio::test]
async fn ctrl_c_while_the_service_is_down_restores_it_first() {
    let cancel = CancellationToken::new();
    let target = Arc::new(Scripted { cancel_when_down: Some(cancel.clone()), ..Scripted::default() });
    let g = run(target.clone(), cancel).await;
    let c = &g.checks[0];
    assert_eq!(c.status, Status::Cancelled, "{c:?}");
    assert_eq!(*target.calls.lock().unwrap(), ["fault redis", "restore redis"], "restored before the run ends");
    let evidence = c.evidence.as_deref().unwrap_or("");
    assert!(evidence.ends_with("restored `redis`\n"), "no `after` check runs once cancelled: {evidence}");
}
