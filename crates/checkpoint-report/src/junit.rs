//! JUnit XML that every CI reads, valid against Jenkins' `junit-10.xsd`.
//!
//! Written by hand rather than through a JUnit crate: the element set is small,
//! and owning it keeps the output inside what the schema accepts (quick-junit
//! writes `skipped=` on `<testsuites>`, which the schema rejects; junit-report
//! writes malformed XML from container logs).
//!
//! Shape: `testsuites` = the checkpoint; a `testsuite` per gate with its
//! metadata as properties; a `testcase` per check (`classname` = gate id).
//! `failure` = an expectation was false; `error` = could not observe or timed
//! out; `skipped` with its reason. A retried check stays one testcase; earlier
//! failed attempts are `flakyFailure` (it passed in the end) or `rerunFailure`.
//! A `latency` check's `system-out` shows its distribution (percentiles,
//! histogram, status codes, errors), whether it passed or not.
//! With start times (`started_ms`), a first `stack` testsuite has a
//! `stack up and ready` and a `stack down and reports` testcase, so the
//! testcase times readers sum add up to the run (for gates run one at a time).

use std::borrow::Cow;
use std::fmt::Write as _;

use checkpoint_model::result::{Attempt, CheckResult, GateResult, RunReport, Status};

use checkpoint_model::duration::human;

use checkpoint_model::fixed::Fixed;

use crate::text::{clean, escape_markup, latency_figures, one_line, push_markup, push_words};

const MESSAGE_MAX: usize = 300;

/// What CI shows from `junit.xml`: `(tests, failures, errors, skipped)`, the
/// counts the Markdown and the console print beside the gates so the two can
/// be matched.
pub fn counts(r: &RunReport) -> (usize, usize, usize, usize) {
    let (mut tests, mut failures, mut errors, mut skipped) = (0, 0, 0, 0);
    for g in &r.gates {
        for c in cases(g) {
            tests += 1;
            match c.status {
                Status::Failed => failures += 1,
                Status::Errored | Status::TimedOut => errors += 1,
                Status::Skipped | Status::Cancelled => skipped += 1,
                Status::Passed => {}
            }
        }
    }
    if let Some((_, t, f)) = stack_suite(r) {
        tests += t;
        failures += f;
    }
    (tests, failures, errors, skipped)
}

pub fn junit(r: &RunReport) -> String {
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let (tests, failures, errors, _) = counts(r);
    let stack = stack_suite(r);
    let _ = writeln!(
        out,
        "<testsuites name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" time=\"{}\">",
        attr(&format!("checkpoint {}: {}", r.checkpoint.id, r.checkpoint.title)),
        secs(r.duration_ms)
    );
    if let Some((xml, _, _)) = stack {
        out.push_str(&xml);
    }
    for g in &r.gates {
        suite(&mut out, r, g);
    }
    out.push_str("</testsuites>\n");
    out
}

/// When the gates ran, from the first one's start to the last one's end
/// (milliseconds since the run started); None in results without start times.
fn gates_span(r: &RunReport) -> Option<(f64, f64)> {
    let ran = r.gates.iter().filter_map(|g| g.started_ms.map(|s| (s, s + g.duration_ms)));
    ran.fold(None, |acc, (s, e)| match acc {
        None => Some((s, e)),
        Some((a, b)) => Some((a.min(s), b.max(e))),
    })
}

