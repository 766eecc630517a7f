//! Readiness: when is the stack ready, and when is it certain it never will be.
//!
//! The engine is watched, not slept on. Before the first look, an event
//! subscription filtered on the project label is opened with `since` set a
//! moment in the past, so the daemon replays anything that happens before the
//! request lands: no window between "looked" and "subscribed". Every
//! `start`/`die`/`oom`/`restart`/`health_status`/… event triggers a sweep (list
//! the project's containers, inspect each); a sweep also runs every second in
//! case the event stream breaks.
//!
//! A service is ready when every one of its containers is:
//! - **with a healthcheck**: `healthy`;
//! - **without one**: running for at least a second (a process that dies at
//!   once is not counted as up);
//! - **a one-shot**: exited with code 0 and not restarting;
//! - and, when a ready port is configured, that port accepts TCP through its
//!   published host port (and something answers behind docker-proxy, which
//!   accepts every connection and closes it when nothing listens inside).
//!
//! It fails **at once**, not at the deadline, when a container is `unhealthy`,
//! exited with a non-zero code (and will not be restarted), was OOM-killed, is
//! dead, or is in a crash loop (restarted at least twice). One restart is
//! tolerated: `restart: on-failure` while a dependency comes up is a common
//! idiom, and a real crash loop reaches its second restart within a second
//! (the engine's backoff starts at 100 ms).
//!
//! The failure, [`NotReady`], has a one-line reason and, per service that was
//! not ready, its state, last health-check outputs and last log lines.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::Docker;
use bollard::models::{ContainerStateStatusEnum as Status, EventMessage, HealthStatusEnum};
use bollard::query_parameters::EventsOptionsBuilder;
use futures::StreamExt;
use indexmap::IndexMap;
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use crate::docker_api::{self, Container};
use crate::error::StackError;
use crate::stack::{Inner, StackProgress};

/// Sweep at least this often, whatever the events say.
const POLL: Duration = Duration::from_secs(1);
/// A service without a healthcheck must have been running this long.
const SETTLE: Duration = Duration::from_secs(1);
/// Log lines kept per service in a [`NotReady`].
const LOG_LINES: usize = 30;
/// Health-check results kept per service in a [`NotReady`].
const HEALTH_RESULTS: usize = 5;
/// Events that can change a container's readiness.
const EVENTS: [&str; 11] =
    ["create", "start", "restart", "die", "oom", "kill", "stop", "pause", "unpause", "destroy", "health_status"];

/// The stack is ready.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadyReport {
    /// From the start of `wait_ready` until every service was ready.
    pub elapsed: Duration,
    /// Each service, in the order it became ready.
    pub services: Vec<ServiceReady>,
    /// Engine events followed while waiting (0: the stream broke and readiness was polled).
    pub events: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ServiceReady {
    pub service: String,
    /// `healthy`, `running`, `exited 0`, `running, port 8080 open`.
    pub how: String,
    /// Since the start of `wait_ready`.
    pub after: Duration,
}

/// Why the stack is not ready. [`std::fmt::Display`] is the one-line reason;
/// [`NotReady::details`] adds the per-service evidence.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct NotReady {
    pub kind: NotReadyKind,
    /// The service that failed (the first still pending, for a timeout).
    pub service: Option<String>,
    /// One line: "`api` is in a crash loop: exited with code 1, restarted 3 times".
    pub reason: String,
    pub elapsed: Duration,
    /// Every service that was not ready, the failing one first.
    pub services: Vec<ServiceDiagnosis>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotReadyKind {
    /// Its healthcheck reports `unhealthy`.
    Unhealthy,
    /// Exited with a non-zero code and will not be restarted (or is dead).
    Exited,
    /// Restarted at least twice.
    CrashLoop,
    /// Killed for running out of memory.
    OutOfMemory,
    /// The stack cannot be judged as configured (a ready port is not published,
    /// an attached project has no containers).
    Misconfigured,
    /// The deadline passed.
    TimedOut,
    /// The cancellation token fired.
    Cancelled,
    /// The Docker engine could not be reached.
    Engine,
}

/// The evidence for one service that was not ready.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ServiceDiagnosis {
    pub service: String,
    /// `exited with code 1`, `running, health: starting`, `no container`.
    pub state: String,
    /// The last health-check results, oldest first: `exit 1: connection refused`.
    pub health_checks: Vec<String>,
    /// The last lines of its log (stdout and stderr).
    pub log_tail: String,
}

