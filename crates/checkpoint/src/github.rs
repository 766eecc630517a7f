//! Inside GitHub Actions (`GITHUB_ACTIONS=true`): the Markdown report appended
//! to the step summary (`$GITHUB_STEP_SUMMARY`, kept under GitHub's 1 MiB per
//! step), one annotation per failing gate pointing at its line in the
//! checkpoint file, and container logs on the console fenced off with
//! `::stop-commands::` so a log line is never read as a workflow command.
//!
//! Workflow-command syntax and escaping:
//! <https://docs.github.com/actions/reference/workflow-commands-for-github-actions>.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use checkpoint_model::Severity;
use checkpoint_model::result::{GateResult, RunReport, Status};

use crate::Context;

/// GitHub's limit for one step's summary.
pub(crate) const SUMMARY_LIMIT: usize = 1024 * 1024;
/// Left free under [`SUMMARY_LIMIT`]: other steps' writes in between, rounding.
pub(crate) const SUMMARY_MARGIN: usize = 16 * 1024;
/// GitHub shows at most 10 error (and 10 warning) annotations per step.
pub(crate) const MAX_ANNOTATIONS: usize = 10;

/// Room kept at the end of a truncated summary for what closes it.
const TRUNCATION_RESERVE: usize = 512;

/// Whether this process runs as a GitHub Actions step.
pub(crate) fn active(ctx: &Context) -> bool {
    ctx.env.get("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// The run's hook (called once per checkpoint after its reports are written):
/// annotations on stdout, the Markdown report appended to the step summary.
/// Never fails the run: problems are printed as warnings.
pub(crate) fn after_run(ctx: &Context, report: &RunReport, baseline: Option<&RunReport>) {
    if !active(ctx) {
        return;
    }
    let workspace = ctx.env.get("GITHUB_WORKSPACE").map(PathBuf::from);
    let (annotations, left_out) = annotations(report, workspace.as_deref());
    for a in &annotations {
        crate::outln!(ctx, "{a}");
    }
    if left_out > 0 {
        crate::outln!(
            ctx,
            "checkpoint: {left_out} more failing gate{} not annotated (at most {MAX_ANNOTATIONS}, the most severe first); \
             the step summary and integration-test-results.md list every gate",
            if left_out == 1 { "" } else { "s" }
        );
    }
    let Some(path) = ctx.env.get("GITHUB_STEP_SUMMARY") else {
        return;
    };
    let markdown = checkpoint_report::markdown(report, baseline);
    if let Err(e) = append_summary(Path::new(&path), &markdown) {
        crate::errln!(
            ctx,
            "warning: cannot append the report to $GITHUB_STEP_SUMMARY ({}): {e}; the full report is in integration-test-results.md",
            Path::new(&path).display()
        );
    }
}

// --- escaping ----------------------------------------------------------------------------

/// A command's message: `%`, CR and LF are escaped (the runner unescapes them).
pub(crate) fn escape_data(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => o.push_str("%25"),
            '\r' => o.push_str("%0D"),
            '\n' => o.push_str("%0A"),
            c => o.push(c),
        }
    }
    o
}

/// A command's property value (`file=`, `title=`): also `:` and `,`, which
/// would end the property list or the property.
pub(crate) fn escape_property(s: &str) -> String {
    // After escape_data, whose escapes hold neither `:` nor `,`.
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

// --- annotations -------------------------------------------------------------------------

/// One `::error file=…,line=…,col=…,title=…::message` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Annotation {
    /// `error`, `warning` or `notice`.
    pub level: &'static str,
    pub file: String,
    /// 1-based; 0 = unknown (left out).
    pub line: u32,
    pub col: u32,
    pub title: String,
    pub message: String,
}

impl std::fmt::Display for Annotation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "::{} file={}", self.level, escape_property(&self.file))?;
        if self.line > 0 {
            write!(f, ",line={}", self.line)?;
            if self.col > 0 {
                write!(f, ",col={}", self.col)?;
            }
        }
        write!(f, ",title={}::{}", escape_property(&self.title), escape_data(&self.message))
    }
}

fn severity_rank(s: Severity) -> u8 {
    match s {
        Severity::Must => 0,
        Severity::Should => 1,
        Severity::Nice => 2,
    }
}

/// A false expectation first: it is a finding about the stack; an error or a
/// timeout may be the harness's or the network's.
fn status_rank(s: Status) -> u8 {
    match s {
        Status::Failed => 0,
        Status::TimedOut => 1,
        Status::Errored => 2,
        _ => 3,
    }
}