/// A first testsuite `stack` when the stack has something to say that no
/// gate's testcase carries: it was not ready (a failure, with every pending
/// service's state, health checks and log tail), or services broke after
/// ready (one testcase listing the incidents, with their log tails; a failure
/// only where no gate already turned red for it, so counts match the verdict).
/// `(xml, tests, failures)`.
fn stack_suite(r: &RunReport) -> Option<(String, usize, usize)> {
    let s = r.stack.as_ref()?;
    let span = gates_span(r);
    if s.not_ready.is_none() && s.incidents.is_empty() && span.is_none() {
        return None;
    }
    let mut body = String::new();
    let (mut tests, mut failures) = (0, 0);
    // Readers sum testcase times: bring-up, readiness and teardown are time
    // the run spent too. Before the first gate and after the last one.
    let (before, after) =
        span.map_or((None, None), |(first, last)| (Some(first), Some((r.duration_ms - last).max(0.0))));
    // The stack's testcases carry the run's time spent outside any check, so
    // that a reader's sum is the run's: gates run at once, so their checks'
    // times overlap and add up to more than the gates took. The measured
    // figures are in each testcase's text.
    let shares = stack_shares(r, before.or(s.not_ready.as_ref().map(|n| n.elapsed_ms)).unwrap_or(0.0), after);
    let (before_t, after_t) = shares;
    if let (Some(before), None) = (before, &s.not_ready) {
        tests += 1;
        let mut details = format!(
            "everything before the first gate started: {} (the time given here is a share of the {} of the run's {} spent outside any check, so that summed testcase times are the run's)",
            human(before),
            human(before_t + after_t.unwrap_or(0.0)),
            human(r.duration_ms)
        );
        if let Some(up) = s.up_ms {
            let _ = write!(
                details,
                "
compose up: {}",
                human(up)
            );
        }
        if let Some(ready) = s.ready_ms {
            let _ = write!(
                details,
                "
ready in: {}",
                human(ready)
            );
        }
        for svc in &s.services {
            if let Some(ms) = svc.ready_ms {
                let _ = write!(
                    details,
                    "
  {} ready after {}",
                    svc.name,
                    human(ms)
                );
            }
        }
        let _ = write!(
            body,
            "    <testcase name=\"stack up and ready\" classname=\"stack\" time=\"{}\">\n      <system-out>{}</system-out>\n    </testcase>\n",
            secs(before_t),
            text(&details)
        );
    }
    if let Some(nr) = &s.not_ready {
        tests += 1;
        failures += 1;
        let mut details = format!("not ready: {}\n", nr.reason);
        for d in &nr.services {
            let _ = write!(details, "\n{}: {}\n", d.service, d.state);
            for h in &d.health_checks {
                let _ = writeln!(details, "  health check: {h}");
            }
            if !d.log_tail.trim().is_empty() {
                let _ = write!(details, "--- last log lines of service `{}`\n{}\n", d.service, clean(&d.log_tail));
            }
        }
        let _ = write!(
            body,
            "    <testcase name=\"stack ready\" classname=\"stack\" time=\"{}\">\n      <failure message=\"{}\" type=\"not_ready\">{}</failure>\n    </testcase>\n",
            secs(before_t),
            attr(&one_line(&format!("not ready: {}", nr.reason), MESSAGE_MAX)),
            text(&details)
        );
    }
    if !s.incidents.is_empty() {
        tests += 1;
        let mut details = String::new();
        for i in &s.incidents {
            let _ = writeln!(details, "{} (at {})", i.headline(), i.at);
            if !i.log_tail.trim().is_empty() {
                let _ = write!(details, "--- last log lines of service `{}`\n{}\n", i.service, clean(&i.log_tail));
            }
        }
        body.push_str("    <testcase name=\"stack watched until teardown\" classname=\"stack\" time=\"0.000\">\n");
        let _ = writeln!(body, "      <system-err>{}</system-err>", text(&details));
        body.push_str("    </testcase>\n");
    }
    if let (Some(after), Some(after_t)) = (after, after_t) {
        tests += 1;
        let _ = write!(
            body,
            "    <testcase name=\"stack down and reports\" classname=\"stack\" time=\"{}\">\n      <system-out>{}</system-out>\n    </testcase>\n",
            secs(after_t),
            text(&format!("after the last gate: service logs saved, the stack torn down: {}", human(after)))
        );
    }
    let mut xml = String::new();
    let _ = writeln!(
        xml,
        "  <testsuite name=\"stack: {}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\" time=\"{}\" timestamp=\"{}\">",
        attr(&s.project),
        secs(before_t + after_t.unwrap_or(0.0)),
        attr(&r.started_at)
    );
    xml.push_str(&body);
    xml.push_str("  </testsuite>\n");
    Some((xml, tests, failures))
}

