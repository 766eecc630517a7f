//! `exec`: a command inside a service's running container (through the target).

use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::ExecSpec;
use checkpoint_model::matcher::Matcher;
use serde_json::Value;

use super::command::process_observation;
use crate::observe::{CheckKind, Ctx, Observation, ObserveError};
use crate::target::ExecRequest;

pub struct Exec;

#[async_trait]
impl CheckKind for Exec {
    type Spec = ExecSpec;

    fn default_expectations(&self) -> Vec<(&'static str, Matcher)> {
        vec![("exit_code", Matcher::equals(Value::from(0)))]
    }

    async fn observe(&self, spec: &ExecSpec, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let env: Vec<(String, String)> = spec.env.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let started = Instant::now();
        let out = ctx
            .target
            .exec(&spec.service, ExecRequest { argv: &spec.argv, env: &env, user: spec.user.as_deref(), timeout })
            .await?;
        let shown = format!("[{}] {}", spec.service, spec.argv.join(" "));
        let mut obs = process_observation(&shown, out.exit_code, out.stdout, out.stderr, started.elapsed());
        if !out.via.is_empty() {
            obs.evidence.push_str(&format!("(ran via {})\n", out.via));
        }
        Ok(obs)
    }
}
