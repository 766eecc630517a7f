//! The checkpoint file format and everything about it that needs no network:
//! the raw YAML mirror ([`raw`]), diagnostics with `file:line:col` ([`diag`]),
//! `${VAR}` interpolation ([`interp`]), the matcher vocabulary ([`matcher`]),
//! the check kinds, one module each ([`kinds`]),
//! the validated plan ([`plan`], built by [`load`]), the result model that every
//! report is rendered from ([`result`]) with the `latency` kind's figures
//! ([`latency`]), secret redaction ([`secrets`]), the error a service's log
//! names ([`logged`]) and the documented exit codes ([`exit`]).
//!
//! This crate is synchronous on purpose: loading, validation and rendering are
//! plain functions, easy to test and to snapshot.

pub mod compose;
pub mod diag;
pub mod duration;
pub mod exit;
pub mod fixed;
pub mod interp;
pub mod json_path;
pub mod kinds;
pub mod latency;
pub mod load;
pub mod logged;
pub mod matcher;
pub mod plan;
pub mod raw;
pub mod result;
pub mod schema;
pub mod secrets;
mod shape;
pub mod size;
mod yaml;

pub use diag::{Diagnostic, Diagnostics};
pub use load::{LoadOptions, Loaded, load_checkpoints};
pub use plan::{Check, Checkpoint, Gate, Severity};
