//! The stack a checkpoint runs against: a Docker compose project driven
//! through the real compose tool and observed through the Docker Engine API.
//!
//! - [`compose`]: finding `docker compose` (v2) or `docker-compose` (v1) and
//!   running it with a unique `-p` project name.
//! - [`stack`]: [`ComposeStack`] — up (or attach), wait until ready, save the
//!   logs, tear down leaving nothing with the project label.
//! - [`ready`]: the readiness rules, followed through engine events; a crash
//!   loop or an exit is reported at once with the last log lines.
//! - [`target`]: [`DockerTarget`], the [`checkpoint_target::Target`] the
//!   checks use: endpoints, exec, probe containers, logs, faults.
//! - [`docker_api`]: the Engine API connection, label lookups, [`cleanup_project`].
//!
//! Lifecycle (`up`, `down`) goes through the compose tool so the stack behaves
//! exactly as it does for the people who wrote the compose file; everything
//! else goes through the Engine API, where states, health and events are exact.

pub mod compose;
pub mod docker_api;
pub mod error;
pub mod owner;
pub mod ready;
pub mod stack;
pub mod target;
mod watch;

pub use compose::{ComposeTool, ToolChoice};
pub use docker_api::cleanup_project;
pub use error::StackError;
pub use ready::{NotReady, NotReadyKind, ReadyReport, ServiceDiagnosis, ServiceReady};
pub use stack::{
    ComposeStack, DEFAULT_READY_TIMEOUT, Owner, StackOptions, StackProgress, Teardown, is_valid_project_name,
    project_name,
};
pub use target::{DEFAULT_PROBE_IMAGE, DockerTarget};
