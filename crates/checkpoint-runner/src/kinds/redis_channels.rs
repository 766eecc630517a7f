//! Redis beyond request/reply: pub/sub subscriptions (a channel or a pattern) that wait for
//! messages published while checks nested under them run, and streams — a consumer group's
//! backlog (`XINFO GROUPS`: pending, lag) and an `XADD`/`XREADGROUP` round trip that leaves
//! nothing behind.

use std::fmt::Write as _;
use std::pin::Pin;
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use redis::aio::MultiplexedConnection;
use serde_json::{Value, json};

use super::redis::{describe, to_json};
use crate::observe::{Observation, ObserveError, excerpt};

const LOG_TEXT: usize = 512;

/// A live subscription and what it heard.
pub(crate) struct Subscription {
    messages: Pin<Box<dyn Stream<Item = redis::Msg> + Send>>,
    opened: Instant,
    /// `channel jobs:events` or `pattern jobs:*`.
    pub what: String,
    pub log: Vec<(Duration, String, String)>,
    /// Payloads received, parsed as JSON where they are JSON.
    pub received: Vec<Value>,
    pub ended: bool,
}

/// Subscribes to `channel`, or to `pattern` (`PSUBSCRIBE`).
pub(crate) async fn subscribe(
    url: &str,
    channel: Option<&str>,
    pattern: Option<&str>,
) -> Result<Subscription, ObserveError> {
    let client =
        redis::Client::open(url).map_err(|e| ObserveError::Errored(format!("`{url}` is not a Redis URL: {e}")))?;
    let mut pubsub = client.get_async_pubsub().await.map_err(|e| {
        ObserveError::failed(
            format!("cannot connect to Redis: {}", describe(&e)),
            format!("connect {url}\n→ {}", describe(&e)),
        )
    })?;
    let (what, result) = match (channel, pattern) {
        (Some(c), _) => (format!("channel {c}"), pubsub.subscribe(c).await),
        (None, Some(p)) => (format!("pattern {p}"), pubsub.psubscribe(p).await),
        (None, None) => return Err(ObserveError::Errored("a subscription needs `subscribe` or `psubscribe`".into())),
    };
    result.map_err(|e| {
        ObserveError::failed(
            format!("cannot subscribe to {what}: {}", describe(&e)),
            format!("SUBSCRIBE {what}\n→ {}", describe(&e)),
        )
    })?;
    Ok(Subscription {
        messages: Box::pin(pubsub.into_on_message()),
        opened: Instant::now(),
        what,
        log: Vec::new(),
        received: Vec::new(),
        ended: false,
    })
}

impl Subscription {
    /// Reads until `enough` is satisfied or `until`.
    pub(crate) async fn read(&mut self, until: Instant, mut enough: impl FnMut(&[Value]) -> bool) {
        let deadline = tokio::time::Instant::from_std(until);
        while !self.ended && !enough(&self.received) {
            match tokio::time::timeout_at(deadline, self.messages.next()).await {
                Err(_) => break,
                Ok(None) => {
                    self.ended = true;
                    let at = self.opened.elapsed();
                    self.log.push((at, String::new(), "(the subscription connection closed)".into()));
                }
                Ok(Some(message)) => {
                    let payload = String::from_utf8_lossy(message.get_payload_bytes()).into_owned();
                    let channel = message.get_channel_name().to_string();
                    self.log.push((self.opened.elapsed(), channel, excerpt(&payload, LOG_TEXT)));
                    self.received.push(serde_json::from_str(&payload).unwrap_or(Value::String(payload)));
                }
            }
        }
    }

    /// `subscribed to channel jobs:events` and one line per message.
    pub(crate) fn transcript(&self) -> String {
        let mut out = format!("subscribed to {}\n", self.what);
        for (at, channel, text) in &self.log {
            let on = if channel.is_empty() { String::new() } else { format!("{channel}: ") };
            let _ = writeln!(out, "← [{:>6.1} ms] {on}{text}", at.as_secs_f64() * 1000.0);
        }
        out
    }
}

