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

/// Which compose generation to use: `--compose-tool`, `CHECKPOINT_COMPOSE_TOOL`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ToolChoice {
    /// `docker compose` (v2) when it answers, else `docker-compose` (either version).
    #[default]
    Auto,
    /// The Python `docker-compose` 1.x only.
    V1,
    /// Compose v2 only: the `docker compose` plugin, or a standalone `docker-compose` 2.x.
    V2,
}

impl ToolChoice {
    /// The environment variable that sets the default choice.
    pub const ENV: &'static str = "CHECKPOINT_COMPOSE_TOOL";

    /// `auto`, `v1`, `v2` (also `1`, `2`, `docker-compose`, `docker compose`).
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "" | "auto" => Self::Auto,
            "v1" | "1" | "docker-compose" => Self::V1,
            "v2" | "2" | "docker compose" => Self::V2,
            _ => return None,
        })
    }

    /// The choice `CHECKPOINT_COMPOSE_TOOL` makes (auto when unset); an
    /// unknown value is an error that names the variable.
    pub fn from_env() -> Result<Self, String> {
        match std::env::var(Self::ENV) {
            Err(_) => Ok(Self::Auto),
            Ok(v) => Self::parse(&v).ok_or_else(|| format!("{}=`{v}`: expected `auto`, `v1` or `v2`", Self::ENV)),
        }
    }

    fn accepts(self, tool: &ComposeTool) -> bool {
        match self {
            Self::Auto => true,
            Self::V1 => !tool.is_v2(),
            Self::V2 => tool.is_v2(),
        }
    }
}

impl std::fmt::Display for ToolChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Auto => "auto",
            Self::V1 => "v1",
            Self::V2 => "v2",
        })
    }
}

static DETECTED: [OnceCell<ComposeTool>; 3] = [OnceCell::const_new(), OnceCell::const_new(), OnceCell::const_new()];

impl ComposeTool {
    /// Finds the compose tool the choice allows: `docker compose version`,
    /// then `docker-compose version`. The result is cached for the process.
    pub async fn detect(choice: ToolChoice) -> Result<Self, StackError> {
        let cell = &DETECTED[choice as usize];
        cell.get_or_try_init(|| detect_uncached(choice)).await.cloned()
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

async fn detect_uncached(choice: ToolChoice) -> Result<ComposeTool, StackError> {
    let mut tried = Vec::new();
    // v1 is never a plugin: with `v1`, only the standalone binary is asked.
    let candidates = match choice {
        ToolChoice::V1 => vec![ComposeTool::standalone("")],
        _ => vec![ComposeTool::plugin(""), ComposeTool::standalone("")],
    };
    for candidate in candidates {
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
            Some(version) => {
                let tool = ComposeTool { version, ..candidate };
                if choice.accepts(&tool) {
                    return Ok(tool);
                }
                tried.push(format!("`{}` is {}, not {choice}", tool.command(), tool.version));
            }
            None => tried.push(format!(
                "`{} version` printed no version: {}",
                candidate.command(),
                line.lines().next().unwrap_or("").trim()
            )),
        }
    }
    Err(StackError::ComposeNotFound { choice, tried: tried.join("; ") })
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

/// What the stack needs of the merged compose configuration (`<tool> config`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Config {
    /// Services in effect, in file order: those without `profiles:`, and
    /// those with a profile that is active. (v2's `config` already leaves the
    /// others out; v1's lists every service.)
    pub services: Vec<String>,
    /// Services another waits for with `condition: service_completed_successfully`.
    pub one_shots: Vec<String>,
}

impl Config {
    /// Parses `config` output (YAML, both generations).
    pub fn parse(yaml: &str, active_profiles: &[String]) -> Result<Self, String> {
        let doc: serde_json::Value = serde_saphyr::from_str(yaml).map_err(|e| e.to_string())?;
        let mut config = Self::default();
        let Some(services) = doc.get("services").and_then(serde_json::Value::as_object) else {
            return Ok(config);
        };
        for (name, svc) in services {
            let profiles: Vec<&str> = svc
                .get("profiles")
                .and_then(serde_json::Value::as_array)
                .map(|p| p.iter().filter_map(serde_json::Value::as_str).collect())
                .unwrap_or_default();
            if profiles.is_empty() || profiles.iter().any(|p| active_profiles.iter().any(|a| a == p || a == "*")) {
                config.services.push(name.clone());
            }
        }
        for svc in services.values() {
            // Long form only: the short form (a list) has no condition.
            let Some(deps) = svc.get("depends_on").and_then(serde_json::Value::as_object) else { continue };
            for (dep, how) in deps {
                let completed =
                    how.get("condition").and_then(serde_json::Value::as_str) == Some("service_completed_successfully");
                if completed && !config.one_shots.contains(dep) {
                    config.one_shots.push(dep.clone());
                }
            }
        }
        Ok(config)
    }
}

/// `COMPOSE_PROFILES` of the compose tool's environment (the options' extra
/// environment first, then the process's), split on commas.
pub(crate) fn active_profiles(extra_env: &[(String, String)]) -> Vec<String> {
    let value = extra_env
        .iter()
        .rev()
        .find(|(k, _)| k == "COMPOSE_PROFILES")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var("COMPOSE_PROFILES").ok())
        .unwrap_or_default();
    value.split(',').map(str::trim).filter(|p| !p.is_empty()).map(String::from).collect()
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
    fn config_services_honour_profiles_and_find_one_shots() {
        // docker-compose 1.29's `config` lists profiled services too.
        let yaml = "services:\n  a:\n    image: x\n  b:\n    image: x\n    profiles:\n    - debug\n  \
                    c:\n    depends_on:\n      a:\n        condition: service_completed_successfully\n      \
                    d:\n        condition: service_started\n    image: x\n    scale: 0\n  d:\n    image: x\nversion: '3.9'\n";
        let c = Config::parse(yaml, &[]).expect("parses");
        assert_eq!(c.services, ["a", "c", "d"]);
        assert_eq!(c.one_shots, ["a"]);
        let c = Config::parse(yaml, &["debug".into()]).expect("parses");
        assert_eq!(c.services, ["a", "b", "c", "d"]);
        // The short form of depends_on has no condition.
        let c = Config::parse("services:\n  a:\n    image: x\n  b:\n    image: x\n    depends_on: [a]\n", &[])
            .expect("parses");
        assert!(c.one_shots.is_empty());
    }

    #[test]
    fn tool_choice() {
        assert_eq!(ToolChoice::parse("V2"), Some(ToolChoice::V2));
        assert_eq!(ToolChoice::parse("docker-compose"), Some(ToolChoice::V1));
        assert_eq!(ToolChoice::parse(""), Some(ToolChoice::Auto));
        assert_eq!(ToolChoice::parse("v3"), None);
        assert!(ToolChoice::V1.accepts(&ComposeTool::standalone("1.29.2")));
        assert!(!ToolChoice::V1.accepts(&ComposeTool::standalone("v2.40.3")));
        assert!(ToolChoice::V2.accepts(&ComposeTool::standalone("v2.40.3")));
        assert!(!ToolChoice::V2.accepts(&ComposeTool::standalone("1.29.2")));
    }

    #[test]
    fn env_files() {
        let vars = parse_env("# c\n\nA=1\nexport B = \"two words\"\nC='x=y'\nnot a pair\n");
        assert_eq!(vars, vec![("A".into(), "1".into()), ("B".into(), "two words".into()), ("C".into(), "x=y".into())]);
    }
}
