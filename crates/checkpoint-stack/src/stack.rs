//! The stack of one run: a compose project with a unique name, brought up
//! through the compose tool ([`ComposeStack::up`]) or attached to when it is
//! already running ([`ComposeStack::attach`]), observed through the Engine
//! API, its logs saved, and torn down so that nothing with its project label
//! remains ([`ComposeStack::down`]).
//!
//! A [`ComposeStack`] is a cheap handle; the [`crate::DockerTarget`] it hands
//! out shares its state, so the report the target writes includes when the
//! stack became ready and where its logs went.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bollard::Docker;
use checkpoint_target::Target;
use indexmap::IndexMap;
use rand::Rng as _;
use tokio::sync::OnceCell;
use tokio_util::sync::CancellationToken;

use crate::compose::{self, ComposeTool, ToolChoice};
use crate::docker_api;
use crate::error::StackError;
use crate::ready::{self, NotReady, ReadyReport};
use crate::target::DockerTarget;
use crate::watch::Watch;
use checkpoint_model::result::{Incident, NotReadyReport};

/// How to run the stack of one checkpoint run.
#[derive(Clone, Debug)]
pub struct StackOptions {
    /// `-f` files, in order (absolute, or relative to `project_dir`).
    pub compose_files: Vec<PathBuf>,
    /// `--env-file` files (v1 accepts one; with several, their variables are
    /// passed through the environment instead).
    pub env_files: Vec<PathBuf>,
    /// Where compose runs: relative paths and `.env` resolve from here.
    pub project_dir: PathBuf,
    /// The full compose project name (`[a-z0-9][a-z0-9_-]*`), see [`project_name`].
    pub project: String,
    /// Services to start (and wait for); empty = all of them.
    pub services: Vec<String>,
    /// How long [`ComposeStack::wait_ready`] waits at most.
    pub ready_timeout: Duration,
    /// A container port per service that must accept TCP connections (through
    /// its published host port) before the service counts as ready.
    pub ready_ports: IndexMap<String, u16>,
    /// Extra environment for the compose tool (interpolation of `${VAR}`).
    pub extra_env: Vec<(String, String)>,
    /// Which compose generation runs the lifecycle (`--compose-tool`).
    pub compose_tool: ToolChoice,
    /// Services that run once and exit 0 (a migration, a seeder): readiness
    /// waits until they have exited. The compose configuration's own one-shots
    /// (`depends_on: {X: {condition: service_completed_successfully}}`) are
    /// added by [`ComposeStack::prepare`].
    pub one_shots: Vec<String>,
    /// Label every container with this process as its owner (see
    /// [`crate::owner`]): the override file goes in `dir`; `keep` marks a
    /// stack meant to outlive its run. `None`: no owner labels.
    pub owner: Option<Owner>,
}

/// Where the owner override is written, and whether the stack is kept.
#[derive(Clone, Debug)]
pub struct Owner {
    pub dir: PathBuf,
    pub keep: bool,
}

/// Everything empty, and the format's default ready timeout (180 s).
impl Default for StackOptions {
    fn default() -> Self {
        Self {
            compose_files: Vec::new(),
            env_files: Vec::new(),
            project_dir: PathBuf::new(),
            project: String::new(),
            services: Vec::new(),
            ready_timeout: DEFAULT_READY_TIMEOUT,
            ready_ports: IndexMap::new(),
            extra_env: Vec::new(),
            compose_tool: ToolChoice::Auto,
            one_shots: Vec::new(),
            owner: None,
        }
    }
}

/// The ready timeout when none is given (`stack.ready_timeout` in the format).
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_mins(3);

