//! Brings a compose stack up, waits until it is ready, prints what it saw,
//! saves the logs and tears it down: the crate's lifecycle without the rest of
//! the harness, for trying a compose file and measuring its readiness.
//!
//! ```text
//! cargo run -p checkpoint-stack --example stack_up -- [--keep] [--timeout SECS] [--env-file F] FILE...
//! ```

use std::path::PathBuf;
use std::time::{Duration, Instant};

use checkpoint_stack::{ComposeStack, StackOptions, StackProgress, project_name};
use tokio_util::sync::CancellationToken;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut opts = StackOptions {
        project_dir: std::env::current_dir().expect("current dir"),
        project: project_name("stack-up", "example"),
        ready_timeout: Duration::from_mins(3),
        ..Default::default()
    };
    let mut keep = false;
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--keep" => keep = true,
            "--timeout" => {
                opts.ready_timeout =
                    Duration::from_secs(args.next().and_then(|s| s.parse().ok()).expect("--timeout SECS"));
            }
            "--env-file" => opts.env_files.push(PathBuf::from(args.next().expect("--env-file FILE"))),
            file => opts.compose_files.push(PathBuf::from(file)),
        }
    }

    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        on_ctrl_c.cancel();
    });
    let t0 = Instant::now();
    let progress = move |p: StackProgress| eprintln!("[{:5.1}s] {p}", t0.elapsed().as_secs_f64());

    let stack = match ComposeStack::prepare(opts).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    eprintln!("project {} with {}", stack.project(), stack.tool().await.map(|t| t.to_string()).unwrap_or_default());
    let mut ok = match stack.start(cancel.clone(), &progress).await {
        Ok(()) => true,
        Err(e) => {
            eprintln!("error: {e}");
            false
        }
    };
    let up = t0.elapsed();
    if ok {
        match stack.wait_ready(cancel.clone(), &progress).await {
            Ok(r) => eprintln!(
                "up {:.1}s, ready {:.1}s later ({} engine events)",
                up.as_secs_f64(),
                r.elapsed.as_secs_f64(),
                r.events
            ),
            Err(e) => {
                eprintln!("not ready: {}", e.details());
                ok = false;
            }
        }
    }
    let target = stack.target();
    for s in target.services().await.unwrap_or_default() {
        eprintln!("  {s:?}");
    }
    let logs = std::env::temp_dir().join(stack.project());
    match stack.save_logs(&logs).await {
        Ok(files) => eprintln!("logs of {} services in {}", files.len(), logs.display()),
        Err(e) => eprintln!("saving logs: {e}"),
    }
    if keep {
        eprintln!("kept: docker-compose -p {} … down -v", stack.project());
    } else {
        let t = Instant::now();
        match stack.down(5).await {
            Ok(t2) => eprintln!("down in {:.1}s: {t2}", t.elapsed().as_secs_f64()),
            Err(e) => eprintln!("down: {e}"),
        }
    }
    if ok { std::process::ExitCode::SUCCESS } else { std::process::ExitCode::FAILURE }
}
