//! The listening kinds, run by the engine: `websocket`, and `redis` with `subscribe` or
//! `psubscribe`. The engine opens the listener, runs the check's `during:` checks, then reads
//! until enough messages match `wait_for` or the `within` window closes; see
//! `Engine::listen`.

use std::time::Instant;

use checkpoint_model::kinds::CheckSpec;
use checkpoint_model::matcher::Matcher;
use serde_json::Value;

use super::redis_channels::{self, Subscription};
use super::websocket::{self, Connect, Session};
use crate::observe::ObserveError;

/// An open WebSocket or pub/sub subscription.
pub(crate) enum Listener {
    Socket(Box<Session>),
    Channel(Box<Subscription>),
}

impl Listener {
    /// Connects (and subscribes) for a listening spec.
    pub(crate) async fn open(spec: &CheckSpec) -> Result<Self, ObserveError> {
        match spec {
            CheckSpec::Websocket(s) => {
                let headers: Vec<(String, String)> = s.headers.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
                let frames = s.frames();
                let request = Connect { url: &s.url, headers: &headers, subprotocols: &s.subprotocols, send: &frames };
                Ok(Self::Socket(Box::new(websocket::open(&request).await?)))
            }
            CheckSpec::Redis(s) if s.is_listener() => Ok(Self::Channel(Box::new(
                redis_channels::subscribe(&s.url, s.subscribe.as_deref(), s.psubscribe.as_deref()).await?,
            ))),
            other => Err(ObserveError::Errored(format!("a {} check does not listen", other.kind()))),
        }
    }

    /// What is listened to: `ws://…/ws/jobs`, `channel jobs:events`.
    pub(crate) fn what(&self) -> String {
        match self {
            Self::Socket(s) => s.url.clone(),
            Self::Channel(c) => c.what.clone(),
        }
    }

    pub(crate) async fn read(&mut self, until: Instant, enough: impl FnMut(&[Value]) -> bool) {
        match self {
            Self::Socket(s) => {
                s.read(until, enough).await;
            }
            Self::Channel(c) => c.read(until, enough).await,
        }
    }

    pub(crate) fn received(&self) -> &[Value] {
        match self {
            Self::Socket(s) => &s.received,
            Self::Channel(c) => &c.received,
        }
    }

    pub(crate) fn close_code(&self) -> Option<u16> {
        match self {
            Self::Socket(s) => s.close_code,
            Self::Channel(_) => None,
        }
    }

    pub(crate) async fn close(&mut self) {
        if let Self::Socket(s) = self {
            s.close().await;
        }
    }

    /// The connection and every message, in order.
    pub(crate) fn transcript(&self) -> String {
        match self {
            Self::Socket(s) => s.transcript(""),
            Self::Channel(c) => c.transcript(),
        }
    }
}

/// Whether a message holds for every `wait_for` matcher.
pub(crate) fn matches(message: &Value, wait_for: &[(String, Matcher)]) -> bool {
    wait_for.iter().all(|(path, m)| m.check(crate::expect::query(message, path).as_ref()).is_ok())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_message_matches_when_every_path_holds() {
        let wait_for = vec![
            ("$.status".to_string(), Matcher::equals(json!("processed"))),
            ("$.kind".to_string(), Matcher::parse(&json!({ "contains": "rt-" })).unwrap()),
        ];
        assert!(matches(&json!({"status": "processed", "kind": "rt-42"}), &wait_for));
        assert!(!matches(&json!({"status": "queued", "kind": "rt-42"}), &wait_for));
        assert!(!matches(&json!("plain text"), &wait_for));
        assert!(matches(&json!("anything"), &[]));
    }
}
