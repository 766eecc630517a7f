//! [`DockerTarget`]: the checks' view of a compose stack, through the Engine
//! API only — published endpoints, service states, exec, probe containers,
//! log tails and faults (stop, kill, pause, network disconnect) with their
//! undo.
//!
//! Every lookup is live (a restarted container gets a new host port) and goes
//! through the compose labels of the project; one-off containers (`compose
//! run`, probes) are never mistaken for a service's container.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, ContainerStateStatusEnum, EndpointSettings, HostConfig, NetworkConnectRequest,
    NetworkDisconnectRequest,
};
use bollard::query_parameters::{
    KillContainerOptionsBuilder, ListNetworksOptionsBuilder, LogsOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder, WaitContainerOptionsBuilder,
};
use checkpoint_model::result::{Incident, ServiceReport, StackReport};
use checkpoint_target::{ExecOutput, ExecRequest, FaultAction, Target, TargetError};
use futures::StreamExt;

use crate::docker_api::{self, Container, NETWORK_LABEL, ONEOFF_LABEL, PROBE_LABEL, PROJECT_LABEL, SERVICE_LABEL};
use crate::ready::describe_state;
use crate::stack::Inner;

/// The image of probe containers unless `CHECKPOINT_PROBE_IMAGE` names another.
pub const DEFAULT_PROBE_IMAGE: &str = "checkpoint-local/bookworm:1";
/// Seconds a stopped service gets between SIGTERM and SIGKILL.
const STOP_GRACE_S: i32 = 2;
/// Output kept per stream of an exec or probe.
const MAX_OUTPUT: usize = 1 << 20;

/// The Docker implementation of [`Target`], sharing its state with the
/// [`crate::ComposeStack`] it came from.
#[derive(Clone)]
pub struct DockerTarget {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for DockerTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerTarget").field("project", &self.inner.opts.project).finish_non_exhaustive()
    }
}

fn failed(context: impl std::fmt::Display, e: &bollard::errors::Error) -> TargetError {
    TargetError::Failed(format!("{context}: {}", docker_api::engine_message(e)))
}

fn status_code(e: &bollard::errors::Error) -> Option<u16> {
    match e {
        bollard::errors::Error::DockerResponseServerError { status_code, .. } => Some(*status_code),
        _ => None,
    }
}

impl DockerTarget {
    async fn docker(&self) -> Result<&Docker, TargetError> {
        self.inner.docker().await.map_err(|e| TargetError::Failed(e.to_string()))
    }

    fn project(&self) -> &str {
        &self.inner.opts.project
    }

    /// The service's containers (not one-offs), in container-number order.
    async fn containers(&self, service: &str) -> Result<Vec<Container>, TargetError> {
        let docker = self.docker().await?;
        let all = docker_api::project_containers(docker, self.project(), false)
            .await
            .map_err(|e| failed(format!("listing the containers of project `{}`", self.project()), &e))?;
        let mine: Vec<Container> = all.iter().filter(|c| c.service == service).cloned().collect();
        if mine.is_empty() {
            let mut known: Vec<String> = self.inner.expected_services();
            for c in &all {
                if !known.contains(&c.service) {
                    known.push(c.service.clone());
                }
            }
            let hint = if known.is_empty() { String::new() } else { format!(" (services: {})", known.join(", ")) };
            return Err(TargetError::Failed(format!(
                "service `{service}` has no container in project `{}`{hint}",
                self.project()
            )));
        }
        Ok(mine)
    }

    /// The first running container of the service, or why there is none.
    async fn running(&self, service: &str, to: &str) -> Result<Container, TargetError> {
        let cs = self.containers(service).await?;
        if let Some(c) = cs.iter().find(|c| c.is_running()) {
            return Ok(c.clone());
        }
        Err(TargetError::Failed(format!(
            "service `{service}` is not running ({}); cannot {to}",
            describe_state(&cs[0])
        )))
    }

