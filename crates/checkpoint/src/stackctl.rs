//! The CLI's side of the stack: bring it up for a run (with live progress),
//! save its logs and tear it down afterwards, and `checkpoint stack …`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use checkpoint_model::exit;
use checkpoint_model::kinds::CheckSpec;
use checkpoint_model::plan::{Checkpoint, Stack};
use checkpoint_model::result::StackReport;
use checkpoint_runner::Target;
use checkpoint_stack::{ComposeStack, StackOptions, StackProgress, project_name};

use crate::Context;
use crate::cli::{ProjectArgs, RunArgs, StackCommand};
use crate::commands::load_or_report_with;
use crate::live::Console;

/// A stack this run brought up (or attached to).
pub(crate) struct StackRun {
    stack: ComposeStack,
    pub target: Arc<dyn Target>,
    pub project: String,
    files: Vec<String>,
    ready_ms: Option<f64>,
    /// When `compose up` started (the HTML report's timeline places it).
    pub up_at: std::time::Instant,
    up_ms: Option<f64>,
    /// Each service and when it was judged ready, since the wait started.
    services_ready: Vec<(String, f64)>,
}

fn options(
    ctx: &Context,
    cp: &Checkpoint,
    spec: &Stack,
    root: &Path,
    project: String,
    extra: &[PathBuf],
) -> StackOptions {
    let mut opts = StackOptions::from_plan(spec, root, project);
    opts.compose_tool = ctx.compose_tool;
    // `completed:` of the checkpoint's `compose` checks are one-shots: the
    // stack is ready when they have exited 0.
    for gate in &cp.gates {
        for check in &gate.checks {
            let CheckSpec::Compose(spec) = &check.spec else { continue };
            for svc in &spec.completed {
                if !opts.one_shots.contains(svc) {
                    opts.one_shots.push(svc.clone());
                }
            }
        }
    }
    for f in extra {
        opts.compose_files.push(std::path::absolute(f).unwrap_or_else(|_| f.clone()));
    }
    opts
}

fn default_project(cp: &Checkpoint, spec: &Stack) -> String {
    project_name(spec.raw.project.as_deref().unwrap_or("checkpoint"), &cp.id)
}

fn root_of(cp: &Checkpoint) -> PathBuf {
    let file = std::path::absolute(&cp.file).unwrap_or_else(|_| PathBuf::from(&cp.file));
    file.parent().and_then(Path::parent).map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// What bringing a stack up needs to know: the four flags of `run` that
/// concern the stack, and all that `stack up` has.
#[derive(Debug, Clone, Default)]
pub(crate) struct StartRequest<'a> {
    /// `--project`; by default one unique to this run.
    pub project: Option<String>,
    /// `-f`: compose files added after the checkpoint's own.
    pub compose_files: &'a [PathBuf],
    /// `--keep`: the stack outlives the run (its owner label says so).
    pub keep: bool,
    /// `--no-up`: attach to a project that is already running.
    pub attach: bool,
}

impl<'a> From<&'a RunArgs> for StartRequest<'a> {
    fn from(args: &'a RunArgs) -> Self {
        Self { project: args.project.clone(), compose_files: &args.compose_files, keep: args.keep, attach: args.no_up }
    }
}

