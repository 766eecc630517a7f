//! `checkpoint --version` names the commit it was built from (`0.1.0 (abc1234)`):
//! a bug report then says exactly which build. Outside a git checkout (a
//! crates.io or tarball build) the version stands alone.

fn main() {
    let commit = std::process::Command::new("git")
        .args(["rev-parse", "--short=10", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|c| !c.is_empty());
    let dirty = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=no"])
        .output()
        .ok()
        .is_some_and(|o| o.status.success() && !o.stdout.is_empty());
    let version = env!("CARGO_PKG_VERSION");
    let long = match commit {
        Some(c) => format!("{version} ({c}{})", if dirty { ", modified" } else { "" }),
        None => version.to_string(),
    };
    println!("cargo:rustc-env=CHECKPOINT_LONG_VERSION={long}");
    // Rebuild when HEAD moves (a commit, a checkout).
    for p in ["../../.git/HEAD", "../../.git/index"] {
        if std::path::Path::new(p).exists() {
            println!("cargo:rerun-if-changed={p}");
        }
    }
}
