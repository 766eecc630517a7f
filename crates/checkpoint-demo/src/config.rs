//! Configuration from the environment, read once at start-up.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

/// `postgres://USER:PASSWORD@HOST:PORT/DB`
pub(crate) fn database_url() -> Result<String> {
    required("DATABASE_URL")
}

/// `redis://HOST:PORT[/DB]`
pub(crate) fn redis_url() -> Result<String> {
    required("REDIS_URL")
}

/// The API's listening port; `PORT`, default 8000.
pub(crate) fn port() -> Result<u16> {
    match std::env::var("PORT") {
        Err(_) => Ok(8000),
        Ok(raw) => raw.trim().parse().with_context(|| format!("PORT must be a TCP port number (1-65535), got {raw:?}")),
    }
}

/// Where `migrate` looks for `*.sql`; `MIGRATIONS_DIR`, default `/app/migrations`.
pub(crate) fn migrations_dir() -> PathBuf {
    std::env::var_os("MIGRATIONS_DIR").map_or_else(|| PathBuf::from("/app/migrations"), PathBuf::from)
}

fn required(name: &str) -> Result<String> {
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => bail!("{name} is not set"),
    }
}