impl NotReady {
    fn new(kind: NotReadyKind, service: Option<String>, reason: String, elapsed: Duration) -> Self {
        Self { kind, service, reason, elapsed, services: Vec::new() }
    }

    /// With the evidence of each service, the failed one first; the reason
    /// then quotes the error that service logged last, if any
    /// ("`migrate` exited with code 1 — `migrate` logged "…UndefinedColumn…"").
    pub(crate) fn diagnosed(mut self, services: Vec<ServiceDiagnosis>) -> Self {
        if let Some(d) = services.first()
            && let Some(quote) = checkpoint_model::logged::last_error(&d.log_tail)
            && !checkpoint_model::logged::already_said(&self.reason, &quote)
        {
            self.reason = format!("{} — {}", self.reason, checkpoint_model::logged::note(&d.service, &quote));
        }
        self.services = services;
        self
    }

    /// The same, as the result model's type every report renders.
    pub fn to_report(&self) -> checkpoint_model::result::NotReadyReport {
        checkpoint_model::result::NotReadyReport {
            reason: self.reason.clone(),
            elapsed_ms: self.elapsed.as_secs_f64() * 1000.0,
            services: self
                .services
                .iter()
                .map(|d| checkpoint_model::result::ServiceDiagnosis {
                    service: d.service.clone(),
                    state: d.state.clone(),
                    health_checks: d.health_checks.clone(),
                    log_tail: d.log_tail.clone(),
                })
                .collect(),
        }
    }

    /// The reason, then per service its state, health checks and log tail.
    pub fn details(&self) -> String {
        let mut out = self.reason.clone();
        for d in &self.services {
            out.push_str(&format!("\n\n{}: {}", d.service, d.state));
            if !d.health_checks.is_empty() {
                out.push_str("\n  last health checks:");
                for h in &d.health_checks {
                    out.push_str(&format!("\n    {h}"));
                }
            }
            let log = d.log_tail.trim_end();
            if log.is_empty() {
                out.push_str("\n  (no log output)");
            } else {
                out.push_str(&format!("\n  last {} log lines:", log.lines().count()));
                for line in log.lines() {
                    out.push_str(&format!("\n    {line}"));
                }
            }
        }
        out
    }
}

/// `db (starting), api (no container yet)`.
pub(crate) fn describe_pending(pending: &[(String, String)]) -> String {
    pending.iter().map(|(s, what)| format!("{s} ({what})")).collect::<Vec<_>>().join(", ")
}

fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if (s - s.round()).abs() < 0.05 { format!("{}s", s.round()) } else { format!("{s:.1}s") }
}

#[derive(Clone, Debug, PartialEq)]
enum Judgement {
    Ready(String),
    /// Not yet; `recheck` asks for an earlier sweep than the poll interval.
    Waiting {
        what: String,
        recheck: Option<Duration>,
    },
    Fatal(NotReadyKind, String),
}

fn waiting(what: impl Into<String>) -> Judgement {
    Judgement::Waiting { what: what.into(), recheck: None }
}

/// What the events told that an inspect may no longer show.
#[derive(Default)]
struct Memory {
    /// Last exit code per container id, from `die` events (a restarted
    /// container's inspect shows 0 again).
    exit_codes: HashMap<String, i64>,
    /// Containers an `oom` event was seen for.
    oom: HashSet<String>,
    /// When a container was first seen running, per (id, StartedAt).
    first_running: HashMap<(String, String), Instant>,
    events: usize,
}

impl Memory {
    fn record(&mut self, ev: &EventMessage) {
        self.events += 1;
        let Some(actor) = &ev.actor else { return };
        let Some(id) = &actor.id else { return };
        match ev.action.as_deref() {
            Some("die") => {
                if let Some(code) =
                    actor.attributes.as_ref().and_then(|a| a.get("exitCode")).and_then(|c| c.parse().ok())
                {
                    self.exit_codes.insert(id.clone(), code);
                }
            }
            Some("oom") => {
                self.oom.insert(id.clone());
            }
            _ => {}
        }
    }
}

pub(crate) fn signal_hint(code: i64) -> &'static str {
    match code {
        137 => " (SIGKILL)",
        143 => " (SIGTERM)",
        139 => " (SIGSEGV)",
        134 => " (SIGABRT)",
        _ => "",
    }
}

