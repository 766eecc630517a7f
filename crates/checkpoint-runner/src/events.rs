//! What the engine tells the outside world while it runs. Reporters (the live
//! console view) consume these; the engine itself never prints.

use checkpoint_model::result::{CheckResult, GateResult};

#[derive(Debug, Clone)]
pub enum Event {
    GateStarted {
        gate: String,
        title: String,
    },
    CheckStarted {
        gate: String,
        check: String,
    },
    /// A retried check failed an attempt and will try again.
    CheckRetrying {
        gate: String,
        check: String,
        attempt: u32,
        message: String,
    },
    CheckFinished {
        gate: String,
        result: CheckResult,
    },
    GateFinished {
        result: GateResult,
    },
}
