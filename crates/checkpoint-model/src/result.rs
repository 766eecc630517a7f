//! The result model: everything a run observed, serialized as `results.json`.
//! Every report (JUnit, Markdown, console) is rendered from this, so
//! `checkpoint report results.json` reproduces them exactly.
//!
//! `format_version` changes only when a field changes meaning or disappears.

use serde::{Deserialize, Serialize};

use crate::diag::Location;
use crate::plan::Severity;
use crate::raw::RawPlanRef;

mod redact;

pub const FORMAT_VERSION: u32 = 1;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunReport {
    pub format_version: u32,
    pub tool: String,
    pub checkpoint: CheckpointInfo,
    /// RFC 3339, UTC.
    pub started_at: String,
    pub duration_ms: f64,
    pub verdict: Verdict,
    pub criteria: CriteriaResult,
    #[serde(default, skip_serializing_if = "Filters::is_empty")]
    pub filters: Filters,
    pub gates: Vec<GateResult>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackReport>,
    /// Why the run ended early (Ctrl-C, --fail-fast, stack not ready), if it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interrupted: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CheckpointInfo {
    pub id: String,
    pub title: String,
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<RawPlanRef>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Passed,
    Failed,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Filters {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub waves: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gates: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// For a sharded run: the ids of every gate of the whole selection (all
    /// shards), in definition order. A merge restores plan order from it and
    /// names the gates of a missing shard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub order: Vec<String>,
}

impl Filters {
    pub fn is_empty(&self) -> bool {
        self.waves.is_empty() && self.gates.is_empty() && self.shard.is_none() && self.order.is_empty()
    }
}

/// The criteria, evaluated.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CriteriaResult {
    pub must: Tally,
    pub should: Tally,
    pub nice: Tally,
    /// Required share of should gates (0.0–1.0).
    pub should_threshold: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pass_rate_threshold: Option<f64>,
    /// Passed / (gates that ran).
    pub pass_rate: f64,
    pub must_met: bool,
    pub should_met: bool,
    pub pass_rate_met: bool,
}

#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Tally {
    pub passed: u32,
    pub failed: u32,
    pub skipped: u32,
    pub total: u32,
}

/// How a gate or a check ended.
#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Every expectation held.
    Passed,
    /// An expectation was false.
    Failed,
    /// Could not observe: the harness or the infrastructure failed.
    Errored,
    /// The per-attempt time limit was reached.
    TimedOut,
    /// Not run, with a reason (a needed gate failed, needs Docker, filtered).
    Skipped,
    /// The run was interrupted before or while this ran.
    Cancelled,
}