/// The times the stack's testcases carry, `(before the first gate, after
/// the last)`: the run's time outside any check — its duration less every
/// check testcase's time as written — shared in proportion to what was
/// measured before and after the gates (`after` is None without gates).
fn stack_shares(r: &RunReport, before: f64, after: Option<f64>) -> (f64, Option<f64>) {
    let written = |ms: f64| secs(ms).parse::<f64>().unwrap_or(0.0) * 1000.0;
    let checks: f64 = r.gates.iter().flat_map(cases).map(|c| written(c.duration_ms)).sum();
    let outside = (r.duration_ms - checks).max(0.0);
    let measured = before + after.unwrap_or(0.0);
    if measured <= 0.0 {
        return (outside, after.map(|_| 0.0));
    }
    let b = outside * before / measured;
    (b, after.map(|_| outside - b))
}

/// The testcases of a gate: one per check, or one per case of a check that
/// has cases (each operation of an `openapi` check); a gate with no check
/// still gets one testcase.
/// A gate's testcases: its checks as they are (borrowed: the report is
/// counted several times), an operation per case, or the gate itself.
fn cases(g: &GateResult) -> Vec<Cow<'_, CheckResult>> {
    if g.checks.is_empty() {
        vec![Cow::Owned(CheckResult {
            name: g.title.clone(),
            kind: "gate".into(),
            location: g.location.clone(),
            status: g.status,
            message: g.reason.clone(),
            evidence: None,
            attempts: Vec::new(),
            started_ms: g.started_ms,
            duration_ms: g.duration_ms,
            service: None,
            logged: None,
            logs: None,
            metrics: None,
            cases: Vec::new(),
        })]
    } else {
        // An operation's name alone (`GET /items (listItems)`) unless two
        // checks of the gate have operations that could share it.
        let named = g.checks.iter().filter(|c| !c.cases.is_empty()).count() > 1;
        g.checks.iter().flat_map(|c| expand(c, named)).collect()
    }
}

fn expand(c: &CheckResult, with_check_name: bool) -> Vec<Cow<'_, CheckResult>> {
    if c.cases.is_empty() {
        return vec![Cow::Borrowed(c)];
    }
    c.cases
        .iter()
        .map(|k| {
            let bad = k.status.is_failure();
            Cow::Owned(CheckResult {
                name: if with_check_name { format!("{} › {}", c.name, k.name) } else { k.name.clone() },
                kind: c.kind.clone(),
                location: c.location.clone(),
                status: k.status,
                message: k.message.clone(),
                evidence: k.evidence.clone(),
                attempts: Vec::new(),
                started_ms: None,
                duration_ms: k.duration_ms,
                service: c.service.clone(),
                logged: None,
                logs: if bad { c.logs.clone() } else { None },
                metrics: None,
                cases: Vec::new(),
            })
        })
        .collect()
}

/// A gate's testsuite is named by its title: readers put the suite, the
/// classname (the gate id) and the testcase side by side (`At least 5 API
/// endpoints responding ► api-endpoints ► GET /health/db`), so the id is not
/// repeated — unless another gate has the same title, where it tells them apart.
fn suite_name(r: &RunReport, g: &GateResult) -> String {
    if r.gates.iter().filter(|x| x.title == g.title).count() > 1 {
        format!("{} ({})", g.title, g.id)
    } else {
        g.title.clone()
    }
}

