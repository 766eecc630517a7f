//! The `latency` kind's figures: what a run of many requests measured, as the
//! runner writes it into a check's `metrics` and every report reads it back.
//! One type, one text rendering — the JUnit `system-out`, the Markdown
//! report and the check's evidence show the same distribution.
//!
//! Limits and defaults live here too, so the loader (which validates a spec
//! and derives the default timeout) and the runner agree on them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Requests in flight at once when the spec does not say.
pub const DEFAULT_CONCURRENCY: u32 = 4;
pub const MAX_CONCURRENCY: u64 = 1024;
pub const MAX_REQUESTS: u64 = 1_000_000;
pub const MAX_WARMUP: u64 = 1_000_000;
pub const MAX_RATE: f64 = 1_000_000.0;
/// Longest `duration:` — a gate, not a soak test.
pub const MAX_DURATION: Duration = Duration::from_mins(10);
/// Added to the expected measuring time to make the default timeout.
pub const TIMEOUT_SLACK: Duration = Duration::from_secs(30);
/// The pace assumed per request and connection when nothing else bounds the
/// measuring time (`requests` without `rate`, and every warmup).
pub const ASSUMED_PACE: Duration = Duration::from_millis(100);
/// Bars of the text histogram.
pub const BUCKETS: usize = 10;

/// How long a spec is expected to measure, for the default timeout:
/// `duration` (or `requests / rate`, or `requests` at [`ASSUMED_PACE`] per
/// connection), plus the warmup at [`ASSUMED_PACE`] per connection.
pub fn expected_time(
    requests: Option<u64>,
    duration: Option<Duration>,
    concurrency: u32,
    rate: Option<f64>,
    warmup: u64,
) -> Duration {
    let c = f64::from(concurrency.max(1));
    let pace = ASSUMED_PACE.as_secs_f64();
    let warm = warmup as f64 * pace / c;
    let measure = match (duration, requests, rate) {
        (Some(d), _, _) => d.as_secs_f64(),
        (None, Some(n), Some(r)) if r > 0.0 => n as f64 / r,
        (None, Some(n), _) => n as f64 * pace / c,
        (None, None, _) => MAX_DURATION.as_secs_f64(),
    };
    Duration::from_secs_f64((measure + warm).min(86_400.0))
}

/// The default timeout of a latency check: [`expected_time`] plus [`TIMEOUT_SLACK`].
pub fn default_timeout(expected: Duration) -> Duration {
    expected + TIMEOUT_SLACK
}

