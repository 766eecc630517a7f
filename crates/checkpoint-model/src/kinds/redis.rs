//! `redis`: commands run in order on one connection (the last reply is the
//! observation), or an `INFO` section as the document (`stats` also yields
//! the hit ratio).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind};
use crate::diag::Diagnostic;

/// Redis commands, run in order on one connection; the reply of the last is `reply`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RedisSpec {
    /// `redis://${service.redis.6379}/0`
    pub url: String,
    /// One command: `[PING]`, `[GET, key]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub command: Vec<String>,
    /// Several commands: `[[LPUSH, q, x], [RPOP, q]]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub commands: Vec<Vec<String>>,
    /// An `INFO` section as the document: `stats` also yields `hit_ratio`,
    /// `keyspace_hits` and `keyspace_misses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
}

impl Kind for RedisSpec {
    const NAME: &'static str = "redis";
    const EXPECT: &'static [&'static str] =
        &["reply", "json", "duration", "hit_ratio", "keyspace_hits", "keyspace_misses"];

    fn validate(&self, cx: &mut Cx<'_>) {
        match &self.info {
            Some(section) => self.check_info(cx, section),
            None => self.check_commands(cx),
        }
    }
}

impl RedisSpec {
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
            cx.err(
                Diagnostic::new(msg)
                    .span(at.0, at.1)
                    .label("exactly one of `command` or `commands`")
                    .hint("`command: [PING]`, or `commands: [[LPUSH, q, x], [RPOP, q]]`"),
            );
        }
        if self.commands.iter().any(Vec::is_empty) {
            let at = cx.value_at("commands");
            cx.err(
                Diagnostic::new("an empty command in `commands`")
                    .span(at.0, at.1)
                    .label("`[]`")
                    .hint("each command is a list: `[GET, key]`"),
            );
        }
    }

    /// `info` is one section name and replaces `command`/`commands`.
    fn check_info(&self, cx: &mut Cx<'_>, section: &str) {
        for (other, given) in [("command", !self.command.is_empty()), ("commands", !self.commands.is_empty())] {
            if given {
                let at = cx.key_at(other);
                cx.err(
                    Diagnostic::new(format!("redis check `{}` has both `info` and `{other}`", cx.name))
                        .span(at.0, at.1)
                        .label("one of `info`, `command` or `commands`")
                        .hint("`info: stats` reads the server's statistics; run commands in a separate check"),
                );
            }
        }
        if !section.contains("${")
            && (section.is_empty() || !section.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        {
            let at = cx.value_at("info");
            cx.err(
                Diagnostic::new(format!("`info: {section}` is not an INFO section"))
                    .span(at.0, at.1)
                    .label("one word")
                    .hint("`info: stats` (hit ratio), or another section: server, clients, memory, keyspace"),
            );
        }
    }
}