fn first_line(s: &str, max: usize) -> String {
    let line = s.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

fn last_health_check(c: &Container) -> Option<String> {
    let last = c.inspect.state.as_ref()?.health.as_ref()?.log.as_ref()?.last()?;
    let code = last.exit_code.unwrap_or(-1);
    let output = first_line(last.output.as_deref().unwrap_or(""), 160);
    Some(if output.is_empty() {
        format!("last check exited {code}")
    } else {
        format!("last check exited {code}: {output}")
    })
}

/// One container's readiness, from its inspect and the event memory.
fn judge(c: &Container, one_shot: bool, memory: &mut Memory, now: Instant) -> Judgement {
    let svc = &c.service;
    let state = c.inspect.state.clone().unwrap_or_default();
    let restarts = c.restarts();
    let oom = state.oom_killed == Some(true) || memory.oom.contains(&c.id);
    let last_exit = memory.exit_codes.get(&c.id).copied().or(state.exit_code.filter(|&x| x != 0));
    if restarts >= 2 {
        let how = match (oom, last_exit) {
            (true, _) => "killed for running out of memory".to_string(),
            (false, Some(code)) => format!("exited with code {code}{}", signal_hint(code)),
            (false, None) => "exited".to_string(),
        };
        return Judgement::Fatal(
            NotReadyKind::CrashLoop,
            format!("`{svc}` is in a crash loop: {how}, restarted {restarts} times"),
        );
    }
    let status = state.status.unwrap_or(Status::EMPTY);
    if oom && status != Status::RUNNING {
        return Judgement::Fatal(
            NotReadyKind::OutOfMemory,
            format!("`{svc}` was killed for running out of memory (OOM, exit code {})", state.exit_code.unwrap_or(137)),
        );
    }
    match status {
        // A one-shot (a migration) is ready when it has exited 0: until then
        // the services that need its work would fail for a reason that is not theirs.
        Status::RUNNING if one_shot => return waiting("running; a one-shot: waiting for it to exit"),
        Status::RUNNING => {}
        Status::EXITED => {
            let code = state.exit_code.unwrap_or(-1);
            if code == 0 {
                return Judgement::Ready("exited 0".into());
            }
            let error = state.error.as_deref().filter(|e| !e.is_empty()).map(|e| format!(": {}", first_line(e, 200)));
            return Judgement::Fatal(
                NotReadyKind::Exited,
                format!("`{svc}` exited with code {code}{}{}", signal_hint(code), error.unwrap_or_default()),
            );
        }
        Status::DEAD => {
            let error = state.error.as_deref().filter(|e| !e.is_empty()).unwrap_or("the engine marked it dead");
            return Judgement::Fatal(NotReadyKind::Exited, format!("`{svc}` is dead: {}", first_line(error, 200)));
        }
        Status::RESTARTING => {
            return waiting(match last_exit {
                Some(code) => format!("restarting after exit code {code}"),
                None => "restarting".into(),
            });
        }
        Status::CREATED => return waiting("created, not started"),
        Status::PAUSED => return waiting("paused"),
        Status::REMOVING => return waiting("being removed"),
        other => return waiting(other.to_string()),
    }
    match state.health.as_ref().and_then(|h| h.status) {
        Some(HealthStatusEnum::HEALTHY) => Judgement::Ready("healthy".into()),
        Some(HealthStatusEnum::STARTING) => waiting("starting"),
        Some(HealthStatusEnum::UNHEALTHY) => Judgement::Fatal(
            NotReadyKind::Unhealthy,
            format!("`{svc}` is unhealthy{}", last_health_check(c).map(|h| format!(" ({h})")).unwrap_or_default()),
        ),
        _ => {
            let key = (c.id.clone(), state.started_at.clone().unwrap_or_default());
            let since = *memory.first_running.entry(key).or_insert(now);
            let up = now.saturating_duration_since(since);
            if up >= SETTLE {
                Judgement::Ready("running".into())
            } else {
                Judgement::Waiting { what: "just started".into(), recheck: Some(SETTLE.checked_sub(up).unwrap()) }
            }
        }
    }
}

/// Whether something accepts connections at `addr`. Through docker-proxy a
/// connect always succeeds; the proxy then closes it at once when nothing
/// listens in the container, so an immediate EOF counts as closed.
pub(crate) async fn tcp_accepts(addr: &str) -> bool {
    let Ok(Ok(mut stream)) = tokio::time::timeout(Duration::from_secs(1), tokio::net::TcpStream::connect(addr)).await
    else {
        return false;
    };
    let mut buf = [0u8; 1];
    match tokio::time::timeout(Duration::from_millis(300), stream.read(&mut buf)).await {
        Err(_) => true,
        Ok(Ok(n)) => n > 0,
        Ok(Err(_)) => false,
    }
}

/// The readiness of one service over its containers: any fatal container
/// makes it fatal, any waiting one keeps it waiting.
async fn judge_service(
    service: &str,
    containers: &[&Container],
    ready_port: Option<u16>,
    one_shot: bool,
    memory: &mut Memory,
    now: Instant,
) -> Judgement {
    if containers.is_empty() {
        return waiting("no container yet");
    }
    let mut verdicts = Vec::with_capacity(containers.len());
    for c in containers {
        let mut j = judge(c, one_shot, memory, now);
        if let (Judgement::Ready(how), Some(port)) = (&j, ready_port)
            && c.is_running()
        {
            j = match c.published(port) {
                None => Judgement::Fatal(
                    NotReadyKind::Misconfigured,
                    format!(
                        "`{service}` does not publish port {port}, which its ready probe needs; add `ports: [\"{port}\"]` to the compose file"
                    ),
                ),
                Some(addr) if tcp_accepts(&addr).await => Judgement::Ready(format!("{how}, port {port} open")),
                Some(_) => waiting(format!("{how}, port {port} not accepting connections yet")),
            };
        }
        verdicts.push(j);
    }
    if let Some(fatal) = verdicts.iter().find(|j| matches!(j, Judgement::Fatal(..))) {
        return fatal.clone();
    }
    if let Some(w) = verdicts.iter().find(|j| matches!(j, Judgement::Waiting { .. })) {
        return w.clone();
    }
    verdicts.swap_remove(0)
}

struct Sweep {
    /// Every service, expected ones first, with its judgement.
    judged: Vec<(String, Judgement)>,
    containers: Vec<Container>,
}

async fn sweep(docker: &Docker, inner: &Inner, memory: &mut Memory) -> Result<Sweep, bollard::errors::Error> {
    let containers = docker_api::project_containers(docker, &inner.opts.project, false).await?;
    let now = Instant::now();
    let mut services: IndexMap<String, Vec<&Container>> =
        inner.expected_services().into_iter().map(|s| (s, Vec::new())).collect();
    for c in &containers {
        services.entry(c.service.clone()).or_default().push(c);
    }
    let mut judged = Vec::with_capacity(services.len());
    if inner.attached && containers.is_empty() {
        let p = &inner.opts.project;
        judged.push((
            String::new(),
            Judgement::Fatal(
                NotReadyKind::Misconfigured,
                format!("project `{p}` has no containers; is it running under that name (`-p {p}`)?"),
            ),
        ));
    }
    for (service, cs) in &services {
        let port = inner.opts.ready_ports.get(service).copied();
        let j = judge_service(service, cs, port, inner.is_one_shot(service), memory, now).await;
        judged.push((service.clone(), j));
    }
    Ok(Sweep { judged, containers })
}

/// The loop behind [`crate::ComposeStack::wait_ready`].
pub(crate) async fn wait_ready(
    inner: &Inner,
    cancel: &CancellationToken,
    progress: &(dyn Fn(StackProgress) + Send + Sync),
) -> Result<ReadyReport, NotReady> {
    let start = Instant::now();
    let deadline = tokio::time::Instant::from_std(start + inner.opts.ready_timeout);
    let cancelled = |pending: &[(String, String)]| {
        let reason = if pending.is_empty() {
            "cancelled while waiting for the stack to be ready".to_string()
        } else {
            format!("cancelled while waiting for {}", describe_pending(pending))
        };
        NotReady::new(NotReadyKind::Cancelled, pending.first().map(|p| p.0.clone()), reason, start.elapsed())
    };

    let docker = tokio::select! {
        biased;
        () = cancel.cancelled() => return Err(cancelled(&[])),
        d = inner.docker() => d.map_err(|e| engine_failure(&e, start))?,
    };

    // Subscribe before the first sweep; `since` one second back makes the
    // daemon replay whatever happens before the request reaches it.
    let since = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()).saturating_sub(1);
    let mut filters = docker_api::project_filter(&inner.opts.project);
    filters.insert("type".into(), vec!["container".into()]);
    filters.insert("event".into(), EVENTS.iter().map(|e| (*e).to_string()).collect());
    let mut events =
        docker.events(Some(EventsOptionsBuilder::new().since(&since.to_string()).filters(&filters).build())).boxed();
    let mut events_alive = true;

    let mut memory = Memory::default();
    let mut ready: IndexMap<String, ServiceReady> = IndexMap::new();
    let mut pending: Vec<(String, String)> = Vec::new();
    let mut last_progress: Option<Instant> = None;
    let mut engine_error: Option<String> = None;
    let mut last_containers: Vec<Container> = Vec::new();

    loop {
        let result = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(cancelled(&pending)),
            () = tokio::time::sleep_until(deadline) => {
                return Err(timed_out(docker, inner, &pending, engine_error.as_deref(), &last_containers, start).await);
            }
            r = sweep(docker, inner, &mut memory) => r,
        };
        let mut recheck = POLL;
        match result {
            // The engine may be restarting: keep trying until the deadline.
            Err(e) => engine_error = Some(docker_api::engine_message(&e)),
            Ok(Sweep { judged, containers }) => {
                engine_error = None;
                last_containers = containers;
                pending.clear();
                for (service, j) in judged {
                    match j {
                        Judgement::Fatal(kind, reason) => {
                            let service = Some(service).filter(|s| !s.is_empty());
                            let err = NotReady::new(kind, service, reason, start.elapsed());
                            let services =
                                diagnose(docker, inner, err.service.as_deref(), &pending, &last_containers).await;
                            return Err(err.diagnosed(services));
                        }
                        Judgement::Ready(how) => {
                            if !ready.contains_key(&service) {
                                let after = start.elapsed();
                                progress(StackProgress::ServiceReady {
                                    service: service.clone(),
                                    how: how.clone(),
                                    elapsed: after,
                                });
                                ready.insert(service.clone(), ServiceReady { service, how, after });
                            }
                        }
                        Judgement::Waiting { what, recheck: soon } => {
                            if let Some(soon) = soon {
                                recheck = recheck.min(soon.max(Duration::from_millis(50)));
                            }
                            ready.shift_remove(&service);
                            pending.push((service, what));
                        }
                    }
                }
                if pending.is_empty() {
                    return Ok(ReadyReport {
                        elapsed: start.elapsed(),
                        services: ready.into_values().collect(),
                        events: memory.events,
                    });
                }
                if last_progress.is_none_or(|t| t.elapsed() >= Duration::from_millis(950)) {
                    last_progress = Some(Instant::now());
                    progress(StackProgress::Waiting { elapsed: start.elapsed(), pending: pending.clone() });
                }
            }
        }

        // Until something happens, the poll interval passes, or it is over.
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(cancelled(&pending)),
            () = tokio::time::sleep_until(deadline) => {
                return Err(timed_out(docker, inner, &pending, engine_error.as_deref(), &last_containers, start).await);
            }
            ev = events.next(), if events_alive => match ev {
                Some(Ok(ev)) => {
                    memory.record(&ev);
                    // Events come in bursts (die, then restart, then start): take
                    // the burst, but judge at most BURST after its last event,
                    // so readiness is declared within ~10 ms of the event
                    // that completes it (it was 50 ms).
                    loop {
                        match tokio::time::timeout(BURST, events.next()).await {
                            Ok(Some(Ok(ev))) => memory.record(&ev),
                            Ok(_) => { events_alive = false; break; }
                            Err(_) => break,
                        }
                    }
                }
                _ => events_alive = false,
            },
            () = tokio::time::sleep(recheck) => {}
        }
    }
}

