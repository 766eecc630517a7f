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

/// Serves `dir` over HTTP on a free loopback port (Python's http.server), until dropped.
struct Served(std::process::Child, String);

impl Served {
    fn new(dir: &Path) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("python3")
            .args(["-m", "http.server", &port.to_string(), "--bind", "127.0.0.1", "--directory"])
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self(child, format!("http://127.0.0.1:{port}"))
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The action's install step downloads the release asset for this platform and installs it
/// only when its SHA-256 matches `SHA256SUMS`: a release laid out as GitHub serves it
/// (`releases/download/<tag>/…`, `releases/latest/download/…`), holding this build's binary.
#[test]
fn the_action_installs_the_release_binary_only_when_its_checksum_matches() {
    let doc = yaml(&action());
    let steps = doc["runs"]["steps"].as_array().unwrap();
    let install = steps.iter().find(|s| s["name"] == "Install checkpoint").expect("the install step");
    let dir = tempfile::tempdir().unwrap();
    let releases = dir.path().join("owner/checkpoint/releases");
    let target = match std::env::consts::ARCH {
        "x86_64" => "x86_64-unknown-linux-musl",
        _ => "aarch64-unknown-linux-musl",
    };
    let asset = format!("checkpoint-{target}.tar.gz");
    let stage = dir.path().join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_checkpoint"), stage.join("checkpoint")).unwrap();
    // One archive (packing a debug binary takes seconds), published under three tags.
    let tarball = dir.path().join(&asset);
    let tar = Command::new("tar").arg("-czf").arg(&tarball).arg("-C").arg(&stage).arg("checkpoint").status();
    assert!(tar.unwrap().success());
    let sum = Command::new("sha256sum").arg(&tarball).output().unwrap();
    let sum = String::from_utf8_lossy(&sum.stdout).split_whitespace().next().unwrap().to_string();
    let publish = |tag_dir: &Path, sum: &str| {
        std::fs::create_dir_all(tag_dir).unwrap();
        std::fs::copy(&tarball, tag_dir.join(&asset)).unwrap();
        std::fs::write(tag_dir.join("SHA256SUMS"), format!("{sum}  {asset}\n")).unwrap();
    };
    publish(&releases.join("download/v9.9.9"), &sum);
    publish(&releases.join("latest/download"), &sum);
    publish(&releases.join("download/v6.6.6"), &"0".repeat(64));
    let served = Served::new(dir.path());
    let script = install["run"].as_str().unwrap();
    let action_path = action().parent().unwrap().to_path_buf();
    // Where the runner puts a remote action (`uses: owner/checkpoint/.github/actions/checkpoint@v1`).
    let remote_path = dir.path().join("_actions/owner/checkpoint/v1/.github/actions/checkpoint");
    std::fs::create_dir_all(&remote_path).unwrap();
    std::fs::copy(action_path.join("install.sh"), remote_path.join("install.sh")).unwrap();
    let bin = dir.path().join("no-extra-path");
    std::fs::create_dir_all(&bin).unwrap();
    let repo_url = format!("{}/owner/checkpoint", served.1);

    // A tag from the `git` input; `latest` from the repository the runner fetched the
    // action from (github.action_repository is empty inside composite actions).
    for (version, git, path) in [("v9.9.9", repo_url.as_str(), &action_path), ("latest", "", &remote_path)] {
        let into = dir.path().join(format!("install-{version}"));
        let github_path = dir.path().join(format!("github-path-{version}"));
        let out = run_step(
            script,
            &[
                ("CP_PATH", ""),
                ("CP_VERSION", version),
                ("CP_FROM_SOURCE", "false"),
                ("CP_GIT", git),
                ("CP_ACTION_REPO", ""),
                ("CP_SERVER", &served.1),
                ("CP_ACTION_PATH", path.to_str().unwrap()),
                ("CP_INSTALL_DIR", into.to_str().unwrap()),
                ("GITHUB_PATH", github_path.to_str().unwrap()),
            ],
            &bin,
            dir.path(),
        );
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{version}: {said}");
        let installed = into.join("checkpoint");
        let v = Command::new(&installed).arg("--version").output().unwrap();
        assert!(String::from_utf8_lossy(&v.stdout).starts_with("checkpoint "), "{version}: {v:?}");
        assert_eq!(std::fs::read_to_string(&github_path).unwrap().trim(), into.to_str().unwrap());
    }

    // A download that does not match its checksum is refused, and nothing is installed.
    let into = dir.path().join("install-bad");
    let out = run_step(
        script,
        &[
            ("CP_PATH", ""),
            ("CP_VERSION", "v6.6.6"),
            ("CP_FROM_SOURCE", "false"),
            ("CP_GIT", &repo_url),
            ("CP_ACTION_PATH", action_path.to_str().unwrap()),
            ("CP_INSTALL_DIR", into.to_str().unwrap()),
        ],
        &bin,
        dir.path(),
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(said.contains(&format!("::error title=checkpoint install::checksum mismatch for {asset}")), "{said}");
    assert!(!into.join("checkpoint").exists(), "a mismatched binary is never installed");

    // A local copy of the action with no `git` input cannot know where the releases are.
    let out = run_step(
        script,
        &[
            ("CP_PATH", ""),
            ("CP_VERSION", "latest"),
            ("CP_FROM_SOURCE", "false"),
            ("CP_GIT", ""),
            ("CP_ACTION_REPO", ""),
            ("CP_SERVER", &served.1),
            ("CP_ACTION_PATH", action_path.to_str().unwrap()),
            ("CP_INSTALL_DIR", into.to_str().unwrap()),
        ],
        &bin,
        dir.path(),
    );
    let said = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(said.contains("::error title=checkpoint action::set the input `git`"), "{said}");
    assert!(!into.join("checkpoint").exists());
}

/// `key` of every entry of release.yml's `jobs.<job>.strategy.matrix.include`.
fn matrix<'a>(release: &'a serde_json::Value, job: &str, key: &str) -> Vec<&'a str> {
    release["jobs"][job]["strategy"]["matrix"]["include"]
        .as_array()
        .unwrap_or_else(|| panic!("release.yml: jobs.{job}.strategy.matrix.include"))
        .iter()
        .map(|m| m[key].as_str().unwrap())
        .collect()
}

