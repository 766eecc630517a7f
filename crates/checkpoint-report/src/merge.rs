//! Merging shard results (`--shard k/n` runs) into one report.

use checkpoint_model::result::RunReport;

use crate::json::ReportError;

pub fn merge(mut reports: Vec<RunReport>) -> Result<RunReport, ReportError> {
    let first = reports.first().ok_or_else(|| ReportError::Merge("nothing to merge".into()))?;
    let id = first.checkpoint.id.clone();
    if let Some(other) = reports.iter().find(|r| r.checkpoint.id != id) {
        return Err(ReportError::Merge(format!(
            "results are of different checkpoints: {id} and {}",
            other.checkpoint.id
        )));
    }
    reports.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let mut out = reports[0].clone();
    out.gates.clear();
    out.interrupted = None;
    let mut interrupted = Vec::new();
    for r in &reports {
        for g in &r.gates {
            if let Some(existing) = out.gates.iter().position(|x| x.id == g.id) {
                return Err(ReportError::Merge(format!(
                    "gate `{}` is in more than one shard (at {})",
                    g.id, out.gates[existing].location
                )));
            }
            out.gates.push(g.clone());
        }
        out.duration_ms = out.duration_ms.max(r.duration_ms);
        if let Some(i) = &r.interrupted {
            interrupted.push(i.clone());
        }
    }
    // Plan order: by file, then line.
    out.gates
        .sort_by(|a, b| (a.location.file.as_str(), a.location.line).cmp(&(b.location.file.as_str(), b.location.line)));
    out.filters.shard = None;
    if !interrupted.is_empty() {
        out.interrupted = Some(interrupted.join("; "));
    }
    let (verdict, criteria) =
        RunReport::evaluate(&out.gates, out.criteria.should_threshold, out.criteria.pass_rate_threshold);
    out.verdict = verdict;
    out.criteria = criteria;
    Ok(out)
}
