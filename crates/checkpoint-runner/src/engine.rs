//! Dispatcher + executor.
//!
//! The dispatcher starts gates in definition order as soon as the gates they
//! need have finished, at most `jobs` at a time; a gate whose needed gate did
//! not pass is skipped with the reason. Inside a gate, checks run in order and
//! stop at the first that does not pass (the rest are skipped: they would
//! build on something false). Each check attempt has a timeout; `retry`
//! repeats attempts until it passes or its window closes. Cancellation (Ctrl-C,
//! `--fail-fast`) reaches every running check; what has not started is
//! reported as cancelled. Results come back in definition order.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use checkpoint_model::duration::millis;
use checkpoint_model::interp::{self, Template};
use checkpoint_model::kinds::CheckSpec;
use checkpoint_model::logged;
use checkpoint_model::plan::{Check, Checkpoint, Gate, Retry, Severity};
use checkpoint_model::result::{Attempt, CaseResult, CheckResult, GateResult, ServiceReport, Status};
use checkpoint_model::secrets::{SharedRedactor, is_secret_name, is_secret_source};
use indexmap::IndexMap;
use serde_json::Value;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cookies::Jar;
use crate::events::Event;
use crate::observe::{Ctx, Observation, ObserveError};
use crate::scope::RunVars;
use crate::target::{Target, TargetError};
use crate::{expect, kinds};

/// How many log lines of a service are attached to a failing check.
pub const LOG_TAIL_LINES: usize = 40;

#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub fail_fast: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self { jobs: 8, fail_fast: false }
    }
}

/// Why a run stopped before every gate ran. The first cause wins: a Ctrl-C
/// after a `--fail-fast` failure does not rename the gates fail-fast
/// cancelled, and a failure after a Ctrl-C is not a fail-fast.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CancelReason {
    /// The token the engine was given was cancelled (Ctrl-C, SIGTERM).
    Interrupted,
    /// `--fail-fast`: this `must` gate failed first.
    FailFast { gate: String },
}

impl CancelReason {
    /// What a gate or check it cancelled says.
    pub fn message(&self) -> String {
        match self {
            Self::Interrupted => "interrupted".into(),
            Self::FailFast { gate } => format!("--fail-fast: gate `{gate}` failed"),
        }
    }
}

/// What [`Engine::run`] returns: a result for every gate, in the order given,
/// and why the run stopped early, if it did.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub results: Vec<GateResult>,
    pub cancelled: Option<CancelReason>,
}

pub struct Engine {
    ctx: Arc<Ctx>,
    /// The caller's token: only the caller cancels it (a signal). The
    /// engine's own `ctx.cancel` is a child it cancels for `--fail-fast`.
    signal: CancellationToken,
    vars: Arc<RunVars>,
    events: Option<UnboundedSender<Event>>,
    opts: RunOptions,
    /// The run's start: results say when they started relative to it.
    origin: Instant,
}

type Captures = IndexMap<String, String>;