/// How long a burst of engine events may pause before the stack is judged.
const BURST: Duration = Duration::from_millis(5);

fn engine_failure(e: &StackError, start: Instant) -> NotReady {
    NotReady::new(NotReadyKind::Engine, None, e.to_string(), start.elapsed())
}

async fn timed_out(
    docker: &Docker,
    inner: &Inner,
    pending: &[(String, String)],
    engine_error: Option<&str>,
    containers: &[Container],
    start: Instant,
) -> NotReady {
    let after = seconds(inner.opts.ready_timeout);
    let (kind, reason) = match engine_error {
        Some(e) => (NotReadyKind::Engine, format!("not ready after {after}: the Docker engine does not answer: {e}")),
        None if pending.is_empty() => (NotReadyKind::TimedOut, format!("not ready after {after}")),
        None => (
            NotReadyKind::TimedOut,
            format!("not ready after {after}: still waiting for {}", describe_pending(pending)),
        ),
    };
    let err = NotReady::new(kind, pending.first().map(|p| p.0.clone()), reason, start.elapsed());
    let services = diagnose(docker, inner, None, pending, containers).await;
    err.diagnosed(services)
}

/// Evidence for the failed service and every pending one, bounded in time:
/// the failure must be reported promptly even if the engine is slow.
async fn diagnose(
    docker: &Docker,
    inner: &Inner,
    failed: Option<&str>,
    pending: &[(String, String)],
    containers: &[Container],
) -> Vec<ServiceDiagnosis> {
    let mut services: Vec<(String, Option<String>)> = Vec::new();
    if let Some(f) = failed {
        services.push((f.to_string(), None));
    }
    for (s, what) in pending {
        if Some(s.as_str()) != failed {
            services.push((s.clone(), Some(what.clone())));
        }
    }
    let work = async {
        // The latest state, not the sweep's: a crash loop moves on.
        let fresh = docker_api::project_containers(docker, &inner.opts.project, false).await.ok();
        let mut out = Vec::new();
        for (service, what) in services {
            let cs: Vec<&Container> = containers.iter().filter(|c| c.service == service).collect();
            let mut d = ServiceDiagnosis { service: service.clone(), ..Default::default() };
            if cs.is_empty() {
                d.state = what.unwrap_or_else(|| "no container".into());
                out.push(d);
                continue;
            }
            let mut states = Vec::new();
            for c in &cs {
                let c = fresh.as_ref().and_then(|f| f.iter().find(|f| f.id == c.id)).unwrap_or(c);
                states.push(describe_state(c));
                if let Some(log) = c.inspect.state.as_ref().and_then(|s| s.health.as_ref()).and_then(|h| h.log.as_ref())
                {
                    d.health_checks.extend(log.iter().rev().take(HEALTH_RESULTS).rev().map(|r| {
                        let output = r.output.as_deref().unwrap_or("").trim().replace('\n', " ⏎ ");
                        format!("exit {}: {}", r.exit_code.unwrap_or(-1), first_line(&output, 300))
                    }));
                }
                let log = docker_api::container_logs(docker, &c.id, Some(LOG_LINES), false).await.unwrap_or_default();
                if cs.len() > 1 {
                    d.log_tail.push_str(&format!("==> {} <==\n", c.name));
                }
                d.log_tail.push_str(&log);
            }
            d.state = states.join("; ");
            out.push(d);
        }
        out
    };
    tokio::time::timeout(Duration::from_secs(10), work).await.unwrap_or_default()
}

