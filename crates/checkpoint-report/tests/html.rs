//! `integration-test-results.html` rendered by a real browser: headless
//! Chromium (Debian's `chromium`, installed by scripts/provision.sh) takes a
//! screenshot of a healthy and of a broken report — the PNG is decoded and
//! the timeline's bars must be there, in their colours — and dumps the DOM
//! it built: the verdict, the bars, and for a hostile report (script tags
//! and attribute breakers in names, evidence, headers and bodies) no element
//! the payload could have created, the title unchanged.
//!
//! Without Chromium these tests fail when `CI=true`; elsewhere they say why
//! they did not look and pass.

use std::path::{Path, PathBuf};
use std::process::Command;

mod support;

use checkpoint_model::result::{
    Attempt, CheckResult, GateResult, Incident, RunReport, ServiceReport, StackReport, Status,
};

const PASSED: [u8; 3] = [0x2d, 0xa4, 0x4e];
const FAILED: [u8; 3] = [0xcf, 0x22, 0x2e];
const STACK_UP: [u8; 3] = [0x09, 0x69, 0xda];
const READINESS: [u8; 3] = [0x54, 0xae, 0xff];
const VERDICT_PASSED: [u8; 3] = [0x1a, 0x7f, 0x37];
const VERDICT_FAILED: [u8; 3] = [0xa4, 0x0e, 0x26];

fn check(name: &str, kind: &str, status: Status, start: f64, ms: f64) -> CheckResult {
    CheckResult { started_ms: Some(start), duration_ms: ms, ..support::check(name, kind, status) }
}

fn gate(id: &str, title: &str, checks: Vec<CheckResult>) -> GateResult {
    let status = checks.iter().map(|c| c.status).find(|s| *s != Status::Passed).unwrap_or(Status::Passed);
    let start = checks.iter().filter_map(|c| c.started_ms).fold(f64::MAX, f64::min);
    let end = checks.iter().map(|c| c.started_ms.unwrap_or(0.0) + c.duration_ms).fold(0.0, f64::max);
    GateResult {
        reason: checks
            .iter()
            .find(|c| c.status != Status::Passed)
            .map(|c| format!("{}: {}", c.name, c.message.clone().unwrap_or_else(|| c.status.as_str().into()))),
        started_ms: Some(start),
        duration_ms: end - start,
        ..support::gate(id, title, status, checks)
    }
}

fn service(name: &str, ready_ms: f64) -> ServiceReport {
    ServiceReport {
        name: name.into(),
        image: Some(format!("checkpoint-demo-{name}:dev")),
        state: "running".into(),
        health: Some("healthy".into()),
        restarts: 0,
        ready_ms: Some(ready_ms),
        exit_code: None,
        oom_killed: false,
        ports: vec!["8000/tcp -> 127.0.0.1:49153".into()],
        log_file: None,
        one_shot: false,
    }
}

fn report(title: &str, gates: Vec<GateResult>) -> RunReport {
    RunReport {
        duration_ms: 9_800.0,
        stack: Some(StackReport {
            project: "checkpoint-1-abc123".into(),
            compose_files: vec!["docker-compose.test.yml".into()],
            tool: "docker-compose 1.29.2".into(),
            started_ms: Some(40.0),
            up_ms: Some(1_900.0),
            ready_ms: Some(2_600.0),
            services: vec![service("db", 1_200.0), service("redis", 400.0), service("api", 2_550.0)],
            logs_dir: Some("checkpoint-results/logs".into()),
            not_ready: None,
            incidents: vec![],
        }),
        ..support::report("checkpoint 0.1.0", title, "2026-12-05T02:00:00Z", gates)
    }
}

/// A 300 ms attempt of the flaky check, without evidence.
fn attempt(status: Status, message: Option<&str>, started_ms: f64) -> Attempt {
    Attempt {
        status,
        message: message.map(Into::into),
        started_ms: Some(started_ms),
        duration_ms: 300.0,
        evidence: None,
    }
}

