//! JSONPaths parsed once per text: a plan repeats the same few paths
//! (`$.status`, `$.id`) across many checks, and each is read at load (to
//! report a malformed one) and again at every attempt of a check.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use serde_json_path::{JsonPath, ParseError};

/// Most distinct paths remembered; past it, paths are parsed each time.
const MAX_REMEMBERED: usize = 4096;

static PARSED: LazyLock<Mutex<HashMap<String, Arc<JsonPath>>>> = LazyLock::new(Mutex::default);

/// `path` parsed (RFC 9535), from the memo when it was parsed before.
pub fn parse(path: &str) -> Result<Arc<JsonPath>, ParseError> {
    if let Some(p) = PARSED.lock().unwrap_or_else(PoisonError::into_inner).get(path) {
        return Ok(Arc::clone(p));
    }
    // Parsed outside the lock; errors are not remembered (they end the load).
    let parsed = Arc::new(JsonPath::parse(path)?);
    let mut memo = PARSED.lock().unwrap_or_else(PoisonError::into_inner);
    if memo.len() < MAX_REMEMBERED {
        memo.insert(path.to_string(), Arc::clone(&parsed));
    }
    Ok(parsed)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_same_text_gives_the_same_parsed_path_and_errors_stay_errors() {
        let a = super::parse("$.items[0].id").unwrap();
        let b = super::parse("$.items[0].id").unwrap();
        assert!(std::sync::Arc::ptr_eq(&a, &b), "the second parse should come from the memo");
        let doc = serde_json::json!({"items": [{"id": 7}]});
        assert_eq!(b.query(&doc).all(), vec![&serde_json::json!(7)]);
        assert!(super::parse("$.items[").is_err());
        assert!(super::parse("$.items[").is_err(), "a malformed path is refused every time");
    }
}
