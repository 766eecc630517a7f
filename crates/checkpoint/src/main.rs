//! `checkpoint`: the thin binary. `main` is the only place that reads the
//! terminal and installs process-wide state; everything else lives in the
//! library crates (model, runner, stack, report).
#![expect(unreachable_pub, reason = "a binary crate: `pub` only structures its modules")]

/// Output that never panics: a closed pipe (`checkpoint run 1 | head`) must
/// not abort a run before it tears its stack down.
#[macro_export]
macro_rules! outln {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(anstream::stdout(), $($t)*); }};
}
#[macro_export]
macro_rules! out {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(anstream::stdout(), $($t)*); }};
}
#[macro_export]
macro_rules! errln {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = writeln!(anstream::stderr(), $($t)*); }};
}
#[macro_export]
macro_rules! err {
    ($($t:tt)*) => {{ use std::io::Write as _; let _ = write!(anstream::stderr(), $($t)*); }};
}

mod cli;
mod commands;
mod contract;
mod github;
mod init;
mod live;
mod plan_sync;
mod run;
mod stackctl;

use std::process::ExitCode;

use checkpoint_model::exit;
use clap::Parser as _;

fn main() -> ExitCode {
    checkpoint_runner::init_tls();
    let args = cli::Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            crate::errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::INFRA);
        }
    };
    let code = rt.block_on(dispatch(args));
    // Do not wait for stray blocking tasks (a hung compose call) at exit.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    ExitCode::from(code)
}

async fn dispatch(args: cli::Cli) -> u8 {
    cli::set_compose_tool(args.compose_tool.into());
    match args.command {
        cli::Command::Run(r) => run::run(&args.dir, args.color, r).await,
        cli::Command::List(l) => commands::list(&args.dir, &l),
        cli::Command::Validate(v) => commands::validate(&args.dir, args.color, &v),
        cli::Command::Schema => commands::schema(),
        cli::Command::Report(r) => commands::report(&r),
        cli::Command::Stack(s) => stackctl::command(&args.dir, args.color, s).await,
        cli::Command::Plan(p) => plan_sync::command(&args.dir, p),
        cli::Command::Init(i) => init::command(&args.dir, &i).await,
        cli::Command::Contract(c) => contract::command(args.color, c).await,
        // Rendered to memory first: a closed pipe (`| head`) must not panic.
        cli::Command::Completions { shell } => {
            let mut cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut cmd, "checkpoint", &mut buf);
            crate::out!("{}", String::from_utf8_lossy(&buf));
            exit::PASSED
        }
        cli::Command::Man => {
            let cmd = <cli::Cli as clap::CommandFactory>::command();
            let mut buf = Vec::new();
            match clap_mangen::Man::new(cmd).render(&mut buf) {
                Ok(()) => {
                    crate::out!("{}", String::from_utf8_lossy(&buf));
                    exit::PASSED
                }
                Err(e) => {
                    crate::errln!("error: cannot render the man page: {e}");
                    exit::INFRA
                }
            }
        }
    }
}
