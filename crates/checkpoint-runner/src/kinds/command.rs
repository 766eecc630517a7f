//! `command`: a host program (argv, or a `sh -c` line); exit code, stdout, stderr.

use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::CommandSpec;
use checkpoint_model::matcher::Matcher;
use serde_json::Value;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

pub struct Command;

#[async_trait]
impl CheckKind for Command {
    type Spec = CommandSpec;

    fn default_expectations(&self) -> Vec<(&'static str, Matcher)> {
        vec![("exit_code", Matcher::equals(Value::from(0)))]
    }

    async fn observe(&self, spec: &CommandSpec, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let (program, args, shown) = if let Some(line) = &spec.shell {
            ("sh".to_string(), vec!["-c".to_string(), line.clone()], line.clone())
        } else {
            let (p, a) = spec.argv.split_first().ok_or_else(|| ObserveError::Errored("empty argv".into()))?;
            (p.clone(), a.to_vec(), spec.argv.join(" "))
        };
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&args)
            .envs(spec.env.iter())
            .current_dir(spec.cwd.as_ref().map_or_else(|| ctx.root.clone(), |c| ctx.root.join(c)))
            .stdin(if spec.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group: whatever it starts in the background is
            // ended with it (a grandchild must not outlive the run).
            .process_group(0)
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| ObserveError::failed(format!("cannot start `{program}`: {e}"), format!("$ {shown}\n→ {e}")))?;
        // Ends the group when the check ends, also by timeout or cancellation (drop).
        let _group = child.id().map(ProcessGroup);
        if let (Some(input), Some(mut stdin)) = (&spec.stdin, child.stdin.take()) {
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        let stdout = Collector::start(child.stdout.take());
        let stderr = Collector::start(child.stderr.take());
        // The check ends when its own process exits, not when every process
        // holding its output open does: `(sleep 40 &); echo started` is done at once.
        let status = child.wait().await.map_err(|e| ObserveError::Errored(format!("waiting for `{program}`: {e}")))?;
        let elapsed = started.elapsed();
        let (out, out_cut) = stdout.finish().await;
        let (err, err_cut) = stderr.finish().await;
        let code = status.code().map_or(-1, i64::from);
        let stdout = String::from_utf8_lossy(&out).into_owned();
        let mut stderr = String::from_utf8_lossy(&err).into_owned();
        if out_cut || err_cut {
            stderr.push_str(&format!(
                "\n(checkpoint: a background process kept the output open after `{program}` exited; it was ended with the check's process group)"
            ));
        }
        Ok(process_observation(&shown, code, stdout, stderr, elapsed))
    }
}

/// How long output may still arrive after the process exited.
const OUTPUT_GRACE: Duration = Duration::from_millis(500);

/// Reads a pipe on its own task into a buffer that can be taken at any time.
struct Collector {
    buf: std::sync::Arc<std::sync::Mutex<Vec<u8>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Collector {
    fn start(pipe: Option<impl tokio::io::AsyncRead + Unpin + Send + 'static>) -> Self {
        let buf = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = buf.clone();
        let task = tokio::spawn(async move {
            let Some(mut p) = pipe else { return };
            let mut chunk = [0u8; 8192];
            while let Ok(n) = p.read(&mut chunk).await {
                if n == 0 {
                    break;
                }
                if let Ok(mut b) = sink.lock() {
                    b.extend_from_slice(&chunk[..n]);
                }
            }
        });
        Self { buf, task }
    }

    /// What was read, once the pipe closed or [`OUTPUT_GRACE`] passed
    /// (`true`: something still held it open).
    async fn finish(mut self) -> (Vec<u8>, bool) {
        let cut = tokio::time::timeout(OUTPUT_GRACE, &mut self.task).await.is_err();
        self.task.abort();
        let bytes = self.buf.lock().map(|mut b| std::mem::take(&mut *b)).unwrap_or_default();
        (bytes, cut)
    }
}

/// A process group started by a check: SIGKILLed when dropped.
struct ProcessGroup(u32);

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0) {
            // The group may be gone already (ESRCH): nothing to do then.
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
        }
    }
}

/// What a failed program said: the error its output names last (a Python
/// traceback's exception line, not the `(Background on this error at: …)`
/// SQLAlchemy prints after it), else its last non-blank line.
fn what_it_said(text: &str) -> Option<String> {
    checkpoint_model::logged::last_error(text).or_else(|| last_line(text))
}

/// The last non-blank line of a program's output, at most 160 characters.
fn last_line(text: &str) -> Option<String> {
    let line = text.lines().rev().map(str::trim).find(|l| !l.is_empty())?;
    let mut short: String = line.chars().take(160).collect();
    if short.len() < line.len() {
        short.push('…');
    }
    Some(short)
}