/// A demo-like green run: stack up, readiness, parallel gates, a check that
/// passed on its third attempt, a latency check, a fault window.
fn healthy() -> RunReport {
    let t0 = 4_600.0;
    let mut flaky = check("job processed", "sql", Status::Passed, t0 + 200.0, 1_700.0);
    flaky.attempts = vec![
        attempt(Status::Failed, Some("rows: expected 1, got 0"), t0 + 200.0),
        attempt(Status::Failed, Some("rows: expected 1, got 0"), t0 + 900.0),
        attempt(Status::Passed, None, t0 + 1_600.0),
    ];
    let mut p95 = check("GET /items p95", "latency", Status::Passed, t0 + 100.0, 2_000.0);
    p95.metrics = Some(serde_json::json!({
        "request": "GET http://127.0.0.1:49153/items", "requests": 500, "errors": 0, "error_rate": 0.0,
        "concurrency": 8, "duration_ms": 2000.0, "rps": 250.0, "p50": 11.0, "p90": 19.0, "p95": 24.0,
        "p99": 40.0, "max": 61.0,
        "histogram": [{"le_ms": 10.0, "count": 200}, {"le_ms": 20.0, "count": 230}, {"le_ms": 40.0, "count": 60},
                      {"le_ms": 80.0, "count": 10}]
    }));
    report(
        "Day 1 — backend",
        vec![
            gate(
                "stack-running",
                "Docker stack running all services",
                vec![check("every service up", "compose", Status::Passed, t0, 600.0)],
            ),
            gate(
                "api-endpoints",
                "API endpoints responding",
                vec![
                    check("GET /health", "http", Status::Passed, t0, 500.0),
                    check("GET /items", "http", Status::Passed, t0 + 500.0, 700.0),
                ],
            ),
            gate("worker", "Worker tasks processing", vec![flaky]),
            gate("latency", "P95 response time < 200ms", vec![p95]),
            gate(
                "resilience",
                "API survives a db restart",
                vec![
                    check("db restarted", "fault", Status::Passed, t0 + 2_300.0, 2_400.0),
                    check("GET /health after", "http", Status::Passed, t0 + 4_700.0, 400.0),
                ],
            ),
        ],
    )
}

/// A broken run: the db is down, health fails after retries with evidence
/// and the api's log tail, auth errors, a gate is skipped.
fn broken() -> RunReport {
    let t0 = 4_600.0;
    let mut health = check("GET /health/db", "http", Status::Failed, t0, 3_000.0);
    health.message = Some("status: expected 200, got 503 (after 3 attempts in 3.0s)".into());
    health.evidence =
        Some("GET http://127.0.0.1:49153/health/db\n\n→ 503 Service Unavailable\n{\"status\":\"unhealthy\"}".into());
    health.service = Some("api".into());
    health.logs = Some("api | WARN database unavailable: password ****\napi | retrying".into());
    health.logged = Some(
        "INFO:     172.18.0.1:40112 - \"GET /health/db HTTP/1.1\" 503 Service Unavailable\nTraceback (most recent call last):\n  File \"/app/health.py\", line 12, in db\nRuntimeError: db gone".into(),
    );
    health.attempts = (0..3)
        .map(|i| Attempt {
            status: Status::Failed,
            message: Some("status: expected 200, got 503".into()),
            started_ms: Some(t0 + f64::from(i) * 1_200.0),
            duration_ms: 600.0,
            evidence: Some(format!(
                "GET http://127.0.0.1:49153/health/db \u{2192} 503 Service Unavailable ({}ms)",
                600 + i
            )),
        })
        .collect();
    let mut login = check("login", "http", Status::Errored, t0 + 100.0, 2_500.0);
    login.message = Some("cannot connect to 127.0.0.1:49160: connection refused".into());
    let mut skipped = check("query", "sql", Status::Skipped, 0.0, 0.0);
    skipped.started_ms = None;
    skipped.message = Some("not run: check `GET /health/db` did not pass".into());
    let mut r = report(
        "Day 1 — backend",
        vec![
            gate(
                "stack-running",
                "Docker stack running",
                vec![check("every service up", "compose", Status::Passed, t0, 600.0)],
            ),
            gate("health-db", "/health reports the database healthy", vec![health, skipped]),
            gate("auth", "Authentication end-to-end", vec![login]),
            gate(
                "api",
                "API endpoints responding",
                vec![check("GET /items", "http", Status::Passed, t0 + 700.0, 1_800.0)],
            ),
        ],
    );
    if let Some(s) = &mut r.stack {
        s.incidents.push(Incident {
            service: "db".into(),
            what: "exited with code 1".into(),
            restarted: false,
            after_ready_ms: 300.0,
            at: "2026-12-05T02:00:05Z".into(),
            log_tail: "db | FATAL: out of disk".into(),
        });
    }
    r
}

const PAYLOADS: [&str; 4] = [
    "<script>document.title='pwned'</script>",
    "\"><img src=x onerror=\"document.title='pwned'\">",
    "'><svg onload=\"document.title='pwned'\"></svg>",
    "</pre></details><iframe srcdoc=\"<script>parent.document.title='pwned'</script>\"></iframe>",
];

