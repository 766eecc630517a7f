//! The serde mirror of a checkpoint file: exactly what may be written, with
//! unknown keys rejected. Validation into [`crate::plan`] happens in
//! [`crate::load`]; each check kind's spec lives in its module under
//! [`crate::kinds`]. The JSON Schema that editors use is generated from these
//! types (`checkpoint schema`).
//!
//! Rules kept on purpose: no `untagged` or `flatten` (their errors are
//! useless), a check names its kind by its one kind key (`http:`, `postgres:`,
//! …), and spans are kept on the fields that validation points at.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::kinds::{
    CommandSpec, ComposeSpec, ContractDiffSpec, ExecSpec, HttpSpec, LatencySpec, MetricsSpec, MysqlSpec, OpenapiSpec,
    PostgresSpec, RawFault, ReachSpec, RedisSpec, TcpSpec, WebsocketSpec,
};

/// One checkpoint file: `checkpoints/1.yaml`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    title = "checkpoint file",
    description = "One integration checkpoint: the gates due on one day of the plan."
)]
pub struct RawCheckpoint {
    /// The checkpoint's id, as used on the command line: `0`, `1`, `final`.
    #[schemars(with = "Value")]
    pub checkpoint: Spanned<Value>,
    /// A human title: "Day 1 — stack and database".
    pub title: String,
    pub description: Option<String>,
    /// The plan this checkpoint serves.
    pub plan: Option<RawPlanRef>,
    /// Earlier checkpoints whose gates are re-checked here, in order.
    #[serde(default)]
    #[schemars(with = "Vec<Value>")]
    pub includes: Vec<Spanned<Value>>,
    /// The docker-compose stack the gates run against.
    pub stack: Option<RawStack>,
    /// Variables, interpolated in order; values may use `${…}`.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, String>")]
    pub vars: IndexMap<String, Spanned<String>>,
    /// Names of variables whose values must never appear in any output
    /// (in addition to names ending in _PASSWORD, _TOKEN, _SECRET, _KEY).
    #[serde(default)]
    pub secrets: Vec<String>,
    /// Pass criteria: every must gate, should gates at a threshold.
    pub criteria: Option<RawCriteria>,
    /// The gates, in plan order.
    #[serde(default)]
    pub gates: Vec<RawGate>,
}

/// A reference back to the plan: a file, a heading, a checklist item's text.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RawPlanRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heading: Option<String>,
    /// The checklist line's text, e.g. "Backend ↔ Database queries working".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCriteria {
    /// Share of should gates that must pass: `70%` (the default) or a number of percent.
    #[schemars(with = "Option<Value>")]
    pub should: Option<Spanned<Value>>,
    /// Optional overall pass rate over all gates that ran: `95%`.
    #[schemars(with = "Option<Value>")]
    pub pass_rate: Option<Spanned<Value>>,
}

/// The stack: compose files and how to know it is ready.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStack {
    /// Compose files, relative to the project root (the parent of `checkpoints/`).
    #[serde(default)]
    pub compose: Vec<String>,
    /// Env files passed to compose, relative to the project root.
    #[serde(default)]
    pub env_file: Vec<String>,
    /// Prefix of the generated compose project name (default: `checkpoint`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Services to start (default: all).
    #[serde(default)]
    pub services: Vec<String>,
    /// How long to wait for every service to be ready (default `180s`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready_timeout: Option<String>,
    /// Extra readiness probes for services without a healthcheck.
    #[serde(default)]
    pub ready: IndexMap<String, RawReady>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawReady {
    /// A container port that must accept TCP connections (through its published host port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
}

/// A gate: one promise of the plan, in the plan's own words.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    /// A stable id: `db-migrations`. Letters, digits, `-`, `_`, `.`.
    #[schemars(with = "String")]
    pub id: Spanned<String>,
    /// The plan's wording: "Database migrations executed".
    pub title: String,
    pub description: Option<String>,
    /// `must` (default), `should` or `nice`.
    #[schemars(with = "Option<Severity>")]
    pub severity: Option<Spanned<String>>,
    /// The wave this gate belongs to: `wave1`.
    pub wave: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Gates that must pass first; if one does not, this gate is skipped.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub needs: Vec<Spanned<String>>,
    pub plan: Option<RawPlanRef>,
    /// Checks, run in order; later ones may use values captured by earlier ones.
    #[serde(default)]
    pub checks: Vec<RawCheck>,
}

/// Only for the JSON Schema.
#[derive(JsonSchema)]
#[serde(rename_all = "lowercase")]
#[expect(dead_code, reason = "schema only")]
enum Severity {
    Must,
    Should,
    Nice,
}

