//! `websocket`: connect (headers, subprotocols; `wss://` verified like every TLS request),
//! send messages in order, run the check's `during:` checks, then wait `within` a window for
//! `messages` messages matching `wait_for`. The first matching message is the document; the
//! message log, both ways, is the evidence.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::listen::Listen;
use super::{Cx, Kind};
use crate::diag::Diagnostic;

/// A WebSocket conversation: connect, send, wait for matching messages.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WebsocketSpec {
    /// `ws://${service.api.8000}/ws/jobs` (or `wss://…`).
    pub url: String,
    /// Handshake request headers: `Authorization: "Bearer ${TOKEN}"`.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Subprotocols offered (`Sec-WebSocket-Protocol`), in preference order.
    #[serde(default)]
    pub subprotocols: Vec<String>,
    /// Messages sent after connecting, in order: a string is sent as it is, anything else as JSON text.
    #[serde(default)]
    pub send: Vec<Value>,
    /// Which received messages count: JSONPath → matcher, all must hold (`$.status: processed`).
    /// Default: every message.
    #[serde(default)]
    pub wait_for: IndexMap<String, Value>,
    /// How many matching messages to wait for (default 1).
    pub messages: Option<u32>,
    /// How long to wait for them after the `during:` checks (default `10s`).
    pub within: Option<String>,
}

impl WebsocketSpec {
    pub fn listen(&self) -> Listen<'_> {
        Listen { wait_for: &self.wait_for, messages: self.messages, within: self.within.as_deref() }
    }

    /// The frames to send, as text.
    pub fn frames(&self) -> Vec<String> {
        self.send.iter().map(|v| v.as_str().map_or_else(|| v.to_string(), ToString::to_string)).collect()
    }
}

impl Kind for WebsocketSpec {
    const NAME: &'static str = "websocket";
    const EXPECT: &'static [&'static str] = &["messages", "received", "json", "close_code", "duration"];

    fn validate(&self, cx: &mut Cx<'_>) {
        let url = self.url.as_str();
        if !(url.contains("${") || url.starts_with("ws://") || url.starts_with("wss://")) {
            let at = cx.value_at("url");
            let hint = match url.split_once("://") {
                Some(("http", rest)) => format!("a WebSocket URL: `ws://{rest}`"),
                Some(("https", rest)) => format!("a WebSocket URL: `wss://{rest}`"),
                _ => "e.g. `ws://${service.api.8000}/ws`".to_string(),
            };
            cx.err_at(
                at,
                Diagnostic::new(format!("`{url}` is not a WebSocket URL"))
                    .label("needs `ws://` or `wss://`")
                    .hint(hint),
            );
        }
        self.listen().validate(cx);
    }
}
