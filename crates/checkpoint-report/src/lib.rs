//! Every report of a run, rendered from one [`RunReport`] — so
//! `checkpoint report results.json` reproduces them exactly:
//!
//! - [`junit`]: JUnit XML, valid against Jenkins' `junit-10.xsd`;
//! - [`markdown`]: `integration-test-results.md`, verdict first;
//! - [`json`]: the result model itself, versioned;
//! - [`html`]: `integration-test-results.html`, one self-contained page with the run's timeline;
//! - [`console`]: the summary table printed at the end of a run;
//! - [`assemble`]: a finished run's report, judged and masked;
//! - [`write`]: atomic writes; [`merge`]: shards into one report;
//! - [`baseline`]: when a check counts as slower than in the baseline.
//!
//! All of it is plain synchronous code over data: easy to snapshot.

pub mod assemble;
pub mod baseline;
pub mod console;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod merge;
pub mod plansync;
mod text;
pub mod write;

pub use assemble::{Finished, assemble};
pub use checkpoint_model::result::RunReport;
pub use console::console_summary;
pub use html::html;
pub use json::{ReportError, json, read_json};
pub use junit::junit;
pub use markdown::markdown;
pub use merge::merge;
pub use write::{Written, write_all, write_all_with, write_atomic};