/// What Django's `manage.py migrate --check` means by exiting 1: a migration
/// is not applied. It prints nothing; with `--plan` it lists the unapplied
/// migrations under `Planned operations:`, each operation indented below.
fn unapplied_migrations(shown: &str, stdout: &str) -> Option<String> {
    let mut lines = stdout.lines().skip_while(|l| l.trim().is_empty());
    if lines.next().map(str::trim) == Some("Planned operations:") {
        let names: Vec<&str> =
            lines.filter(|l| !l.starts_with([' ', '\t']) && !l.trim().is_empty()).map(str::trim).collect();
        return match names[..] {
            [] => None,
            [one] => Some(format!("1 unapplied migration: {one}")),
            [first, second] => Some(format!("2 unapplied migrations: {first}, {second}")),
            [first, .., last] => Some(format!("{} unapplied migrations: {first} … {last}", names.len())),
        };
    }
    let words: Vec<&str> = shown.split_whitespace().collect();
    let django_check = words.iter().any(|w| w.ends_with("manage.py") || *w == "django-admin")
        && words.contains(&"migrate")
        && words.contains(&"--check");
    (django_check && stdout.trim().is_empty()).then(|| {
        "a migration is not applied (Django's `migrate --check` says no more; `--plan` names them)".to_string()
    })
}

/// Shared with `exec`: the fields and evidence of a finished process.
pub fn process_observation(shown: &str, code: i64, stdout: String, stderr: String, elapsed: Duration) -> Observation {
    let mut evidence = format!("$ {shown}\n→ exit code {code}\n");
    if !stdout.is_empty() {
        evidence.push_str(&format!("--- stdout\n{}\n", excerpt(stdout.trim_end(), 4096)));
    }
    if !stderr.is_empty() {
        evidence.push_str(&format!("--- stderr\n{}\n", excerpt(stderr.trim_end(), 4096)));
    }
    let document = serde_json::from_str::<Value>(&stdout).ok();
    let mut obs = Observation { document, evidence, ..Observation::default() };
    // A failed exit names what the program said last, so the one-line reason
    // reads `exit_code: expected 0, got 2 — stderr: alembic: can't locate revision`.
    if code != 0
        && let Some(said) = checkpoint_model::logged::last_error(&stderr)
            .map(|l| format!("stderr: {l}"))
            .or_else(|| unapplied_migrations(shown, &stdout))
            .or_else(|| what_it_said(&stderr).map(|l| format!("stderr: {l}")))
            .or_else(|| what_it_said(&stdout).map(|l| format!("stdout: {l}")))
    {
        obs.notes.insert("exit_code".into(), Value::from(said));
    }
    obs.field("exit_code", code).field("stdout", stdout).field("stderr", stderr).duration(elapsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(stdout: &str, stderr: &str) -> Option<Value> {
        process_observation("p", 1, stdout.into(), stderr.into(), Duration::ZERO).notes.get("exit_code").cloned()
    }

    #[test]
    fn a_failed_program_is_quoted_by_its_error_not_its_last_line() {
        // `alembic current` against a database it cannot reach, captured from the pystack image
        // (Alembic 1.14, SQLAlchemy 2.0): SQLAlchemy ends with `(Background on this error at: …)`.
        let stderr = include_str!("../../tests/logs/alembic-current-db-unreachable.stderr");
        assert_eq!(
            note("", stderr),
            Some(Value::from(
                "stderr: sqlalchemy.exc.OperationalError: (psycopg2.OperationalError) could not translate host name \
                 \"nohost\" to address: Name or service not known"
            ))
        );
        // No error named: the last line, from stderr before stdout.
        assert_eq!(note("out\n", "first\nlast words\n\n"), Some(Value::from("stderr: last words")));
        assert_eq!(note("all done?\n", ""), Some(Value::from("stdout: all done?")));
        assert_eq!(note("", ""), None);
    }

    #[test]
    fn djangos_migrate_check_is_read_for_what_its_exit_means() {
        let said = |shown: &str, stdout: &str, stderr: &str| {
            let obs = process_observation(shown, 1, stdout.into(), stderr.into(), Duration::ZERO);
            obs.notes.get("exit_code").and_then(Value::as_str).map(str::to_string)
        };
        let silent = Some("a migration is not applied (Django's `migrate --check` says no more; `--plan` names them)");
        assert_eq!(said("python manage.py migrate --check", "", "").as_deref(), silent);
        assert_eq!(said("django-admin migrate --check --settings=site.settings", "", "").as_deref(), silent);
        assert_eq!(said("python manage.py migrate", "", ""), None, "without --check, exit 1 is not about migrations");
        let plan = "Planned operations:\nshop.0002_item_price\n    Add field price to item\n";
        assert_eq!(
            said("manage.py migrate --check --plan", plan, "").as_deref(),
            Some("1 unapplied migration: shop.0002_item_price")
        );
        let two = format!("{plan}shop.0003_item_stock\n    Add field stock to item\n");
        assert_eq!(
            said("manage.py migrate --check --plan", &two, "").as_deref(),
            Some("2 unapplied migrations: shop.0002_item_price, shop.0003_item_stock")
        );
        // The database unreachable: its error, not the guess.
        let gone = "Traceback (most recent call last):\n  File \"manage.py\", line 9\ndjango.db.utils.OperationalError: connection refused\n";
        assert_eq!(
            said("python manage.py migrate --check", "", gone).as_deref(),
            Some("stderr: django.db.utils.OperationalError: connection refused")
        );
    }
}
