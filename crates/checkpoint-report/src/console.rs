//! The summary printed at the end of a run: a line per gate, the criteria, the verdict.

use std::fmt::Write as _;

use anstyle::{AnsiColor, Style};
use checkpoint_model::duration::human;
use checkpoint_model::result::{RunReport, Status, Verdict};

use crate::text::one_line;

pub fn console_summary(r: &RunReport, color: bool) -> String {
    let paint =
        |s: &str, st: Style| if color { format!("{}{s}{}", st.render(), st.render_reset()) } else { s.to_string() };
    let red = Style::new().fg_color(Some(AnsiColor::Red.into())).bold();
    let green = Style::new().fg_color(Some(AnsiColor::Green.into())).bold();
    let yellow = Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold();
    let width = r.gates.iter().map(|g| g.id.chars().count()).max().unwrap_or(8).clamp(8, 32);
    let mut o = String::new();
    let _ = writeln!(o, "Summary — checkpoint {}: {}", r.checkpoint.id, r.checkpoint.title);
    for g in &r.gates {
        let (word, st) = match g.status {
            Status::Passed => ("PASS", green),
            Status::Failed => ("FAIL", red),
            Status::Errored => ("ERROR", red),
            Status::TimedOut => ("TIMEOUT", red),
            Status::Skipped => ("SKIP", yellow),
            Status::Cancelled => ("CANCEL", yellow),
        };
        let time = if g.duration_ms > 0.0 { human(g.duration_ms) } else { "—".into() };
        let _ = write!(
            o,
            "{} {:>7}  {:<width$}  {} [{}]",
            paint(&format!("{word:>8}"), st),
            time,
            g.id,
            g.title,
            g.severity.as_str()
        );
        if g.status != Status::Passed
            && let Some(reason) = &g.reason
        {
            let _ = write!(o, "\n{:>19}└ {}", "", one_line(reason, 200));
        }
        o.push('\n');
    }
    let c = &r.criteria;
    let _ = write!(
        o,
        "criteria: must {}/{} {} · should {}/{} (≥ {:.0}%) {}",
        c.must.passed,
        c.must.total,
        if c.must_met { "met" } else { "NOT met" },
        c.should.passed,
        c.should.total,
        c.should_threshold * 100.0,
        if c.should_met { "met" } else { "NOT met" }
    );
    if let Some(t) = c.pass_rate_threshold {
        let _ = write!(
            o,
            " · pass rate {:.0}% (≥ {:.0}%) {}",
            c.pass_rate * 100.0,
            t * 100.0,
            if c.pass_rate_met { "met" } else { "NOT met" }
        );
    }
    o.push('\n');
    if let Some(why) = &r.interrupted {
        let _ = writeln!(o, "{}", paint(&format!("ended early: {}", one_line(why, 300)), yellow));
    }
    let verdict = match r.verdict {
        Verdict::Passed => paint(&format!("checkpoint {} PASSED", r.checkpoint.id), green),
        Verdict::Failed => paint(&format!("checkpoint {} FAILED", r.checkpoint.id), red),
    };
    let failed = r.gates.iter().filter(|g| g.status.is_failure()).count();
    let passed = r.gates.iter().filter(|g| g.status == Status::Passed).count();
    let skipped = r.gates.len() - failed - passed;
    let _ = writeln!(o, "{verdict} — {passed} passed, {failed} failed, {skipped} skipped in {}", human(r.duration_ms));
    let (tests, f, e, s) = crate::junit::counts(r);
    let _ = writeln!(o, "junit.xml: {tests} tests (checks and operations), {f} failures, {e} errors, {s} skipped");
    o
}
