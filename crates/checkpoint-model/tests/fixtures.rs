//! Golden fixture folders (`fixtures/checkpoints/`): one test per folder.
//!
//! Each `invalid/<case>/` is a tiny project (a `checkpoints/` directory, and a
//! compose file when the case needs a `stack:`) that must fail to load. Its
//! plain rendering is snapshotted under the case's name, with paths relative
//! to the case folder so snapshots do not depend on the machine. Every
//! rendering must point at `file:line:col` and end its diagnostics with a
//! `help:` line: a definition error the user cannot locate or act on is a bug
//! in the loader, not in the fixture.
//!
//! Each `valid/<case>/` must load with no diagnostics; a few facts about the
//! loaded plan are asserted next to it.

use std::path::{Path, PathBuf};
use std::time::Duration;

use checkpoint_model::load::{LoadOptions, load_checkpoints};
use checkpoint_model::{Checkpoint, Severity};

fn fixtures() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/checkpoints");
    std::fs::canonicalize(&p).unwrap_or(p)
}

fn options(case_dir: &Path) -> LoadOptions {
    LoadOptions { dir: case_dir.join("checkpoints"), ..LoadOptions::default() }
}

/// The plain rendering of a case's diagnostics, paths relative to the case folder.
fn render_invalid(case_dir: &Path) -> String {
    let diags = match load_checkpoints(&options(case_dir), &[]) {
        Ok(l) => panic!(
            "{} loaded without a diagnostic: {:?}",
            case_dir.display(),
            l.checkpoints.iter().map(|c| &c.id).collect::<Vec<_>>()
        ),
        Err(d) => d,
    };
    let text = diags.render(false);
    text.replace(&format!("{}/", case_dir.display()), "").replace(&case_dir.display().to_string(), ".")
}

/// What every rendering of a case must contain besides its snapshot.
#[derive(Clone, Copy)]
enum Position {
    /// Every diagnostic points at `file:line:col`.
    Always,
    /// There is no file to point into (e.g. no checkpoint files at all).
    None,
}

fn invalid(case: &str, position: Position) {
    let dir = fixtures().join("invalid").join(case);
    let rendered = render_invalid(&dir);
    let diagnostics: Vec<&str> = rendered.split("\n\n").filter(|d| d.starts_with("error")).collect();
    let summary = rendered.lines().last().unwrap_or_default();
    assert!(summary.contains("nothing was run"), "{rendered}");
    for d in diagnostics.iter().filter(|d| !d.starts_with("error: ") || !d.contains("problem")) {
        if d.lines().count() == 1 && d.contains("problem") {
            continue;
        }
        if let Position::Always = position {
            let arrow = d.lines().find(|l| l.trim_start().starts_with("-->"));
            let has_pos = arrow.is_some_and(|l| {
                let mut parts = l.rsplit(':');
                let col = parts.next().unwrap_or_default();
                let line = parts.next().unwrap_or_default();
                !col.is_empty()
                    && col.chars().all(|c| c.is_ascii_digit())
                    && !line.is_empty()
                    && line.chars().all(|c| c.is_ascii_digit())
            });
            assert!(has_pos, "no `--> file:LINE:COL` in:\n{d}\n\nfull rendering:\n{rendered}");
            assert!(d.contains('^'), "no caret in:\n{d}");
        }
        assert!(d.contains("help: "), "no `help:` line in:\n{d}");
    }
    insta::assert_snapshot!(case, rendered);
}

macro_rules! invalid_cases {
    ($($test:ident => $case:literal $(, $pos:ident)?;)*) => {
        const INVALID_CASES: &[&str] = &[$($case),*];
        $(
            #[test]
            fn $test() {
                invalid($case, invalid_cases!(@pos $($pos)?));
            }
        )*
    };
    (@pos) => { Position::Always };
    (@pos $pos:ident) => { Position::$pos };
}