/// Every field a response or a plan can put text into, carrying payloads.
fn hostile() -> RunReport {
    let mut r = broken();
    let all = PAYLOADS.join(" ");
    r.checkpoint.title = PAYLOADS[0].into();
    r.checkpoint.file = PAYLOADS[1].into();
    for (i, g) in r.gates.iter_mut().enumerate() {
        g.id = format!("g{i}{}", PAYLOADS[i % 4]);
        g.title = PAYLOADS[(i + 1) % 4].into();
        g.reason = Some(all.clone());
        for c in &mut g.checks {
            c.name = format!("{}{}", c.name, PAYLOADS[(i + 2) % 4]);
            c.kind = PAYLOADS[(i + 3) % 4].into();
            c.message = Some(all.clone());
            c.evidence = Some(format!(
                "GET /x\nX-Evil: {}\n\n→ 200\ncontent-type: text/html\nx-header: {}\n\n<html><body>{all}</body></html>",
                PAYLOADS[1], PAYLOADS[2]
            ));
            c.logs = Some(all.clone());
            c.logged = Some(all.clone());
            c.service = Some(PAYLOADS[3].into());
            for a in &mut c.attempts {
                a.message = Some(all.clone());
                a.evidence = Some(format!("GET /x \u{2192} 200 x-header: {all}"));
            }
        }
    }
    if let Some(s) = &mut r.stack {
        s.project = PAYLOADS[2].into();
        s.tool = PAYLOADS[0].into();
        for svc in &mut s.services {
            svc.name = PAYLOADS[1].into();
            svc.image = Some(PAYLOADS[3].into());
            svc.ports = vec![all.clone()];
        }
        for i in &mut s.incidents {
            i.what = all.clone();
            i.log_tail = all.clone();
        }
    }
    r.interrupted = Some(all);
    r
}

/// The rendered file, without the browser: self-contained, nothing unescaped.
#[test]
fn html_is_self_contained_and_escapes_everything() {
    for r in [healthy(), broken(), hostile()] {
        let html = checkpoint_report::html(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        for forbidden in ["<script", "<img", "<iframe", "<link", "src=\"", "href=\"", "url(", "@import"] {
            assert!(!html.contains(forbidden), "{forbidden} in the report");
        }
        // The only URL in an attribute is the SVG namespace (a name, never fetched).
        assert_eq!(html.matches("=\"http").count(), 1);
        assert!(html.contains("xmlns=\"http://www.w3.org/2000/svg\""));
    }
    let html = checkpoint_report::html(&hostile());
    assert!(html.contains("&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;"));
    assert!(html.contains("&quot;&gt;&lt;img src=x onerror=&quot;"));
}

#[test]
fn html_is_written_with_the_other_reports() {
    let dir = tempfile::tempdir().unwrap();
    let w = checkpoint_report::write_all(&healthy(), dir.path(), None).unwrap();
    assert_eq!(w.html, dir.path().join("integration-test-results.html"));
    let text = std::fs::read_to_string(&w.html).unwrap();
    assert_eq!(text, checkpoint_report::html(&healthy()));
    // Re-rendered from results.json (what `checkpoint report` does): the same page.
    let back = checkpoint_report::read_json(&std::fs::read_to_string(&w.json).unwrap()).unwrap();
    assert_eq!(checkpoint_report::html(&back), text);
}

/// Results written before `started_ms` existed still render: one gate after another.
#[test]
fn old_results_without_start_times_render_a_sequential_timeline() {
    let mut r = healthy();
    let mut v = serde_json::to_value(&r).unwrap();
    strip(&mut v, &["started_ms", "up_ms"]);
    r = serde_json::from_value(v).expect("old results.json reads");
    let html = checkpoint_report::html(&r);
    assert!(html.contains("gates are drawn one after another"));
    assert_eq!(html.matches("class=\"bar bar-gate").count(), 5);
    // When the gates ended is a guess then: no teardown bar after them.
    assert!(!html.contains("bar-down"));
}

/// The time after the last gate (logs saved, the stack torn down) is a bar
/// of its own, to the run's end.
#[test]
fn the_timeline_ends_with_the_teardown() {
    let r = healthy();
    let html = checkpoint_report::html(&r);
    assert_eq!(html.matches("class=\"bar bar-stack bar-down\"").count(), 1, "{html}");
    assert!(html.contains(">logs saved, stack down<"), "{html}");
}

fn strip(v: &mut serde_json::Value, keys: &[&str]) {
    match v {
        serde_json::Value::Object(m) => {
            for k in keys {
                m.remove(*k);
            }
            m.values_mut().for_each(|x| strip(x, keys));
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(|x| strip(x, keys)),
        _ => {}
    }
}

/// Chromium, or None (a note) outside CI; a failure in CI.
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHECKPOINT_CHROMIUM").map(PathBuf::from).or_else(|| {
        ["chromium", "chromium-browser", "google-chrome"].into_iter().find_map(|name| {
            let ok = Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success());
            ok.then(|| PathBuf::from(name))
        })
    });
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "chromium is not installed (scripts/provision.sh installs it): the HTML report cannot be checked in a browser"
        );
        eprintln!("note: chromium not found; the HTML report was not rendered in a browser");
    }
    found
}

