//! The compose tool: detection (`docker compose` v2 plugin first, then the
//! `docker-compose` binary, v1 or a standalone v2) and running it.
//!
//! No Rust library drives compose v1, so the lifecycle shells out. Every
//! invocation passes `-p <project>` and the `-f` files explicitly, runs in the
//! project directory (so relative paths and `.env` resolve as they would for
//! the user typing the command there), and never uses `up --wait` (v1 has none):
//! readiness is [`crate::ready`]'s job. Output is streamed to the progress
//! callback line by line and the last lines are kept for the error.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::Command;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::error::StackError;
use crate::stack::{StackOptions, StackProgress};

/// Lines of compose output kept for an error message.
const TAIL_LINES: usize = 30;

/// A compose implementation found on this machine.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ComposeTool {
    program: String,
    prefix: Vec<String>,
    version: String,
}

static DETECTED: OnceCell<ComposeTool> = OnceCell::const_new();

impl ComposeTool {
    /// Finds the compose tool: `docker compose version`, then
    /// `docker-compose version`. The result is cached for the process.
    pub async fn detect() -> Result<Self, StackError> {
        DETECTED.get_or_try_init(detect_uncached).await.cloned()
    }

    /// The plugin form, `docker compose`, with the version it printed.
    pub fn plugin(version: impl Into<String>) -> Self {
        Self { program: "docker".into(), prefix: vec!["compose".into()], version: version.into() }
    }

    /// The standalone binary, `docker-compose`, with the version it printed.
    pub fn standalone(version: impl Into<String>) -> Self {
        Self { program: "docker-compose".into(), prefix: Vec::new(), version: version.into() }
    }

    /// The version as the tool printed it: `1.29.2`, `v2.24.5`.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The major version (1 for the Python docker-compose).
    pub fn major(&self) -> u32 {
        let v = self.version.trim_start_matches(['v', 'V']);
        v.split(|c: char| !c.is_ascii_digit()).next().and_then(|m| m.parse().ok()).unwrap_or(0)
    }

    /// Compose v2 semantics (container names `proj-svc-1`, several `--env-file`).
    pub fn is_v2(&self) -> bool {
        self.major() >= 2
    }

    /// How the user would type it: `docker compose`, `docker-compose`.
    pub fn command(&self) -> String {
        std::iter::once(self.program.as_str())
            .chain(self.prefix.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// `docker-compose 1.29.2`, `docker compose v2.24.5`: the report's tool line.
impl std::fmt::Display for ComposeTool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.command(), self.version)
    }
}

async fn detect_uncached() -> Result<ComposeTool, StackError> {
    let mut tried = Vec::new();
    for candidate in [ComposeTool::plugin(""), ComposeTool::standalone("")] {
        let mut cmd = Command::new(&candidate.program);
        cmd.args(&candidate.prefix).arg("version").stdin(Stdio::null()).kill_on_drop(true);
        let outcome = tokio::time::timeout(Duration::from_secs(20), cmd.output()).await;
        let line = match outcome {
            Err(_) => {
                tried.push(format!("`{} version` did not answer within 20s", candidate.command()));
                continue;
            }
            Ok(Err(e)) => {
                tried.push(format!("`{} version`: {e}", candidate.command()));
                continue;
            }
            Ok(Ok(out)) if !out.status.success() => {
                let text = String::from_utf8_lossy(&out.stderr);
                let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
                tried.push(format!("`{} version` failed: {first}", candidate.command()));
                continue;
            }
            Ok(Ok(out)) => String::from_utf8_lossy(&out.stdout).into_owned(),
        };
        match parse_version(&line) {
            Some(version) => return Ok(ComposeTool { version, ..candidate }),
            None => tried.push(format!(
                "`{} version` printed no version: {}",
                candidate.command(),
                line.lines().next().unwrap_or("").trim()
            )),
        }
    }
    Err(StackError::ComposeNotFound { tried: tried.join("; ") })
}

/// The version from the first line of `… version` output:
/// `docker-compose version 1.29.2, build unknown` → `1.29.2`,
/// `Docker Compose version v2.24.5` → `v2.24.5`.
pub(crate) fn parse_version(output: &str) -> Option<String> {
    let line = output.lines().find(|l| l.to_ascii_lowercase().contains("version"))?;
    let mut words = line.split_whitespace();
    words.by_ref().find(|w| w.eq_ignore_ascii_case("version"))?;
    let v = words.next()?.trim_end_matches(',');
    v.trim_start_matches(['v', 'V']).starts_with(|c: char| c.is_ascii_digit()).then(|| v.to_string())
}

/// What a compose invocation printed.
#[derive(Debug, Default)]
pub(crate) struct ComposeOutput {
    pub(crate) stdout: String,
}