/// `exited with code 1`, `running, health: starting`, `restarting, restarted 3 times`.
pub(crate) fn describe_state(c: &Container) -> String {
    let state = c.inspect.state.clone().unwrap_or_default();
    let status = state.status.unwrap_or(Status::EMPTY);
    let mut s = match status {
        Status::EXITED => format!("exited with code {}", state.exit_code.unwrap_or(-1)),
        other => other.to_string(),
    };
    if let Some(h) = state
        .health
        .as_ref()
        .and_then(|h| h.status)
        .filter(|h| !matches!(h, HealthStatusEnum::EMPTY | HealthStatusEnum::NONE))
    {
        s.push_str(&format!(", health: {h}"));
    }
    if state.oom_killed == Some(true) {
        s.push_str(", OOM-killed");
    }
    let restarts = c.restarts();
    if restarts > 0 {
        s.push_str(&format!(", restarted {restarts} time{}", if restarts == 1 { "" } else { "s" }));
    }
    s
}

#[cfg(test)]
mod tests {
    use bollard::models::{ContainerInspectResponse, ContainerState, Health, HealthcheckResult};

    use super::*;

    fn container(state: ContainerState, restarts: i64) -> Container {
        Container {
            id: "abc".into(),
            name: "p_api_1".into(),
            service: "api".into(),
            number: 1,
            inspect: ContainerInspectResponse {
                state: Some(state),
                restart_count: Some(restarts),
                ..Default::default()
            },
        }
    }

