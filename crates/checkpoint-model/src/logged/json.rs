//! A log written as one JSON object a line (python-json-logger, structlog,
//! winston, pino, bunyan): a record at an error level names its cause in
//! its exception field — an escaped Python traceback (`exc_info`), a
//! JavaScript `stack`, structlog's `exception` list — not in the line as
//! text, which quoted whole is a wall of escaped frames. What it says went
//! wrong is read from its fields instead:
//!
//! - the exception's own line, as the text log would show it
//!   (`RuntimeError: boom`, `TypeError: Cannot read properties of undefined`);
//! - else the record's message (`message`, `msg`, `event`).
//!
//! A record is at an error level when its `level`, `levelname` or
//! `severity` says `error`, `fatal`, `critical`, `panic`, `emerg` or
//! `alert`, or its numeric `level` is 50 or more (pino and bunyan: 50 is
//! `error`, 60 `fatal`).

use serde_json::{Map, Value};

/// What a JSON error record says went wrong.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Error {
    /// In one line, as [`super::last_error`] quotes it.
    pub quote: String,
    /// It carries an exception (a traceback, a stack): an unhandled error,
    /// which a framework logs once per failed request.
    pub exception: bool,
    /// When the record was made (nanoseconds since the epoch), from its own
    /// time field when that names its zone or is an epoch number, or is
    /// Python's `asctime` (taken as UTC; [`super::requests`] keeps it only
    /// where the engine's stamp agrees).
    pub time: Option<u128>,
}

/// The error a JSON log line records, or `None` for any other line.
pub(super) fn error(line: &str) -> Option<Error> {
    let line = line.trim();
    if !(line.starts_with('{') && line.ends_with('}')) {
        return None;
    }
    let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else { return None };
    if !at_error_level(&record) {
        return None;
    }
    let time = time(&record);
    if let Some(quote) = exception(&record) {
        return Some(Error { quote, exception: true, time });
    }
    let message = ["message", "msg", "event"].iter().find_map(|k| record.get(*k)?.as_str())?;
    let quote = message.lines().find(|l| !l.trim().is_empty())?.trim().to_string();
    Some(Error { quote, exception: false, time })
}

fn at_error_level(record: &Map<String, Value>) -> bool {
    const ERROR: [&str; 8] = ["error", "err", "fatal", "critical", "crit", "panic", "emerg", "alert"];
    ["level", "levelname", "severity", "log.level"].iter().any(|k| match record.get(*k) {
        Some(Value::String(s)) => ERROR.contains(&s.to_ascii_lowercase().as_str()),
        Some(Value::Number(n)) => n.as_u64().is_some_and(|n| n >= 50),
        _ => false,
    })
}

/// The exception's line, from the fields loggers put it in.
fn exception(record: &Map<String, Value>) -> Option<String> {
    for key in ["exc_info", "exception", "stack", "stack_trace", "err", "error"] {
        let Some(value) = record.get(key) else { continue };
        let found = match value {
            Value::String(text) => in_text(text),
            // structlog's `dict_tracebacks`: the raised exception first, then its causes.
            Value::Array(list) => list.first().and_then(|e| {
                let name = e.get("exc_type")?.as_str()?;
                let text = e.get("exc_value").and_then(Value::as_str).unwrap_or("");
                Some(if text.is_empty() { name.to_string() } else { format!("{name}: {text}") })
            }),
            // pino's and winston's `err`/`error`: `{type, message, stack}`.
            Value::Object(e) => e.get("stack").and_then(Value::as_str).and_then(in_text).or_else(|| {
                let text = e.get("message")?.as_str()?;
                let name = e.get("type").or_else(|| e.get("name")).and_then(Value::as_str);
                Some(name.map_or_else(|| text.to_string(), |n| format!("{n}: {text}")))
            }),
            _ => None,
        };
        if found.is_some() {
            return found;
        }
    }
    None
}

/// The exception a JSON error record carries, as a text log would show it
/// (its traceback or stack, structlog's frames as Python prints them).
pub(super) fn exception_text(line: &str) -> Option<String> {
    let line = line.trim();
    if !line.starts_with('{') {
        return None;
    }
    let Ok(Value::Object(record)) = serde_json::from_str::<Value>(line) else { return None };
    if !at_error_level(&record) {
        return None;
    }
    ["exc_info", "exception", "stack", "stack_trace", "err", "error"].iter().find_map(|key| match record.get(*key)? {
        Value::String(text) => text.contains('\n').then(|| text.trim_end().to_string()),
        Value::Object(e) => e.get("stack")?.as_str().map(|t| t.trim_end().to_string()),
        Value::Array(list) => {
            let mut out = Vec::new();
            // structlog lists the raised exception first: print causes first, as Python does.
            for e in list.iter().rev() {
                out.push("Traceback (most recent call last):".to_string());
                for f in e.get("frames").and_then(Value::as_array).into_iter().flatten() {
                    let file = f.get("filename").and_then(Value::as_str).unwrap_or("?");
                    let line = f.get("lineno").and_then(Value::as_u64).unwrap_or(0);
                    let name = f.get("name").and_then(Value::as_str).unwrap_or("?");
                    out.push(format!("  File \"{file}\", line {line}, in {name}"));
                }
                let name = e.get("exc_type").and_then(Value::as_str).unwrap_or("Exception");
                let text = e.get("exc_value").and_then(Value::as_str).unwrap_or("");
                out.push(if text.is_empty() { name.to_string() } else { format!("{name}: {text}") });
            }
            (!out.is_empty()).then(|| out.join("\n"))
        }
        _ => None,
    })
}

