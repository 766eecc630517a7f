//! Masking a finished report: every text it holds as data, field by field.
//!
//! The walk is typed, not a trip through a JSON tree and back: a secret that
//! is also a word of the format (a database password `checkpoint` is a field
//! of every report, `passed` a status) is masked in the data and leaves the
//! format whole. Every struct is taken apart without `..`, so a field added
//! to the result model does not compile until this file says how it is
//! masked.

use super::{
    Attempt, CaseResult, CheckResult, CheckpointInfo, CriteriaResult, Filters, GateResult, Incident, NotReadyReport,
    RunReport, ServiceDiagnosis, ServiceReport, StackReport,
};
use crate::diag::Location;
use crate::raw::RawPlanRef;
use crate::secrets::Redactor;

fn text(r: &Redactor, s: &mut String) {
    r.redact_in_place(s);
}

fn opt(r: &Redactor, s: &mut Option<String>) {
    if let Some(s) = s {
        text(r, s);
    }
}

fn all(r: &Redactor, v: &mut [String]) {
    for s in v {
        text(r, s);
    }
}

fn location(r: &Redactor, l: &mut Location) {
    let Location { file, line: _, col: _ } = l;
    text(r, file);
}

fn plan(r: &Redactor, p: &mut Option<RawPlanRef>) {
    if let Some(RawPlanRef { file, heading, item }) = p {
        opt(r, file);
        opt(r, heading);
        opt(r, item);
    }
}

impl RunReport {
    /// Masks `r`'s secrets in every text the report holds as data: names,
    /// messages, evidence, logs, metrics (keys too), paths. The format's own
    /// words — field names, statuses, severities — are not data and stay.
    pub fn redact(&mut self, r: &Redactor) {
        let RunReport {
            format_version: _,
            tool,
            checkpoint,
            started_at,
            duration_ms: _,
            verdict: _,
            criteria,
            filters,
            gates,
            stack,
            interrupted,
        } = self;
        text(r, tool);
        let CheckpointInfo { id, title, file, plan: p } = checkpoint;
        for s in [id, title, file] {
            text(r, s);
        }
        plan(r, p);
        text(r, started_at);
        let CriteriaResult {
            must: _,
            should: _,
            nice: _,
            should_threshold: _,
            pass_rate_threshold: _,
            pass_rate: _,
            must_met: _,
            should_met: _,
            pass_rate_met: _,
        } = criteria;
        let Filters { waves, gates: gate_ids, shard, order } = filters;
        all(r, waves);
        all(r, gate_ids);
        opt(r, shard);
        all(r, order);
        for g in gates {
            g.redact(r);
        }
        if let Some(stack) = stack {
            stack.redact(r);
        }
        opt(r, interrupted);
    }
}

impl GateResult {
    fn redact(&mut self, r: &Redactor) {
        let GateResult {
            id,
            title,
            severity: _,
            wave,
            tags,
            needs,
            plan: p,
            location: l,
            status: _,
            reason,
            started_ms: _,
            duration_ms: _,
            checks,
        } = self;
        text(r, id);
        text(r, title);
        opt(r, wave);
        all(r, tags);
        all(r, needs);
        plan(r, p);
        location(r, l);
        opt(r, reason);
        for c in checks {
            c.redact(r);
        }
    }
}

impl CheckResult {
    fn redact(&mut self, r: &Redactor) {
        let CheckResult {
            name,
            kind,
            location: l,
            status: _,
            message,
            evidence,
            attempts,
            started_ms: _,
            duration_ms: _,
            service,
            logged,
            logs,
            metrics,
            cases,
        } = self;
        text(r, name);
        text(r, kind);
        location(r, l);
        opt(r, message);
        opt(r, evidence);
        for a in attempts {
            let Attempt { status: _, message, started_ms: _, duration_ms: _, evidence } = a;
            opt(r, message);
            opt(r, evidence);
        }
        opt(r, service);
        opt(r, logged);
        opt(r, logs);
        if let Some(m) = metrics {
            r.redact_value(m);
        }
        for c in cases {
            let CaseResult { name, status: _, message, evidence, duration_ms: _ } = c;
            text(r, name);
            opt(r, message);
            opt(r, evidence);
        }
    }
}

