//! The serde mirror of a checkpoint file: exactly what may be written, with
//! unknown keys rejected. Validation into [`crate::plan`] happens in
//! [`crate::load`]. The JSON Schema that editors use is generated from these
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
    #[serde(default)]
    pub description: Option<String>,
    /// The plan this checkpoint serves.
    #[serde(default)]
    pub plan: Option<RawPlanRef>,
    /// Earlier checkpoints whose gates are re-checked here, in order.
    #[serde(default)]
    #[schemars(with = "Vec<Value>")]
    pub includes: Vec<Spanned<Value>>,
    /// The docker-compose stack the gates run against.
    #[serde(default)]
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
    #[serde(default)]
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
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub should: Option<Spanned<Value>>,
    /// Optional overall pass rate over all gates that ran: `95%`.
    #[serde(default)]
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
    #[serde(default)]
    pub description: Option<String>,
    /// `must` (default), `should` or `nice`.
    #[serde(default)]
    #[schemars(with = "Option<Severity>")]
    pub severity: Option<Spanned<String>>,
    /// The wave this gate belongs to: `wave1`.
    #[serde(default)]
    pub wave: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Gates that must pass first; if one does not, this gate is skipped.
    #[serde(default)]
    #[schemars(with = "Vec<String>")]
    pub needs: Vec<Spanned<String>>,
    #[serde(default)]
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
    #[serde(default)]
    pub http: Option<HttpSpec>,
    #[serde(default)]
    pub tcp: Option<TcpSpec>,
    #[serde(default)]
    pub postgres: Option<PostgresSpec>,
    #[serde(default)]
    pub redis: Option<RedisSpec>,
    #[serde(default)]
    pub command: Option<CommandSpec>,
    #[serde(default)]
    pub compose: Option<ComposeSpec>,
    #[serde(default)]
    pub exec: Option<ExecSpec>,
    #[serde(default)]
    pub reach: Option<ReachSpec>,
    #[serde(default)]
    pub fault: Option<RawFault>,
    #[serde(default)]
    pub expect: Option<RawExpect>,
    /// Variables to capture from the result: a JSONPath into the result
    /// document (`TOKEN: $.access_token`), or from an `http` response a
    /// header (`LOCATION: { header: location }`) or a cookie it set
    /// (`REFRESH: { cookie: refresh_token }`).
    #[serde(default)]
    #[schemars(with = "IndexMap<String, CaptureSchema>")]
    pub capture: IndexMap<String, Spanned<Value>>,
    /// Per-attempt time limit (default `10s`).
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub timeout: Option<Spanned<String>>,
    #[serde(default)]
    pub retry: Option<RawRetry>,
    /// The compose service this check concerns: its log tail is attached on failure.
    #[serde(default)]
    pub service: Option<String>,
    #[serde(default)]
    pub metrics: Option<MetricsSpec>,
    #[serde(default)]
    pub openapi: Option<OpenapiSpec>,
    #[serde(default)]
    pub latency: Option<LatencySpec>,
    #[serde(default, rename = "contract-diff")]
    pub contract_diff: Option<ContractDiffSpec>,
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
    #[serde(default)]
    #[schemars(with = "Option<String>")]
    pub every: Option<Spanned<String>>,
}

/// Expectations; which keys apply depends on the check kind.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExpect {
    /// HTTP status code.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub status: Option<Spanned<Value>>,
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
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub body: Option<Spanned<Value>>,
    /// How long the observation took: `{ lt: 200ms }`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub duration: Option<Spanned<Value>>,
    /// Number of rows a query returned.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub row_count: Option<Spanned<Value>>,
    /// A Redis reply (of the last command).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub reply: Option<Spanned<Value>>,
    /// A command's exit code (default 0).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub exit_code: Option<Spanned<Value>>,
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub stdout: Option<Spanned<Value>>,
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub stderr: Option<Spanned<Value>>,
    /// A metric's value (`metrics`): the one matching series, or the aggregate of several.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub value: Option<Spanned<Value>>,
    /// How many series matched the metric name and labels (`metrics`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub series: Option<Spanned<Value>>,
    /// Schema drift conflicts found (`postgres` with `schema`; default `0`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub conflicts: Option<Spanned<Value>>,
    /// Share of the requests that failed (`latency`), a fraction: `{ lte: 0.1% }` (default `0`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub error_rate: Option<Spanned<Value>>,
    /// How many requests failed (`latency`): transport errors and statuses ≥ 400.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub errors: Option<Spanned<Value>>,
    /// Median of the repeated runs or requests, in ms: `{ lt: 50ms }`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub p50: Option<Spanned<Value>>,
    /// 90th percentile of the requests (`latency`), in ms.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub p90: Option<Spanned<Value>>,
    /// 95th percentile of the repeated runs or requests, in ms: `{ lt: 200ms }`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub p95: Option<Spanned<Value>>,
    /// 99th percentile of the repeated runs or requests, in ms.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub p99: Option<Spanned<Value>>,
    /// Slowest of the repeated runs or requests, in ms.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub max: Option<Spanned<Value>>,
    /// Mean of the repeated runs or requests, in ms.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub mean: Option<Spanned<Value>>,
    /// Fastest of the requests (`latency`), in ms.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub min: Option<Spanned<Value>>,
    /// Requests completed per second over the measurement (`latency`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub rps: Option<Spanned<Value>>,
    /// How many requests were measured (`latency`; warmup excluded).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub requests: Option<Spanned<Value>>,
    /// Redis cache hit ratio, hits / (hits + misses), a fraction: `{ gt: 70% }`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub hit_ratio: Option<Spanned<Value>>,
    /// Redis `keyspace_hits` from `INFO stats`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub keyspace_hits: Option<Spanned<Value>>,
    /// Redis `keyspace_misses` from `INFO stats`.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub keyspace_misses: Option<Spanned<Value>>,
    /// How many operations an `openapi` check called.
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub operations: Option<Spanned<Value>>,
    /// How many of them broke the contract (`openapi`; default `0`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub violations: Option<Spanned<Value>>,
    /// Breaking changes from the base contract to the live one (`contract-diff`; default `0`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub breaking: Option<Spanned<Value>>,
    /// Every change, breaking or not (`contract-diff`).
    #[serde(default)]
    #[schemars(with = "Option<Value>")]
    pub changes: Option<Spanned<Value>>,
}

