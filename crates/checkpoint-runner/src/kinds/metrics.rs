//! `metrics`: scrape a Prometheus text-format endpoint and pick one metric by
//! name and labels (a subset: other labels may be present). Fields: `value`
//! (the one matching series, or `aggregate:` of several — `sum` by default),
//! `series` (how many matched), `duration`. The document is
//! `{ metric, labels, aggregate, value, series: [{ name, labels, value }] }`,
//! so `capture: { BEFORE: $.value }` and `json: { $.series[0].labels.status: "200" }` work.
//!
//! The check's own promise is that the metric exists with those labels; when it
//! does not, the reason names the closest metric names present (or the values
//! the labels do have), because a misspelt metric is the usual cause.
//!
//! Parsing is `openmetrics-parser` (the Prometheus 0.0.4 grammar of the
//! OpenMetrics conformance suite): it reads label values such as
//! `path="/items/{id}"` correctly, and rejects a malformed exposition loudly
//! instead of dropping lines. Histograms and summaries are flattened back into
//! the series names of the text (`_bucket` with `le`, `_sum`, `_count`,
//! quantiles), which is what a user reads on the page and writes in `metric:`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::MetricsSpec;
use openmetrics_parser::{MetricNumber, PrometheusValue};
use serde_json::{Map, Value, json};

use crate::kinds::http::describe_reqwest_error;
use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

/// Largest exposition read (a scrape page is kilobytes; this is a guard).
const MAX_BODY: u64 = 16 * 1024 * 1024;
/// Matching series shown in the evidence.
const EVIDENCE_SERIES: usize = 20;

pub struct Metrics;

/// One line of the exposition: `name{labels} value`.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Series {
    fn show(&self) -> String {
        let labels: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        if labels.is_empty() {
            format!("{} {}", self.name, self.value)
        } else {
            format!("{}{{{}}} {}", self.name, labels.join(","), self.value)
        }
    }

    fn to_json(&self) -> Value {
        json!({ "name": self.name, "labels": self.labels, "value": number(self.value) })
    }
}

#[async_trait]
impl CheckKind for Metrics {
    type Spec = MetricsSpec;

    async fn observe(&self, spec: &MetricsSpec, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let url = reqwest::Url::parse(&spec.url)
            .map_err(|e| ObserveError::Errored(format!("`{}` is not a valid URL: {e}", spec.url)))?;
        let client = ctx.http.get(false, false).map_err(ObserveError::Errored)?;
        let mut req = client.get(url.clone());
        for (k, v) in &spec.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        let started = Instant::now();
        let (sent, retried) = client.send(req).await;
        let retried = retried.map(|n| format!("\n{n}")).unwrap_or_default();
        let resp = sent.map_err(|e| {
            let why = describe_reqwest_error(&e);
            ObserveError::failed(format!("GET {url}: {why}"), format!("GET {url}\n→ no response: {why}{retried}"))
        })?;
        let status = resp.status();
        let declared = resp.content_length();
        let (bytes, over) = super::http::read_body(resp, MAX_BODY).await.map_err(|e| {
            ObserveError::failed(format!("GET {url}: reading the body failed: {e}"), format!("GET {url}"))
        })?;
        if over {
            let size = declared.map_or_else(
                || format!("more than {}", checkpoint_model::size::human(MAX_BODY)),
                checkpoint_model::size::human,
            );
            return Err(ObserveError::Errored(format!(
                "GET {url}: the exposition ({size}) is larger than {}; the metrics were not read",
                checkpoint_model::size::human(MAX_BODY)
            )));
        }
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let elapsed = started.elapsed();
        let head = format!(
            "GET {url}\n→ {} {} ({}){retried}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            checkpoint_model::duration::human(checkpoint_model::duration::millis(elapsed))
        );
        if !status.is_success() {
            return Err(ObserveError::failed(
                format!("GET {url}: {} — the metrics endpoint did not answer with 2xx", status.as_u16()),
                format!("{head}\n\n{}", excerpt(&text, 2048)),
            ));
        }
        let all = parse_exposition(&text).map_err(|why| {
            ObserveError::failed(
                format!("the exposition at {url} is not valid Prometheus text format: {}", one_line(&why)),
                format!("{head}\n{why}\n\n{}", excerpt(&text, 4096)),
            )
        })?;
        Ok(select(spec, &all, &head).duration(elapsed))
    }
}

