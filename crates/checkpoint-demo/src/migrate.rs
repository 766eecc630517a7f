//! `checkpoint-demo migrate`: applies `$MIGRATIONS_DIR/*.sql` in name order.
//!
//! Each file is one migration, its version the file name without `.sql`; applied ones are
//! recorded in `schema_migrations(version, applied_at)` and skipped next time. Each runs in
//! its own transaction, under an advisory lock so concurrent runs do not race.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use sqlx::{AssertSqlSafe, Connection, PgConnection};

use crate::{config, db};

/// How long to wait for the database to accept connections.
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);
/// An arbitrary key for `pg_advisory_lock`.
const LOCK_KEY: i64 = 0x0063_6b70_746d_6967;

pub(crate) async fn run() -> Result<()> {
    let dir = config::migrations_dir();
    let migrations = list(&dir)?;
    let mut connection = connect(&config::database_url()?).await?;

    sqlx::query("SELECT pg_advisory_lock($1)").bind(LOCK_KEY).execute(&mut connection).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    TEXT        PRIMARY KEY,
             applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
         )",
    )
    .execute(&mut connection)
    .await?;

    let mut applied = 0;
    for (version, path) in &migrations {
        let done: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)")
            .bind(version)
            .fetch_one(&mut connection)
            .await?;
        if done {
            println!("migrate: {version} already applied");
            continue;
        }
        let sql = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut tx = connection.begin().await?;
        sqlx::raw_sql(AssertSqlSafe(sql))
            .execute(&mut *tx)
            .await
            .map_err(|e| anyhow!("migration {version} failed: {}", db::describe(&e)))?;
        sqlx::query("INSERT INTO schema_migrations (version) VALUES ($1)").bind(version).execute(&mut *tx).await?;
        tx.commit().await?;
        println!("migrate: {version} applied");
        applied += 1;
    }
    println!("migrate: done ({applied} applied, {} already there) from {}", migrations.len() - applied, dir.display());
    // Closing the connection releases the advisory lock.
    connection.close().await?;
    Ok(())
}

/// `(version, path)` of every `*.sql` in `dir`, sorted by file name.
fn list(dir: &Path) -> Result<Vec<(String, PathBuf)>> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read migrations directory {}", dir.display()))?;
    let mut migrations = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "sql") && path.is_file() {
            let version = path
                .file_stem()
                .and_then(|s| s.to_str())
                .with_context(|| format!("migration file name is not UTF-8: {}", path.display()))?
                .to_owned();
            migrations.push((version, path));
        }
    }
    if migrations.is_empty() {
        bail!("no *.sql migrations in {}", dir.display());
    }
    migrations.sort();
    Ok(migrations)
}

/// Connects, retrying for up to [`CONNECT_DEADLINE`] while the database starts.
async fn connect(url: &str) -> Result<PgConnection> {
    let started = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        match PgConnection::connect(url).await {
            Ok(connection) => return Ok(connection),
            Err(error) if started.elapsed() < CONNECT_DEADLINE => {
                println!("migrate: database not reachable yet (attempt {attempt}: {}); retrying", db::describe(&error));
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(error) => {
                bail!(
                    "cannot connect to the database after {attempt} attempts over {CONNECT_DEADLINE:?}: {}",
                    db::describe(&error)
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::list;

    #[test]
    fn the_fixture_migrations_are_listed_in_order() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo/migrations");
        let versions: Vec<String> = list(&dir).unwrap().into_iter().map(|(v, _)| v).collect();
        assert_eq!(versions, ["0001_users", "0002_sessions", "0003_items", "0004_jobs"]);
    }

    #[test]
    fn an_empty_or_missing_directory_is_an_error() {
        assert!(list(std::path::Path::new("/nonexistent/migrations")).is_err());
        let empty = std::env::temp_dir().join(format!("checkpoint-demo-empty-{}", std::process::id()));
        std::fs::create_dir_all(&empty).unwrap();
        assert!(list(&empty).is_err());
        std::fs::remove_dir(&empty).unwrap();
    }
}