    fn running(health: Option<HealthStatusEnum>) -> ContainerState {
        ContainerState {
            status: Some(Status::RUNNING),
            running: Some(true),
            started_at: Some("2026-01-01T00:00:00Z".into()),
            health: health.map(|h| Health {
                status: Some(h),
                failing_streak: Some(3),
                log: Some(vec![HealthcheckResult {
                    exit_code: Some(1),
                    output: Some("connection refused\nmore".into()),
                    ..Default::default()
                }]),
            }),
            ..Default::default()
        }
    }

    fn exited(code: i64) -> ContainerState {
        ContainerState { status: Some(Status::EXITED), exit_code: Some(code), ..Default::default() }
    }

    #[test]
    fn healthchecks_decide_when_present() {
        let mut m = Memory::default();
        let now = Instant::now();
        assert_eq!(
            judge(&container(running(Some(HealthStatusEnum::HEALTHY)), 0), false, &mut m, now),
            Judgement::Ready("healthy".into())
        );
        assert_eq!(
            judge(&container(running(Some(HealthStatusEnum::STARTING)), 0), false, &mut m, now),
            waiting("starting")
        );
        assert_eq!(
            judge(&container(running(Some(HealthStatusEnum::UNHEALTHY)), 0), false, &mut m, now),
            Judgement::Fatal(
                NotReadyKind::Unhealthy,
                "`api` is unhealthy (last check exited 1: connection refused)".into()
            )
        );
    }