/// Gates selected by `--waves` and `--gate`, plus every gate they need
/// (transitively), in definition order. Errors name what matched nothing.
pub fn select(cp: &Checkpoint, waves: &[String], gates: &[String]) -> Result<Vec<Gate>, String> {
    for g in gates {
        if !cp.gates.iter().any(|x| &x.id == g) {
            let ids: Vec<&str> = cp.gates.iter().map(|x| x.id.as_str()).collect();
            let hint = checkpoint_model::diag::did_you_mean(g, ids.iter().copied()).map_or_else(
                || format!("gates of checkpoint {}: {}", cp.id, ids.join(", ")),
                |m| format!("did you mean `{m}`?"),
            );
            return Err(format!("no gate `{g}` in checkpoint {}; {hint}", cp.id));
        }
    }
    for w in waves {
        if !cp.gates.iter().any(|x| x.wave.as_deref() == Some(w.as_str())) {
            let mut known: Vec<&str> = cp.gates.iter().filter_map(|x| x.wave.as_deref()).collect();
            known.dedup();
            return Err(format!(
                "no gate of checkpoint {} is in wave `{w}`; waves: {}",
                cp.id,
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ));
        }
    }
    let chosen = |g: &Gate| {
        (waves.is_empty() || g.wave.as_ref().is_some_and(|w| waves.contains(w)))
            && (gates.is_empty() || gates.contains(&g.id))
    };
    let mut keep: HashSet<String> = cp.gates.iter().filter(|g| chosen(g)).map(|g| g.id.clone()).collect();
    let mut todo: Vec<String> = keep.iter().cloned().collect();
    while let Some(id) = todo.pop() {
        if let Some(g) = cp.gates.iter().find(|g| g.id == id) {
            for n in &g.needs {
                if keep.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
    }
    Ok(cp.gates.iter().filter(|g| keep.contains(&g.id)).cloned().collect())
}

impl Engine {
    pub fn new(
        target: Arc<dyn Target>,
        root: std::path::PathBuf,
        cancel: CancellationToken,
        vars: RunVars,
        opts: RunOptions,
    ) -> Self {
        let http = Arc::new(kinds::http::Clients::default());
        let ctx = Ctx {
            target,
            root,
            gate_http: Arc::new(http.with_jar(Arc::default())),
            http,
            cancel: cancel.child_token(),
            cancel_reason: Arc::default(),
            secrets: SharedRedactor::default(),
        };
        Self { ctx: Arc::new(ctx), signal: cancel, vars: Arc::new(vars), events: None, opts, origin: Instant::now() }
    }

    /// Secret values seen while the run goes on are added to `secrets`
    /// (the console and the reports mask with it).
    #[must_use]
    pub fn with_secrets(mut self, secrets: SharedRedactor) -> Self {
        if let Some(ctx) = Arc::get_mut(&mut self.ctx) {
            ctx.secrets = secrets;
        }
        self
    }

    /// Results' `started_ms` count from `origin` (the run's start, before
    /// the stack came up) instead of from [`Engine::new`].
    #[must_use]
    pub fn with_origin(mut self, origin: Instant) -> Self {
        self.origin = origin;
        self
    }

    /// Sends progress events to `tx` (the console reporter).
    #[must_use]
    pub fn with_events(mut self, tx: UnboundedSender<Event>) -> Self {
        self.events = Some(tx);
        self
    }

    pub fn vars(&self) -> &RunVars {
        &self.vars
    }

    /// Resolves every `${service.NAME.PORT}` the gates use, once, from the target.
    /// Failures are remembered and reported by the checks that need them.
    pub async fn resolve_endpoints(&mut self, gates: &[Gate]) {
        let mut refs = Vec::new();
        for g in gates {
            for c in &g.checks {
                collect_check_templates(c, &mut refs);
            }
        }
        for (_, t) in &self.vars.vars {
            refs.push(t.clone());
        }
        let wanted = interp::service_refs(&refs);
        let mut vars = (*self.vars).clone();
        for (svc, port) in wanted {
            let name = format!("service.{svc}.{port}");
            if vars.cli.contains_key(&name) {
                continue;
            }
            match self.ctx.target.endpoint(&svc, port).await {
                Ok(addr) => {
                    if let Ok(mut m) = vars.endpoints.write() {
                        m.insert(name, addr);
                    }
                }
                Err(e) => {
                    vars.endpoint_errors.insert(name, e.to_string());
                }
            }
        }
        self.vars = Arc::new(vars);
    }

    /// Why the run's token fired: the reason set first, else a signal.
    fn cancel_reason(&self) -> Option<CancelReason> {
        if let Some(r) = self.ctx.cancel_reason.get() {
            return Some(r.clone());
        }
        if self.signal.is_cancelled() || self.ctx.cancel.is_cancelled() {
            let _ = self.ctx.cancel_reason.set(CancelReason::Interrupted);
            return self.ctx.cancel_reason.get().cloned();
        }
        None
    }

    /// Runs the gates: a result for each, in the order given, and why the
    /// run stopped early if it did. Shared, not copied, with the gates' tasks.
    pub async fn run(&self, gates: Arc<[Gate]>) -> RunOutcome {
        let index: HashMap<&str, usize> = gates.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
        let mut results: Vec<Option<GateResult>> = vec![None; gates.len()];
        let mut captured: Vec<Captures> = vec![Captures::new(); gates.len()];
        // Each gate's cookie jar, kept after it ran for the gates that need it.
        let mut jars: Vec<Arc<Jar>> = (0..gates.len()).map(|_| Arc::default()).collect();
        let mut pending: Vec<usize> = (0..gates.len()).collect();
        let mut running: JoinSet<(usize, GateResult, Captures)> = JoinSet::new();
        let jobs = self.opts.jobs.max(1);
        // A gate with a fault check breaks the stack on purpose: it runs alone.
        let exclusive = |g: &Gate| g.checks.iter().any(|c| matches!(c.spec, CheckSpec::Fault(_)));
        let mut exclusive_running: Option<usize> = None;
        loop {
            let cancel_reason = self.cancel_reason();
            let mut i = 0;
            while i < pending.len() {
                let gi = pending[i];
                let gate = &gates[gi];
                if let Some(reason) = &cancel_reason {
                    results[gi] = Some(not_run(gate, Status::Cancelled, reason.message()));
                    pending.remove(i);
                    continue;
                }
                let deps: Vec<usize> = gate.needs.iter().filter_map(|n| index.get(n.as_str()).copied()).collect();
                if let Some(bad) =
                    deps.iter().find(|&&d| results[d].as_ref().is_some_and(|r| r.status != Status::Passed))
                {
                    let dep =
                        results[*bad].as_ref().map_or((String::new(), Status::Failed), |r| (r.id.clone(), r.status));
                    let reason = format!("needs `{}`, which {}", dep.0, past_tense(dep.1));
                    let r = not_run(gate, Status::Skipped, reason);
                    self.emit(Event::GateFinished { result: r.clone() });
                    results[gi] = Some(r);
                    pending.remove(i);
                    continue;
                }
                let ready = deps.iter().all(|&d| results[d].is_some());
                if exclusive_running.is_some() {
                    break;
                }
                if ready && exclusive(gate) {
                    if !running.is_empty() {
                        // Let the running gates finish, start nothing new meanwhile.
                        break;
                    }
                    exclusive_running = Some(gi);
                }
                if ready && running.len() < jobs {
                    let mut inherited = Captures::new();
                    let needed = all_needs(gi, &gates, &index);
                    for &d in &needed {
                        inherited.extend(captured[d].clone());
                    }
                    let jar = Arc::new(Jar::inherit(needed.iter().map(|&d| &*jars[d])));
                    jars[gi] = jar.clone();
                    let ctx = Arc::new(self.ctx.for_gate(jar));
                    let vars = self.vars.clone();
                    let events = self.events.clone();
                    let gates = Arc::clone(&gates);
                    let origin = self.origin;
                    running.spawn(async move {
                        let runner = GateRunner { ctx, vars, events, origin };
                        let (r, c) = runner.run_gate(&gates[gi], inherited).await;
                        (gi, r, c)
                    });
                    pending.remove(i);
                    continue;
                }
                i += 1;
            }
            if running.is_empty() {
                // Nothing runs and nothing could start: only possible if needs
                // point outside the selection, which select() prevents.
                for gi in pending.drain(..) {
                    results[gi] = Some(not_run(&gates[gi], Status::Skipped, "its needs could not be met".into()));
                }
                break;
            }
            let joined = tokio::select! {
                j = running.join_next() => j,
                () = self.ctx.cancel.cancelled(), if cancel_reason.is_none() => continue,
            };
            match joined {
                Some(Ok((gi, r, c))) => {
                    if exclusive_running == Some(gi) {
                        exclusive_running = None;
                    }
                    if self.opts.fail_fast
                        && r.status.is_failure()
                        && r.severity == Severity::Must
                        && self.cancel_reason().is_none()
                        && self.ctx.cancel_reason.set(CancelReason::FailFast { gate: r.id.clone() }).is_ok()
                    {
                        self.ctx.cancel.cancel();
                    }
                    captured[gi] = c;
                    results[gi] = Some(r);
                }
                Some(Err(e)) => {
                    // A panic inside a check is a harness bug; keep going, report it.
                    tracing_free_log(&format!("internal error in a gate task: {e}"));
                }
                None => {}
            }
        }
        let results = results
            .into_iter()
            .enumerate()
            .map(|(i, r)| {
                r.unwrap_or_else(|| {
                    not_run(&gates[i], Status::Errored, "internal error: the gate task ended without a result".into())
                })
            })
            .collect();
        RunOutcome { results, cancelled: self.cancel_reason() }
    }

    fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }
}

/// A gate that did not run (skipped, cancelled, or the stack never came up):
/// every check listed with the same status and reason.
pub fn not_run(gate: &Gate, status: Status, reason: String) -> GateResult {
    let checks = gate.checks.iter().map(|c| CheckResult::not_run(c, status, reason.clone())).collect();
    gate_result(gate, status, Some(reason), 0.0, checks)
}

fn tracing_free_log(msg: &str) {
    eprintln!("checkpoint: {msg}");
}

fn past_tense(s: Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Failed => "failed",
        Status::Errored => "errored",
        Status::TimedOut => "timed out",
        Status::Skipped => "was skipped",
        Status::Cancelled => "was cancelled",
    }
}

