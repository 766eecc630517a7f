//! The small commands: list, validate, schema, report.

use std::path::{Path, PathBuf};

use checkpoint_model::diag::Diagnostics;
use checkpoint_model::load::{self, LoadOptions, Loaded};
use checkpoint_model::{exit, result::RunReport};
use indexmap::IndexMap;

use crate::Context;
use crate::cli::{ListArgs, ReportArgs, ValidateArgs, VarArgs};

/// Load options from the common flags; env-file problems are diagnostics.
pub(crate) fn load_options(ctx: &Context, dir: &Path, vars: &VarArgs) -> Result<LoadOptions, Diagnostics> {
    let mut env_file_vars = IndexMap::new();
    let mut diags = Diagnostics::default();
    for f in &vars.env_file {
        match load::read_env_file(f) {
            Ok(v) => env_file_vars.extend(v),
            Err(d) => diags.push(d),
        }
    }
    if !diags.is_empty() {
        return Err(diags);
    }
    Ok(LoadOptions {
        dir: dir.to_path_buf(),
        cli_vars: vars.vars.iter().cloned().collect(),
        env_file_vars,
        env: ctx.env.vars(),
        extra_compose: Vec::new(),
    })
}

/// Loads, or prints every problem and says why nothing ran.
pub(crate) fn load_or_report(
    ctx: &Context,
    dir: &Path,
    vars: &VarArgs,
    select: &[String],
) -> Result<(LoadOptions, Loaded), u8> {
    load_or_report_with(ctx, dir, vars, select, &[])
}

/// [`load_or_report`] with `run -f` compose overrides, whose services count.
pub(crate) fn load_or_report_with(
    ctx: &Context,
    dir: &Path,
    vars: &VarArgs,
    select: &[String],
    extra_compose: &[std::path::PathBuf],
) -> Result<(LoadOptions, Loaded), u8> {
    let mut opts = load_options(ctx, dir, vars).map_err(|d| print_diags(ctx, &d))?;
    opts.extra_compose = extra_compose.iter().map(|f| std::path::absolute(f).unwrap_or_else(|_| f.clone())).collect();
    let loaded = load::load_checkpoints(&opts, select).map_err(|d| print_diags(ctx, &d))?;
    Ok((opts, loaded))
}

pub(crate) fn print_diags(ctx: &Context, d: &Diagnostics) -> u8 {
    crate::err!(ctx, "{}", d.render(ctx.err_color()));
    exit::USAGE
}

pub(crate) fn validate(ctx: &Context, dir: &Path, args: &ValidateArgs) -> u8 {
    match load_or_report(ctx, dir, &args.vars, &args.checkpoints) {
        Ok((_, loaded)) => {
            let gates: usize = loaded.checkpoints.iter().map(|c| c.gates.len()).sum();
            let checks: usize = loaded.checkpoints.iter().flat_map(|c| &c.gates).map(|g| g.checks.len()).sum();
            crate::outln!(
                ctx,
                "ok: {} checkpoint{} valid ({} files, {gates} gates, {checks} checks)",
                loaded.checkpoints.len(),
                if loaded.checkpoints.len() == 1 { "" } else { "s" },
                loaded.files.len()
            );
            // The process ends here: freeing a plan of a thousand checks would be its last millisecond.
            load::free_aside(loaded);
            exit::PASSED
        }
        Err(code) => code,
    }
}

