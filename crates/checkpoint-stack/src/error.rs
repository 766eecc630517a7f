//! What can go wrong driving a stack, as one error type for the lifecycle
//! (`up`, `down`, `save_logs`, cleanup). Readiness failures are not errors of
//! the harness but findings about the stack: they have their own type,
//! [`crate::NotReady`].
//!
//! Messages are lowercase fragments without trailing punctuation; the compose
//! tool's own output is kept verbatim in [`StackError::Compose`] so the caller
//! can mask secrets in it before printing.

/// A lifecycle operation on the stack failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// Neither `docker compose` (v2) nor `docker-compose` (v1) answered `version`.
    #[error("no compose tool found: {tried}; install Docker Compose (the `docker compose` plugin or `docker-compose`)")]
    ComposeNotFound {
        /// What was run and what it said, one clause per tool.
        tried: String,
    },

    /// The compose tool ran and failed.
    #[error("`{command}` failed ({status}){}", tail_suffix(.tail))]
    Compose {
        /// The command without its file arguments: `docker-compose up`.
        command: String,
        /// `exit status 1`, `killed by signal 9`.
        status: String,
        /// The last lines compose printed (stdout and stderr), oldest first.
        tail: Vec<String>,
    },

    /// The compose tool could not be started at all.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// A call to the Docker Engine API failed.
    #[error("{context}: {source}")]
    Engine {
        /// What was being done: `cannot reach the Docker engine`, `listing containers of project x`.
        context: String,
        #[source]
        source: bollard::errors::Error,
    },

    /// Reading or writing a local file failed (logs, env files).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// Resources with the project label survived teardown and forced removal.
    #[error("teardown of project `{project}` left {}: {}", remaining.len(), remaining.join(", "))]
    Leftovers { project: String, remaining: Vec<String> },

    /// The options cannot work (an invalid project name, …).
    #[error("{0}")]
    Invalid(String),

    /// The cancellation token fired while the operation ran; the compose
    /// process was killed. Whatever it had created is still there: tear down.
    #[error("cancelled")]
    Cancelled,
}

fn tail_suffix(tail: &[String]) -> String {
    if tail.is_empty() { String::new() } else { format!(":\n{}", tail.join("\n")) }
}

impl StackError {
    pub(crate) fn engine(context: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self::Engine { context: context.into(), source }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}
