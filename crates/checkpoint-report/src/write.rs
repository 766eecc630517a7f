//! Writing reports atomically: a temp file in the same directory, then rename,
//! so a reader (or a run cut short) never sees half a file.
//!
//! Reports are not synced to the disk before the rename, like other test
//! runners' reports: the rename alone keeps them whole when the process is
//! killed (Ctrl-C, OOM, a CI timeout) — the page cache outlives the process —
//! and only a power cut or a kernel crash, which ends the job that would read
//! them anyway, could leave one empty. The four syncs were about a tenth of a
//! 1,000-check run's wall time. Files the user keeps as sources (`init`'s
//! checkpoint files) are synced ([`write_atomic`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use checkpoint_model::result::RunReport;

use crate::json::ReportError;

pub const JUNIT: &str = "junit.xml";
pub const MARKDOWN: &str = "integration-test-results.md";
pub const JSON: &str = "results.json";
pub const HTML: &str = "integration-test-results.html";

/// Where the reports were written.
#[derive(Debug, Clone)]
pub struct Written {
    pub junit: PathBuf,
    pub markdown: PathBuf,
    pub json: PathBuf,
    pub html: PathBuf,
}

/// `contents` put in place at `path` atomically, synced to the disk first.
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    staged(path, contents, Durability::Disk)?.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Whether a staged file is synced to the disk before it is put in place.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Durability {
    Disk,
    /// A report: whole after a killed process, not after a power cut.
    Cache,
}

/// `contents` in a temp file beside `path`, not yet in place.
fn staged(path: &Path, contents: &str, durability: Durability) -> std::io::Result<tempfile::NamedTempFile> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new();
    // A report or a scaffolded file is made like any file the user creates
    // (0666 less the umask), not with a temp file's private 0600: a CI
    // container of another user, a web server, a teammate reads it.
    #[cfg(unix)]
    tmp.permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666));
    let mut tmp = tmp.tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    if durability == Durability::Disk {
        tmp.as_file().sync_all()?;
    }
    Ok(tmp)
}

pub fn write_all(report: &RunReport, dir: &Path, baseline: Option<&RunReport>) -> Result<Written, ReportError> {
    write_all_with(report, dir, baseline, &crate::baseline::SlowerThan::default())
}

/// [`write_all`] with the `--slower-than` threshold for the baseline comparison.
pub fn write_all_with(
    report: &RunReport,
    dir: &Path,
    baseline: Option<&RunReport>,
    slower: &crate::baseline::SlowerThan,
) -> Result<Written, ReportError> {
    let w =
        Written { junit: dir.join(JUNIT), markdown: dir.join(MARKDOWN), json: dir.join(JSON), html: dir.join(HTML) };
    fn io(p: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
        move |source| ReportError::Io { path: p.display().to_string(), source }
    }
    // Each report is rendered and written to a temp file on its own thread;
    // then they are put in place, JSON first: it is the source the others
    // can be re-rendered from. A report that fails leaves no temp file behind
    // and the ones before it in place.
    let render: [(&Path, &(dyn Fn() -> String + Sync)); 4] = [
        (&w.json, &|| crate::json(report)),
        (&w.junit, &|| crate::junit(report)),
        (&w.markdown, &|| crate::markdown::markdown_with(report, baseline, slower)),
        (&w.html, &|| crate::html(report)),
    ];
    let staged: Vec<std::io::Result<tempfile::NamedTempFile>> = std::thread::scope(|s| {
        let handles: Vec<_> =
            render[1..].iter().map(|(path, text)| s.spawn(move || staged(path, &text(), Durability::Cache))).collect();
        let (json, text) = render[0];
        let mut all = vec![staged(json, &text(), Durability::Cache)];
        all.extend(handles.into_iter().map(|h| h.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))));
        all
    });
    for ((path, _), tmp) in render.iter().zip(staged) {
        tmp.and_then(|t| t.persist(path).map_err(|e| e.error)).map_err(io(path))?;
    }
    Ok(w)
}
