//! `compose`: the stack's services are up — running (and healthy where they
//! have a healthcheck), one-shots exited 0, no restarts, no OOM kills.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::raw::ComposeSpec;
use serde_json::{Map, Value};

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, typed};

pub struct Compose;

#[async_trait]
impl CheckKind for Compose {
    fn name(&self) -> &'static str {
        "compose"
    }

    async fn observe(&self, spec: &Value, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let spec: ComposeSpec = typed(spec)?;
        let started = Instant::now();
        let all = ctx.target.services().await?;
        let wanted: Vec<String> = if spec.services.is_empty() {
            let mut names: Vec<String> = all.iter().map(|s| s.name.clone()).collect();
            for c in &spec.completed {
                if !names.contains(c) {
                    names.push(c.clone());
                }
            }
            names
        } else {
            spec.services.clone()
        };
        let max_restarts = spec.max_restarts.unwrap_or(0);
        let mut problems = Vec::new();
        let mut doc = Map::new();
        let mut evidence = String::from("service            state        health      restarts  exit\n");
        for name in &wanted {
            let Some(s) = all.iter().find(|s| &s.name == name) else {
                problems.push(format!("service `{name}` has no container"));
                let _ = writeln!(evidence, "{name:<18} (no container)");
                continue;
            };
            let health = s.health.clone().unwrap_or_else(|| "-".into());
            let exit = s.exit_code.map_or_else(|| "-".to_string(), |c| c.to_string());
            let _ = writeln!(evidence, "{:<18} {:<12} {:<11} {:<9} {exit}", s.name, s.state, health, s.restarts);
            // Crash loops and OOM kills first: they explain the state that follows.
            if s.oom_killed {
                problems.push(format!("`{name}` was killed for running out of memory"));
            }
            if s.restarts > max_restarts {
                let state = if s.state == "running" { String::new() } else { format!(", now {}", s.state) };
                problems.push(format!(
                    "`{name}` restarted {} time{} (at most {max_restarts} allowed{state}): a crash loop",
                    s.restarts,
                    if s.restarts == 1 { "" } else { "s" }
                ));
            }
            if spec.completed.contains(name) {
                match (s.state.as_str(), s.exit_code) {
                    ("exited", Some(0)) => {}
                    ("exited", Some(c)) => problems.push(format!("one-shot `{name}` exited with code {c}")),
                    (state, _) => problems.push(format!("one-shot `{name}` has not completed (it is {state})")),
                }
            } else if s.state != "running" {
                let code = s.exit_code.map(|c| format!(" with code {c}")).unwrap_or_default();
                problems.push(format!("`{name}` is {}{code}", s.state));
            } else if let Some(h) = &s.health
                && h != "healthy"
            {
                problems.push(format!("`{name}` is running but {h}"));
            }
            doc.insert(name.clone(), serde_json::to_value(s).unwrap_or(Value::Null));
        }
        let document = serde_json::json!({ "services": doc });
        Ok(Observation { document: Some(document), evidence, problems, ..Observation::default() }
            .duration(started.elapsed()))
    }
}
