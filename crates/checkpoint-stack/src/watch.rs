//! The stack is watched from ready to teardown: a service that exits, is
//! OOM-killed or turns unhealthy while the gates run is an [`Incident`],
//! whether or not a check happened to look at that moment.
//!
//! Readiness ([`crate::ready`]) judges the stack once; a worker that dies five
//! seconds later, after the `compose` check looked, would otherwise pass
//! unseen. The watcher follows the engine's events for the project (the same
//! subscription readiness uses) and records, per incident, the time since
//! ready and the service's last log lines. What the harness causes itself —
//! a `fault` check stopping, killing or pausing a service, and the teardown —
//! is not an incident: faults open a window per service
//! ([`Shared::faults`](crate::stack::Shared)) that ends a grace period after
//! the restore, and the watcher is stopped before teardown.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::models::EventMessage;
use bollard::query_parameters::{EventsOptionsBuilder, InspectContainerOptions};
use checkpoint_model::result::Incident;
use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::docker_api;
use crate::stack::Inner;

/// Log lines kept with an incident.
const LOG_LINES: usize = 20;
/// After a fault's restore, the service may still die or report unhealthy on
/// its way back: that is the fault's doing, for this long.
pub(crate) const FAULT_GRACE: Duration = Duration::from_secs(15);
/// Events that are incidents (a `die` carries the exit code; OOM is read from
/// the container's state then; `health_status: unhealthy` is matched by prefix).
const EVENTS: [&str; 2] = ["die", "health_status"];

/// A running watcher; [`Watch::stop`] ends it before teardown.
pub(crate) struct Watch {
    cancel: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Watch {
    /// Starts following the project's events from now on.
    pub(crate) fn start(inner: Arc<Inner>, ready_at: Instant) -> Self {
        let cancel = CancellationToken::new();
        let since_wall = SystemTime::now();
        let task = tokio::spawn(follow(inner, ready_at, since_wall, cancel.clone()));
        Self { cancel, task }
    }

    /// Stops following; incidents seen so far stay in the stack's shared state.
    /// Events already delivered are taken first (a short drain).
    pub(crate) async fn stop(self) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.cancel.cancel();
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

async fn follow(inner: Arc<Inner>, ready_at: Instant, since_wall: SystemTime, cancel: CancellationToken) {
    let Ok(docker) = inner.docker().await.cloned() else { return };
    let since = since_wall.duration_since(UNIX_EPOCH).unwrap_or_default();
    let mut filters = docker_api::project_filter(&inner.opts.project);
    filters.insert("type".into(), vec!["container".into()]);
    filters.insert("event".into(), EVENTS.iter().map(|e| (*e).to_string()).collect());
    // `since` is in whole seconds: events of the second before ready are
    // replayed too, and dropped below by their nanosecond time.
    let options = EventsOptionsBuilder::new().since(&since.as_secs().to_string()).filters(&filters).build();
    let mut events = docker.events(Some(options)).boxed();
    loop {
        let ev = tokio::select! {
            biased;
            () = cancel.cancelled() => return,
            ev = events.next() => ev,
        };
        // The stream broke (engine restart): the final `compose` re-check
        // still judges the stack's end state.
        let Some(Ok(ev)) = ev else { return };
        if ev.time_nano.is_some_and(|t| u128::try_from(t).unwrap_or(0) < since.as_nanos()) {
            continue;
        }
        if let Some(incident) = incident(&inner, &docker, &ev, ready_at).await {
            inner.shared.lock().expect("shared lock").incidents.push(incident);
        }
    }
}

/// The incident an event is, if it is one.
async fn incident(inner: &Inner, docker: &bollard::Docker, ev: &EventMessage, ready_at: Instant) -> Option<Incident> {
    let actor = ev.actor.as_ref()?;
    let id = actor.id.as_deref()?;
    let attrs = actor.attributes.as_ref()?;
    let service = attrs.get(docker_api::SERVICE_LABEL)?.clone();
    if attrs.get(docker_api::ONEOFF_LABEL).is_some_and(|v| v == "True") || attrs.contains_key(docker_api::PROBE_LABEL) {
        return None;
    }
    if inner.in_fault_window(&service) {
        return None;
    }
    let action = ev.action.as_deref().unwrap_or("");
    let inspect = docker.inspect_container(id, None::<InspectContainerOptions>).await.ok();
    let state = inspect.as_ref().and_then(|i| i.state.clone()).unwrap_or_default();
    let what = if action == "die" {
        let code: i64 = attrs.get("exitCode").and_then(|c| c.parse().ok()).unwrap_or(-1);
        if code == 0 && inner.is_one_shot(&service) {
            return None;
        }
        if state.oom_killed == Some(true) {
            format!("was killed for running out of memory (exit code {code})")
        } else {
            format!("exited with code {code}{}", crate::ready::signal_hint(code))
        }
    } else if action.starts_with("health_status") && action.contains("unhealthy") {
        let last = state
            .health
            .as_ref()
            .and_then(|h| h.log.as_ref())
            .and_then(|l| l.last())
            .map(|r| {
                let out = r.output.as_deref().unwrap_or("").lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                format!(" (last check exited {}: {})", r.exit_code.unwrap_or(-1), out.trim())
            })
            .unwrap_or_default();
        format!("became unhealthy{last}")
    } else {
        return None;
    };
    // A restart policy brings it back (the `die` is followed by a `start`).
    let policy = inspect
        .as_ref()
        .and_then(|i| i.host_config.as_ref())
        .and_then(|h| h.restart_policy.as_ref())
        .and_then(|p| p.name)
        .map(|n| n.to_string())
        .unwrap_or_default();
    let restarted = action == "die" && matches!(policy.as_str(), "always" | "unless-stopped" | "on-failure");
    let log_tail = docker_api::container_logs(docker, id, Some(LOG_LINES), false).await.unwrap_or_default();
    let at = SystemTime::now();
    Some(Incident {
        service,
        what,
        restarted,
        after_ready_ms: ready_at.elapsed().as_secs_f64() * 1000.0,
        at: humantime::format_rfc3339_seconds(at).to_string(),
        log_tail,
    })
}
