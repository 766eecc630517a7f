//! `checkpoint-demo`: the small service the demo stack runs, so that `checkpoint run 1`
//! has something real to check out of the box.
//!
//! One binary, three roles (each a compose service): `migrate` applies the SQL
//! migrations, `api` serves HTTP, `worker` drains the Redis job queue.

mod api;
mod auth;
mod cache;
mod config;
mod db;
mod drift;
mod error;
mod events;
mod health;
mod items;
mod jobs;
mod metrics;
mod migrate;
mod openapi;
mod queue;
mod secret;
mod shutdown;
mod worker;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// The demo stack's service: HTTP API, job worker and migration runner.
#[derive(Parser)]
#[command(name = "checkpoint-demo", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API on 0.0.0.0:$PORT (default 8000).
    Api,
    /// Take jobs from the Redis list `jobs:queue` and mark them processed in Postgres.
    Worker,
    /// Apply $MIGRATIONS_DIR/*.sql (default /app/migrations) in name order, once each.
    Migrate,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Api => api::run().await,
        Command::Worker => worker::run().await,
        Command::Migrate => migrate::run().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("checkpoint-demo: error: {}", describe(&error));
            ExitCode::FAILURE
        }
    }
}

/// `context: cause: cause`, skipping a cause its parent already quotes (sqlx and redis
/// errors repeat their source in their own message).
fn describe(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        if !text.contains(&message) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&message);
        }
    }
    text
}
