//! `http`: one request; status, headers, body (text and JSON), duration.

use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::matcher::Matcher;
use checkpoint_model::raw::HttpSpec;
use serde_json::{Map, Value};

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt, typed};

/// Bodies larger than this are cut (the check still sees the cut text).
const MAX_BODY: usize = 8 * 1024 * 1024;
const EVIDENCE_BODY: usize = 4096;

/// HTTP clients shared by the run (connection reuse), one per redirect/TLS policy.
#[derive(Default)]
pub struct Clients {
    cells: [OnceLock<Result<reqwest::Client, String>>; 4],
}

impl Clients {
    pub fn get(&self, follow: bool, insecure: bool) -> Result<reqwest::Client, String> {
        let i = usize::from(follow) * 2 + usize::from(insecure);
        self.cells[i]
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(if follow {
                        reqwest::redirect::Policy::limited(10)
                    } else {
                        reqwest::redirect::Policy::none()
                    })
                    .tls_danger_accept_invalid_certs(insecure)
                    .user_agent(concat!("checkpoint/", env!("CARGO_PKG_VERSION")))
                    .pool_max_idle_per_host(64)
                    .build()
                    .map_err(|e| format!("cannot build the HTTP client: {e}"))
            })
            .clone()
    }
}

pub struct Http;

#[async_trait]
impl CheckKind for Http {
    fn name(&self) -> &'static str {
        "http"
    }

    fn default_expectations(&self) -> Vec<(&'static str, Matcher)> {
        vec![("status", Matcher { ops: vec![checkpoint_model::matcher::Op::Lt(Value::from(400))] })]
    }

    async fn observe(&self, spec: &Value, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let spec: HttpSpec = typed(spec)?;
        let method_name = spec.method.as_deref().unwrap_or("GET").to_uppercase();
        let method = reqwest::Method::from_bytes(method_name.as_bytes())
            .map_err(|_| ObserveError::Errored(format!("`{method_name}` is not an HTTP method")))?;
        let url = reqwest::Url::parse(&spec.url)
            .map_err(|e| ObserveError::Errored(format!("`{}` is not a valid URL: {e}", spec.url)))?;
        let client = ctx.http.get(spec.follow_redirects, spec.insecure).map_err(ObserveError::Errored)?;
        let _ = timeout; // the engine bounds every attempt
        let mut req = client.request(method.clone(), url.clone());
        let mut request_text = format!("{method} {url}\n");
        for (k, v) in &spec.headers {
            req = req.header(k.as_str(), v.as_str());
            let _ = writeln!(request_text, "{k}: {v}");
        }
        if let Some(j) = &spec.json {
            req = req.json(j);
            let _ = write!(request_text, "\n{}\n", excerpt(&serde_json::to_string_pretty(j).unwrap_or_default(), 2048));
        } else if let Some(b) = &spec.body {
            req = req.body(b.clone());
            let _ = write!(request_text, "\n{}\n", excerpt(b, 2048));
        }
        let started = Instant::now();
        let resp = req.send().await.map_err(|e| {
            let why = describe_reqwest_error(&e);
            ObserveError::failed(format!("{method} {url}: {why}"), format!("{request_text}\n→ no response: {why}"))
        })?;
        let status = resp.status();
        let mut headers = Map::new();
        for (k, v) in resp.headers() {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            match headers.get_mut(k.as_str()) {
                Some(Value::String(prev)) => {
                    prev.push_str(", ");
                    prev.push_str(&v);
                }
                _ => {
                    headers.insert(k.as_str().to_string(), Value::String(v));
                }
            }
        }
        let bytes = read_body(resp).await.map_err(|e| {
            ObserveError::failed(format!("{method} {url}: reading the body failed: {e}"), request_text.clone())
        })?;
        let elapsed = started.elapsed();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let document = serde_json::from_slice::<Value>(&bytes).ok();
        let mut evidence = request_text;
        let _ = writeln!(
            evidence,
            "\n→ {} {} ({})",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            checkpoint_model::duration::human(checkpoint_model::duration::millis(elapsed))
        );
        for (k, v) in &headers {
            if let Value::String(v) = v {
                let _ = writeln!(evidence, "{k}: {v}");
            }
        }
        if !text.is_empty() {
            let shown = match &document {
                Some(d) => serde_json::to_string_pretty(d).unwrap_or_else(|_| text.clone()),
                None => text.clone(),
            };
            let _ = write!(evidence, "\n{}", excerpt(&shown, EVIDENCE_BODY));
            if document.is_none() {
                evidence.push_str("\n(body is not JSON)");
            }
        }
        Ok(Observation { document, evidence, ..Observation::default() }
            .field("status", status.as_u16())
            .field("headers", Value::Object(headers))
            .field("body", text)
            .duration(elapsed))
    }
}

async fn read_body(mut resp: reqwest::Response) -> Result<Vec<u8>, reqwest::Error> {
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = MAX_BODY.saturating_sub(out.len());
        out.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if out.len() >= MAX_BODY {
            break;
        }
    }
    Ok(out)
}

/// "connection refused", "timed out", "dns error: …": the useful innermost cause.
pub fn describe_reqwest_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out waiting for a response".into();
    }
    let mut cause: &dyn std::error::Error = e;
    let mut last = e.to_string();
    while let Some(next) = cause.source() {
        last = next.to_string();
        cause = next;
    }
    if last.to_lowercase().contains("connection refused") {
        "connection refused (is the service up, and is the port published?)".into()
    } else {
        last
    }
}
