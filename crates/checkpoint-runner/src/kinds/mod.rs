//! One module per check kind, each implementing [`crate::observe::CheckKind`].

pub mod command;
pub mod compose;
pub mod contract_diff;
pub mod exec;
pub mod fault;
pub mod http;
pub mod latency;
pub mod metrics;
pub mod openapi;
pub mod pg_quality;
pub mod postgres;
pub mod reach;
pub mod redis;
pub mod redis_info;
pub mod tcp;

use crate::observe::CheckKind;

/// The kind implementation for a name from `checkpoint_model::raw::KINDS`.
/// `fault` is handled by the engine itself (it runs nested checks).
pub fn by_name(name: &str) -> Option<&'static dyn CheckKind> {
    Some(match name {
        "http" => &http::Http,
        "tcp" => &tcp::Tcp,
        "postgres" => &postgres::Postgres,
        "redis" => &redis::Redis,
        "command" => &command::Command,
        "compose" => &compose::Compose,
        "exec" => &exec::Exec,
        "reach" => &reach::Reach,
        "metrics" => &metrics::Metrics,
        "openapi" => &openapi::Openapi,
        "latency" => &latency::Latency,
        "contract-diff" => &contract_diff::ContractDiff,
        _ => return None,
    })
}