    #[test]
    fn running_without_healthcheck_must_settle() {
        let mut m = Memory::default();
        let t0 = Instant::now();
        let c = container(running(None), 0);
        assert!(matches!(judge(&c, false, &mut m, t0), Judgement::Waiting { recheck: Some(_), .. }));
        assert_eq!(judge(&c, false, &mut m, t0 + SETTLE), Judgement::Ready("running".into()));
    }

    #[test]
    fn a_one_shot_is_ready_only_once_it_has_exited_0() {
        let mut m = Memory::default();
        let now = Instant::now();
        let c = container(running(None), 0);
        assert_eq!(judge(&c, true, &mut m, now + SETTLE), waiting("running; a one-shot: waiting for it to exit"));
        assert_eq!(judge(&container(exited(0), 0), true, &mut m, now), Judgement::Ready("exited 0".into()));
        assert!(matches!(
            judge(&container(exited(3), 0), true, &mut m, now),
            Judgement::Fatal(NotReadyKind::Exited, _)
        ));
    }

    #[test]
    fn exits_and_loops_fail_at_once() {
        let mut m = Memory::default();
        let now = Instant::now();
        assert_eq!(judge(&container(exited(0), 0), false, &mut m, now), Judgement::Ready("exited 0".into()));
        assert_eq!(
            judge(&container(exited(1), 0), false, &mut m, now),
            Judgement::Fatal(NotReadyKind::Exited, "`api` exited with code 1".into())
        );
        m.exit_codes.insert("abc".into(), 1);
        assert_eq!(
            judge(&container(running(None), 3), false, &mut m, now),
            Judgement::Fatal(
                NotReadyKind::CrashLoop,
                "`api` is in a crash loop: exited with code 1, restarted 3 times".into()
            )
        );
        let restarting = ContainerState { status: Some(Status::RESTARTING), ..Default::default() };
        assert_eq!(judge(&container(restarting, 1), false, &mut m, now), waiting("restarting after exit code 1"));
        let oom = ContainerState { oom_killed: Some(true), ..exited(137) };
        assert_eq!(
            judge(&container(oom, 0), false, &mut m, now),
            Judgement::Fatal(
                NotReadyKind::OutOfMemory,
                "`api` was killed for running out of memory (OOM, exit code 137)".into()
            )
        );
    }

    #[test]
    fn pending_reads_as_a_sentence() {
        let p = vec![("db".to_string(), "starting".to_string()), ("api".to_string(), "no container yet".to_string())];
        assert_eq!(describe_pending(&p), "db (starting), api (no container yet)");
        assert_eq!(
            StackProgress::Waiting { elapsed: Duration::ZERO, pending: p }.to_string(),
            "waiting for db (starting), api (no container yet)"
        );
        assert_eq!(seconds(Duration::from_mins(2)), "120s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
    }
}
