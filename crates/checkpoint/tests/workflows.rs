//! The GitHub Actions files under `.github/` are linted like code:
//!
//! - `actionlint` on every workflow (it runs shellcheck on their `run:` scripts
//!   when shellcheck is on PATH);
//! - the composite action (actionlint checks workflows only): valid YAML, the
//!   keys GitHub requires, every input it uses declared, and shellcheck on each
//!   `run:` script;
//! - every `uses:` of a remote action pinned to a full commit SHA with a
//!   `# vX.Y.Z` comment.
//!
//! `scripts/provision.sh` installs actionlint (in `.cache/tools/bin`) and
//! shellcheck, so under `CI=true` a missing tool FAILS these tests; elsewhere
//! they are skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// `name` from `$ENV_VAR`, PATH, or the provisioned tools directory.
fn find_tool(name: &str, env_var: &str) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(env_var).filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    let mut dirs: Vec<PathBuf> =
        std::env::var_os("PATH").map(|p| std::env::split_paths(&p).collect()).unwrap_or_default();
    let cache = std::env::var_os("CHECKPOINT_CACHE").map_or_else(|| repo().join(".cache"), PathBuf::from);
    dirs.push(cache.join("tools/bin"));
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

/// The tool, or `None` after printing why the test is skipped; panics under CI.
fn require(name: &str, env_var: &str) -> Option<PathBuf> {
    let found = find_tool(name, env_var);
    if found.is_none() {
        assert!(!under_ci(), "{name} is not installed (CI=true): run scripts/provision.sh, which installs it");
        eprintln!(
            "note: {name} is not installed: skipping (scripts/provision.sh installs it; CI=true makes this a failure)"
        );
    }
    found
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
        .collect();
    v.sort();
    v
}

fn workflows() -> Vec<PathBuf> {
    let v = files(&repo().join(".github/workflows"));
    assert!(v.len() >= 2, "ci.yml and checkpoint-gate.yml at least: {v:?}");
    v
}

fn action() -> PathBuf {
    repo().join(".github/actions/checkpoint/action.yml")
}

#[test]
fn actionlint_passes_on_every_workflow() {
    let Some(actionlint) = require("actionlint", "ACTIONLINT") else { return };
    if find_tool("shellcheck", "SHELLCHECK").is_none() {
        assert!(!under_ci(), "shellcheck is not installed (CI=true): run scripts/provision.sh");
        eprintln!("note: shellcheck is not installed: actionlint checks the run: scripts without it");
    }
    let files = workflows();
    let out = Command::new(&actionlint)
        .current_dir(repo())
        .arg("-no-color")
        .args(files.iter().map(|f| f.strip_prefix(repo()).unwrap()))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", actionlint.display()));
    assert!(
        out.status.success(),
        "actionlint found problems ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn actionlint_catches_a_broken_workflow() {
    // The linter is really consulted: an untrusted expression in a script is an error.
    let Some(actionlint) = require("actionlint", "ACTIONLINT") else { return };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "on: pull_request\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo \"${{ github.event.pull_request.title }}\"\n",
    )
    .unwrap();
    let out = Command::new(&actionlint).arg("-no-color").arg(&bad).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("potentially untrusted"), "{text}");
}

fn yaml(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not valid YAML: {e}", path.display()))
}

