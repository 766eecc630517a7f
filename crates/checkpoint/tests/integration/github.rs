//! The binary as a GitHub Actions step runs it (`GITHUB_ACTIONS=true`): the
//! report appended to `$GITHUB_STEP_SUMMARY`, an annotation per failing gate
//! at its line in the checkpoint file, and the exit code unchanged.

use std::path::Path;

use assert_cmd::Command;

use crate::support::write_checkpoint;

/// A local port nothing listens on (bound, then released).
fn closed_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

const CHECKPOINT: &str = r#"checkpoint: 7
title: "GitHub: a failing checkpoint, 100% red"
gates:
  - id: works
    title: A command that works
    checks:
      - name: true
        command: { argv: ["true"] }
  - id: db-down
    title: Database reachable
    checks:
      - name: connect
        tcp: { address: "127.0.0.1:${CLOSED_PORT}" }
        timeout: 2s
  - id: exits-1
    title: "Worker, recorded: 1 job"
    severity: should
    checks:
      - name: run false
        command: { argv: ["false"] }
"#;

/// The one line of `stdout` that starts with `prefix` (asserts there is exactly one).
fn only_line_starting<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    let lines: Vec<&str> = stdout.lines().filter(|l| l.starts_with(prefix)).collect();
    assert_eq!(lines.len(), 1, "{stdout}");
    lines[0]
}

fn run(dir: &Path, github: bool, summary: &Path) -> std::process::Output {
    let mut c = crate::support::checkpoint();
    c.env("CLOSED_PORT", closed_port().to_string())
        .env("GITHUB_STEP_SUMMARY", summary)
        .env("GITHUB_WORKSPACE", dir)
        .current_dir(dir)
        .args(["run", "7"]);
    if github {
        c.env("GITHUB_ACTIONS", "true");
    } else {
        c.env_remove("GITHUB_ACTIONS");
    }
    c.output().unwrap()
}

#[test]
fn in_github_actions_a_failing_run_writes_the_summary_and_annotates_each_failing_gate() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), "7.yaml", CHECKPOINT);
    let summary = dir.path().join("step-summary.md");
    std::fs::write(&summary, "## An earlier step's summary\n").unwrap();

    let out = run(dir.path(), true, &summary);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "the checkpoint failed: exit 1\n{stdout}\n{stderr}");

    // The must gate: an error at its failing check's line (line 12, `- name: connect`).
    let error = only_line_starting(&stdout, "::error ");
    assert!(
        error.starts_with("::error file=checkpoints/7.yaml,line=12,col=15,title=checkpoint 7%3A gate db-down failed (must)::Database reachable%0A"),
        "{error}"
    );
    // The should gate: a warning; `:` and `,` in the message are left as they are.
    let warning = only_line_starting(&stdout, "::warning ");
    assert!(
        warning.starts_with("::warning file=checkpoints/7.yaml,line=19,col=15,title=checkpoint 7%3A gate exits-1 failed (should)::Worker, recorded: 1 job%0A"),
        "{warning}"
    );
    // The must gate comes first.
    assert!(stdout.find("::error ").unwrap() < stdout.find("::warning ").unwrap());

    let text = std::fs::read_to_string(&summary).unwrap();
    assert!(text.starts_with("## An earlier step's summary\n"), "earlier content kept: {text}");
    let md = std::fs::read_to_string(dir.path().join("checkpoint-results/integration-test-results.md")).unwrap();
    assert!(text.ends_with(&md), "the whole report appended:\n{text}");
    assert!(md.contains("db-down"), "{md}");
}

#[test]
fn outside_github_actions_nothing_is_annotated_or_appended() {
    let dir = tempfile::tempdir().unwrap();
    write_checkpoint(dir.path(), "7.yaml", CHECKPOINT);
    let summary = dir.path().join("step-summary.md");
    let out = run(dir.path(), false, &summary);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(!stdout.contains("::error"), "{stdout}");
    assert!(!summary.exists(), "no summary without GITHUB_ACTIONS=true");
}