    /// The Docker network behind a compose network name: by labels, then by
    /// the `<project>_<network>` convention, then the name itself (external).
    async fn network_id(&self, docker: &Docker, network: &str) -> Result<String, TargetError> {
        let project = self.project();
        let by_label = std::collections::HashMap::from([(
            "label".to_string(),
            vec![format!("{PROJECT_LABEL}={project}"), format!("{NETWORK_LABEL}={network}")],
        )]);
        let found = docker
            .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&by_label).build()))
            .await
            .map_err(|e| failed(format!("looking up network `{network}`"), &e))?;
        if let Some(id) = found.into_iter().find_map(|n| n.id) {
            return Ok(id);
        }
        for name in [format!("{project}_{network}"), network.to_string()] {
            if let Ok(n) = docker.inspect_network(&name, None).await
                && let Some(id) = n.id
            {
                return Ok(id);
            }
        }
        Err(TargetError::Failed(format!("project `{project}` has no network `{network}`")))
    }

    async fn disconnect(&self, service: &str, network: Option<&str>) -> Result<(), TargetError> {
        let docker = self.docker().await?;
        let wanted = match network {
            Some(n) => Some(self.network_id(docker, n).await?),
            None => None,
        };
        let mut done = 0;
        for c in self.containers(service).await? {
            let attached = c.inspect.network_settings.as_ref().and_then(|n| n.networks.clone()).unwrap_or_default();
            for (name, endpoint) in attached {
                let id = endpoint.network_id.clone().unwrap_or_else(|| name.clone());
                if wanted.as_ref().is_some_and(|w| *w != id && *w != name) {
                    continue;
                }
                let aliases = endpoint.aliases.clone().unwrap_or_default();
                docker
                    .disconnect_network(&id, NetworkDisconnectRequest { container: c.id.clone(), force: Some(true) })
                    .await
                    .map_err(|e| failed(format!("disconnecting {} from {name}", c.name), &e))?;
                self.inner.shared.lock().expect("shared lock").disconnected.insert((c.id.clone(), id), aliases);
                done += 1;
            }
        }
        if done == 0 {
            return Err(TargetError::Failed(match network {
                Some(n) => format!("service `{service}` is not attached to network `{n}`"),
                None => format!("service `{service}` is not attached to any network"),
            }));
        }
        Ok(())
    }

    async fn reconnect(&self, service: &str, network: Option<&str>) -> Result<(), TargetError> {
        let docker = self.docker().await?;
        let wanted = match network {
            Some(n) => Some(self.network_id(docker, n).await?),
            None => None,
        };
        for c in self.containers(service).await? {
            let targets: Vec<(String, Vec<String>)> = {
                let shared = self.inner.shared.lock().expect("shared lock");
                let recorded: Vec<(String, Vec<String>)> = shared
                    .disconnected
                    .iter()
                    .filter(|((cid, nid), _)| *cid == c.id && wanted.as_ref().is_none_or(|w| w == nid))
                    .map(|((_, nid), aliases)| (nid.clone(), aliases.clone()))
                    .collect();
                match (&wanted, recorded.is_empty()) {
                    // Disconnected by someone else: reconnect with the service alias.
                    (Some(w), true) => vec![(w.clone(), Vec::new())],
                    _ => recorded,
                }
            };
            for (network_id, mut aliases) in targets {
                // The service name is what other services resolve: it must come back.
                if !aliases.iter().any(|a| a == service) {
                    aliases.insert(0, service.to_string());
                }
                let request = NetworkConnectRequest {
                    container: c.id.clone(),
                    endpoint_config: Some(EndpointSettings { aliases: Some(aliases), ..Default::default() }),
                };
                match docker.connect_network(&network_id, request).await {
                    Ok(()) => {}
                    // Already connected (reconnected by hand, or restored twice).
                    Err(e)
                        if matches!(status_code(&e), Some(403 | 409))
                            && docker_api::engine_message(&e).contains("already exists") => {}
                    Err(e) => return Err(failed(format!("reconnecting {} to its network", c.name), &e)),
                }
                self.inner.shared.lock().expect("shared lock").disconnected.remove(&(c.id.clone(), network_id));
            }
        }
        Ok(())
    }

    async fn run_probe(&self, service: &str, argv: &[String], timeout: Duration) -> Result<ExecOutput, TargetError> {
        if argv.is_empty() {
            return Err(TargetError::Failed("probe: empty command".into()));
        }
        let target = self.running(service, "probe its network").await?;
        let docker = self.docker().await?;
        let image = std::env::var("CHECKPOINT_PROBE_IMAGE")
            .ok()
            .filter(|i| !i.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_PROBE_IMAGE.to_string());
        let labels = [
            (PROJECT_LABEL, self.project().to_string()),
            (SERVICE_LABEL, service.to_string()),
            (ONEOFF_LABEL, "True".to_string()),
            (PROBE_LABEL, "1".to_string()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let body = ContainerCreateBody {
            image: Some(image.clone()),
            cmd: Some(argv.to_vec()),
            // Never the image's entrypoint: the argv is the whole command.
            entrypoint: Some(Vec::new()),
            labels: Some(labels),
            host_config: Some(HostConfig {
                network_mode: Some(format!("container:{}", target.id)),
                ..Default::default()
            }),
            ..Default::default()
        };
        let created = docker.create_container(None, body).await.map_err(|e| {
            if status_code(&e) == Some(404) {
                TargetError::Failed(format!(
                    "probe image `{image}` is not available: build it (fixtures/images/build.sh) or set CHECKPOINT_PROBE_IMAGE"
                ))
            } else {
                failed("creating a probe container", &e)
            }
        })?;
        let guard = RemoveOnDrop { docker: Some(docker.clone()), id: created.id.clone() };
        let via = format!("probe container ({image}) in the network of {}", target.name);

        let run = async {
            docker.start_container(&created.id, None).await.map_err(|e| failed("starting the probe container", &e))?;
            let mut wait = docker
                .wait_container(&created.id, Some(WaitContainerOptionsBuilder::new().condition("not-running").build()));
            // A non-zero exit arrives as an error; the code is read from inspect below.
            let _ = wait.next().await;
            let inspect =
                docker.inspect_container(&created.id, None).await.map_err(|e| failed("inspecting the probe", &e))?;
            let exit_code = inspect.state.and_then(|s| s.exit_code).unwrap_or(-1);
            let mut logs = docker.logs(&created.id, Some(LogsOptionsBuilder::new().stdout(true).stderr(true).build()));
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            while let Some(chunk) = logs.next().await {
                push_output(chunk.map_err(|e| failed("reading the probe output", &e))?, &mut stdout, &mut stderr);
            }
            Ok::<_, TargetError>(ExecOutput {
                exit_code,
                stdout: lossy(&stdout),
                stderr: lossy(&stderr),
                via: via.clone(),
            })
        };
        let result = tokio::time::timeout(timeout, run).await;
        guard.remove_now().await;
        match result {
            Ok(r) => r,
            Err(_) => Err(TargetError::Failed(format!(
                "probe `{}` did not finish within {:.1}s ({via})",
                argv.join(" "),
                timeout.as_secs_f64()
            ))),
        }
    }
}

/// Removes a probe container however the probe ends (timeout, cancellation).
struct RemoveOnDrop {
    docker: Option<Docker>,
    id: String,
}

impl RemoveOnDrop {
    async fn remove_now(mut self) {
        if let Some(docker) = self.docker.take() {
            let opts = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
            let _ = docker.remove_container(&self.id, Some(opts)).await;
        }
    }
}

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let Some(docker) = self.docker.take() else { return };
        let id = std::mem::take(&mut self.id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let opts = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
                let _ = docker.remove_container(&id, Some(opts)).await;
            });
        }
    }
}

