//! The target: what the checks run against. A check that needs something the
//! target cannot do (exec without a Docker engine) is *skipped* with the
//! target's reason, never failed.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use checkpoint_model::result::{Incident, ServiceReport, StackReport};

#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    /// This target cannot do that at all: the check is skipped with this reason.
    #[error("{0}")]
    Unsupported(String),
    /// It tried and failed: the check errors (or fails, for observations).
    #[error("{0}")]
    Failed(String),
}

/// Output of a command run inside a service.
#[derive(Debug, Clone, Default)]
pub struct ExecOutput {
    pub exit_code: i64,
    pub stdout: String,
    pub stderr: String,
    /// How it was run, for the report: `exec in checkpoint-x-api-1`.
    pub via: String,
}

/// A command for [`Target::exec`] to run inside a service's container.
#[derive(Debug, Clone, Copy)]
pub struct ExecRequest<'a> {
    pub argv: &'a [String],
    /// Set in the command's environment, beside the container's own.
    pub env: &'a [(String, String)],
    /// Run as this user (the image's own when `None`).
    pub user: Option<&'a str>,
    /// How long it may take; past it the target gives up waiting.
    pub timeout: Duration,
}

impl<'a> ExecRequest<'a> {
    /// `argv` with no extra environment, as the image's user.
    pub fn new(argv: &'a [String], timeout: Duration) -> Self {
        Self { argv, env: &[], user: None, timeout }
    }
}

/// What a fault does to a service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultAction {
    Stop,
    Kill,
    Pause,
    Disconnect,
}

impl FaultAction {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "stop" => Self::Stop,
            "kill" => Self::Kill,
            "pause" => Self::Pause,
            "disconnect" => Self::Disconnect,
            _ => return None,
        })
    }
}

#[async_trait]
pub trait Target: Send + Sync {
    /// `docker-compose project checkpoint-1-ab12cd`, `external`.
    fn describe(&self) -> String;

    /// The `host:port` at which the host reaches a service's container port.
    async fn endpoint(&self, service: &str, port: u16) -> Result<String, TargetError>;

    /// Every service of the stack with its state.
    async fn services(&self) -> Result<Vec<ServiceReport>, TargetError>;

    /// Runs a command inside a running container of `service`.
    async fn exec(&self, service: &str, command: ExecRequest<'_>) -> Result<ExecOutput, TargetError>;

    /// Runs `argv` in a throw-away probe container that shares `service`'s
    /// network namespace: for `reach` checks when the service's image lacks tools.
    async fn probe(&self, service: &str, argv: &[String], timeout: Duration) -> Result<ExecOutput, TargetError> {
        let _ = (service, argv, timeout);
        Err(TargetError::Unsupported("this target has no probe containers".into()))
    }

    /// The last `lines` lines of a service's log.
    async fn logs_tail(&self, service: &str, lines: usize) -> Result<String, TargetError>;

    /// What a service logged from `since` on (at most its last `lines`
    /// lines): the log of one check's time, for the error it explains. A
    /// line may begin with the time it was logged (RFC 3339, then a space),
    /// which tells concurrent requests' tracebacks apart.
    /// Unsupported where the target has no logs (the engine then does not
    /// wait for lines that cannot come).
    async fn logs_since(&self, service: &str, since: SystemTime, lines: usize) -> Result<String, TargetError> {
        let _ = (service, since, lines);
        Err(TargetError::Unsupported("this target has no service logs".into()))
    }

    /// Breaks a service; `network` for [`FaultAction::Disconnect`].
    async fn fault(&self, service: &str, action: FaultAction, network: Option<&str>) -> Result<(), TargetError>;

    /// Undoes [`Target::fault`].
    async fn restore(&self, service: &str, action: FaultAction, network: Option<&str>) -> Result<(), TargetError>;

    /// Stack facts for the reports.
    async fn report(&self) -> Option<StackReport> {
        None
    }

    /// What happened to services since the stack was ready, not caused by
    /// the harness (a service that exited, was OOM-killed, turned unhealthy).
    async fn incidents(&self) -> Vec<Incident> {
        Vec::new()
    }
}

/// A stack that is already running somewhere we cannot drive: URLs and DSNs
/// only. Endpoints come from `--var service.NAME.PORT=host:port`.
#[derive(Debug, Default, Clone)]
pub struct ExternalTarget;

const NEEDS_ENGINE: &str = "needs the Docker engine; this run targets an external stack (no compose)";

#[async_trait]
impl Target for ExternalTarget {
    fn describe(&self) -> String {
        "external".into()
    }
    async fn endpoint(&self, service: &str, port: u16) -> Result<String, TargetError> {
        Err(TargetError::Unsupported(format!(
            "no stack to resolve `service.{service}.{port}` from; pass `--var service.{service}.{port}=host:port`"
        )))
    }
    async fn services(&self) -> Result<Vec<ServiceReport>, TargetError> {
        Err(TargetError::Unsupported(NEEDS_ENGINE.into()))
    }
    async fn exec(&self, _: &str, _: ExecRequest<'_>) -> Result<ExecOutput, TargetError> {
        Err(TargetError::Unsupported(NEEDS_ENGINE.into()))
    }
    async fn logs_tail(&self, _: &str, _: usize) -> Result<String, TargetError> {
        Err(TargetError::Unsupported(NEEDS_ENGINE.into()))
    }
    async fn fault(&self, _: &str, _: FaultAction, _: Option<&str>) -> Result<(), TargetError> {
        Err(TargetError::Unsupported(NEEDS_ENGINE.into()))
    }
    async fn restore(&self, _: &str, _: FaultAction, _: Option<&str>) -> Result<(), TargetError> {
        Err(TargetError::Unsupported(NEEDS_ENGINE.into()))
    }
}
