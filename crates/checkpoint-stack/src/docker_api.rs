//! The Docker Engine API side: the connection (always version-negotiated, so
//! a newer client works against Engine 20.10 / API 1.41), the compose labels
//! every lookup goes through, and the label sweep that removes whatever a
//! project left behind.
//!
//! Containers are found by the labels compose puts on them
//! (`com.docker.compose.project` / `.service` / `.oneoff`), never by name:
//! v1 names them `proj_svc_1`, v2 `proj-svc-1`.

use std::collections::HashMap;
use std::time::Duration;

use bollard::Docker;
use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum, NetworkDisconnectRequest};
use bollard::query_parameters::{
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, ListVolumesOptionsBuilder, LogsOptionsBuilder,
    RemoveContainerOptionsBuilder, RemoveVolumeOptionsBuilder,
};
use futures::StreamExt;

use crate::error::StackError;

pub(crate) const PROJECT_LABEL: &str = "com.docker.compose.project";
pub(crate) const SERVICE_LABEL: &str = "com.docker.compose.service";
pub(crate) const ONEOFF_LABEL: &str = "com.docker.compose.oneoff";
pub(crate) const NUMBER_LABEL: &str = "com.docker.compose.container-number";
pub(crate) const NETWORK_LABEL: &str = "com.docker.compose.network";
/// Marks the throw-away probe containers this crate starts.
pub(crate) const PROBE_LABEL: &str = "io.checkpoint.probe";

/// Connects to the local engine (`DOCKER_HOST` or the default socket) and
/// negotiates the API version down to what the daemon speaks.
pub(crate) async fn connect() -> Result<Docker, StackError> {
    let unreachable = |e| StackError::engine(format!("cannot reach the Docker engine ({})", engine_address()), e);
    let docker = Docker::connect_with_local_defaults().map_err(unreachable)?;
    docker.negotiate_version().await.map_err(unreachable)
}

fn engine_address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

pub(crate) fn project_filter(project: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{PROJECT_LABEL}={project}")])])
}

/// One container of the project, inspected.
#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub(crate) id: String,
    /// Without the leading `/`.
    pub(crate) name: String,
    pub(crate) service: String,
    pub(crate) number: u32,
    pub(crate) inspect: ContainerInspectResponse,
}

impl Container {
    pub(crate) fn status(&self) -> ContainerStateStatusEnum {
        self.inspect.state.as_ref().and_then(|s| s.status).unwrap_or(ContainerStateStatusEnum::EMPTY)
    }

    pub(crate) fn is_running(&self) -> bool {
        self.status() == ContainerStateStatusEnum::RUNNING
    }

    pub(crate) fn restarts(&self) -> u32 {
        self.inspect.restart_count.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)
    }

    pub(crate) fn image(&self) -> Option<String> {
        self.inspect.config.as_ref().and_then(|c| c.image.clone())
    }

    pub(crate) fn short_id(&self) -> &str {
        &self.id[..self.id.len().min(12)]
    }

    /// The host address (`127.0.0.1:49153`) at which container port
    /// `port/tcp` is published, if it is (an IPv4 binding preferred).
    pub(crate) fn published(&self, port: u16) -> Option<String> {
        let ports = self.inspect.network_settings.as_ref()?.ports.as_ref()?;
        let bindings = ports.get(&format!("{port}/tcp"))?.as_ref()?;
        let pick =
            bindings.iter().find(|b| !b.host_ip.as_deref().unwrap_or("").contains(':')).or_else(|| bindings.first())?;
        let host_port = pick.host_port.as_deref().filter(|p| !p.is_empty())?;
        Some(format!("{}:{host_port}", host_for(pick.host_ip.as_deref().unwrap_or(""))))
    }

    /// Every published port: `8000/tcp -> 127.0.0.1:49153`, sorted; the IPv6
    /// twin of an IPv4 binding is left out.
    pub(crate) fn port_lines(&self) -> Vec<String> {
        let Some(ports) = self.inspect.network_settings.as_ref().and_then(|n| n.ports.as_ref()) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (container_port, bindings) in ports {
            let bindings = bindings.as_deref().unwrap_or(&[]);
            let has_v4 = bindings.iter().any(|b| !b.host_ip.as_deref().unwrap_or("").contains(':'));
            for b in bindings {
                let ip = b.host_ip.as_deref().unwrap_or("");
                if has_v4 && ip.contains(':') {
                    continue;
                }
                let line = format!("{container_port} -> {}:{}", host_for(ip), b.host_port.as_deref().unwrap_or("?"));
                if !out.contains(&line) {
                    out.push(line);
                }
            }
        }
        out.sort();
        out
    }
}