fn browser(bin: &Path, profile: &Path, args: &[&str], page: &Path) -> std::process::Output {
    let out = Command::new(bin)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    assert!(out.status.success(), "chromium failed: {}", String::from_utf8_lossy(&out.stderr));
    out
}

fn dump_dom(bin: &Path, dir: &Path, page: &Path) -> String {
    // A virtual time budget lets anything the page could schedule run first.
    let out = browser(bin, &dir.join("profile-dom"), &["--virtual-time-budget=2000", "--dump-dom"], page);
    String::from_utf8(out.stdout).unwrap()
}

struct Shot {
    width: usize,
    height: usize,
    rgb: Vec<[u8; 3]>,
}

impl Shot {
    fn take(bin: &Path, dir: &Path, page: &Path, name: &str) -> (Self, PathBuf) {
        let png_path = dir.join(format!("{name}.png"));
        browser(
            bin,
            &dir.join(format!("profile-{name}")),
            &[&format!("--screenshot={}", png_path.display()), "--window-size=1280,1400"],
            page,
        );
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png_path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        let step = info.color_type.samples();
        assert!(step >= 3, "an RGB screenshot, got {:?}", info.color_type);
        let rgb = buf[..info.buffer_size()].chunks(step).map(|p| [p[0], p[1], p[2]]).collect();
        (Self { width: info.width as usize, height: info.height as usize, rgb }, png_path)
    }

    fn at(&self, x: usize, y: usize) -> [u8; 3] {
        self.rgb[y * self.width + x]
    }

    /// Rows holding a horizontal run of at least `min` pixels of `colour`:
    /// a bar, not a badge or a legend swatch.
    fn bar_rows(&self, colour: [u8; 3], min: usize) -> Vec<usize> {
        (0..self.height)
            .filter(|&y| {
                let mut run = 0;
                (0..self.width).any(|x| {
                    run = if near(self.at(x, y), colour) { run + 1 } else { 0 };
                    run >= min
                })
            })
            .collect()
    }

    fn count(&self, colour: [u8; 3], rows: std::ops::Range<usize>) -> usize {
        rows.flat_map(|y| (0..self.width).map(move |x| (x, y))).filter(|&(x, y)| near(self.at(x, y), colour)).count()
    }
}

fn near(a: [u8; 3], b: [u8; 3]) -> bool {
    a.iter().zip(b).all(|(x, y)| x.abs_diff(y) <= 6)
}

/// Renders `r`, screenshots it and returns the screenshot with the band of
/// rows the timeline occupies (where the long bars are).
fn render(bin: &Path, dir: &Path, r: &RunReport, name: &str) -> (Shot, std::ops::Range<usize>, String) {
    let page = dir.join(format!("{name}.html"));
    std::fs::write(&page, checkpoint_report::html(r)).unwrap();
    let (shot, png) = Shot::take(bin, dir, &page, name);
    if let Ok(keep) = std::env::var("CHECKPOINT_KEEP_SCREENSHOTS") {
        std::fs::copy(&png, Path::new(&keep).join(format!("html-report-{name}.png"))).unwrap();
    }
    let blue = shot.bar_rows(STACK_UP, 60);
    assert!(!blue.is_empty(), "{name}: no `compose up` bar in the screenshot");
    let top = blue[0];
    let dom = dump_dom(bin, dir, &page);
    let end = (top + 400).min(shot.height);
    (shot, top..end, dom)
}