/// A stream and, with `group`, that consumer group's backlog: `length`, `pending`, `lag`
/// (Redis 7+; null where the server cannot tell), `consumers`, `last_delivered_id`.
pub(crate) async fn stream_state(
    conn: &mut MultiplexedConnection,
    key: &str,
    group: Option<&str>,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let length: u64 =
        redis::cmd("XLEN").arg(key).query_async(conn).await.map_err(|e| failed(&format!("XLEN {key}"), &e))?;
    let mut evidence = format!("> XLEN {key}\n{length}\n");
    let mut observation = Observation::default().field("length", length);
    let mut document = json!({ "stream": key, "length": length });
    if let Some(group) = group {
        let groups: redis::Value = redis::cmd("XINFO")
            .arg("GROUPS")
            .arg(key)
            .query_async(conn)
            .await
            .map_err(|e| failed(&format!("XINFO GROUPS {key}"), &e))?;
        let groups = to_json(&groups);
        let _ = writeln!(evidence, "> XINFO GROUPS {key}\n{}", excerpt(&groups.to_string(), 2048));
        let found = groups.as_array().into_iter().flatten().map(info_object).find(|g| g["name"] == group);
        let Some(info) = found else {
            return Err(ObserveError::failed(format!("stream `{key}` has no consumer group `{group}`"), evidence));
        };
        for field in ["pending", "lag", "consumers"] {
            observation = observation.field(field, info.get(field).cloned().unwrap_or(Value::Null));
        }
        observation =
            observation.field("last_delivered_id", info.get("last-delivered-id").cloned().unwrap_or(Value::Null));
        document["group"] = info;
    }
    observation.document = Some(document);
    observation.evidence = evidence;
    Ok(observation.duration(started.elapsed()))
}

/// `XINFO GROUPS` entries come as flat `[name, value, …]` arrays (RESP2) or maps (RESP3).
fn info_object(entry: &Value) -> Value {
    match entry {
        Value::Array(flat) => {
            let mut object = serde_json::Map::new();
            for pair in flat.chunks(2) {
                if let [Value::String(k), v] = pair {
                    object.insert(k.clone(), v.clone());
                }
            }
            Value::Object(object)
        }
        other => other.clone(),
    }
}

/// Adds an entry, reads it back through a consumer group of its own, then removes the entry
/// and the group: `round_trip` (ms) and the entry's `id`.
pub(crate) async fn stream_round_trip(
    conn: &mut MultiplexedConnection,
    key: &str,
    token: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let group = format!("checkpoint-probe-{token}");
    let mut evidence = String::new();
    // The group starts at the stream's current end (`$`), so it sees only the probe.
    let created: Result<(), _> =
        redis::cmd("XGROUP").arg("CREATE").arg(key).arg(&group).arg("$").arg("MKSTREAM").query_async(conn).await;
    created.map_err(|e| failed(&format!("XGROUP CREATE {key} {group} $ MKSTREAM"), &e))?;
    let _ = writeln!(evidence, "> XGROUP CREATE {key} {group} $ MKSTREAM");
    let outcome = async {
        let id: String = redis::cmd("XADD")
            .arg(key)
            .arg("*")
            .arg("checkpoint-probe")
            .arg(token)
            .query_async(conn)
            .await
            .map_err(|e| failed(&format!("XADD {key} * checkpoint-probe {token}"), &e))?;
        let _ = writeln!(evidence, "> XADD {key} * checkpoint-probe {token}\n{id}");
        let read: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&group)
            .arg("probe")
            .arg("COUNT")
            .arg(1)
            .arg("STREAMS")
            .arg(key)
            .arg(">")
            .query_async(conn)
            .await
            .map_err(|e| failed(&format!("XREADGROUP GROUP {group} probe COUNT 1 STREAMS {key} >"), &e))?;
        let read = to_json(&read);
        let _ = writeln!(
            evidence,
            "> XREADGROUP GROUP {group} probe COUNT 1 STREAMS {key} >\n{}",
            excerpt(&read.to_string(), 1024)
        );
        let elapsed = started.elapsed();
        let _: Result<i64, _> = redis::cmd("XACK").arg(key).arg(&group).arg(&id).query_async(conn).await;
        let _: Result<i64, _> = redis::cmd("XDEL").arg(key).arg(&id).query_async(conn).await;
        let came_back = read.to_string().contains(&id);
        Ok::<_, ObserveError>((id, came_back, elapsed))
    }
    .await;
    let _: Result<i64, _> = redis::cmd("XGROUP").arg("DESTROY").arg(key).arg(&group).query_async(conn).await;
    let (id, came_back, elapsed) = outcome?;
    let _ = writeln!(evidence, "(probe entry and group removed)");
    let mut problems = Vec::new();
    if !came_back {
        problems.push(format!("stream `{key}`: the probe entry {id} did not come back through XREADGROUP"));
    }
    Ok(Observation {
        document: Some(json!({ "stream": key, "id": id, "round_trip": came_back })),
        evidence,
        problems,
        ..Observation::default()
    }
    .field("round_trip", checkpoint_model::duration::millis(elapsed))
    .duration(elapsed))
}

