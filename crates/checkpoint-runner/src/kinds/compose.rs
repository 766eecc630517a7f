//! `compose`: the stack's services are up — running (and healthy where they
//! have a healthcheck), one-shots exited 0, no restarts, no OOM kills.
//!
//! The services judged by default are the compose configuration's (profiles
//! in effect), so a service that never got a container is seen. The check
//! looks once, while its gate runs; [`recheck`] judges every passed `compose`
//! check again at the end of the run against the stack's final state and the
//! incidents recorded since ready, so a worker that dies after the check
//! looked still turns the stack gate red.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::{CheckSpec, ComposeSpec};
use checkpoint_model::plan::Gate;
use checkpoint_model::result::{GateResult, Incident, ServiceReport, Status};
use serde_json::{Map, Value};

use crate::observe::{CheckKind, Ctx, Observation, ObserveError};

pub struct Compose;

#[async_trait]
impl CheckKind for Compose {
    type Spec = ComposeSpec;

    async fn observe(&self, spec: &ComposeSpec, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let started = Instant::now();
        let all = ctx.target.services().await?;
        let incidents = ctx.target.incidents().await;
        let j = judge(spec, &all, &incidents);
        Ok(Observation {
            document: Some(j.document),
            evidence: j.evidence,
            problems: j.problems,
            service: j.failing.into_iter().next(),
            ..Observation::default()
        }
        .duration(started.elapsed()))
    }
}

/// What a `compose` check concludes from the services and the incidents.
pub struct Judgement {
    /// One line each, causes (OOM, crash loops, incidents) before states.
    pub problems: Vec<String>,
    /// The services table.
    pub evidence: String,
    pub document: Value,
    /// The services judged, for their log tails.
    pub failing: Vec<String>,
}

/// Judges `spec` against the stack's services and what happened since ready.
pub fn judge(spec: &ComposeSpec, all: &[ServiceReport], incidents: &[Incident]) -> Judgement {
    let base = |name: &str| name.split('#').next().unwrap_or(name).to_string();
    let wanted: Vec<String> = if spec.services.is_empty() {
        let mut names: Vec<String> = Vec::new();
        for s in all {
            let b = base(&s.name);
            if !names.contains(&b) {
                names.push(b);
            }
        }
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
    let mut failing = Vec::new();
    let mut doc = Map::new();
    let mut evidence = String::from("service            state        health      restarts  exit\n");
    for name in &wanted {
        let before = problems.len();
        let containers: Vec<&ServiceReport> =
            all.iter().filter(|s| s.name == *name || base(&s.name) == *name).collect();
        if containers.is_empty() || containers.iter().all(|s| s.state == "not created") {
            problems.push(format!("service `{name}` has no container (it was never started)"));
            let _ = writeln!(evidence, "{name:<18} (no container)");
            failing.push(name.clone());
            continue;
        }
        for s in &containers {
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
            } else if s.state == "exited" && s.exit_code == Some(0) && s.one_shot {
                // The configuration's own one-shot (`service_completed_successfully`).
            } else if s.state != "running" {
                let code = s.exit_code.map(|c| format!(" with code {c}")).unwrap_or_default();
                problems.push(format!("`{name}` is {}{code}", s.state));
            } else if let Some(h) = &s.health
                && h != "healthy"
            {
                problems.push(format!("`{name}` is running but {h}"));
            }
            doc.insert(s.name.clone(), serde_json::to_value(s).unwrap_or(Value::Null));
        }
        // What happened since ready that the state no longer shows (a crash
        // the restart policy covered, a health dip): an incident is a problem
        // unless the restarts it caused are within `max_restarts`.
        let mine: Vec<&Incident> = incidents.iter().filter(|i| i.service == *name).collect();
        let restarts_tolerated = mine.iter().filter(|i| i.restarted).count() as u32 <= max_restarts;
        if problems.len() == before {
            for i in mine {
                if i.restarted && restarts_tolerated {
                    continue;
                }
                problems.push(i.headline());
                break;
            }
        }
        if problems.len() > before {
            failing.push(name.clone());
        }
    }
    if !incidents.is_empty() {
        evidence.push_str("\nsince the stack was ready:\n");
        for i in incidents {
            let _ = writeln!(evidence, "  +{:.1}s {} {}", i.after_ready_ms / 1000.0, i.service, i.what);
        }
    }
    // Causes before symptoms, whatever order the configuration lists services
    // in (v1 and v2 both sort it by name): a dead `db` explains an `api` that
    // is still `starting`, not the other way round.
    let rank = |p: &String| {
        if p.contains("out of memory") || p.contains("crash loop") || p.contains("no container") {
            0
        } else if p.contains(" is exited") || p.contains(" is dead") || p.contains("exited with code") {
            1
        } else if p.contains("running but") {
            3
        } else {
            2
        }
    };
    problems.sort_by_key(rank);
    failing.sort_by_key(|svc| problems.iter().position(|p| p.contains(&format!("`{svc}`"))).unwrap_or(usize::MAX));
    Judgement { problems, evidence, document: serde_json::json!({ "services": doc }), failing }
}

