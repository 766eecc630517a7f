//! The HTTP API: state, routes, the per-request log line and metrics, graceful shutdown.

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use sqlx::PgPool;
use tokio::sync::broadcast;

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::queue::Redis;
use crate::{auth, config, db, events, health, items, jobs, metrics, openapi, shutdown};

#[derive(Clone)]
pub(crate) struct AppState {
    pub(crate) db: PgPool,
    pub(crate) redis: Redis,
    pub(crate) metrics: Arc<Metrics>,
    /// Job events relayed from Redis to WebSocket clients (see [`crate::events`]).
    pub(crate) events: broadcast::Sender<String>,
}

/// Every HTTP operation served; `fixtures/demo/openapi.json` must document exactly these
/// (checked by a test in `openapi`). The WebSocket upgrade `GET /ws/jobs` is not an
/// OpenAPI operation and is not listed.
#[cfg(test)]
pub(crate) const ROUTES: &[(&str, &str)] = &[
    ("GET", "/health"),
    ("GET", "/health/db"),
    ("POST", "/auth/register"),
    ("POST", "/auth/login"),
    ("GET", "/auth/me"),
    ("GET", "/items"),
    ("POST", "/items"),
    ("GET", "/items/{id}"),
    ("PUT", "/items/{id}"),
    ("DELETE", "/items/{id}"),
    ("POST", "/jobs"),
    ("GET", "/jobs/{id}"),
    ("GET", "/openapi.json"),
    ("GET", "/metrics"),
];

pub(crate) fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health::live))
        .route("/health/db", get(health::dependencies))
        .route("/auth/register", post(auth::register))
        .route("/auth/login", post(auth::login))
        .route("/auth/me", get(auth::me))
        .route("/items", get(items::list).post(items::create))
        .route("/items/{id}", get(items::get).put(items::update).delete(items::delete))
        .route("/jobs", post(jobs::submit))
        .route("/jobs/{id}", get(jobs::status))
        .route("/openapi.json", get(openapi::serve))
        .route("/metrics", get(metrics::serve))
        .route("/ws/jobs", get(events::socket))
        .fallback(|| async { ApiError::not_found("route") })
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// One log line and one metrics sample per request.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let uri_path = request.uri().path().to_owned();
    let route =
        request.extensions().get::<MatchedPath>().map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    let elapsed = started.elapsed();
    let status = response.status().as_u16();
    state.metrics.record(&method, &route, status, elapsed);
    println!("api: {method} {uri_path} -> {status} ({:.1} ms)", elapsed.as_secs_f64() * 1000.0);
    response
}

/// `checkpoint-demo api`
pub(crate) async fn run() -> Result<()> {
    let port = config::port()?;
    let redis_url = config::redis_url()?;
    let (events_tx, _) = broadcast::channel(256);
    let state = AppState {
        db: db::lazy_pool(&config::database_url()?)?,
        redis: Redis::new(&redis_url)?,
        metrics: Arc::new(Metrics::default()),
        events: events_tx.clone(),
    };
    if events::push_enabled() {
        let client = redis::Client::open(redis_url).context("REDIS_URL is not a valid Redis URL")?;
        events::spawn_relay(client, events_tx);
    } else {
        println!("api: JOB_EVENTS_PUSH=off: WebSocket clients will receive no job events");
    }
    let listener = tokio::net::TcpListener::bind(("0.0.0.0", port))
        .await
        .with_context(|| format!("cannot listen on 0.0.0.0:{port}"))?;
    println!("api: listening on 0.0.0.0:{port}");
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            shutdown::signal().await;
            println!("api: shutting down");
        })
        .await
        .context("server error")?;
    println!("api: stopped");
    Ok(())
}