/// Runs `<tool> [global options] <args>` for the stack and waits for it.
/// Cancellation kills the process and returns [`StackError::Cancelled`].
pub(crate) async fn run(
    tool: &ComposeTool,
    opts: &StackOptions,
    args: &[String],
    cancel: Option<&CancellationToken>,
    progress: Option<&(dyn Fn(StackProgress) + Send + Sync)>,
) -> Result<ComposeOutput, StackError> {
    let mut cmd = Command::new(&tool.program);
    cmd.args(&tool.prefix).args(global_args(tool, opts)).args(args);
    if !opts.project_dir.as_os_str().is_empty() {
        cmd.current_dir(&opts.project_dir);
    }
    // v1 takes one `--env-file`; with several, their variables go through the
    // environment (which wins over any file in both versions), later files first.
    if !tool.is_v2() && opts.env_files.len() > 1 {
        for (k, v) in read_env_files(&opts.env_files, &opts.project_dir)? {
            cmd.env(k, v);
        }
    }
    cmd.envs(opts.extra_env.iter().map(|(k, v)| (k, v)));
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).kill_on_drop(true);

    let shown = format!("{} {}", tool.command(), args.first().map_or("", String::as_str));
    let mut child = cmd.spawn().map_err(|source| StackError::Spawn { command: tool.command(), source })?;
    let stdout = child.stdout.take().expect("piped stdout");
    let stderr = child.stderr.take().expect("piped stderr");

    let tail = std::sync::Mutex::new(VecDeque::with_capacity(TAIL_LINES));
    let on_line = |line: String, keep: &mut Option<String>| {
        if let Some(keep) = keep {
            keep.push_str(&line);
            keep.push('\n');
        }
        let line = line.trim_end().to_string();
        if line.is_empty() {
            return;
        }
        if let Some(p) = progress {
            p(StackProgress::Compose(line.clone()));
        }
        let mut tail = tail.lock().expect("tail lock");
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(line);
    };

    let mut stdout_text = Some(String::new());
    let work = async {
        let ((), ()) = tokio::join!(
            read_lines(stdout, |l| on_line(l, &mut stdout_text)),
            read_lines(stderr, |l| on_line(l, &mut None))
        );
        child.wait().await
    };
    let status = match cancel {
        Some(cancel) => tokio::select! {
            biased;
            () = cancel.cancelled() => None,
            status = work => Some(status),
        },
        None => Some(work.await),
    };
    let Some(status) = status else {
        // `work` (and with it the borrow of `child`) is gone: kill and reap.
        let _ = child.kill().await;
        return Err(StackError::Cancelled);
    };
    let status = status.map_err(|source| StackError::Spawn { command: tool.command(), source })?;
    if status.success() {
        return Ok(ComposeOutput { stdout: stdout_text.unwrap_or_default() });
    }
    let status = match status.code() {
        Some(code) => format!("exit status {code}"),
        None => "killed by a signal".to_string(),
    };
    Err(StackError::Compose {
        command: shown.trim_end().to_string(),
        status,
        tail: tail.into_inner().expect("tail lock").into(),
    })
}

async fn read_lines(reader: impl AsyncRead + Unpin, mut f: impl FnMut(String)) {
    let mut lines = BufReader::new(reader).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        f(line);
    }
}

fn global_args(tool: &ComposeTool, opts: &StackOptions) -> Vec<String> {
    let mut args = vec!["--ansi".into(), "never".into(), "-p".into(), opts.project.clone()];
    for f in &opts.compose_files {
        args.push("-f".into());
        args.push(f.display().to_string());
    }
    if tool.is_v2() || opts.env_files.len() == 1 {
        for e in &opts.env_files {
            args.push("--env-file".into());
            args.push(e.display().to_string());
        }
    }
    args
}

/// `KEY=VALUE` pairs of env files, later files overriding earlier ones.
/// Blank lines and `#` comments are skipped, `export ` is allowed, one level
/// of matching quotes is removed.
fn read_env_files(files: &[PathBuf], base: &Path) -> Result<Vec<(String, String)>, StackError> {
    let mut vars: indexmap::IndexMap<String, String> = indexmap::IndexMap::new();
    for file in files {
        let path = if file.is_absolute() { file.clone() } else { base.join(file) };
        let text = std::fs::read_to_string(&path)
            .map_err(|e| StackError::io(format!("cannot read env file {}", path.display()), e))?;
        for (k, v) in parse_env(&text) {
            vars.insert(k, v);
        }
    }
    Ok(vars.into_iter().collect())
}

pub(crate) fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (k, v) = line.split_once('=')?;
            let v = v.trim();
            let v = [('"', '"'), ('\'', '\'')]
                .iter()
                .find_map(|(a, b)| v.strip_prefix(*a).and_then(|r| r.strip_suffix(*b)))
                .unwrap_or(v);
            Some((k.trim().to_string(), v.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_of_both_generations() {
        assert_eq!(
            parse_version("docker-compose version 1.29.2, build unknown\ndocker-py version: 5.0.3").as_deref(),
            Some("1.29.2")
        );
        assert_eq!(parse_version("Docker Compose version v2.24.5").as_deref(), Some("v2.24.5"));
        assert_eq!(parse_version("Docker Compose version 2.27.0+ds1-0ubuntu1").as_deref(), Some("2.27.0+ds1-0ubuntu1"));
        assert_eq!(parse_version("docker: 'compose' is not a docker command."), None);
        assert!(!ComposeTool::standalone("1.29.2").is_v2());
        assert!(ComposeTool::standalone("v2.20.0").is_v2());
        assert!(ComposeTool::plugin("v2.24.5").is_v2());
        assert_eq!(ComposeTool::plugin("v2.24.5").to_string(), "docker compose v2.24.5");
        assert_eq!(ComposeTool::standalone("1.29.2").to_string(), "docker-compose 1.29.2");
    }

    #[test]
    fn env_files() {
        let vars = parse_env("# c\n\nA=1\nexport B = \"two words\"\nC='x=y'\nnot a pair\n");
        assert_eq!(vars, vec![("A".into(), "1".into()), ("B".into(), "two words".into()), ("C".into(), "x=y".into())]);
    }
}