impl StackOptions {
    /// Options for the stack a plan describes.
    pub fn from_plan(stack: &checkpoint_model::plan::Stack, project_dir: &Path, project: String) -> Self {
        Self {
            compose_files: stack.compose_files.clone(),
            env_files: stack.env_files.clone(),
            project_dir: project_dir.to_path_buf(),
            project,
            services: stack.raw.services.clone(),
            ready_timeout: stack.ready_timeout,
            ready_ports: stack.raw.ready.iter().filter_map(|(svc, r)| Some((svc.clone(), r.port?))).collect(),
            extra_env: Vec::new(),
            compose_tool: ToolChoice::Auto,
            one_shots: Vec::new(),
            owner: None,
        }
    }
}

/// What the stack is doing, for a live view. [`std::fmt::Display`] gives one line.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StackProgress {
    /// A line the compose tool printed (`Creating proj_db_1 ... done`).
    Compose(String),
    /// Readiness is still pending for these services (at most about once a second).
    Waiting {
        elapsed: Duration,
        /// `(service, what it is waiting on)`: `("db", "starting")`.
        pending: Vec<(String, String)>,
    },
    /// A service became ready: `how` is `healthy`, `running`, `exited 0`, ….
    ServiceReady { service: String, how: String, elapsed: Duration },
}

impl std::fmt::Display for StackProgress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Compose(line) => f.write_str(line),
            Self::Waiting { pending, .. } => write!(f, "waiting for {}", ready::describe_pending(pending)),
            Self::ServiceReady { service, how, elapsed } => {
                write!(f, "{service} is ready ({how}) after {:.1}s", elapsed.as_secs_f64())
            }
        }
    }
}

/// What [`ComposeStack::down`] did beyond the compose tool's own teardown.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Teardown {
    /// Resources with the project label that compose left and that were
    /// removed forcibly through the Engine API (`container x_api_1`).
    pub removed_leftovers: Vec<String>,
    /// The compose tool's failure, if `down` itself failed (the Engine API
    /// sweep still ran and left nothing).
    pub compose_error: Option<String>,
}

impl std::fmt::Display for Teardown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(e) = &self.compose_error {
            write!(f, "compose down failed ({e}); ")?;
        }
        if self.removed_leftovers.is_empty() {
            f.write_str("nothing left behind")
        } else {
            write!(f, "removed what compose left: {}", self.removed_leftovers.join(", "))
        }
    }
}

/// A generated compose project name: `<prefix>-<checkpoint>-<6 random chars>`,
/// lowercased, anything outside `[a-z0-9_-]` replaced by `-`, so that parallel
/// runs on one host never share a project.
pub fn project_name(prefix: &str, checkpoint_id: &str) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    let suffix: String = (0..6).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c.to_ascii_lowercase() } else { '-' })
            .collect::<String>()
            .trim_matches(['-', '_'])
            .to_string()
    };
    let parts: Vec<String> =
        [clean(prefix), clean(checkpoint_id), suffix].into_iter().filter(|p| !p.is_empty()).collect();
    let name = parts.join("-");
    // Compose v2 wants a leading letter or digit.
    if name.starts_with(|c: char| c.is_ascii_alphanumeric()) { name } else { format!("p{name}") }
}

/// Whether `name` is a project name both compose generations accept unchanged.
pub fn is_valid_project_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

/// The running compose project of a run.
#[derive(Clone)]
pub struct ComposeStack {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for ComposeStack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ComposeStack")
            .field("project", &self.inner.opts.project)
            .field("attached", &self.inner.attached)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) opts: StackOptions,
    /// Attached to a stack someone else runs: never torn down.
    pub(crate) attached: bool,
    tool: OnceCell<ComposeTool>,
    docker: OnceCell<Docker>,
    /// Services to wait for: those of the configuration (profiles in effect)
    /// that `up` gave a container.
    pub(crate) defined: Mutex<Vec<String>>,
    /// Every service of the compose configuration, profiles in effect (after
    /// `prepare`): the reports and the `compose` check judge all of them, so
    /// a service that never got a container is seen.
    pub(crate) configured: Mutex<Vec<String>>,
    /// One-shot services (the options' and the configuration's).
    pub(crate) one_shots: Mutex<Vec<String>>,
    /// Follows the engine's events from ready to teardown.
    watch: Mutex<Option<Watch>>,
    pub(crate) shared: Mutex<Shared>,
}

