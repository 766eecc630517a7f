//! `checkpoint run`: load → stack up → ready → dispatch → report → teardown.
//!
//! Reports are always written, even for a run cut short (Ctrl-C, stack not
//! ready, compose failure): a partial report that says why beats no report.

use std::path::Path;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use anstyle::{AnsiColor, Style};
use checkpoint_model::plan::{Checkpoint, Gate};
use checkpoint_model::result::{Filters, GateResult, RunReport, Status};
use checkpoint_model::secrets::{Redactor, is_secret_name};
use checkpoint_model::{exit, load::LoadOptions};
use checkpoint_runner::engine::CancelReason;
use checkpoint_runner::scope::RunVars;
use checkpoint_runner::{Engine, ExternalTarget, RunOptions, Target};

use crate::Context;
use crate::cli::RunArgs;
use crate::commands::{load_or_report_with, print_written, read_report};
use crate::live::Console;
use crate::stackctl;

pub(crate) async fn run(ctx: &Context, dir: &Path, args: RunArgs) -> u8 {
    let (opts, loaded) = match load_or_report_with(ctx, dir, &args.vars, &args.checkpoints, &args.compose_files) {
        Ok(x) => x,
        Err(code) => return code,
    };
    // Beside the start of the run, while a core is free.
    checkpoint_model::secrets::prepare();
    let baseline = match args.baseline.as_ref().map(read_report).transpose() {
        Ok(b) => b,
        Err(e) => {
            crate::errln!(ctx, "error: --baseline: {e}");
            return exit::USAGE;
        }
    };
    // Select first: a filter that matches nothing is a usage error, before anything starts.
    let mut plans: Vec<(Checkpoint, Arc<[Gate]>)> = Vec::new();
    for cp in loaded.checkpoints {
        match checkpoint_runner::engine::select(&cp, &args.waves, &args.gates) {
            Ok(g) if g.is_empty() => {
                crate::errln!(ctx, "error: checkpoint {} has no gates to run", cp.id);
                return exit::USAGE;
            }
            Ok(g) => {
                // `--shard k/n` splits the selection; this shard may get nothing.
                let g = match args.shard {
                    Some(s) => checkpoint_runner::shard::select(&g, s),
                    None => g,
                };
                plans.push((cp, g.into()));
            }
            Err(e) => {
                crate::errln!(ctx, "error: {e}");
                return exit::USAGE;
            }
        }
    }
    let multiple = plans.len() > 1;
    let mut worst = exit::PASSED;
    for (cp, gates) in &plans {
        let out = if multiple { args.out.join(&cp.id) } else { args.out.clone() };
        let code = run_one(ctx, cp, gates, &opts, &args, &out, baseline.as_ref()).await;
        worst = worse(worst, code);
        if ctx.cancel.is_cancelled() {
            break;
        }
    }
    // The plan is thousands of allocations: freed beside the exit, not before it.
    checkpoint_model::load::free_aside(plans);
    worst
}

/// Infrastructure beats usage beats failure beats pass.
fn worse(a: u8, b: u8) -> u8 {
    let rank = |c: u8| match c {
        exit::INTERRUPTED => 4,
        exit::INFRA => 3,
        exit::USAGE => 2,
        exit::FAILED => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn run_id() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..6).map(|_| char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[rng.random_range(0..36)])).collect()
}