/// Judges every passed `compose` check of the run again against the stack's
/// end state and every incident since ready. A check that looked before a
/// service died turns red, with the incident as its reason and the service's
/// log tail as its evidence: a report never shows a green stack gate beside a
/// stack table that says otherwise. Returns the ids of the gates it turned red.
pub fn recheck(
    gates: &[Gate],
    results: &mut [GateResult],
    services: &[ServiceReport],
    incidents: &[Incident],
) -> Vec<String> {
    let mut turned = Vec::new();
    for result in results.iter_mut() {
        let Some(gate) = gates.iter().find(|g| g.id == result.id) else { continue };
        for (check, r) in gate.checks.iter().zip(result.checks.iter_mut()) {
            let CheckSpec::Compose(spec) = &check.spec else { continue };
            if r.status != Status::Passed {
                continue;
            }
            let j = judge(spec, services, incidents);
            let Some(first) = j.problems.first() else { continue };
            let message = format!("after this check passed: {first}");
            let mut evidence = format!(
                "At the end of the run (before teardown):\n{}\n{}",
                if j.problems.len() > 1 { format!("- {}\n", j.problems.join("\n- ")) } else { String::new() },
                j.evidence
            );
            if let Some(before) = &r.evidence {
                let _ = write!(evidence, "\nWhen the check looked:\n{before}");
            }
            let failing = j.failing.first().cloned();
            let tail = failing.as_ref().and_then(|svc| {
                incidents.iter().rev().find(|i| i.service == *svc).map(|i| i.log_tail.clone()).filter(|t| !t.is_empty())
            });
            r.status = Status::Failed;
            r.message = Some(message.clone());
            r.evidence = Some(evidence);
            if failing.is_some() {
                r.service = failing;
            }
            if tail.is_some() {
                r.logs = tail;
            }
            if result.status == Status::Passed {
                result.status = Status::Failed;
                result.reason = Some(format!("{}: {message}", r.name));
                turned.push(result.id.clone());
            }
        }
    }
    turned
}

#[cfg(test)]
mod tests {
    use super::*;

    fn svc(name: &str, state: &str, exit: Option<i64>) -> ServiceReport {
        ServiceReport { name: name.into(), state: state.into(), exit_code: exit, ..ServiceReport::default() }
    }

    fn incident(service: &str, what: &str, restarted: bool) -> Incident {
        Incident {
            service: service.into(),
            what: what.into(),
            restarted,
            after_ready_ms: 5200.0,
            at: "2026-12-04T19:12:04Z".into(),
            log_tail: "celery: fatal error\n".into(),
        }
    }

    #[test]
    fn a_dead_dependency_comes_before_the_service_still_starting() {
        let mut api = svc("api", "running", None);
        api.health = Some("starting".into());
        let all = [api, svc("db", "exited", Some(1))];
        let j = judge(&ComposeSpec::default(), &all, &[]);
        assert_eq!(j.problems, ["`db` is exited with code 1", "`api` is running but starting"]);
        assert_eq!(j.failing, ["db", "api"]);
    }

    #[test]
    fn every_configured_service_is_judged_containers_or_not() {
        let all = [svc("db", "running", None), svc("worker", "not created", None)];
        let j = judge(&ComposeSpec::default(), &all, &[]);
        assert_eq!(j.problems, ["service `worker` has no container (it was never started)"]);
        assert_eq!(j.failing, ["worker"]);
    }

    #[test]
    fn a_configured_one_shot_that_exited_0_is_fine_and_any_other_exit_is_not() {
        let mut migrate = svc("migrate", "exited", Some(0));
        migrate.one_shot = true;
        let all = [migrate, svc("worker", "exited", Some(0))];
        let j = judge(&ComposeSpec::default(), &all, &[]);
        assert_eq!(j.problems, ["`worker` is exited with code 0"]);
    }

    #[test]
    fn an_incident_since_ready_is_a_problem_unless_its_restart_is_allowed() {
        let all = [svc("worker", "running", None)];
        let died = [incident("worker", "exited with code 1", true)];
        let j = judge(&ComposeSpec::default(), &all, &died);
        assert_eq!(j.problems, ["`worker` exited with code 1 5.2s after the stack was ready (restarted since)"]);
        let allowed = ComposeSpec { max_restarts: Some(1), ..ComposeSpec::default() };
        assert!(judge(&allowed, &all, &died).problems.is_empty());
        // Unhealthy for a while is never covered by max_restarts.
        let dip = [incident("worker", "became unhealthy", false)];
        assert_eq!(judge(&allowed, &all, &dip).problems.len(), 1);
    }
}