/// One observation with expectations. Exactly one kind key (`http`, `tcp`,
/// `postgres`, `redis`, `command`, `compose`, `exec`, `reach`, `fault`, `metrics`, `openapi`,
/// `latency`, `contract-diff`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCheck {
    #[schemars(with = "String")]
    pub name: Spanned<String>,
    pub http: Option<Box<HttpSpec>>,
    pub tcp: Option<Box<TcpSpec>>,
    pub postgres: Option<Box<PostgresSpec>>,
    pub redis: Option<Box<RedisSpec>>,
    pub command: Option<Box<CommandSpec>>,
    pub compose: Option<Box<ComposeSpec>>,
    pub exec: Option<Box<ExecSpec>>,
    pub reach: Option<Box<ReachSpec>>,
    pub fault: Option<Box<RawFault>>,
    pub expect: Option<Box<RawExpect>>,
    /// Variables to capture from the result: a JSONPath into the result
    /// document (`TOKEN: $.access_token`), or from an `http` response a
    /// header (`LOCATION: { header: location }`) or a cookie it set
    /// (`REFRESH: { cookie: refresh_token }`).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, CaptureSchema>")]
    pub capture: IndexMap<String, Spanned<Value>>,
    /// Per-attempt time limit (default `10s`).
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    pub retry: Option<RawRetry>,
    /// The compose service this check concerns: its log tail is attached on failure.
    pub service: Option<String>,
    pub metrics: Option<Box<MetricsSpec>>,
    pub openapi: Option<Box<OpenapiSpec>>,
    pub latency: Option<Box<LatencySpec>>,
    #[serde(rename = "contract-diff")]
    pub contract_diff: Option<Box<ContractDiffSpec>>,
    pub websocket: Option<Box<WebsocketSpec>>,
    pub mysql: Option<Box<MysqlSpec>>,
    /// Checks run while this check listens (`websocket`, `redis` with `subscribe`): after it
    /// connects, before it waits `within` its window for messages.
    #[serde(default)]
    pub during: Vec<RawCheck>,
}

/// Only for the JSON Schema: what a `capture:` entry may be. Validated in
/// [`crate::load`] with spans; kept without a `type` here so the shape pass
/// lets either form through to that validation.
#[derive(JsonSchema)]
#[schemars(
    description = "A JSONPath into the result document (`$.access_token`), or `{ header: NAME }` / `{ cookie: NAME }` from an http response.",
    extend("oneOf" = [
        { "type": "string", "description": "A JSONPath (RFC 9535) into the result document: `$.access_token`." },
        {
            "type": "object",
            "properties": { "header": { "type": "string", "description": "A response header (name case-insensitive)." } },
            "required": ["header"],
            "additionalProperties": false
        },
        {
            "type": "object",
            "properties": { "cookie": { "type": "string", "description": "A cookie the response set (`Set-Cookie`)." } },
            "required": ["cookie"],
            "additionalProperties": false
        }
    ])
)]
#[expect(dead_code, reason = "schema only")]
struct CaptureSchema(Value);

/// Retry until the check passes or `until` has elapsed, waiting `every` between attempts.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    #[schemars(with = "String")]
    pub until: Spanned<String>,
    #[schemars(with = "Option<String>")]
    pub every: Option<Spanned<String>>,
}