/// What one latency check measured. Times in milliseconds; percentiles are
/// absent when no response arrived at all.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Figures {
    /// `GET http://127.0.0.1:8000/health`.
    pub request: String,
    /// Requests measured (warmup excluded): responses plus transport errors.
    pub requests: u64,
    /// Transport errors plus responses with a status ≥ 400.
    pub errors: u64,
    /// `errors / requests` (0 when nothing was measured).
    pub error_rate: f64,
    pub concurrency: u32,
    /// The fixed rate asked for, requests/s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warmup: u64,
    /// From the first measured request to the last response.
    pub duration_ms: f64,
    /// Requests completed per second over `duration_ms`.
    pub rps: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mean: Option<f64>,
    /// Response times in up to [`BUCKETS`] buckets, each with its upper bound.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub histogram: Vec<Bucket>,
    /// Responses by status code (`"200": 497`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub status_codes: BTreeMap<String, u64>,
    /// Failed requests by cause, commonest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub error_kinds: Vec<ErrorCount>,
    /// Connections opened again because the server had closed one.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub reconnects: u64,
    /// Requests still unanswered when the check's timeout stopped the run
    /// (counted in `errors` too).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unfinished: u64,
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Responses with a time ≤ `le_ms` (and above the previous bucket's bound).
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Bucket {
    pub le_ms: f64,
    pub count: u64,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ErrorCount {
    /// `connection refused`, `HTTP 500 Internal Server Error`.
    pub error: String,
    pub count: u64,
}

impl Figures {
    /// The figures of a check's `metrics`, when they are a latency run's.
    pub fn from_metrics(metrics: &serde_json::Value) -> Option<Self> {
        metrics.get("requests")?;
        metrics.get("error_rate")?;
        serde_json::from_value(metrics.clone()).ok()
    }

    /// The percentiles that were measured, in report order.
    pub fn percentiles(&self) -> Vec<(&'static str, f64)> {
        [("p50", self.p50), ("p90", self.p90), ("p95", self.p95), ("p99", self.p99), ("max", self.max)]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| (k, v)))
            .collect()
    }

    /// `500 requests in 1.02s (490 req/s), concurrency 8, 0 errors`.
    pub fn headline(&self) -> String {
        let mut s = format!(
            "{} request{} in {} ({} req/s), concurrency {}",
            self.requests,
            if self.requests == 1 { "" } else { "s" },
            ms(self.duration_ms),
            rate(self.rps),
            self.concurrency
        );
        if let Some(r) = self.rate {
            let _ = write!(s, ", fixed rate {}/s", rate(r));
        }
        if self.warmup > 0 {
            let _ = write!(s, ", after {} warmup", self.warmup);
        }
        let _ = write!(
            s,
            ", {} error{} ({})",
            self.errors,
            if self.errors == 1 { "" } else { "s" },
            percent(self.error_rate)
        );
        s
    }

    /// `37 of 500 requests failed: connection refused` — the commonest causes
    /// (two at most), or None without errors.
    pub fn error_summary(&self) -> Option<String> {
        if self.errors == 0 {
            return None;
        }
        let mut s = match (self.errors, self.requests) {
            (1, 1) => "the 1 request failed".to_string(),
            (e, n) if e >= n => format!("all {n} requests failed"),
            (e, n) => format!("{e} of {n} request{} failed", if n == 1 { "" } else { "s" }),
        };
        match self.error_kinds.as_slice() {
            [] => {}
            [one] => {
                let _ = write!(s, ": {}", one.error);
            }
            kinds => {
                let shown: Vec<String> = kinds.iter().take(2).map(|k| format!("{} ({})", k.error, k.count)).collect();
                let _ = write!(s, ": {}", shown.join(", "));
                if kinds.len() > 2 {
                    let _ = write!(s, " and {} more kind{}", kinds.len() - 2, if kinds.len() == 3 { "" } else { "s" });
                }
            }
        }
        Some(s)
    }

    /// The distribution as plain text: the request, the headline, the
    /// percentile table, then [`Figures::histogram_text`]. Monospace; no colour.
    pub fn text(&self) -> String {
        let mut o = format!("{}\n{}\n", self.request, self.headline());
        let ps = self.percentiles();
        if ps.is_empty() {
            o.push_str("no response arrived: there is no latency to show\n");
        } else {
            let cells: Vec<String> = ps.iter().map(|(_, v)| ms(*v)).collect();
            let width = cells.iter().map(String::len).max().unwrap_or(0).max(3);
            let head: Vec<String> = ps.iter().map(|(k, _)| format!("{k:>width$}")).collect();
            let vals: Vec<String> = cells.iter().map(|c| format!("{c:>width$}")).collect();
            let _ = writeln!(o, "\n  {}\n  {}", head.join("  "), vals.join("  "));
            if let (Some(min), Some(mean)) = (self.min, self.mean) {
                let _ = writeln!(o, "  (min {}, mean {})", ms(min), ms(mean));
            }
        }
        let rest = self.histogram_text();
        if !rest.is_empty() {
            let _ = write!(o, "\n{rest}");
        }
        o
    }

    /// The bucketed response times as bars, then the status codes, the errors
    /// by cause and the reconnects.
    pub fn histogram_text(&self) -> String {
        let mut o = String::new();
        if !self.histogram.is_empty() {
            let top = self.histogram.iter().map(|b| b.count).max().unwrap_or(1).max(1);
            let labels: Vec<String> = self.histogram.iter().map(|b| format!("≤ {}", ms(b.le_ms))).collect();
            let lw = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
            let cw = self.histogram.iter().map(|b| b.count.to_string().len()).max().unwrap_or(1);
            o.push_str("response times (count per bucket):\n");
            for (b, label) in self.histogram.iter().zip(&labels) {
                let bar = ((b.count as f64 / top as f64) * 40.0).round() as usize;
                let bar = if b.count > 0 { bar.max(1) } else { 0 };
                let pad = lw - label.chars().count();
                let _ = writeln!(o, "  {}{label} {:>cw$} {}", " ".repeat(pad), b.count, "■".repeat(bar));
            }
        }
        if !self.status_codes.is_empty() {
            let codes: Vec<String> = self.status_codes.iter().map(|(k, v)| format!("{k} × {v}")).collect();
            let _ = writeln!(o, "status codes: {}", codes.join(", "));
        }
        if !self.error_kinds.is_empty() {
            o.push_str("errors:\n");
            for e in &self.error_kinds {
                let _ = writeln!(o, "  {} × {}", e.count, e.error);
            }
        }
        if self.reconnects > 0 {
            let _ = writeln!(o, "reconnects: {} (the server closed a connection)", self.reconnects);
        }
        o
    }
}