invalid_cases! {
    unknown_top_level_key => "unknown-top-level-key";
    unknown_gate_key => "unknown-gate-key";
    unknown_check_key => "unknown-check-key";
    unknown_check_kind => "unknown-check-kind";
    check_without_kind => "check-without-kind";
    check_with_two_kinds => "check-with-two-kinds";
    bad_severity => "bad-severity";
    duplicate_gate_id => "duplicate-gate-id";
    duplicate_check_name => "duplicate-check-name";
    needs_unknown_gate => "needs-unknown-gate";
    needs_cycle => "needs-cycle";
    needs_itself => "needs-itself";
    undefined_variable => "undefined-variable";
    malformed_template => "malformed-template";
    required_variable_unset => "required-variable-unset";
    unknown_compose_service => "unknown-compose-service";
    unknown_service_in_check => "unknown-service-in-check";
    unknown_stack_service => "unknown-stack-service";
    missing_compose_file => "missing-compose-file";
    service_ref_without_stack => "service-ref-without-stack";
    timeout_without_unit => "timeout-without-unit";
    timeout_not_a_duration => "timeout-not-a-duration";
    invalid_retry => "invalid-retry";
    retry_not_a_mapping => "retry-not-a-mapping";
    unknown_matcher_operator => "unknown-matcher-operator";
    invalid_regex => "invalid-regex";
    invalid_jsonpath_expect => "invalid-jsonpath-expect";
    invalid_jsonpath_capture => "invalid-jsonpath-capture";
    expect_field_wrong_kind => "expect-field-wrong-kind";
    postgres_query_and_table => "postgres-query-and-table";
    redis_without_command => "redis-without-command";
    bad_http_method => "bad-http-method";
    non_http_url => "non-http-url";
    checkpoint_id_mismatch => "checkpoint-id-mismatch";
    include_missing => "include-missing";
    include_cycle => "include-cycle";
    empty_file => "empty-file";
    comments_only => "comments-only";
    not_yaml => "not-yaml";
    prose_instead_of_yaml => "prose-instead-of-yaml";
    invalid_utf8 => "invalid-utf8";
    alias_bomb => "alias-bomb";
    gates_is_a_mapping => "gates-is-a-mapping";
    checks_is_a_string => "checks-is-a-string";
    missing_title => "missing-title";
    missing_gate_id => "missing-gate-id";
    missing_check_name => "missing-check-name";
    missing_http_url => "missing-http-url";
    criteria_out_of_range => "criteria-out-of-range";
    tab_indented => "tab-indented";
    duplicate_yaml_key => "duplicate-yaml-key";
    several_problems_one_file => "several-problems-one-file";
    several_broken_files => "several-broken-files";
    no_checkpoint_files => "no-checkpoint-files", None;
    gate_without_checks => "gate-without-checks";
    invalid_gate_id => "invalid-gate-id";
    fault_unknown_action => "fault-unknown-action";
    capture_used_before_defined => "capture-used-before-defined";
    misindented_expect => "misindented-expect";
    several_shape_problems => "several-shape-problems";
    quality_gates => "quality-gates";
    openapi_spec => "openapi-spec";
    latency_spec => "latency-spec";
    contract_diff => "contract-diff";
    http_forms_cookies_captures => "http-forms-cookies-captures";
    openapi_undeclared_status => "openapi-undeclared-status";
    channels_and_sql => "channels-and-sql";
}

/// A fixture folder without a test (or a test without a folder) is a mistake.
#[test]
fn every_invalid_folder_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures().join("invalid"))
        .expect("fixtures/checkpoints/invalid exists")
        .filter_map(Result::ok)
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = INVALID_CASES.iter().map(|s| (*s).to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed);
}

fn load_valid(case: &str) -> Vec<Checkpoint> {
    let dir = fixtures().join("valid").join(case);
    match load_checkpoints(&options(&dir), &[]) {
        Ok(l) => l.checkpoints,
        Err(d) => panic!("valid/{case} does not load:\n{}", d.render(false)),
    }
}

fn gate_ids(cp: &Checkpoint) -> Vec<&str> {
    cp.gates.iter().map(|g| g.id.as_str()).collect()
}

