//! `GET /health` (the process is up) and `GET /health/db` (its dependencies answer).

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::api::AppState;
use crate::db;

/// Bound on each dependency probe.
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /health` → 200 `{"status": "ok"}`.
pub(crate) async fn live() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// `GET /health/db` → 200 when Postgres and Redis both answer, else 503; each component is
/// `{"status": "healthy", "latency_ms": N}` or `{"status": "unhealthy", "latency_ms": N, "error": "..."}`.
pub(crate) async fn dependencies(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let database = probe(async {
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.db).await.map(drop).map_err(|e| db::describe(&e))
    });
    let redis = probe(async {
        let mut connection = state.redis.connection().await.map_err(|e| e.to_string())?;
        redis::cmd("PING").query_async::<String>(&mut connection).await.map(drop).map_err(|e| e.to_string())
    });
    let (database, redis) = tokio::join!(database, redis);
    let healthy = database.0 && redis.0;
    let body = json!({
        "status": if healthy { "healthy" } else { "unhealthy" },
        "components": { "database": database.1, "redis": redis.1 },
    });
    let status = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(body))
}

/// Runs one probe with a deadline; returns whether it passed and its component object.
async fn probe(check: impl Future<Output = Result<(), String>>) -> (bool, Value) {
    let started = Instant::now();
    let outcome = tokio::time::timeout(PROBE_TIMEOUT, check)
        .await
        .unwrap_or_else(|_| Err(format!("no answer within {PROBE_TIMEOUT:?}")));
    let latency_ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
    match outcome {
        Ok(()) => (true, json!({ "status": "healthy", "latency_ms": latency_ms })),
        Err(error) => (false, json!({ "status": "unhealthy", "latency_ms": latency_ms, "error": error })),
    }
}
