//! The demo's CRUD resource, `/items`. Every route needs a bearer token, and a user
//! only ever sees their own items (someone else's item is a 404).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use sqlx::types::Json as JsonColumn;

use crate::api::AppState;
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::{cache, drift};

/// Body of `POST /items` and `PUT /items/{id}`.
#[derive(Deserialize)]
pub(crate) struct ItemInput {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

impl ItemInput {
    fn validated(self) -> ApiResult<Self> {
        let name = self.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(ApiError::invalid("name must be 1 to 200 characters"));
        }
        Ok(Self { name, ..self })
    }
}

/// An item as JSON, rendered by Postgres: `{id, owner_id, name, description, created_at}`.
macro_rules! item_json {
    () => {
        "json_build_object('id', id, 'owner_id', owner_id, 'name', name, \
         'description', description, 'created_at', created_at)"
    };
}

/// `POST /items` → 201 item; 422 if the name is blank or too long.
pub(crate) async fn create(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    body: Result<Json<ItemInput>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(input) = body?;
    let input = input.validated()?;
    let JsonColumn(item) = sqlx::query_scalar(concat!(
        "INSERT INTO items (owner_id, name, description) VALUES ($1, $2, $3) RETURNING ",
        item_json!()
    ))
    .bind(user.id)
    .bind(&input.name)
    .bind(&input.description)
    .fetch_one(&state.db)
    .await?;
    Ok((StatusCode::CREATED, Json(drift::item(item))))
}

/// `GET /items` → 200 the current user's items, by id.
pub(crate) async fn list(State(state): State<AppState>, CurrentUser(user): CurrentUser) -> ApiResult<Json<Value>> {
    let items: Vec<JsonColumn<Value>> =
        sqlx::query_scalar(concat!("SELECT ", item_json!(), " FROM items WHERE owner_id = $1 ORDER BY id"))
            .bind(user.id)
            .fetch_all(&state.db)
            .await?;
    Ok(Json(Value::Array(drift::items(items.into_iter().map(|JsonColumn(v)| v).collect()))))
}

/// `GET /items/{id}` → 200 item; 404. Read through the Redis cache (`x-cache: hit|miss`).
pub(crate) async fn get(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<([(&'static str, &'static str); 1], Json<Value>)> {
    let id = parse_id(&id)?;
    let key = cache::key(user.id, id);
    if let Some(item) = cache::get(&state, &key).await {
        return Ok(([("x-cache", "hit")], Json(drift::item(item))));
    }
    let item: Option<JsonColumn<Value>> =
        sqlx::query_scalar(concat!("SELECT ", item_json!(), " FROM items WHERE id = $1 AND owner_id = $2"))
            .bind(id)
            .bind(user.id)
            .fetch_optional(&state.db)
            .await?;
    let JsonColumn(item) = item.ok_or_else(|| ApiError::not_found("item"))?;
    cache::put(&state, &key, &item).await;
    Ok(([("x-cache", "miss")], Json(drift::item(item))))
}

/// `PUT /items/{id}` → 200 the updated item (name and description replaced); 404; 422.
pub(crate) async fn update(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
    body: Result<Json<ItemInput>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let id = parse_id(&id)?;
    let Json(input) = body?;
    let input = input.validated()?;
    let item: Option<JsonColumn<Value>> = sqlx::query_scalar(concat!(
        "UPDATE items SET name = $3, description = $4 WHERE id = $1 AND owner_id = $2 RETURNING ",
        item_json!()
    ))
    .bind(id)
    .bind(user.id)
    .bind(&input.name)
    .bind(&input.description)
    .fetch_optional(&state.db)
    .await?;
    cache::forget(&state, &cache::key(user.id, id)).await;
    item.map(|JsonColumn(v)| Json(drift::item(v))).ok_or_else(|| ApiError::not_found("item"))
}

/// `DELETE /items/{id}` → 204; 404.
pub(crate) async fn delete(
    State(state): State<AppState>,
    CurrentUser(user): CurrentUser,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let id = parse_id(&id)?;
    let deleted = sqlx::query("DELETE FROM items WHERE id = $1 AND owner_id = $2")
        .bind(id)
        .bind(user.id)
        .execute(&state.db)
        .await?
        .rows_affected();
    cache::forget(&state, &cache::key(user.id, id)).await;
    if deleted == 0 { Err(ApiError::not_found("item")) } else { Ok(StatusCode::NO_CONTENT) }
}

/// A path id that is not a number names no item: 404, like any other unknown id.
fn parse_id(raw: &str) -> ApiResult<i64> {
    raw.parse().map_err(|_| ApiError::not_found("item"))
}
