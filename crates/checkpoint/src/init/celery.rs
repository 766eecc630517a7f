//! A Celery worker, recognised from its compose `entrypoint` and `command`, gets a gate that
//! asks it to answer through its broker.
//!
//! A worker's container runs on when the worker cannot reach its broker (it
//! retries the connection forever), so "running" — all a compose file without
//! a worker healthcheck promises — passes a worker that will never take a task.
//! `celery inspect ping`, run inside the worker's container (its environment,
//! its broker URL, its network) and addressed to its own node, passes only when
//! that worker answers through the broker; with a destination it returns as soon
//! as the reply arrives, so a healthy worker costs one round trip, not the
//! `--timeout`.

use std::fmt::Write as _;

use serde_json::Value;

use super::{id_part, q};

/// How long the generated check retries: a worker with no healthcheck may still
/// be connecting to its broker when the checks start.
const RETRY_UNTIL: &str = "30s";

/// A Celery worker as its compose `command` starts it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CeleryWorker {
    /// The program as the command names it: `celery`, `/venv/bin/celery`, `python -m celery`.
    pub program: String,
    /// `-A` / `--app`, when given (else the container's `CELERY_APP` applies, as for the worker).
    pub app: Option<String>,
    /// The node to address, in shell syntax: `celery@$(hostname)`, or the worker's `-n`
    /// name with `%h` made `$(hostname)`. `None` when the name uses other `%` codes:
    /// then the ping is broadcast and waits its whole `--timeout`.
    pub node: Option<String>,
}

/// Words that end one shell command of a `sh -c` line.
const SEPARATORS: &[&str] = &["&&", "||", ";", "|", "&"];

/// The words of a compose `entrypoint` and `command` (each a string or a list); list
/// items that hold a shell line (`["sh", "-c", "cd /app && celery …"]`) are split into
/// words too.
fn words(parts: &[Option<&Value>]) -> Vec<String> {
    let items: Vec<&str> = parts
        .iter()
        .flatten()
        .flat_map(|part| match part {
            Value::String(s) => vec![s.as_str()],
            Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        })
        .collect();
    items
        .iter()
        .flat_map(|item| item.split_whitespace())
        .flat_map(|w| {
            // `cmd;` and `a&&b` written without spaces: the separator is a word of its own.
            let w = w.trim_matches(|c| c == '"' || c == '\'');
            match w.strip_suffix(';') {
                Some(rest) if !rest.is_empty() => vec![rest.to_string(), ";".to_string()],
                _ => vec![w.to_string()],
            }
        })
        .filter(|w| !w.is_empty())
        .collect()
}

/// Characters an app or node name may hold and still go into the generated shell line unquoted.
fn plain(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || "._-:@%/".contains(c))
}

/// The Celery worker a service's `entrypoint` and `command` start, if they start one
/// (`entrypoint: [celery]` with `command: [-A, proj, worker]` is one too).
pub(crate) fn worker(entrypoint: Option<&Value>, command: Option<&Value>) -> Option<CeleryWorker> {
    let words = words(&[entrypoint, command]);
    let at = words.iter().position(|w| w.rsplit('/').next() == Some("celery"))?;
    let end = words[at..].iter().position(|w| SEPARATORS.contains(&w.as_str())).map_or(words.len(), |e| at + e);
    let args = &words[at + 1..end];
    if !args.iter().any(|w| w == "worker") {
        return None;
    }
    let program = match at.checked_sub(2).map(|p| (&words[p], &words[p + 1])) {
        Some((python, m)) if m == "-m" && python.rsplit('/').next().is_some_and(|p| p.starts_with("python")) => {
            format!("{python} -m {}", words[at])
        }
        _ => words[at].clone(),
    };
    let option = |short: &str, long: &str| -> Option<String> {
        let mut it = args.iter();
        while let Some(w) = it.next() {
            if w == short || w == long {
                return it.next().cloned();
            }
            if let Some(v) = w.strip_prefix(long).and_then(|r| r.strip_prefix('=')) {
                return Some(v.to_string());
            }
        }
        None
    };
    let app = option("-A", "--app");
    if !program.split(' ').all(plain) || app.as_deref().is_some_and(|a| !plain(a)) {
        return None;
    }
    let node = match option("-n", "--hostname") {
        None => Some("celery@$(hostname)".to_string()),
        Some(n) if !plain(&n) => None,
        Some(n) => {
            let n = if n.contains('@') { n } else { format!("celery@{n}") };
            let n = n.replace("%h", "$(hostname)");
            (!n.contains('%')).then_some(n)
        }
    };
    Some(CeleryWorker { program, app, node })
}