/// The observation for `spec` over the parsed exposition.
pub fn select(spec: &MetricsSpec, all: &[Series], head: &str) -> Observation {
    let matching: Vec<&Series> = all
        .iter()
        .filter(|s| s.name == spec.metric && spec.labels.iter().all(|(k, v)| s.labels.get(k) == Some(v)))
        .collect();
    let aggregate = spec.aggregate.as_deref().unwrap_or("sum");
    let value = match (matching.as_slice(), aggregate) {
        ([], "count") => Some(0.0),
        ([], _) => None,
        (_, "count") => Some(matching.len() as f64),
        (_, "max") => matching.iter().map(|s| s.value).reduce(f64::max),
        (_, "min") => matching.iter().map(|s| s.value).reduce(f64::min),
        _ => Some(matching.iter().map(|s| s.value).sum()),
    };
    let mut evidence = format!("{head}\n{} series in the exposition\n", all.len());
    let selector = show_selector(&spec.metric, &spec.labels);
    let mut problems = Vec::new();
    if matching.is_empty() {
        problems.push(missing(spec, all));
        let _ = writeln!(evidence, "no series matches {selector}");
    } else {
        let _ = writeln!(
            evidence,
            "{} series match {selector}{}:",
            matching.len(),
            if matching.len() > 1 { format!(" ({aggregate} = {})", value.unwrap_or(f64::NAN)) } else { String::new() }
        );
        for s in matching.iter().take(EVIDENCE_SERIES) {
            let _ = writeln!(evidence, "  {}", s.show());
        }
        if matching.len() > EVIDENCE_SERIES {
            let _ = writeln!(evidence, "  … and {} more", matching.len() - EVIDENCE_SERIES);
        }
    }
    let mut notes = Map::new();
    let value_json = value.map_or(Value::Null, number);
    if value.is_some_and(|v| !v.is_finite()) {
        notes.insert(
            "value".into(),
            Value::from(format!("the value is {}, not a number to compare", value.unwrap_or(0.0))),
        );
    } else if value.is_none() {
        notes.insert("value".into(), Value::from(format!("no series matches {selector}")));
    }
    let document = json!({
        "metric": spec.metric,
        "labels": spec.labels,
        "aggregate": aggregate,
        "value": value_json,
        "series": matching.iter().map(|s| s.to_json()).collect::<Vec<_>>(),
    });
    let mut obs = Observation { document: Some(document), evidence, problems, notes, ..Observation::default() }
        .field("series", matching.len());
    if !value_json.is_null() {
        obs = obs.field("value", value_json);
    }
    obs
}

/// The one-line reason for a metric that is not there: the closest names
/// present, or what the asked-for labels do hold.
fn missing(spec: &MetricsSpec, all: &[Series]) -> String {
    let selector = show_selector(&spec.metric, &spec.labels);
    let same_name: Vec<&Series> = all.iter().filter(|s| s.name == spec.metric).collect();
    if same_name.is_empty() {
        let mut names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return format!("metric `{}` not found: the endpoint exposes no metrics at all", spec.metric);
        }
        let mut ranked: Vec<(f64, &str)> = names.iter().map(|n| (strsim::jaro_winkler(&spec.metric, n), *n)).collect();
        ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
        let closest: Vec<String> = ranked.iter().take(3).map(|(_, n)| format!("`{n}`")).collect();
        return format!(
            "metric `{}` not found among {} metric names; closest: {}",
            spec.metric,
            names.len(),
            closest.join(", ")
        );
    }
    // The name exists: say which label does not match, and what it holds.
    for (k, v) in &spec.labels {
        let mut values: Vec<&str> = same_name.iter().filter_map(|s| s.labels.get(k).map(String::as_str)).collect();
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            return format!("no series matches {selector}: `{}` has no label `{k}`", spec.metric);
        }
        if !values.contains(&v.as_str()) {
            let shown: Vec<String> = values.iter().take(8).map(|x| format!("{x:?}")).collect();
            let more = if values.len() > 8 { format!(" (and {} more)", values.len() - 8) } else { String::new() };
            return format!("no series matches {selector}: `{k}` is one of {}{more}", shown.join(", "));
        }
    }
    format!("no series matches {selector}: each label value exists, but not all on one series")
}

fn show_selector(metric: &str, labels: &indexmap::IndexMap<String, String>) -> String {
    if labels.is_empty() {
        format!("`{metric}`")
    } else {
        let l: Vec<String> = labels.iter().map(|(k, v)| format!("{k}={v:?}")).collect();
        format!("`{metric}{{{}}}`", l.join(","))
    }
}

/// Integers as JSON integers (so a captured `42` is `42`, not `42.0`); NaN and ±Inf as null.
fn number(v: f64) -> Value {
    if v.is_finite() && v.fract() == 0.0 && v.abs() < 9_007_199_254_740_992.0 {
        return Value::from(v as i64);
    }
    serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number)
}

