//! Prometheus metrics, hand-rolled: `http_requests_total`, `http_request_duration_seconds`
//! and `jobs_enqueued_total`, rendered in the text exposition format by `GET /metrics`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use crate::api::AppState;

/// Prometheus' default buckets, in seconds.
const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
pub(crate) struct Metrics {
    /// (method, path template, status) → count.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// (method, path template) → durations.
    durations: Mutex<BTreeMap<(String, String), Histogram>>,
    pub(crate) jobs_enqueued: AtomicU64,
    /// `GET /items/{id}` answered from the Redis cache, or not.
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
}

#[derive(Default)]
struct Histogram {
    /// Non-cumulative counts per bucket of [`BUCKETS`]; the last slot is `+Inf`.
    counts: [u64; BUCKETS.len() + 1],
    sum: f64,
    count: u64,
}

impl Metrics {
    pub(crate) fn record(&self, method: &str, path: &str, status: u16, elapsed: Duration) {
        let mut requests = self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        *requests.entry((method.to_owned(), path.to_owned(), status)).or_default() += 1;
        drop(requests);

        let seconds = elapsed.as_secs_f64();
        let mut durations = self.durations.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let histogram = durations.entry((method.to_owned(), path.to_owned())).or_default();
        let slot = BUCKETS.iter().position(|&le| seconds <= le).unwrap_or(BUCKETS.len());
        histogram.counts[slot] += 1;
        histogram.sum += seconds;
        histogram.count += 1;
    }

    pub(crate) fn render(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP http_requests_total HTTP requests served, by method, route and status.\n");
        out.push_str("# TYPE http_requests_total counter\n");
        for ((method, path, status), count) in
            self.requests.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter()
        {
            let labels = labels(&[("method", method), ("path", path), ("status", &status.to_string())]);
            let _ = writeln!(out, "http_requests_total{{{labels}}} {count}");
        }

        out.push_str("# HELP http_request_duration_seconds HTTP request latency, by method and route.\n");
        out.push_str("# TYPE http_request_duration_seconds histogram\n");
        for ((method, path), h) in self.durations.lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
            let labels = labels(&[("method", method), ("path", path)]);
            let mut cumulative = 0;
            for (i, count) in h.counts.iter().enumerate() {
                cumulative += count;
                let le = BUCKETS.get(i).map_or("+Inf".to_owned(), f64::to_string);
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{labels},le=\"{le}\"}} {cumulative}");
            }
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{labels}}} {}", h.sum);
            let _ = writeln!(out, "http_request_duration_seconds_count{{{labels}}} {}", h.count);
        }

        out.push_str("# HELP jobs_enqueued_total Jobs accepted by POST /jobs and pushed onto the queue.\n");
        out.push_str("# TYPE jobs_enqueued_total counter\n");
        let _ = writeln!(out, "jobs_enqueued_total {}", self.jobs_enqueued.load(Ordering::Relaxed));

        out.push_str("# HELP cache_requests_total Item reads by cache result.\n");
        out.push_str("# TYPE cache_requests_total counter\n");
        let _ = writeln!(out, "cache_requests_total{{result=\"hit\"}} {}", self.cache_hits.load(Ordering::Relaxed));
        let _ = writeln!(out, "cache_requests_total{{result=\"miss\"}} {}", self.cache_misses.load(Ordering::Relaxed));
        out
    }
}

/// `GET /metrics` → Prometheus text format 0.0.4.
pub(crate) async fn serve(State(state): State<AppState>) -> impl IntoResponse {
    ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], state.metrics.render())
}

fn labels(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(name, value)| {
            let value = value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n");
            format!("{name}=\"{value}\"")
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let metrics = Metrics::default();
        metrics.record("GET", "/items/{id}", 200, Duration::from_millis(3));
        metrics.record("GET", "/items/{id}", 404, Duration::from_millis(30));
        metrics.jobs_enqueued.fetch_add(2, Ordering::Relaxed);
        let text = metrics.render();
        assert!(text.contains("http_requests_total{method=\"GET\",path=\"/items/{id}\",status=\"200\"} 1\n"));
        assert!(text.contains("http_requests_total{method=\"GET\",path=\"/items/{id}\",status=\"404\"} 1\n"));
        assert!(
            text.contains("http_request_duration_seconds_bucket{method=\"GET\",path=\"/items/{id}\",le=\"0.005\"} 1\n")
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{method=\"GET\",path=\"/items/{id}\",le=\"0.05\"} 2\n")
        );
        assert!(
            text.contains("http_request_duration_seconds_bucket{method=\"GET\",path=\"/items/{id}\",le=\"+Inf\"} 2\n")
        );
        assert!(text.contains("http_request_duration_seconds_count{method=\"GET\",path=\"/items/{id}\"} 2\n"));
        assert!(text.contains("# TYPE http_request_duration_seconds histogram\n"));
        assert!(text.contains("jobs_enqueued_total 2\n"));
        assert!(text.ends_with("cache_requests_total{result=\"miss\"} 0\n"));
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(labels(&[("path", "a\"b\\c\nd")]), "path=\"a\\\"b\\\\c\\nd\"");
    }
}