pub(crate) fn list(ctx: &Context, dir: &Path, args: &ListArgs) -> u8 {
    let (_, loaded) = match load_or_report(ctx, dir, &args.vars, &args.checkpoints) {
        Ok(x) => x,
        Err(code) => return code,
    };
    if args.checkpoints.is_empty() {
        for cp in &loaded.checkpoints {
            let mut waves: Vec<&str> = cp.gates.iter().filter_map(|g| g.wave.as_deref()).collect();
            waves.sort_unstable();
            waves.dedup();
            crate::outln!(
                ctx,
                "{:<8} {:<48} {:>3} gates  waves: {}  ({})",
                cp.id,
                cp.title,
                cp.gates.len(),
                if waves.is_empty() { "-".to_string() } else { waves.join(",") },
                cp.file
            );
        }
        return exit::PASSED;
    }
    for cp in &loaded.checkpoints {
        let gates = match checkpoint_runner::engine::select(cp, &args.waves, &[]) {
            Ok(g) => match args.shard {
                Some(s) => checkpoint_runner::shard::select(&g, s),
                None => g,
            },
            Err(e) => {
                crate::errln!(ctx, "error: {e}");
                return exit::USAGE;
            }
        };
        crate::outln!(ctx, "checkpoint {} — {} ({})", cp.id, cp.title, cp.file);
        crate::outln!(
            ctx,
            "criteria: every must gate; should ≥ {:.0}%{}",
            cp.criteria.should * 100.0,
            cp.criteria.pass_rate.map(|p| format!("; pass rate ≥ {:.0}%", p * 100.0)).unwrap_or_default()
        );
        for g in &gates {
            let needs = if g.needs.is_empty() { String::new() } else { format!("  needs: {}", g.needs.join(", ")) };
            crate::outln!(
                ctx,
                "  {:<6} {:<24} {}  [{}]{needs}",
                g.severity.as_str(),
                g.id,
                g.title,
                g.wave.as_deref().unwrap_or("-")
            );
            for c in &g.checks {
                crate::outln!(ctx, "           - {:<9} {}", c.kind(), c.name);
            }
        }
    }
    exit::PASSED
}

pub(crate) fn schema(ctx: &Context) -> u8 {
    crate::out!(ctx, "{}", checkpoint_model::schema::COMMITTED);
    exit::PASSED
}

pub(crate) fn report(ctx: &Context, args: &ReportArgs) -> u8 {
    let mut reports = Vec::new();
    // `checkpoint report merge A.json B.json`: the keyword, unless a file is called `merge`.
    let explicit_merge = args.inputs.len() > 1 && args.inputs[0].as_os_str() == "merge" && !args.inputs[0].exists();
    let inputs = if explicit_merge { &args.inputs[1..] } else { &args.inputs[..] };
    if args.inputs.len() == 1 && args.inputs[0].as_os_str() == "merge" && !args.inputs[0].exists() {
        crate::errln!(ctx, "error: `report merge` needs the shards' files: checkpoint report merge SHARD.json…");
        return exit::USAGE;
    }
    for p in inputs {
        match read_report(p) {
            Ok(r) => reports.push(r),
            Err(e) => {
                crate::errln!(ctx, "error: {e}");
                return exit::USAGE;
            }
        }
    }
    let baseline = match args.baseline.as_ref().map(read_report).transpose() {
        Ok(b) => b,
        Err(e) => {
            crate::errln!(ctx, "error: {e}");
            return exit::USAGE;
        }
    };
    let report = if reports.len() == 1 && !explicit_merge {
        reports.remove(0)
    } else {
        match checkpoint_report::merge(reports) {
            Ok(r) => r,
            Err(e) => {
                crate::errln!(ctx, "error: cannot merge: {e}");
                return exit::USAGE;
            }
        }
    };
    match checkpoint_report::write_all_with(&report, &args.out, baseline.as_ref(), &args.slower_than) {
        Ok(w) => {
            if inputs.len() > 1 || explicit_merge {
                crate::outln!(
                    ctx,
                    "merged {} result file{}: checkpoint {} {} ({} gates)",
                    inputs.len(),
                    if inputs.len() == 1 { "" } else { "s" },
                    report.checkpoint.id,
                    if report.verdict == checkpoint_model::result::Verdict::Passed { "passed" } else { "failed" },
                    report.gates.len()
                );
            }
            print_written(ctx, &w);
            // `report merge` gates a CI matrix: its exit code is the merged verdict.
            if explicit_merge && report.verdict == checkpoint_model::result::Verdict::Failed {
                return exit::FAILED;
            }
            exit::PASSED
        }
        Err(e) => {
            crate::errln!(ctx, "error: cannot write reports to {}: {e}", args.out.display());
            exit::INFRA
        }
    }
}

pub(crate) fn read_report(p: &PathBuf) -> Result<RunReport, String> {
    let text = std::fs::read_to_string(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
    checkpoint_report::read_json(&text).map_err(|e| format!("{}: {e}", p.display()))
}

pub(crate) fn print_written(ctx: &Context, w: &checkpoint_report::Written) {
    crate::outln!(ctx, "reports:");
    crate::outln!(ctx, "  {}", w.markdown.display());
    crate::outln!(ctx, "  {}", w.html.display());
    crate::outln!(ctx, "  {}", w.junit.display());
    crate::outln!(ctx, "  {}", w.json.display());
}