fn suite(out: &mut String, r: &RunReport, g: &GateResult) {
    let cases = cases(g);
    let count = |f: fn(Status) -> bool| cases.iter().filter(|c| f(c.status)).count();
    let _ = writeln!(
        out,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\" time=\"{}\" timestamp=\"{}\" file=\"{}\">",
        attr(&suite_name(r, g)),
        cases.len(),
        count(|s| s == Status::Failed),
        count(|s| matches!(s, Status::Errored | Status::TimedOut)),
        count(|s| matches!(s, Status::Skipped | Status::Cancelled)),
        secs(g.duration_ms),
        attr(&r.started_at),
        attr(&g.location.file)
    );
    out.push_str("    <properties>\n");
    let mut prop = |name: &str, value: &str| {
        let _ = writeln!(out, "      <property name=\"{}\" value=\"{}\"/>", attr(name), attr(value));
    };
    prop("gate.id", &g.id);
    prop("gate.title", &g.title);
    prop("severity", g.severity.as_str());
    prop("status", g.status.as_str());
    if let Some(w) = &g.wave {
        prop("wave", w);
    }
    if !g.tags.is_empty() {
        prop("tags", &g.tags.join(","));
    }
    if !g.needs.is_empty() {
        prop("needs", &g.needs.join(","));
    }
    if let Some(p) = &g.plan {
        let text = [p.file.as_deref(), p.heading.as_deref(), p.item.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" › ");
        prop("plan", &text);
    }
    prop("location", &g.location.to_string());
    if let Some(reason) = &g.reason
        && g.status != Status::Passed
    {
        prop(if g.status == Status::Skipped { "skipped.reason" } else { "reason" }, &one_line(reason, MESSAGE_MAX));
    }
    out.push_str("    </properties>\n");
    for c in &cases {
        case(out, g, c);
    }
    out.push_str("  </testsuite>\n");
}