/// The annotations for the failing gates (failed, timed out, errored), the
/// most severe first (must, should, nice; then failed, timed out, errored;
/// then definition order), at most [`MAX_ANNOTATIONS`], and how many were left
/// out. must → `error`, should → `warning`, nice → `notice`.
pub(crate) fn annotations(report: &RunReport, workspace: Option<&Path>) -> (Vec<Annotation>, usize) {
    let mut failing: Vec<&GateResult> = report.gates.iter().filter(|g| g.status.is_failure()).collect();
    failing.sort_by_key(|g| (severity_rank(g.severity), status_rank(g.status)));
    let left_out = failing.len().saturating_sub(MAX_ANNOTATIONS);
    let list = failing
        .into_iter()
        .take(MAX_ANNOTATIONS)
        .map(|g| {
            // The failing check's own line when known: that is what to fix.
            let check = g.checks.iter().find(|c| c.status.is_failure());
            let location = check.map(|c| &c.location).filter(|l| l.line > 0).unwrap_or(&g.location);
            let mut message = g.title.clone();
            if let Some(c) = check {
                message.push_str(&format!("\ncheck `{}` ({}) {}", c.name, c.kind, c.status.as_str()));
            }
            if let Some(reason) = &g.reason {
                message.push_str(&format!(": {reason}"));
            }
            Annotation {
                level: match g.severity {
                    Severity::Must => "error",
                    Severity::Should => "warning",
                    Severity::Nice => "notice",
                },
                file: repo_path(&location.file, workspace),
                line: location.line,
                col: location.col,
                title: format!(
                    "checkpoint {}: gate {} {} ({})",
                    report.checkpoint.id,
                    g.id,
                    g.status.as_str(),
                    g.severity.as_str()
                ),
                message,
            }
        })
        .collect();
    (list, left_out)
}

/// `file` as GitHub wants it: relative to the workspace (the repository
/// root), with `/` separators. Left as it is when it is not under it.
pub(crate) fn repo_path(file: &str, workspace: Option<&Path>) -> String {
    let path = Path::new(file);
    if let Some(ws) = workspace {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let canonical_ws = std::fs::canonicalize(ws).ok();
        let canonical_abs = std::fs::canonicalize(&abs).ok();
        let rel =
            abs.strip_prefix(ws).ok().map(Path::to_path_buf).or_else(|| {
                canonical_abs.as_deref()?.strip_prefix(canonical_ws.as_deref()?).ok().map(Path::to_path_buf)
            });
        if let Some(rel) = rel {
            return rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/");
        }
    }
    file.trim_start_matches("./").to_string()
}

// --- the step summary --------------------------------------------------------------------

/// Appends `markdown` to the summary file, within what is left of the 1 MiB
/// (minus [`SUMMARY_MARGIN`]) after what the step already wrote there.
pub(crate) fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let existing = match std::fs::metadata(path) {
        Ok(m) => usize::try_from(m.len()).unwrap_or(usize::MAX),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
        Err(e) => return Err(e),
    };
    let budget = SUMMARY_LIMIT.saturating_sub(SUMMARY_MARGIN).saturating_sub(existing);
    let mut text = String::new();
    if existing > 0 {
        text.push('\n');
    }
    text.push_str(&fit_summary(markdown, budget.saturating_sub(1)));
    let mut f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
    f.write_all(text.as_bytes())?;
    f.flush()
}

/// `markdown` within `budget` bytes: as it is when it fits; otherwise cut at a
/// section (heading) or at least a line boundary, open code fences and
/// `<details>` closed, and a note saying how much is missing and where it is.
pub(crate) fn fit_summary(markdown: &str, budget: usize) -> String {
    let mut text = markdown.to_string();
    if !text.ends_with('\n') {
        text.push('\n');
    }
    if text.len() <= budget {
        return text;
    }
    if budget < TRUNCATION_RESERVE {
        // No room for any of it: the note alone, if even that fits.
        let note = note(text.len());
        return if note.len() <= budget { note } else { String::new() };
    }
    let limit = budget - TRUNCATION_RESERVE;
    let cut = cut_point(&text, limit);
    let mut kept = text[..cut].to_string();
    let fences = kept.lines().filter(|l| l.trim_start().starts_with("```")).count();
    if fences % 2 == 1 {
        kept.push_str("```\n");
    }
    let open = kept.matches("<details>").count().saturating_sub(kept.matches("</details>").count());
    for _ in 0..open.min(4) {
        kept.push_str("</details>\n");
    }
    kept.push_str(&note(text.len() - cut));
    kept
}

fn note(missing: usize) -> String {
    format!(
        "\n> **… truncated: {missing} bytes more; the full report is in the artifact integration-test-results.md**\n"
    )
}

