//! What the non-Docker tests of the binary share: the command line run
//! in-process as a CI run would start it (or the real binary, for the tests
//! that are about the process), its output as text, an API on loopback, a
//! checkpoint file written into a project, and the Postgres and Redis of
//! `scripts/test-services.sh`.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Output};
use std::sync::{Mutex, PoisonError};

use assert_cmd::Command;

/// The environment every test run starts from: no colour, `CI=true`, no
/// `CHECKPOINT_DIR` from the shell, and — on a GitHub runner — kept out of the
/// CI step's own summary and annotations.
const SET: [(&str, &str); 2] = [("NO_COLOR", "1"), ("CI", "true")];
const REMOVED: [&str; 3] = ["CHECKPOINT_DIR", "GITHUB_ACTIONS", "GITHUB_STEP_SUMMARY"];

/// The real binary in a child process, in that environment: for the tests
/// about the process itself (signals, exit codes as the shell sees them,
/// the environment a child inherits).
pub(crate) fn spawned() -> Command {
    let mut c = Command::cargo_bin("checkpoint").expect("binary");
    for (k, v) in SET {
        c.env(k, v);
    }
    for k in REMOVED {
        c.env_remove(k);
    }
    c
}

/// The command line run in this process by `checkpoint::main_with`, with
/// both streams captured: what the binary does, without spawning it.
pub(crate) fn checkpoint() -> InProcess {
    let mut c = InProcess { args: vec!["checkpoint".into()], dir: None, env: Vec::new() };
    for (k, v) in SET {
        c.env(k, v);
    }
    for k in REMOVED {
        c.env_remove(k);
    }
    c
}

/// A command line for [`checkpoint`], built like `std::process::Command`.
pub(crate) struct InProcess {
    args: Vec<OsString>,
    dir: Option<PathBuf>,
    env: Vec<(OsString, Option<OsString>)>,
}

/// The working directory belongs to the process: one in-process run at a
/// time changes it (and puts it back).
static CWD: Mutex<()> = Mutex::new(());

impl InProcess {
    pub(crate) fn arg(&mut self, a: impl AsRef<OsStr>) -> &mut Self {
        self.args.push(a.as_ref().to_os_string());
        self
    }

    pub(crate) fn args<I: IntoIterator<Item = S>, S: AsRef<OsStr>>(&mut self, args: I) -> &mut Self {
        for a in args {
            self.arg(a);
        }
        self
    }

    pub(crate) fn current_dir(&mut self, dir: impl AsRef<Path>) -> &mut Self {
        self.dir = Some(dir.as_ref().to_path_buf());
        self
    }

    pub(crate) fn env(&mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> &mut Self {
        self.env.push((k.as_ref().to_os_string(), Some(v.as_ref().to_os_string())));
        self
    }

    pub(crate) fn env_remove(&mut self, k: impl AsRef<OsStr>) -> &mut Self {
        self.env.push((k.as_ref().to_os_string(), None));
        self
    }

    /// Runs it to the end; never fails (the `Result` reads like `Command`'s).
    /// The environment given here is the command's (its context's), the
    /// working directory the process's: one in-process run at a time.
    pub(crate) fn output(&mut self) -> std::io::Result<Output> {
        let _one_at_a_time = CWD.lock().unwrap_or_else(PoisonError::into_inner);
        let (mut ctx, out, err) = checkpoint::Context::capture();
        for (k, v) in &self.env {
            match v {
                Some(v) => ctx.env.set(k, v),
                None => ctx.env.remove(k),
            }
        }
        let cwd = std::env::current_dir()?;
        if let Some(d) = &self.dir {
            std::env::set_current_dir(d)?;
        }
        let code = checkpoint::main_with(&ctx, self.args.clone());
        std::env::set_current_dir(cwd)?;
        Ok(Output { status: ExitStatus::from_raw(i32::from(code) << 8), stdout: out.bytes(), stderr: err.bytes() })
    }
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

/// Writes `text` to `checkpoints/NAME` under the project root `dir`.
pub(crate) fn write_checkpoint(dir: &Path, name: &str, text: &str) {
    let p = dir.join("checkpoints").join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// The DSN of the test Postgres and the URL of the test Redis
/// (`CHECKPOINT_TEST_PG`, `CHECKPOINT_TEST_REDIS`).
pub(crate) fn pg_and_redis() -> (String, String) {
    let pg = std::env::var("CHECKPOINT_TEST_PG").expect("CHECKPOINT_TEST_PG: run through scripts/test.sh");
    let redis = std::env::var("CHECKPOINT_TEST_REDIS").expect("CHECKPOINT_TEST_REDIS: run through scripts/test.sh");
    (pg, redis)
}