fn all_needs(gi: usize, gates: &[Gate], index: &HashMap<&str, usize>) -> Vec<usize> {
    let mut seen = Vec::new();
    let mut todo: Vec<usize> = gates[gi].needs.iter().filter_map(|n| index.get(n.as_str()).copied()).collect();
    while let Some(d) = todo.pop() {
        if seen.contains(&d) {
            continue;
        }
        seen.push(d);
        todo.extend(gates[d].needs.iter().filter_map(|n| index.get(n.as_str()).copied()));
    }
    // Farthest first, so nearer gates' captures win.
    seen.reverse();
    seen
}

fn collect_check_templates(c: &Check, out: &mut Vec<Template>) {
    let mut v = Vec::new();
    c.spec.templates(&mut v);
    out.extend(v.into_iter().filter_map(Result::ok));
    for n in c.during.iter().chain(&c.after) {
        collect_check_templates(n, out);
    }
}

fn gate_result(
    gate: &Gate,
    status: Status,
    reason: Option<String>,
    duration_ms: f64,
    checks: Vec<CheckResult>,
) -> GateResult {
    GateResult {
        id: gate.id.clone(),
        title: gate.title.clone(),
        severity: gate.severity,
        wave: gate.wave.clone(),
        tags: gate.tags.clone(),
        needs: gate.needs.clone(),
        plan: gate.plan.clone(),
        location: gate.location.clone(),
        status,
        reason,
        started_ms: None,
        duration_ms,
        checks,
    }
}

/// One finished attempt.
struct AttemptOutcome {
    status: Status,
    message: Option<String>,
    evidence: Option<String>,
    captured: Vec<(String, String)>,
    metrics: Option<Value>,
    cases: Vec<CaseResult>,
    duration: Duration,
    /// The service a failure is about, when the kind can tell (the first
    /// service a `compose` check found wrong): its log tail is attached.
    service: Option<String>,
    /// The other side failed instead of answering (no answer, a timeout,
    /// an HTTP 5xx): what its service logged meanwhile likely says why, and
    /// is quoted. An answer that only differs from the expectation is not.
    server_failed: bool,
    /// The HTTP request the attempt sent: of the errors its service logged
    /// meanwhile, the one the log ties to this request is quoted.
    request: Option<logged::Request>,
}

/// Runs one gate's checks; cheap to clone into a task.
#[derive(Clone)]
struct GateRunner {
    ctx: Arc<Ctx>,
    vars: Arc<RunVars>,
    events: Option<UnboundedSender<Event>>,
    origin: Instant,
}

type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

impl GateRunner {
    /// Milliseconds from the run's start to `t`.
    fn offset(&self, t: Instant) -> f64 {
        millis(t.saturating_duration_since(self.origin))
    }

    fn emit(&self, e: Event) {
        if let Some(tx) = &self.events {
            let _ = tx.send(e);
        }
    }

