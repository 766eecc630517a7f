//! `metrics`: one metric from a Prometheus text-format endpoint, selected by
//! name and labels; its value (or the aggregate of several series) and the
//! number of matching series are the observation.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind, require_http_url};
use crate::diag::{Diagnostic, did_you_mean_or};

/// Aggregations of several matching series, as written after `aggregate:`.
pub const AGGREGATES: &[&str] = &["sum", "max", "min", "count"];

/// A Prometheus text-format endpoint: one metric, selected by name and labels.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// `http://${service.api.8000}/metrics`
    pub url: String,
    /// The series name as exposed: `http_requests_total`, `http_request_duration_seconds_count`.
    pub metric: String,
    /// Labels the series must have (others may be present): `{ route: /health, status: "200" }`.
    #[serde(default)]
    pub labels: IndexMap<String, String>,
    /// How several matching series become `value`: `sum` (default), `max`, `min` or `count`.
    pub aggregate: Option<String>,
    /// Request headers (a token for a protected endpoint).
    #[serde(default)]
    pub headers: IndexMap<String, String>,
}

impl Kind for MetricsSpec {
    const NAME: &'static str = "metrics";
    const EXPECT: &'static [&'static str] = &["value", "series", "json", "duration"];

    /// A Prometheus URL, a metric name as the format allows, a known aggregation.
    fn validate(&self, cx: &mut Cx<'_>) {
        require_http_url(
            cx,
            &self.url,
            "url",
            "the endpoint Prometheus scrapes, e.g. `url: \"http://${service.api.8000}/metrics\"`",
        );
        let metric = &self.metric;
        if !metric.contains("${") && !valid_metric_name(metric) {
            cx.err_at(
                cx.value_at("metric"),
                Diagnostic::new(format!("`{metric}` is not a Prometheus metric name"))
                    .label("letters, digits, `_` and `:`, not starting with a digit")
                    .hint("the series name as exposed, e.g. `metric: http_requests_total` (labels go in `labels:`)"),
            );
        }
        if let Some(a) = self.aggregate.as_deref()
            && !a.contains("${")
            && !AGGREGATES.contains(&a)
        {
            cx.err_at(
                cx.value_at("aggregate"),
                Diagnostic::new(format!("unknown aggregate `{a}`")).label("not an aggregation").hint(did_you_mean_or(
                    a,
                    AGGREGATES.iter().copied(),
                    || format!("aggregates: {}", AGGREGATES.join(", ")),
                )),
            );
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`, the text format's metric names.
pub fn valid_metric_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}
