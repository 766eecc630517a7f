//! `fault`: break a service (stop, kill, pause, disconnect from a network),
//! run the `during` checks while it is broken, restore it, then run the
//! `after` checks, retried until `recover_within`. The orchestration lives in
//! [`crate::engine`], which owns running nested checks; this module holds the
//! parts that are about the fault itself.

use std::time::Duration;

use crate::observe::ObserveError;
use crate::target::FaultAction;
use checkpoint_model::kinds::FaultSpec;

pub const DEFAULT_RECOVERY: Duration = Duration::from_mins(1);

pub struct Plan {
    pub spec: FaultSpec,
    pub action: FaultAction,
    pub recover_within: Duration,
}

pub fn plan(spec: FaultSpec) -> Result<Plan, ObserveError> {
    let action = FaultAction::parse(&spec.action)
        .ok_or_else(|| ObserveError::Errored(format!("unknown fault action `{}`", spec.action)))?;
    let recover_within = match &spec.recover_within {
        Some(r) => checkpoint_model::duration::parse(r).map_err(ObserveError::Errored)?,
        None => DEFAULT_RECOVERY,
    };
    Ok(Plan { spec, action, recover_within })
}
