//! `checkpoint plan sync`: the CLI over `checkpoint_report::plansync`. Reads
//! the plan and the results, prints what changes, writes the plan atomically
//! (or only shows a diff, or only checks).

use std::path::{Path, PathBuf};

use checkpoint_model::exit;
use checkpoint_report::plansync::{self, PlanFile, ResultsFile};
use clap::{Args, Subcommand};

use crate::Context;
use crate::commands::read_report;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Tick the plan's checklist boxes whose gates passed and untick those that failed.
    ///
    /// Only the boxes change: every other byte of the plan (line endings, BOM,
    /// trailing spaces, other boxes, code fences) stays as it is.
    #[command(after_help = SYNC_AFTER_HELP)]
    Sync(SyncArgs),
}

const SYNC_AFTER_HELP: &str = "\
Exit codes:
  0  synced (or already up to date; with --dry-run: whatever the diff)
  1  --check: the plan is out of date
  2  a plan or results file cannot be read
  3  the plan cannot be written

Examples:
  checkpoint plan sync docs/integration-plan.md --results checkpoint-results/results.json
  checkpoint plan sync docs/integration-plan.md -r cp0/results.json -r cp1/results.json --dry-run
  checkpoint plan sync docs/integration-plan.md -r checkpoint-results/results.json --check";

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The Markdown plan whose checklist to update.
    #[arg(value_name = "PLAN_MD")]
    pub plan: PathBuf,

    /// A results.json of a run, or the directory holding it (repeatable). When several decide one
    /// line, the most recent run wins.
    #[arg(long = "results", short = 'r', required = true, value_name = "RESULTS_JSON")]
    pub results: Vec<PathBuf>,

    /// Print a unified diff of what would change and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Write nothing; exit 1 if the plan is out of date (for CI).
    #[arg(long)]
    pub check: bool,
}

pub(crate) fn command(ctx: &Context, dir: &Path, cmd: &PlanCommand) -> u8 {
    match cmd {
        PlanCommand::Sync(a) => sync(ctx, dir, a),
    }
}

fn sync(ctx: &Context, dir: &Path, args: &SyncArgs) -> u8 {
    let shown = args.plan.display().to_string();
    let text = match std::fs::read(&args.plan) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                crate::errln!(
                    ctx,
                    "error: cannot read the plan {shown}: not UTF-8 text (invalid byte at offset {}); save it as UTF-8",
                    e.utf8_error().valid_up_to()
                );
                return exit::USAGE;
            }
        },
        Err(e) => {
            crate::errln!(ctx, "error: cannot read the plan {shown}: {e}");
            return exit::USAGE;
        }
    };
    let mut results = Vec::new();
    for p in &args.results {
        // A run's output directory works too: its results.json.
        let p = if p.is_dir() { p.join(checkpoint_report::write::JSON) } else { p.clone() };
        match read_report(&p) {
            Ok(report) => results.push(ResultsFile { name: p.display().to_string(), report }),
            Err(e) => {
                crate::errln!(ctx, "error: {e}");
                return exit::USAGE;
            }
        }
    }
    // `plan.file` in a checkpoint is relative to the project root: the parent of `--dir`.
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let root = dir.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let plan = PlanFile::new(&args.plan, &root);
    let out = plansync::sync(&text, &plan, &results);

    for w in &out.warnings {
        crate::errln!(ctx, "warning: {w}");
    }
    if out.changes.is_empty() && out.up_to_date == 0 && out.left_as_is == 0 && !out.other_plan_files.is_empty() {
        let names: Vec<&str> = out.other_plan_files.iter().map(String::as_str).collect();
        crate::errln!(
            ctx,
            "warning: no gate of the results refers to {shown}; they name {} (relative to the project root {})",
            names.join(", "),
            root.display()
        );
    }
    if args.dry_run
        && let Some(d) = plansync::unified_diff(&text, &out.text, &format!("a/{shown}"), &format!("b/{shown}"))
    {
        crate::out!(ctx, "{d}");
    }
    // With --dry-run stdout carries the diff alone (pipe it to `patch`/`git apply`).
    let lines = out.change_lines();
    let summary = summary(&shown, &out, args.dry_run || args.check);
    if args.dry_run {
        crate::err!(ctx, "{lines}");
        crate::errln!(ctx, "{summary}");
    } else {
        crate::out!(ctx, "{lines}");
        crate::outln!(ctx, "{summary}");
    }
    if args.check {
        if out.is_changed() {
            crate::errln!(
                ctx,
                "error: {shown} is out of date with the results; run `checkpoint plan sync {shown} --results …` to update it"
            );
            return exit::FAILED;
        }
        return exit::PASSED;
    }
    if args.dry_run || !out.is_changed() {
        return exit::PASSED;
    }
    if let Err(e) = plansync::write_in_place(&args.plan, &text, &out.text) {
        crate::errln!(ctx, "error: cannot write the plan {shown}: {e}");
        return exit::INFRA;
    }
    exit::PASSED
}

fn summary(shown: &str, out: &plansync::Outcome, hypothetical: bool) -> String {
    let ticked = out.changes.iter().filter(|c| c.tick).count();
    let unticked = out.changes.len() - ticked;
    let verb = if hypothetical { "would tick" } else { "ticked" };
    let verb2 = if hypothetical { "would untick" } else { "unticked" };
    let mut parts = vec![format!("{verb} {ticked}"), format!("{verb2} {unticked}")];
    parts.push(format!("{} already up to date", out.up_to_date));
    if out.left_as_is > 0 {
        parts.push(format!("{} left as is (gates skipped or cancelled)", out.left_as_is));
    }
    if out.other_plans > 0 {
        parts.push(format!("{} gate references to other plans ignored", out.other_plans));
    }
    if !out.warnings.is_empty() {
        parts.push(format!("{} warning{}", out.warnings.len(), if out.warnings.len() == 1 { "" } else { "s" }));
    }
    format!("{shown}: {}", parts.join(", "))
}
