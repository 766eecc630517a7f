//! Merging shard results (`--shard k/n` runs) into one report.
//!
//! The merged report is a report of the whole selection: gates in definition
//! order (from the shards' `filters.order`; without it, by file and line), the
//! criteria and the verdict evaluated again over every gate — an empty shard's
//! "passed" counts for nothing. Refused, with the reason: results of different
//! checkpoints or selections, shards of different splits, a gate in two
//! shards, a shard given twice, gates no shard ran (a shard is missing).

use std::collections::{BTreeSet, HashMap};

use checkpoint_model::result::RunReport;

use crate::json::ReportError;

pub fn merge(mut reports: Vec<RunReport>) -> Result<RunReport, ReportError> {
    let err = |m: String| Err(ReportError::Merge(m));
    let first = reports.first().ok_or_else(|| ReportError::Merge("nothing to merge".into()))?;
    let id = first.checkpoint.id.clone();
    if let Some(other) = reports.iter().find(|r| r.checkpoint.id != id) {
        return err(format!(
            "results are of different checkpoints: {id} ({}) and {} ({}); merge the shards of one checkpoint at a time",
            first.checkpoint.file, other.checkpoint.id, other.checkpoint.file
        ));
    }
    check_shards(&reports)?;
    reports.sort_by(|a, b| a.started_at.cmp(&b.started_at));
    let mut out = reports[0].clone();
    out.gates.clear();
    out.interrupted = None;
    let mut interrupted = Vec::new();
    for r in &reports {
        for g in &r.gates {
            if let Some(existing) = out.gates.iter().position(|x| x.id == g.id) {
                return err(format!(
                    "gate `{}` is in more than one shard (at {}); merge the results of one sharded run, each shard once",
                    g.id, out.gates[existing].location
                ));
            }
            out.gates.push(g.clone());
        }
        out.duration_ms = out.duration_ms.max(r.duration_ms);
        if let Some(i) = &r.interrupted {
            let label = r.filters.shard.as_deref().map_or_else(String::new, |s| format!("shard {s}: "));
            interrupted.push(format!("{label}{i}"));
        }
    }
    let order = reports.iter().map(|r| &r.filters.order).find(|o| !o.is_empty()).cloned().unwrap_or_default();
    if order.is_empty() {
        // Results without the selection's order (not from --shard): plan order by file, then line.
        out.gates.sort_by(|a, b| {
            (a.location.file.as_str(), a.location.line).cmp(&(b.location.file.as_str(), b.location.line))
        });
    } else {
        let rank: HashMap<&str, usize> = order.iter().enumerate().map(|(i, id)| (id.as_str(), i)).collect();
        if let Some(stray) = out.gates.iter().find(|g| !rank.contains_key(g.id.as_str())) {
            return err(format!(
                "gate `{}` is not in the shards' selection; were these shards run from other files?",
                stray.id
            ));
        }
        let missing: Vec<&str> =
            order.iter().filter(|id| !out.gates.iter().any(|g| &g.id == *id)).map(String::as_str).collect();
        if !missing.is_empty() {
            return err(format!(
                "gates {} are in no shard given ({}); pass the results.json of every shard",
                missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", "),
                shards_given(&reports)
            ));
        }
        out.gates.sort_by_key(|g| rank.get(g.id.as_str()).copied());
    }
    out.filters.shard = None;
    out.filters.order = Vec::new();
    // Stack facts: the first shard that had a stack (an empty shard starts none).
    out.stack = reports.iter().find_map(|r| r.stack.clone());
    if !interrupted.is_empty() {
        out.interrupted = Some(interrupted.join("; "));
    }
    let (verdict, criteria) =
        RunReport::evaluate(&out.gates, out.criteria.should_threshold, out.criteria.pass_rate_threshold);
    out.verdict = verdict;
    out.criteria = criteria;
    Ok(out)
}

/// Shards of one split, each once, of one selection.
fn check_shards(reports: &[RunReport]) -> Result<(), ReportError> {
    let err = |m: String| Err(ReportError::Merge(m));
    let sharded: Vec<&RunReport> = reports.iter().filter(|r| r.filters.shard.is_some()).collect();
    if sharded.is_empty() {
        return Ok(());
    }
    if sharded.len() != reports.len() {
        return err("some results are shards (--shard) and some are not; merge the shards of one run".into());
    }
    let total = |r: &RunReport| r.filters.shard.as_deref().and_then(|s| s.split_once('/')).map(|(_, n)| n.to_string());
    let n = total(sharded[0]);
    if let Some(other) = sharded.iter().find(|r| total(r) != n) {
        return err(format!(
            "shards of different splits: {} and {}; merge the shards of one run",
            sharded[0].filters.shard.as_deref().unwrap_or("?"),
            other.filters.shard.as_deref().unwrap_or("?")
        ));
    }
    let mut seen = BTreeSet::new();
    for r in &sharded {
        let s = r.filters.shard.as_deref().unwrap_or("?");
        if !seen.insert(s) {
            return err(format!("shard {s} is given twice; pass each shard's results.json once"));
        }
    }
    let f = &sharded[0].filters;
    if let Some(other) =
        sharded.iter().find(|r| r.filters.waves != f.waves || r.filters.gates != f.gates || r.filters.order != f.order)
    {
        return err(format!(
            "shards {} and {} ran different selections (--waves/--gate or the checkpoint file differ); run every shard with the same files and flags",
            f.shard.as_deref().unwrap_or("?"),
            other.filters.shard.as_deref().unwrap_or("?")
        ));
    }
    Ok(())
}

fn shards_given(reports: &[RunReport]) -> String {
    let given: Vec<&str> = reports.iter().filter_map(|r| r.filters.shard.as_deref()).collect();
    if given.is_empty() { "no shard numbers recorded".into() } else { format!("got shards {}", given.join(", ")) }
}