fn case(out: &mut String, g: &GateResult, c: &CheckResult) {
    out.push_str("    <testcase name=\"");
    push_attr(out, &c.name);
    out.push_str("\" classname=\"");
    push_attr(out, &g.id);
    out.push_str("\" time=\"");
    push_secs(out, c.duration_ms);
    out.push_str("\">\n");
    let message = || one_line(c.message.as_deref().unwrap_or(""), MESSAGE_MAX);
    let evidence = c.evidence.as_deref().map(clean).unwrap_or_default();
    // Earlier attempts of a retried check.
    if c.attempts.len() > 1 {
        let earlier = &c.attempts[..c.attempts.len() - 1];
        let flaky = c.status == Status::Passed;
        for (i, a) in earlier.iter().enumerate() {
            if a.status == Status::Passed {
                continue;
            }
            // Readers tell an attempt that could not observe from one that saw a failure.
            let errored = matches!(a.status, Status::Errored | Status::TimedOut);
            let elem = match (flaky, errored) {
                (true, false) => "flakyFailure",
                (true, true) => "flakyError",
                (false, false) => "rerunFailure",
                (false, true) => "rerunError",
            };
            let _ = writeln!(
                out,
                "      <{elem} message=\"{}\" type=\"{}\"><system-out>{}</system-out></{elem}>",
                attr(&one_line(a.message.as_deref().unwrap_or(""), MESSAGE_MAX)),
                a.status.as_str(),
                text(&format!(
                    "attempt {} of {} ({:.0}ms): {}{}",
                    i + 1,
                    c.attempts.len(),
                    a.duration_ms,
                    one_line(a.message.as_deref().unwrap_or(a.status.as_str()), MESSAGE_MAX),
                    saw(a).map(|e| format!("\n  saw: {e}")).unwrap_or_default()
                ))
            );
        }
    }
    // Some readers (GitLab) show the element's text and drop `message`: the
    // text starts with the one-line reason, then the evidence, what the
    // service logged for the request, its log tail and where the check is written.
    let full = || {
        let mut t = format!("{}\n", c.message.as_deref().unwrap_or(""));
        if !evidence.is_empty() {
            let _ = write!(t, "\n{evidence}\n");
        }
        if let Some(logged) = &c.logged {
            let service = c.service.as_deref().unwrap_or("?");
            let _ = write!(t, "\n--- what service `{service}` logged for this request\n{}\n", clean(logged));
        }
        if let Some(logs) = &c.logs {
            let _ = write!(
                t,
                "\n--- last log lines of service `{}`\n{}\n",
                c.service.as_deref().unwrap_or("?"),
                clean(logs)
            );
        }
        let _ = write!(t, "\nat {}", c.location);
        t
    };
    match c.status {
        Status::Failed | Status::Errored | Status::TimedOut => {
            let (elem, kind) = match c.status {
                Status::Failed => ("failure", "failed"),
                Status::TimedOut => ("error", "timed_out"),
                _ => ("error", "errored"),
            };
            let _ = writeln!(
                out,
                "      <{elem} message=\"{}\" type=\"{kind}\">{}</{elem}>",
                attr(&message()),
                text(&full())
            );
        }
        Status::Skipped | Status::Cancelled => {
            let message = message();
            let _ = writeln!(out, "      <skipped message=\"{}\">{}</skipped>", attr(&message), text(&message));
        }
        Status::Passed => {}
    }
    // The details are put together first and escaped as one text.
    let mut details = String::with_capacity(256);
    details.push_str("check: ");
    details.push_str(&c.name);
    details.push_str(" (");
    details.push_str(&c.kind);
    let _ = writeln!(details, ") at {}", c.location);
    if c.status == Status::Passed && c.attempts.len() > 1 {
        let earlier: Vec<String> = c.attempts[..c.attempts.len() - 1]
            .iter()
            .enumerate()
            .map(|(i, a)| {
                format!("{}: {} {}", i + 1, a.status.as_str(), one_line(a.message.as_deref().unwrap_or(""), 160))
            })
            .collect();
        let _ = writeln!(
            details,
            "FLAKY: passed on attempt {n} of {n}; earlier: {}",
            earlier.join("; "),
            n = c.attempts.len()
        );
        // What each earlier attempt saw, for readers that ignore flakyFailure (most).
        for (i, a) in c.attempts[..c.attempts.len() - 1].iter().enumerate() {
            if let Some(e) = saw(a) {
                let _ = writeln!(details, "  attempt {} saw: {e}", i + 1);
            }
        }
    }
    // A passing check keeps one line of evidence here (the request and its
    // answer); the whole of it is in results.json. A latency check's figures
    // below say all its evidence does, and more.
    if c.status == Status::Passed && !evidence.is_empty() && latency_figures(c).is_none() {
        details.push('\n');
        push_passed_evidence(&mut details, &evidence);
        details.push('\n');
    }
    // A latency run's distribution is read, not parsed: its text, for passed checks too.
    match c.metrics.as_ref().map(|m| (m, latency_figures(c))) {
        Some((_, Some(f))) => {
            let _ = writeln!(details, "\n{}", f.text());
        }
        Some((m, None)) => {
            let _ = writeln!(details, "\nmetrics: {}", serde_json::to_string_pretty(m).unwrap_or_default());
        }
        None => {}
    }
    if let Some(logged) = &c.logged {
        let service = c.service.as_deref().unwrap_or("?");
        let _ = writeln!(details, "\n--- what service `{service}` logged for this request\n{}", clean(logged));
    }
    if let Some(logs) = &c.logs {
        let _ = writeln!(
            details,
            "\n--- last log lines of service `{}`\n{}",
            c.service.as_deref().unwrap_or("?"),
            clean(logs)
        );
    }
    out.push_str("      <system-out>");
    push_markup(out, &details, &[]);
    out.push_str("</system-out>\n");
    out.push_str("    </testcase>\n");
}

/// What an earlier attempt saw, in short (`GET …/health → 503 …`); `None`
/// for results written before attempts kept their evidence.
fn saw(a: &Attempt) -> Option<String> {
    a.evidence.as_deref().filter(|e| !e.trim().is_empty()).map(|e| one_line(e, Attempt::BRIEF_MAX))
}