/// A parser message in one line: pest draws the spot over several
/// (`--> 3:14`, the source line, `= expected labelname`).
fn one_line(why: &str) -> String {
    let at = why.lines().find_map(|l| l.trim().strip_prefix("--> ")).map(|p| format!("at line:col {p}, "));
    let what =
        why.lines().find_map(|l| l.trim().strip_prefix("= ")).unwrap_or_else(|| why.lines().next().unwrap_or(why));
    format!("{}{}", at.unwrap_or_default(), what.trim())
}

/// Every series of a Prometheus text exposition (format 0.0.4), flattened the
/// way the text reads. The parser is the one place that knows the crate.
pub fn parse_exposition(text: &str) -> Result<Vec<Series>, String> {
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        // Nothing exposed yet (the grammar wants at least one family).
        return Ok(Vec::new());
    }
    let mut text = text.replace("\r\n", "\n");
    if !text.is_empty() && !text.ends_with('\n') {
        // The grammar wants a final newline; exporters that omit it are common.
        text.push('\n');
    }
    // The parser is pure; a panic inside it must not take a run down.
    let parse = |t: &str| {
        std::panic::catch_unwind(|| openmetrics_parser::prometheus::parse_prometheus(t))
            .map_err(|_| "the parser gave up on this input".to_string())?
            .map_err(|e| e.to_string().trim().to_string())
    };
    let parsed = match parse(&text) {
        Ok(p) => p,
        // Prometheus reads samples without `# TYPE` as untyped families; the
        // grammar wants each declared. Retry with the declarations added, and
        // if that fails too report the first error (its line numbers are the page's).
        Err(first) => parse(&declare_untyped(&text)).map_err(|_| first)?,
    };
    let mut out = Vec::new();
    for family in parsed.families.values() {
        let name = family.family_name.as_str();
        for sample in family.iter_samples() {
            let labels: BTreeMap<String, String> = sample
                .get_labelset()
                .map(|l| l.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            let with = |k: &str, v: String| {
                let mut l = labels.clone();
                l.insert(k.to_string(), v);
                l
            };
            let mut push = |n: String, labels: BTreeMap<String, String>, v: f64| {
                out.push(Series { name: n, labels, value: v });
            };
            match &sample.value {
                PrometheusValue::Unknown(n) | PrometheusValue::Gauge(n) => {
                    push(name.into(), labels.clone(), n.as_f64());
                }
                PrometheusValue::Counter(c) => push(name.into(), labels.clone(), c.value.as_f64()),
                PrometheusValue::Histogram(h) => {
                    for b in &h.buckets {
                        push(format!("{name}_bucket"), with("le", float_label(b.upper_bound)), b.count.as_f64());
                    }
                    if let Some(s) = h.sum {
                        push(format!("{name}_sum"), labels.clone(), s.as_f64());
                    }
                    if let Some(c) = h.count {
                        push(format!("{name}_count"), labels.clone(), c as f64);
                    }
                }
                PrometheusValue::Summary(s) => {
                    for q in &s.quantiles {
                        push(name.into(), with("quantile", float_label(q.quantile)), q.value.as_f64());
                    }
                    if let Some(x) = s.sum {
                        push(format!("{name}_sum"), labels.clone(), x.as_f64());
                    }
                    if let Some(c) = s.count {
                        push(format!("{name}_count"), labels.clone(), c as f64);
                    }
                }
            }
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.labels.cmp(&b.labels)));
    Ok(out)
}

