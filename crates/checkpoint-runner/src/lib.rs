//! The check engine.
//!
//! - [`target`]: the seam a stack plugs into (Docker compose today; an
//!   external staging target; Kubernetes later) — checks never talk to Docker.
//! - [`observe`]: the [`observe::CheckKind`] trait; [`kinds`] has one module per kind.
//! - [`cookies`]: a gate's cookie jar (`http` checks send what earlier ones were set).
//! - [`expect`]: expectations and captures evaluated on an observation.
//! - [`scope`]: where `${VAR}` values come from during a run.
//! - [`shard`]: `--shard k/n`, the deterministic split of a selection.
//! - [`engine`]: dispatcher + executor — gates concurrently (bounded, `needs`
//!   respected), checks of a gate in order, timeouts, retries, cancellation.
//!   It emits [`events::Event`]s and never prints.

pub mod contract_source;
pub mod cookies;
pub mod engine;
pub mod events;
pub mod expect;
pub mod kinds;
pub mod observe;
pub mod scope;
mod server_log;
pub mod shard;
pub mod target;
mod tls;

pub use engine::{Engine, RunOptions};
pub use events::Event;
pub use target::{ExternalTarget, Target, TargetError};

/// Installs the one rustls crypto provider of the workspace (ring). Call first
/// thing in `main` (and in tests that make TLS clients); idempotent.
pub fn init_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}
