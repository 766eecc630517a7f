//! `integration-test-results.md`: what the team reads the morning after.
//! Verdict first, then the criteria, the gates in plan order with the one-line
//! reason, the latency distributions (passed checks too: people read the
//! figures on green runs), the failures with their evidence, the stack, the
//! timings.

use std::fmt::Write as _;

use checkpoint_model::duration::human;
use checkpoint_model::result::{CheckResult, RunReport, Status, Verdict};

use crate::baseline::SlowerThan;
use crate::text::{clean, failed_checks, gate_counts, measured_checks, one_line};

pub fn markdown(r: &RunReport, baseline: Option<&RunReport>) -> String {
    markdown_with(r, baseline, &SlowerThan::default())
}

/// [`markdown`] with the `--slower-than` threshold for the baseline comparison.
pub fn markdown_with(r: &RunReport, baseline: Option<&RunReport>, slower: &SlowerThan) -> String {
    let mut o = String::new();
    let (icon, word) = match r.verdict {
        Verdict::Passed => ("✅", "passed"),
        Verdict::Failed => ("❌", "failed"),
    };
    let _ = writeln!(o, "# {icon} Checkpoint {} {word} — {}\n", r.checkpoint.id, cell_text(&r.checkpoint.title));
    let (gates_all, gates_passed, gates_failed, gates_skipped) = gate_counts(r);
    let (j_tests, j_failures, j_errors, j_skipped) = crate::junit::counts(r);
    let _ = writeln!(
        o,
        "**{} gates**: {} passed, {} failed, {} skipped · {} · started {} · `{}`{}\n\n\
         _In `junit.xml` (what CI shows): {} tests — one per check, or per operation of an `openapi` check — {} failures, {} errors, {} skipped._\n",
        gates_all,
        gates_passed,
        gates_failed,
        gates_skipped,
        human(r.duration_ms),
        r.started_at,
        r.checkpoint.file,
        filters(r),
        j_tests,
        j_failures,
        j_errors,
        j_skipped
    );
    if let Some(why) = &r.interrupted {
        let _ = writeln!(o, "> ⚠️ **The run ended early:** {}\n", one_line(why, 500));
    }
    if let Some(nr) = r.stack.as_ref().and_then(|s| s.not_ready.as_ref()) {
        let _ = writeln!(
            o,
            "> ⚠️ **The stack was not ready** (gave up {} into the readiness wait): {}. The gates ran anyway; see [Stack](#stack).\n",
            human(nr.elapsed_ms),
            one_line(&nr.reason, 500)
        );
    }
    if let Some(s) = r.stack.as_ref().filter(|s| !s.incidents.is_empty()) {
        let _ = writeln!(
            o,
            "> ⚠️ **The stack broke during the run:** {}{}\n",
            one_line(&s.incidents[0].headline(), 300),
            if s.incidents.len() > 1 {
                format!(" (and {} more, see [Stack](#stack))", s.incidents.len() - 1)
            } else {
                String::new()
            }
        );
    }
    if r.gates.is_empty() && r.filters.shard.is_some() {
        let _ = writeln!(
            o,
            "> This shard had no gates to run; `checkpoint report merge` gives the verdict of all shards.\n"
        );
    }
    if let Some(b) = baseline {
        changes(&mut o, r, b, slower);
    }
    criteria(&mut o, r);
    gates(&mut o, r);
    latency(&mut o, r);
    failures(&mut o, r);
    stack(&mut o, r);
    timings(&mut o, r);
    let _ = writeln!(o, "---\n_{} · results.json format {}_", r.tool, r.format_version);
    o
}

fn filters(r: &RunReport) -> String {
    let mut parts = Vec::new();
    if !r.filters.waves.is_empty() {
        parts.push(format!("waves {}", r.filters.waves.join(", ")));
    }
    if !r.filters.gates.is_empty() {
        parts.push(format!("gates {}", r.filters.gates.join(", ")));
    }
    if let Some(s) = &r.filters.shard {
        parts.push(format!("shard {s}"));
    }
    if parts.is_empty() { String::new() } else { format!(" · only {}", parts.join("; ")) }
}

fn yes(b: bool) -> &'static str {
    if b { "✅" } else { "❌" }
}