/// What the lifecycle learned that the target's report needs.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) ready_ms: Option<f64>,
    pub(crate) logs_dir: Option<PathBuf>,
    pub(crate) log_files: HashMap<String, PathBuf>,
    /// Endpoint aliases of a disconnected `(container id, network id)`, so the
    /// reconnect restores DNS names.
    pub(crate) disconnected: HashMap<(String, String), Vec<String>>,
    /// What happened to services after ready ([`crate::watch`]).
    pub(crate) incidents: Vec<Incident>,
    /// Services a fault check has broken: since when, and until when the
    /// harness answers for what they do (the restore plus a grace period).
    pub(crate) faults: HashMap<String, Option<Instant>>,
    /// Why the stack did not become ready, for the reports.
    pub(crate) not_ready: Option<NotReadyReport>,
}

impl Inner {
    pub(crate) async fn docker(&self) -> Result<&Docker, StackError> {
        self.docker.get_or_try_init(docker_api::connect).await
    }

    pub(crate) fn tool_if_known(&self) -> Option<&ComposeTool> {
        self.tool.get()
    }

    pub(crate) async fn tool(&self) -> Result<&ComposeTool, StackError> {
        self.tool.get_or_try_init(|| ComposeTool::detect(self.opts.compose_tool)).await
    }

    /// The services to wait for: the requested ones, or every service of the
    /// configuration that got a container, in that order.
    pub(crate) fn expected_services(&self) -> Vec<String> {
        if self.opts.services.is_empty() {
            self.defined.lock().expect("defined lock").clone()
        } else {
            self.opts.services.clone()
        }
    }

    /// The services to report and judge: the requested ones, or every service
    /// of the configuration (profiles in effect), containers or not.
    pub(crate) fn configured_services(&self) -> Vec<String> {
        if self.opts.services.is_empty() {
            let configured = self.configured.lock().expect("configured lock").clone();
            if configured.is_empty() { self.expected_services() } else { configured }
        } else {
            self.opts.services.clone()
        }
    }

    /// A fault check has broken `service` and it is not yet past the grace
    /// period after its restore: what it does now is the harness's doing.
    pub(crate) fn in_fault_window(&self, service: &str) -> bool {
        match self.shared.lock().expect("shared lock").faults.get(service) {
            None => false,
            Some(None) => true,
            Some(Some(until)) => Instant::now() < *until,
        }
    }

    pub(crate) fn is_one_shot(&self, service: &str) -> bool {
        self.one_shots.lock().expect("one-shots lock").iter().any(|s| s == service)
    }
}

impl ComposeStack {
    fn new(opts: StackOptions, attached: bool) -> Self {
        let opts_one_shots = opts.one_shots.clone();
        Self {
            inner: Arc::new(Inner {
                opts,
                attached,
                tool: OnceCell::new(),
                docker: OnceCell::new(),
                defined: Mutex::new(Vec::new()),
                configured: Mutex::new(Vec::new()),
                one_shots: Mutex::new(opts_one_shots),
                watch: Mutex::new(None),
                shared: Mutex::new(Shared::default()),
            }),
        }
    }

    /// Brings the stack up: [`ComposeStack::prepare`] then [`ComposeStack::start`].
    ///
    /// On an error nothing is torn down (the stack handle is lost): call
    /// [`crate::cleanup_project`] with the project name. To save the logs of a
    /// failed `up` first, use `prepare` and `start` instead.
    pub async fn up(
        opts: StackOptions,
        cancel: CancellationToken,
        progress: &(dyn Fn(StackProgress) + Send + Sync),
    ) -> Result<Self, StackError> {
        let stack = Self::prepare(opts).await?;
        stack.start(cancel, progress).await?;
        Ok(stack)
    }

