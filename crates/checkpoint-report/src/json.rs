//! `results.json`: the result model, pretty-printed and versioned.

use checkpoint_model::result::{FORMAT_VERSION, RunReport};

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("not a checkpoint results file: {0}")]
    Parse(String),
    #[error(
        "results format version {found} is not supported (this checkpoint reads version {FORMAT_VERSION}); re-run with a matching checkpoint"
    )]
    Version { found: u64 },
    #[error("{0}")]
    Merge(String),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub fn json(report: &RunReport) -> String {
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

pub fn read_json(text: &str) -> Result<RunReport, ReportError> {
    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| ReportError::Parse(e.to_string()))?;
    let found = v
        .get("format_version")
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ReportError::Parse("no `format_version`".into()))?;
    if found != u64::from(FORMAT_VERSION) {
        return Err(ReportError::Version { found });
    }
    serde_json::from_value(v).map_err(|e| ReportError::Parse(e.to_string()))
}