/// The text with `# TYPE <name> untyped` before every sample that no
/// preceding `# TYPE` covers (the family's name, or it with a histogram or
/// summary suffix).
fn declare_untyped(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 256);
    let mut family: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            let mut words = rest.split_whitespace();
            if words.next() == Some("TYPE") {
                family = words.next().map(str::to_string);
            }
        } else if !t.is_empty() {
            let name: String = t.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == ':').collect();
            let covered = family.as_deref().is_some_and(|f| {
                name == f || ["_bucket", "_sum", "_count", "_total"].iter().any(|s| name == format!("{f}{s}"))
            });
            if !covered && !name.is_empty() {
                out.push_str(&format!("# TYPE {name} untyped\n"));
                family = Some(name);
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `le`/`quantile` as Prometheus writes them: `+Inf`, `0.5`.
fn float_label(f: f64) -> String {
    if f == f64::INFINITY {
        "+Inf".into()
    } else if f == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{}", MetricNumber::Float(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = "# HELP http_requests_total HTTP requests.\n# TYPE http_requests_total counter\n\
http_requests_total{method=\"GET\",path=\"/items/{id}\",status=\"200\"} 3\n\
http_requests_total{method=\"GET\",path=\"/health\",status=\"200\"} 5\n\
http_requests_total{method=\"POST\",path=\"/a,b\",status=\"500\"} 1\n\
# TYPE http_request_duration_seconds histogram\n\
http_request_duration_seconds_bucket{method=\"GET\",le=\"0.1\"} 1\n\
http_request_duration_seconds_bucket{method=\"GET\",le=\"+Inf\"} 2\n\
http_request_duration_seconds_sum{method=\"GET\"} 0.25\n\
http_request_duration_seconds_count{method=\"GET\"} 2\n\
# TYPE jobs_enqueued_total counter\njobs_enqueued_total 7";

    fn spec(metric: &str, labels: &[(&str, &str)], aggregate: Option<&str>) -> MetricsSpec {
        MetricsSpec {
            url: "http://x/metrics".into(),
            metric: metric.into(),
            labels: labels.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect(),
            aggregate: aggregate.map(str::to_string),
            headers: indexmap::IndexMap::new(),
        }
    }

    #[test]
    fn label_values_with_braces_and_commas_survive_parsing() {
        let all = parse_exposition(DEMO).unwrap();
        let items = all.iter().find(|s| s.labels.get("path").map(String::as_str) == Some("/items/{id}")).unwrap();
        assert_eq!(items.value, 3.0);
        assert!(all.iter().any(|s| s.labels.get("path").map(String::as_str) == Some("/a,b")));
        let count = all.iter().find(|s| s.name == "http_request_duration_seconds_count").unwrap();
        assert_eq!(count.value, 2.0);
        let inf = all.iter().find(|s| s.labels.get("le").map(String::as_str) == Some("+Inf")).unwrap();
        assert_eq!(inf.name, "http_request_duration_seconds_bucket");
        assert_eq!(all.iter().find(|s| s.name == "jobs_enqueued_total").unwrap().value, 7.0);
    }

    #[test]
    fn subset_match_and_aggregates() {
        let all = parse_exposition(DEMO).unwrap();
        let one = select(&spec("http_requests_total", &[("path", "/health")], None), &all, "");
        assert_eq!(one.fields["value"], json!(5));
        assert_eq!(one.fields["series"], json!(1));
        assert!(one.problems.is_empty());
        let get = select(&spec("http_requests_total", &[("method", "GET")], None), &all, "");
        assert_eq!(get.fields["value"], json!(8), "sum by default");
        assert_eq!(get.fields["series"], json!(2));
        let max = select(&spec("http_requests_total", &[], Some("max")), &all, "");
        assert_eq!(max.fields["value"], json!(5));
        let min = select(&spec("http_requests_total", &[], Some("min")), &all, "");
        assert_eq!(min.fields["value"], json!(1));
        let count = select(&spec("http_requests_total", &[], Some("count")), &all, "");
        assert_eq!(count.fields["value"], json!(3));
        assert_eq!(count.document.as_ref().unwrap()["series"].as_array().unwrap().len(), 3);
    }

    #[test]
    fn a_missing_metric_names_the_closest_ones() {
        let all = parse_exposition(DEMO).unwrap();
        let o = select(&spec("http_request_total", &[], None), &all, "");
        assert_eq!(o.fields["series"], json!(0));
        assert!(!o.fields.contains_key("value"));
        let p = &o.problems[0];
        assert!(p.starts_with("metric `http_request_total` not found among"), "{p}");
        assert!(p.contains("closest: `http_requests_total`"), "{p}");
        let o = select(&spec("http_requests_total", &[("status", "404")], None), &all, "");
        assert_eq!(
            o.problems[0],
            "no series matches `http_requests_total{status=\"404\"}`: `status` is one of \"200\", \"500\""
        );
        let o = select(&spec("http_requests_total", &[("route", "/health")], None), &all, "");
        assert!(o.problems[0].ends_with("`http_requests_total` has no label `route`"), "{}", o.problems[0]);
    }

    #[test]
    fn a_malformed_exposition_is_an_error_not_an_empty_page() {
        let e = parse_exposition("up 1\nhttp_requests_total{method=\"GET\" 3\n").unwrap_err();
        assert_eq!(one_line(&e), "at line:col 2:20, expected labels", "{e}");
        assert!(parse_exposition("").unwrap().is_empty());
    }

    #[test]
    fn samples_without_type_lines_are_untyped_families() {
        let all = parse_exposition("# HELP up Is it up.\nup 1\nbuild_info{version=\"1.2\"} 1\nqueue_depth 4").unwrap();
        let names: Vec<&str> = all.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["build_info", "queue_depth", "up"]);
        assert_eq!(all[0].labels["version"], "1.2");
        // Typed families are left as they are; a broken line is still an error at its own line.
        let e = parse_exposition("up 1\ndown 2\nbad{x=\"1\" 3\n").unwrap_err();
        assert_eq!(one_line(&e), "at line:col 3:4, expected labels", "{e}");
    }
}