    async fn run_gate(&self, gate: &Gate, inherited: Captures) -> (GateResult, Captures) {
        self.emit(Event::GateStarted { gate: gate.id.clone(), title: gate.title.clone() });
        let started = Instant::now();
        let mut captures = inherited;
        let mut results = Vec::new();
        let mut stop: Option<String> = None;
        for check in &gate.checks {
            if let Some(why) = &stop {
                results.push(CheckResult::not_run(check, Status::Skipped, why.clone()));
                continue;
            }
            let (r, captured) = self.run_check(&gate.id, check, &captures, None).await;
            if r.status == Status::Passed {
                // A token captured to log in with is a secret from now on.
                for (name, value) in &captured {
                    let source = check.capture.iter().find(|(n, _)| n == name).map(|(_, s)| s.to_string());
                    if is_secret_name(name) || source.as_deref().is_some_and(is_secret_source) {
                        self.ctx.secrets.add(value);
                    }
                }
                captures.extend(captured);
            } else if r.status != Status::Skipped {
                stop = Some(format!("not run: check `{}` did not pass", check.name));
            }
            self.emit(Event::CheckFinished { gate: gate.id.clone(), result: r.clone() });
            results.push(r);
        }
        let first_bad = results.iter().find(|r| r.status.is_failure() || r.status == Status::Cancelled);
        let first_skip = results.iter().find(|r| r.status == Status::Skipped);
        let (status, reason) = match (first_bad, first_skip) {
            (Some(b), _) => (b.status, Some(format!("{}: {}", b.name, b.message.clone().unwrap_or_default()))),
            (None, Some(s)) => {
                (Status::Skipped, Some(format!("{}: {}", s.name, s.message.clone().unwrap_or_default())))
            }
            (None, None) => (Status::Passed, None),
        };
        let mut r = gate_result(gate, status, reason, millis(started.elapsed()), results);
        r.started_ms = Some(self.offset(started));
        self.emit(Event::GateFinished { result: r.clone() });
        (r, captures)
    }

