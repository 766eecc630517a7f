//! What the listening kinds share — `websocket`, and `redis` with `subscribe`/`psubscribe`:
//! which messages count (`wait_for`), how many to wait for (`messages`), and for how long
//! after the check's `during:` checks (`within`). Not a kind itself.

use std::time::Duration;

use indexmap::IndexMap;
use serde_json::Value;

use super::Cx;
use crate::diag::Diagnostic;
use crate::matcher::Matcher;

/// How long a listener waits when `within` is not written.
pub const DEFAULT_WITHIN: Duration = Duration::from_secs(10);

/// The settings, as a listening spec holds them.
pub struct Listen<'a> {
    pub wait_for: &'a IndexMap<String, Value>,
    pub messages: Option<u32>,
    pub within: Option<&'a str>,
}

impl Listen<'_> {
    /// How many matching messages to wait for (default 1).
    pub fn wanted(&self) -> usize {
        self.messages.map_or(1, |n| n as usize)
    }

    /// The window after the `during:` checks (default [`DEFAULT_WITHIN`]).
    pub fn window(&self) -> Duration {
        self.within.and_then(|w| crate::duration::parse(w).ok()).unwrap_or(DEFAULT_WITHIN)
    }

    /// The window as written (`2s`), or the default's.
    pub fn window_text(&self) -> String {
        self.within.map_or_else(|| format!("{}s", DEFAULT_WITHIN.as_secs()), ToString::to_string)
    }

    /// `wait_for` as JSONPath → matcher (after interpolation).
    pub fn matchers(&self) -> Result<Vec<(String, Matcher)>, String> {
        self.wait_for
            .iter()
            .map(|(path, v)| {
                Matcher::parse(v).map(|m| (path.clone(), m)).map_err(|e| format!("wait_for `{path}`: {}", e.message))
            })
            .collect()
    }

    /// `$.status = "processed", $.kind = "x"`, or `any message`.
    pub fn describe(&self) -> String {
        if self.wait_for.is_empty() {
            return "any message".into();
        }
        let parts: Vec<String> = self
            .wait_for
            .iter()
            .map(|(p, v)| match Matcher::parse(v) {
                Ok(m) => format!("{p} {}", m.describe()),
                Err(_) => format!("{p} {v}"),
            })
            .collect();
        parts.join(", ")
    }

    /// The rules serde cannot express: JSONPaths, matchers, a positive count, a duration.
    pub(crate) fn validate(&self, cx: &mut Cx<'_>) {
        let node = cx.field("wait_for");
        for (path, v) in self.wait_for {
            let at = cx.place(node.and_then(|n| n.key(path)));
            if let Err(e) = crate::json_path::parse(path) {
                let (label, hint) = if path.starts_with('$') {
                    (e.to_string(), "JSONPath per RFC 9535, e.g. `$.status` or `$.job.id`".to_string())
                } else {
                    ("not a JSONPath".to_string(), format!("a JSONPath starts with `$`: did you mean `$.{path}`?"))
                };
                cx.err_at(
                    at,
                    Diagnostic::new(format!("invalid JSONPath `{path}` in `wait_for`")).label(label).hint(hint),
                );
            }
            if let Err(e) = Matcher::parse(v) {
                cx.err_at(
                    cx.place(node.and_then(|n| n.get(path))),
                    Diagnostic::new(format!("`wait_for.{path}`: {}", e.message))
                        .label("not a matcher")
                        .hint_opt(e.hint),
                );
            }
        }
        if self.messages == Some(0) {
            let at = cx.value_at("messages");
            cx.err_at(at, Diagnostic::new("`messages: 0` waits for nothing").label("at least 1").hint(
                "how many matching messages to wait for (default 1); to expect silence use `expect: { messages: 0 }`",
            ));
        }
        if let Some(w) = self.within
            && !w.contains("${")
            && let Err(e) = crate::duration::parse(w)
        {
            cx.err_at(cx.value_at("within"), crate::duration::problem("within", w, &e));
        }
    }
}
