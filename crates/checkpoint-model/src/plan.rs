//! The validated plan: what [`crate::load`] produces and the runner executes.
//! Every value here has been checked: ids unique, `needs` known and acyclic,
//! matchers parsed, durations parsed, variables resolvable.

use std::time::Duration;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use crate::diag::Location;
use crate::interp::Template;
use crate::kinds::CheckSpec;
use crate::matcher::Matcher;
use crate::raw::{RawPlanRef, RawStack};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Must,
    Should,
    Nice,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Must => "must",
            Self::Should => "should",
            Self::Nice => "nice",
        }
    }
}

#[derive(Clone, Debug)]
pub struct Checkpoint {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// The file, as shown in messages (relative to the current directory).
    pub file: String,
    pub plan: Option<RawPlanRef>,
    pub stack: Option<Stack>,
    /// `vars:` in order, as templates.
    pub vars: IndexMap<String, Template>,
    pub secrets: Vec<String>,
    pub criteria: Criteria,
    /// Included gates first (in include order), then this file's.
    pub gates: Vec<Gate>,
}

#[derive(Clone, Debug)]
pub struct Stack {
    pub raw: RawStack,
    /// Absolute paths of the compose files.
    pub compose_files: Vec<std::path::PathBuf>,
    pub env_files: Vec<std::path::PathBuf>,
    /// Service names found in the compose files (for validation and defaults).
    pub services: Vec<String>,
    pub ready_timeout: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Criteria {
    /// Fraction of should gates that must pass (0.0–1.0).
    pub should: f64,
    /// Optional fraction of all gates that ran that must pass.
    pub pass_rate: Option<f64>,
}

impl Default for Criteria {
    fn default() -> Self {
        Self { should: 0.7, pass_rate: None }
    }
}

#[derive(Clone, Debug)]
pub struct Gate {
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub severity: Severity,
    pub wave: Option<String>,
    pub tags: Vec<String>,
    pub needs: Vec<String>,
    pub plan: Option<RawPlanRef>,
    pub checks: Vec<Check>,
    pub location: Location,
    /// The checkpoint file that defines this gate (differs for included gates).
    pub defined_in: String,
}

#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    /// The kind and its spec; strings still hold `${…}`.
    pub spec: CheckSpec,
    pub expect: Vec<Expectation>,
    /// Variable name → where its value comes from.
    pub capture: Vec<(String, Capture)>,
    pub timeout: Duration,
    pub retry: Option<Retry>,
    /// The compose service this check concerns (explicit, or inferred from the spec).
    pub service: Option<String>,
    pub location: Location,
    /// Nested checks of a `fault`: `during` and `after`.
    pub during: Vec<Check>,
    pub after: Vec<Check>,
}

impl Check {
    /// The kind's name, as written in files and shown in reports.
    pub fn kind(&self) -> &'static str {
        self.spec.kind()
    }
}

/// Where a captured value comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capture {
    /// A JSONPath into the result document.
    Json(String),
    /// A response header (`http`), by its lowercase name.
    Header(String),
    /// A cookie the response set (`http`).
    Cookie(String),
}

impl std::fmt::Display for Capture {
    /// As written: `$.token`, `header location`, `cookie refresh_token`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Json(p) => f.write_str(p),
            Self::Header(h) => write!(f, "header {h}"),
            Self::Cookie(c) => write!(f, "cookie {c}"),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retry {
    pub until: Duration,
    pub every: Duration,
}

impl Retry {
    /// `retry.every` when the file does not say: the one place it is written.
    pub const DEFAULT_EVERY: Duration = Duration::from_millis(500);
}

/// One expectation: a field of the observation (and a key within it) and a matcher.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// `status`, `headers`, `json`, `body`, `duration`, `row_count`, `reply`, `exit_code`, `stdout`, `stderr`,
    /// and the quality kinds' figures (`p95`, `error_rate`, `hit_ratio`, …): see [`CheckSpec::expect_fields`].
    pub field: String,
    /// Header name, cookie name or JSONPath, for `headers`, `cookies` and `json`.
    pub key: Option<String>,
    pub matcher: Matcher,
    pub location: Location,
}

impl Expectation {
    /// `status`, `json $.a.b`, `headers content-type`.
    pub fn label(&self) -> String {
        match &self.key {
            Some(k) => format!("{} {k}", self.field),
            None => self.field.clone(),
        }
    }
}
