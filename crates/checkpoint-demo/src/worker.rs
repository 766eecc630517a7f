//! `checkpoint-demo worker`: takes jobs from `jobs:queue` and marks them processed.
//!
//! Each message is popped with `BRPOP` (1 s timeout, so a stop request is noticed within a
//! second), then its row is set to `processed`. When Redis or Postgres fails, the message
//! goes back on the queue and the worker reconnects with exponential backoff. A processed job is
//! announced on the Redis channel `jobs:events` (see [`crate::events`]).

use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use redis::AsyncCommands;
use redis::aio::MultiplexedConnection;
use sqlx::PgPool;
use tokio::sync::watch;

use crate::{config, db, events, queue, shutdown};

const POP_TIMEOUT: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);

pub(crate) async fn run() -> Result<()> {
    let db = db::lazy_pool(&config::database_url()?)?;
    let redis = redis::Client::open(config::redis_url()?).context("REDIS_URL is not a valid Redis URL")?;

    let (stop_tx, stop) = watch::channel(false);
    tokio::spawn(async move {
        shutdown::signal().await;
        let _ = stop_tx.send(true);
    });

    println!("worker: waiting for jobs on {}", queue::KEY);
    let mut backoff = Duration::from_millis(250);
    while !*stop.borrow() {
        match drain(&db, &redis, &stop, &mut backoff).await {
            Ok(()) => break,
            Err(error) => {
                eprintln!("worker: {error:#}; reconnecting in {backoff:?}");
                let mut stop = stop.clone();
                tokio::select! {
                    _ = stop.changed() => {}
                    () = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
    println!("worker: stopped");
    Ok(())
}

/// Connects, then processes jobs until asked to stop (`Ok`) or a dependency fails (`Err`).
async fn drain(db: &PgPool, redis: &redis::Client, stop: &watch::Receiver<bool>, backoff: &mut Duration) -> Result<()> {
    let config = redis::AsyncConnectionConfig::new()
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(POP_TIMEOUT + Duration::from_secs(2)));
    let mut connection = redis
        .get_multiplexed_async_connection_with_config(&config)
        .await
        .map_err(|e| anyhow!("cannot connect to Redis: {e}"))?;
    // sqlx and redis errors repeat their source in their message: no `.context` chains.
    sqlx::query("SELECT 1")
        .execute(db)
        .await
        .map_err(|e| anyhow!("cannot connect to Postgres: {}", db::describe(&e)))?;
    println!("worker: connected to Redis and Postgres");
    *backoff = Duration::from_millis(250);

    while !*stop.borrow() {
        let popped: Option<(String, String)> =
            connection.brpop(queue::KEY, POP_TIMEOUT.as_secs_f64()).await.map_err(|e| anyhow!("BRPOP failed: {e}"))?;
        if let Some((_, message)) = popped {
            process(db, &mut connection, &message).await?;
        }
    }
    Ok(())
}

async fn process(db: &PgPool, redis: &mut MultiplexedConnection, message: &str) -> Result<()> {
    let Some(id) = queue::job_id(message) else {
        eprintln!("worker: skipping a message without a job id: {message:?}");
        return Ok(());
    };
    let started = Instant::now();
    let updated: Result<Option<String>, sqlx::Error> = sqlx::query_scalar(
        "UPDATE jobs SET status = 'processed', processed_at = now()
         WHERE id = $1::uuid AND status = 'queued' RETURNING kind",
    )
    .bind(&id)
    .fetch_optional(db)
    .await;
    match updated {
        Ok(Some(kind)) => {
            println!("worker: job {id} ({kind}) processed in {:.1} ms", started.elapsed().as_secs_f64() * 1000.0);
            // Best effort: the job is done whether or not anyone hears about it.
            if let Err(e) = redis.publish::<_, _, ()>(events::CHANNEL, events::processed(&id, &kind)).await {
                eprintln!("worker: cannot publish the event of job {id} on {}: {e}", events::CHANNEL);
            }
        }
        Ok(None) => println!("worker: job {id} is unknown or not queued; skipped"),
        // 22xxx (data exception, e.g. not a UUID): the message is bad, not the database.
        Err(sqlx::Error::Database(e)) if e.code().is_some_and(|c| c.starts_with("22")) => {
            eprintln!("worker: skipping job {id:?}: {}", e.message());
        }
        Err(error) => {
            // Put it back where BRPOP takes from, so it is the next one tried.
            redis.rpush::<_, _, ()>(queue::KEY, message).await.map_err(|e| anyhow!("cannot requeue job {id}: {e}"))?;
            return Err(anyhow!("job {id} requeued: {}", db::describe(&error)));
        }
    }
    Ok(())
}