/// A passing check's evidence (already [`clean`]ed) in one line of at most
/// 160 characters, appended to `out`: its first line and, for a request,
/// the answer's status line (`GET /health → 200`), saying where the rest is
/// when there is more.
fn push_passed_evidence(out: &mut String, evidence: &str) {
    let mut lines = evidence.lines().filter(|l| !l.trim().is_empty());
    let Some(first) = lines.next() else { return };
    // The first `→` line after the first, and whether there is a line more
    // than those two: looked for no further than that.
    let (mut answer, mut rest) = (None, 0usize);
    for l in lines {
        rest += 1;
        if answer.is_none() && l.starts_with('→') {
            answer = Some(l);
        }
        if answer.is_some() && rest > 1 {
            break;
        }
    }
    let words = first.split_whitespace().chain(answer.into_iter().flat_map(str::split_whitespace));
    push_words(out, words, 160);
    let chars = first.chars().count() + answer.map_or(0, |a| 1 + a.chars().count());
    if rest > usize::from(answer.is_some()) || chars > 160 {
        out.push_str(" (full evidence in results.json)");
    }
}

/// Seconds with at most three decimals (the schema's SUREFIRE_TIME).
fn secs(ms: f64) -> String {
    let mut out = String::new();
    push_secs(&mut out, ms);
    out
}

/// [`secs`] appended to `out`.
fn push_secs(out: &mut String, ms: f64) {
    let _ = write!(out, "{}", Fixed(ms.max(0.0) / 1000.0, 3));
}

/// Text for an XML attribute (or element): escape sequences and control
/// characters dropped, markup, quotes, newlines and tabs escaped. Every JUnit
/// file the project writes goes through it (`contract diff --format junit` too).
pub fn attr(s: &str) -> String {
    escape_markup(s, ATTR)
}

const ATTR: &[(char, &str)] = &[('"', "&quot;"), ('\n', "&#10;"), ('\t', "&#9;")];

/// [`attr`] appended to `out`.
fn push_attr(out: &mut String, s: &str) {
    push_markup(out, s, ATTR);
}

fn text(s: &str) -> String {
    escape_markup(s, &[])
}

#[cfg(test)]
mod tests {
    use super::{clean, push_passed_evidence};

    fn passed_evidence(evidence: &str) -> String {
        let mut out = String::new();
        push_passed_evidence(&mut out, &clean(evidence));
        out
    }

    #[test]
    fn a_passing_request_keeps_its_request_and_status_line_only() {
        let body = "x".repeat(4000);
        let evidence =
            format!("GET http://api:8000/health\naccept: */*\n\n→ 200\ncontent-type: application/json\n\n{body}\n");
        let line = passed_evidence(&evidence);
        assert_eq!(line, "GET http://api:8000/health → 200 (full evidence in results.json)");
    }

    /// The lines are read no further than needed, and still tell whether
    /// there is more than the request and its answer.
    #[test]
    fn an_answer_right_after_the_request_says_whether_there_is_more() {
        assert_eq!(passed_evidence("GET /x\n→ 200"), "GET /x → 200");
        assert_eq!(passed_evidence("GET /x\n→ 200\n\n"), "GET /x → 200");
        assert_eq!(passed_evidence("GET /x\n→ 200\nserver: a"), "GET /x → 200 (full evidence in results.json)");
        assert_eq!(passed_evidence("GET /x\nhost: a\n→ 200"), "GET /x → 200 (full evidence in results.json)");
        assert_eq!(passed_evidence("GET /x\nhost: a"), "GET /x (full evidence in results.json)");
    }

    #[test]
    fn one_short_line_is_kept_as_it_is_and_a_long_one_is_cut() {
        assert_eq!(passed_evidence("rows: 1\n"), "rows: 1");
        assert_eq!(passed_evidence(""), "");
        let long = "y".repeat(500);
        let line = passed_evidence(&long);
        assert!(line.chars().count() < 200, "{line}");
        assert!(line.ends_with("(full evidence in results.json)"), "{line}");
    }
}