fn criteria(o: &mut String, r: &RunReport) {
    let c = &r.criteria;
    let _ = writeln!(o, "## Criteria\n\n| Criterion | Result | Required | Met |\n|---|---|---|---|");
    let _ = writeln!(o, "| Must gates | {}/{} | 100% | {} |", c.must.passed, c.must.total, yes(c.must_met));
    let should_pct =
        if c.should.total == 0 { 100.0 } else { f64::from(c.should.passed) * 100.0 / f64::from(c.should.total) };
    let _ = writeln!(
        o,
        "| Should gates | {}/{} ({should_pct:.0}%) | ≥ {:.0}% | {} |",
        c.should.passed,
        c.should.total,
        c.should_threshold * 100.0,
        yes(c.should_met)
    );
    if c.nice.total > 0 {
        let _ = writeln!(o, "| Nice gates | {}/{} | — | — |", c.nice.passed, c.nice.total);
    }
    if let Some(t) = c.pass_rate_threshold {
        let _ =
            writeln!(o, "| Pass rate | {:.0}% | ≥ {:.0}% | {} |", c.pass_rate * 100.0, t * 100.0, yes(c.pass_rate_met));
    }
    o.push('\n');
}

fn gates(o: &mut String, r: &RunReport) {
    let _ = writeln!(o, "## Gates\n\n| | Gate | Plan | Severity | Wave | Time | Why |\n|---|---|---|---|---|---|---|");
    for g in &r.gates {
        let why = match (&g.reason, g.status) {
            (_, Status::Passed) => String::new(),
            (Some(reason), _) => cell_text(&one_line(reason, 200)),
            (None, s) => s.as_str().to_string(),
        };
        let time = if g.duration_ms > 0.0 { human(g.duration_ms) } else { "—".into() };
        let _ = writeln!(
            o,
            "| {} | `{}` | {} | {} | {} | {time} | {why} |",
            g.status.emoji(),
            g.id,
            cell_text(&g.title),
            g.severity.as_str(),
            g.wave.as_deref().map_or_else(|| "—".into(), cell_text)
        );
    }
    o.push('\n');
}

/// Every `latency` check that measured: a percentile table, the request
/// count, rate and errors, and the histogram as text bars.
fn latency(o: &mut String, r: &RunReport) {
    let measured = measured_checks(r);
    if measured.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Latency\n");
    for (g, c, f) in measured {
        use checkpoint_model::latency::{ms, percent, rate};
        let _ = writeln!(o, "### {} `{}` › {}\n", c.status.emoji(), g.id, cell_text(&c.name));
        let mut how = format!("concurrency {}", f.concurrency);
        if let Some(r) = f.rate {
            how.push_str(&format!(", fixed rate {}/s", rate(r)));
        }
        if f.warmup > 0 {
            how.push_str(&format!(", after {} warmup", f.warmup));
        }
        let _ = writeln!(o, "`{}` · {how}\n", f.request.replace('`', "'"));
        let dash = |v: Option<f64>| v.map_or_else(|| "—".to_string(), ms);
        let _ = writeln!(
            o,
            "| Requests | Rate | Errors | p50 | p90 | p95 | p99 | max |\n|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        let _ = writeln!(
            o,
            "| {} in {} | {}/s | {} ({}) | {} | {} | {} | {} | {} |\n",
            f.requests,
            ms(f.duration_ms),
            rate(f.rps),
            f.errors,
            percent(f.error_rate),
            dash(f.p50),
            dash(f.p90),
            dash(f.p95),
            dash(f.p99),
            dash(f.max)
        );
        let bars = f.histogram_text();
        if !bars.is_empty() {
            let _ = writeln!(o, "{}\n", fenced(&bars));
        }
    }
}