/// Brings the stack up and waits until it is ready. A stack that never gets
/// ready is reported (at once, with the reason) but the gates still run: they
/// turn red with their own evidence. Errors here mean no gate can run.
pub(crate) async fn start(
    ctx: &Context,
    cp: &Checkpoint,
    spec: &Stack,
    args: &StartRequest<'_>,
    out: &Path,
    console: &mut Console,
) -> Result<StackRun, String> {
    let root = root_of(cp);
    let project = args.project.clone().unwrap_or_else(|| default_project(cp, spec));
    let mut opts = options(ctx, cp, spec, &root, project.clone(), args.compose_files);
    // Every container carries this run as its owner, so `stack prune` finds
    // the stack if the run dies without tearing it down (SIGKILL).
    opts.owner = Some(checkpoint_stack::Owner { dir: out.join(".owner"), keep: args.keep });
    let files: Vec<String> = opts.compose_files.iter().map(|p| checkpoint_model::diag::display_path(p)).collect();
    let con: &Console = console;
    let progress = |p: StackProgress| match &p {
        StackProgress::Compose(line) => {
            con.line(&con.paint(&format!("  compose: {line}"), anstyle::Style::new().dimmed()));
        }
        StackProgress::Waiting { .. } => con.status(&format!("stack: {p}")),
        _ => con.line(&format!("  stack: {p}")),
    };
    let up_at = std::time::Instant::now();
    let stack = if args.attach {
        con.line(&format!("stack: attaching to running project `{project}`"));
        ComposeStack::attach(opts)
    } else {
        let stack = ComposeStack::prepare(opts).await.map_err(|e| e.to_string())?;
        let tool = stack.tool().await.map(|t| t.to_string()).unwrap_or_default();
        con.line(&format!("stack: starting project `{project}` with {tool} ({})", files.join(", ")));
        if let Err(e) = stack.start(ctx.cancel.clone(), &progress).await {
            // Part of the project may exist: keep its logs with the reports
            // (never in the system temp directory), then remove it.
            let logs = out.join("logs");
            let logged = logged_by_the_failed(&stack).await;
            let saved = match stack.save_logs(&logs).await {
                Ok(files) if !files.is_empty() => format!(" (service logs saved in {})", logs.display()),
                _ => String::new(),
            };
            let _ = stack.down(5).await;
            // The first line is every gate's reason: the quote goes there.
            let text = e.to_string();
            let (first, rest) =
                text.split_once('\n').map_or((text.as_str(), ""), |(f, r)| (f.trim_end_matches(':'), r));
            let rest = if rest.is_empty() { String::new() } else { format!(":\n{rest}") };
            return Err(format!("{first}{logged}{rest}{saved}"));
        }
        stack
    };
    let up_ms = (!args.attach).then(|| checkpoint_model::duration::millis(up_at.elapsed()));
    let mut ready_ms = None;
    let mut services_ready = Vec::new();
    match stack.wait_ready(ctx.cancel.clone(), &progress).await {
        Ok(report) => {
            ready_ms = Some(report.elapsed.as_secs_f64() * 1000.0);
            services_ready = report
                .services
                .iter()
                .map(|s| (s.service.clone(), checkpoint_model::duration::millis(s.after)))
                .collect();
            con.line(&format!("stack: ready in {:.1}s", report.elapsed.as_secs_f64()));
        }
        Err(not_ready) => {
            con.line(&con.paint(&format!("stack: NOT READY — {not_ready}"), crate::run::style_warn()));
            con.line("stack: running the gates anyway; they report what is broken");
        }
    }
    con.status("");
    let target = stack.target();
    Ok(StackRun { stack, target, project, files, ready_ms, up_at, up_ms, services_ready })
}

/// ` — `migrate` logged "…"`: the error that the first service which exited
/// with a non-zero code logged last (a migration's SQL error, an import
/// error), for a stack that did not start. Empty when none says one.
async fn logged_by_the_failed(stack: &ComposeStack) -> String {
    let target = stack.target();
    let Ok(services) = target.services().await else { return String::new() };
    for s in services.iter().filter(|s| s.state == "exited" && s.exit_code.is_some_and(|c| c != 0)) {
        let name = s.service();
        if let Ok(log) = target.logs_tail(name, checkpoint_model::logged::LINES).await
            && let Some(quote) = checkpoint_model::logged::last_error(&log)
        {
            return format!(" — {}", checkpoint_model::logged::note(name, &quote));
        }
    }
    String::new()
}

impl StackRun {
    /// Stops recording incidents (before teardown) and returns those recorded.
    pub(crate) async fn stop_watching(&self) -> Vec<checkpoint_model::result::Incident> {
        self.stack.stop_watching().await
    }

