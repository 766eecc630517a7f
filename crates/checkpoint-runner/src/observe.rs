//! One trait for every check kind: given its (interpolated) spec, observe.
//! Judging the observation is not the kind's job — [`crate::expect`] does that
//! the same way for every kind — except for built-in promises a kind makes
//! (a table exists, every service is healthy), reported as `problems`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use checkpoint_model::matcher::Matcher;
use serde_json::{Map, Value};
use tokio_util::sync::CancellationToken;

use crate::target::{Target, TargetError};

/// What one attempt of a check saw.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// Named fields expectations refer to: `status`, `headers`, `body`,
    /// `duration` (ms), `row_count`, `reply`, `exit_code`, `stdout`, `stderr`.
    pub fields: Map<String, Value>,
    /// The document `json:` expectations and captures query: a response body,
    /// query rows, a Redis reply, a command's JSON output.
    pub document: Option<Value>,
    /// Evidence a person reads when the check fails.
    pub evidence: String,
    /// Promises the kind itself checks; the first is the one-line reason.
    pub problems: Vec<String>,
    /// Figures for the reports (percentiles, …).
    pub metrics: Option<Value>,
    /// Expectations for this observation's mode, applied when the check does
    /// not set that field (a schema comparison expects `conflicts: 0`).
    pub defaults: Vec<(&'static str, Matcher)>,
    /// A word on a field, appended to a failed expectation on it: why it is
    /// absent (`hit_ratio` with no traffic), the first schema conflict.
    pub notes: Map<String, Value>,
    /// Parts that report on their own (the operations of an `openapi` check).
    pub cases: Vec<checkpoint_model::result::CaseResult>,
    /// The service a failed observation is about, when the kind knows (a
    /// `compose` check: the first service it found wrong).
    pub service: Option<String>,
    /// The other side failed rather than answered (an HTTP 5xx): a failed
    /// expectation then quotes what its service logged meanwhile.
    pub server_failed: bool,
}

impl Observation {
    #[must_use]
    pub fn field(mut self, name: &str, v: impl Into<Value>) -> Self {
        self.fields.insert(name.to_string(), v.into());
        self
    }
    #[must_use]
    pub fn duration(self, d: Duration) -> Self {
        self.field("duration", checkpoint_model::duration::millis(d))
    }
}

/// Why there is no observation.
#[derive(Debug, Clone)]
pub enum ObserveError {
    /// The system under test did not answer as a system should (connection
    /// refused, DNS failure, query error): the check *fails*.
    Failed { message: String, evidence: String },
    /// The harness could not observe (bad spec after interpolation, Docker API
    /// error): the check *errors*.
    Errored(String),
    /// The target cannot do this: the check is *skipped* with the reason.
    Unsupported(String),
}

impl ObserveError {
    pub fn failed(message: impl Into<String>, evidence: impl Into<String>) -> Self {
        Self::Failed { message: message.into(), evidence: evidence.into() }
    }
}

impl From<TargetError> for ObserveError {
    fn from(e: TargetError) -> Self {
        match e {
            TargetError::Unsupported(m) => Self::Unsupported(m),
            TargetError::Failed(m) => Self::Errored(m),
        }
    }
}

/// Shared by every check of a run.
pub struct Ctx {
    pub target: Arc<dyn Target>,
    /// The project root: relative paths in specs are resolved against it.
    pub root: PathBuf,
    /// The run's HTTP clients (pooled connections, no cookies).
    pub http: Arc<crate::kinds::http::Clients>,
    /// The running gate's HTTP clients: they send the gate's cookies and keep
    /// what responses set (`http` checks, unless `cookies: false`).
    pub gate_http: Arc<crate::kinds::http::Clients>,
    pub cancel: CancellationToken,
    /// Why `cancel` fired, set once by whoever cancelled first.
    pub cancel_reason: Arc<std::sync::OnceLock<crate::engine::CancelReason>>,
    /// Secret values seen during the run (credentials sent, cookies set,
    /// secret captures): masked in every output from the moment they are seen.
    pub secrets: checkpoint_model::secrets::SharedRedactor,
}

impl Ctx {
    /// The same context for one gate, with its own cookie jar.
    #[must_use]
    pub fn for_gate(&self, jar: Arc<crate::cookies::Jar>) -> Self {
        Self {
            target: self.target.clone(),
            root: self.root.clone(),
            http: self.http.clone(),
            gate_http: Arc::new(self.http.with_jar(jar)),
            cancel: self.cancel.clone(),
            cancel_reason: self.cancel_reason.clone(),
            secrets: self.secrets.clone(),
        }
    }

    /// The gate's cookie jar as a check reads it — for a check whose
    /// `cookies` is on (`sent`), when the gate has one.
    #[must_use]
    pub fn gate_jar(&self, sent: bool) -> Option<&crate::cookies::Jar> {
        self.gate_http.jar().filter(|_| sent).map(AsRef::as_ref)
    }
}

/// One kind's observation, for its typed spec (`checkpoint_model::kinds`);
/// [`crate::kinds::observe`] picks the implementation for a
/// [`checkpoint_model::kinds::CheckSpec`] by an exhaustive match.
#[async_trait]
pub trait CheckKind: Send + Sync {
    /// The kind's spec, as the model defines it.
    type Spec: Sync;

    /// Expectations applied when the check does not set that field:
    /// `status < 300` for http, `exit_code = 0` for commands.
    fn default_expectations(&self) -> Vec<(&'static str, Matcher)> {
        Vec::new()
    }

    /// Observes once. `spec` is the kind's spec with `${…}` expanded;
    /// `timeout` is the attempt's limit (the engine enforces it too).
    async fn observe(&self, spec: &Self::Spec, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError>;
}

/// Cuts long text for evidence, on a char boundary, saying how much was cut.
pub fn excerpt(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}\n… ({} more bytes)", &text[..end], text.len() - end)
}
