//! A target that scripts the engine's answers, for what the Docker end-to-end
//! tests cannot provoke on demand: a Docker action that never returns, a
//! Ctrl-C while a service is down, a log line the engine delivers late. It
//! records what the engine asked of it.

use std::sync::Mutex;

use async_trait::async_trait;
use checkpoint_runner::{Target, TargetError};
use checkpoint_target::{ExecOutput, ExecRequest, FaultAction};
use tokio_util::sync::CancellationToken;

/// The log as the engine would give it at the moment it is read.
pub(crate) type Log = Box<dyn Fn() -> String + Send + Sync>;

#[derive(Default)]
pub(crate) struct Scripted {
    /// What the engine asked, in order: `fault redis`, `restore redis`.
    pub(crate) calls: Mutex<Vec<String>>,
    /// `fault()` never returns.
    pub(crate) hang: bool,
    /// Cancelled by `fault()` once the service is "down", as a Ctrl-C would.
    pub(crate) cancel_when_down: Option<CancellationToken>,
    /// Every service's log (`logs_since` and `logs_tail`); with none, the
    /// target has no logs of a check's time, as the host has not.
    pub(crate) log: Option<Log>,
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
        Ok(self.log.as_ref().map(|l| l()).unwrap_or_default())
    }
    async fn logs_since(&self, _: &str, _: std::time::SystemTime, _: usize) -> Result<String, TargetError> {
        self.log.as_ref().map(|l| l()).ok_or_else(|| TargetError::Unsupported("scripted: no logs".into()))
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