/// The Redis image the demo tests use (`.cache/images.env`, written by fixtures/images/build.sh).
fn redis_image() -> String {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let file = repo.join(".cache/images.env");
    let text = std::fs::read_to_string(&file)
        .unwrap_or_else(|_| panic!("{} is missing: run scripts/test.sh (it builds the demo images)", file.display()));
    text.lines()
        .find_map(|l| l.strip_prefix("REDIS_IMAGE="))
        .map(|v| v.trim().to_string())
        .expect("REDIS_IMAGE in images.env")
}

/// Tears the project down however the test ends.
struct Down<'a> {
    dir: &'a Path,
    project: String,
    image: String,
}

impl Drop for Down<'_> {
    fn drop(&mut self) {
        let _ = Command::cargo_bin("checkpoint")
            .unwrap()
            .current_dir(self.dir)
            .env("REDIS_IMAGE", &self.image)
            .args(["stack", "down", "9", "-p", &self.project])
            .output();
    }
}

#[test]
fn github_stack_logs_are_fenced_with_stop_commands() {
    let image = redis_image();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("compose.yml"),
        "services:\n  chatty:\n    image: ${REDIS_IMAGE}\n    command: [\"sh\", \"-c\", \"echo '::error::from a container'; echo '::add-mask::x'; exec sleep 120\"]\n    stop_grace_period: 1s\n",
    )
    .unwrap();
    write_checkpoint(
        dir.path(),
        "9.yaml",
        "checkpoint: 9\ntitle: Logs\nstack:\n  compose: [compose.yml]\n  ready_timeout: 60s\ngates:\n  - id: up\n    title: Up\n    checks:\n      - name: t\n        command: { argv: [\"true\"] }\n",
    );
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    let project = format!("cp-test-gha-logs-{nanos:x}");
    let cmd = |args: &[&str]| {
        let mut c = Command::cargo_bin("checkpoint").unwrap();
        c.current_dir(dir.path())
            .env("NO_COLOR", "1")
            .env("CI", "true")
            .env("REDIS_IMAGE", &image)
            .env("GITHUB_ACTIONS", "true")
            .env_remove("GITHUB_STEP_SUMMARY")
            .args(args);
        c.output().unwrap()
    };
    let _down = Down { dir: dir.path(), project: project.clone(), image: image.clone() };
    let up = cmd(&["stack", "up", "9", "-p", &project]);
    assert_eq!(up.status.code(), Some(0), "stack up: {}", String::from_utf8_lossy(&up.stderr));

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let stdout = loop {
        let logs = cmd(&["stack", "logs", "9", "-p", &project, "--service", "chatty"]);
        assert_eq!(logs.status.code(), Some(0), "{}", String::from_utf8_lossy(&logs.stderr));
        let stdout = String::from_utf8_lossy(&logs.stdout).to_string();
        if stdout.contains("::add-mask::x") || std::time::Instant::now() > deadline {
            break stdout;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    };
    let lines: Vec<&str> = stdout.lines().collect();
    let start = lines.iter().position(|l| l.starts_with("::stop-commands::")).unwrap_or_else(|| panic!("{stdout}"));
    let token = &lines[start]["::stop-commands::".len()..];
    assert_eq!(token.len(), 32, "a fresh random token: {token}");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let end = lines.iter().position(|l| *l == format!("::{token}::")).unwrap_or_else(|| panic!("resumed: {stdout}"));
    let inside = |needle: &str| lines.iter().position(|l| l.contains(needle)).is_some_and(|i| start < i && i < end);
    assert!(inside("::error::from a container"), "{stdout}");
    assert!(inside("::add-mask::x"), "{stdout}");

    // Outside Actions: no fence.
    let mut plain = Command::cargo_bin("checkpoint").unwrap();
    let out = plain
        .current_dir(dir.path())
        .env("REDIS_IMAGE", &image)
        .env_remove("GITHUB_ACTIONS")
        .args(["stack", "logs", "9", "-p", &project, "--service", "chatty"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("::stop-commands::"));
}