    /// Checks everything `up` needs without starting anything: the project
    /// name, the compose tool, the Docker engine, and the compose files
    /// (`config --services`, which also lists the services to wait for).
    pub async fn prepare(opts: StackOptions) -> Result<Self, StackError> {
        if !is_valid_project_name(&opts.project) {
            return Err(StackError::Invalid(format!(
                "`{}` is not a valid compose project name (lowercase letters, digits, `_`, `-`; starting with a letter or digit)",
                opts.project
            )));
        }
        let stack = Self::new(opts, false);
        let inner = &stack.inner;
        let tool = inner.tool().await?;
        inner.docker().await?;
        let out = compose::run(tool, &inner.opts, &["config".into()], None, None).await?;
        let config = compose::Config::parse(&out.stdout, &compose::active_profiles(&inner.opts.extra_env))
            .map_err(|e| StackError::Invalid(format!("cannot read the output of `{} config`: {e}", tool.command())))?;
        *inner.defined.lock().expect("defined lock") = config.services.clone();
        *inner.configured.lock().expect("configured lock") = config.services;
        let mut one_shots = inner.one_shots.lock().expect("one-shots lock");
        for s in config.one_shots {
            if !one_shots.contains(&s) {
                one_shots.push(s);
            }
        }
        drop(one_shots);
        let Some(owner) = inner.opts.owner.clone() else { return Ok(stack) };
        // The owner labels come in through one more compose file, after the user's.
        let services = inner.configured.lock().expect("configured lock").clone();
        let file = crate::owner::write_override(&owner.dir, &inner.opts.project, &services, owner.keep)?;
        let mut opts = inner.opts.clone();
        opts.compose_files.push(file);
        let labelled = Self::new(opts, false);
        *labelled.inner.defined.lock().expect("defined lock") = inner.defined.lock().expect("defined lock").clone();
        *labelled.inner.configured.lock().expect("configured lock") = services;
        *labelled.inner.one_shots.lock().expect("one-shots lock") =
            inner.one_shots.lock().expect("one-shots lock").clone();
        Ok(labelled)
    }

    /// `<tool> -p P -f … up -d --remove-orphans --quiet-pull [services]`.
    /// Compose's own output goes to `progress`; a failure carries its last lines.
    /// Cancellation kills compose and returns [`StackError::Cancelled`]; tear down
    /// afterwards, compose may have created part of the project.
    pub async fn start(
        &self,
        cancel: CancellationToken,
        progress: &(dyn Fn(StackProgress) + Send + Sync),
    ) -> Result<(), StackError> {
        if self.inner.attached {
            return Err(StackError::Invalid("an attached stack is not started by the harness".into()));
        }
        let tool = self.inner.tool().await?;
        let mut args: Vec<String> = ["up", "-d", "--remove-orphans", "--quiet-pull"].map(String::from).into();
        args.extend(self.inner.opts.services.iter().cloned());
        if let Err(e) = compose::run(tool, &self.inner.opts, &args, Some(&cancel), Some(progress)).await {
            if matches!(e, StackError::Cancelled)
                && let Ok(docker) = self.inner.docker().await
            {
                // What compose asked of the engine before it was killed is
                // still being done: the teardown must find it.
                docker_api::settle(docker, &self.inner.opts.project).await;
            }
            return Err(self.name_containers(e).await);
        }
        // `up -d` has created a container for every service it starts. A
        // service of the configuration without one (scaled to zero, its
        // container removed) gets none by waiting: readiness waits for the
        // others, and the `compose` check (which judges every configured
        // service) reports it.
        let docker = self.inner.docker().await?;
        if let Ok(containers) = docker_api::project_containers(docker, &self.inner.opts.project, false).await {
            let mut defined = self.inner.defined.lock().expect("defined lock");
            defined.retain(|s| containers.iter().any(|c| c.service == *s));
        }
        Ok(())
    }