#[test]
fn valid_includes_and_vars() {
    let cps = load_valid("includes-and-vars");
    let ids: Vec<&str> = cps.iter().map(|c| c.id.as_str()).collect();
    assert_eq!(ids, ["0", "1"]);
    let one = &cps[1];
    assert_eq!(gate_ids(one), ["api-up", "login", "profile"], "included gates come first");
    assert_eq!(one.gates[0].defined_in, cps[0].gates[0].defined_in);
    assert!(one.gates[0].defined_in.ends_with("0.yaml"));
    assert_eq!(one.gates[1].needs, ["api-up"]);
    let vars: Vec<&str> = one.vars.keys().map(String::as_str).collect();
    assert_eq!(vars, ["API", "ADMIN_TOKEN", "EMAIL"], "inherited vars first, in order");
    assert_eq!(one.gates[0].severity, Severity::Must, "the default severity");
    assert_eq!(one.gates[1].severity, Severity::Should);
    assert_eq!(one.gates[2].severity, Severity::Nice);
    let sign_in = &one.gates[1].checks[0];
    let captures: Vec<(&str, String)> = sign_in.capture.iter().map(|(a, b)| (a.as_str(), b.to_string())).collect();
    assert_eq!(captures, [("TOKEN", "$.access_token".to_string()), ("USER_ID", "$.user.id".to_string())]);
    assert_eq!(sign_in.timeout, Duration::from_secs(10), "the default timeout");
    assert_eq!(one.gates[1].checks[1].timeout, Duration::from_secs(3));
    let retry = one.gates[2].checks[0].retry.expect("profile retries");
    assert_eq!((retry.until, retry.every), (Duration::from_secs(30), Duration::from_secs(1)));
}

#[test]
fn valid_every_kind() {
    let cps = load_valid("every-kind");
    let cp = &cps[0];
    let kinds: Vec<&str> = cp.gates.iter().flat_map(|g| &g.checks).map(checkpoint_model::Check::kind).collect();
    assert_eq!(
        kinds,
        [
            "compose",
            "tcp",
            "reach",
            "postgres",
            "postgres",
            "redis",
            "redis",
            "exec",
            "command",
            "fault",
            "latency",
            "websocket",
            "redis",
            "redis",
            "postgres",
            "mysql"
        ]
    );
    let realtime = &cp.gates[6].checks;
    assert_eq!(realtime[0].during.len(), 1, "a listener's `during:` checks are its nested checks");
    assert_eq!(realtime[0].service.as_deref(), Some("api"));
    assert!(realtime[0].spec.listen().is_some() && realtime[1].spec.listen().is_some());
    assert!(realtime[2].spec.listen().is_none(), "a stream check does not listen");
    let stack = cp.stack.as_ref().expect("a stack");
    assert_eq!(stack.services, ["db", "redis", "api", "worker", "mysql"]);
    assert_eq!(stack.ready_timeout, Duration::from_mins(2));
    let fault = &cp.gates[4].checks[0];
    assert_eq!(fault.service.as_deref(), Some("redis"));
    assert_eq!(fault.during.len(), 1);
    assert_eq!(fault.after.len(), 1);
    assert_eq!(fault.during[0].service.as_deref(), Some("api"), "inferred from `${{service.api.8000}}`");
    assert_eq!(cp.gates[1].checks[1].service.as_deref(), Some("api"), "a reach check concerns its `from`");
    assert!(
        cp.gates
            .iter()
            .flat_map(|g| &g.checks)
            .filter(|c| c.kind() != "latency")
            .all(|c| c.timeout == Duration::from_secs(10))
    );
    let latency = &cp.gates[5].checks[0];
    assert_eq!(latency.service.as_deref(), Some("api"));
    assert_eq!(
        latency.timeout,
        Duration::from_millis(40_250),
        "a latency check's default timeout: its duration, the warmup at 100ms a request per connection, plus 30s"
    );
    let fields: Vec<&str> = latency.expect.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(fields, ["error_rate", "p95"]);
}

