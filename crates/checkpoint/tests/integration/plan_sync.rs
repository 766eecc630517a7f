//! `checkpoint plan sync` as a user runs it: a real `checkpoint run` writes
//! results.json (host `command` checks, no Docker needed), then the plan is
//! synced: `--dry-run` prints a diff and writes nothing, `--check` exits 1
//! while the plan is stale, a sync writes it atomically keeping its mode,
//! unreadable inputs exit 2 naming the file.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::Output;

use crate::support::{self, InProcess, stderr, stdout};

fn checkpoint(dir: &Path) -> InProcess {
    let mut c = support::checkpoint();
    c.current_dir(dir);
    c
}

const PLAN: &str = "# Host plan\r\n\r\n## Checkpoint 1\r\n\r\n- [ ] Host tools present\r\n- [x] Config renders  \r\n- [ ] Feature flag off\r\n\r\n```md\r\n- [ ] Host tools present\r\n```\r\n";
const SYNCED: &str = "# Host plan\r\n\r\n## Checkpoint 1\r\n\r\n- [x] Host tools present\r\n- [ ] Config renders  \r\n- [ ] Feature flag off\r\n\r\n```md\r\n- [ ] Host tools present\r\n```\r\n";

const CHECKPOINT: &str = r#"
checkpoint: 1
title: Host checks
plan: { file: docs/plan.md, heading: "Checkpoint 1" }
gates:
  - id: tools
    title: Host tools present
    plan: { item: "Host tools present" }
    checks:
      - name: sh answers
        command: { argv: [sh, -c, "exit 0"] }
  - id: config
    title: Config renders
    checks:
      - name: render
        command: { argv: [sh, -c, "echo 'template error' >&2; exit 3"] }
  - id: flag
    title: Feature flag off
    needs: [config]
    plan: { item: "Feature flag off" }
    checks:
      - name: flag
        command: { argv: [sh, -c, "exit 0"] }
"#;

/// A project with a plan and a checkpoint, run for real: tools passes, config
/// fails (matched by its title), flag is skipped because it needs config.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join("docs")).unwrap();
    std::fs::create_dir_all(root.join("checkpoints")).unwrap();
    std::fs::write(root.join("docs/plan.md"), PLAN).unwrap();
    std::fs::write(root.join("checkpoints/1.yaml"), CHECKPOINT).unwrap();
    let out = checkpoint(root).args(["run", "1", "-o", "out"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "config must fail: {}{}", stdout(&out), stderr(&out));
    assert!(root.join("out/results.json").is_file());
    dir
}

fn sync(root: &Path, extra: &[&str]) -> Output {
    checkpoint(root)
        .args(["plan", "sync", "docs/plan.md", "--results", "out/results.json"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn dry_run_check_then_sync() {
    let dir = project();
    let root = dir.path();
    let plan = root.join("docs/plan.md");
    std::fs::set_permissions(&plan, std::fs::Permissions::from_mode(0o640)).unwrap();

    // --dry-run: the diff on stdout (CRLF kept for `patch`), the report on stderr, nothing written.
    let out = sync(root, &["--dry-run"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "--- a/docs/plan.md\n+++ b/docs/plan.md\n@@ -2,8 +2,8 @@\n \r\n ## Checkpoint 1\r\n \r\n-- [ ] Host tools present\r\n-- [x] Config renders  \r\n+- [x] Host tools present\r\n+- [ ] Config renders  \r\n - [ ] Feature flag off\r\n \r\n ```md\r\n"
    );
    let err = stderr(&out);
    assert!(err.contains("- [ ] → - [x]  line 5: Host tools present (gate tools passed)\n"), "{err}");
    assert!(err.contains("- [x] → - [ ]  line 6: Config renders (gate config failed, matched by title)\n"), "{err}");
    assert!(err.contains("would tick 1, would untick 1, 0 already up to date, 1 left as is"), "{err}");
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), PLAN);

    // --check: stale → exit 1, nothing written.
    let out = sync(root, &["--check"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("docs/plan.md is out of date"), "{}", stderr(&out));
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), PLAN);

    // The sync itself: exactly the boxes change, the mode stays.
    let out = sync(root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("docs/plan.md: ticked 1, unticked 1"), "{}", stdout(&out));
    assert_eq!(std::fs::read_to_string(&plan).unwrap(), SYNCED);
    assert_eq!(std::fs::metadata(&plan).unwrap().permissions().mode() & 0o777, 0o640);
    let leftovers: Vec<_> = std::fs::read_dir(root.join("docs")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temp file left behind");

    // Up to date now: --check passes (the run's directory stands for its results.json), a sync writes nothing.
    let out = checkpoint(root).args(["plan", "sync", "docs/plan.md", "-r", "out", "--check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("would tick 0, would untick 0, 2 already up to date, 1 left as is"),
        "{}",
        stdout(&out)
    );
    let out = sync(root, &["--dry-run"]);
    assert_eq!(stdout(&out), "");
}

#[test]
fn a_symlinked_plan_stays_a_symlink() {
    let dir = project();
    let root = dir.path();
    std::fs::rename(root.join("docs/plan.md"), root.join("docs/real-plan.md")).unwrap();
    std::os::unix::fs::symlink("real-plan.md", root.join("docs/plan.md")).unwrap();
    let out = sync(root, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(root.join("docs/plan.md")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read_to_string(root.join("docs/real-plan.md")).unwrap(), SYNCED);
}

#[test]
fn unreadable_inputs_exit_2_naming_the_file() {
    let dir = project();
    let root = dir.path();

    let out =
        checkpoint(root).args(["plan", "sync", "docs/nope.md", "--results", "out/results.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read the plan docs/nope.md"), "{}", stderr(&out));

    let out = sync(root, &["--results", "out/missing.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read out/missing.json"), "{}", stderr(&out));

    std::fs::write(root.join("out/broken.json"), "{ not json").unwrap();
    let out = sync(root, &["--results", "out/broken.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("out/broken.json: not a checkpoint results file"), "{}", stderr(&out));

    std::fs::write(root.join("docs/latin1.md"), b"- [ ] Caf\xe9 open\n").unwrap();
    let out =
        checkpoint(root).args(["plan", "sync", "docs/latin1.md", "--results", "out/results.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("docs/latin1.md: not UTF-8"), "{}", stderr(&out));

    // Nothing was written by any of them.
    assert_eq!(std::fs::read_to_string(root.join("docs/plan.md")).unwrap(), PLAN);

    // --results is required.
    let out = checkpoint(root).args(["plan", "sync", "docs/plan.md"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn gates_of_another_plan_are_ignored() {
    let dir = project();
    let root = dir.path();
    std::fs::write(root.join("docs/other.md"), PLAN).unwrap();
    let out = checkpoint(root)
        .args(["plan", "sync", "docs/other.md", "--results", "out/results.json", "--check"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("warning: no gate of the results refers to docs/other.md; they name docs/plan.md"),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).contains("3 gate references to other plans ignored"), "{}", stdout(&out));
}
