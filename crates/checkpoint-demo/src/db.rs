//! The Postgres pool. Lazy: the API and the worker start even when the database is
//! down, and report it (`/health/db`, logs) instead of crash-looping.

use std::time::Duration;

use anyhow::{Context, Result};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;

pub(crate) fn lazy_pool(url: &str) -> Result<PgPool> {
    PgPoolOptions::new()
        .max_connections(5)
        .acquire_timeout(Duration::from_secs(2))
        .connect_lazy(url)
        .context("DATABASE_URL is not a valid Postgres URL")
}

/// Whether an error means "cannot talk to the database" (503) rather than a bug (500).
pub(crate) fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Protocol(_)
    ) || matches!(
        error,
        // 28xxx: invalid authorization (wrong password, unknown role);
        // 3D000: database does not exist; 57P0x: server shutting down / cannot connect now.
        sqlx::Error::Database(e) if e.code().is_some_and(|c| c.starts_with("28") || c == "3D000" || c.starts_with("57P0"))
    )
}

/// A one-line description of a database error. sqlx's own `Display` of a server error
/// ends in "at line N", N being a line of PostgreSQL's C source, which reads like a
/// position in the query; this gives the server's message and SQLSTATE instead.
pub(crate) fn describe(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(e) => match e.code() {
            Some(code) => format!("{} (SQLSTATE {code})", e.message()),
            None => e.message().to_owned(),
        },
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_server_errors_keep_their_message() {
        assert_eq!(describe(&sqlx::Error::PoolTimedOut), sqlx::Error::PoolTimedOut.to_string());
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }
}
