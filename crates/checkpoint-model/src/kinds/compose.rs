//! `compose`: the stack's services — running, healthy, restarts, exit codes
//! of one-shots, OOM kills — judged through the target, and judged again
//! after the gates (`checkpoint_runner::kinds::compose::recheck`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Kind;

/// The stack's services: running, healthy, restarts, exit codes, OOM.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ComposeSpec {
    /// Services to look at (default: every service of the stack).
    #[serde(default)]
    pub services: Vec<String>,
    /// One-shot services (migrations) that must have exited with code 0;
    /// every other service must be running, and healthy if it has a healthcheck.
    #[serde(default)]
    pub completed: Vec<String>,
    /// Most restarts allowed per service (default 0).
    pub max_restarts: Option<u32>,
}

impl Kind for ComposeSpec {
    const NAME: &'static str = "compose";
    const EXPECT: &'static [&'static str] = &["json"];

    fn services_named(&self) -> Vec<&str> {
        self.services.iter().chain(&self.completed).map(String::as_str).collect()
    }
}
