//! What the stack's services logged for the requests a check sent: the
//! traceback a web framework ties to a request ([`logged::error_for`]),
//! looked for in every service's log of the check's time — the app that
//! failed may sit behind the service the check spoke to, which may have
//! rewritten the path (`/api/items/5` logged as `/items/5`).

use std::time::{Duration, SystemTime};

use checkpoint_model::logged;
use checkpoint_target::Target;

/// For each request, the service whose log from `since` on ties a traceback
/// to it, with its one-line quote and the traceback; `except` is not read (its log was read
/// already). With `wait`, requests still without one are looked for once
/// more, 250 ms later: a server may log its traceback just after it sent
/// the 500, and the engine delivers log lines a moment later.
pub(crate) async fn tied(
    target: &dyn Target,
    since: SystemTime,
    requests: &[&logged::Request],
    except: Option<&str>,
    wait: bool,
) -> Vec<Option<(String, logged::Said)>> {
    let mut found: Vec<Option<(String, logged::Said)>> = vec![None; requests.len()];
    if requests.is_empty() {
        return found;
    }
    let Ok(services) = target.services().await else { return found };
    let mut names: Vec<&str> = services.iter().map(checkpoint_model::result::ServiceReport::service).collect();
    names.dedup();
    names.retain(|n| Some(*n) != except);
    for round in 0..if wait { 2 } else { 1 } {
        if round > 0 {
            if found.iter().all(Option::is_some) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        let mut logs = Vec::new();
        for name in &names {
            if let Ok(log) = target.logs_since(name, since, logged::WINDOW_LINES).await {
                logs.push((*name, log));
            }
        }
        // The request as sent, in any service's log; else as a path-rewriting
        // proxy passed it on (`/api/items/5` → `/items/5`).
        for (slot, request) in found.iter_mut().zip(requests) {
            if slot.is_some() {
                continue;
            }
            *slot = std::iter::once((*request).clone()).chain(request.rewritten()).find_map(|r| {
                logs.iter().find_map(|(name, log)| Some(((*name).to_string(), logged::said_for(log, &r)?)))
            });
        }
    }
    found
}
