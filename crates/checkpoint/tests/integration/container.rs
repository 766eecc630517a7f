//! The container image as a user runs it: `packaging/container/build.sh` assembles it
//! offline from the project's own Debian base, this test build's binary, the Docker CLI
//! and Compose v2; then `docker run … IMAGE run 1` runs checkpoint 1 of the demo stack
//! against the host's engine, as an unprivileged user with the socket's group, and the
//! reports land in the mounted folder owned by that user. Nothing is left behind.
//!
//! Needs the images `fixtures/images/build.sh` builds (`scripts/test.sh` does).

use std::os::unix::fs::MetadataExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::process::Command;

use checkpoint_model::result::Verdict;

use crate::compose_support;
use compose_support::{assert_nothing_left, repo};

/// An unprivileged user of no name, as `--user "$(id -u):$(id -g)"` gives on a laptop.
const UID: u32 = 4321;

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let out = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert!(o.status.success(), "{cmd:?} failed ({}):\n{out}", o.status);
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn docker_image_runs_checkpoint_1_against_the_host_engine() {
    let repo = repo();
    let images = compose_support::images_env("images.env", "fixtures/images/build.sh");
    let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let tag = format!("checkpoint-test/container:{n:x}");
    let project = format!("cp-test-container-{n:x}");
    let built = run(Command::new(repo.join("packaging/container/build.sh"))
        .args(["--binary", env!("CARGO_BIN_EXE_checkpoint"), "--tag", &tag])
        .current_dir(&repo));
    assert_eq!(built.lines().last(), Some(tag.as_str()));

    let out = tempfile::tempdir().unwrap();
    std::fs::set_permissions(out.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
    let reports = out.path().join("reports");
    let socket_gid = std::fs::metadata("/var/run/docker.sock").expect("the Docker socket").gid();
    let mut docker = Command::new("docker");
    docker
        .args(["run", "--rm", "--network", "host", "-v", "/var/run/docker.sock:/var/run/docker.sock"])
        .args(["--user", &format!("{UID}:{UID}"), "--group-add", &socket_gid.to_string()])
        .args(["-v", &format!("{0}:{0}:ro", repo.display()), "-w", &repo.display().to_string()])
        .args(["-v", &format!("{0}:{0}", out.path().display())]);
    for (k, v) in &images {
        docker.args(["-e", &format!("{k}={v}")]);
    }
    let o = docker.args([&tag, "run", "1", "-p", &project, "-o"]).arg(&reports).output().unwrap();
    let console = format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let _ = Command::new("docker").args(["rmi", "-f", &tag]).output();
    assert_nothing_left(&project);
    assert_eq!(o.status.code(), Some(0), "{console}");

    let json = std::fs::read_to_string(reports.join("results.json")).unwrap();
    let report = checkpoint_report::read_json(&json).unwrap();
    assert_eq!(report.verdict, Verdict::Passed, "{console}");
    assert!(report.gates.iter().any(|g| g.id == "realtime"), "checkpoint 1 with every gate ran");
    for name in ["results.json", "junit.xml", "integration-test-results.md"] {
        let meta = std::fs::metadata(reports.join(name)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (UID, UID), "{name} belongs to the user who ran the container");
    }
}