    /// Stack facts for the report, service logs into `<out>/logs`, then
    /// teardown (unless `--keep` or attached). Never fails the run: problems
    /// are printed.
    pub(crate) async fn finish(
        self,
        out: &Path,
        keep: bool,
        force: bool,
        console: &Console,
        redactor: &checkpoint_model::secrets::Redactor,
    ) -> Option<StackReport> {
        let mut report = self
            .target
            .report()
            .await
            .unwrap_or_else(|| StackReport { project: self.project.clone(), ..StackReport::default() });
        report.compose_files = self.files.clone();
        report.ready_ms = self.ready_ms;
        report.up_ms = self.up_ms;
        for s in &mut report.services {
            let base = s.service();
            s.ready_ms = self.services_ready.iter().find(|(name, _)| name == base).map(|(_, ms)| *ms);
        }
        let logs_dir = out.join("logs");
        match self.stack.save_logs(&logs_dir).await {
            Ok(saved) => {
                report.logs_dir = Some(checkpoint_model::diag::display_path(&logs_dir));
                for (svc, path) in saved {
                    // The saved logs are output too: mask secrets in them.
                    if let Ok(text) = std::fs::read_to_string(&path) {
                        let _ = checkpoint_report::write_atomic(&path, &redactor.redact(&text));
                    }
                    if let Some(s) = report.services.iter_mut().find(|s| s.name == svc) {
                        s.log_file = Some(checkpoint_model::diag::display_path(&path));
                    }
                }
            }
            Err(e) => console.line(&format!("stack: could not save the service logs: {e}")),
        }
        if self.stack.is_attached() {
            console.line(&format!("stack: left project `{}` running (it was already up)", self.project));
        } else if keep {
            console.line(&format!(
                "stack: kept project `{p}` running (--keep); tear it down with `checkpoint stack down <checkpoint> -p {p}`",
                p = self.project
            ));
        } else {
            console.status(&format!("stack: tearing down `{}`", self.project));
            match self.stack.down(if force { 0 } else { 5 }).await {
                Ok(t) if t.compose_error.is_none() && t.removed_leftovers.is_empty() => {}
                Ok(t) => console.line(&format!("stack: teardown: {t}")),
                Err(e) => console.line(&format!("stack: teardown FAILED: {e}; remove what is left with `docker ps -a --filter label=com.docker.compose.project={}`", self.project)),
            }
        }
        Some(report)
    }
}

/// `checkpoint stack up|down|status|logs`.
pub(crate) async fn command(ctx: &Context, dir: &Path, cmd: StackCommand) -> u8 {
    if let StackCommand::Prune { dry_run } = &cmd {
        return prune(ctx, *dry_run).await;
    }
    let (id, vars, extra) = match &cmd {
        StackCommand::Up { checkpoint, vars, compose_files, .. } => {
            (checkpoint.clone(), vars.clone(), compose_files.clone())
        }
        StackCommand::Down(ProjectArgs { checkpoint, vars, .. })
        | StackCommand::Status(ProjectArgs { checkpoint, vars, .. })
        | StackCommand::Logs { checkpoint, vars, .. } => (checkpoint.clone(), vars.clone(), Vec::new()),
        StackCommand::Prune { .. } => unreachable!("handled above"),
    };
    let (_, loaded) = match load_or_report_with(ctx, dir, &vars, std::slice::from_ref(&id), &extra) {
        Ok(x) => x,
        Err(code) => {
            // Tearing down must not depend on the variables the checks needed
            // (the command `run --keep` printed has none): remove everything
            // with the project's label through the Engine API.
            if let StackCommand::Down(ProjectArgs { project, .. }) = &cmd {
                crate::errln!(
                    ctx,
                    "stack down: the checkpoint did not load; removing project `{project}` by its label"
                );
                return match checkpoint_stack::cleanup_project(project).await {
                    Ok(removed) => {
                        crate::outln!(ctx, "project `{project}` torn down: removed {}", removed.len());
                        exit::PASSED
                    }
                    Err(e) => {
                        crate::errln!(ctx, "error: {e}");
                        exit::INFRA
                    }
                };
            }
            return code;
        }
    };
    let cp = &loaded.checkpoints[0];
    let Some(spec) = &cp.stack else {
        crate::errln!(ctx, "error: checkpoint {} has no `stack:`", cp.id);
        return exit::USAGE;
    };
    let root = root_of(cp);
    let mut console = Console::new(ctx);
    match cmd {
        StackCommand::Up { project, .. } => {
            let project = project.unwrap_or_else(|| default_project(cp, spec));
            let args =
                StartRequest { project: Some(project.clone()), compose_files: &extra, keep: true, attach: false };
            let out = PathBuf::from("checkpoint-results");
            match start(ctx, cp, spec, &args, &out, &mut console).await {
                Ok(_) => {
                    console.finish();
                    crate::outln!(ctx, "{project}");
                    exit::PASSED
                }
                Err(e) => {
                    console.finish();
                    // Carries the compose tool's output tail (container output).
                    let fence = crate::github::StopCommands::new(ctx, crate::github::Stream::Stderr);
                    crate::errln!(ctx, "error: {e}");
                    drop(fence);
                    exit::INFRA
                }
            }
        }
        StackCommand::Down(ProjectArgs { project, .. }) => {
            let opts = options(ctx, cp, spec, &root, project.clone(), &[]);
            let result = match ComposeStack::prepare(opts).await {
                Ok(stack) => stack.down(5).await.map(|t| t.to_string()),
                Err(e) => Err(e),
            };
            match result {
                Ok(t) => {
                    crate::outln!(ctx, "project `{project}` torn down: {t}");
                    exit::PASSED
                }
                Err(e) => {
                    crate::errln!(ctx, "error: {e}");
                    exit::INFRA
                }
            }
        }
        StackCommand::Status(ProjectArgs { project, .. }) => {
            let stack = ComposeStack::attach(options(ctx, cp, spec, &root, project.clone(), &[]));
            match stack.target().services().await {
                Ok(services) if services.is_empty() => {
                    crate::outln!(ctx, "project `{project}` has no containers");
                    exit::FAILED
                }
                Ok(services) => {
                    crate::outln!(ctx, "{:<16} {:<12} {:<10} {:>8}  ports", "service", "state", "health", "restarts");
                    for s in services {
                        crate::outln!(
                            ctx,
                            "{:<16} {:<12} {:<10} {:>8}  {}",
                            s.name,
                            s.state,
                            s.health.as_deref().unwrap_or("-"),
                            s.restarts,
                            s.ports.join(", ")
                        );
                    }
                    exit::PASSED
                }
                Err(e) => {
                    crate::errln!(ctx, "error: {e}");
                    exit::INFRA
                }
            }
        }
        StackCommand::Logs { project, service, tail, .. } => {
            let stack = ComposeStack::attach(options(ctx, cp, spec, &root, project, &[]));
            let target = stack.target();
            let services: Vec<String> = match service {
                Some(s) => vec![s],
                None => match target.services().await {
                    Ok(s) => s.into_iter().map(|s| s.name).collect(),
                    Err(e) => {
                        crate::errln!(ctx, "error: {e}");
                        return exit::INFRA;
                    }
                },
            };
            for s in services {
                match target.logs_tail(&s, tail).await {
                    Ok(text) => {
                        crate::outln!(ctx, "==> {s} <==");
                        // Container output: never read as workflow commands in GitHub Actions.
                        let fence = crate::github::StopCommands::new(ctx, crate::github::Stream::Stdout);
                        crate::out!(ctx, "{text}");
                        if !text.ends_with('\n') {
                            crate::outln!(ctx);
                        }
                        drop(fence);
                    }
                    Err(e) => crate::errln!(ctx, "{s}: {e}"),
                }
            }
            exit::PASSED
        }
        StackCommand::Prune { .. } => unreachable!("handled above"),
    }
}