/// An HTTP request.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `GET` (default), `POST`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub url: String,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// A JSON body (sets `content-type: application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A raw text body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A form body, names to scalars, sent as `application/x-www-form-urlencoded`
    /// (percent-encoded, in order): OAuth2's password login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<IndexMap<String, Value>>,
    /// Send the gate's cookies and keep the ones the response sets (default
    /// true); `false` sends none and keeps none.
    #[serde(default = "yes", skip_serializing_if = "is_yes")]
    pub cookies: bool,
    /// The most of a response body read (default `8MiB`): `50MB`, `512KiB`,
    /// `1048576`. A longer body is never judged: `json`/`body` expectations
    /// on it say its size and this setting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_body: Option<String>,
    /// Follow redirects (default false: a redirect is an observation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub follow_redirects: bool,
    /// Accept invalid TLS certificates (self-signed staging).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// A TCP connection: `address: host:port`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TcpSpec {
    pub address: String,
}

/// A Postgres query, or a table/columns existence check.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresSpec {
    /// `postgres://user:${DB_PASSWORD}@${service.db.5432}/app`
    pub dsn: String,
    /// A query; its rows are the result document (a list of objects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A table that must exist (`schema.table` or `table`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Columns that must exist in `table`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub columns: Vec<String>,
    /// Schema drift: the expected tables (`schema.table` or `table`) with
    /// their columns and types, compared with the live catalog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<IndexMap<String, IndexMap<String, String>>>,
    /// The same as `schema`, from a YAML or JSON file (relative to the project root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_file: Option<String>,
    /// With `schema`: columns the live table has but the schema does not list are conflicts too.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub strict: bool,
    /// With `query`: run it this many times; `p50`, `p95`, `p99`, `max`, `mean` are over the runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
}

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

/// A command on the host.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSpec {
    /// Program and arguments, no shell: `[pg_isready, -h, localhost]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// A shell line run with `sh -c` (when pipes are needed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
    /// Working directory, relative to the project root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
}

/// The stack's services: running, healthy, restarts, exit codes, OOM.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeSpec {
    /// Services to look at (default: every service of the stack).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    /// One-shot services (migrations) that must have exited with code 0;
    /// every other service must be running, and healthy if it has a healthcheck.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub completed: Vec<String>,
    /// Most restarts allowed per service (default 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_restarts: Option<u32>,
}

/// A command inside a service's container.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExecSpec {
    pub service: String,
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub env: IndexMap<String, String>,
}

/// From inside service `from`: DNS resolution of `to`, then TCP (or HTTP) to its port.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReachSpec {
    pub from: String,
    pub to: String,
    pub port: u16,
    /// Also request this HTTP path and report the status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<String>,
}

/// Break a service, observe, restore, expect recovery.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub service: String,
    /// `stop`, `kill`, `pause` or `disconnect`.
    pub action: String,
    /// The network to cut the service from (with `disconnect`).
    #[serde(default)]
    pub network: Option<String>,
    /// Checks run while the fault is in place.
    #[serde(default)]
    pub during: Vec<RawCheck>,
    /// Checks run after restoring, retried until `recover_within`.
    #[serde(default)]
    pub after: Vec<RawCheck>,
    /// Recovery bound (default `60s`).
    #[serde(default)]
    pub recover_within: Option<String>,
}

/// The fault's own settings, without its nested checks (those become plan checks).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub service: String,
    pub action: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recover_within: Option<String>,
}