    /// docker-compose 1.29 names a failed dependency by container id
    /// (`Container "f2fbd59660f2" exited with code 1.`): put the service's
    /// name in, so the reason says which service it was.
    async fn name_containers(&self, e: StackError) -> StackError {
        let StackError::Compose { command, status, mut tail } = e else { return e };
        if tail.iter().any(|l| l.contains("Container \""))
            && let Ok(docker) = self.inner.docker().await
            && let Ok(containers) = docker_api::project_containers(docker, &self.inner.opts.project, false).await
        {
            for line in &mut tail {
                for c in &containers {
                    let quoted = format!("Container \"{}\"", c.short_id());
                    if line.contains(&quoted) {
                        *line = line.replace(&quoted, &format!("`{}` (container {})", c.service, c.short_id()));
                    }
                }
            }
        }
        StackError::Compose { command, status, tail }
    }

    /// A stack that is already running under `opts.project` (`--no-up`). It is
    /// observed and driven (exec, faults) but never torn down: [`ComposeStack::down`]
    /// does nothing. Nothing is contacted until first use.
    pub fn attach(opts: StackOptions) -> Self {
        Self::new(opts, true)
    }

    /// The compose project name.
    pub fn project(&self) -> &str {
        &self.inner.opts.project
    }

    pub fn options(&self) -> &StackOptions {
        &self.inner.opts
    }

    /// Attached with [`ComposeStack::attach`] (not ours to tear down).
    pub fn is_attached(&self) -> bool {
        self.inner.attached
    }

    /// The compose tool in use (detected on first call for attached stacks).
    pub async fn tool(&self) -> Result<ComposeTool, StackError> {
        self.inner.tool().await.cloned()
    }

    /// Waits until every service is ready, following engine events; fails at
    /// once on an unhealthy, exited, crash-looping or OOM-killed service.
    /// See [`crate::ready`] for the rules.
    pub async fn wait_ready(
        &self,
        cancel: CancellationToken,
        progress: &(dyn Fn(StackProgress) + Send + Sync),
    ) -> Result<ReadyReport, NotReady> {
        let result = ready::wait_ready(&self.inner, &cancel, progress).await;
        match &result {
            Ok(report) => {
                self.inner.shared.lock().expect("shared lock").ready_ms = Some(report.elapsed.as_secs_f64() * 1000.0);
            }
            Err(not_ready) => {
                self.inner.shared.lock().expect("shared lock").not_ready = Some(not_ready.to_report());
            }
        }
        // From now until teardown, whatever happens to a service is recorded.
        if !cancel.is_cancelled() {
            self.start_watching();
        }
        result
    }

    /// Starts recording incidents (a service that exits, is OOM-killed or
    /// turns unhealthy) from now on; [`ComposeStack::wait_ready`] does it.
    pub fn start_watching(&self) {
        let mut watch = self.inner.watch.lock().expect("watch lock");
        if watch.is_none() {
            *watch = Some(Watch::start(Arc::clone(&self.inner), Instant::now()));
        }
    }

    /// Stops recording incidents (before teardown, whose stops are not
    /// incidents) and returns those recorded.
    pub async fn stop_watching(&self) -> Vec<Incident> {
        let watch = self.inner.watch.lock().expect("watch lock").take();
        if let Some(w) = watch {
            w.stop().await;
        }
        self.inner.shared.lock().expect("shared lock").incidents.clone()
    }

