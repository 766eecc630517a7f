//! The job queue: a Redis list. The API `LPUSH`es, the worker `BRPOP`s (first in, first out).

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde_json::{Value, json};
use tokio::sync::OnceCell;

/// The Redis list holding queued jobs.
pub(crate) const KEY: &str = "jobs:queue";

/// Bound on any one Redis round-trip made on behalf of an HTTP request.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(2);

/// The message pushed for a job: `{"id": "<uuid>", "kind": "...", "payload": {...}}`.
pub(crate) fn message(id: &str, kind: &str, payload: &Value) -> String {
    json!({ "id": id, "kind": kind, "payload": payload }).to_string()
}

/// The job id in a queue message: the JSON message above, or a bare id.
pub(crate) fn job_id(message: &str) -> Option<String> {
    let id = match serde_json::from_str::<Value>(message) {
        Ok(Value::Object(fields)) => fields.get("id")?.as_str()?.to_owned(),
        _ => message.trim().to_owned(),
    };
    (!id.is_empty()).then_some(id)
}

/// A Redis connection made on first use, so the API starts (and reports it) when Redis is down.
#[derive(Clone)]
pub(crate) struct Redis {
    client: redis::Client,
    manager: Arc<OnceCell<ConnectionManager>>,
}

impl Redis {
    pub(crate) fn new(url: &str) -> anyhow::Result<Self> {
        let client =
            redis::Client::open(url).map_err(|e| anyhow::anyhow!("REDIS_URL is not a valid Redis URL: {e}"))?;
        Ok(Self { client, manager: Arc::new(OnceCell::new()) })
    }

    /// The shared connection; it reconnects by itself after the first success.
    pub(crate) async fn connection(&self) -> redis::RedisResult<ConnectionManager> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(1)))
            .set_response_timeout(Some(Duration::from_secs(1)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        self.manager.get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config)).await.cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_carries_its_job_id() {
        let message = message("42", "email", &json!({"to": "a@b.c"}));
        assert_eq!(job_id(&message).as_deref(), Some("42"));
    }

    #[test]
    fn a_bare_id_is_accepted_and_junk_is_not() {
        assert_eq!(job_id(" 7f0c ").as_deref(), Some("7f0c"));
        assert_eq!(job_id("{\"kind\": \"x\"}"), None);
        assert_eq!(job_id(""), None);
    }
}