/// A Prometheus text-format endpoint: one metric, selected by name and labels.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSpec {
    /// `http://${service.api.8000}/metrics`
    pub url: String,
    /// The series name as exposed: `http_requests_total`, `http_request_duration_seconds_count`.
    pub metric: String,
    /// Labels the series must have (others may be present): `{ route: /health, status: "200" }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub labels: IndexMap<String, String>,
    /// How several matching series become `value`: `sum` (default), `max`, `min` or `count`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregate: Option<String>,
    /// Request headers (a token for a protected endpoint).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
}

/// Every selected operation of an OpenAPI contract called, each response
/// validated against the contract: status declared, content type, body schema.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenapiSpec {
    /// The contract: a file (relative to the project root, YAML or JSON) or a
    /// URL, such as the live service's own `"${API}/openapi.json"`.
    pub spec: String,
    /// Where requests go: `"${API}"`. Default: the contract's first absolute `servers` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Only operations with one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Only these operations (by operationId).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub operations: Vec<String>,
    /// Only these paths: exact (`/items/{id}`) or a prefix ending in `*` (`/items*`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Only these methods: `[GET]` for a read-only pass.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Operations to leave out: operationIds or `METHOD /path`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// Parameter values by name, for every operation that has the parameter: `{ id: "${ITEM_ID}" }`.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, Value>,
    /// Per operation (operationId or `METHOD /path`): its own parameters, body and expected status.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub requests: IndexMap<String, OpenapiRequest>,
    /// Credentials for the operations whose `security` asks for them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<OpenapiAuth>,
    /// Headers sent with every request.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// What an answer with a status the contract does not declare is:
    /// `client-errors` (default: an undeclared 4xx is accepted, any other is
    /// a violation — FastAPI declares no 401/403/404), `strict` (every
    /// undeclared status is a violation) or `any` (only an undeclared 5xx is).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<UndeclaredStatus>")]
    pub undeclared_status: Option<String>,
}

/// What an `openapi` check makes of a status the contract does not declare
/// (only for the JSON Schema; validated in [`crate::load`]).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[expect(dead_code, reason = "schema only")]
enum UndeclaredStatus {
    ClientErrors,
    Strict,
    Any,
}

/// The values of `openapi`'s `undeclared_status`, the default first.
pub const UNDECLARED_STATUS: &[&str] = &["client-errors", "strict", "any"];

/// One operation's own request values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenapiRequest {
    /// Parameter values for this operation only (they win over `params`).
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub params: IndexMap<String, Value>,
    /// The request body, instead of the contract's example or a generated one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<Value>,
    /// The status this call must answer (it must also be declared): `201`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
}

/// Credentials, applied per security scheme of the contract.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenapiAuth {
    /// A bearer token (`http: bearer`, `oauth2`, `openIdConnect` schemes): `"${ACCESS_TOKEN}"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<String>,
    /// `user:password` for `http: basic` schemes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic: Option<String>,
    /// A key for `apiKey` schemes (header, query or cookie, as the scheme says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
}

/// Response times of many requests to one URL: a number of requests or a
/// duration, at a concurrency, optionally at a fixed rate.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LatencySpec {
    /// `http://${service.api.8000}/health`
    pub url: String,
    /// `GET` (default), `POST`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// A JSON body sent with every request (sets `content-type: application/json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json: Option<Value>,
    /// A raw text body sent with every request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    /// A form body sent with every request, names to scalars
    /// (`application/x-www-form-urlencoded`, in order).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<IndexMap<String, Value>>,
    /// How many requests to measure (1–1000000); or `duration`, exactly one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    /// How long to measure: `10s` (up to `10m`); or `requests`, exactly one of the two.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    /// Requests in flight at once, one connection each (default 4, at most 1024).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    /// A fixed total rate in requests per second; each response time is then
    /// measured from when its request was due, so a slow server cannot hide
    /// its queue (no coordinated omission).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    /// Requests sent first and not measured (default 0): warm caches and connections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<u64>,
    /// Accept invalid TLS certificates (self-signed staging).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
}

/// Breaking changes between a committed OpenAPI contract and the one the
/// running service serves (`checkpoint contract diff` as a check).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractDiffSpec {
    /// The contract clients were built against: a file (relative to the
    /// project root) or an http(s) URL. `$ref`s to other files are followed.
    pub base: String,
    /// The contract now: usually the service's own, `"${API}/openapi.json"`; or a file.
    pub live: String,
    /// Request headers for fetching URLs (a token for a protected spec); sent
    /// only to the host of the URL they go with, not to hosts `$ref`s name.
    #[serde(default, skip_serializing_if = "IndexMap::is_empty")]
    pub headers: IndexMap<String, String>,
    /// Accept invalid TLS certificates (self-signed staging).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// An ignore file (relative to the project root): a YAML list of accepted
    /// changes, `fingerprint` (as `checkpoint contract diff` prints it),
    /// `reason` and optional `expires: YYYY-MM-DD`, after which the change
    /// counts again. Ignored changes are listed in the evidence, not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ignore: Option<String>,
}

fn yes() -> bool {
    true
}

#[expect(clippy::trivially_copy_pass_by_ref, reason = "serde's skip_serializing_if passes a reference")]
fn is_yes(b: &bool) -> bool {
    *b
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
];
