//! Who owns a stack: every container a run starts carries its owner — the
//! harness's pid, the machine's boot id, whether it is meant to outlive the
//! run (`--keep`, `stack up`) — so a stack whose run was SIGKILLed can be
//! found and removed later ([`orphans`], `checkpoint stack prune`) without
//! knowing its project name.
//!
//! Compose has no flag to label everything; the labels go in through a small
//! override file (`services: {svc: {labels: …}}`) added after the user's
//! files, for the services of the configuration (it never defines one).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bollard::query_parameters::ListContainersOptionsBuilder;

use crate::docker_api::{self, PROJECT_LABEL};
use crate::error::StackError;

pub(crate) const PID_LABEL: &str = "io.checkpoint.owner.pid";
pub(crate) const BOOT_LABEL: &str = "io.checkpoint.owner.boot";
pub(crate) const KEEP_LABEL: &str = "io.checkpoint.owner.keep";
pub(crate) const STARTED_LABEL: &str = "io.checkpoint.owner.started";

/// This machine's boot id: a pid is only meaningful within one boot.
fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Writes the override that labels every service with this process as its
/// owner; returns its path.
pub(crate) fn write_override(
    dir: &Path,
    project: &str,
    services: &[String],
    keep: bool,
) -> Result<PathBuf, StackError> {
    std::fs::create_dir_all(dir).map_err(|e| StackError::io(format!("cannot create {}", dir.display()), e))?;
    let path = dir.join(format!("{project}.owner.yml"));
    let started = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    let mut text = String::from(
        "# Written by checkpoint: who started this stack, so `checkpoint stack prune` can find\n\
         # it if that run dies without tearing it down. Removed after the run.\nservices:\n",
    );
    for s in services {
        text.push_str(&format!(
            "  {}:\n    labels:\n      {PID_LABEL}: \"{}\"\n      {BOOT_LABEL}: \"{}\"\n      {KEEP_LABEL}: \"{keep}\"\n      {STARTED_LABEL}: \"{started}\"\n",
            serde_json::to_string(s).unwrap_or_default(),
            std::process::id(),
            boot_id(),
        ));
    }
    std::fs::write(&path, text).map_err(|e| StackError::io(format!("cannot write {}", path.display()), e))?;
    Ok(path)
}

/// A stack that a run started and that is still there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OwnedStack {
    pub project: String,
    pub pid: u32,
    /// The run is gone (another boot, or no such process running checkpoint).
    pub orphaned: bool,
    /// Started with `--keep` or `stack up`: meant to outlive its run.
    pub kept: bool,
    /// RFC 3339.
    pub started: String,
    pub containers: usize,
}

fn alive(pid: u32, boot: &str) -> bool {
    if boot != boot_id() {
        return false;
    }
    std::fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| String::from_utf8_lossy(&c).contains("checkpoint"))
}

/// Every stack a `checkpoint` run started on this engine, by project.
pub async fn owned_stacks() -> Result<Vec<OwnedStack>, StackError> {
    let docker = docker_api::connect().await?;
    let filters = std::collections::HashMap::from([("label".to_string(), vec![PID_LABEL.to_string()])]);
    let list = docker
        .list_containers(Some(ListContainersOptionsBuilder::new().all(true).filters(&filters).build()))
        .await
        .map_err(|e| StackError::engine("listing containers started by checkpoint", e))?;
    let mut by_project: BTreeMap<String, OwnedStack> = BTreeMap::new();
    for c in list {
        let labels = c.labels.unwrap_or_default();
        let Some(project) = labels.get(PROJECT_LABEL) else { continue };
        let pid: u32 = labels.get(PID_LABEL).and_then(|p| p.parse().ok()).unwrap_or(0);
        let boot = labels.get(BOOT_LABEL).cloned().unwrap_or_default();
        let entry = by_project.entry(project.clone()).or_insert_with(|| OwnedStack {
            project: project.clone(),
            pid,
            orphaned: !alive(pid, &boot),
            kept: labels.get(KEEP_LABEL).is_some_and(|k| k == "true"),
            started: labels.get(STARTED_LABEL).cloned().unwrap_or_default(),
            containers: 0,
        });
        entry.containers += 1;
    }
    Ok(by_project.into_values().collect())
}

/// Stacks whose run is gone and that were not meant to outlive it.
pub async fn orphans() -> Result<Vec<OwnedStack>, StackError> {
    Ok(owned_stacks().await?.into_iter().filter(|s| s.orphaned && !s.kept).collect())
}