/// The error a multi-line traceback or stack names, as the text log's.
fn in_text(text: &str) -> Option<String> {
    if !text.contains('\n') {
        return None;
    }
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    super::last_error_in(&lines)
}

/// The record's own time: RFC 3339 with its zone (`timestamp`, `time`,
/// `@timestamp`), epoch milliseconds (pino's `time`) or seconds (`ts`),
/// or Python's `asctime` (`2026-12-08 00:16:45,081`, no zone: UTC assumed).
fn time(record: &Map<String, Value>) -> Option<u128> {
    for key in ["timestamp", "time", "@timestamp", "ts", "asctime"] {
        match record.get(key) {
            Some(Value::String(s)) => {
                let iso = s.replacen(' ', "T", 1).replacen(',', ".", 1);
                let zoned = if key == "asctime" && !iso.ends_with('Z') { format!("{iso}Z") } else { iso };
                if let Ok(t) = humantime::parse_rfc3339_weak(&zoned)
                    && zoned.ends_with('Z')
                    && let Ok(since) = t.duration_since(std::time::UNIX_EPOCH)
                {
                    return Some(since.as_nanos());
                }
            }
            // Epoch milliseconds are 13 digits today, seconds 10 (with a fraction: to the µs).
            Some(Value::Number(n)) => {
                if let Some(whole) = n.as_u64() {
                    let whole = u128::from(whole);
                    return Some(if whole > 1_000_000_000_000 { whole * 1_000_000 } else { whole * 1_000_000_000 });
                }
                let micros = (n.as_f64()? * 1e6).round();
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                return (micros > 0.0).then_some(micros as u128 * 1_000);
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{Error, error};

    #[test]
    fn what_each_logger_records() {
        // python-json-logger, uvicorn's `Exception in ASGI application` with its traceback.
        let line = r#"{"asctime": "2026-12-08 00:16:45,081", "levelname": "ERROR", "name": "uvicorn.error", "message": "Exception in ASGI application\n", "exc_info": "Traceback (most recent call last):\n  File \"/app/main.py\", line 9, in user\n    return {}[uid]\n           ~~^^^^^\nKeyError: 7"}"#;
        assert_eq!(
            error(line),
            Some(Error { quote: "KeyError: 7".into(), exception: true, time: Some(1_796_689_005_081_000_000) })
        );
        // structlog's dict_tracebacks.
        let line = r#"{"event": "payment failed", "level": "error", "timestamp": "2026-12-08T00:16:45.196319Z", "exception": [{"exc_type": "TimeoutError", "exc_value": "upstream timed out", "frames": []}]}"#;
        let e = error(line).expect("an error");
        assert_eq!(
            (e.quote.as_str(), e.exception, e.time),
            ("TimeoutError: upstream timed out", true, Some(1_796_689_005_196_319_000))
        );
        // pino: numeric level, epoch ms, `err.stack`.
        let line = r#"{"level":50,"time":1796689005081,"pid":1,"reqId":"req-1","err":{"type":"TypeError","message":"x is undefined","stack":"TypeError: x is undefined\n    at /app/server.js:3:9"},"msg":"x is undefined"}"#;
        let e = error(line).expect("an error");
        assert_eq!((e.quote.as_str(), e.time), ("TypeError: x is undefined", Some(1_796_689_005_081_000_000)));
        // winston's json format: `stack` beside `message`.
        let line = r#"{"level":"error","message":"boom","stack":"Error: boom\n    at /app/a.js:1:7"}"#;
        assert_eq!(error(line).map(|e| e.quote), Some("Error: boom".into()));
        // No exception: the message.
        let line = r#"{"level":"error","msg":"upstream payments timed out\nretrying","time":"2026-12-08T00:16:45Z"}"#;
        assert_eq!(error(line).map(|e| (e.quote, e.exception)), Some(("upstream payments timed out".into(), false)));
        // Not errors: another level, not JSON, an access record.
        assert_eq!(error(r#"{"levelname": "INFO", "message": "172.17.0.1:1 - \"GET / HTTP/1.1\" 500"}"#), None);
        assert_eq!(error(r#"{"level":30,"msg":"request completed"}"#), None);
        assert_eq!(error("ERROR: {not json}"), None);
        // A time with no zone (but asctime) is not trusted.
        assert_eq!(
            error(r#"{"level":"error","msg":"x","timestamp":"2026-12-08 00:16:45"}"#).and_then(|e| e.time),
            None
        );
    }
}