/// A time for a latency report: `0.42ms`, `2.31ms`, `23.1ms`, `231ms`, `1.23s`.
/// Finer than [`crate::duration::human`]: two milliseconds of difference matter here.
pub fn ms(v: f64) -> String {
    if v < 10.0 {
        format!("{v:.2}ms")
    } else if v < 100.0 {
        format!("{v:.1}ms")
    } else if v < 1000.0 {
        format!("{v:.0}ms")
    } else if v < 60_000.0 {
        format!("{:.2}s", v / 1000.0)
    } else {
        crate::duration::human(v)
    }
}

/// `490`, `12.5`, `20`, `0.25`.
pub fn rate(r: f64) -> String {
    if r >= 100.0 || r.fract() == 0.0 {
        format!("{r:.0}")
    } else if r >= 10.0 {
        format!("{r:.1}")
    } else {
        format!("{r:.2}")
    }
}

/// `0%`, `7.4%`, `0.02%`, `100%`.
pub fn percent(f: f64) -> String {
    let t = format!("{:.2}", f * 100.0);
    format!("{}%", t.trim_end_matches('0').trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn figures() -> Figures {
        Figures {
            request: "GET http://127.0.0.1:8000/health".into(),
            requests: 500,
            errors: 37,
            error_rate: 0.074,
            concurrency: 8,
            duration_ms: 1020.0,
            rps: 490.2,
            p50: Some(2.31),
            p90: Some(2.8),
            p95: Some(3.02),
            p99: Some(4.1),
            max: Some(17.86),
            min: Some(2.05),
            mean: Some(2.42),
            histogram: vec![
                Bucket { le_ms: 2.6, count: 312 },
                Bucket { le_ms: 3.2, count: 150 },
                Bucket { le_ms: 17.86, count: 1 },
            ],
            status_codes: BTreeMap::from([("200".into(), 463)]),
            error_kinds: vec![ErrorCount { error: "connection refused".into(), count: 37 }],
            ..Figures::default()
        }
    }

    #[test]
    fn error_summary_names_the_commonest_causes() {
        let mut f = figures();
        assert_eq!(f.error_summary().unwrap(), "37 of 500 requests failed: connection refused");
        f.error_kinds = vec![
            ErrorCount { error: "connection refused".into(), count: 30 },
            ErrorCount { error: "HTTP 500 Internal Server Error".into(), count: 5 },
            ErrorCount { error: "connection reset".into(), count: 2 },
        ];
        assert_eq!(
            f.error_summary().unwrap(),
            "37 of 500 requests failed: connection refused (30), HTTP 500 Internal Server Error (5) and 1 more kind"
        );
        f.errors = 500;
        f.error_kinds.truncate(1);
        assert_eq!(f.error_summary().unwrap(), "all 500 requests failed: connection refused");
        f.errors = 0;
        assert_eq!(f.error_summary(), None);
    }

    #[test]
    fn text_shows_percentiles_histogram_and_errors() {
        let t = figures().text();
        assert!(t.contains("500 requests in 1.02s (490 req/s), concurrency 8, 37 errors (7.4%)"), "{t}");
        assert!(t.contains("   p50     p90     p95     p99     max\n  2.31ms  2.80ms"), "{t}");
        assert!(t.contains("2.31ms"), "{t}");
        assert!(t.contains("≤ 2.60ms 312 ■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■■\n"), "{t}");
        assert!(t.contains("≤ 17.9ms   1 ■\n"), "{t}");
        assert!(t.contains("37 × connection refused"), "{t}");
        let round = Figures::from_metrics(&serde_json::to_value(figures()).unwrap()).unwrap();
        assert_eq!(round, figures());
        assert!(Figures::from_metrics(&serde_json::json!({"runs": 20, "p95": 1.0})).is_none());
    }

    #[test]
    fn times_rates_and_shares_read_well() {
        for (v, want) in [(0.4213, "0.42ms"), (23.14, "23.1ms"), (231.4, "231ms"), (1234.0, "1.23s")] {
            assert_eq!(ms(v), want, "ms({v})");
        }
        for (v, want) in [(0.074, "7.4%"), (1.0, "100%"), (0.0002, "0.02%")] {
            assert_eq!(percent(v), want, "percent({v})");
        }
        for (v, want) in [(490.24, "490"), (20.0, "20"), (20.5, "20.5")] {
            assert_eq!(rate(v), want, "rate({v})");
        }
    }

    #[test]
    fn expected_time_follows_the_spec() {
        let s = |d: Duration| d.as_secs_f64();
        assert_eq!(s(expected_time(None, Some(Duration::from_secs(10)), 4, None, 0)), 10.0);
        assert_eq!(s(expected_time(Some(500), None, 8, Some(100.0), 0)), 5.0);
        assert!((s(expected_time(Some(500), None, 8, None, 80)) - 7.25).abs() < 1e-9);
        assert_eq!(default_timeout(Duration::from_secs(10)), Duration::from_secs(40));
    }
}