/// Where the harness reaches a port bound on `ip` of the engine's host: the
/// wildcard means the engine's host itself (localhost for a local engine, the
/// host of a `tcp://` or `ssh://` `DOCKER_HOST`).
fn host_for(ip: &str) -> String {
    match ip {
        "" | "0.0.0.0" => engine_host(),
        "::" => "[::1]".into(),
        v6 if v6.contains(':') => format!("[{v6}]"),
        v4 => v4.into(),
    }
}

fn engine_host() -> String {
    engine_host_of(&std::env::var("DOCKER_HOST").unwrap_or_default())
}

/// The host of a `tcp://` or `ssh://` `DOCKER_HOST` (the `docker` service of
/// a CI job's Docker-in-Docker), loopback for a local socket or none.
fn engine_host_of(host: &str) -> String {
    let rest = host.strip_prefix("tcp://").or_else(|| host.strip_prefix("ssh://"));
    match rest {
        Some(rest) => {
            let authority = rest.split('/').next().unwrap_or(rest);
            let authority = authority.rsplit('@').next().unwrap_or(authority);
            let h = match authority.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or(v6).to_string(),
                None => authority.split(':').next().unwrap_or(authority).to_string(),
            };
            match h.as_str() {
                "" | "localhost" => "127.0.0.1".into(),
                v6 if v6.contains(':') => format!("[{v6}]"),
                _ => h,
            }
        }
        None => "127.0.0.1".into(),
    }
}

/// Every container of the project, inspected, sorted by service and number.
/// One-off containers (`compose run`, probes) only with `oneoff`.
pub(crate) async fn project_containers(
    docker: &Docker,
    project: &str,
    oneoff: bool,
) -> Result<Vec<Container>, bollard::errors::Error> {
    let list = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&project_filter(project)).build()))
        .await?;
    let mut out = Vec::with_capacity(list.len());
    for summary in list {
        let labels = summary.labels.unwrap_or_default();
        let is_oneoff = labels.get(ONEOFF_LABEL).is_some_and(|v| v.eq_ignore_ascii_case("true"));
        if is_oneoff && !oneoff {
            continue;
        }
        let Some(id) = summary.id else { continue };
        let inspect = match docker.inspect_container(&id, None).await {
            Ok(i) => i,
            // Removed between the list and the inspect.
            Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }) => continue,
            Err(e) => return Err(e),
        };
        let name = inspect.name.as_deref().unwrap_or(&id).trim_start_matches('/').to_string();
        out.push(Container {
            service: labels.get(SERVICE_LABEL).cloned().unwrap_or_default(),
            number: labels.get(NUMBER_LABEL).and_then(|n| n.parse().ok()).unwrap_or(0),
            id,
            name,
            inspect,
        });
    }
    out.sort_by(|a, b| (&a.service, a.number, &a.name).cmp(&(&b.service, b.number, &b.name)));
    Ok(out)
}

/// The whole log of a container (stdout and stderr, as the engine
/// interleaves them), or its last `tail` lines.
pub(crate) async fn container_logs(
    docker: &Docker,
    id: &str,
    tail: Option<usize>,
    timestamps: bool,
) -> Result<String, bollard::errors::Error> {
    let tail = tail.map_or_else(|| "all".to_string(), |n| n.to_string());
    let opts = LogsOptionsBuilder::new().stdout(true).stderr(true).timestamps(timestamps).tail(&tail).build();
    read_logs(docker, id, opts).await
}

async fn read_logs(
    docker: &Docker,
    id: &str,
    opts: bollard::query_parameters::LogsOptions,
) -> Result<String, bollard::errors::Error> {
    let mut stream = docker.logs(id, Some(opts));
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk?.into_bytes());
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// What a container logged from `since` on, at most its last `tail` lines,
/// each after the engine's timestamp (`2026-12-07T04:00:00.123456789Z`,
/// fixed width). The engine takes whole seconds, so the lines before `since`
/// are dropped here: a check that started at .7 s does not quote what the
/// one before it caused at .2 s. The timestamps stay: they tell which
/// request a traceback belongs to when the app writes its access lines and
/// its tracebacks to two pipes (`model::logged::error_of`).
pub(crate) async fn container_logs_since(
    docker: &Docker,
    id: &str,
    since: std::time::SystemTime,
    tail: usize,
) -> Result<String, bollard::errors::Error> {
    let secs = since.duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let tail = tail.to_string();
    let opts = LogsOptionsBuilder::new()
        .stdout(true)
        .stderr(true)
        .timestamps(true)
        .since(i32::try_from(secs).unwrap_or(i32::MAX))
        .tail(&tail)
        .build();
    Ok(lines_since(&read_logs(docker, id, opts).await?, since))
}

