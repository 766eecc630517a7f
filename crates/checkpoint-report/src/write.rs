//! Writing reports atomically: a temp file in the same directory, then rename,
//! so a reader (or a run cut short) never sees half a file.

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

pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
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
    // JSON first: it is the source the others can be re-rendered from.
    write_atomic(&w.json, &crate::json(report)).map_err(io(&w.json))?;
    write_atomic(&w.junit, &crate::junit(report)).map_err(io(&w.junit))?;
    write_atomic(&w.markdown, &crate::markdown::markdown_with(report, baseline, slower)).map_err(io(&w.markdown))?;
    write_atomic(&w.html, &crate::html(report)).map_err(io(&w.html))?;
    Ok(w)
}