/// The gate for service `name`'s Celery worker.
pub(crate) fn gate(o: &mut String, name: &str, w: &CeleryWorker) {
    let mut line = w.program.clone();
    if let Some(app) = &w.app {
        let _ = write!(line, " -A {app}");
    }
    line.push_str(" inspect ping --timeout 5");
    if let Some(node) = &w.node {
        let _ = write!(line, " --destination {node}");
    }
    let _ = writeln!(
        o,
        "
  # {name}: a Celery worker (its command runs `{program} … worker`). A running container is not a
  # working worker: one that cannot reach its broker runs on, retrying. `celery inspect ping`,
  # run in its container and addressed to {whom}, passes only when the worker answers
  # through the broker. Retried for {RETRY_UNTIL}: a worker may still be connecting when the checks start.
  - id: {id}-celery
    title: {title}
    checks:
      - name: {check}
        exec: {{ service: {service}, argv: [sh, -c, {line}] }}
        retry: {{ until: {RETRY_UNTIL}, every: 1s }}",
        program = w.program,
        whom = if w.node.is_some() { "its own node" } else { "every worker (its `-n` name is not known here)" },
        id = id_part(name),
        title = q(&format!("{name} answers a Celery ping through its broker")),
        check = q("celery inspect ping, from the worker's container"),
        service = q(name),
        line = q(&line),
    );
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[allow(clippy::needless_pass_by_value, reason = "called with json!(…) temporaries")]
    fn w(command: Value) -> Option<(String, Option<String>, Option<String>)> {
        worker(None, Some(&command)).map(|w| (w.program, w.app, w.node))
    }

    #[allow(clippy::unnecessary_wraps, reason = "compared with `w`'s Option")]
    fn some(program: &str, app: Option<&str>, node: Option<&str>) -> Option<(String, Option<String>, Option<String>)> {
        Some((program.into(), app.map(Into::into), node.map(Into::into)))
    }

    #[test]
    fn worker_commands_as_compose_files_write_them() {
        let own = Some("celery@$(hostname)");
        // List form (the pystack's worker).
        assert_eq!(
            w(json!(["celery", "-A", "pystack.worker", "worker", "--loglevel=INFO", "--concurrency=1"])),
            some("celery", Some("pystack.worker"), own)
        );
        // String form, `--app=`, Celery 4's order (`worker` before the app).
        assert_eq!(w(json!("celery worker --app=proj.celery -l info")), some("celery", Some("proj.celery"), own));
        // A shell line: only the celery command of it; `python -m celery`.
        assert_eq!(
            w(json!(["sh", "-c", "cd /app && python3 -m celery -A proj worker -l info && echo done"])),
            some("python3 -m celery", Some("proj"), own)
        );
        // A venv path; no app (the container's CELERY_APP serves the ping as it serves the worker).
        assert_eq!(w(json!("/opt/venv/bin/celery worker")), some("/opt/venv/bin/celery", None, own));
        // `-n`: `%h` is the container's hostname; a bare name is celery@name; other codes: broadcast.
        assert_eq!(
            w(json!("celery -A proj worker -n emails@%h -Q emails")),
            some("celery", Some("proj"), Some("emails@$(hostname)"))
        );
        assert_eq!(
            w(json!("celery -A proj worker --hostname=box1")),
            some("celery", Some("proj"), Some("celery@box1"))
        );
        assert_eq!(w(json!("celery -A proj worker -n w%i@%h")), some("celery", Some("proj"), None));
        // The program in `entrypoint:`, its arguments in `command:`; autoreload wrappers.
        assert_eq!(
            worker(Some(&json!(["celery"])), Some(&json!(["-A", "proj", "worker"]))).map(|w| w.program),
            Some("celery".to_string())
        );
        assert_eq!(
            w(json!("watchmedo auto-restart -d . -p '*.py' -- celery -A proj worker")),
            some("celery", Some("proj"), own)
        );
    }

    #[test]
    fn not_a_worker() {
        assert_eq!(w(json!(["celery", "-A", "proj", "beat"])), None, "beat takes no tasks");
        assert_eq!(w(json!("celery -A proj flower")), None);
        assert_eq!(w(json!(["uvicorn", "app.main:app", "--host", "0.0.0.0"])), None);
        // `worker` in another command of the shell line is not Celery's.
        assert_eq!(w(json!(["sh", "-c", "celery -A proj purge -f && python -m myapp worker"])), None);
        assert_eq!(w(json!("celery -A proj purge -f; myapp worker")), None);
        assert_eq!(w(json!("python manage.py rqworker")), None);
        // An app name the generated shell line could not carry unquoted.
        assert_eq!(w(json!(["celery", "-A", "$(evil)", "worker"])), None);
        assert_eq!(w(json!(42)), None);
        assert_eq!(w(Value::Null), None);
        assert_eq!(worker(None, None), None);
    }

    #[test]
    fn the_gate_pings_the_worker_from_its_container() {
        let mut o = String::new();
        gate(&mut o, "worker", &worker(None, Some(&json!(["celery", "-A", "pystack.worker", "worker"]))).unwrap());
        assert!(o.contains("- id: worker-celery"), "{o}");
        assert!(
            o.contains(
                "exec: { service: \"worker\", argv: [sh, -c, \"celery -A pystack.worker inspect ping --timeout 5 --destination celery@$(hostname)\"] }"
            ),
            "{o}"
        );
        assert!(o.contains("retry: { until: 30s, every: 1s }"), "{o}");
    }
}
