//! `command`: a host program (argv, or a `sh -c` line); exit code, stdout, stderr.

use std::process::Stdio;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::matcher::Matcher;
use checkpoint_model::raw::CommandSpec;
use serde_json::Value;
use tokio::io::AsyncWriteExt as _;

use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt, typed};

pub struct Command;

#[async_trait]
impl CheckKind for Command {
    fn name(&self) -> &'static str {
        "command"
    }

    fn default_expectations(&self) -> Vec<(&'static str, Matcher)> {
        vec![("exit_code", Matcher::equals(Value::from(0)))]
    }

    async fn observe(&self, spec: &Value, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let spec: CommandSpec = typed(spec)?;
        let (program, args, shown) = match &spec.shell {
            Some(line) => ("sh".to_string(), vec!["-c".to_string(), line.clone()], line.clone()),
            None => {
                let (p, a) = spec.argv.split_first().ok_or_else(|| ObserveError::Errored("empty argv".into()))?;
                (p.clone(), a.to_vec(), spec.argv.join(" "))
            }
        };
        let mut cmd = tokio::process::Command::new(&program);
        cmd.args(&args)
            .envs(spec.env.iter())
            .current_dir(spec.cwd.as_ref().map_or_else(|| ctx.root.clone(), |c| ctx.root.join(c)))
            .stdin(if spec.stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let started = Instant::now();
        let mut child = cmd
            .spawn()
            .map_err(|e| ObserveError::failed(format!("cannot start `{program}`: {e}"), format!("$ {shown}\n→ {e}")))?;
        if let (Some(input), Some(mut stdin)) = (&spec.stdin, child.stdin.take()) {
            let _ = stdin.write_all(input.as_bytes()).await;
        }
        let out = child
            .wait_with_output()
            .await
            .map_err(|e| ObserveError::Errored(format!("waiting for `{program}`: {e}")))?;
        let elapsed = started.elapsed();
        let code = out.status.code().map_or(-1, i64::from);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        Ok(process_observation(&shown, code, stdout, stderr, elapsed))
    }
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
    Observation { document, evidence, ..Observation::default() }
        .field("exit_code", code)
        .field("stdout", stdout)
        .field("stderr", stderr)
        .duration(elapsed)
}
