//! The runner's integration tests as one test binary: one link and one
//! executable on disk instead of one per file (each linked the whole
//! dependency tree, ~106 MB apiece), which is what filled CI's disk.
//! Each module is what used to be its own `tests/<name>.rs`.

mod support;

mod channels;
mod contract_diff;
mod django;
mod engine;
mod fault_policy;
mod http;
mod latency;
mod openapi;
mod quality;
