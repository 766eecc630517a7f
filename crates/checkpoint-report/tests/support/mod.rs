//! Builders of the results the report tests render, shared by their test binaries: a
//! check, a gate and a run at fixed places in `checkpoints/1.yaml`, with every optional
//! part left out; each test sets, with `..`, what it is about.

use checkpoint_model::diag::Location;
use checkpoint_model::plan::Severity;
use checkpoint_model::result::{CheckResult, CheckpointInfo, FORMAT_VERSION, Filters, GateResult, RunReport, Status};

/// A check at line 20 that took no time, without message, evidence or attempts.
pub(crate) fn check(name: &str, kind: &str, status: Status) -> CheckResult {
    CheckResult {
        name: name.into(),
        kind: kind.into(),
        location: Location::new("checkpoints/1.yaml", 20, 9),
        status,
        message: None,
        evidence: None,
        attempts: Vec::new(),
        started_ms: None,
        duration_ms: 0.0,
        service: None,
        logged: None,
        logs: None,
        metrics: None,
        cases: Vec::new(),
    }
}

/// A `must` gate at line 10 that took no time, without reason, wave, tags or plan.
pub(crate) fn gate(id: &str, title: &str, status: Status, checks: Vec<CheckResult>) -> GateResult {
    GateResult {
        id: id.into(),
        title: title.into(),
        severity: Severity::Must,
        wave: None,
        tags: vec![],
        needs: vec![],
        plan: None,
        location: Location::new("checkpoints/1.yaml", 10, 7),
        status,
        reason: None,
        started_ms: None,
        duration_ms: 0.0,
        checks,
    }
}

/// A run of checkpoint 1 (`title`) by `tool`, its verdict and criteria evaluated from
/// its gates (threshold 0.7, no should-rate), without stack and filters.
pub(crate) fn report(tool: &str, title: &str, started_at: &str, gates: Vec<GateResult>) -> RunReport {
    let (verdict, criteria) = RunReport::evaluate(&gates, 0.7, None);
    RunReport {
        format_version: FORMAT_VERSION,
        tool: tool.into(),
        checkpoint: CheckpointInfo {
            id: "1".into(),
            title: title.into(),
            file: "checkpoints/1.yaml".into(),
            plan: None,
        },
        started_at: started_at.into(),
        duration_ms: 0.0,
        verdict,
        criteria,
        filters: Filters::default(),
        gates,
        stack: None,
        interrupted: None,
    }
}
