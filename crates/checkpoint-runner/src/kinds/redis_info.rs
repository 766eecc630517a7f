//! `redis` with `info: <section>`: one `INFO` section as the document (numbers
//! as numbers), and for `stats` the cache figures: `keyspace_hits`,
//! `keyspace_misses` and `hit_ratio` = hits / (hits + misses), a fraction so
//! `hit_ratio: { gt: 70% }` reads as written.
//!
//! The figures are the server's, since its start or its last `CONFIG
//! RESETSTAT` — what a gate about "the cache" means. With no hits and no
//! misses there is no ratio: `hit_ratio` is absent and an expectation on it
//! fails saying so, because a gate must not pass on nothing.

use std::fmt::Write as _;
use std::time::Instant;

use serde_json::{Map, Value};

use crate::observe::{Observation, ObserveError, excerpt};

/// `INFO <section>` on the connection, as an observation.
pub async fn observe(
    conn: &mut ::redis::aio::MultiplexedConnection,
    section: &str,
    url: &str,
    started: Instant,
) -> Result<Observation, ObserveError> {
    let shown = format!("INFO {section}");
    let text: String = ::redis::cmd("INFO").arg(section).query_async(conn).await.map_err(|e| {
        ObserveError::failed(format!("`{shown}` failed: {e}"), format!("{url}\n> {shown}\n(error) {e}"))
    })?;
    let elapsed = started.elapsed();
    Ok(from_text(section, &text, &format!("{url}\n> {shown}")).duration(elapsed))
}

/// The observation for an `INFO` reply's text.
pub fn from_text(section: &str, text: &str, head: &str) -> Observation {
    let info = parse(text);
    let mut evidence = format!("{head}\n");
    let mut notes = Map::new();
    let int = |k: &str| info.get(k).and_then(Value::as_u64);
    let mut obs_fields: Vec<(&str, Value)> = Vec::new();
    if let (Some(hits), Some(misses)) = (int("keyspace_hits"), int("keyspace_misses")) {
        obs_fields.push(("keyspace_hits", Value::from(hits)));
        obs_fields.push(("keyspace_misses", Value::from(misses)));
        let total = hits + misses;
        if total == 0 {
            let why = "no keyspace hits or misses yet (0 + 0): there is no hit ratio to judge — \
                       the cache has had no reads since the server started or its stats were reset";
            notes.insert("hit_ratio".into(), Value::from(why));
            let _ = writeln!(evidence, "keyspace_hits 0, keyspace_misses 0 → no hit ratio");
        } else {
            let ratio = hits as f64 / total as f64;
            obs_fields.push(("hit_ratio", Value::from(ratio)));
            let _ =
                writeln!(evidence, "keyspace_hits {hits}, keyspace_misses {misses} → hit ratio {:.2}%", ratio * 100.0);
        }
    } else {
        let why = format!("`INFO {section}` has no keyspace_hits/keyspace_misses: use `info: stats`");
        for f in ["hit_ratio", "keyspace_hits", "keyspace_misses"] {
            notes.insert(f.into(), Value::from(why.clone()));
        }
    }
    let _ = write!(evidence, "{}", excerpt(text.trim_end(), 4096));
    let mut obs = Observation { document: Some(Value::Object(info)), evidence, notes, ..Observation::default() };
    for (k, v) in obs_fields {
        obs = obs.field(k, v);
    }
    obs
}

/// `key:value` lines (comments and blank lines skipped); integers and
/// decimals become numbers, the rest stays text.
pub fn parse(text: &str) -> Map<String, Value> {
    let mut out = Map::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((k, v)) = line.split_once(':') else { continue };
        let value = if let Ok(i) = v.parse::<i64>() {
            Value::from(i)
        } else if let Some(f) = v.parse::<f64>().ok().filter(|f| f.is_finite()) {
            Value::from(f)
        } else {
            Value::from(v)
        };
        out.insert(k.to_string(), value);
    }
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ratio_is_a_fraction_and_no_traffic_has_none() {
        let o = from_text(
            "stats",
            "# Stats\r\ntotal_connections_received:3\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n",
            "",
        );
        assert_eq!(o.fields["hit_ratio"], json!(0.75));
        assert_eq!(o.fields["keyspace_hits"], json!(3));
        assert_eq!(o.document.as_ref().unwrap()["total_connections_received"], json!(3));
        let none = from_text("stats", "keyspace_hits:0\r\nkeyspace_misses:0\r\n", "");
        assert!(!none.fields.contains_key("hit_ratio"));
        assert!(none.notes["hit_ratio"].as_str().unwrap().contains("no hit ratio to judge"));
        let other = from_text("server", "redis_version:7.0.15\r\nuptime_in_seconds:12\r\n", "");
        assert_eq!(other.document.as_ref().unwrap()["redis_version"], json!("7.0.15"));
        assert!(other.notes["hit_ratio"].as_str().unwrap().contains("use `info: stats`"));
    }
}
