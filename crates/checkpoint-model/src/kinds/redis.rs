//! `redis`: commands run in order on one connection (the last reply is the
//! observation), an `INFO` section as the document (`stats` also yields
//! the hit ratio), a pub/sub subscription that waits for messages published
//! while the check's `during:` checks run, or a stream (a consumer group's
//! backlog, or an `XADD`/`XREADGROUP` round trip).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use indexmap::IndexMap;
use serde_json::Value;

use super::listen::Listen;
use super::{Cx, Kind, given};
use crate::diag::Diagnostic;

/// Redis commands, run in order on one connection (the reply of the last is `reply`); an `INFO`
/// section; a pub/sub subscription; or a stream.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// `redis://${service.redis.6379}/0`
    pub url: String,
    /// One command: `[PING]`, `[GET, key]`.
    #[serde(default)]
    pub command: Vec<String>,
    /// Several commands: `[[LPUSH, q, x], [RPOP, q]]`.
    #[serde(default)]
    pub commands: Vec<Vec<String>>,
    /// An `INFO` section as the document: `stats` also yields `hit_ratio`,
    /// `keyspace_hits` and `keyspace_misses`.
    pub info: Option<String>,
    /// Subscribe to a pub/sub channel, run the check's `during:` checks, then wait for messages.
    pub subscribe: Option<String>,
    /// Subscribe to channels by pattern (`PSUBSCRIBE jobs:*`), as `subscribe`.
    pub psubscribe: Option<String>,
    /// With `subscribe`/`psubscribe`: which messages count, JSONPath → matcher (default: every message).
    #[serde(default)]
    pub wait_for: IndexMap<String, Value>,
    /// With `subscribe`/`psubscribe`: how many matching messages to wait for (default 1).
    pub messages: Option<u32>,
    /// With `subscribe`/`psubscribe`: how long to wait after the `during:` checks (default `10s`).
    pub within: Option<String>,
    /// A stream: its `length`; with `group`, that consumer group's `pending`, `lag` and `consumers`.
    pub stream: Option<String>,
    /// With `stream`: the consumer group to report on.
    pub group: Option<String>,
    /// With `stream`: add an entry and read it back through a consumer group of the check's own
    /// (`XADD`/`XREADGROUP`), then remove both; `round_trip` is how long it took.
    #[serde(default)]
    pub round_trip: bool,
}

impl Kind for RedisSpec {
    const NAME: &'static str = "redis";
    const EXPECT: &'static [&'static str] = &[
        "reply",
        "json",
        "duration",
        "hit_ratio",
        "keyspace_hits",
        "keyspace_misses",
        "messages",
        "received",
        "length",
        "pending",
        "lag",
        "consumers",
        "round_trip",
    ];

    fn validate(&self, cx: &mut Cx<'_>) {
        if self.is_listener() || self.stream.is_some() {
            self.check_channels(cx);
            return;
        }
        self.no_channel_settings(cx);
        match &self.info {
            Some(section) => self.check_info(cx, section),
            None => self.check_commands(cx),
        }
    }
}

impl RedisSpec {
    /// A pub/sub subscription: the check listens (see [`super::listen`]).
    pub fn is_listener(&self) -> bool {
        self.subscribe.is_some() || self.psubscribe.is_some()
    }