impl StackReport {
    fn redact(&mut self, r: &Redactor) {
        let StackReport {
            project,
            compose_files,
            tool,
            started_ms: _,
            up_ms: _,
            ready_ms: _,
            services,
            logs_dir,
            not_ready,
            incidents,
        } = self;
        text(r, project);
        all(r, compose_files);
        text(r, tool);
        for s in services {
            let ServiceReport {
                name,
                image,
                state,
                health,
                restarts: _,
                ready_ms: _,
                exit_code: _,
                oom_killed: _,
                ports,
                log_file,
                one_shot: _,
            } = s;
            text(r, name);
            opt(r, image);
            text(r, state);
            opt(r, health);
            all(r, ports);
            opt(r, log_file);
        }
        opt(r, logs_dir);
        if let Some(NotReadyReport { reason, elapsed_ms: _, services }) = not_ready {
            text(r, reason);
            for s in services {
                let ServiceDiagnosis { service, state, health_checks, log_tail } = s;
                text(r, service);
                text(r, state);
                all(r, health_checks);
                text(r, log_tail);
            }
        }
        for i in incidents {
            let Incident { service, what, restarted: _, after_ready_ms: _, at, log_tail } = i;
            text(r, service);
            text(r, what);
            text(r, at);
            text(r, log_tail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "9f8e7d6c5b4a";

    /// A report with every field present and every text holding the secret.
    fn full_report() -> serde_json::Value {
        let s = |what: &str| format!("{what} {SECRET}");
        let loc = serde_json::json!({ "file": s("file"), "line": 3, "col": 5 });
        let plan = serde_json::json!({ "file": s("plan"), "heading": s("heading"), "item": s("item") });
        let text = serde_json::json!({
            "status": "failed", "message": s("message"), "started_ms": 1.0, "duration_ms": 1.0, "evidence": s("evidence"),
        });
        let case = serde_json::json!({
            "name": s("case"), "status": "failed", "message": s("message"), "evidence": s("evidence"), "duration_ms": 1.0,
        });
        let check = serde_json::json!({
            "name": s("name"), "kind": s("kind"), "location": loc, "status": "failed", "message": s("message"),
            "evidence": s("evidence"), "attempts": [text], "started_ms": 1.0, "duration_ms": 1.0,
            "service": s("service"), "logged": s("logged"), "logs": s("logs"), "metrics": { s("key"): [{ "v": s("value") }] }, "cases": [case],
        });
        let gate = serde_json::json!({
            "id": s("id"), "title": s("title"), "severity": "must", "wave": s("wave"), "tags": [s("tag")],
            "needs": [s("need")], "plan": plan, "location": loc, "status": "failed", "reason": s("reason"),
            "started_ms": 1.0, "duration_ms": 1.0, "checks": [check],
        });
        let service = serde_json::json!({
            "name": s("name"), "image": s("image"), "state": s("state"), "health": s("health"), "restarts": 1,
            "ready_ms": 1.0, "exit_code": 1, "oom_killed": true, "ports": [s("port")], "log_file": s("log"),
            "one_shot": true,
        });
        let diagnosis = serde_json::json!({
            "service": s("service"), "state": s("state"), "health_checks": [s("check")], "log_tail": s("tail"),
        });
        let incident = serde_json::json!({
            "service": s("service"), "what": s("what"), "restarted": true, "after_ready_ms": 1.0, "at": s("at"),
            "log_tail": s("tail"),
        });
        let stack = serde_json::json!({
            "project": s("project"), "compose_files": [s("compose")], "tool": s("tool"), "started_ms": 1.0,
            "up_ms": 1.0, "ready_ms": 1.0, "services": [service], "logs_dir": s("logs"),
            "not_ready": { "reason": s("reason"), "elapsed_ms": 1.0, "services": [diagnosis] },
            "incidents": [incident],
        });
        serde_json::json!({
            "format_version": 1, "tool": s("tool"),
            "checkpoint": { "id": s("id"), "title": s("title"), "file": s("file"), "plan": plan },
            "started_at": s("at"), "duration_ms": 1.0, "verdict": "failed",
            "criteria": {
                "must": { "passed": 0, "failed": 1, "skipped": 0, "total": 1 },
                "should": { "passed": 0, "failed": 0, "skipped": 0, "total": 0 },
                "nice": { "passed": 0, "failed": 0, "skipped": 0, "total": 0 },
                "should_threshold": 1.0, "pass_rate_threshold": 1.0, "pass_rate": 0.0,
                "must_met": false, "should_met": true, "pass_rate_met": false,
            },
            "filters": { "waves": [s("wave")], "gates": [s("gate")], "shard": s("shard"), "order": [s("order")] },
            "gates": [gate],
            "stack": stack,
            "interrupted": s("interrupted"),
        })
    }

    #[test]
    fn every_text_of_a_report_is_masked_and_nothing_else_changes() {
        let full = full_report();
        let mut report: RunReport = serde_json::from_value(full.clone()).expect("a report");
        // The fixture is whole: every field above is one of the model's, none was dropped.
        assert_eq!(serde_json::to_value(&report).unwrap(), full);
        let mut r = Redactor::default();
        r.add(SECRET);
        report.redact(&r);
        let masked = serde_json::to_string(&report).unwrap();
        assert!(!masked.contains(SECRET), "a text kept the secret: {masked}");
        assert_eq!(masked, full.to_string().replace(SECRET, crate::secrets::MASK));
    }
}
