//! One module per check kind, each implementing [`crate::observe::CheckKind`].

pub mod command;
pub mod compose;
pub mod contract_diff;
pub mod exec;
pub mod fault;
pub mod http;
pub mod latency;
pub(crate) mod listen;
pub mod metrics;
pub mod mysql;
pub mod openapi;
pub mod pg_quality;
pub mod postgres;
pub mod reach;
pub mod redis;
pub(crate) mod redis_channels;
pub mod redis_info;
pub(crate) mod server_said;
pub(crate) mod sql_script;
pub mod tcp;
pub(crate) mod websocket;

use std::time::Duration;

use checkpoint_model::kinds::CheckSpec;
use checkpoint_model::matcher::Matcher;

use crate::observe::{CheckKind, Ctx, Observation, ObserveError};

/// Observes once, with the implementation of the spec's kind. `fault` is run
/// by the engine itself (it runs nested checks; see [`fault`]).
pub async fn observe(spec: &CheckSpec, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
    match spec {
        CheckSpec::Http(s) => http::Http.observe(s, ctx, timeout).await,
        CheckSpec::Tcp(s) => tcp::Tcp.observe(s, ctx, timeout).await,
        CheckSpec::Postgres(s) => postgres::Postgres.observe(s, ctx, timeout).await,
        CheckSpec::Redis(s) => redis::Redis.observe(s, ctx, timeout).await,
        CheckSpec::Command(s) => command::Command.observe(s, ctx, timeout).await,
        CheckSpec::Compose(s) => compose::Compose.observe(s, ctx, timeout).await,
        CheckSpec::Exec(s) => exec::Exec.observe(s, ctx, timeout).await,
        CheckSpec::Reach(s) => reach::Reach.observe(s, ctx, timeout).await,
        CheckSpec::Fault(_) => Err(ObserveError::Errored("a fault is run by the engine, not observed".into())),
        CheckSpec::Metrics(s) => metrics::Metrics.observe(s, ctx, timeout).await,
        CheckSpec::Openapi(s) => openapi::Openapi.observe(s, ctx, timeout).await,
        CheckSpec::Latency(s) => latency::Latency.observe(s, ctx, timeout).await,
        CheckSpec::ContractDiff(s) => contract_diff::ContractDiff.observe(s, ctx, timeout).await,
        CheckSpec::Websocket(_) => {
            Err(ObserveError::Errored("a websocket check is run by the engine (it listens)".into()))
        }
        CheckSpec::Mysql(s) => mysql::Mysql.observe(s, ctx, timeout).await,
    }
}

/// The kind's expectations for fields the check does not set (`status < 300`
/// for http, `exit_code = 0` for commands).
pub fn default_expectations(spec: &CheckSpec) -> Vec<(&'static str, Matcher)> {
    match spec {
        CheckSpec::Http(_) => http::Http.default_expectations(),
        CheckSpec::Tcp(_) => tcp::Tcp.default_expectations(),
        CheckSpec::Postgres(_) => postgres::Postgres.default_expectations(),
        CheckSpec::Redis(_) => redis::Redis.default_expectations(),
        CheckSpec::Command(_) => command::Command.default_expectations(),
        CheckSpec::Compose(_) => compose::Compose.default_expectations(),
        CheckSpec::Exec(_) => exec::Exec.default_expectations(),
        CheckSpec::Reach(_) => reach::Reach.default_expectations(),
        CheckSpec::Metrics(_) => metrics::Metrics.default_expectations(),
        CheckSpec::Openapi(_) => openapi::Openapi.default_expectations(),
        CheckSpec::Latency(_) => latency::Latency.default_expectations(),
        CheckSpec::ContractDiff(_) => contract_diff::ContractDiff.default_expectations(),
        // A fault judges itself; a listener's expectations are its `wait_for`.
        CheckSpec::Fault(_) | CheckSpec::Websocket(_) => Vec::new(),
        CheckSpec::Mysql(_) => mysql::Mysql.default_expectations(),
    }
}
