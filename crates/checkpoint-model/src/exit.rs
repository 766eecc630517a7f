//! Exit codes, the contract CI gates merges on. Documented in the README.

/// The checkpoint met its criteria.
pub const PASSED: u8 = 0;
/// The checkpoint ran and failed its criteria (a must gate failed, or should
/// gates or the overall pass rate fell below their threshold).
pub const FAILED: u8 = 1;
/// Usage or definition error: bad flags, an invalid checkpoint file. Nothing ran.
pub const USAGE: u8 = 2;
/// Infrastructure error: no Docker engine, compose failed before any gate ran,
/// a report could not be written.
pub const INFRA: u8 = 3;
/// Interrupted by Ctrl-C or SIGTERM, at any phase: the reports say what ran,
/// the gates that did not finish are `cancelled` with the reason `interrupted`,
/// the stack was torn down. 128 + SIGINT, as shells report it.
pub const INTERRUPTED: u8 = 130;