    pub fn listen(&self) -> Listen<'_> {
        Listen { wait_for: &self.wait_for, messages: self.messages, within: self.within.as_deref() }
    }

    /// One mode of `command`, `commands`, `info`, `subscribe`, `psubscribe`, `stream`; the
    /// settings of the other modes absent.
    fn check_channels(&self, cx: &mut Cx<'_>) {
        let name = cx.name;
        let modes = given([
            ("command", !self.command.is_empty()),
            ("commands", !self.commands.is_empty()),
            ("info", self.info.is_some()),
            ("subscribe", self.subscribe.is_some()),
            ("psubscribe", self.psubscribe.is_some()),
            ("stream", self.stream.is_some()),
        ]);
        if let [first, second, ..] = modes.as_slice() {
            cx.err_at(
                cx.key_at(second),
                Diagnostic::new(format!("redis check `{name}` has both `{first}` and `{second}`"))
                    .label("a second thing to do")
                    .hint("one of `command`, `commands`, `info`, `subscribe`, `psubscribe` or `stream` per check"),
            );
        }
        if self.is_listener() {
            self.listen().validate(cx);
        } else {
            self.no_listen_settings(cx, "with `subscribe` or `psubscribe`");
        }
        if self.stream.is_none() {
            self.no_stream_settings(cx);
        } else if self.group.is_some() && self.round_trip {
            cx.err_at(
                cx.key_at("round_trip"),
                Diagnostic::new(format!("redis check `{name}` has both `group` and `round_trip`"))
                    .label("one stream observation per check")
                    .hint("`group: workers` reports that group's backlog; `round_trip: true` probes with a group of its own"),
            );
        }
    }

    /// Without a subscription or stream, their settings have nothing to apply to.
    fn no_channel_settings(&self, cx: &mut Cx<'_>) {
        self.no_listen_settings(cx, "with `subscribe` or `psubscribe`");
        self.no_stream_settings(cx);
    }

    /// `group` and `round_trip` have nothing to apply to without `stream`.
    fn no_stream_settings(&self, cx: &mut Cx<'_>) {
        for key in given([("group", self.group.is_some()), ("round_trip", self.round_trip)]) {
            cx.err_at(
                cx.key_at(key),
                Diagnostic::new(format!("`{key}` goes with `stream`"))
                    .label("no stream")
                    .hint("`stream: jobs:events` with `group: workers` (backlog) or `round_trip: true`"),
            );
        }
    }

    fn no_listen_settings(&self, cx: &mut Cx<'_>, with: &str) {
        let set = given([
            ("wait_for", !self.wait_for.is_empty()),
            ("messages", self.messages.is_some()),
            ("within", self.within.is_some()),
        ]);
        for key in set {
            cx.err_at(
                cx.key_at(key),
                Diagnostic::new(format!("`{key}` goes {with}"))
                    .label("nothing is listening")
                    .hint("`subscribe: jobs:events` with `wait_for: { $.status: processed }` and `within: 10s`"),
            );
        }
    }

    /// Exactly one of `command` and `commands`, no empty command.
    fn check_commands(&self, cx: &mut Cx<'_>) {
        let name = cx.name;
        let one = !self.command.is_empty();
        let many = !self.commands.is_empty();
        if one == many {
            let (msg, at) = if one {
                (format!("redis check `{name}` has both `command` and `commands`"), cx.key_at("commands"))
            } else {
                (format!("redis check `{name}` has no command"), cx.whole.clone())
            };
            cx.err_at(
                at,
                Diagnostic::new(msg)
                    .label("exactly one of `command` or `commands`")
                    .hint("`command: [PING]`, or `commands: [[LPUSH, q, x], [RPOP, q]]`"),
            );
        }
        if self.commands.iter().any(Vec::is_empty) {
            cx.err_at(
                cx.value_at("commands"),
                Diagnostic::new("an empty command in `commands`")
                    .label("`[]`")
                    .hint("each command is a list: `[GET, key]`"),
            );
        }
    }

    /// `info` is one section name and replaces `command`/`commands`.
    fn check_info(&self, cx: &mut Cx<'_>, section: &str) {
        for (other, given) in [("command", !self.command.is_empty()), ("commands", !self.commands.is_empty())] {
            if given {
                cx.err_at(
                    cx.key_at(other),
                    Diagnostic::new(format!("redis check `{}` has both `info` and `{other}`", cx.name))
                        .label("one of `info`, `command` or `commands`")
                        .hint("`info: stats` reads the server's statistics; run commands in a separate check"),
                );
            }
        }
        if !section.contains("${")
            && (section.is_empty() || !section.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            cx.err_at(
                cx.value_at("info"),
                Diagnostic::new(format!("`info: {section}` is not an INFO section"))
                    .label("one word")
                    .hint("`info: stats` (hit ratio), or another section: server, clients, memory, keyspace"),
            );
        }
    }
}
