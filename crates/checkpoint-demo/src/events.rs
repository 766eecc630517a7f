//! Job events: the worker `PUBLISH`es one on the Redis channel `jobs:events` when it has
//! processed a job, and the API relays them to WebSocket clients of `GET /ws/jobs`, so the
//! demo has a real-time channel for the plan's "real-time channel delivers job updates".
//!
//! One relay task per API process subscribes to the channel (reconnecting with backoff) and
//! fans messages out through a broadcast channel; each socket forwards what it receives.
//! `JOB_EVENTS_PUSH=off` leaves the relay unstarted: sockets connect but never hear anything
//! (the `fixtures/broken/push-disabled.yml` variant).

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use futures::StreamExt as _;
use serde_json::json;
use tokio::sync::broadcast;

use crate::api::AppState;
use crate::auth::CurrentUser;

/// The Redis pub/sub channel job events are published on.
pub(crate) const CHANNEL: &str = "jobs:events";

const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The event published when the worker has processed a job.
pub(crate) fn processed(id: &str, kind: &str) -> String {
    json!({ "type": "job", "id": id, "kind": kind, "status": "processed" }).to_string()
}

/// Whether the API relays events to sockets (`JOB_EVENTS_PUSH`, default on).
pub(crate) fn push_enabled() -> bool {
    !matches!(std::env::var("JOB_EVENTS_PUSH").as_deref().map(str::trim), Ok("off" | "0" | "false"))
}

/// Subscribes to [`CHANNEL`] for as long as the process lives and sends every message to `tx`.
pub(crate) fn spawn_relay(client: redis::Client, tx: broadcast::Sender<String>) {
    tokio::spawn(async move {
        let mut backoff = Duration::from_millis(250);
        loop {
            match relay(&client, &tx, &mut backoff).await {
                Ok(()) => println!("api: job events subscription ended; resubscribing"),
                Err(e) => println!("api: job events subscription failed: {e}; retrying in {backoff:?}"),
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    });
}

async fn relay(
    client: &redis::Client,
    tx: &broadcast::Sender<String>,
    backoff: &mut Duration,
) -> redis::RedisResult<()> {
    let mut pubsub = client.get_async_pubsub().await?;
    pubsub.subscribe(CHANNEL).await?;
    println!("api: relaying {CHANNEL} to WebSocket clients");
    *backoff = Duration::from_millis(250);
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        if let Ok(payload) = message.get_payload::<String>() {
            // No receivers is fine: nobody is listening right now.
            let _ = tx.send(payload);
        }
    }
    Ok(())
}

/// `GET /ws/jobs` (bearer token): a WebSocket that receives every job event as a text frame.
pub(crate) async fn socket(
    State(state): State<AppState>,
    CurrentUser(_user): CurrentUser,
    upgrade: WebSocketUpgrade,
) -> Response {
    let events = state.events.subscribe();
    upgrade.on_upgrade(move |socket| forward(socket, events))
}

async fn forward(mut socket: WebSocket, mut events: broadcast::Receiver<String>) {
    println!("api: WebSocket client connected to /ws/jobs");
    loop {
        tokio::select! {
            event = events.recv() => match event {
                Ok(text) => {
                    if socket.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Err(broadcast::error::RecvError::Lagged(n)) => println!("api: a WebSocket client missed {n} events"),
                Err(broadcast::error::RecvError::Closed) => break,
            },
            incoming = socket.recv() => match incoming {
                // Pings are answered by axum; text from the client is ignored.
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    println!("api: WebSocket client left /ws/jobs");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_processed_event_names_the_job_and_its_status() {
        let event: serde_json::Value = serde_json::from_str(&processed("42", "email")).unwrap();
        assert_eq!(event, json!({"type": "job", "id": "42", "kind": "email", "status": "processed"}));
    }
}
