//! What can go wrong driving a stack, as one error type for the lifecycle
//! (`up`, `down`, `save_logs`, cleanup). Readiness failures are not errors of
//! the harness but findings about the stack: they have their own type,
//! [`crate::NotReady`].
//!
//! Messages are lowercase fragments without trailing punctuation; the compose
//! tool's own output is kept verbatim in [`StackError::Compose`] so the caller
//! can mask secrets in it before printing.

/// A lifecycle operation on the stack failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StackError {
    /// Neither `docker compose` (v2) nor `docker-compose` (v1) answered `version`
    /// (or none of the generation asked for with `--compose-tool`).
    #[error("{}", compose_not_found(*.choice, .tried))]
    ComposeNotFound {
        /// `--compose-tool` / `CHECKPOINT_COMPOSE_TOOL`.
        choice: crate::compose::ToolChoice,
        /// What was run and what it said, one clause per tool.
        tried: String,
    },

    /// The compose tool ran and failed. The first line names the tool's own
    /// error lines ([`compose_cause`]), then the last lines it printed follow.
    #[error("`{command}` failed ({status}){}{}", cause_suffix(.tail), tail_suffix(.tail))]
    Compose {
        /// The command without its file arguments: `docker-compose up`.
        command: String,
        /// `exit status 1`, `killed by signal 9`.
        status: String,
        /// The last lines compose printed (stdout and stderr), oldest first.
        tail: Vec<String>,
    },

    /// The compose tool could not be started at all.
    #[error("cannot run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },

    /// A call to the Docker Engine API failed.
    #[error("{context}: {source}")]
    Engine {
        /// What was being done: `cannot reach the Docker engine`, `listing containers of project x`.
        context: String,
        #[source]
        source: bollard::errors::Error,
    },

    /// Reading or writing a local file failed (logs, env files).
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    /// Resources with the project label survived teardown and forced removal.
    #[error("teardown of project `{project}` left {}: {}", remaining.len(), remaining.join(", "))]
    Leftovers { project: String, remaining: Vec<String> },

    /// The options cannot work (an invalid project name, …).
    #[error("{0}")]
    Invalid(String),

    /// The cancellation token fired while the operation ran; the compose
    /// process was killed. Whatever it had created is still there: tear down.
    #[error("cancelled")]
    Cancelled,
}

fn compose_not_found(choice: crate::compose::ToolChoice, tried: &str) -> String {
    use crate::compose::ToolChoice;
    match choice {
        ToolChoice::Auto => format!(
            "no compose tool found: {tried}; install Docker Compose (the `docker compose` plugin or `docker-compose`)"
        ),
        ToolChoice::V1 => format!(
            "no compose v1 found (--compose-tool v1): {tried}; install `docker-compose` 1.x, or use `--compose-tool auto`"
        ),
        ToolChoice::V2 => format!(
            "no compose v2 found (--compose-tool v2): {tried}; install the `docker compose` plugin, or use `--compose-tool auto`"
        ),
    }
}

fn cause_suffix(tail: &[String]) -> String {
    compose_cause(tail).map(|c| format!(": {c}")).unwrap_or_default()
}

/// The compose tool's own error lines among its output, progress lines left
/// out: `Error response from daemon: … port is already allocated` (v2),
/// `ERROR: for api  Cannot start service api: …` (v1; repeated per container
/// and followed by a generic `Encountered errors` line, both dropped). Joined
/// with `; `, or `None` when no line reads as an error.
pub fn compose_cause(tail: &[String]) -> Option<String> {
    let mut causes: Vec<String> = Vec::new();
    for line in tail {
        let line = line.trim();
        let lower = line.to_ascii_lowercase();
        let text = if let Some(rest) = line.strip_prefix("ERROR:") {
            // v1: `ERROR: for <name>  <message>`: the message is what matters.
            let rest = rest.trim();
            match rest.strip_prefix("for ").and_then(|r| r.split_once("  ")) {
                Some((_, msg)) => msg.trim().to_string(),
                None => rest.to_string(),
            }
        } else if lower.starts_with("error") || lower.starts_with("service ") && lower.contains("error") {
            // v2: `Error response from daemon: …`, `error while interpolating …`,
            // `service "x" depends on undefined service …`.
            line.to_string()
        } else if lower.starts_with("dependency failed")
            || lower.contains("didn't complete successfully")
            || lower.contains("is unhealthy")
        {
            line.to_string()
        } else {
            continue;
        };
        let text = one_shot_failure(&text).unwrap_or(text);
        let generic = text.starts_with("Encountered errors while bringing up the project");
        if text.is_empty() || generic || causes.contains(&text) {
            continue;
        }
        causes.push(text);
    }
    if causes.is_empty() {
        // Nothing reads as an error (v1's `config` prints its complaint bare:
        // `Service "api" defines an invalid healthcheck: …`): its last line.
        return tail.iter().rev().map(|l| l.trim()).find(|l| !l.is_empty()).map(str::to_string);
    }
    Some(causes.join("; "))
}