/// `checkpoint stack prune`: removes the stacks whose run is gone (killed
/// before it could tear down) and that were not kept on purpose.
async fn prune(ctx: &Context, dry_run: bool) -> u8 {
    let stacks = match checkpoint_stack::owner::owned_stacks().await {
        Ok(s) => s,
        Err(e) => {
            crate::errln!(ctx, "error: {e}");
            return exit::INFRA;
        }
    };
    let mut code = exit::PASSED;
    let mut pruned = 0;
    for s in &stacks {
        let what = format!(
            "`{}` ({} container{}, started {} by pid {})",
            s.project,
            s.containers,
            if s.containers == 1 { "" } else { "s" },
            s.started,
            s.pid
        );
        if !s.orphaned {
            crate::outln!(ctx, "running   {what}: its run is still going");
        } else if s.kept {
            crate::outln!(
                ctx,
                "kept      {what}: kept on purpose (--keep / stack up); remove with `checkpoint stack down <checkpoint> -p {}`",
                s.project
            );
        } else if dry_run {
            crate::outln!(ctx, "orphaned  {what}: would be removed");
        } else {
            match checkpoint_stack::cleanup_project(&s.project).await {
                Ok(_) => {
                    pruned += 1;
                    crate::outln!(ctx, "removed   {what}: its run is gone");
                }
                Err(e) => {
                    crate::errln!(ctx, "error: removing `{}`: {e}", s.project);
                    code = exit::INFRA;
                }
            }
        }
    }
    if stacks.is_empty() {
        crate::outln!(ctx, "no stacks started by checkpoint on this engine");
    } else if !dry_run {
        crate::outln!(ctx, "{pruned} orphaned stack{} removed", if pruned == 1 { "" } else { "s" });
    }
    code
}

/// A line for the start of a run when earlier runs left stacks behind.
pub(crate) async fn mention_orphans(console: &Console) {
    if let Ok(orphans) = checkpoint_stack::owner::orphans().await
        && !orphans.is_empty()
    {
        let names: Vec<&str> = orphans.iter().map(|o| o.project.as_str()).collect();
        console.line(&format!(
            "note: {} stack{} left by runs that are gone ({}); `checkpoint stack prune` removes them",
            orphans.len(),
            if orphans.len() == 1 { " was" } else { "s were" },
            names.join(", ")
        ));
    }
}