/// Expectations; which keys apply depends on the check kind.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// HTTP status code.
    #[schemars(with = "Option<Value>")]
    pub status: Option<Box<Spanned<Value>>>,
    /// HTTP response headers (names case-insensitive).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub headers: IndexMap<String, Spanned<Value>>,
    /// Cookies the HTTP response set (`Set-Cookie`), by name: `{ refresh_token: { exists: true } }`.
    /// A cookie the response deletes (`Max-Age=0`) is absent.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub cookies: IndexMap<String, Spanned<Value>>,
    /// JSONPath (RFC 9535) into the result document → matcher.
    #[serde(default)]
    #[schemars(with = "IndexMap<String, Value>")]
    pub json: IndexMap<String, Spanned<Value>>,
    /// The HTTP response body as text.
    #[schemars(with = "Option<Value>")]
    pub body: Option<Box<Spanned<Value>>>,
    /// How long the observation took: `{ lt: 200ms }`.
    #[schemars(with = "Option<Value>")]
    pub duration: Option<Box<Spanned<Value>>>,
    /// Number of rows a query returned.
    #[schemars(with = "Option<Value>")]
    pub row_count: Option<Box<Spanned<Value>>>,
    /// A Redis reply (of the last command).
    #[schemars(with = "Option<Value>")]
    pub reply: Option<Box<Spanned<Value>>>,
    /// A command's exit code (default 0).
    #[schemars(with = "Option<Value>")]
    pub exit_code: Option<Box<Spanned<Value>>>,
    #[schemars(with = "Option<Value>")]
    pub stdout: Option<Box<Spanned<Value>>>,
    #[schemars(with = "Option<Value>")]
    pub stderr: Option<Box<Spanned<Value>>>,
    /// A metric's value (`metrics`): the one matching series, or the aggregate of several.
    #[schemars(with = "Option<Value>")]
    pub value: Option<Box<Spanned<Value>>>,
    /// How many series matched the metric name and labels (`metrics`).
    #[schemars(with = "Option<Value>")]
    pub series: Option<Box<Spanned<Value>>>,
    /// Schema drift conflicts found (`postgres` with `schema`; default `0`).
    #[schemars(with = "Option<Value>")]
    pub conflicts: Option<Box<Spanned<Value>>>,
    /// Share of the requests that failed (`latency`), a fraction: `{ lte: 0.1% }` (default `0`).
    #[schemars(with = "Option<Value>")]
    pub error_rate: Option<Box<Spanned<Value>>>,
    /// How many requests failed (`latency`): transport errors and statuses ≥ 400.
    #[schemars(with = "Option<Value>")]
    pub errors: Option<Box<Spanned<Value>>>,
    /// Median of the repeated runs or requests, in ms: `{ lt: 50ms }`.
    #[schemars(with = "Option<Value>")]
    pub p50: Option<Box<Spanned<Value>>>,
    /// 90th percentile of the requests (`latency`), in ms.
    #[schemars(with = "Option<Value>")]
    pub p90: Option<Box<Spanned<Value>>>,
    /// 95th percentile of the repeated runs or requests, in ms: `{ lt: 200ms }`.
    #[schemars(with = "Option<Value>")]
    pub p95: Option<Box<Spanned<Value>>>,
    /// 99th percentile of the repeated runs or requests, in ms.
    #[schemars(with = "Option<Value>")]
    pub p99: Option<Box<Spanned<Value>>>,
    /// Slowest of the repeated runs or requests, in ms.
    #[schemars(with = "Option<Value>")]
    pub max: Option<Box<Spanned<Value>>>,
    /// Mean of the repeated runs or requests, in ms.
    #[schemars(with = "Option<Value>")]
    pub mean: Option<Box<Spanned<Value>>>,
    /// Fastest of the requests (`latency`), in ms.
    #[schemars(with = "Option<Value>")]
    pub min: Option<Box<Spanned<Value>>>,
    /// Requests completed per second over the measurement (`latency`).
    #[schemars(with = "Option<Value>")]
    pub rps: Option<Box<Spanned<Value>>>,
    /// How many requests were measured (`latency`; warmup excluded).
    #[schemars(with = "Option<Value>")]
    pub requests: Option<Box<Spanned<Value>>>,
    /// Redis cache hit ratio, hits / (hits + misses), a fraction: `{ gt: 70% }`.
    #[schemars(with = "Option<Value>")]
    pub hit_ratio: Option<Box<Spanned<Value>>>,
    /// Redis `keyspace_hits` from `INFO stats`.
    #[schemars(with = "Option<Value>")]
    pub keyspace_hits: Option<Box<Spanned<Value>>>,
    /// Redis `keyspace_misses` from `INFO stats`.
    #[schemars(with = "Option<Value>")]
    pub keyspace_misses: Option<Box<Spanned<Value>>>,
    /// How many operations an `openapi` check called.
    #[schemars(with = "Option<Value>")]
    pub operations: Option<Box<Spanned<Value>>>,
    /// How many of them broke the contract (`openapi`; default `0`).
    #[schemars(with = "Option<Value>")]
    pub violations: Option<Box<Spanned<Value>>>,
    /// Breaking changes from the base contract to the live one (`contract-diff`; default `0`).
    #[schemars(with = "Option<Value>")]
    pub breaking: Option<Box<Spanned<Value>>>,
    /// Every change, breaking or not (`contract-diff`).
    #[schemars(with = "Option<Value>")]
    pub changes: Option<Box<Spanned<Value>>>,
    /// Matching messages received (`websocket`, `redis` with `subscribe`).
    #[schemars(with = "Option<Value>")]
    pub messages: Option<Box<Spanned<Value>>>,
    /// Every message received, matching or not (`websocket`, `redis` with `subscribe`).
    #[schemars(with = "Option<Value>")]
    pub received: Option<Box<Spanned<Value>>>,
    /// The close code the server sent (`websocket`); absent while the connection is open.
    #[schemars(with = "Option<Value>")]
    pub close_code: Option<Box<Spanned<Value>>>,
    /// Rows the statements, the fixture and a DML query changed (`postgres`, `mysql`).
    #[schemars(with = "Option<Value>")]
    pub rows_affected: Option<Box<Spanned<Value>>>,
    /// A stream's length (`redis` with `stream`).
    #[schemars(with = "Option<Value>")]
    pub length: Option<Box<Spanned<Value>>>,
    /// Entries delivered to the group but not acknowledged (`redis` with `stream` and `group`).
    #[schemars(with = "Option<Value>")]
    pub pending: Option<Box<Spanned<Value>>>,
    /// Entries not yet delivered to the group (`redis` with `stream` and `group`; Redis 7+).
    #[schemars(with = "Option<Value>")]
    pub lag: Option<Box<Spanned<Value>>>,
    /// Consumers in the group (`redis` with `stream` and `group`).
    #[schemars(with = "Option<Value>")]
    pub consumers: Option<Box<Spanned<Value>>>,
    /// How long an `XADD`/`XREADGROUP` round trip took (`redis` with `stream` and `round_trip`).
    #[schemars(with = "Option<Value>")]
    pub round_trip: Option<Box<Spanned<Value>>>,
}

/// The check kinds, as written in files.
pub const KINDS: &[&str] = &[
    "http",
    "tcp",
    "postgres",
    "redis",
    "command",
    "compose",
    "exec",
    "reach",
    "fault",
    "metrics",
    "openapi",
    "latency",
    "contract-diff",
    "websocket",
    "mysql",
];
