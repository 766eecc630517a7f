//! Validation of a `latency` spec and its default timeout. Kept apart from the
//! other kinds' rules so the shared loader only gains one line per hook.
//!
//! Rules: an http(s) `url`, a known `method`, one body at most; exactly one of
//! `requests` and `duration`; each count, the duration and the rate within
//! range; an explicit `timeout` no shorter than what the spec measures.

use std::time::Duration;

use serde_json::Value;
use serde_saphyr::Spanned;

use super::{Spot, Validator, duration_error, field_spot as spot, require_http_url, reqwest_method_invalid};
use crate::diag::{Diagnostic, Location, did_you_mean};
use crate::latency::{self, MAX_CONCURRENCY, MAX_DURATION, MAX_RATE, MAX_REQUESTS, MAX_WARMUP};
use crate::yaml::Node;

fn templated(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.contains("${"))
}

/// The spec's rules; `whole` is the `latency:` key.
pub(super) fn check_latency(
    v: &mut Validator<'_>,
    spec: &Value,
    name: &str,
    loc: &Location,
    node: Option<&Node>,
    whole: &Spot,
) {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    require_http_url(
        v,
        spec,
        "url",
        node,
        loc,
        "the endpoint to measure, e.g. `url: \"http://${service.api.8000}/health\"`",
    );
    let method = s("method");
    if !method.is_empty() && !method.contains("${") && reqwest_method_invalid(&method) {
        let at = spot(v, node, "method", true, loc);
        v.err(
            Diagnostic::new(format!("`{method}` is not an HTTP method")).span(at.0, at.1).label("unknown method").hint(
                did_you_mean(&method.to_uppercase(), ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
                    .map(|m| format!("did you mean `{m}`?"))
                    .unwrap_or_else(|| "methods: GET (default), POST, PUT, PATCH, DELETE, HEAD, OPTIONS".into()),
            ),
        );
    }
    super::http::check_body(v, "latency", spec, loc, node);
    let how = "`requests: 500` (a number of requests) or `duration: 10s` (a time)";
    match (spec.get("requests"), spec.get("duration")) {
        (None, None) => v.err(
            Diagnostic::new(format!("latency check `{name}` says neither how many requests nor how long"))
                .span(whole.0.clone(), whole.1)
                .label("no `requests` or `duration`")
                .hint(format!("add exactly one: {how}")),
        ),
        (Some(_), Some(_)) => {
            let at = spot(v, node, "duration", false, loc);
            v.err(
                Diagnostic::new(format!("latency check `{name}` has both `requests` and `duration`"))
                    .span(at.0, at.1)
                    .label("a second way to say how much")
                    .hint(format!("keep one: {how}")),
            );
        }
        _ => {}
    }
    let count = |v: &mut Validator<'_>, key: &str, min: u64, max: u64, hint: &str| {
        let Some(x) = spec.get(key) else { return };
        if x.as_u64().is_none_or(|n| n < min || n > max) {
            let at = spot(v, node, key, true, loc);
            v.err(
                Diagnostic::new(format!("`{key}: {x}` is out of range"))
                    .span(at.0, at.1)
                    .label(format!("{min} to {max}"))
                    .hint(hint.to_string()),
            );
        }
    };
    count(v, "requests", 1, MAX_REQUESTS, "how many requests to measure, e.g. `requests: 500`");
    count(
        v,
        "concurrency",
        1,
        MAX_CONCURRENCY,
        "requests in flight at once, one connection each, e.g. `concurrency: 8` (default 4)",
    );
    count(v, "warmup", 0, MAX_WARMUP, "requests sent first and not measured, e.g. `warmup: 20`");
    if let Some(d) = spec.get("duration").filter(|d| !templated(d)) {
        let text = d.as_str().unwrap_or_default();
        let at = spot(v, node, "duration", true, loc);
        match crate::duration::parse(text) {
            Err(e) => v.err(duration_error("duration", text, &e).span(at.0, at.1)),
            Ok(t) if t.is_zero() || t > MAX_DURATION => v.err(
                Diagnostic::new(format!("`duration: {text}` is out of range"))
                    .span(at.0, at.1)
                    .label(format!("more than 0s, at most {}", humantime::format_duration(MAX_DURATION)))
                    .hint("how long to measure, e.g. `duration: 10s`; a longer soak belongs in a load-testing tool"),
            ),
            Ok(_) => {}
        }
    }
    if let Some(r) = spec.get("rate")
        && r.as_f64().is_none_or(|r| !(r > 0.0 && r <= MAX_RATE))
    {
        let at = spot(v, node, "rate", true, loc);
        let shown = r.as_f64().map_or_else(|| r.to_string(), crate::latency::rate);
        v.err(
            Diagnostic::new(format!("`rate: {shown}` is out of range"))
                .span(at.0, at.1)
                .label(format!("more than 0, at most {MAX_RATE}"))
                .hint("the total requests per second to send, e.g. `rate: 200`; leave it out to send as fast as the server answers"),
        );
    }
}

/// What the spec is expected to measure for, when it can be known before the run.
fn expected(spec: &Value) -> Duration {
    let duration = spec
        .get("duration")
        .and_then(Value::as_str)
        .map(|d| if d.contains("${") { MAX_DURATION } else { crate::duration::parse(d).unwrap_or(MAX_DURATION) });
    let concurrency = spec
        .get("concurrency")
        .and_then(Value::as_u64)
        .and_then(|c| u32::try_from(c).ok())
        .unwrap_or(latency::DEFAULT_CONCURRENCY);
    latency::expected_time(
        spec.get("requests").and_then(Value::as_u64),
        duration,
        concurrency,
        spec.get("rate").and_then(Value::as_f64),
        spec.get("warmup").and_then(Value::as_u64).unwrap_or(0),
    )
}

/// The check's timeout: the one written (which must leave room for the
/// measurement), or the expected measuring time plus a margin — the engine's
/// default of 10s would cut a `duration: 30s` short.
pub(super) fn timeout(
    v: &mut Validator<'_>,
    spec: &Value,
    written: Option<&Spanned<String>>,
    parsed: Option<Duration>,
) -> Duration {
    let expected = expected(spec);
    let (Some(w), Some(t)) = (written, parsed) else {
        return latency::default_timeout(expected);
    };
    // Only a measurement whose length is known: `requests` alone depends on the server.
    let measured = spec.get("duration").and_then(Value::as_str).filter(|d| !d.contains("${")).map(|d| d.to_string());
    let by_rate = match (spec.get("requests").and_then(Value::as_u64), spec.get("rate").and_then(Value::as_f64)) {
        (Some(n), Some(r)) => Some(format!("{n} requests at {}/s", crate::latency::rate(r))),
        _ => None,
    };
    let shown =
        humantime::format_duration(Duration::from_millis(u64::try_from(expected.as_millis()).unwrap_or(u64::MAX)));
    if let Some(what) =
        measured.map(|d| format!("`duration: {d}`")).or_else(|| by_rate.map(|w| format!("{w}: {shown}")))
        && t <= expected
    {
        let (at, width) = v.spot(w);
        v.err(
            Diagnostic::new(format!("`timeout: {}` is not longer than the measurement ({what})", w.value.trim()))
                .span(at, width)
                .label("the check would time out before it has measured")
                .hint(format!(
                    "leave `timeout` out (a latency check's default is the measuring time plus {}s), or make it longer",
                    latency::TIMEOUT_SLACK.as_secs()
                )),
        );
    }
    t
}
