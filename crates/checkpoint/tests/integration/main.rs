//! The `checkpoint` binary's integration tests as one test binary: one link
//! and one executable on disk instead of one per file, which is what CI's
//! disk and link time paid for. Each module is what used to be its own
//! `tests/<name>.rs`; the Docker ones share `compose_support`.

mod compose_support;
mod support;

mod architecture;
mod cli;
mod container;
mod contract;
mod demo;
mod github;
mod init;
mod junit_readers;
mod nodestack;
mod plan_sync;
mod pystack;
mod shard;
mod tls;
mod wheel;
mod workflows;