impl Status {
    pub fn is_pass(self) -> bool {
        self == Self::Passed
    }
    /// Failed, errored or timed out: counts against the criteria.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::Failed | Self::Errored | Self::TimedOut)
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Passed => "passed",
            Self::Failed => "failed",
            Self::Errored => "errored",
            Self::TimedOut => "timed out",
            Self::Skipped => "skipped",
            Self::Cancelled => "cancelled",
        }
    }
    /// ✅ ❌ ⏭️ — what the Markdown shows.
    pub fn emoji(self) -> &'static str {
        match self {
            Self::Passed => "✅",
            Self::Failed | Self::Errored | Self::TimedOut => "❌",
            Self::Skipped => "⏭️",
            Self::Cancelled => "⏹️",
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GateResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wave: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub needs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<RawPlanRef>,
    /// Where the gate is defined.
    pub location: Location,
    pub status: Status,
    /// One line a person understands; for a failed gate, the first failing check's reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// When the gate started, in milliseconds since the run started (absent
    /// for a gate that never ran, and in results written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<f64>,
    pub duration_ms: f64,
    pub checks: Vec<CheckResult>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CheckResult {
    pub name: String,
    pub kind: String,
    pub location: Location,
    pub status: Status,
    /// One line: `status: expected 200, got 503`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The evidence: request and response excerpt, query rows, command output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    /// Every attempt, when the check was retried (the last is the outcome).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Attempt>,
    /// When the check started, in milliseconds since the run started (absent
    /// for a check that never ran, and in results written before it existed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<f64>,
    pub duration_ms: f64,
    /// The compose service this check concerns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// What that service logged for the failed check's own request — the
    /// line naming it and its traceback — when the log ties one to it (the
    /// evidence behind a quoted error, whatever other requests logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged: Option<String>,
    /// The tail of that service's log, attached when the check did not pass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs: Option<String>,
    /// Figures a check measured (latency percentiles, …) for the reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<serde_json::Value>,
    /// Parts of the check that report on their own — the operations an
    /// `openapi` check called —, each its own JUnit testcase.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cases: Vec<CaseResult>,
}

impl CheckResult {
    /// A check that did not run — skipped after an earlier check of its gate,
    /// or its gate skipped or cancelled — with the reason as its message.
    pub fn not_run(check: &crate::plan::Check, status: Status, reason: String) -> Self {
        CheckResult {
            name: check.name.clone(),
            kind: check.kind().to_string(),
            location: check.location.clone(),
            status,
            message: Some(reason),
            evidence: None,
            attempts: Vec::new(),
            started_ms: None,
            duration_ms: 0.0,
            service: check.service.clone(),
            logged: None,
            logs: None,
            metrics: None,
            cases: Vec::new(),
        }
    }
}

/// One part of a check: `GET /items/{id} (getItem)`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CaseResult {
    pub name: String,
    pub status: Status,
    /// One line: `200: body /created_at: "created_at" is a required property`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The request sent and the response received.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
    pub duration_ms: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Attempt {
    pub status: Status,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// When the attempt started, in milliseconds since the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<f64>,
    pub duration_ms: f64,
    /// What this attempt saw, in short ([`Attempt::brief`]): an earlier
    /// attempt of a retried check keeps its own evidence, not the last one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub evidence: Option<String>,
}

impl Attempt {
    /// At most [`Attempt::BRIEF_MAX`] characters of `evidence` on one line:
    /// its first line and, for a request, the answer's status line
    /// (`GET http://api:8000/health → 503`).
    pub fn brief(evidence: &str) -> Option<String> {
        let lines: Vec<&str> = evidence.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let first = lines.first()?;
        let mut line = (*first).to_string();
        if let Some(answer) = lines.iter().skip(1).find(|l| l.starts_with('\u{2192}')) {
            line = format!("{line} {answer}");
        }
        if line.chars().count() > Self::BRIEF_MAX {
            line = line.chars().take(Self::BRIEF_MAX - 1).collect::<String>() + "\u{2026}";
        }
        Some(line)
    }

    pub const BRIEF_MAX: usize = 200;
}

/// What the stack looked like, for the "stack facts" section.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct StackReport {
    /// The compose project name of this run.
    pub project: String,
    pub compose_files: Vec<String>,
    /// `docker-compose 1.29.2` / `docker compose v2.x`, or `external`.
    pub tool: String,
    /// When `compose up` started, in milliseconds since the run started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<f64>,
    /// How long `compose up` took (the readiness wait follows it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub up_ms: Option<f64>,
    /// How long the readiness wait took, from the end of `compose up`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<f64>,
    pub services: Vec<ServiceReport>,
    /// Directory where every service's full log was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logs_dir: Option<String>,
    /// Why the stack never became ready, when it did not (the gates ran anyway).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_ready: Option<NotReadyReport>,
    /// What happened to services between ready and teardown that the harness
    /// did not cause (a fault check's own stop is not an incident).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub incidents: Vec<Incident>,
}

/// The stack did not become ready: the one-line reason and, per service that
/// was not ready, its state, last health-check outputs and log tail.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct NotReadyReport {
    /// `not ready after 180s: waiting for api (starting)`, "`api` exited with code 1".
    pub reason: String,
    /// From the start of the wait until it was given up.
    pub elapsed_ms: f64,
    pub services: Vec<ServiceDiagnosis>,
}

/// One service that was not ready.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceDiagnosis {
    pub service: String,
    /// `exited with code 1`, `running, health: starting`, `no container`.
    pub state: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub health_checks: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_tail: String,
}

/// Something that happened to a service after the stack was ready.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Incident {
    pub service: String,
    /// `exited with code 1`, `was killed for running out of memory (exit code 137)`,
    /// `became unhealthy (last check exited 1: …)`.
    pub what: String,
    /// Whether the engine brought the container back (a restart policy).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub restarted: bool,
    /// Time since the stack was ready.
    pub after_ready_ms: f64,
    /// Wall-clock time, RFC 3339.
    pub at: String,
    /// The service's last log lines at that moment.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub log_tail: String,
}

