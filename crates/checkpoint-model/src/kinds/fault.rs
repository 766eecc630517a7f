//! `fault`: break a service (stop, kill, pause, disconnect from a network),
//! run the `during` checks, restore it, run the `after` checks until
//! `recover_within`. The nested checks become the plan check's `during` and
//! `after`; [`FaultSpec`] is the fault's own settings.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind};
use crate::diag::{Diagnostic, did_you_mean_or};
use crate::raw::RawCheck;

/// The actions, as written after `action:`.
pub const ACTIONS: [&str; 4] = ["stop", "kill", "pause", "disconnect"];

/// Break a service, observe, restore, expect recovery.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawFault {
    pub service: String,
    /// `stop`, `kill`, `pause` or `disconnect`.
    pub action: String,
    /// The network to cut the service from (with `disconnect`).
    pub network: Option<String>,
    /// Checks run while the fault is in place.
    #[serde(default)]
    pub during: Vec<RawCheck>,
    /// Checks run after restoring, retried until `recover_within`.
    #[serde(default)]
    pub after: Vec<RawCheck>,
    /// Recovery bound (default `60s`).
    pub recover_within: Option<String>,
}

impl RawFault {
    /// The fault's own settings, without its nested checks.
    pub(crate) fn spec(&self) -> FaultSpec {
        FaultSpec {
            service: self.service.clone(),
            action: self.action.clone(),
            network: self.network.clone(),
            recover_within: self.recover_within.clone(),
        }
    }
}

/// The fault's own settings, without its nested checks (those become plan checks).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub service: String,
    pub action: String,
    pub network: Option<String>,
    pub recover_within: Option<String>,
}

impl Kind for FaultSpec {
    const NAME: &'static str = "fault";
    const EXPECT: &'static [&'static str] = &["duration"];

    fn validate(&self, cx: &mut Cx<'_>) {
        let action = self.action.as_str();
        if !ACTIONS.contains(&action) {
            cx.err_at(
                cx.value_at("action"),
                Diagnostic::new(format!("unknown fault action `{action}`"))
                    .label("not an action")
                    .hint(did_you_mean_or(action, ACTIONS, || "actions: stop, kill, pause, disconnect".into())),
            );
        }
        if action == "disconnect" && self.network.is_none() {
            cx.err_at(
                cx.value_at("action"),
                Diagnostic::new("`disconnect` needs `network:`")
                    .label("from which network?")
                    .hint("add `network: <compose network>`, e.g. `network: backend`"),
            );
        }
        if let Some(r) = &self.recover_within
            && let Err(e) = crate::duration::parse(r)
        {
            cx.err_at(cx.value_at("recover_within"), crate::duration::problem("recover_within", r, &e));
        }
    }

    fn services_named(&self) -> Vec<&str> {
        vec![&self.service]
    }

    fn service(&self) -> Option<&str> {
        Some(&self.service)
    }
}
