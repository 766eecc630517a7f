//! The report of one finished run, put together from what the run collected:
//! the verdict judged against the checkpoint's criteria, and every string
//! masked with the run's secrets — whatever field it is in — before any
//! report is rendered from it.

use std::time::{Duration, SystemTime};

use checkpoint_model::plan::Checkpoint;
use checkpoint_model::result::{CheckpointInfo, FORMAT_VERSION, Filters, GateResult, RunReport, StackReport, Verdict};
use checkpoint_model::secrets::Redactor;

/// What a run collected, for [`assemble`].
#[derive(Debug)]
pub struct Finished<'a> {
    pub checkpoint: &'a Checkpoint,
    /// `checkpoint 0.1.0`.
    pub tool: String,
    pub started_at: SystemTime,
    pub duration: Duration,
    pub filters: Filters,
    pub gates: Vec<GateResult>,
    pub stack: Option<StackReport>,
    /// Why the run was cut short, if it was.
    pub interrupted: Option<String>,
    /// A `--shard` that got no gates: nothing ran, nothing failed, and an
    /// empty shard must not fail a CI matrix.
    pub empty_shard: bool,
}

/// The run's report: judged, then masked.
pub fn assemble(f: Finished<'_>, secrets: &Redactor) -> RunReport {
    let cp = f.checkpoint;
    let (mut verdict, criteria) = RunReport::evaluate(&f.gates, cp.criteria.should, cp.criteria.pass_rate);
    if f.empty_shard && f.interrupted.is_none() {
        verdict = Verdict::Passed;
    }
    let mut report = RunReport {
        format_version: FORMAT_VERSION,
        tool: f.tool,
        checkpoint: CheckpointInfo {
            id: cp.id.clone(),
            title: cp.title.clone(),
            file: cp.file.clone(),
            plan: cp.plan.clone(),
        },
        started_at: humantime::format_rfc3339_seconds(f.started_at).to_string(),
        duration_ms: checkpoint_model::duration::millis(f.duration),
        verdict,
        criteria,
        filters: f.filters,
        gates: f.gates,
        stack: f.stack,
        interrupted: f.interrupted,
    };
    report.redact(secrets);
    report
}

#[cfg(test)]
mod tests {
    use checkpoint_model::plan::Criteria;
    use checkpoint_model::result::Status;
    use indexmap::IndexMap;

    use super::*;

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            id: "1".into(),
            title: "Day one".into(),
            description: None,
            file: "checkpoints/1.yaml".into(),
            plan: None,
            stack: None,
            vars: IndexMap::new(),
            secrets: Vec::new(),
            criteria: Criteria { should: 1.0, pass_rate: None },
            gates: Vec::new(),
        }
    }

    fn gate(status: &str, reason: &str) -> GateResult {
        serde_json::from_value(serde_json::json!({
            "id": "auth", "title": "Authentication working end-to-end", "severity": "must",
            "location": { "file": "checkpoints/1.yaml", "line": 3, "col": 5 },
            "status": status, "reason": reason, "duration_ms": 1.0, "checks": [],
        }))
        .expect("a gate result")
    }

    fn finished(cp: &Checkpoint, gates: Vec<GateResult>, empty_shard: bool) -> Finished<'_> {
        Finished {
            checkpoint: cp,
            tool: "checkpoint test".into(),
            started_at: SystemTime::UNIX_EPOCH,
            duration: Duration::from_millis(1500),
            filters: Filters::default(),
            gates,
            stack: None,
            interrupted: None,
            empty_shard,
        }
    }

    #[test]
    fn a_failed_must_gate_fails_the_run_and_its_secret_is_masked_everywhere() {
        let cp = checkpoint();
        let mut secrets = Redactor::default();
        secrets.add("sessionid=9f8e7d6c5b4a");
        let r =
            assemble(finished(&cp, vec![gate("failed", "cookie sessionid=9f8e7d6c5b4a rejected")], false), &secrets);
        assert_eq!(r.verdict, Verdict::Failed);
        assert_eq!(r.gates[0].status, Status::Failed);
        let reason = r.gates[0].reason.as_deref().unwrap();
        assert!(!reason.contains("9f8e7d6c5b4a") && reason.starts_with("cookie "), "{reason}");
        assert_eq!((r.started_at.as_str(), r.duration_ms), ("1970-01-01T00:00:00Z", 1500.0));
        assert_eq!(r.checkpoint.id, "1");
    }

    #[test]
    fn a_secret_that_is_also_a_word_of_the_report_format_is_still_masked() {
        // A database password `checkpoint` is also a field of every report,
        // `passed` a status: masking must not depend on the format's words.
        let cp = checkpoint();
        for secret in ["checkpoint", "passed", "evidence", "location"] {
            let mut secrets = Redactor::default();
            secrets.add(secret);
            let reason = format!("login with password {secret} refused");
            let r = assemble(finished(&cp, vec![gate("failed", &reason)], false), &secrets);
            assert_eq!(r.gates[0].reason.as_deref(), Some("login with password **** refused"), "{secret}");
            assert_eq!(
                (r.verdict, r.gates[0].status, r.checkpoint.id.as_str()),
                (Verdict::Failed, Status::Failed, "1")
            );
        }
    }

    #[test]
    fn an_empty_shard_passes_unless_it_was_interrupted() {
        let cp = checkpoint();
        let empty = |interrupted: Option<&str>| {
            let mut f = finished(&cp, Vec::new(), true);
            f.interrupted = interrupted.map(str::to_string);
            assemble(f, &Redactor::default()).verdict
        };
        assert_eq!(empty(None), Verdict::Passed);
        assert_eq!(empty(Some("interrupted (Ctrl-C / SIGTERM)")), Verdict::Failed);
    }
}
