//! `latency`: response times of many requests to one URL — a number of
//! requests or a duration, at a concurrency, optionally at a fixed rate —
//! as percentiles (figures in [`crate::latency`]).
//!
//! Rules: an http(s) `url`, a known `method`, one body at most; exactly one of
//! `requests` and `duration`; each count, the duration and the rate within
//! range; an explicit `timeout` no shorter than what the spec measures, and a
//! default one that leaves room for the measurement.

use std::time::Duration;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

use super::http::{Body, check_body};
use super::{Cx, Kind, check_method, require_http_url};
use crate::diag::Diagnostic;
use crate::latency::{self, MAX_CONCURRENCY, MAX_DURATION, MAX_RATE, MAX_REQUESTS, MAX_WARMUP};

/// Response times of many requests to one URL: a number of requests or a
/// duration, at a concurrency, optionally at a fixed rate.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// `http://${service.api.8000}/health`
    pub url: String,
    /// `GET` (default), `POST`, …
    pub method: Option<String>,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// A JSON body sent with every request (sets `content-type: application/json`).
    pub json: Option<Value>,
    /// A raw text body sent with every request.
    pub body: Option<String>,
    /// A form body sent with every request, names to scalars
    /// (`application/x-www-form-urlencoded`, in order).
    pub form: Option<IndexMap<String, Value>>,
    /// How many requests to measure (1–1000000); or `duration`, exactly one of the two.
    pub requests: Option<u64>,
    /// How long to measure: `10s` (up to `10m`); or `requests`, exactly one of the two.
    pub duration: Option<String>,
    /// Requests in flight at once, one connection each (default 4, at most 1024).
    pub concurrency: Option<u32>,
    /// A fixed total rate in requests per second; each response time is then
    /// measured from when its request was due, so a slow server cannot hide
    /// its queue (no coordinated omission).
    pub rate: Option<f64>,
    /// Requests sent first and not measured (default 0): warm caches and connections.
    pub warmup: Option<u64>,
    /// Accept invalid TLS certificates (self-signed staging).
    #[serde(default)]
    pub insecure: bool,
    /// Send the gate's cookies (the session an earlier `http` check logged
    /// in with) with every request (default true). What the responses set is
    /// not kept: measuring is not a step of the gate's session.
    #[serde(default = "super::yes")]
    pub cookies: bool,
}