#[test]
fn the_composite_action_has_what_github_requires() {
    let path = action();
    let doc = yaml(&path);
    for key in ["name", "description"] {
        assert!(doc[key].as_str().is_some_and(|s| !s.is_empty()), "action.yml: `{key}` is required");
    }
    assert_eq!(doc["runs"]["using"], "composite", "action.yml: runs.using");
    let steps = doc["runs"]["steps"].as_array().expect("action.yml: runs.steps");
    assert!(!steps.is_empty());
    let inputs = doc["inputs"].as_object().expect("action.yml: inputs");
    for required in ["checkpoint", "waves", "args", "version", "path", "working-directory"] {
        let input = &inputs.get(required).unwrap_or_else(|| panic!("action.yml: input `{required}` missing"));
        assert!(input["description"].as_str().is_some_and(|s| !s.is_empty()), "input `{required}`: description");
    }
    for (i, step) in steps.iter().enumerate() {
        let has_run = step.get("run").is_some();
        let has_uses = step.get("uses").is_some();
        assert!(has_run ^ has_uses, "step {i}: exactly one of `run` and `uses`");
        if has_run {
            assert!(step["shell"].is_string(), "step {i}: a composite `run:` step needs `shell:`");
        }
    }
    // Every `${{ inputs.X }}` is declared.
    let text = std::fs::read_to_string(&path).unwrap();
    for (at, _) in text.match_indices("inputs.") {
        let name: String =
            text[at + 7..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect();
        assert!(inputs.contains_key(&name), "action.yml uses undeclared input `{name}`");
    }
    // The reports are uploaded whatever happened, and the verdict comes after.
    let upload =
        steps.iter().position(|s| s["uses"].as_str().is_some_and(|u| u.starts_with("actions/upload-artifact@")));
    let upload = upload.expect("an upload-artifact step");
    assert_eq!(steps[upload]["if"], "always()", "the upload runs even when the checkpoint failed");
    let last = steps.last().unwrap();
    assert_eq!(last["if"], "always()");
    assert!(last["run"].as_str().unwrap().contains("exit \"${CP_CODE}\""), "the last step propagates the exit code");
}

#[test]
fn shellcheck_passes_on_the_composite_actions_scripts() {
    let Some(shellcheck) = require("shellcheck", "SHELLCHECK") else { return };
    let doc = yaml(&action());
    for (i, step) in doc["runs"]["steps"].as_array().unwrap().iter().enumerate() {
        let Some(script) = step["run"].as_str() else { continue };
        // Expressions are substituted before the shell sees the script: a placeholder word.
        let mut text = String::new();
        let mut rest = script;
        while let Some(start) = rest.find("${{") {
            text.push_str(&rest[..start]);
            text.push_str("EXPR");
            rest = rest[start..].find("}}").map_or("", |end| &rest[start + end + 2..]);
        }
        text.push_str(rest);
        let mut child = Command::new(&shellcheck)
            .args(["--shell=bash", "--severity=style", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "shellcheck on step {i} ({}) of action.yml:\n{}",
            step["name"],
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn every_remote_action_is_pinned_to_a_full_sha_with_its_version() {
    let mut all = workflows();
    all.push(action());
    let mut seen = 0;
    for path in all {
        let text = std::fs::read_to_string(&path).unwrap();
        for (n, line) in text.lines().enumerate() {
            let Some(at) = line.find("uses:") else { continue };
            let target = line[at + 5..].trim();
            if target.starts_with("./") || line.trim_start().starts_with('#') {
                continue;
            }
            seen += 1;
            let (spec, comment) = target.split_once('#').unwrap_or((target, ""));
            let (_, sha) = spec.trim().rsplit_once('@').unwrap_or(("", ""));
            let where_ = format!("{}:{}", path.display(), n + 1);
            assert!(
                sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
                "{where_}: pin to a full SHA: {line}"
            );
            let version = comment.trim();
            assert!(
                version.starts_with('v') && version[1..].split('.').count() == 3,
                "{where_}: `# vX.Y.Z` after the SHA: {line}"
            );
        }
    }
    assert!(seen >= 4, "checkout, cache and upload-artifact at least ({seen})");
}

/// A composite step's `run:` script as the runner runs it (`bash -e {0}`), with `env`.
fn run_step(script: &str, env: &[(&str, &str)], path_prefix: &Path, cwd: &Path) -> std::process::Output {
    let path = format!("{}:{}", path_prefix.display(), std::env::var("PATH").unwrap_or_default());
    Command::new("bash")
        .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
        .envs(env.iter().copied())
        .env("PATH", path)
        .current_dir(cwd)
        .output()
        .unwrap()
}

#[test]
fn the_action_records_the_exit_code_uploads_then_fails_with_it() {
    let doc = yaml(&action());
    let steps = doc["runs"]["steps"].as_array().unwrap();
    let run = steps.iter().find(|s| s["id"] == "run").expect("the step with id `run`");
    let verdict = steps.last().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for code in [0, 1, 2, 3] {
        // A stand-in for the real binary: records its arguments, exits with `code`.
        let fake = bin.join("checkpoint");
        std::fs::write(&fake, format!("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGS_FILE\"\nexit {code}\n")).unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let output = dir.path().join(format!("output-{code}"));
        let args_file = dir.path().join(format!("args-{code}"));
        let out = run_step(
            run["run"].as_str().unwrap(),
            &[
                ("CP_CHECKPOINT", "1"),
                ("CP_WAVES", "wave1,wave2"),
                ("CP_ARGS", "--fail-fast  -j 4"),
                ("CP_OUT", "checkpoint-results"),
                ("GITHUB_OUTPUT", output.to_str().unwrap()),
                ("ARGS_FILE", args_file.to_str().unwrap()),
            ],
            &bin,
            dir.path(),
        );
        assert!(out.status.success(), "the run step itself succeeds (exit {code}): {out:?}");
        assert_eq!(std::fs::read_to_string(&output).unwrap(), format!("exit-code={code}\n"));
        assert_eq!(
            std::fs::read_to_string(&args_file).unwrap(),
            "run\n1\n--out\ncheckpoint-results\n--waves\nwave1,wave2\n--fail-fast\n-j\n4\n"
        );
        let code_text = code.to_string();
        let out = run_step(
            verdict["run"].as_str().unwrap(),
            &[("CP_CODE", &code_text), ("CP_CHECKPOINT", "1")],
            &bin,
            dir.path(),
        );
        assert_eq!(out.status.code(), Some(code), "the verdict step exits like checkpoint did: {out:?}");
    }
    // The run step never ran (the install failed): the verdict fails.
    let out = run_step(verdict["run"].as_str().unwrap(), &[("CP_CODE", ""), ("CP_CHECKPOINT", "1")], &bin, dir.path());
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("::error title=checkpoint::checkpoint did not run"));
}
