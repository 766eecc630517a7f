//! What the non-Docker tests of the binary share: the binary set up as a CI
//! run would start it, its output as text, and an in-process API on loopback.

use std::process::Output;

use assert_cmd::Command;

/// The binary with no colour, `CI=true`, no `CHECKPOINT_DIR` from the shell,
/// and — on a GitHub runner — kept out of the CI step's own summary and
/// annotations.
pub(crate) fn checkpoint() -> Command {
    let mut c = Command::cargo_bin("checkpoint").expect("binary");
    c.env_remove("CHECKPOINT_DIR").env("NO_COLOR", "1").env("CI", "true");
    c.env_remove("GITHUB_ACTIONS").env_remove("GITHUB_STEP_SUMMARY");
    c
}

/// stdout then stderr.
pub(crate) fn text(o: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr))
}

pub(crate) fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Serves `app` on a loopback port from a thread with its own runtime (the
/// tests themselves are synchronous) and returns its `http://` base URL.
pub(crate) fn serve(app: axum::Router) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    format!("http://{}", rx.recv().unwrap())
}
