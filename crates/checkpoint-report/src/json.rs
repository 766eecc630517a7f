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
    // The version is read first, on its own, so a file of another version is
    // told as such rather than by whichever field changed; then the file is
    // read straight into the model (through a `Value` tree it cost twice as
    // much: a map with hashed keys for every object of the file).
    #[derive(serde::Deserialize)]
    struct Version {
        format_version: Option<serde_json::Value>,
    }
    let parse = |e: serde_json::Error| ReportError::Parse(e.to_string());
    let v: Version = serde_json::from_str(text).map_err(parse)?;
    let found = v
        .format_version
        .as_ref()
        .and_then(serde_json::Value::as_u64)
        .ok_or_else(|| ReportError::Parse("no `format_version`".into()))?;
    if found != u64::from(FORMAT_VERSION) {
        return Err(ReportError::Version { found });
    }
    serde_json::from_str(text).map_err(parse)
}
