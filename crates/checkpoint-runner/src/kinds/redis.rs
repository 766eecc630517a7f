//! `redis`: commands on one connection, in order; the last reply is `reply`.
//! A queue round-trip is `commands: [[LPUSH, q, x], [RPOP, q]]` with `reply: x`.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::RedisSpec;
use serde_json::Value;

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

pub struct Redis;

#[async_trait]
impl CheckKind for Redis {
    type Spec = RedisSpec;

    async fn observe(&self, spec: &RedisSpec, _ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let commands: Vec<Vec<String>> =
            if spec.command.is_empty() { spec.commands.clone() } else { vec![spec.command.clone()] };
        let client = ::redis::Client::open(spec.url.as_str())
            .map_err(|e| ObserveError::Errored(format!("`{}` is not a Redis URL: {e}", spec.url)))?;
        let started = Instant::now();
        let mut conn = client.get_multiplexed_async_connection().await.map_err(|e| {
            ObserveError::failed(
                format!("cannot connect to Redis: {}", describe(&e)),
                format!("connect {}\n→ {}", spec.url, describe(&e)),
            )
        })?;
        if spec.is_listener() {
            return Err(ObserveError::Errored("a subscription is run by the engine (it listens)".into()));
        }
        if let Some(key) = &spec.stream {
            return if spec.round_trip {
                let token = format!("{}-{}", std::process::id(), started.elapsed().as_nanos());
                super::redis_channels::stream_round_trip(&mut conn, key, &token, started).await
            } else {
                super::redis_channels::stream_state(&mut conn, key, spec.group.as_deref(), started).await
            };
        }
        if let Some(section) = &spec.info {
            return super::redis_info::observe(&mut conn, section, &spec.url, started).await;
        }
        let mut evidence = String::new();
        let mut last = Value::Null;
        for argv in &commands {
            let Some((name, args)) = argv.split_first() else { continue };
            let mut cmd = ::redis::cmd(name);
            for a in args {
                cmd.arg(a);
            }
            let _ = writeln!(evidence, "> {}", argv.join(" "));
            match cmd.query_async::<::redis::Value>(&mut conn).await {
                Ok(v) => {
                    last = to_json(&v);
                    let _ = writeln!(evidence, "{}", excerpt(&last.to_string(), 2048));
                }
                Err(e) => {
                    let _ = writeln!(evidence, "(error) {}", describe(&e));
                    return Err(ObserveError::failed(
                        format!("`{}` failed: {}", argv.join(" "), describe(&e)),
                        evidence,
                    ));
                }
            }
        }
        let elapsed = started.elapsed();
        Ok(Observation { document: Some(last.clone()), evidence, ..Observation::default() }
            .field("reply", last)
            .duration(elapsed))
    }
}

pub(crate) fn describe(e: &::redis::RedisError) -> String {
    let s = e.to_string();
    if s.to_lowercase().contains("connection refused") {
        "connection refused (is Redis up, and is the port published?)".into()
    } else {
        s
    }
}

/// A reply as JSON: bulk strings as text (or JSON when they hold JSON? no —
/// as text, so `reply: "x"` compares what Redis stored).
pub fn to_json(v: &::redis::Value) -> Value {
    use ::redis::Value as R;
    match v {
        R::Nil => Value::Null,
        R::Int(i) => Value::from(*i),
        R::BulkString(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
        R::Array(a) | R::Set(a) => Value::Array(a.iter().map(to_json).collect()),
        R::SimpleString(s) => Value::String(s.clone()),
        R::Okay => Value::String("OK".into()),
        R::Map(m) => Value::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        R::Attribute { data, .. } => to_json(data),
        R::Double(d) => Value::from(*d),
        R::Boolean(b) => Value::Bool(*b),
        R::VerbatimString { text, .. } => Value::String(text.clone()),
        other => Value::String(format!("{other:?}")),
    }
}