fn failures(o: &mut String, r: &RunReport) {
    let failed = failed_checks(r);
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(o, "## Failures\n");
    for (g, c) in failed {
        let _ = writeln!(o, "### {} `{}` › {}\n", c.status.emoji(), g.id, cell_text(&c.name));
        let _ = writeln!(o, "- **Why:** {}", one_line(c.message.as_deref().unwrap_or(c.status.as_str()), 500));
        let _ = writeln!(
            o,
            "- **Gate:** {} ({}) · **Check:** {} at `{}`",
            cell_text(&g.title),
            g.severity.as_str(),
            c.kind,
            c.location
        );
        if c.attempts.len() > 1 {
            let _ = writeln!(o, "- **Attempts:** {} in {}", c.attempts.len(), human(c.duration_ms));
        }
        if !c.cases.is_empty() {
            cases(o, c);
        } else if let Some(ev) = &c.evidence {
            let _ = writeln!(o, "\n{}", fenced(&clean(ev)));
        } else {
            o.push('\n');
        }
        if let Some(logged) = &c.logged {
            let _ = writeln!(
                o,
                "<details><summary>What <code>{}</code> logged for this request</summary>\n\n{}\n</details>\n",
                c.service.as_deref().unwrap_or("?"),
                fenced(&clean(logged))
            );
        }
        if let Some(logs) = &c.logs {
            let _ = writeln!(
                o,
                "<details><summary>Last log lines of <code>{}</code></summary>\n\n{}\n</details>\n",
                c.service.as_deref().unwrap_or("?"),
                fenced(&clean(logs))
            );
        }
    }
}

/// A check's cases (an `openapi` check's operations): every one in a table,
/// the evidence of each that did not pass one click away.
fn cases(o: &mut String, c: &CheckResult) {
    let _ = writeln!(o, "\n| | Case | Time | Why |\n|---|---|---|---|");
    for k in &c.cases {
        // A passed case has no why, unless it carries a note (an undeclared status accepted).
        let why = match (k.status, k.message.as_deref()) {
            (Status::Passed, None) => String::new(),
            (_, m) => cell_text(&one_line(m.unwrap_or(k.status.as_str()), 300)),
        };
        let _ = writeln!(o, "| {} | {} | {} | {why} |", k.status.emoji(), cell_text(&k.name), human(k.duration_ms));
    }
    o.push('\n');
    for k in c.cases.iter().filter(|k| k.status != Status::Passed) {
        if let Some(ev) = &k.evidence {
            let _ = writeln!(
                o,
                "<details><summary>{} {}</summary>\n\n{}\n</details>\n",
                k.status.emoji(),
                cell_text(&k.name),
                fenced(&clean(ev))
            );
        }
    }
}

fn stack(o: &mut String, r: &RunReport) {
    let Some(s) = &r.stack else { return };
    let _ = write!(o, "## Stack\n\nProject `{}` · {} · {}", s.project, s.tool, s.compose_files.join(", "));
    if let Some(ms) = s.ready_ms {
        let _ = write!(o, " · ready in {}", human(ms));
    }
    if let Some(dir) = &s.logs_dir {
        let _ = write!(o, " · logs in `{dir}`");
    }
    let _ = writeln!(
        o,
        "\n\n| Service | Image | State | Health | Restarts | Exit | Ports |\n|---|---|---|---|---|---|---|"
    );
    for svc in &s.services {
        let _ = writeln!(
            o,
            "| `{}` | {} | {}{} | {} | {} | {} | {} |",
            svc.name,
            svc.image.as_deref().map_or_else(|| "—".into(), cell_text),
            svc.state,
            if svc.oom_killed { " (OOM)" } else { "" },
            svc.health.as_deref().unwrap_or("—"),
            svc.restarts,
            svc.exit_code.map_or_else(|| "—".into(), |c| c.to_string()),
            if svc.ports.is_empty() { "—".into() } else { cell_text(&svc.ports.join(", ")) }
        );
    }
    o.push('\n');
    if let Some(nr) = &s.not_ready {
        let _ = writeln!(o, "### Not ready after {}\n\n{}\n", human(nr.elapsed_ms), cell_text(&nr.reason));
        for d in &nr.services {
            let _ = writeln!(o, "- `{}`: {}", d.service, cell_text(&d.state));
            for h in &d.health_checks {
                let _ = writeln!(o, "  - health check: {}", cell_text(h));
            }
        }
        o.push('\n');
        for d in nr.services.iter().filter(|d| !d.log_tail.trim().is_empty()) {
            let _ = writeln!(
                o,
                "<details><summary>last log lines of <code>{}</code></summary>\n\n{}\n\n</details>\n",
                d.service,
                fenced(&d.log_tail)
            );
        }
    }
    if !s.incidents.is_empty() {
        let _ =
            writeln!(o, "### What happened after ready\n\n| After ready | Service | What | At |\n|---|---|---|---|");
        for i in &s.incidents {
            let _ = writeln!(
                o,
                "| +{} | `{}` | {}{} | {} |",
                human(i.after_ready_ms),
                i.service,
                cell_text(&i.what),
                if i.restarted { " (restarted)" } else { "" },
                i.at
            );
        }
        o.push('\n');
        for i in s.incidents.iter().filter(|i| !i.log_tail.trim().is_empty()) {
            let _ = writeln!(
                o,
                "<details><summary><code>{}</code> {} — last log lines</summary>\n\n{}\n\n</details>\n",
                i.service,
                cell_text(&i.what),
                fenced(&i.log_tail)
            );
        }
    }
}

