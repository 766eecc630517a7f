//! The Python wheel as a Python user gets it: `scripts/wheel.sh` builds it
//! with maturin, `pip install --no-index` puts it into a fresh venv offline,
//! and the `checkpoint` on the venv's PATH answers `--version` and validates
//! a checkpoint.
//!
//! The wheel is built in a target directory of its own: maturin builds only
//! the binary's package, whose features differ from the workspace build, and
//! must not replace `target/debug/checkpoint` while other tests run it.
//! Locally that directory is `target/wheel-test`, kept so a rerun is quick; under
//! CI (`CI` set) it is a temporary one, removed when the test ends: CI builds
//! once, and a second 1.6 GB dev build left on its disk helped fill it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap()
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{cmd:?} failed ({}):\n{stdout}{}", o.status, String::from_utf8_lossy(&o.stderr));
    stdout
}

#[test]
fn the_wheel_installs_offline_into_a_fresh_venv_and_validates() {
    let root = root();
    let out = tempfile::tempdir().unwrap();
    let ci_target = std::env::var_os("CI").map(|_| {
        std::fs::create_dir_all(root.join("target")).unwrap();
        tempfile::Builder::new().prefix("wheel-test-").tempdir_in(root.join("target")).unwrap()
    });
    let target = ci_target.as_ref().map_or_else(|| root.join("target/wheel-test"), |t| t.path().to_path_buf());
    let built = run(Command::new(root.join("scripts/wheel.sh"))
        .current_dir(&root)
        .env("WHEEL_PROFILE", "dev")
        .env("WHEEL_OUT", out.path())
        .env("CARGO_TARGET_DIR", &target));
    // The script prints the wheel's path last on stdout (its progress goes to stderr).
    let wheel = built
        .lines()
        .rev()
        .find(|l| Path::new(l.trim()).extension().is_some_and(|e| e.eq_ignore_ascii_case("whl")))
        .unwrap()
        .trim()
        .to_string();
    let name = Path::new(&wheel).file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("checkpoint_harness-") && name.contains("manylinux"), "{name}");

    let venv = out.path().join("venv");
    run(Command::new("python3").args(["-m", "venv"]).arg(&venv));
    run(Command::new(venv.join("bin/pip")).args(["install", "--no-index", "--no-deps", "-q"]).arg(&wheel));

    let bin = venv.join("bin/checkpoint");
    let version = run(Command::new(&bin).arg("--version"));
    assert!(version.starts_with(&format!("checkpoint {}", env!("CARGO_PKG_VERSION"))), "{version}");

    let project = out.path().join("project");
    std::fs::create_dir_all(project.join("checkpoints")).unwrap();
    std::fs::write(
        project.join("checkpoints/1.yaml"),
        "checkpoint: 1\ntitle: From the wheel\ngates:\n  - id: up\n    title: API up\n    checks:\n      - name: health\n        http: { url: \"http://127.0.0.1:9/health\" }\n        expect: { status: 200 }\n",
    )
    .unwrap();
    let valid = run(Command::new(&bin).args(["validate", "1"]).current_dir(&project).env("NO_COLOR", "1"));
    assert!(valid.contains("ok: 1 checkpoint valid"), "{valid}");

    // And a broken file is refused with its location, as from any install.
    std::fs::write(project.join("checkpoints/2.yaml"), "checkpoint: 2\ntitle: Broken\ngates:\n  - id: x\n").unwrap();
    let o = Command::new(&bin).args(["validate", "2"]).current_dir(&project).env("NO_COLOR", "1").output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("2.yaml:4"), "{}", String::from_utf8_lossy(&o.stderr));
}