/// The release, the action's installer and `cargo binstall` agree on the assets: every
/// target `install.sh` picks and every target binstall resolves is one the release builds,
/// under the name the release packs it as.
#[test]
fn the_release_assets_are_what_the_action_and_binstall_download() {
    let release = yaml(&repo().join(".github/workflows/release.yml"));
    let built: Vec<String> = matrix(&release, "binaries", "target").into_iter().map(String::from).collect();
    assert_eq!(built.len(), 4, "Linux and macOS, x86_64 and arm64: {built:?}");
    let package = release["jobs"]["binaries"]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "Package")
        .expect("the Package step");
    assert!(package["run"].as_str().unwrap().contains("dist/checkpoint-$TARGET.tar.gz"), "{package:?}");
    let wheels = matrix(&release, "wheels", "os");
    let binary_runners = matrix(&release, "binaries", "os");
    assert_eq!(wheels, binary_runners, "wheels for the same platforms as the binaries");

    // install.sh: `<uname>) target=<target> ;;` for each platform it knows.
    let install = std::fs::read_to_string(action().parent().unwrap().join("install.sh")).unwrap();
    let picked: Vec<&str> = install
        .lines()
        .filter_map(|l| l.split_once("target="))
        .map(|(_, t)| t.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(picked.len(), 4, "{picked:?}");
    for t in &picked {
        assert!(built.iter().any(|b| b == t), "install.sh downloads {t}, which the release does not build");
    }

    // binstall: the pkg-url for each target a user may have names a built asset.
    let meta = Command::new(env!("CARGO"))
        .args(["metadata", "--no-deps", "--format-version", "1", "--offline"])
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(meta.status.success(), "{}", String::from_utf8_lossy(&meta.stderr));
    let meta: serde_json::Value = serde_json::from_slice(&meta.stdout).unwrap();
    let pkg = meta["packages"].as_array().unwrap().iter().find(|p| p["name"] == "checkpoint").unwrap();
    assert!(pkg["repository"].is_string(), "binstall's {{ repo }} needs the package's `repository`");
    let binstall = &pkg["metadata"]["binstall"];
    let default = binstall["pkg-url"].as_str().expect("[package.metadata.binstall] pkg-url");
    let users = built.iter().map(String::as_str).chain(["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]);
    for target in users {
        let url = binstall["overrides"][target]["pkg-url"].as_str().unwrap_or(default).replace("{ target }", target);
        let asset = url.rsplit('/').next().unwrap();
        let packed = asset.strip_prefix("checkpoint-").and_then(|a| a.strip_suffix(".tar.gz"));
        assert!(
            packed.is_some_and(|t| built.iter().any(|b| b == t)),
            "binstall on {target} fetches {asset}, not a release asset"
        );
        assert!(url.starts_with("{ repo }/releases/download/v{ version }/"), "{url}");
    }
}
