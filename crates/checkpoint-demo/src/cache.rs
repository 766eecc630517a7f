//! A read-through cache for `GET /items/{id}` in Redis, so the demo has a real
//! cache-hit ratio for the plan's "cache hit rate > 70%" gate to measure
//! (`INFO stats`: `keyspace_hits` / `keyspace_misses`).
//!
//! The cache is an optimisation, never a dependency: any Redis error is
//! logged and the request is served from Postgres. Writes invalidate.

use std::sync::atomic::Ordering;

use redis::AsyncCommands as _;
use serde_json::Value;

use crate::api::AppState;

/// How long a cached item lives, in seconds.
const TTL_SECONDS: u64 = 60;

/// The cache key of one user's item.
pub(crate) fn key(owner: i64, id: i64) -> String {
    format!("items:{owner}:{id}")
}

/// The cached item, if Redis has it (a miss on any error).
pub(crate) async fn get(state: &AppState, key: &str) -> Option<Value> {
    let found: Option<String> = match tokio::time::timeout(crate::queue::TIMEOUT, async {
        let mut conn = state.redis.connection().await?;
        conn.get::<_, Option<String>>(key).await
    })
    .await
    {
        Ok(Ok(found)) => found,
        Ok(Err(e)) => {
            println!("api: cache get {key} failed: {e}");
            None
        }
        Err(_) => {
            println!("api: cache get {key} timed out");
            None
        }
    };
    let value = found.and_then(|text| serde_json::from_str(&text).ok());
    let counter = if value.is_some() { &state.metrics.cache_hits } else { &state.metrics.cache_misses };
    counter.fetch_add(1, Ordering::Relaxed);
    value
}

/// Stores an item (best effort).
pub(crate) async fn put(state: &AppState, key: &str, item: &Value) {
    let text = item.to_string();
    let result = tokio::time::timeout(crate::queue::TIMEOUT, async {
        let mut conn = state.redis.connection().await?;
        conn.set_ex::<_, _, ()>(key, text, TTL_SECONDS).await
    })
    .await;
    if !matches!(result, Ok(Ok(()))) {
        println!("api: cache put {key} failed");
    }
}

/// Forgets an item after it changed or was deleted (best effort).
pub(crate) async fn forget(state: &AppState, key: &str) {
    let result = tokio::time::timeout(crate::queue::TIMEOUT, async {
        let mut conn = state.redis.connection().await?;
        conn.del::<_, ()>(key).await
    })
    .await;
    if !matches!(result, Ok(Ok(()))) {
        println!("api: cache forget {key} failed");
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_per_owner() {
        assert_eq!(super::key(7, 42), "items:7:42");
        assert_ne!(super::key(7, 42), super::key(8, 42));
    }
}
