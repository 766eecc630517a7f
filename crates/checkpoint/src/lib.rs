//! `checkpoint` as a library: [`main_with`] is the whole command line —
//! parse the flags, start the runtime, run the command, return the exit
//! code — against a [`Context`] that holds everything outside the flags
//! (streams, colour, environment, cancellation). The binary's `main` only
//! builds the process's context and turns the code into an `ExitCode`; tests
//! run the same function in their own process with captured streams.

pub mod cli;
mod commands;
pub mod context;
mod contract;
mod github;
mod init;
mod live;
mod plan_sync;
mod run;
mod stackctl;

use std::ffi::OsString;
use std::path::Path;

use checkpoint_model::exit;
pub use context::{Captured, Context, Env, Writer};

/// Parses `args` (the program name first, as `std::env::args_os` gives
/// them) and runs the command they name; returns the exit code.
pub fn main_with(ctx: &Context, args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> u8 {
    checkpoint_runner::init_tls();
    let args = match parse(ctx, args) {
        Ok(a) => a,
        Err(e) => return usage_error(ctx, &e),
    };
    let ctx = &with_flags(ctx, &args);
    let dir = args.dir;
    // The commands that only read files and print need no runtime: its
    // worker threads and I/O driver were a tenth of `validate`'s time.
    let online = match run_offline(ctx, &dir, args.command) {
        Ok(code) => {
            ctx.flush();
            return code;
        }
        Err(online) => online,
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            errln!(ctx, "error: cannot start the async runtime: {e}");
            return exit::INFRA;
        }
    };
    let signals = (ctx.signals && online.stops_on_interrupt()).then(|| rt.spawn(watch_signals(ctx.clone())));
    // The command runs as a task on the workers, not on this thread: polled
    // here, every event it waits for (a check's result, a console line) woke
    // this third thread through a futex — 1,100 wake-ups and context switches
    // for 1,000 checks, on a 2-core machine.
    let task = {
        let ctx = ctx.clone();
        rt.spawn(async move { run(&ctx, &dir, online).await })
    };
    let code = match rt.block_on(task) {
        Ok(code) => code,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => {
            errln!(ctx, "error: the run was stopped: {e}");
            exit::INFRA
        }
    };
    if let Some(s) = signals {
        s.abort();
    }
    // Do not wait for stray blocking tasks (a hung compose call) at exit.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    ctx.flush();
    code
}

/// The flags, with the defaults the context's environment sets
/// (`CHECKPOINT_DIR`, `CHECKPOINT_COMPOSE_TOOL`): a flag beats them.
fn parse(ctx: &Context, args: impl IntoIterator<Item = impl Into<OsString> + Clone>) -> Result<cli::Cli, clap::Error> {
    use clap::{CommandFactory as _, FromArgMatches as _};
    let mut cmd = cli::Cli::command();
    for (arg, var) in [("dir", "CHECKPOINT_DIR"), ("compose_tool", "CHECKPOINT_COMPOSE_TOOL")] {
        if let Some(v) = ctx.env.get(var) {
            let v = v.to_string_lossy().into_owned();
            cmd = cmd.mut_arg(arg, |a| a.default_value(v));
        }
    }
    let matches = cmd.try_get_matches_from_mut(args)?;
    cli::Cli::from_arg_matches(&matches).map_err(|e| e.format(&mut cmd))
}

/// `--help`, `--version` and flag errors, as clap would print them, on the
/// context's streams; clap's exit code (0 or 2).
fn usage_error(ctx: &Context, e: &clap::Error) -> u8 {
    let text = if ctx.color_for(ctx.err_terminal) { e.render().ansi().to_string() } else { e.render().to_string() };
    if e.use_stderr() {
        err!(ctx, "{text}");
    } else {
        out!(ctx, "{text}");
    }
    ctx.flush();
    u8::try_from(e.exit_code()).unwrap_or(exit::USAGE)
}

/// The context with the flags that change it (colour, compose tool).
fn with_flags(ctx: &Context, args: &cli::Cli) -> Context {
    let mut ctx = ctx.clone();
    ctx.color = args.color;
    ctx.compose_tool = args.compose_tool.into();
    ctx
}

/// A command that needs the runtime (Docker, the network, Ctrl-C handling).
enum Online {
    Run(cli::RunArgs),
    Stack(cli::StackCommand),
    Init(cli::InitArgs),
    Contract(cli::ContractCommand),
}

impl Online {
    /// Commands that stop cleanly on Ctrl-C (reports written, stack torn
    /// down); the others are quick and simply end with the process.
    fn stops_on_interrupt(&self) -> bool {
        matches!(self, Self::Run(_))
    }
}

/// Runs a command that only reads files and prints; hands back one that
/// needs the runtime. Every command is named: a new one must choose.
fn run_offline(ctx: &Context, dir: &Path, command: cli::Command) -> Result<u8, Box<Online>> {
    Ok(match command {
        cli::Command::List(l) => commands::list(ctx, dir, &l),
        cli::Command::Validate(v) => commands::validate(ctx, dir, &v),
        cli::Command::Schema => commands::schema(ctx),
        cli::Command::Report(r) => commands::report(ctx, &r),
        cli::Command::Plan(p) => plan_sync::command(ctx, dir, &p),
        cli::Command::Completions { shell } => {
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "checkpoint", &mut buf);
            out!(ctx, "{}", String::from_utf8_lossy(&buf));
            exit::PASSED
        }
        cli::Command::Man => {
            let cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut buf) {
                Ok(()) => {
                    out!(ctx, "{}", String::from_utf8_lossy(&buf));
                    exit::PASSED
                }
                Err(e) => {
                    errln!(ctx, "error: cannot render the man page: {e}");
                    exit::INFRA
                }
            }
        }
        cli::Command::Run(r) => return Err(Box::new(Online::Run(r))),
        cli::Command::Stack(s) => return Err(Box::new(Online::Stack(s))),
        cli::Command::Init(i) => return Err(Box::new(Online::Init(i))),
        cli::Command::Contract(c) => return Err(Box::new(Online::Contract(c))),
    })
}

/// Runs a command that needs the runtime, on it.
async fn run(ctx: &Context, dir: &Path, online: Box<Online>) -> u8 {
    match *online {
        Online::Run(r) => run::run(ctx, dir, r).await,
        Online::Stack(s) => stackctl::command(ctx, dir, s).await,
        Online::Init(i) => init::command(ctx, dir, &i).await,
        Online::Contract(c) => contract::command(ctx, c).await,
    }
}

/// Ctrl-C or SIGTERM cancels the context; a second one forces teardown.
async fn watch_signals(ctx: Context) {
    let Ok(mut term) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) else {
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    errln!(
        ctx,
        "\ninterrupted: stopping checks, writing reports, tearing the stack down (interrupt again to stop waiting)"
    );
    ctx.cancel.cancel();
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    errln!(ctx, "interrupted again: tearing down without waiting for containers to stop");
    ctx.force.store(true, std::sync::atomic::Ordering::SeqCst);
}
