//! `integration-test-results.html`: the run to look at. One self-contained
//! file — inline CSS and SVG, no script, no network, no external asset (a
//! Content-Security-Policy says so to the browser too) — readable offline
//! and without JavaScript.
//!
//! Verdict and criteria first; then the timeline: `compose up`, the
//! readiness wait and when each service became ready, every gate and check as
//! bars over time, each attempt of a retried check its own segment (the gaps
//! between them are the waits), fault windows shaded across the chart; the
//! gates; latency percentiles and histograms; the failures, their evidence
//! and log tails one click away (`<details>`); the stack.
//!
//! Every value of the report goes through [`esc`], in text and attributes
//! alike. The report it renders is the one `results.json` holds: the run
//! masked its secrets before writing any report, so nothing here needs to.

use std::fmt::Write as _;

use checkpoint_model::duration::human;
use checkpoint_model::fixed::Fixed;
use checkpoint_model::result::{CheckResult, RunReport, Status, Verdict};

use crate::text::{escape_markup, failed_checks, gate_counts, measured_checks, one_line};

/// Escapes text for HTML and SVG, in element content and in quoted
/// attributes: `& < > " '`, and drops ANSI escapes and control bytes.
pub fn esc(s: &str) -> String {
    escape_markup(s, &[('"', "&quot;"), ('\'', "&#39;")])
}

/// The colour of a status, shared by the bars, the legend and the badges.
fn colour(s: Status) -> &'static str {
    match s {
        Status::Passed => "#2da44e",
        Status::Failed => "#cf222e",
        Status::Errored => "#9a6700",
        Status::TimedOut => "#e16f24",
        Status::Skipped => "#8c959f",
        Status::Cancelled => "#57606a",
    }
}

const STACK_UP: &str = "#0969da";
const READINESS: &str = "#54aeff";
const GATE_BAND: &str = "#d0d7de";
const FAULT: &str = "#8250df";

