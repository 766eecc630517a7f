//! What the Docker end-to-end tests share (demo, pystack, nodestack, init): the repo
//! root, the image variables the build scripts write, the compose generation
//! a test drives (`v1::…`/`v2::…`, users have either), the binary set up to
//! run against the local engine, and the check that a project left nothing.

#![allow(dead_code, reason = "the Docker tests use their own parts of these helpers")]

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use checkpoint_model::result::{GateResult, RunReport, Status};

pub(crate) fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

/// The compose variables that point at locally built images, from the file
/// a build script wrote under `.cache/` (`images.env`, `pystack-images.env`).
pub(crate) fn images_env(file: &str, built_by: &str) -> Vec<(String, String)> {
    let path = repo().join(".cache").join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|_| panic!("{} is missing: run {built_by} (scripts/test.sh does)", path.display()));
    text.lines().filter_map(|l| l.split_once('=')).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
}

thread_local! {
    /// The compose generation the running test drives (set by its `v1::`/`v2::` wrapper).
    static TOOL: Cell<&'static str> = const { Cell::new("auto") };
}

/// `v1`, `v2` (or `auto` outside the wrappers).
pub(crate) fn tool() -> &'static str {
    TOOL.with(Cell::get)
}

/// For a thread a test starts: drive the same compose generation.
pub(crate) fn set_tool(t: &'static str) {
    TOOL.with(|c| c.set(t));
}

/// Runs each named test under both compose generations, named by its tool
/// (`v1::demo_variant_db_down`, `v2::…`).
macro_rules! under_both_tools {
    ($($name:ident),* $(,)?) => {
        crate::compose_support::under_both_tools!(@tool v1 $($name),*);
        crate::compose_support::under_both_tools!(@tool v2 $($name),*);
    };
    (@tool $tool:ident $($name:ident),*) => {
        mod $tool {
            $(#[test]
            fn $name() {
                crate::compose_support::set_tool(stringify!($tool));
                super::$name();
            })*
        }
    };
}
pub(crate) use under_both_tools;

/// The binary, in `cwd`, against the local engine with the test's compose
/// generation and `images`, kept out of a GitHub runner's own summary.
pub(crate) fn checkpoint(cwd: &Path, images: &[(String, String)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_checkpoint"));
    c.current_dir(cwd).env_remove("CHECKPOINT_DIR").env("CI", "true").env("NO_COLOR", "1");
    c.envs(images.iter().map(|(k, v)| (k, v)));
    c.env("CHECKPOINT_COMPOSE_TOOL", tool());
    c.env_remove("GITHUB_ACTIONS").env_remove("GITHUB_STEP_SUMMARY");
    c
}

/// A project name no other run uses: `<prefix>-<tool>-<name>-<nanos>`.
pub(crate) fn unique(prefix: &str, name: &str) -> String {
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    format!("{prefix}-{}-{name}-{n:x}", tool())
}

/// Nothing with the project's label may remain: containers, networks, volumes.
pub(crate) fn assert_nothing_left(project: &str) {
    let filter = format!("label=com.docker.compose.project={project}");
    for what in [vec!["ps", "-aq"], vec!["network", "ls", "-q"], vec!["volume", "ls", "-q"]] {
        let out = Command::new("docker").args(&what).args(["--filter", &filter]).output().expect("docker CLI");
        let left = String::from_utf8_lossy(&out.stdout).trim().to_string();
        assert!(left.is_empty(), "`docker {}` still lists {left} for project {project}", what.join(" "));
    }
}

/// The exit code, the console (stdout, then stderr) and the `results.json` of a
/// finished `checkpoint run` that wrote its reports to `out_dir`; asserts the run
/// left nothing of `project` behind.
pub(crate) fn run_results(out: &std::process::Output, out_dir: &Path, project: &str) -> Outcome {
    let console = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let json =
        std::fs::read_to_string(out_dir.join("results.json")).unwrap_or_else(|_| panic!("no results.json\n{console}"));
    let report = checkpoint_report::read_json(&json).unwrap();
    assert_nothing_left(project);
    Outcome { code: out.status.code(), report, console, out: out_dir.to_path_buf() }
}

/// `checkpoint run 1` of a plan written out of `plan` (a checkpoint file's
/// text) into a directory of its own under `target/plan-tests/`, as compose
/// project `project`, with `images`; the directory (reports too) is removed
/// once the results are read.
pub(crate) fn run_plan(project: &str, plan: &str, images: &[(String, String)]) -> Outcome {
    let dir = repo().join("target/plan-tests").join(project);
    std::fs::create_dir_all(dir.join("plan")).unwrap();
    std::fs::write(dir.join("plan/1.yaml"), plan).unwrap();
    let out_dir = dir.join("out");
    let out = checkpoint(&repo(), images)
        .args(["run", "1", "--dir"])
        .arg(dir.join("plan"))
        .args(["-p", project, "-o"])
        .arg(&out_dir)
        .output()
        .unwrap();
    let outcome = run_results(&out, &out_dir, project);
    let _ = std::fs::remove_dir_all(&dir);
    outcome
}

/// A finished `checkpoint run`.
pub(crate) struct Outcome {
    pub(crate) code: Option<i32>,
    pub(crate) report: RunReport,
    /// stdout and stderr.
    pub(crate) console: String,
    /// Where the reports were written.
    pub(crate) out: PathBuf,
}

impl Outcome {
    /// The gate `id` of the report.
    pub(crate) fn gate(&self, id: &str) -> &GateResult {
        self.report.gates.iter().find(|g| g.id == id).unwrap_or_else(|| panic!("no gate `{id}`\n{}", self.console))
    }

    /// Its reason (empty when it has none).
    pub(crate) fn reason(&self, id: &str) -> String {
        self.gate(id).reason.clone().unwrap_or_default()
    }

    /// Gate `id` failed saying `says`, and quotes no service's log: the
    /// errors other requests logged around it are not its cause.
    pub(crate) fn assert_red_unquoted(&self, id: &str, says: &str) {
        let reason = self.reason(id);
        assert!(reason.contains(says), "{id}: {reason}\n{}", self.console);
        assert!(!reason.contains("logged"), "{id}: others' errors are not its cause: {reason}");
    }
}

/// The ids of the report's gates whose status `f` picks.
pub(crate) fn ids(r: &RunReport, f: impl Fn(Status) -> bool) -> BTreeSet<String> {
    r.gates.iter().filter(|g| f(g.status)).map(|g| g.id.clone()).collect()
}

/// Gate ids as a set, to compare with [`ids`].
pub(crate) fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_string()).collect()
}