/// The lines of a timestamped log at or after `since`.
fn lines_since(log: &str, since: std::time::SystemTime) -> String {
    let from = humantime::format_rfc3339_nanos(since).to_string();
    let mut out = String::new();
    for line in log.lines() {
        let stamp = line.split_once(' ').map_or(line, |(stamp, _)| stamp);
        if stamp >= from.as_str() {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Removes every container, network and volume labelled with the project,
/// forcibly, and checks that nothing is left. Returns what it removed
/// (`container proj_api_1`), empty when teardown had already been complete.
pub(crate) async fn remove_project_resources(docker: &Docker, project: &str) -> Result<Vec<String>, StackError> {
    let mut removed = Vec::new();
    // Auto-removed containers can be "removal in progress" for a moment; a
    // few rounds give them time to disappear before declaring a leftover.
    for round in 0..5 {
        removed.extend(remove_round(docker, project).await?);
        let remaining = remaining_resources(docker, project).await?;
        if remaining.is_empty() {
            return Ok(removed);
        }
        if round == 4 {
            return Err(StackError::Leftovers { project: project.to_string(), remaining });
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    unreachable!("the last round returns")
}

async fn remove_round(docker: &Docker, project: &str) -> Result<Vec<String>, StackError> {
    let filter = project_filter(project);
    let mut removed = Vec::new();
    let ctx = |what: &str| format!("removing leftovers of project `{project}`: {what}");

    let containers = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filter).build()))
        .await
        .map_err(|e| StackError::engine(ctx("listing containers"), e))?;
    for c in containers {
        let Some(id) = c.id else { continue };
        let name = c.names.and_then(|n| n.into_iter().next()).unwrap_or_else(|| id.clone());
        let opts = RemoveContainerOptionsBuilder::new().force(true).v(true).build();
        let what = format!("container {}", name.trim_start_matches('/'));
        removal(docker.remove_container(&id, Some(opts)).await, what, &mut removed, ctx)?;
    }

    let networks = docker
        .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filter).build()))
        .await
        .map_err(|e| StackError::engine(ctx("listing networks"), e))?;
    for n in networks {
        let Some(id) = n.id else { continue };
        let name = n.name.unwrap_or_else(|| id.clone());
        // Containers of other projects may have been connected by hand.
        if let Ok(full) = docker.inspect_network(&id, None).await {
            for container in full.containers.unwrap_or_default().into_keys() {
                let _ = docker.disconnect_network(&id, NetworkDisconnectRequest { container, force: Some(true) }).await;
            }
        }
        removal(docker.remove_network(&id).await, format!("network {name}"), &mut removed, ctx)?;
    }

    let volumes = docker
        .list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filter).build()))
        .await
        .map_err(|e| StackError::engine(ctx("listing volumes"), e))?;
    for v in volumes.volumes.unwrap_or_default() {
        let opts = RemoveVolumeOptionsBuilder::new().force(true).build();
        removal(docker.remove_volume(&v.name, Some(opts)).await, format!("volume {}", v.name), &mut removed, ctx)?;
    }
    Ok(removed)
}

/// What still carries the project label: `container x`, `network y`, `volume z`.
/// How long what a project has must stay the same after compose was killed
/// before it is taken as all there is, and the longest wait for that.
const SETTLE_QUIET: Duration = Duration::from_secs(1);
const SETTLE_CAP: Duration = Duration::from_secs(3);

/// After compose was killed mid-`up`: the engine still completes the request
/// compose had sent (docker-compose 1.29 killed while `Creating network …`
/// left the network, created after the teardown had looked), so the
/// project's resources can grow for a moment. Waits until they have not
/// changed for [`SETTLE_QUIET`], at most [`SETTLE_CAP`].
pub(crate) async fn settle(docker: &Docker, project: &str) {
    let listed = || async {
        let mut now = remaining_resources(docker, project).await.ok();
        if let Some(n) = &mut now {
            n.sort();
        }
        now
    };
    let started = std::time::Instant::now();
    let mut last = listed().await;
    let mut unchanged_since = std::time::Instant::now();
    while started.elapsed() < SETTLE_CAP {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let now = listed().await;
        if now != last {
            last = now;
            unchanged_since = std::time::Instant::now();
        } else if unchanged_since.elapsed() >= SETTLE_QUIET {
            return;
        }
    }
}