const STYLE: &str = "
body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0 auto;max-width:1100px;padding:16px 24px;color:#1f2328;background:#fff}
h1{font-size:24px;margin:8px 0;padding:10px 14px;border-radius:6px;color:#fff}
h1.passed{background:#1a7f37}h1.failed{background:#a40e26}
h2{font-size:18px;border-bottom:1px solid #d0d7de;padding-bottom:4px;margin-top:28px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;margin:6px 0}
th,td{border:1px solid #d0d7de;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}td.num{text-align:right;font-variant-numeric:tabular-nums}
pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:8px;overflow:auto;white-space:pre-wrap;word-break:break-word;max-height:480px}
code{background:#eff1f3;padding:0 4px;border-radius:4px}
details{margin:6px 0;border:1px solid #d0d7de;border-radius:6px;padding:4px 10px}
details>summary{cursor:pointer;font-weight:600}
.badge{display:inline-block;padding:0 6px;border-radius:10px;color:#fff;font-size:12px;font-weight:600}
.note{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:6px 10px;margin:8px 0}
.muted{color:#57606a}.yes{color:#1a7f37}.no{color:#a40e26}
.legend span{display:inline-block;margin-right:14px}
.legend i{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:4px;vertical-align:-1px}
svg.timeline{width:100%;height:auto;border:1px solid #d0d7de;border-radius:6px;background:#fff}
svg text{font:11px system-ui,sans-serif;fill:#1f2328}
.hist td.bar{width:420px}.hist div{height:12px;background:#218bff;border-radius:2px}
";

/// The whole report as one HTML document.
pub fn html(r: &RunReport) -> String {
    let mut o = String::with_capacity(16 * 1024);
    let word = match r.verdict {
        Verdict::Passed => "passed",
        Verdict::Failed => "failed",
    };
    let heading = format!("Checkpoint {} {word} — {}", r.checkpoint.id, r.checkpoint.title);
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        esc(&heading)
    );
    let _ = writeln!(o, "<h1 id=\"verdict\" class=\"{word}\">{}</h1>", esc(&heading));
    summary(&mut o, r);
    criteria(&mut o, r);
    timeline(&mut o, r);
    gates(&mut o, r);
    latency(&mut o, r);
    failures(&mut o, r);
    stack(&mut o, r);
    let _ = writeln!(
        o,
        "<hr><p class=\"muted\">{} · results.json format {} · <code>checkpoint report results.json</code> renders this again</p>\n</body>\n</html>",
        esc(&r.tool),
        r.format_version
    );
    o
}

fn badge(s: Status) -> String {
    format!("<span class=\"badge\" style=\"background:{}\">{}</span>", colour(s), esc(s.as_str()))
}

fn summary(o: &mut String, r: &RunReport) {
    let (gates_all, gates_passed, gates_failed, gates_skipped) = gate_counts(r);
    let (tests, failures, errors, skipped) = crate::junit::counts(r);
    let _ = writeln!(
        o,
        "<p id=\"summary\"><b>{} gates</b>: {} passed, {} failed, {} skipped · {} · started {} · <code>{}</code></p>\n\
         <p class=\"muted\">In <code>junit.xml</code> (what CI shows): {tests} tests — one per check, or per operation of an \
         <code>openapi</code> check — {failures} failures, {errors} errors, {skipped} skipped.</p>",
        gates_all,
        gates_passed,
        gates_failed,
        gates_skipped,
        esc(&human(r.duration_ms)),
        esc(&r.started_at),
        esc(&r.checkpoint.file)
    );
    if let Some(why) = &r.interrupted {
        let _ = writeln!(o, "<p class=\"note\"><b>The run ended early:</b> {}</p>", esc(&one_line(why, 500)));
    }
    if let Some(nr) = r.stack.as_ref().and_then(|s| s.not_ready.as_ref()) {
        let _ = writeln!(
            o,
            "<p class=\"note\"><b>The stack was not ready</b> (gave up {} into the readiness wait): {}. The gates ran anyway.</p>",
            esc(&human(nr.elapsed_ms)),
            esc(&one_line(&nr.reason, 500))
        );
    }
    for i in r.stack.iter().flat_map(|s| &s.incidents) {
        let _ = writeln!(o, "<p class=\"note\"><b>The stack broke during the run:</b> {}</p>", esc(&i.headline()));
    }
}

fn criteria(o: &mut String, r: &RunReport) {
    let c = &r.criteria;
    let yes = |b: bool| if b { "<b class=\"yes\">yes</b>" } else { "<b class=\"no\">no</b>" };
    let _ = writeln!(
        o,
        "<h2>Criteria</h2>\n<table id=\"criteria\"><tr><th>Criterion</th><th>Result</th><th>Required</th><th>Met</th></tr>"
    );
    let _ = writeln!(
        o,
        "<tr><td>Must gates</td><td>{}/{}</td><td>100%</td><td>{}</td></tr>",
        c.must.passed,
        c.must.total,
        yes(c.must_met)
    );
    let pct = if c.should.total == 0 { 100.0 } else { f64::from(c.should.passed) * 100.0 / f64::from(c.should.total) };
    let _ = writeln!(
        o,
        "<tr><td>Should gates</td><td>{}/{} ({pct:.0}%)</td><td>≥ {:.0}%</td><td>{}</td></tr>",
        c.should.passed,
        c.should.total,
        c.should_threshold * 100.0,
        yes(c.should_met)
    );
    if c.nice.total > 0 {
        let _ =
            writeln!(o, "<tr><td>Nice gates</td><td>{}/{}</td><td>—</td><td>—</td></tr>", c.nice.passed, c.nice.total);
    }
    if let Some(t) = c.pass_rate_threshold {
        let _ = writeln!(
            o,
            "<tr><td>Pass rate</td><td>{:.0}%</td><td>≥ {:.0}%</td><td>{}</td></tr>",
            c.pass_rate * 100.0,
            t * 100.0,
            yes(c.pass_rate_met)
        );
    }
    o.push_str("</table>\n");
}

/// One row of the timeline: a label and bars.
struct Row {
    label: String,
    /// `gate`, `check`, `stack`, `service`: the row's look.
    class: &'static str,
    bars: Vec<Bar>,
}

struct Bar {
    start: f64,
    len: f64,
    fill: &'static str,
    /// `bar-check status-failed`, …: what the DOM says the bar is.
    class: String,
    tip: String,
    /// A thin marker (a service became ready) rather than a span.
    marker: bool,
}

/// Where the gates and checks sit in time: their own `started_ms`, or — in
/// results written before it existed — one after another.
fn placed(r: &RunReport) -> (Vec<Row>, Vec<(f64, f64, String)>, bool) {
    let mut rows = Vec::new();
    let mut faults = Vec::new();
    let mut approximate = false;
    let mut cursor = 0.0;
    if let Some(s) = &r.stack {
        let up_start = s.started_ms.unwrap_or(0.0);
        if let Some(up) = s.up_ms {
            rows.push(Row {
                label: "compose up".into(),
                class: "stack",
                bars: vec![Bar {
                    start: up_start,
                    len: up,
                    fill: STACK_UP,
                    class: "bar-stack".into(),
                    tip: format!("compose up: {}", human(up)),
                    marker: false,
                }],
            });
        }
        let wait_start = up_start + s.up_ms.unwrap_or(0.0);
        let wait = s.ready_ms.or_else(|| s.not_ready.as_ref().map(|n| n.elapsed_ms));
        if let Some(wait) = wait {
            rows.push(Row {
                label: if s.not_ready.is_some() { "readiness (not ready)".into() } else { "readiness".into() },
                class: "stack",
                bars: vec![Bar {
                    start: wait_start,
                    len: wait,
                    fill: if s.not_ready.is_some() { colour(Status::Failed) } else { READINESS },
                    class: "bar-ready".into(),
                    tip: format!("waiting for the stack to be ready: {}", human(wait)),
                    marker: false,
                }],
            });
            for svc in &s.services {
                let Some(at) = svc.ready_ms else { continue };
                rows.push(Row {
                    label: format!("  {}", svc.name),
                    class: "service",
                    bars: vec![
                        Bar {
                            start: wait_start,
                            len: at,
                            fill: READINESS,
                            class: "bar-service".into(),
                            tip: format!("{} ready after {}", svc.name, human(at)),
                            marker: false,
                        },
                        Bar {
                            start: wait_start + at,
                            len: 0.0,
                            fill: STACK_UP,
                            class: "bar-service-ready".into(),
                            tip: format!("{} ready", svc.name),
                            marker: true,
                        },
                    ],
                });
            }
            cursor = wait_start + wait;
        }
    }
    for g in &r.gates {
        let gate_start = g.started_ms.unwrap_or_else(|| {
            approximate |= g.duration_ms > 0.0;
            cursor
        });
        rows.push(Row {
            label: g.id.clone(),
            class: "gate",
            bars: vec![Bar {
                start: gate_start,
                len: g.duration_ms,
                fill: GATE_BAND,
                class: format!("bar-gate status-{}", g.status.as_str().replace(' ', "-")),
                tip: format!(
                    "gate {} {} in {}{}",
                    g.id,
                    g.status.as_str(),
                    human(g.duration_ms),
                    g.reason.as_deref().map(|r| format!(": {}", one_line(r, 200))).unwrap_or_default()
                ),
                marker: false,
            }],
        });
        let mut check_cursor = gate_start;
        for c in &g.checks {
            let start = c.started_ms.unwrap_or(check_cursor);
            check_cursor = start + c.duration_ms;
            if c.kind == "fault" && c.duration_ms > 0.0 {
                faults.push((start, c.duration_ms, format!("fault window: {} › {}", g.id, c.name)));
            }
            rows.push(Row { label: format!("  {}", c.name), class: "check", bars: check_bars(c, start) });
        }
        cursor = cursor.max(gate_start + g.duration_ms);
    }
    // After the last gate: the service logs saved and the stack torn down —
    // often seconds, and part of the run's time too.
    if r.stack.is_some() && !approximate && r.duration_ms - cursor >= 1.0 {
        let len = r.duration_ms - cursor;
        rows.push(Row {
            label: "logs saved, stack down".into(),
            class: "stack",
            bars: vec![Bar {
                start: cursor,
                len,
                fill: STACK_UP,
                class: "bar-stack bar-down".into(),
                tip: format!("after the last gate: service logs saved, the stack torn down: {}", human(len)),
                marker: false,
            }],
        });
    }
    (rows, faults, approximate)
}

/// A check's bars: one per attempt when it was retried (the gaps are the
/// waits between them), else one.
fn check_bars(c: &CheckResult, start: f64) -> Vec<Bar> {
    let tip = |s: Status, ms: f64, msg: Option<&str>, what: &str| {
        format!(
            "{}{what}: {} in {}{}",
            c.name,
            s.as_str(),
            human(ms),
            msg.map(|m| format!(" — {}", one_line(m, 200))).unwrap_or_default()
        )
    };
    if c.attempts.len() > 1 {
        let n = c.attempts.len();
        let mut at = start;
        return c
            .attempts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let s = a.started_ms.unwrap_or(at);
                at = s + a.duration_ms;
                Bar {
                    start: s,
                    len: a.duration_ms,
                    fill: colour(a.status),
                    class: format!("bar-check bar-attempt status-{}", a.status.as_str().replace(' ', "-")),
                    tip: tip(a.status, a.duration_ms, a.message.as_deref(), &format!(" (attempt {} of {n})", i + 1)),
                    marker: false,
                }
            })
            .collect();
    }
    vec![Bar {
        start,
        len: c.duration_ms,
        fill: colour(c.status),
        class: format!("bar-check status-{}", c.status.as_str().replace(' ', "-")),
        tip: tip(c.status, c.duration_ms, c.message.as_deref(), ""),
        marker: false,
    }]
}

/// The timeline as inline SVG: labels left, time axis on top, bars right.
fn timeline(o: &mut String, r: &RunReport) {
    let (rows, faults, approximate) = placed(r);
    if rows.is_empty() {
        return;
    }
    const W: f64 = 1040.0;
    const LABEL: f64 = 250.0;
    const ROW: f64 = 18.0;
    const TOP: f64 = 24.0;
    let end =
        rows.iter().flat_map(|row| row.bars.iter().map(|b| b.start + b.len)).fold(r.duration_ms, f64::max).max(1.0);
    let scale = (W - LABEL - 12.0) / end;
    let x = |ms: f64| LABEL + ms.max(0.0) * scale;
    let height = TOP + ROW * rows.len() as f64 + 6.0;
    let _ = writeln!(o, "<h2>Timeline</h2>");
    if approximate {
        let _ = writeln!(
            o,
            "<p class=\"muted\">These results carry no start times (written by an older checkpoint): gates are drawn one after another.</p>"
        );
    }
    let _ = writeln!(
        o,
        "<p class=\"legend\"><span><i style=\"background:{STACK_UP}\"></i>compose up</span><span><i style=\"background:{READINESS}\"></i>readiness</span>\
         <span><i style=\"background:{GATE_BAND}\"></i>gate</span><span><i style=\"background:{}\"></i>passed</span>\
         <span><i style=\"background:{}\"></i>failed</span><span><i style=\"background:{}\"></i>errored</span>\
         <span><i style=\"background:{}\"></i>timed out</span><span><i style=\"background:{FAULT};opacity:.3\"></i>fault window</span></p>",
        colour(Status::Passed),
        colour(Status::Failed),
        colour(Status::Errored),
        colour(Status::TimedOut)
    );
    let _ = writeln!(
        o,
        "<svg id=\"timeline\" class=\"timeline\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {W} {height}\" role=\"img\" aria-label=\"{}\">",
        esc(&format!("Timeline of the run, {} in all", human(r.duration_ms)))
    );
    // Axis: about eight ticks at round steps.
    let step = nice_step(end / 8.0);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        let _ = writeln!(
            o,
            "<line x1=\"{0}\" y1=\"{TOP}\" x2=\"{0}\" y2=\"{height}\" stroke=\"#eaeef2\"/><text x=\"{0}\" y=\"14\" text-anchor=\"middle\">{1}</text>",
            Fixed(x(t), 1),
            esc(&human(t))
        );
        t += step;
    }
    for (start, len, tip) in &faults {
        let _ = writeln!(
            o,
            "<rect class=\"fault-window\" x=\"{}\" y=\"{TOP}\" width=\"{}\" height=\"{}\" fill=\"{FAULT}\" fill-opacity=\"0.15\"><title>{}</title></rect>",
            Fixed(x(*start), 1),
            Fixed((len * scale).max(2.0), 1),
            Fixed(height - TOP, 1),
            esc(tip)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let weight = if row.class == "gate" { " font-weight=\"600\"" } else { "" };
        let label = one_line(&row.label, 40);
        let indent = if row.label.starts_with("  ") { 14.0 } else { 4.0 };
        let _ = writeln!(
            o,
            "<g class=\"row row-{}\"><text x=\"{indent}\" y=\"{}\"{weight}>{}</text>",
            row.class,
            Fixed(y + 13.0, 1),
            esc(&label)
        );
        for b in &row.bars {
            if b.marker {
                let _ = writeln!(
                    o,
                    "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"3\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
                    esc(&b.class),
                    Fixed(x(b.start) - 1.5, 1),
                    Fixed(y + 1.0, 1),
                    Fixed(ROW - 2.0, 1),
                    b.fill,
                    esc(&b.tip)
                );
                continue;
            }
            let (top, h) = if row.class == "gate" { (y + 2.0, ROW - 4.0) } else { (y + 3.0, ROW - 6.0) };
            let _ = writeln!(
                o,
                "<rect class=\"bar {}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" fill=\"{}\"><title>{}</title></rect>",
                esc(&b.class),
                Fixed(x(b.start), 1),
                Fixed(top, 1),
                Fixed((b.len * scale).max(2.0), 1),
                Fixed(h, 1),
                b.fill,
                esc(&b.tip)
            );
        }
        o.push_str("</g>\n");
    }
    o.push_str("</svg>\n");
}

/// A round axis step (1, 2 or 5 × 10ⁿ ms) at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1.0);
    let mag = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * mag).find(|s| *s >= raw).unwrap_or(10.0 * mag)
}

fn gates(o: &mut String, r: &RunReport) {
    let _ = writeln!(
        o,
        "<h2>Gates</h2>\n<table id=\"gates\"><tr><th></th><th>Gate</th><th>Plan</th><th>Severity</th><th>Wave</th><th>Time</th><th>Why</th></tr>"
    );
    for g in &r.gates {
        let why = match (&g.reason, g.status) {
            (_, Status::Passed) => String::new(),
            (Some(reason), _) => one_line(reason, 300),
            (None, s) => s.as_str().to_string(),
        };
        let _ = writeln!(
            o,
            "<tr class=\"gate status-{}\"><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&g.status.as_str().replace(' ', "-")),
            badge(g.status),
            esc(&g.id),
            esc(&g.title),
            esc(g.severity.as_str()),
            esc(g.wave.as_deref().unwrap_or("—")),
            esc(&if g.duration_ms > 0.0 { human(g.duration_ms) } else { "—".into() }),
            esc(&why)
        );
    }
    o.push_str("</table>\n");
}

fn latency(o: &mut String, r: &RunReport) {
    let measured = measured_checks(r);
    if measured.is_empty() {
        return;
    }
    o.push_str("<h2>Latency</h2>\n");
    for (g, c, f) in measured {
        use checkpoint_model::latency::ms;
        let _ = writeln!(
            o,
            "<h3>{} <code>{}</code> › {}</h3>\n<p><code>{}</code> · {}</p>",
            badge(c.status),
            esc(&g.id),
            esc(&c.name),
            esc(&f.request),
            esc(&f.headline())
        );
        let p = f.percentiles();
        if !p.is_empty() {
            o.push_str("<table class=\"percentiles\"><tr>");
            for (k, _) in &p {
                let _ = write!(o, "<th>{}</th>", esc(k));
            }
            o.push_str("</tr><tr>");
            for (_, v) in &p {
                let _ = write!(o, "<td class=\"num\">{}</td>", esc(&ms(*v)));
            }
            o.push_str("</tr></table>\n");
        }
        let most = f.histogram.iter().map(|b| b.count).max().unwrap_or(0);
        if most > 0 {
            o.push_str("<table class=\"hist\"><tr><th>≤</th><th>responses</th><th></th></tr>\n");
            for b in &f.histogram {
                let _ = writeln!(
                    o,
                    "<tr><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"bar\"><div style=\"width:{}%\"></div></td></tr>",
                    esc(&ms(b.le_ms)),
                    b.count,
                    Fixed(b.count as f64 * 100.0 / most as f64, 1)
                );
            }
            o.push_str("</table>\n");
        }
        if let Some(e) = f.error_summary() {
            let _ = writeln!(o, "<p>{}</p>", esc(&e));
        }
    }
}

fn failures(o: &mut String, r: &RunReport) {
    let failed = failed_checks(r);
    if failed.is_empty() {
        return;
    }
    o.push_str("<h2>Failures</h2>\n");
    for (g, c) in failed {
        let why = c.message.as_deref().unwrap_or(c.status.as_str());
        let _ = writeln!(
            o,
            "<details class=\"failure\"><summary>{} <code>{}</code> › {} — {}</summary>",
            badge(c.status),
            esc(&g.id),
            esc(&c.name),
            esc(&one_line(why, 500))
        );
        let _ = writeln!(
            o,
            "<p><b>Gate:</b> {} ({}) · <b>Check:</b> {} at <code>{}</code></p>",
            esc(&g.title),
            esc(g.severity.as_str()),
            esc(&c.kind),
            esc(&c.location.to_string())
        );
        if c.attempts.len() > 1 {
            let _ = writeln!(
                o,
                "<p><b>Attempts:</b> {} in {}</p><ol class=\"attempts\">",
                c.attempts.len(),
                esc(&human(c.duration_ms))
            );
            for a in &c.attempts {
                // What this attempt saw (results written before attempts kept it have none).
                let saw = a
                    .evidence
                    .as_deref()
                    .map(|e| format!(" <code class=\"saw\">{}</code>", esc(&one_line(e, 300))))
                    .unwrap_or_default();
                let _ = writeln!(
                    o,
                    "<li>{} {} {}{saw}</li>",
                    badge(a.status),
                    esc(&human(a.duration_ms)),
                    esc(&one_line(a.message.as_deref().unwrap_or(""), 300))
                );
            }
            o.push_str("</ol>\n");
        }
        if !c.cases.is_empty() {
            o.push_str("<table class=\"cases\"><tr><th></th><th>Case</th><th>Time</th><th>Why</th></tr>\n");
            for k in &c.cases {
                let why = match (k.status, k.message.as_deref()) {
                    (Status::Passed, None) => String::new(),
                    (_, m) => one_line(m.unwrap_or(k.status.as_str()), 300),
                };
                let _ = writeln!(
                    o,
                    "<tr><td>{}</td><td>{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
                    badge(k.status),
                    esc(&k.name),
                    esc(&human(k.duration_ms)),
                    esc(&why)
                );
            }
            o.push_str("</table>\n");
            for k in c.cases.iter().filter(|k| k.status != Status::Passed) {
                if let Some(ev) = &k.evidence {
                    let _ = writeln!(o, "<p>{}</p><pre class=\"evidence\">{}</pre>", esc(&k.name), esc(ev.trim_end()));
                }
            }
        } else if let Some(ev) = &c.evidence {
            let _ = writeln!(o, "<pre class=\"evidence\">{}</pre>", esc(ev.trim_end()));
        }
        if let Some(logged) = &c.logged {
            let _ = writeln!(
                o,
                "<details class=\"logs\" open><summary>What <code>{}</code> logged for this request</summary><pre>{}</pre></details>",
                esc(c.service.as_deref().unwrap_or("?")),
                esc(logged.trim_end())
            );
        }
        if let Some(logs) = &c.logs {
            let _ = writeln!(
                o,
                "<details class=\"logs\"><summary>Last log lines of <code>{}</code></summary><pre>{}</pre></details>",
                esc(c.service.as_deref().unwrap_or("?")),
                esc(logs.trim_end())
            );
        }
        o.push_str("</details>\n");
    }
}

fn stack(o: &mut String, r: &RunReport) {
    let Some(s) = &r.stack else { return };
    let _ = write!(
        o,
        "<h2>Stack</h2>\n<p>Project <code>{}</code> · {} · {}",
        esc(&s.project),
        esc(&s.tool),
        esc(&s.compose_files.join(", "))
    );
    if let Some(up) = s.up_ms {
        let _ = write!(o, " · up in {}", esc(&human(up)));
    }
    if let Some(ms) = s.ready_ms {
        let _ = write!(o, " · ready in {}", esc(&human(ms)));
    }
    if let Some(dir) = &s.logs_dir {
        let _ = write!(o, " · logs in <code>{}</code>", esc(dir));
    }
    o.push_str(
        "</p>\n<table id=\"stack\"><tr><th>Service</th><th>Image</th><th>State</th><th>Health</th><th>Ready after</th><th>Restarts</th><th>Exit</th><th>Ports</th></tr>\n",
    );
    for svc in &s.services {
        let _ = writeln!(
            o,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td></tr>",
            esc(&svc.name),
            esc(svc.image.as_deref().unwrap_or("—")),
            esc(&svc.state),
            if svc.oom_killed { " (OOM)" } else { "" },
            esc(svc.health.as_deref().unwrap_or("—")),
            esc(&svc.ready_ms.map_or_else(|| "—".into(), human)),
            svc.restarts,
            esc(&svc.exit_code.map_or_else(|| "—".into(), |c| c.to_string())),
            esc(&if svc.ports.is_empty() { "—".into() } else { svc.ports.join(", ") })
        );
    }
    o.push_str("</table>\n");
    if let Some(nr) = &s.not_ready {
        let _ = writeln!(o, "<h3>Not ready after {}</h3>\n<p>{}</p>", esc(&human(nr.elapsed_ms)), esc(&nr.reason));
        for d in &nr.services {
            let _ = writeln!(
                o,
                "<details><summary><code>{}</code>: {}</summary>{}<pre>{}</pre></details>",
                esc(&d.service),
                esc(&d.state),
                d.health_checks.iter().map(|h| format!("<p>health check: {}</p>", esc(h))).collect::<Vec<_>>().concat(),
                esc(d.log_tail.trim_end())
            );
        }
    }
    if !s.incidents.is_empty() {
        o.push_str("<h3>What happened after ready</h3>\n");
        for i in &s.incidents {
            let _ = writeln!(
                o,
                "<details><summary>+{} <code>{}</code> {}{}</summary><p class=\"muted\">{}</p><pre>{}</pre></details>",
                esc(&human(i.after_ready_ms)),
                esc(&i.service),
                esc(&i.what),
                if i.restarted { " (restarted)" } else { "" },
                esc(&i.at),
                esc(i.log_tail.trim_end())
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_text_and_attribute_breakers() {
        assert_eq!(
            esc("<script>\"a\" & 'b'</script>\u{1b}[31m"),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
    }

    #[test]
    fn axis_steps_are_round() {
        assert_eq!(nice_step(130.0), 200.0);
        assert_eq!(nice_step(1_100.0), 2_000.0);
        assert_eq!(nice_step(0.2), 1.0);
        assert_eq!(nice_step(4_000.0), 5_000.0);
    }
}