async fn run_one(
    ctx: &Context,
    cp: &Checkpoint,
    gates: &Arc<[Gate]>,
    opts: &LoadOptions,
    args: &RunArgs,
    out: &Path,
    baseline: Option<&RunReport>,
) -> u8 {
    let cancel = &ctx.cancel;
    let started_at = SystemTime::now();
    let started = Instant::now();
    let mut console = Console::new(ctx);
    console.set_id_width(gates.iter().map(|g| g.id.chars().count()).max().unwrap_or(8));
    let bold = Style::new().bold();
    // The whole selection's order (every shard's gates), for `report merge`.
    let order: Vec<String> = match args.shard {
        Some(_) => checkpoint_runner::engine::select(cp, &args.waves, &args.gates)
            .map(|all| all.into_iter().map(|g| g.id).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if let (Some(s), true) = (args.shard, gates.is_empty()) {
        console.line(&format!(
            "shard {s} of checkpoint {} has no gates (the other shards have all {}): nothing to run, \
             writing an empty report; the merged report decides the verdict",
            cp.id,
            order.len()
        ));
    }
    console.line(&console.paint(
        &format!(
            "checkpoint {} — {} ({} gate{}, {} at once)",
            cp.id,
            cp.title,
            gates.len(),
            if gates.len() == 1 { "" } else { "s" },
            args.jobs
        ),
        bold,
    ));
    let id = run_id();
    let root = opts.root();
    let mut vars = RunVars {
        cli: opts.cli_vars.clone(),
        env_file: opts.env_file_vars.clone(),
        env: opts.env.clone(),
        ..RunVars::default()
    };
    vars.builtins.insert("run.id".into(), id.clone());
    vars.builtins.insert("run.root".into(), root.display().to_string());

    // The stack: compose-managed, attached, or none (external).
    let mut stack: Option<stackctl::StackRun> = None;
    let mut interrupted: Option<String> = None;
    let mut infra_error: Option<String> = None;
    if let (Some(spec), false, false) = (&cp.stack, args.external, gates.is_empty()) {
        stackctl::mention_orphans(&console).await;
        match stackctl::start(ctx, cp, spec, &args.into(), out, &mut console).await {
            Ok(s) => {
                vars.builtins.insert("run.project".into(), s.project.clone());
                stack = Some(s);
            }
            // Ctrl-C while compose ran kills compose too: that is an
            // interruption, not a broken stack.
            Err(_) if cancel.is_cancelled() => {}
            Err(e) => infra_error = Some(e),
        }
    }
    // Checked at load time; expanded when read (endpoints are resolved later).
    vars.vars = cp.vars.clone();
    // Grows as the run goes (captured tokens, cookies set, credentials sent).
    let secrets = checkpoint_model::secrets::SharedRedactor::new(redactor(cp, &vars, &ctx.env));
    console.set_secrets(secrets.clone());

    if infra_error.is_some() {
        // The logs of a stack that failed to start were saved before the
        // secrets were known: mask them now, like every other output.
        redact_logs(&out.join("logs"), &secrets.snapshot());
    }
    let results: Vec<GateResult> = if let Some(err) = &infra_error {
        interrupted = Some(format!("the stack did not start: {err}"));
        gates
            .iter()
            .map(|g| not_run(g, Status::Errored, &format!("the stack did not start: {}", first_line(err))))
            .collect()
    } else if cancel.is_cancelled() {
        interrupted = Some(INTERRUPTED.into());
        gates.iter().map(|g| not_run(g, Status::Cancelled, "interrupted before it ran")).collect()
    } else {
        let target: Arc<dyn Target> = match &stack {
            Some(s) => s.target.clone(),
            None => Arc::new(ExternalTarget),
        };
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
        let mut engine = Engine::new(
            target,
            root.clone(),
            cancel.clone(),
            vars,
            RunOptions { jobs: usize::from(args.jobs), fail_fast: args.fail_fast },
        )
        .with_events(tx)
        .with_secrets(secrets.clone())
        .with_origin(started);
        engine.resolve_endpoints(gates).await;
        let run = engine.run(Arc::clone(gates));
        tokio::pin!(run);
        let outcome = loop {
            tokio::select! {
                r = &mut run => break r,
                Some(e) = rx.recv() => console.event(&e),
            }
        };

        while let Ok(e) = rx.try_recv() {
            console.event(&e);
        }
        let mut results = outcome.results;
        // The stack was watched while the gates ran: judge every passed
        // `compose` check again against what happened since it looked.
        if let Some(s) = &stack {
            let incidents = s.stop_watching().await;
            for i in &incidents {
                console.line(&console.paint(&format!("stack: {}", i.headline()), crate::run::style_warn()));
            }
            if let Ok(services) = s.target.services().await {
                for id in checkpoint_runner::kinds::compose::recheck(gates, &mut results, &services, &incidents) {
                    console.line(&console.paint(
                        &format!("stack: gate `{id}` turned red: the stack broke after its `compose` check looked"),
                        crate::run::style_warn(),
                    ));
                }
            }
        }
        // The engine says why it stopped (the first cause wins); a signal
        // after the gates (during the re-judging) is an interruption too.
        // `--fail-fast` is said in the gates it cancelled, not as a run-level
        // interruption: its exit code is the verdict's.
        if outcome.cancelled == Some(CancelReason::Interrupted) || cancel.is_cancelled() {
            interrupted = Some(INTERRUPTED.into());
        }
        results
    };

    let redactor = secrets.snapshot();
    let stack_report = match stack {
        Some(s) => {
            let up_at = checkpoint_model::duration::millis(s.up_at.saturating_duration_since(started));
            let mut r = s.finish(out, args.keep, ctx.forced(), &console, &redactor).await;
            if let Some(r) = &mut r {
                r.started_ms = Some(up_at);
            }
            r
        }
        None => None,
    };
    console.finish();

    let report = checkpoint_report::assemble(
        checkpoint_report::Finished {
            checkpoint: cp,
            tool: format!("checkpoint {}", env!("CARGO_PKG_VERSION")),
            started_at,
            duration: started.elapsed(),
            filters: Filters {
                waves: args.waves.clone(),
                gates: args.gates.clone(),
                shard: args.shard.map(|s| s.to_string()),
                order,
            },
            gates: results,
            stack: stack_report,
            interrupted,
            empty_shard: args.shard.is_some() && gates.is_empty(),
        },
        &redactor,
    );
    let written = checkpoint_report::write_all_with(&report, out, baseline, &args.slower_than);
    crate::outln!(ctx);
    crate::out!(ctx, "{}", checkpoint_report::console_summary(&report, console.color));
    crate::github::after_run(ctx, &report, baseline);
    match written {
        Ok(w) => print_written(ctx, &w),
        Err(e) => {
            crate::errln!(ctx, "error: cannot write the reports to {}: {e}", out.display());
            return exit::INFRA;
        }
    }
    if infra_error.is_some() {
        return exit::INFRA;
    }
    if cancel.is_cancelled() {
        return exit::INTERRUPTED;
    }
    match report.verdict {
        checkpoint_model::result::Verdict::Passed => exit::PASSED,
        checkpoint_model::result::Verdict::Failed => exit::FAILED,
    }
}

/// The run-level reason of a run cut short by Ctrl-C or SIGTERM, at any phase.
const INTERRUPTED: &str = "interrupted (Ctrl-C / SIGTERM)";

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

fn not_run(g: &Gate, status: Status, reason: &str) -> GateResult {
    checkpoint_runner::engine::not_run(g, status, reason.to_string())
}

/// Every value that must not appear in any output.
pub(crate) fn redactor(cp: &Checkpoint, vars: &RunVars, env: &crate::Env) -> Redactor {
    let mut r = Redactor::default();
    for (k, v) in vars.all_pairs() {
        r.add_if_secret(&k, &v, &cp.secrets);
    }
    for (k, v) in env.pairs() {
        if is_secret_name(k) || cp.secrets.iter().any(|s| s == k) {
            r.add(v);
        }
    }
    r
}

/// Masks secrets in every saved log file of `dir`.
fn redact_logs(dir: &Path, r: &Redactor) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if let Ok(text) = std::fs::read_to_string(&path) {
            let _ = checkpoint_report::write_atomic(&path, &r.redact(&text));
        }
    }
}

/// For the "stack" lines of the console.
pub(crate) fn style_warn() -> Style {
    Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold()
}
