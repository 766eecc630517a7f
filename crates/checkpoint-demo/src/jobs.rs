//! `POST /jobs` (enqueue) and `GET /jobs/{id}` (status). Both need a bearer token.

use std::sync::atomic::Ordering;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use redis::AsyncCommands;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::types::Json as JsonColumn;

use crate::api::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::queue;

#[derive(Deserialize)]
pub(crate) struct NewJob {
    kind: String,
    #[serde(default)]
    payload: Value,
}

/// `POST /jobs` → 202 `{id, status: "queued"}`. The row is written first, then the id is
/// pushed onto `jobs:queue`; if Redis is unreachable the row is marked `failed` and the
/// answer is 503.
pub(crate) async fn submit(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    body: Result<Json<NewJob>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(job) = body?;
    let kind = job.kind.trim();
    if kind.is_empty() || kind.len() > 100 {
        return Err(ApiError::invalid("kind must be 1 to 100 characters"));
    }
    let payload = if job.payload.is_null() { json!({}) } else { job.payload };
    let id: String = sqlx::query_scalar("INSERT INTO jobs (kind, payload) VALUES ($1, $2) RETURNING id::text")
        .bind(kind)
        .bind(JsonColumn(&payload))
        .fetch_one(&state.db)
        .await?;

    if let Err(error) = enqueue(&state, &queue::message(&id, kind, &payload)).await {
        sqlx::query("UPDATE jobs SET status = 'failed' WHERE id = $1::uuid").bind(&id).execute(&state.db).await?;
        return Err(ApiError::queue_unavailable(error));
    }
    state.metrics.jobs_enqueued.fetch_add(1, Ordering::Relaxed);
    Ok((StatusCode::ACCEPTED, Json(json!({ "id": id, "status": "queued" }))))
}

async fn enqueue(state: &AppState, message: &str) -> anyhow::Result<()> {
    let push = async {
        let mut redis = state.redis.connection().await?;
        redis.lpush::<_, _, ()>(queue::KEY, message).await
    };
    tokio::time::timeout(queue::TIMEOUT, push)
        .await
        .map_err(|_| anyhow::anyhow!("timed out after {:?}", queue::TIMEOUT))??;
    Ok(())
}

/// `GET /jobs/{id}` → 200 `{id, kind, status, created_at, processed_at}`; 404.
pub(crate) async fn status(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    // Not a UUID: no such job (rather than a database error).
    if !looks_like_uuid(&id) {
        return Err(ApiError::not_found("job"));
    }
    let job: Option<JsonColumn<Value>> = sqlx::query_scalar(
        "SELECT json_build_object('id', id::text, 'kind', kind, 'status', status,
                                  'created_at', created_at, 'processed_at', processed_at)
         FROM jobs WHERE id = $1::uuid",
    )
    .bind(&id)
    .fetch_optional(&state.db)
    .await?;
    job.map(|JsonColumn(v)| Json(v)).ok_or_else(|| ApiError::not_found("job"))
}

fn looks_like_uuid(text: &str) -> bool {
    text.len() == 36
        && text.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::looks_like_uuid;

    #[test]
    fn uuid_shapes() {
        assert!(looks_like_uuid("0b6b3a4e-9c1d-4f3e-8a2b-1c2d3e4f5a6b"));
        assert!(!looks_like_uuid("1"));
        assert!(!looks_like_uuid("0b6b3a4e-9c1d-4f3e-8a2b-1c2d3e4f5a6g"));
        assert!(!looks_like_uuid("0b6b3a4e09c1d-4f3e-8a2b-1c2d3e4f5a6b"));
    }
}