/// The byte offset to cut `text` at, ≤ `limit`: the start of the last heading
/// line if that keeps at least half of `limit`, else the end of the last whole
/// line, else a character boundary.
fn cut_point(text: &str, limit: usize) -> usize {
    let mut limit = limit.min(text.len());
    while !text.is_char_boundary(limit) {
        limit -= 1;
    }
    let head = &text[..limit];
    let heading = head.rfind("\n#").map(|i| i + 1);
    if let Some(h) = heading
        && h >= limit / 2
    {
        return h;
    }
    match head.rfind('\n') {
        Some(i) if i > 0 => i + 1,
        _ => limit,
    }
}

// --- logs on the console -----------------------------------------------------------------

/// Where fenced text goes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

/// While alive (in GitHub Actions), the runner ignores workflow commands on
/// `stream`: `::stop-commands::TOKEN` now, `::TOKEN::` when dropped. Print
/// container logs (text nobody here controls) inside one, on the same stream.
pub(crate) struct StopCommands {
    token: Option<String>,
    stream: Stream,
    ctx: Context,
}

impl StopCommands {
    pub(crate) fn new(ctx: &Context, stream: Stream) -> Self {
        let token = active(ctx).then(random_token);
        if let Some(t) = &token {
            emit(ctx, stream, &format!("::stop-commands::{t}"));
        }
        Self { token, stream, ctx: ctx.clone() }
    }
}

impl Drop for StopCommands {
    fn drop(&mut self) {
        if let Some(t) = &self.token {
            emit(&self.ctx, self.stream, &format!("::{t}::"));
        }
    }
}

fn emit(ctx: &Context, stream: Stream, line: &str) {
    match stream {
        Stream::Stdout => crate::outln!(ctx, "{line}"),
        Stream::Stderr => crate::errln!(ctx, "{line}"),
    }
}