impl Incident {
    /// "`worker` exited with code 1 at +5.2s after ready".
    /// The error its log tail names comes last: "… (restarted since) — it logged "…"".
    pub fn headline(&self) -> String {
        let logged =
            crate::logged::last_error(&self.log_tail).map(|e| format!(" — it logged \"{e}\"")).unwrap_or_default();
        format!(
            "`{}` {} {:.1}s after the stack was ready{}{logged}",
            self.service,
            self.what,
            self.after_ready_ms / 1000.0,
            if self.restarted { " (restarted since)" } else { "" }
        )
    }
}

#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct ServiceReport {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// `running`, `exited`, `restarting`, …
    pub state: String,
    /// `healthy`, `unhealthy`, `starting`, or none without a healthcheck.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<String>,
    pub restarts: u32,
    /// When the service was judged ready, in milliseconds since the
    /// readiness wait started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_ms: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oom_killed: bool,
    /// Published ports: `8000/tcp -> 127.0.0.1:49153`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_file: Option<String>,
    /// Runs once and exits 0 (a migration): `exited` with code 0 is its success.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub one_shot: bool,
}

impl ServiceReport {
    /// The compose service this container belongs to: the name without a
    /// replica's `#n`.
    #[must_use]
    pub fn service(&self) -> &str {
        self.name.split('#').next().unwrap_or(&self.name)
    }

    /// What is wrong with the service now, for a reason that names the cause
    /// first: "`api` exited with code 137 (out of memory)", "`db` is unhealthy",
    /// "`worker` has no container". `None` when it is running (healthy where it
    /// has a healthcheck) or a one-shot that exited 0.
    pub fn problem(&self) -> Option<String> {
        let name = self.service();
        let oom = if self.oom_killed { " (killed: out of memory)" } else { "" };
        match self.state.as_str() {
            "running" => match self.health.as_deref() {
                Some("unhealthy") => Some(format!("`{name}` is unhealthy")),
                _ => None,
            },
            "exited" if self.one_shot && self.exit_code == Some(0) => None,
            "exited" | "dead" => Some(match self.exit_code {
                Some(code) => format!("`{name}` exited with code {code}{oom}"),
                None => format!("`{name}` is {}{oom}", self.state),
            }),
            "not created" => Some(format!("`{name}` has no container")),
            "restarting" => Some(format!(
                "`{name}` is restarting (restarted {} time{}){oom}",
                self.restarts,
                if self.restarts == 1 { "" } else { "s" }
            )),
            other => Some(format!("`{name}` is {other}")),
        }
    }
}

impl RunReport {
    /// Evaluates the criteria over the gate results.
    pub fn evaluate(
        gates: &[GateResult],
        should_threshold: f64,
        pass_rate_threshold: Option<f64>,
    ) -> (Verdict, CriteriaResult) {
        let mut must = Tally::default();
        let mut should = Tally::default();
        let mut nice = Tally::default();
        for g in gates {
            let t = match g.severity {
                Severity::Must => &mut must,
                Severity::Should => &mut should,
                Severity::Nice => &mut nice,
            };
            t.total += 1;
            match g.status {
                Status::Passed => t.passed += 1,
                Status::Skipped | Status::Cancelled => t.skipped += 1,
                _ => t.failed += 1,
            }
        }
        // A skipped or cancelled must gate did not prove its promise: it counts as not met.
        let must_met = must.passed == must.total;
        let should_ratio = if should.total == 0 { 1.0 } else { f64::from(should.passed) / f64::from(should.total) };
        let should_met = should_ratio + 1e-9 >= should_threshold;
        let ran: u32 = gates.iter().filter(|g| !matches!(g.status, Status::Skipped | Status::Cancelled)).count() as u32;
        let passed: u32 = gates.iter().filter(|g| g.status == Status::Passed).count() as u32;
        let pass_rate = if ran == 0 { 0.0 } else { f64::from(passed) / f64::from(ran) };
        let pass_rate_met = pass_rate_threshold.is_none_or(|t| pass_rate + 1e-9 >= t);
        let ok = must_met && should_met && pass_rate_met && !gates.is_empty();
        (
            if ok { Verdict::Passed } else { Verdict::Failed },
            CriteriaResult {
                must,
                should,
                nice,
                should_threshold,
                pass_rate_threshold,
                pass_rate,
                must_met,
                should_met,
                pass_rate_met,
            },
        )
    }
}