fn timings(o: &mut String, r: &RunReport) {
    let mut checks: Vec<(&str, &CheckResult)> = r
        .gates
        .iter()
        .flat_map(|g| g.checks.iter().map(move |c| (g.id.as_str(), c)))
        .filter(|(_, c)| c.duration_ms > 0.0)
        .collect();
    if checks.is_empty() {
        return;
    }
    checks.sort_by(|a, b| b.1.duration_ms.total_cmp(&a.1.duration_ms));
    let _ = writeln!(o, "## Timings\n\nSlowest checks:\n\n| Check | Gate | Time |\n|---|---|---|");
    for (g, c) in checks.iter().take(5) {
        let _ = writeln!(o, "| {} | `{g}` | {} |", cell_text(&c.name), human(c.duration_ms));
    }
    o.push('\n');
}

fn changes(o: &mut String, r: &RunReport, b: &RunReport, slower: &SlowerThan) {
    let before = |id: &str| b.gates.iter().find(|g| g.id == id);
    let mut newly = Vec::new();
    let mut fixed = Vec::new();
    let mut still = Vec::new();
    let mut added = Vec::new();
    for g in &r.gates {
        match before(&g.id) {
            None => added.push(g.id.clone()),
            // "Newly failing" includes a gate that was skipped or cancelled before.
            Some(p) => match (p.status.is_failure(), g.status.is_pass(), g.status.is_failure()) {
                (false, false, true) => newly.push(g.id.clone()),
                (true, true, _) => fixed.push(g.id.clone()),
                (true, false, true) => still.push(g.id.clone()),
                _ => {}
            },
        }
    }
    let removed: Vec<String> =
        b.gates.iter().filter(|p| !r.gates.iter().any(|g| g.id == p.id)).map(|p| p.id.clone()).collect();
    let mut slow = Vec::new();
    for g in &r.gates {
        for c in &g.checks {
            let prev = before(&g.id).and_then(|p| p.checks.iter().find(|x| x.name == c.name));
            if let Some(p) = prev
                && slower.is_slower(p.duration_ms, c.duration_ms)
            {
                slow.push(format!(
                    "`{}` › {} ({} → {})",
                    g.id,
                    cell_text(&c.name),
                    human(p.duration_ms),
                    human(c.duration_ms)
                ));
            }
        }
    }
    let _ = writeln!(o, "## Changes since {}\n", b.started_at);
    let list = |v: &[String]| {
        if v.is_empty() {
            "none".to_string()
        } else {
            v.iter()
                .map(|x| if x.starts_with('`') { x.clone() } else { format!("`{x}`") })
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    let _ = writeln!(o, "- 🔴 **Newly failing:** {}", list(&newly));
    let _ = writeln!(o, "- 🟢 **Fixed:** {}", list(&fixed));
    let _ = writeln!(o, "- 🟠 **Still failing:** {}", list(&still));
    if !added.is_empty() || !removed.is_empty() {
        let _ = writeln!(o, "- **New gates:** {} · **Removed gates:** {}", list(&added), list(&removed));
    }
    let _ = writeln!(o, "- 🐢 **Slower ({slower}):** {}\n", list(&slow));
}

/// Text safe inside a table cell: no newlines, no pipes.
fn cell_text(s: &str) -> String {
    one_line(s, 10_000).replace('|', "\\|")
}

/// A fenced block that its content cannot close.
fn fenced(s: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in s.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat((longest + 1).max(3));
    format!("{fence}text\n{}\n{fence}", s.trim_end())
}