#[test]
fn chromium_renders_the_healthy_report_with_its_timeline() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (shot, band, dom) = render(&bin, dir.path(), &healthy(), "healthy");
    // The verdict: a green heading band at the top.
    assert!(shot.count(VERDICT_PASSED, 0..120) > 5_000, "no green verdict at the top");
    // The timeline: readiness bars and long green check bars in the band below the compose-up bar.
    assert!(shot.count(READINESS, band.clone()) > 2_000, "no readiness bars");
    let green: Vec<usize> = shot.bar_rows(PASSED, 40).into_iter().filter(|y| band.contains(y)).collect();
    assert!(green.len() >= 6 * 8, "only {} rows of green bars in the timeline", green.len());
    // The retried check's two failed attempts are red bars of their own.
    let red = shot.bar_rows(FAILED, 20).into_iter().filter(|y| band.contains(y)).count();
    assert!(red >= 8, "the failed attempts are not visible ({red} rows)");
    // The DOM Chromium built: the verdict, every check's bar, the retries, the fault window.
    assert!(dom.contains("Checkpoint 1 passed"), "{dom}");
    assert!(dom.contains("id=\"timeline\""));
    assert_eq!(dom.matches("class=\"bar bar-gate status-passed\"").count(), 5);
    assert_eq!(dom.matches("class=\"bar bar-check status-passed\"").count(), 6);
    assert_eq!(dom.matches("class=\"bar bar-check bar-attempt status-failed\"").count(), 2);
    assert_eq!(dom.matches("class=\"fault-window\"").count(), 1);
    assert_eq!(dom.matches("class=\"bar-service-ready\"").count(), 3);
    assert_eq!(dom.matches("class=\"bar bar-stack bar-down\"").count(), 1);
    assert!(dom.contains("<th>p95</th>") && dom.contains("24.0ms"), "latency percentiles");
}

#[test]
fn chromium_renders_the_broken_report_with_every_failure() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (shot, band, dom) = render(&bin, dir.path(), &broken(), "broken");
    assert!(shot.count(VERDICT_FAILED, 0..120) > 5_000, "no red verdict at the top");
    let red: Vec<usize> = shot.bar_rows(FAILED, 30).into_iter().filter(|y| band.contains(y)).collect();
    assert!(red.len() >= 8, "only {} rows of red bars in the timeline", red.len());
    assert!(!shot.bar_rows(PASSED, 60).into_iter().filter(|y| band.contains(y)).collect::<Vec<_>>().is_empty());
    assert!(dom.contains("Checkpoint 1 failed"));
    assert_eq!(dom.matches("class=\"bar bar-check bar-attempt status-failed\"").count(), 3, "three attempts");
    assert_eq!(dom.matches("class=\"bar bar-check status-errored\"").count(), 1);
    // Every failure, collapsed, its reason in the summary; evidence and log tail inside.
    assert_eq!(dom.matches("<details class=\"failure\">").count(), 2);
    assert!(dom.contains("status: expected 200, got 503 (after 3 attempts in 3.0s)"));
    assert!(dom.contains("connection refused"));
    assert!(dom.contains("→ 503 Service Unavailable"));
    // Each attempt in the failure's list with what it saw itself.
    for i in 0..3 {
        assert!(
            dom.contains(&format!("GET http://127.0.0.1:49153/health/db → 503 Service Unavailable ({}ms)", 600 + i))
        );
    }
    assert!(dom.contains("database unavailable: password ****"));
    // What the api logged for the request, open: the traceback behind the reason.
    assert!(dom.contains("<details class=\"logs\" open=\"\"><summary>What <code>api</code> logged for this request"));
    assert!(dom.contains("RuntimeError: db gone"));
    assert!(dom.contains("exited with code 1"), "the incident");
}

#[test]
fn chromium_runs_nothing_from_a_hostile_report() {
    let Some(bin) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("hostile.html");
    std::fs::write(&page, checkpoint_report::html(&hostile())).unwrap();
    let dom = dump_dom(&bin, dir.path(), &page);
    let title = dom.split("<title>").nth(1).and_then(|t| t.split("</title>").next()).expect("a title");
    assert_eq!(title, "Checkpoint 1 failed — &lt;script&gt;document.title='pwned'&lt;/script&gt;");
    // No element the payloads describe exists: they are text.
    let body = dom.split("</head>").nth(1).unwrap();
    for element in ["<script", "<img", "<iframe", "<svg onload"] {
        assert!(!body.contains(element), "{element} became an element:\n{body}");
    }
    assert!(body.contains("&lt;script&gt;document.title='pwned'&lt;/script&gt;"));
    assert!(body.contains("\"&gt;&lt;img src=x onerror=\"document.title='pwned'\"&gt;"));
    assert!(body.contains("&lt;/pre&gt;&lt;/details&gt;&lt;iframe"));
    // And the timeline is still drawn.
    assert!(body.matches("class=\"bar bar-check").count() >= 4);
}