    /// Runs a check with its timeout and retry; `retry_override` is used for
    /// a fault's recovery window.
    fn run_check<'a>(
        &'a self,
        gate: &'a str,
        check: &'a Check,
        captures: &'a Captures,
        retry_override: Option<Retry>,
    ) -> BoxFut<'a, (CheckResult, Vec<(String, String)>)> {
        Box::pin(async move {
            self.emit(Event::CheckStarted { gate: gate.to_string(), check: check.name.clone() });
            let started = Instant::now();
            let retry = retry_override.or(check.retry);
            let deadline = retry.map(|r| started + r.until);
            let mut attempts: Vec<Attempt> = Vec::new();
            let mut attempt_wall;
            let last = loop {
                // A fault is not dropped on cancellation: it stops its `during` checks, restores
                // the service, then reports itself cancelled (see `fault`).
                let is_fault = matches!(check.spec, CheckSpec::Fault(_));
                let attempt_started = Instant::now();
                attempt_wall = SystemTime::now();
                let outcome = tokio::select! {
                    biased;
                    () = self.ctx.cancel.cancelled(), if !is_fault => AttemptOutcome {
                        status: Status::Cancelled,
                        message: Some(self.ctx.cancel_reason.get().map_or_else(|| "interrupted".into(), CancelReason::message)),
                        evidence: None, captured: Vec::new(), metrics: None, cases: Vec::new(), duration: Duration::ZERO, service: None, server_failed: false, request: None,
                    },
                    o = self.attempt_with_timeout(gate, check, captures) => o,
                };
                attempts.push(Attempt {
                    status: outcome.status,
                    message: outcome.message.clone(),
                    started_ms: Some(self.offset(attempt_started)),
                    duration_ms: millis(outcome.duration),
                    evidence: outcome.evidence.as_deref().and_then(Attempt::brief),
                });
                // Another attempt, `every` from now, if the retry window allows one.
                let every = match (retry, deadline) {
                    (Some(r), Some(d))
                        if matches!(outcome.status, Status::Failed | Status::Errored | Status::TimedOut)
                            && Instant::now() + r.every < d =>
                    {
                        r.every
                    }
                    _ => break outcome,
                };
                self.emit(Event::CheckRetrying {
                    gate: gate.to_string(),
                    check: check.name.clone(),
                    attempt: attempts.len() as u32,
                    message: outcome.message.clone().unwrap_or_default(),
                });
                tokio::select! {
                    () = self.ctx.cancel.cancelled() => {}
                    () = tokio::time::sleep(every) => {}
                }
            };
            let mut message = last.message.clone();
            if attempts.len() > 1 && last.status != Status::Passed {
                message = message.map(|m| {
                    format!(
                        "{m} (after {} attempts in {})",
                        attempts.len(),
                        checkpoint_model::duration::human(millis(started.elapsed()))
                    )
                });
            }
            // The service whose log tail explains a failure: the one the kind
            // named, else the check's own (`service:`, or behind its endpoint,
            // variables followed: `${API}` → `${service.api.8000}`).
            let mut service = last.service.clone().or_else(|| check.service.clone());
            if service.is_none() && last.status.is_failure() {
                service = self.services_of(check).into_iter().next();
            }
            if last.status.is_failure()
                && let Some(cause) = self.cause(check).await
            {
                message = Some(match message {
                    Some(m) => format!("{cause} — {m}"),
                    None => cause.clone(),
                });
                // The log tail worth attaching is the failing service's.
                if let Some(svc) = cause.split('`').nth(1) {
                    service = Some(svc.to_string());
                }
            }
            let mut logs = match &service {
                Some(svc) if last.status.is_failure() => self.log_tail(svc).await,
                _ => None,
            };
            // What the service logged while the last attempt ran names the
            // cause a bare `500 Internal Server Error` hides (the traceback is
            // in the log, not in the response). A `compose` check judges the
            // service's state, which its recent log explains whenever it was written.
            let mut said = match (&service, &check.spec) {
                (Some(_), CheckSpec::Compose(_)) => {
                    logs.as_deref().and_then(logged::last_error).map(|quote| logged::Said { quote, traceback: None })
                }
                (Some(svc), _) if last.status.is_failure() && last.server_failed => {
                    self.logged_during(svc, attempt_wall, last.request.as_ref()).await
                }
                _ => None,
            };
            // Behind a reverse proxy, the app that failed is not the service the
            // check spoke to: another service's traceback for this very request
            // names the cause, and its log is the evidence.
            if said.is_none()
                && last.status.is_failure()
                && last.server_failed
                && let Some(request) = &last.request
                && let Some((upstream, found)) = self.logged_for(request, service.as_deref(), attempt_wall).await
            {
                logs = self.log_tail(&upstream).await;
                service = Some(upstream);
                said = Some(found);
            }
            // The evidence behind a quote: the request's own traceback, when the
            // log ties one to it (the tail may have been read before it was
            // written, or end with another request's).
            let logged = said.as_ref().and_then(|s| s.traceback.clone());
            if last.status.is_failure()
                && let (Some(svc), Some(logged::Said { quote, .. })) = (&service, said)
                && !message.as_deref().is_some_and(|m| logged::already_said(m, &quote))
            {
                let note = logged::note(svc, &quote);
                message = Some(message.map_or_else(|| note.clone(), |m| format!("{m} — {note}")));
            }
            let result = CheckResult {
                name: check.name.clone(),
                kind: check.kind().to_string(),
                location: check.location.clone(),
                status: last.status,
                message,
                evidence: last.evidence.clone(),
                attempts: if attempts.len() > 1 { attempts } else { Vec::new() },
                started_ms: Some(self.offset(started)),
                duration_ms: millis(started.elapsed()),
                service,
                logged,
                logs,
                metrics: last.metrics.clone(),
                cases: last.cases.clone(),
            };
            (result, last.captured)
        })
    }

    async fn attempt_with_timeout(&self, gate: &str, check: &Check, captures: &Captures) -> AttemptOutcome {
        let started = Instant::now();
        // A fault bounds itself (its recovery window); others get the check's timeout.
        if let CheckSpec::Fault(_) = &check.spec {
            let mut o = self.fault(gate, check, captures).await;
            o.duration = started.elapsed();
            return o;
        }
        // A listener bounds itself: its connection by the timeout, its wait by `within`.
        if check.spec.listen().is_some() {
            let mut o = self.listen(gate, check, captures).await;
            o.duration = started.elapsed();
            return o;
        }
        match tokio::time::timeout(check.timeout, self.attempt(check, captures)).await {
            Ok(mut o) => {
                o.duration = started.elapsed();
                o
            }
            Err(_) => AttemptOutcome {
                status: Status::TimedOut,
                message: Some(format!(
                    "no result within {} (the check's timeout)",
                    checkpoint_model::duration::human(millis(check.timeout))
                )),
                evidence: None,
                captured: Vec::new(),
                metrics: None,
                cases: Vec::new(),
                duration: started.elapsed(),
                service: None,
                server_failed: true,
                request: None,
            },
        }
    }

    fn expand_spec(&self, check: &Check, captures: &Captures) -> Result<CheckSpec, Box<AttemptOutcome>> {
        // An endpoint the target could not resolve: say why, once.
        // Directly or through `vars:` (`${API}` → `http://${service.api.8000}`):
        // "variable `API` is not set" would read like a mistake in the file.
        for (svc, port) in self.endpoints_of(check) {
            let name = format!("service.{svc}.{port}");
            if let Some(err) = self.vars.endpoint_errors.get(&name) {
                return Err(Box::new(outcome(Status::Errored, format!("cannot resolve `${{{name}}}`: {err}"), None)));
            }
        }
        let lookup = self.vars.with(captures);
        check.spec.expand(&lookup).map_err(|e| {
            // A var built from an endpoint that could not be resolved: say why.
            let why = self
                .vars
                .endpoint_errors
                .iter()
                .find(|(name, _)| e.message.contains(&format!("`{name}`")))
                .map_or(e.message.clone(), |(name, err)| format!("cannot resolve `${{{name}}}`: {err}"));
            Box::new(outcome(Status::Errored, why, None))
        })
    }

    /// Credentials a request sent (`Authorization`, `Cookie`, `X-…-Key`
    /// headers) and cookies a response set become secrets of the run.
    fn learn_secrets(&self, spec: &CheckSpec, obs: &Observation) {
        if let Some(headers) = spec.headers() {
            for (name, value) in headers {
                let lower = name.to_ascii_lowercase();
                let credential = lower.ends_with("authorization")
                    || lower == "cookie"
                    || (lower.starts_with("x-") && is_secret_source(&lower.replace('-', "_")))
                    || lower.contains("api-key");
                if credential {
                    let v = value.as_str();
                    // `Bearer xyz`: the token alone is the secret.
                    self.ctx.secrets.add(v.rsplit(' ').next().unwrap_or(v));
                    for pair in v.split(';') {
                        if let Some((_, cv)) = pair.split_once('=') {
                            self.ctx.secrets.add(cv.trim());
                        }
                    }
                }
            }
        }
        if let Some(set) = obs.fields.get("headers").and_then(|h| h.get("set-cookie")).and_then(Value::as_str) {
            // Several Set-Cookie headers are joined with ", " by the http kind.
            for cookie in set.split(", ") {
                if let Some((_, rest)) = cookie.split_once('=') {
                    self.ctx.secrets.add(rest.split(';').next().unwrap_or("").trim());
                }
            }
        }
    }

    /// The `service.NAME.PORT` endpoints a check's spec uses, through `vars:` too.
    fn endpoints_of(&self, check: &Check) -> std::collections::BTreeSet<(String, u16)> {
        let mut ts = Vec::new();
        check.spec.templates(&mut ts);
        let ts: Vec<Template> = ts.into_iter().filter_map(Result::ok).collect();
        self.vars.service_refs(&ts)
    }

    /// The services a check concerns: its `service:` (explicit or inferred)
    /// and those behind the endpoints it uses.
    fn services_of(&self, check: &Check) -> Vec<String> {
        let mut out: Vec<String> = check.service.iter().cloned().collect();
        for (svc, _) in self.endpoints_of(check) {
            if !out.contains(&svc) {
                out.push(svc);
            }
        }
        out
    }

    /// The error `service` logged from `since` on for `request` (when the
    /// log ties errors to requests, another check's is not this one's), if
    /// it logged one. A server may write its traceback just after it sent
    /// the 500 (uvicorn does), and the engine delivers log lines a moment
    /// later: a log with no error yet is read twice more, 250 ms apart.
    async fn logged_during(
        &self,
        service: &str,
        since: SystemTime,
        request: Option<&logged::Request>,
    ) -> Option<logged::Said> {
        for round in 0..3 {
            if round > 0 {
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            let log = self.ctx.target.logs_since(service, since, logged::WINDOW_LINES).await.ok()?;
            if let Some(said) = logged::said_of(&log, request) {
                return Some(said);
            }
        }
        None
    }

    async fn log_tail(&self, service: &str) -> Option<String> {
        self.ctx.target.logs_tail(service, LOG_TAIL_LINES).await.ok().filter(|l| !l.trim().is_empty())
    }

    /// The service of the stack, other than `except`, whose log from `since`
    /// on ties a traceback to `request` (the app behind a proxy), with it.
    async fn logged_for(
        &self,
        request: &logged::Request,
        except: Option<&str>,
        since: SystemTime,
    ) -> Option<(String, logged::Said)> {
        crate::server_log::tied(self.ctx.target.as_ref(), since, &[request], except, false).await.pop().flatten()
    }

    /// Causes first: when a check did not pass and a service it concerns is
    /// down, unhealthy, restarting or had an incident since ready, that is the
    /// reason, before the symptom the check saw. `None` when they are all fine
    /// (or the target cannot tell).
    async fn cause(&self, check: &Check) -> Option<String> {
        let concerned = self.services_of(check);
        if concerned.is_empty() {
            return None;
        }
        let services = self.ctx.target.services().await.ok()?;
        let incidents = self.ctx.target.incidents().await;
        let mut causes = Vec::new();
        for name in &concerned {
            let mut now = services.iter().filter(|s| s.name == *name || s.name.starts_with(&format!("{name}#")));
            if let Some(problem) = now.find_map(ServiceReport::problem) {
                causes.push(problem);
            } else if let Some(i) = incidents.iter().rev().find(|i| i.service == *name) {
                causes.push(i.headline());
            }
        }
        (!causes.is_empty()).then(|| causes.join("; "))
    }

    async fn attempt(&self, check: &Check, captures: &Captures) -> AttemptOutcome {
        let spec = match self.expand_spec(check, captures) {
            Ok(s) => s,
            Err(o) => return *o,
        };
        let observed = kinds::observe(&spec, &self.ctx, check.timeout).await;
        if let Ok(obs) = &observed {
            self.learn_secrets(&spec, obs);
        }
        let mut o = match observed {
            Ok(obs) => self.judge(check, &kinds::default_expectations(&spec), &obs, captures),
            Err(e) => from_error(e),
        };
        if let CheckSpec::Http(h) = &spec {
            o.request = Some(logged::Request::new(h.method.as_deref().unwrap_or("GET"), &h.url));
        }
        o
    }

    fn judge(
        &self,
        check: &Check,
        kind_defaults: &[(&'static str, checkpoint_model::matcher::Matcher)],
        obs: &Observation,
        captures: &Captures,
    ) -> AttemptOutcome {
        let lookup = self.vars.with(captures);
        let evidence = Some(obs.evidence.clone()).filter(|e| !e.is_empty());
        match expect::evaluate(check, kind_defaults, obs, &lookup) {
            Ok(()) => match expect::captures(check, obs) {
                Ok(captured) => AttemptOutcome {
                    status: Status::Passed,
                    message: None,
                    evidence,
                    captured,
                    metrics: obs.metrics.clone(),
                    cases: obs.cases.clone(),
                    duration: Duration::ZERO,
                    service: None,
                    server_failed: false,
                    request: None,
                },
                Err(msg) => {
                    let mut o = outcome(Status::Failed, msg, evidence);
                    o.cases = obs.cases.clone();
                    o.service = obs.service.clone();
                    o.server_failed = obs.server_failed;
                    o
                }
            },
            Err((first, all)) => {
                // Expectations on a body too large to read could not be judged: an error, not a failure.
                let unjudged = first.contains("raise `max_body:`");
                let mut ev = evidence.unwrap_or_default();
                if all.len() > 1 {
                    ev = format!("{} expectations failed:\n- {}\n\n{ev}", all.len(), all.join("\n- "));
                }
                let mut o = outcome(if unjudged { Status::Errored } else { Status::Failed }, first, Some(ev));
                o.metrics = obs.metrics.clone();
                o.cases = obs.cases.clone();
                o.service = obs.service.clone();
                o.server_failed = obs.server_failed;
                o
            }
        }
    }

    /// A stopped and restarted container gets new published ports: look them up again.
    async fn refresh_endpoints(&self, service: &str) {
        let prefix = format!("service.{service}.");
        let keys: Vec<String> = match self.vars.endpoints.read() {
            Ok(m) => m.keys().filter(|k| k.starts_with(&prefix)).cloned().collect(),
            Err(_) => return,
        };
        for key in keys {
            let Some((svc, port)) = interp::parse_service_ref(&key) else { continue };
            // The container may take a moment to publish its port again.
            for _ in 0..20 {
                if let Ok(addr) = self.ctx.target.endpoint(&svc, port).await {
                    if let Ok(mut m) = self.vars.endpoints.write() {
                        m.insert(key.clone(), addr);
                    }
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        }
    }

    /// Connect → run `during` → wait `within` the window for messages matching `wait_for`.
    async fn listen(&self, gate: &str, check: &Check, captures: &Captures) -> AttemptOutcome {
        let spec = match self.expand_spec(check, captures) {
            Ok(s) => s,
            Err(o) => return *o,
        };
        let Some(settings) = spec.listen() else {
            return outcome(Status::Errored, format!("`{}` does not listen", check.name), None);
        };
        let wait_for = match settings.matchers() {
            Ok(m) => m,
            Err(e) => return outcome(Status::Errored, e, None),
        };
        let (wanted, window, looking_for) = (settings.wanted(), settings.window(), settings.describe());
        let window_text = settings.window_text();
        let started = Instant::now();
        let mut listener = match tokio::time::timeout(check.timeout, kinds::listen::Listener::open(&spec)).await {
            Ok(Ok(l)) => l,
            Ok(Err(e)) => return from_error(e),
            Err(_) => {
                let timeout = checkpoint_model::duration::human(millis(check.timeout));
                return outcome(
                    Status::TimedOut,
                    format!("could not connect within {timeout} (the check's timeout)"),
                    None,
                );
            }
        };
        let what = listener.what();
        let mut during_log = String::new();
        let mut first_problem: Option<(Status, String)> = None;
        for c in &check.during {
            let (r, _) = self.run_check(gate, c, captures, None).await;
            let said = r.message.as_deref().map(|m| format!(" {m}")).unwrap_or_default();
            during_log.push_str(&format!("during: {} {}{said}\n", r.status.emoji(), c.name));
            if !r.status.is_pass() && first_problem.is_none() {
                let status = if r.status == Status::Cancelled { Status::Cancelled } else { Status::Failed };
                first_problem = Some((
                    status,
                    format!("while listening on {what}, `{}`: {}", c.name, r.message.unwrap_or_default()),
                ));
            }
        }
        if first_problem.is_none() {
            let until = Instant::now() + window;
            let count = |messages: &[serde_json::Value]| {
                messages.iter().filter(|m| kinds::listen::matches(m, &wait_for)).count()
            };
            tokio::select! {
                () = self.ctx.cancel.cancelled() => {}
                () = listener.read(until, |messages| count(messages) >= wanted) => {}
            }
        }
        listener.close().await;
        let received = listener.received();
        let matching: Vec<&serde_json::Value> =
            received.iter().filter(|m| kinds::listen::matches(m, &wait_for)).collect();
        let mut evidence = listener.transcript();
        if !during_log.is_empty() {
            evidence = format!("{during_log}{evidence}");
        }
        if let Some((status, message)) = first_problem {
            return outcome(status, message, Some(evidence));
        }
        let mut obs =
            Observation { document: matching.first().map(|m| (*m).clone()), evidence, ..Observation::default() }
                .field("messages", matching.len())
                .field("received", received.len())
                .duration(started.elapsed());
        if let Some(code) = listener.close_code() {
            obs = obs.field("close_code", code);
        }
        // Unless the check judges the count itself (`expect: { messages: 0 }` for silence).
        if matching.len() < wanted && !check.expect.iter().any(|e| e.field == "messages") {
            let n = received.len();
            obs.problems.push(format!(
                "{what}: {} matching {looking_for} within {} ({n} message{} received)",
                if matching.is_empty() {
                    "no message".to_string()
                } else {
                    format!("{} of {wanted} messages", matching.len())
                },
                window_text,
                if n == 1 { "" } else { "s" },
            ));
        }
        self.learn_secrets(&spec, &obs);
        self.judge(check, &[], &obs, captures)
    }

    /// Why the run was cancelled, as a check's outcome.
    fn cancelled_outcome(&self, evidence: Option<String>) -> AttemptOutcome {
        let why = self.ctx.cancel_reason.get().map_or_else(|| "interrupted".into(), CancelReason::message);
        outcome(Status::Cancelled, why, evidence)
    }

    /// Break → observe (`during`) → restore → recover (`after`, retried).
    async fn fault(&self, gate: &str, check: &Check, captures: &Captures) -> AttemptOutcome {
        let spec = match self.expand_spec(check, captures) {
            Ok(s) => s,
            Err(o) => return *o,
        };
        let CheckSpec::Fault(spec) = spec else {
            return outcome(Status::Errored, format!("`{}` is not a fault", check.name), None);
        };
        let plan = match kinds::fault::plan(spec) {
            Ok(p) => p,
            Err(e) => return from_error(e),
        };
        let svc = plan.spec.service.clone();
        let net = plan.spec.network.clone();
        let mut evidence = format!(
            "fault: {} `{svc}`{}\n",
            plan.spec.action,
            net.as_ref().map(|n| format!(" from network `{n}`")).unwrap_or_default()
        );
        if self.ctx.cancel.is_cancelled() {
            return self.cancelled_outcome(Some(evidence));
        }
        // The check's timeout bounds each Docker action; the break and the restore are one
        // action each, whatever `recover_within` says about the service coming back.
        let limit = check.timeout.max(FAULT_ACTION_FLOOR);
        let limit_text = checkpoint_model::duration::human(millis(limit));
        match tokio::time::timeout(limit, self.ctx.target.fault(&svc, plan.action, net.as_deref())).await {
            Ok(Ok(())) => {}
            Ok(Err(TargetError::Unsupported(m))) => return outcome(Status::Skipped, m, None),
            Ok(Err(TargetError::Failed(m))) => {
                return outcome(
                    Status::Errored,
                    format!("could not {} `{svc}`: {m}", plan.spec.action),
                    Some(evidence),
                );
            }
            Err(_) => {
                // It may have happened after all: undo it, bounded too.
                let _ = tokio::time::timeout(limit, self.ctx.target.restore(&svc, plan.action, net.as_deref())).await;
                return outcome(
                    Status::TimedOut,
                    format!("could not {} `{svc}` within {limit_text} (the check's timeout)", plan.spec.action),
                    Some(evidence),
                );
            }
        }
        let mut first_problem: Option<(Status, String)> = None;
        for c in &check.during {
            if self.ctx.cancel.is_cancelled() {
                break;
            }
            let (r, _) = self.run_check(gate, c, captures, None).await;
            evidence.push_str(&fault_step("during", &c.name, &r));
            if !r.status.is_pass() && first_problem.is_none() {
                first_problem = Some((
                    r.status,
                    format!("while `{svc}` was down, `{}`: {}", c.name, r.message.unwrap_or_default()),
                ));
            }
        }
        let restored_at = Instant::now();
        match tokio::time::timeout(limit, self.ctx.target.restore(&svc, plan.action, net.as_deref())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                return outcome(Status::Errored, format!("could not restore `{svc}`: {e}"), Some(evidence));
            }
            Err(_) => {
                return outcome(
                    Status::Errored,
                    format!("could not restore `{svc}` within {limit_text} (the check's timeout)"),
                    Some(evidence),
                );
            }
        }
        evidence.push_str(&format!("restored `{svc}`\n"));
        if self.ctx.cancel.is_cancelled() {
            return self.cancelled_outcome(Some(evidence));
        }
        self.refresh_endpoints(&svc).await;
        let window = Retry { until: plan.recover_within, every: Duration::from_secs(1) };
        let mut recovered_in = Duration::ZERO;
        for c in &check.after {
            let (r, _) = self.run_check(gate, c, captures, Some(window)).await;
            recovered_in = restored_at.elapsed();
            evidence.push_str(&fault_step("after", &c.name, &r));
            if !r.status.is_pass() && first_problem.is_none() {
                first_problem = Some((
                    r.status,
                    format!(
                        "`{svc}` did not recover within {}: `{}`: {}",
                        checkpoint_model::duration::human(millis(plan.recover_within)),
                        c.name,
                        r.message.unwrap_or_default()
                    ),
                ));
            }
        }
        evidence.push_str(&format!("recovered in {}\n", checkpoint_model::duration::human(millis(recovered_in))));
        let metrics = Some(serde_json::json!({ "recovery_ms": millis(recovered_in) }));
        if let Some((status, msg)) = first_problem {
            let status = if status == Status::Cancelled { Status::Cancelled } else { Status::Failed };
            let mut o = outcome(status, msg, Some(evidence));
            o.metrics = metrics;
            o
        } else {
            let obs = Observation { evidence, metrics, ..Observation::default() }.duration(recovered_in);
            self.judge(check, &[], &obs, captures)
        }
    }
}

/// The least time a fault's break or restore may take, whatever the check's timeout: Docker
/// stops a container within its grace period (10 s by default) before killing it.
const FAULT_ACTION_FLOOR: Duration = Duration::from_secs(30);

/// A line of a fault check's evidence: a `during:` or `after:` check, its status and message.
fn fault_step(phase: &str, name: &str, r: &CheckResult) -> String {
    format!("{phase}: {} {name} {}\n", r.status.emoji(), r.message.as_deref().unwrap_or_default())
}

fn outcome(status: Status, message: String, evidence: Option<String>) -> AttemptOutcome {
    AttemptOutcome {
        status,
        message: Some(message),
        evidence,
        captured: Vec::new(),
        metrics: None,
        cases: Vec::new(),
        duration: Duration::ZERO,
        service: None,
        server_failed: false,
        request: None,
    }
}

fn from_error(e: ObserveError) -> AttemptOutcome {
    match e {
        ObserveError::Failed { message, evidence } => {
            let mut o = outcome(Status::Failed, message, Some(evidence).filter(|e| !e.is_empty()));
            o.server_failed = true;
            o
        }
        ObserveError::Errored(m) => outcome(Status::Errored, m, None),
        ObserveError::Unsupported(m) => outcome(Status::Skipped, m, None),
    }
}