impl Kind for LatencySpec {
    const NAME: &'static str = "latency";
    const EXPECT: &'static [&'static str] = &[
        "p50",
        "p90",
        "p95",
        "p99",
        "max",
        "min",
        "mean",
        "error_rate",
        "errors",
        "requests",
        "rps",
        "json",
        "duration",
    ];

    fn validate(&self, cx: &mut Cx<'_>) {
        require_http_url(
            cx,
            &self.url,
            "url",
            "the endpoint to measure, e.g. `url: \"http://${service.api.8000}/health\"`",
        );
        check_method(cx, self.method.as_deref().unwrap_or_default());
        check_body(cx, Self::NAME, &Body { json: &self.json, body: &self.body, form: &self.form, max_body: None });
        let how = "`requests: 500` (a number of requests) or `duration: 10s` (a time)";
        match (self.requests, &self.duration) {
            (None, None) => {
                cx.err_at(
                    cx.whole.clone(),
                    Diagnostic::new(format!("latency check `{}` says neither how many requests nor how long", cx.name))
                        .label("no `requests` or `duration`")
                        .hint(format!("add exactly one: {how}")),
                );
            }
            (Some(_), Some(_)) => {
                cx.err_at(
                    cx.key_at("duration"),
                    Diagnostic::new(format!("latency check `{}` has both `requests` and `duration`", cx.name))
                        .label("a second way to say how much")
                        .hint(format!("keep one: {how}")),
                );
            }
            _ => {}
        }
        count(cx, "requests", self.requests, 1, MAX_REQUESTS, "how many requests to measure, e.g. `requests: 500`");
        count(
            cx,
            "concurrency",
            self.concurrency.map(u64::from),
            1,
            MAX_CONCURRENCY,
            "requests in flight at once, one connection each, e.g. `concurrency: 8` (default 4)",
        );
        count(cx, "warmup", self.warmup, 0, MAX_WARMUP, "requests sent first and not measured, e.g. `warmup: 20`");
        if let Some(text) = self.duration.as_deref().filter(|d| !d.contains("${")) {
            let at = cx.value_at("duration");
            match crate::duration::parse(text) {
                Err(e) => cx.err_at(at, crate::duration::problem("duration", text, &e)),
                Ok(t) if t.is_zero() || t > MAX_DURATION => cx.err_at(
                    at,
                    Diagnostic::new(format!("`duration: {text}` is out of range"))
                        .label(format!("more than 0s, at most {}", humantime::format_duration(MAX_DURATION)))
                        .hint(
                            "how long to measure, e.g. `duration: 10s`; a longer soak belongs in a load-testing tool",
                        ),
                ),
                Ok(_) => {}
            }
        }
        if let Some(r) = self.rate
            && !(r > 0.0 && r <= MAX_RATE)
        {
            let at = cx.value_at("rate");
            // JSON has no NaN or infinity: they were shown as `null`.
            let shown = if r.is_finite() { latency::rate(r) } else { "null".to_string() };
            cx.err_at(
                at,
                Diagnostic::new(format!("`rate: {shown}` is out of range"))
                    .label(format!("more than 0, at most {MAX_RATE}"))
                    .hint("the total requests per second to send, e.g. `rate: 200`; leave it out to send as fast as the server answers"),
            );
        }
    }

    /// The one written (which must leave room for the measurement), or the
    /// expected measuring time plus a margin — the engine's default of 10s
    /// would cut a `duration: 30s` short.
    fn timeout(
        &self,
        cx: &mut Cx<'_>,
        written: Option<&Spanned<String>>,
        parsed: Option<Duration>,
    ) -> Option<Duration> {
        let expected = self.expected();
        let (Some(w), Some(t)) = (written, parsed) else {
            return Some(latency::default_timeout(expected));
        };
        // Only a measurement whose length is known: `requests` alone depends on the server.
        let measured = self.duration.as_deref().filter(|d| !d.contains("${"));
        let by_rate = match (self.requests, self.finite_rate()) {
            (Some(n), Some(r)) => Some(format!("{n} requests at {}/s", latency::rate(r))),
            _ => None,
        };
        let shown =
            humantime::format_duration(Duration::from_millis(u64::try_from(expected.as_millis()).unwrap_or(u64::MAX)));
        if let Some(what) =
            measured.map(|d| format!("`duration: {d}`")).or_else(|| by_rate.map(|w| format!("{w}: {shown}")))
            && t <= expected
        {
            let (at, width) = cx.spanned(w);
            cx.err(
                Diagnostic::new(format!("`timeout: {}` is not longer than the measurement ({what})", w.value.trim()))
                    .span(at, width)
                    .label("the check would time out before it has measured")
                    .hint(format!(
                        "leave `timeout` out (a latency check's default is the measuring time plus {}s), or make it longer",
                        latency::TIMEOUT_SLACK.as_secs()
                    )),
            );
        }
        Some(t)
    }
}

impl LatencySpec {
    /// `rate`, when it is a number JSON can hold.
    fn finite_rate(&self) -> Option<f64> {
        self.rate.filter(|r| r.is_finite())
    }

    /// What the spec is expected to measure for, when it can be known before the run.
    fn expected(&self) -> Duration {
        let duration = self
            .duration
            .as_deref()
            .map(|d| if d.contains("${") { MAX_DURATION } else { crate::duration::parse(d).unwrap_or(MAX_DURATION) });
        latency::expected_time(
            self.requests,
            duration,
            self.concurrency.unwrap_or(latency::DEFAULT_CONCURRENCY),
            self.finite_rate(),
            self.warmup.unwrap_or(0),
        )
    }
}

/// A count within `min..=max`.
fn count(cx: &mut Cx<'_>, key: &str, value: Option<u64>, min: u64, max: u64, hint: &str) {
    let Some(x) = value else { return };
    if x < min || x > max {
        cx.err_at(
            cx.value_at(key),
            Diagnostic::new(format!("`{key}: {x}` is out of range"))
                .label(format!("{min} to {max}"))
                .hint(hint.to_string()),
        );
    }
}