/// Forms, cookies and captures from headers and cookies load into the plan as written.
#[test]
fn valid_http_session() {
    use checkpoint_model::kinds::CheckSpec;
    use checkpoint_model::plan::Capture;
    let cps = load_valid("http-session");
    let login = &cps[0].gates[0].checks[0];
    assert_eq!(
        login.capture,
        [
            ("ACCESS_TOKEN".to_string(), Capture::Json("$.access_token".into())),
            ("REFRESH".to_string(), Capture::Cookie("refresh_token".into())),
            ("WHERE".to_string(), Capture::Header("location".into())),
        ],
        "header names are case-insensitive: kept lowercase"
    );
    let CheckSpec::Http(login_spec) = &login.spec else { panic!("an http check: {:?}", login.spec) };
    let form: Vec<&String> = login_spec.form.as_ref().expect("a form").keys().collect();
    assert_eq!(form, ["username", "password", "scope", "remember"], "the form keeps its order");
    assert!(login_spec.cookies, "cookies: true is the default");
    let cookie = login.expect.iter().find(|e| e.field == "cookies").expect("a cookies expectation");
    assert_eq!(cookie.key.as_deref(), Some("refresh_token"));
    let refresh = &cps[0].gates[0].checks[1];
    let CheckSpec::Http(refresh_spec) = &refresh.spec else { panic!("an http check: {:?}", refresh.spec) };
    assert!(!refresh_spec.cookies);
    let CheckSpec::Openapi(openapi) = &cps[0].gates[1].checks[0].spec else { panic!("an openapi check") };
    assert_eq!(openapi.undeclared_status.as_deref(), Some("strict"));
}

#[test]
fn valid_criteria() {
    let cps = load_valid("criteria");
    let cp = &cps[0];
    assert_eq!(cp.id, "final");
    assert!((cp.criteria.should - 0.5).abs() < 1e-9);
    assert_eq!(cp.criteria.pass_rate.map(|p| (p * 100.0).round()), Some(95.0));
    assert_eq!(cp.gates[1].checks[0].expect.len(), 2);
}

/// Every valid fixture folder is loaded by a test above.
#[test]
fn every_valid_folder_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(fixtures().join("valid"))
        .expect("fixtures/checkpoints/valid exists")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    on_disk.sort();
    assert_eq!(on_disk, ["criteria", "every-kind", "http-session", "includes-and-vars"]);
}

/// A file over the size limit is refused before parsing, with a hint; the
/// file is generated here rather than committed.
#[test]
fn too_large_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("checkpoints");
    std::fs::create_dir(&dir).unwrap();
    let mut text = String::from("checkpoint: 1\ntitle: Big\ngates: []\n");
    let filler = format!("# {}\n", "x".repeat(1000));
    while (text.len() as u64) <= checkpoint_model::load::MAX_FILE_BYTES {
        text.push_str(&filler);
    }
    std::fs::write(dir.join("1.yaml"), &text).unwrap();
    let rendered = render_invalid(tmp.path());
    let rendered = rendered.replace(&text.len().to_string(), "<size>");
    insta::assert_snapshot!("too-large-file", rendered);
}

/// No checkpoints directory at all: nothing to point into, but a hint.
#[test]
fn missing_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let rendered = render_invalid(tmp.path());
    assert!(rendered.contains("help: "), "{rendered}");
    let rendered = rendered.replace(&tmp.path().display().to_string(), "<tmp>");
    let rendered = rendered.lines().map(|l| l.split(" (os error").next().unwrap_or(l)).collect::<Vec<_>>().join("\n");
    insta::assert_snapshot!("missing-directory", rendered);
}

/// Problems in several files are all reported in one pass, each under its file.
#[test]
fn all_files_are_reported_in_one_pass() {
    let rendered = render_invalid(&fixtures().join("invalid/several-broken-files"));
    for f in ["checkpoints/1.yaml:", "checkpoints/2.yaml:", "checkpoints/3.yaml:"] {
        assert!(rendered.contains(f), "{f} missing in:\n{rendered}");
    }
    assert!(rendered.contains("3 problems found"), "{rendered}");
}

/// The alias bomb is refused quickly, by the parser's budget.
#[test]
fn alias_bomb_is_refused_quickly() {
    let started = std::time::Instant::now();
    let rendered = render_invalid(&fixtures().join("invalid/alias-bomb"));
    assert!(rendered.contains("too much data"), "{rendered}");
    assert!(started.elapsed() < Duration::from_secs(20), "took {:?}", started.elapsed());
}