/// 32 hex digits, fresh per use: a log cannot guess it to resume commands.
fn random_token() -> String {
    use rand::Rng as _;
    let mut rng = rand::rng();
    (0..32).map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_cr_lf_only() {
        assert_eq!(escape_data("50% done\r\nnext: a,b"), "50%25 done%0D%0Anext: a,b");
        assert_eq!(escape_data("%0A"), "%250A", "an escape sequence in the text stays literal");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(escape_property("gate a: b, c\n%"), "gate a%3A b%2C c%0A%25");
    }

    #[test]
    fn annotation_line_has_the_documented_shape() {
        let a = Annotation {
            level: "error",
            file: "checkpoints/1.yaml".into(),
            line: 12,
            col: 9,
            title: "checkpoint 1: gate auth failed (must)".into(),
            message: "Auth\nstatus: expected 200, got 503 (100%)".into(),
        };
        assert_eq!(
            a.to_string(),
            "::error file=checkpoints/1.yaml,line=12,col=9,title=checkpoint 1%3A gate auth failed (must)::Auth%0Astatus: expected 200, got 503 (100%25)"
        );
        let unknown = Annotation { line: 0, ..a };
        assert!(unknown.to_string().starts_with("::error file=checkpoints/1.yaml,title="), "{unknown}");
    }

    /// Built from JSON (as results.json holds it): fields added to the model later keep their defaults.
    fn gate(id: &str, severity: Severity, status: Status, line: u32) -> GateResult {
        serde_json::from_value(serde_json::json!({
            "id": id,
            "title": format!("Gate {id}"),
            "severity": severity,
            "location": { "file": "checkpoints/1.yaml", "line": line, "col": 5 },
            "status": status,
            "reason": format!("{id} is broken"),
            "duration_ms": 1.0,
            "checks": [{
                "name": "probe",
                "kind": "http",
                "location": { "file": "checkpoints/1.yaml", "line": line + 3, "col": 9 },
                "status": status,
                "duration_ms": 1.0
            }]
        }))
        .expect("a gate result")
    }

    fn report(gates: &[GateResult]) -> RunReport {
        let (verdict, criteria) = RunReport::evaluate(gates, 0.7, None);
        serde_json::from_value(serde_json::json!({
            "format_version": checkpoint_model::result::FORMAT_VERSION,
            "tool": "checkpoint test",
            "checkpoint": { "id": "1", "title": "Day 1", "file": "checkpoints/1.yaml" },
            "started_at": "2026-12-01T07:00:00Z",
            "duration_ms": 1.0,
            "verdict": verdict,
            "criteria": criteria,
            "gates": gates,
        }))
        .expect("a run report")
    }

    #[test]
    fn most_severe_first_failed_before_errored_and_at_most_ten() {
        let mut gates = vec![
            gate("nice1", Severity::Nice, Status::Failed, 10),
            gate("should-err", Severity::Should, Status::Errored, 20),
            gate("passed", Severity::Must, Status::Passed, 30),
            gate("skipped", Severity::Must, Status::Skipped, 40),
            gate("must-err", Severity::Must, Status::Errored, 50),
            gate("must-timeout", Severity::Must, Status::TimedOut, 60),
            gate("should-fail", Severity::Should, Status::Failed, 70),
            gate("must-fail", Severity::Must, Status::Failed, 80),
        ];
        for i in 0..6 {
            gates.push(gate(&format!("more{i}"), Severity::Nice, Status::Failed, 100 + i));
        }
        let (list, left_out) = annotations(&report(&gates), None);
        let order: Vec<&str> = list.iter().map(|a| a.title.split(' ').nth(3).unwrap_or_default()).collect::<Vec<_>>();
        assert_eq!(
            order,
            [
                "must-fail",
                "must-timeout",
                "must-err",
                "should-fail",
                "should-err",
                "nice1",
                "more0",
                "more1",
                "more2",
                "more3"
            ]
        );
        assert_eq!(left_out, 2, "12 failing gates, 10 annotated");
        assert_eq!(list[0].level, "error");
        assert_eq!(list[3].level, "warning");
        assert_eq!(list[5].level, "notice");
        // The failing check's line, not the gate's.
        assert_eq!((list[0].line, list[0].col), (83, 9));
        assert!(list[0].message.contains("must-fail is broken"), "{}", list[0].message);
    }

    #[test]
    fn paths_are_made_relative_to_the_workspace() {
        let ws = tempfile::tempdir().unwrap();
        let file = ws.path().join("sub/checkpoints/1.yaml");
        assert_eq!(repo_path(&file.display().to_string(), Some(ws.path())), "sub/checkpoints/1.yaml");
        assert_eq!(repo_path("./checkpoints/1.yaml", None), "checkpoints/1.yaml");
        assert_eq!(repo_path("/elsewhere/1.yaml", Some(ws.path())), "/elsewhere/1.yaml");
    }

    #[test]
    fn a_small_report_is_kept_whole() {
        assert_eq!(fit_summary("# Title\n\nok", 1000), "# Title\n\nok\n");
    }

    #[test]
    fn a_report_over_one_mib_is_cut_at_a_section_with_a_note() {
        // 3000 sections of ~600 bytes, each with a fenced block: ~1.8 MB.
        let mut md = String::from("# Checkpoint 1 — FAILED\n\n");
        for i in 0..3000 {
            md.push_str(&format!("## Gate g{i}\n\n```\n{}\n```\n\n", "x".repeat(560)));
        }
        let budget = SUMMARY_LIMIT - SUMMARY_MARGIN;
        let out = fit_summary(&md, budget);
        assert!(out.len() <= budget, "{} > {budget}", out.len());
        assert!(out.len() > budget - 2000, "uses the room: {}", out.len());
        assert!(out.starts_with("# Checkpoint 1 — FAILED"));
        let (kept, tail) = out.split_once("\n> **… truncated: ").expect("the note");
        let missing: usize = tail.split(' ').next().unwrap().parse().unwrap();
        assert_eq!(kept.len() + missing, md.len(), "the note counts exactly what was cut");
        assert!(tail.contains("the full report is in the artifact integration-test-results.md"));
        assert!(kept.ends_with("```\n\n"), "cut right before a heading: {:?}", &kept[kept.len() - 20..]);
        assert_eq!(kept.lines().filter(|l| l.starts_with("```")).count() % 2, 0, "no open fence");
    }

    #[test]
    fn a_cut_inside_a_block_closes_the_fence_and_details() {
        let mut md = String::from("# Report\n\n<details><summary>log</summary>\n\n```\n");
        for i in 0..50_000 {
            md.push_str(&format!("log line {i}\n"));
        }
        md.push_str("```\n</details>\n");
        let out = fit_summary(&md, 100_000);
        assert!(out.len() <= 100_000);
        let body = out.split("\n> **… truncated").next().unwrap();
        assert!(body.ends_with("```\n</details>\n"), "{:?}", &body[body.len() - 40..]);
        assert!(body.lines().rev().nth(2).unwrap().starts_with("log line "), "cut at a line boundary");
    }

    #[test]
    fn append_respects_what_the_step_already_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.md");
        std::fs::write(&path, "x".repeat(600 * 1024)).unwrap();
        let md = format!("# Big\n\n{}", "line of the report\n".repeat(40_000)); // ~760 KB
        append_summary(&path, &md).unwrap();
        let len = std::fs::metadata(&path).unwrap().len() as usize;
        assert!(len <= SUMMARY_LIMIT - SUMMARY_MARGIN, "{len}");
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with(&"x".repeat(600 * 1024)), "earlier content kept");
        assert!(text.contains("\n# Big\n"));
        assert!(text.contains("… truncated: "));
    }
}
