//! Accounts and bearer tokens: `POST /auth/register`, `POST /auth/login`, `GET /auth/me`,
//! and the [`CurrentUser`] extractor every protected route uses.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::error::{ApiError, ApiResult};
use crate::secret;

/// Tokens are valid for one hour.
pub(crate) const TOKEN_TTL_SECONDS: i64 = 3600;

#[derive(Deserialize)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

#[derive(Serialize)]
pub(crate) struct User {
    pub(crate) id: i64,
    pub(crate) email: String,
}

/// `POST /auth/register` → 201 `{id, email}`; 409 if the email is taken; 422 if invalid.
pub(crate) async fn register(
    State(state): State<AppState>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<User>)> {
    let Json(credentials) = body?;
    let email = normalise_email(&credentials.email)?;
    if credentials.password.chars().count() < 8 {
        return Err(ApiError::invalid("password must be at least 8 characters"));
    }
    let hash = secret::hash_password(&credentials.password);
    let inserted: Option<(i64, String)> = sqlx::query_as(
        "INSERT INTO users (email, password_hash) VALUES ($1, $2)
         ON CONFLICT (email) DO NOTHING RETURNING id, email",
    )
    .bind(&email)
    .bind(&hash)
    .fetch_optional(&state.db)
    .await?;
    match inserted {
        Some((id, email)) => Ok((StatusCode::CREATED, Json(User { id, email }))),
        None => Err(ApiError::new(StatusCode::CONFLICT, "email already registered")),
    }
}

/// `POST /auth/login` → 200 `{access_token, token_type: "bearer", expires_in: 3600}`; 401.
pub(crate) async fn login(
    State(state): State<AppState>,
    body: Result<Json<Credentials>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(credentials) = body?;
    let email = credentials.email.trim().to_lowercase();
    let user: Option<(i64, String)> = sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1")
        .bind(&email)
        .fetch_optional(&state.db)
        .await?;
    let Some((user_id, _)) = user.filter(|(_, hash)| secret::verify_password(&credentials.password, hash)) else {
        return Err(ApiError::unauthorized("invalid email or password"));
    };
    // Stored as issued: a demo. A real service would store a hash of the token.
    let token = secret::new_token();
    sqlx::query(
        "INSERT INTO sessions (token, user_id, expires_at)
         VALUES ($1, $2, now() + make_interval(secs => $3))",
    )
    .bind(&token)
    .bind(user_id)
    .bind(TOKEN_TTL_SECONDS as f64)
    .execute(&state.db)
    .await?;
    Ok(Json(json!({
        "access_token": token,
        "token_type": "bearer",
        "expires_in": TOKEN_TTL_SECONDS,
    })))
}

/// `GET /auth/me` → 200 `{id, email}`; 401 without a valid token.
pub(crate) async fn me(user: CurrentUser) -> Json<User> {
    Json(user.0)
}

/// The user behind `Authorization: Bearer <token>`; rejects with 401.
pub(crate) struct CurrentUser(pub(crate) User);

impl FromRequestParts<AppState> for CurrentUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                let (scheme, token) = value.trim().split_once(' ')?;
                scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
            })
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
        let user: Option<(i64, String)> = sqlx::query_as(
            "SELECT u.id, u.email FROM sessions s JOIN users u ON u.id = s.user_id
             WHERE s.token = $1 AND s.expires_at > now()",
        )
        .bind(token)
        .fetch_optional(&state.db)
        .await?;
        let (id, email) = user.ok_or_else(|| ApiError::unauthorized("invalid or expired token"))?;
        Ok(Self(User { id, email }))
    }
}

fn normalise_email(raw: &str) -> ApiResult<String> {
    let email = raw.trim().to_lowercase();
    let valid = email.len() <= 254
        && !email.contains(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !domain.contains('@')
        });
    if valid { Ok(email) } else { Err(ApiError::invalid("email must look like name@example.com")) }
}

#[cfg(test)]
mod tests {
    use super::normalise_email;

    #[test]
    fn emails_are_trimmed_and_lower_cased() {
        assert_eq!(normalise_email("  Ada@Example.COM ").unwrap(), "ada@example.com");
    }

    #[test]
    fn implausible_emails_are_rejected() {
        for raw in ["", "ada", "@example.com", "ada@", "ada@example", "ada@.com", "a da@example.com", "a@b@c.com"] {
            assert!(normalise_email(raw).is_err(), "{raw:?}");
        }
    }
}
