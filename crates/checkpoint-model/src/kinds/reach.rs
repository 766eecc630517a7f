//! `reach`: from inside service `from`, DNS resolution of `to`, then TCP (or
//! an HTTP request) to its port — the stack's own network, through the target.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Kind;

/// From inside service `from`: DNS resolution of `to`, then TCP (or HTTP) to its port.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReachSpec {
    pub from: String,
    pub to: String,
    pub port: u16,
    /// Also request this HTTP path and report the status.
    pub http: Option<String>,
}

impl Kind for ReachSpec {
    const NAME: &'static str = "reach";
    const EXPECT: &'static [&'static str] = &["json", "duration"];

    fn services_named(&self) -> Vec<&str> {
        vec![&self.from, &self.to]
    }

    fn service(&self) -> Option<&str> {
        Some(&self.from)
    }
}