fn push_output(chunk: LogOutput, stdout: &mut Vec<u8>, stderr: &mut Vec<u8>) {
    let (buf, bytes) = match chunk {
        LogOutput::StdErr { message } => (stderr, message),
        LogOutput::StdOut { message } | LogOutput::Console { message } => (stdout, message),
        LogOutput::StdIn { .. } => return,
    };
    let room = MAX_OUTPUT.saturating_sub(buf.len());
    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

fn lossy(bytes: &[u8]) -> String {
    let mut s = String::from_utf8_lossy(bytes).into_owned();
    if bytes.len() >= MAX_OUTPUT {
        s.push_str("\n[output truncated at 1 MiB]");
    }
    s
}

#[async_trait]
impl Target for DockerTarget {
    fn describe(&self) -> String {
        let tool =
            self.inner.tool_if_known().map_or_else(|| "compose".to_string(), super::compose::ComposeTool::command);
        format!("{tool} project {}", self.project())
    }

    async fn endpoint(&self, service: &str, port: u16) -> Result<String, TargetError> {
        let cs = self.containers(service).await?;
        let Some(c) = cs.iter().find(|c| c.is_running()) else {
            return Err(TargetError::Failed(format!(
                "service `{service}` is not running ({}), so port {port} is not reachable",
                describe_state(&cs[0])
            )));
        };
        c.published(port).ok_or_else(|| {
            TargetError::Failed(format!(
                "service `{service}` does not publish port {port}; add `ports: [\"{port}\"]` to the compose file"
            ))
        })
    }

    async fn services(&self) -> Result<Vec<ServiceReport>, TargetError> {
        let docker = self.docker().await?;
        let all = docker_api::project_containers(docker, self.project(), false)
            .await
            .map_err(|e| failed(format!("listing the containers of project `{}`", self.project()), &e))?;
        let log_files = self.inner.shared.lock().expect("shared lock").log_files.clone();
        let mut out = Vec::new();
        let mut names: Vec<String> = self.inner.configured_services();
        for c in &all {
            if !names.contains(&c.service) {
                names.push(c.service.clone());
            }
        }
        for service in names {
            let cs: Vec<&Container> = all.iter().filter(|c| c.service == service).collect();
            let log_file = log_files.get(&service).map(|p| p.display().to_string());
            if cs.is_empty() {
                out.push(ServiceReport {
                    name: service.clone(),
                    state: "not created".into(),
                    log_file,
                    one_shot: self.inner.is_one_shot(&service),
                    ..Default::default()
                });
                continue;
            }
            for c in &cs {
                let state = c.inspect.state.clone().unwrap_or_default();
                let status = state.status.unwrap_or(ContainerStateStatusEnum::EMPTY);
                let name = if cs.len() > 1 { format!("{service}#{}", c.number) } else { service.clone() };
                out.push(ServiceReport {
                    name,
                    image: c.image(),
                    state: status.to_string(),
                    health: state
                        .health
                        .and_then(|h| h.status)
                        .map(|h| h.to_string())
                        .filter(|h| !h.is_empty() && h != "none"),
                    restarts: c.restarts(),
                    ready_ms: None,
                    exit_code: if status == ContainerStateStatusEnum::RUNNING { None } else { state.exit_code },
                    oom_killed: state.oom_killed == Some(true),
                    ports: c.port_lines(),
                    log_file: log_file.clone(),
                    one_shot: self.inner.is_one_shot(&service),
                });
            }
        }
        Ok(out)
    }

    async fn exec(&self, service: &str, command: ExecRequest<'_>) -> Result<ExecOutput, TargetError> {
        let ExecRequest { argv, env, user, timeout } = command;
        if argv.is_empty() {
            return Err(TargetError::Failed("exec: empty command".into()));
        }
        let c = self.running(service, "exec in it").await?;
        let docker = self.docker().await?;
        let config = CreateExecOptions::<String> {
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            cmd: Some(argv.to_vec()),
            env: (!env.is_empty()).then(|| env.iter().map(|(k, v)| format!("{k}={v}")).collect()),
            user: user.map(String::from),
            ..Default::default()
        };
        let via = format!("exec in {}", c.name);
        let run = async {
            let exec =
                docker.create_exec(&c.id, config).await.map_err(|e| failed(format!("exec in {}", c.name), &e))?;
            let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
            match docker.start_exec(&exec.id, None).await.map_err(|e| failed(format!("exec in {}", c.name), &e))? {
                StartExecResults::Attached { mut output, input } => {
                    drop(input);
                    while let Some(chunk) = output.next().await {
                        push_output(chunk.map_err(|e| failed("reading exec output", &e))?, &mut stdout, &mut stderr);
                    }
                }
                StartExecResults::Detached => {}
            }
            // The stream ends a moment before the engine records the exit code.
            let mut exit_code = -1;
            for _ in 0..100 {
                let i = docker.inspect_exec(&exec.id).await.map_err(|e| failed("inspecting the exec", &e))?;
                if i.running != Some(true) {
                    exit_code = i.exit_code.unwrap_or(-1);
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Ok::<_, TargetError>(ExecOutput {
                exit_code,
                stdout: lossy(&stdout),
                stderr: lossy(&stderr),
                via: via.clone(),
            })
        };
        tokio::time::timeout(timeout, run).await.unwrap_or_else(|_| {
            Err(TargetError::Failed(format!(
                "`{}` did not finish within {:.1}s ({via}; the process may still be running there)",
                argv.join(" "),
                timeout.as_secs_f64()
            )))
        })
    }

    async fn probe(&self, service: &str, argv: &[String], timeout: Duration) -> Result<ExecOutput, TargetError> {
        self.run_probe(service, argv, timeout).await
    }

    async fn logs_tail(&self, service: &str, lines: usize) -> Result<String, TargetError> {
        let cs = self.containers(service).await?;
        let docker = self.docker().await?;
        let mut out = String::new();
        for c in &cs {
            if cs.len() > 1 {
                let _ = writeln!(out, "==> {} <==", c.name);
            }
            let log = docker_api::container_logs(docker, &c.id, Some(lines), false)
                .await
                .map_err(|e| failed(format!("reading the log of {}", c.name), &e))?;
            out.push_str(&log);
        }
        Ok(out)
    }

    async fn logs_since(&self, service: &str, since: SystemTime, lines: usize) -> Result<String, TargetError> {
        let cs = self.containers(service).await?;
        let docker = self.docker().await?;
        let mut out = String::new();
        for c in &cs {
            let log = docker_api::container_logs_since(docker, &c.id, since, lines)
                .await
                .map_err(|e| failed(format!("reading the log of {}", c.name), &e))?;
            out.push_str(&log);
        }
        Ok(out)
    }

    async fn fault(&self, service: &str, action: FaultAction, network: Option<&str>) -> Result<(), TargetError> {
        // From now until a grace period after the restore, what the service
        // does is this fault's doing, not an incident.
        self.inner.shared.lock().expect("shared lock").faults.insert(service.to_string(), None);
        if action == FaultAction::Disconnect {
            return self.disconnect(service, network).await;
        }
        let docker = self.docker().await?;
        let cs = self.containers(service).await?;
        for c in cs.iter().filter(|c| c.is_running()) {
            let r = match action {
                FaultAction::Stop => {
                    docker.stop_container(&c.id, Some(StopContainerOptionsBuilder::new().t(STOP_GRACE_S).build())).await
                }
                FaultAction::Kill => {
                    docker
                        .kill_container(&c.id, Some(KillContainerOptionsBuilder::new().signal("SIGKILL").build()))
                        .await
                }
                FaultAction::Pause => docker.pause_container(&c.id).await,
                FaultAction::Disconnect => unreachable!("handled above"),
            };
            r.map_err(|e| failed(format!("{} {}", verb(action), c.name), &e))?;
        }
        if !cs.iter().any(Container::is_running) {
            return Err(TargetError::Failed(format!(
                "service `{service}` is not running ({}); nothing to {}",
                describe_state(&cs[0]),
                verb(action)
            )));
        }
        Ok(())
    }

    async fn restore(&self, service: &str, action: FaultAction, network: Option<&str>) -> Result<(), TargetError> {
        let result = self.restore_now(service, action, network).await;
        let until = std::time::Instant::now() + crate::watch::FAULT_GRACE;
        self.inner.shared.lock().expect("shared lock").faults.insert(service.to_string(), Some(until));
        result
    }

    async fn incidents(&self) -> Vec<Incident> {
        self.inner.shared.lock().expect("shared lock").incidents.clone()
    }

    async fn report(&self) -> Option<StackReport> {
        self.report_now().await
    }
}

impl DockerTarget {
    async fn restore_now(&self, service: &str, action: FaultAction, network: Option<&str>) -> Result<(), TargetError> {
        if action == FaultAction::Disconnect {
            return self.reconnect(service, network).await;
        }
        let docker = self.docker().await?;
        for c in self.containers(service).await? {
            let r = match (action, c.status()) {
                (FaultAction::Pause, ContainerStateStatusEnum::PAUSED) => docker.unpause_container(&c.id).await,
                (FaultAction::Pause, _) | (_, ContainerStateStatusEnum::RUNNING) => Ok(()),
                // A restart policy may be bringing it back already; starting
                // a running container answers 304, which is success.
                _ => docker.start_container(&c.id, None).await,
            };
            r.map_err(|e| failed(format!("restoring {} after {}", c.name, verb(action)), &e))?;
        }
        Ok(())
    }

    async fn report_now(&self) -> Option<StackReport> {
        let tool = match self.inner.tool().await {
            Ok(t) => t.to_string(),
            Err(_) => "compose".into(),
        };
        let services = self.services().await.unwrap_or_default();
        let shared = self.inner.shared.lock().expect("shared lock");
        Some(StackReport {
            project: self.project().to_string(),
            compose_files: self.inner.opts.compose_files.iter().map(|f| f.display().to_string()).collect(),
            tool,
            started_ms: None,
            up_ms: None,
            ready_ms: shared.ready_ms,
            services,
            logs_dir: shared.logs_dir.as_ref().map(|d| d.display().to_string()),
            not_ready: shared.not_ready.clone(),
            incidents: shared.incidents.clone(),
        })
    }
}

fn verb(action: FaultAction) -> &'static str {
    match action {
        FaultAction::Stop => "stop",
        FaultAction::Kill => "kill",
        FaultAction::Pause => "pause",
        FaultAction::Disconnect => "disconnect",
    }
}