pub(crate) async fn remaining_resources(docker: &Docker, project: &str) -> Result<Vec<String>, StackError> {
    let filter = project_filter(project);
    let ctx = || format!("checking what is left of project `{project}`");
    let mut out = Vec::new();
    for c in docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filter).build()))
        .await
        .map_err(|e| StackError::engine(ctx(), e))?
    {
        let name = c.names.and_then(|n| n.into_iter().next()).or(c.id).unwrap_or_default();
        out.push(format!("container {}", name.trim_start_matches('/')));
    }
    for n in docker
        .list_networks(Some(ListNetworksOptionsBuilder::new().filters(&filter).build()))
        .await
        .map_err(|e| StackError::engine(ctx(), e))?
    {
        out.push(format!("network {}", n.name.or(n.id).unwrap_or_default()));
    }
    for v in docker
        .list_volumes(Some(ListVolumesOptionsBuilder::new().filters(&filter).build()))
        .await
        .map_err(|e| StackError::engine(ctx(), e))?
        .volumes
        .unwrap_or_default()
    {
        out.push(format!("volume {}", v.name));
    }
    Ok(out)
}

/// One removal's outcome: `what` joins `removed` when it was removed; gone
/// already, or being removed, is no error.
fn removal(
    result: Result<(), bollard::errors::Error>,
    what: String,
    removed: &mut Vec<String>,
    ctx: impl Fn(&str) -> String,
) -> Result<(), StackError> {
    match result {
        Ok(()) => removed.push(what),
        Err(e) if is_gone_or_busy(&e) => {}
        Err(e) => return Err(StackError::engine(ctx(&what), e)),
    }
    Ok(())
}

/// 404 (already gone) or 409 (removal already in progress): the next round
/// or the final check decides.
fn is_gone_or_busy(e: &bollard::errors::Error) -> bool {
    matches!(e, bollard::errors::Error::DockerResponseServerError { status_code: 404 | 409, .. })
}

/// Removes every container, network and volume labelled
/// `com.docker.compose.project=<project>` through the Engine API, without the
/// compose tool or the compose files: for a run that crashed before its
/// teardown, and for tests. Returns what it removed (`container x_api_1`).
pub async fn cleanup_project(project: &str) -> Result<Vec<String>, StackError> {
    if project.is_empty() {
        return Err(StackError::Invalid("cleanup_project needs a project name".into()));
    }
    let docker = connect().await?;
    remove_project_resources(&docker, project).await
}

/// Short text for an engine error: the daemon's message when it sent one.
pub(crate) fn engine_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.trim().to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{engine_host_of, lines_since};

    /// The engine's `since` is whole seconds: the lines of the same second
    /// before the check are dropped by their timestamps.
    #[test]
    fn a_log_since_drops_the_lines_before_it() {
        let log = "2026-12-07T04:00:00.200000000Z INFO before\n\
                   2026-12-07T04:00:00.700000000Z ERROR: the check's\n\
                   2026-12-07T04:00:01.000000000Z   File \"x.py\", line 1\n";
        let since = humantime::parse_rfc3339("2026-12-07T04:00:00.500Z").expect("time");
        assert_eq!(
            lines_since(log, since),
            "2026-12-07T04:00:00.700000000Z ERROR: the check's\n2026-12-07T04:00:01.000000000Z   File \"x.py\", line 1\n"
        );
    }

    /// A port published on the wildcard is reached at the engine's host:
    /// GitLab's `docker:dind` service (`tcp://docker:2375`), a remote engine
    /// over SSH, or loopback for the local socket.
    #[test]
    fn the_engine_host_comes_from_docker_host() {
        for (docker_host, want) in [
            ("", "127.0.0.1"),
            ("unix:///var/run/docker.sock", "127.0.0.1"),
            ("tcp://docker:2375", "docker"),
            ("tcp://docker:2376/", "docker"),
            ("tcp://localhost:2375", "127.0.0.1"),
            ("tcp://10.0.0.5:2375", "10.0.0.5"),
            ("ssh://ci@build-host", "build-host"),
            ("ssh://ci@build-host:2222", "build-host"),
            ("tcp://[fd00::5]:2375", "[fd00::5]"),
        ] {
            assert_eq!(engine_host_of(docker_host), want, "DOCKER_HOST={docker_host}");
        }
    }
}