    /// `<tool> -p P -f … down --volumes --remove-orphans -t N`, then removes
    /// through the Engine API whatever still carries the project label
    /// (containers, networks, volumes) and checks that nothing does. Fails only
    /// if something could not be removed. Does nothing for an attached stack.
    pub async fn down(&self, timeout_s: u32) -> Result<Teardown, StackError> {
        self.stop_watching().await;
        if self.inner.attached {
            return Ok(Teardown::default());
        }
        let mut teardown = Teardown::default();
        match self.inner.tool().await {
            Ok(tool) => {
                let args: Vec<String> =
                    ["down", "--volumes", "--remove-orphans", "-t", &timeout_s.to_string()].map(String::from).into();
                // A wedged compose must not keep the run from ending: the
                // label sweep below removes what it would have.
                let limit = Duration::from_secs(u64::from(timeout_s) + 120);
                match tokio::time::timeout(limit, compose::run(tool, &self.inner.opts, &args, None, None)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => teardown.compose_error = Some(e.to_string()),
                    Err(_) => {
                        teardown.compose_error =
                            Some(format!("`{} down` did not finish within {}s", tool.command(), limit.as_secs()));
                    }
                }
            }
            Err(e) => teardown.compose_error = Some(e.to_string()),
        }
        let docker = self.inner.docker().await?;
        teardown.removed_leftovers = docker_api::remove_project_resources(docker, &self.inner.opts.project).await?;
        if let Some(owner) = &self.inner.opts.owner {
            let _ = std::fs::remove_file(owner.dir.join(format!("{}.owner.yml", self.inner.opts.project)));
            let _ = std::fs::remove_dir(&owner.dir);
        }
        Ok(teardown)
    }

    /// Writes every service's full log (stdout and stderr, with timestamps) to
    /// `dir/<service>.log`; a service with several containers gets one section
    /// per container. Call before [`ComposeStack::down`]. Returns
    /// `(service, file)` in service order.
    pub async fn save_logs(&self, dir: &Path) -> Result<Vec<(String, PathBuf)>, StackError> {
        let docker = self.inner.docker().await?;
        let project = &self.inner.opts.project;
        std::fs::create_dir_all(dir)
            .map_err(|e| StackError::io(format!("cannot create log directory {}", dir.display()), e))?;
        let containers = docker_api::project_containers(docker, project, false)
            .await
            .map_err(|e| StackError::engine(format!("listing containers of project `{project}`"), e))?;
        let mut by_service: IndexMap<&str, Vec<&docker_api::Container>> = IndexMap::new();
        for c in &containers {
            by_service.entry(c.service.as_str()).or_default().push(c);
        }
        let mut written = Vec::new();
        for (service, containers) in by_service {
            let mut text = String::new();
            for c in &containers {
                if containers.len() > 1 {
                    text.push_str(&format!("==> {} ({}) <==\n", c.name, c.short_id()));
                }
                let log = docker_api::container_logs(docker, &c.id, None, true)
                    .await
                    .map_err(|e| StackError::engine(format!("reading the log of {}", c.name), e))?;
                text.push_str(&log);
                if !text.is_empty() && !text.ends_with('\n') {
                    text.push('\n');
                }
            }
            let file_name = if service.is_empty() { "unknown".to_string() } else { service.to_string() };
            let path = dir.join(format!("{file_name}.log"));
            std::fs::write(&path, text).map_err(|e| StackError::io(format!("cannot write {}", path.display()), e))?;
            written.push((service.to_string(), path));
        }
        let mut shared = self.inner.shared.lock().expect("shared lock");
        shared.logs_dir = Some(dir.to_path_buf());
        shared.log_files = written.iter().cloned().collect();
        Ok(written)
    }

    /// The checks' view of this stack.
    pub fn target(&self) -> Arc<dyn Target> {
        Arc::new(self.docker_target())
    }

    /// The same target, as its concrete type.
    pub fn docker_target(&self) -> DockerTarget {
        DockerTarget { inner: Arc::clone(&self.inner) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_project_names_are_valid_and_unique() {
        let a = project_name("checkpoint", "1");
        let b = project_name("checkpoint", "1");
        assert_ne!(a, b);
        assert!(a.starts_with("checkpoint-1-"), "{a}");
        assert!(is_valid_project_name(&a), "{a}");
        let odd = project_name("My Team!", "Wave 2/final");
        assert!(odd.starts_with("my-team-wave-2-final-"), "{odd}");
        assert!(is_valid_project_name(&odd), "{odd}");
        assert!(is_valid_project_name(&project_name("__", "")));
        assert!(!is_valid_project_name("Upper"));
        assert!(!is_valid_project_name("-lead"));
    }
}