fn failed(command: &str, e: &redis::RedisError) -> ObserveError {
    ObserveError::failed(
        format!("`{command}` failed: {}", describe(e)),
        format!("> {command}\n(error) {}", describe(e)),
    )
}

#[cfg(test)]
mod tests {
    use redis::AsyncCommands as _;

    use super::*;

    fn url() -> String {
        std::env::var("CHECKPOINT_TEST_REDIS")
            .expect("CHECKPOINT_TEST_REDIS is not set: run the tests through scripts/test.sh, which starts Redis")
    }

    async fn conn() -> MultiplexedConnection {
        redis::Client::open(url()).unwrap().get_multiplexed_async_connection().await.unwrap()
    }

    #[tokio::test]
    async fn a_subscription_hears_what_is_published_after_it_and_stops_when_enough() {
        let channel = format!("unit:events:{}", std::process::id());
        let mut sub = subscribe(&url(), Some(&channel), None).await.unwrap();
        let mut publisher = conn().await;
        for n in 1..=3 {
            let _: i64 = publisher.publish(&channel, json!({ "n": n }).to_string()).await.unwrap();
        }
        sub.read(Instant::now() + Duration::from_secs(5), |got| got.iter().any(|m| m["n"] == 2)).await;
        assert_eq!(sub.received, vec![json!({"n": 1}), json!({"n": 2})]);
        let t = sub.transcript();
        assert!(t.starts_with(&format!("subscribed to channel {channel}\n← [")), "{t}");
        assert!(t.contains(&format!("] {channel}: {{\"n\":2}}")), "{t}");
    }

    #[tokio::test]
    async fn a_pattern_subscription_and_a_quiet_window() {
        let pid = std::process::id();
        let mut sub = subscribe(&url(), None, Some(&format!("unit:p{pid}:*"))).await.unwrap();
        let mut publisher = conn().await;
        let _: i64 = publisher.publish(format!("unit:p{pid}:a"), "plain text").await.unwrap();
        sub.read(Instant::now() + Duration::from_millis(300), |got| got.len() > 1).await;
        assert_eq!(sub.received, vec![json!("plain text")]);
        assert!(sub.opened.elapsed() >= Duration::from_millis(250));
    }

    #[tokio::test]
    async fn stream_backlog_and_round_trip_leave_nothing_behind() {
        let key = format!("unit:stream:{}", std::process::id());
        let mut c = conn().await;
        let _: () = redis::cmd("DEL").arg(&key).query_async(&mut c).await.unwrap();
        let group = ["CREATE", key.as_str(), "workers", "0", "MKSTREAM"];
        let _: () = redis::cmd("XGROUP").arg(&group).query_async(&mut c).await.unwrap();
        for n in 0..3 {
            let _: String = redis::cmd("XADD").arg(&key).arg("*").arg("n").arg(n).query_async(&mut c).await.unwrap();
        }
        // One consumer takes two entries and acknowledges none: 2 pending, 1 not yet delivered.
        let _: redis::Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("workers")
            .arg("w1")
            .arg("COUNT")
            .arg(2)
            .arg("STREAMS")
            .arg(&key)
            .arg(">")
            .query_async(&mut c)
            .await
            .unwrap();
        let o = stream_state(&mut c, &key, Some("workers"), Instant::now()).await.unwrap();
        assert_eq!(o.fields["length"], json!(3));
        assert_eq!(o.fields["pending"], json!(2));
        assert_eq!(o.fields["lag"], json!(1), "{}", o.evidence);
        assert_eq!(o.fields["consumers"], json!(1));

        let Err(ObserveError::Failed { message, .. }) =
            stream_state(&mut c, &key, Some("nobody"), Instant::now()).await
        else {
            panic!("an unknown group must fail")
        };
        assert_eq!(message, format!("stream `{key}` has no consumer group `nobody`"));

        let o = stream_round_trip(&mut c, &key, "t1", Instant::now()).await.unwrap();
        assert!(o.problems.is_empty(), "{}", o.evidence);
        assert_eq!(o.document.as_ref().unwrap()["round_trip"], json!(true));
        let len: u64 = redis::cmd("XLEN").arg(&key).query_async(&mut c).await.unwrap();
        assert_eq!(len, 3, "the probe entry is gone");
        let groups: redis::Value = redis::cmd("XINFO").arg("GROUPS").arg(&key).query_async(&mut c).await.unwrap();
        assert_eq!(to_json(&groups).as_array().unwrap().len(), 1, "the probe group is gone");
        let _: () = redis::cmd("DEL").arg(&key).query_async(&mut c).await.unwrap();
    }
}