/// Both generations' words for a one-shot that failed while others waited
/// for it (`service "migrate" didn't complete successfully: exit 1`), in the
/// harness's: ``one-shot `migrate` exited with code 1``.
fn one_shot_failure(line: &str) -> Option<String> {
    let lower = line.to_ascii_lowercase();
    let at = lower.find("service \"")?;
    let rest = &line[at + "service \"".len()..];
    let (name, after) = rest.split_once('"')?;
    let code = after.strip_prefix(" didn't complete successfully: exit ")?;
    let code: String = code.chars().take_while(char::is_ascii_digit).collect();
    (!code.is_empty()).then(|| format!("one-shot `{name}` exited with code {code}"))
}

fn tail_suffix(tail: &[String]) -> String {
    if tail.is_empty() { String::new() } else { format!(":\n{}", tail.join("\n")) }
}

impl StackError {
    pub(crate) fn engine(context: impl Into<String>, source: bollard::errors::Error) -> Self {
        Self::Engine { context: context.into(), source }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        Self::Io { context: context.into(), source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(s: &str) -> Vec<String> {
        s.lines().map(String::from).collect()
    }

    #[test]
    fn the_cause_of_a_failed_up_is_the_tools_error_line_not_its_progress() {
        // docker-compose 1.29, a host port taken by another process.
        let v1 = lines(
            "Creating network \"p_default\" with the default driver\n\
             Creating p_db_1 ... \n\
             Creating p_api_1 ... error\n\
             ERROR: for p_api_1  Cannot start service api: driver failed programming external connectivity on endpoint p_api_1 (abc): Bind for 0.0.0.0:8000 failed: port is already allocated\n\
             ERROR: for api  Cannot start service api: driver failed programming external connectivity on endpoint p_api_1 (abc): Bind for 0.0.0.0:8000 failed: port is already allocated\n\
             ERROR: Encountered errors while bringing up the project.",
        );
        let cause = compose_cause(&v1).expect("a cause");
        assert!(cause.starts_with("Cannot start service api:"), "{cause}");
        assert!(cause.ends_with("port is already allocated"), "{cause}");
        assert!(!cause.contains("; "), "the per-container duplicate is dropped: {cause}");
        // Compose v2.
        let v2 = lines(
            " Network p_default  Creating\n Network p_default  Created\n Container p-api-1  Starting\n\
             Error response from daemon: driver failed programming external connectivity on endpoint p-api-1 (abc): Bind for 0.0.0.0:8000 failed: port is already allocated",
        );
        let cause = compose_cause(&v2).expect("a cause");
        assert!(
            cause.starts_with("Error response from daemon:") && cause.contains("port is already allocated"),
            "{cause}"
        );
        let err = StackError::Compose { command: "docker compose up".into(), status: "exit status 1".into(), tail: v2 };
        let first = err.to_string().lines().next().unwrap_or_default().to_string();
        assert!(first.contains("port is already allocated"), "the first line carries the cause: {first}");
        // A one-shot that failed while others waited for it: v2, then v1.
        let v2 = lines(
            " Container p-migrate-1  service \"migrate\" didn't complete successfully: exit 1\nservice \"migrate\" didn't complete successfully: exit 1",
        );
        assert_eq!(compose_cause(&v2).as_deref(), Some("one-shot `migrate` exited with code 1"));
        let v1 = lines(
            "ERROR: for api  Service \"migrate\" didn't complete successfully: exit 3\nERROR: Encountered errors while bringing up the project.",
        );
        assert_eq!(compose_cause(&v1).as_deref(), Some("one-shot `migrate` exited with code 3"));
        // No error-looking line: the last line is the best cause there is.
        let v1_config = lines(
            "Service \"api\" defines an invalid healthcheck: \"disable: true\" cannot be combined with other options",
        );
        assert_eq!(compose_cause(&v1_config).as_deref(), Some(v1_config[0].as_str()));
        assert_eq!(compose_cause(&[]), None);
    }
}
