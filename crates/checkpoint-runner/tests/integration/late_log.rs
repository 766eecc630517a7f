//! When the engine reads a failed request's log. A traceback is tied to a
//! request only when no other failed request was logged as near to it; the
//! engine delivers a line some milliseconds after it was written, so a log
//! read the moment the 500 came back can miss the competing request's line
//! and tie a traceback that may be the other's. Docker's delivery lag cannot
//! be provoked on demand: the target here delivers a line 40 ms late, as a
//! busy engine did in the captures of `checkpoint-model/tests/logs/`; the
//! rules on real uvicorn logs are tested there and end to end in the
//! pystack tests.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use axum::http::StatusCode;
use checkpoint_model::result::{GateResult, Status};
use checkpoint_runner::{Target, TargetError};
use checkpoint_target::{ExecOutput, ExecRequest, FaultAction};

use crate::support;

/// The app's log as the engine gives it: this request's access line and a
/// traceback; `late`, another failed request's access line 1 ms after the
/// traceback, delivered that long after the 500 was sent (never if `None`).
struct Delivering {
    answered: Arc<Mutex<Option<Instant>>>,
    late: Option<Duration>,
}

const OWN: &str = "\
2026-12-07T14:19:02.947153297Z INFO:     172.19.0.1:35062 - \"GET /boom HTTP/1.1\" 500 Internal Server Error
2026-12-07T14:19:02.950000000Z ERROR:    Exception in ASGI application
2026-12-07T14:19:02.950001000Z Traceback (most recent call last):
2026-12-07T14:19:02.950002000Z   File \"/app/main.py\", line 9, in boom
2026-12-07T14:19:02.950003000Z     raise RuntimeError(\"boom\")
2026-12-07T14:19:02.950004000Z RuntimeError: boom
";
const OTHER: &str =
    "2026-12-07T14:19:02.951000000Z INFO:     172.19.0.1:35070 - \"GET /other HTTP/1.1\" 500 Internal Server Error\n";

impl Delivering {
    fn log(&self) -> String {
        let answered = *self.answered.lock().unwrap();
        let arrived = matches!((answered, self.late), (Some(at), Some(late)) if at.elapsed() >= late);
        if arrived { format!("{OWN}{OTHER}") } else { OWN.to_string() }
    }
}

#[async_trait]
impl Target for Delivering {
    fn describe(&self) -> String {
        "a target whose engine delivers a line late".into()
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
        Ok(self.log())
    }
    async fn logs_since(&self, _: &str, _: std::time::SystemTime, _: usize) -> Result<String, TargetError> {
        Ok(self.log())
    }
    async fn fault(&self, _: &str, _: FaultAction, _: Option<&str>) -> Result<(), TargetError> {
        Err(TargetError::Unsupported("scripted".into()))
    }
    async fn restore(&self, _: &str, _: FaultAction, _: Option<&str>) -> Result<(), TargetError> {
        Err(TargetError::Unsupported("scripted".into()))
    }
}

/// One check's `GET /boom`, answered 500, against a log whose competing
/// line (if any) arrives `late`.
async fn boom(late: Option<Duration>) -> GateResult {
    let answered = Arc::new(Mutex::new(None));
    let at = answered.clone();
    let app = axum::Router::new().route(
        "/boom",
        axum::routing::get(move || {
            let at = at.clone();
            async move {
                *at.lock().unwrap() = Some(Instant::now());
                (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
            }
        }),
    );
    let base = support::serve(app).await;
    let yaml = format!(
        r#"
gates:
  - id: api
    title: API
    checks:
      - name: boom
        http: {{ url: "{base}/boom" }}
        service: api
"#
    );
    let target = Arc::new(Delivering { answered, late });
    support::run(&yaml, support::Setup { target, ..Default::default() }).await.remove(0)
}

/// Alone near its traceback, the request quotes it.
#[tokio::test]
async fn a_request_alone_near_a_traceback_quotes_it() {
    let g = boom(None).await;
    let c = &g.checks[0];
    assert_eq!(c.status, Status::Failed);
    assert_eq!(c.message.as_deref(), Some("status: expected < 300, got 500 — `api` logged \"RuntimeError: boom\""));
}

/// Another failed request's line delivered 40 ms after the 500 is in the log
/// the engine reads: the traceback may be either's, and is quoted for neither.
#[tokio::test]
async fn a_competing_request_delivered_late_leaves_the_traceback_unquoted() {
    let g = boom(Some(Duration::from_millis(40))).await;
    let c = &g.checks[0];
    assert_eq!(c.status, Status::Failed);
    assert_eq!(c.message.as_deref(), Some("status: expected < 300, got 500"), "{c:#?}");
}
