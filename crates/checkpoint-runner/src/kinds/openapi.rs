//! `openapi`: call every selected operation of a contract and validate each
//! response against it — the status is declared, the content type is one the
//! response declares, the JSON body is valid against its schema. Each
//! operation is a case of its own (one JUnit testcase); a failing case names
//! the operation, the JSON pointer in the body and the schema rule broken.
//!
//! Requests come from `params`/`requests` in the check, else the contract's
//! examples, else minimal schema-valid values ([`checkpoint_contract::sample`]).
//! Operations are called one after another in the contract's order (per
//! path: reads, then writes, deletes last), so a `DELETE` does not race the
//! `GET` of the same resource.
//!
//! Fields: `operations` (how many were called), `violations` (how many broke
//! the contract; default expectation `0`), `duration`. The document lists
//! every operation with its status and problems, for `json:` expectations.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_contract::Contract;
use checkpoint_contract::ops::{Operation, Selection};
use checkpoint_contract::sample::{self, Body, Inputs, NoRequest};
use checkpoint_contract::validate::Validator;
use checkpoint_model::kinds::{OpenapiSpec, UNDECLARED_STATUS};
use checkpoint_model::logged;
use checkpoint_model::matcher::Matcher;
use checkpoint_model::result::{CaseResult, Status};
use serde_json::{Map, Value, json};

use crate::contract_source::{self, SourceError};
use crate::cookies::{self, Jar};
use crate::kinds::http::{Client, describe_reqwest_error};
use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

/// Largest response body read per operation.
const MAX_BODY: u64 = checkpoint_model::size::DEFAULT_MAX_BODY;
const EVIDENCE_BODY: usize = 2048;

pub struct Openapi;

#[async_trait]
impl CheckKind for Openapi {
    type Spec = OpenapiSpec;

    async fn observe(&self, spec: &OpenapiSpec, ctx: &Ctx, _timeout: Duration) -> Result<Observation, ObserveError> {
        let started = Instant::now();
        let contract = load(spec, ctx).await?;
        let base = base_url(spec, &contract)?;
        let selection = Selection {
            tags: spec.tags.clone(),
            operations: spec.operations.clone(),
            paths: spec.paths.clone(),
            methods: spec.methods.clone(),
            exclude: spec.exclude.clone(),
        };
        let all = contract.operations();
        let unknown = selection.unmatched(&all);
        if !unknown.is_empty() {
            return Err(ObserveError::Errored(format!(
                "{} {} not in the contract {}{}",
                unknown.join(", "),
                if unknown.len() == 1 { "is" } else { "are" },
                contract.source,
                closest(&unknown, &all)
            )));
        }
        for key in spec.requests.keys() {
            if !all.iter().any(|o| o.is_named(key)) {
                return Err(ObserveError::Errored(format!(
                    "`requests: {key}` names no operation of the contract {}{}",
                    contract.source,
                    closest(&[format!("operationId `{key}`")], &all)
                )));
            }
        }
        let ops: Vec<&Operation<'_>> = all.iter().filter(|o| selection.matches(o)).collect();
        if ops.is_empty() {
            return Err(ObserveError::Errored(format!(
                "the selection matches none of the {} operations of {}",
                all.len(),
                contract.source
            )));
        }
        let mut validator = Validator::new(&contract).map_err(ObserveError::Errored)?;
        let client = ctx.http.get(false, false).map_err(ObserveError::Errored)?;
        // The gate's jar as it is now; the client keeps nothing the responses set.
        let jar = ctx.gate_jar(spec.cookies);
        let sent_cookies = sent_cookie_names(spec, jar, &base);
        let mut cases = Vec::new();
        let mut server_failures = Vec::new();
        let since = std::time::SystemTime::now();
        let mut listing = Vec::new();
        let mut summary = String::new();
        for op in ops {
            if ctx.cancel.is_cancelled() {
                break;
            }
            let sent = Sent { jar, names: &sent_cookies };
            let (case, entry, failed_server) = call(spec, &contract, op, &base, &client, sent, &mut validator).await;
            if let Some(request) = failed_server {
                server_failures.push((cases.len(), request));
            }
            let mark = if case.status == Status::Passed { "✓" } else { "✗" };
            let _ = writeln!(
                summary,
                "{mark} {}{}",
                case.name,
                case.message.as_deref().map(|m| format!(" — {m}")).unwrap_or_default()
            );
            listing.push(entry);
            cases.push(case);
        }
        quote_server_logs(ctx, since, &server_failures, &mut cases, &mut summary).await;
        let failed: Vec<&CaseResult> = cases.iter().filter(|c| c.status != Status::Passed).collect();
        let mut obs = Observation {
            document: Some(json!({ "spec": contract.source, "base_url": base, "operations": listing })),
            evidence: format!(
                "{} operations of {} called at {base}, {} broke the contract:\n{summary}",
                cases.len(),
                contract.source,
                failed.len()
            ),
            ..Observation::default()
        }
        .field("operations", cases.len())
        .field("violations", failed.len())
        .duration(started.elapsed());
        obs.defaults.push(("violations", Matcher::equals(Value::from(0))));
        if let Some(first) = failed.first() {
            // Not a second "(and N more)" after the operation's own.
            let more = match failed.len() {
                1 => String::new(),
                2 => "; 1 more operation broke it".to_string(),
                n => format!("; {} more operations broke it", n - 1),
            };
            obs.notes.insert(
                "violations".into(),
                Value::from(format!("{}: {}{more}", first.name, first.message.clone().unwrap_or_default())),
            );
        }
        obs.cases = cases;
        Ok(obs)
    }
}

/// The contract from a file under the project root or a URL (fetched with
/// the check's `headers`), with every document its `$ref`s name. A URL that
/// does not serve a readable contract is the service's failure; a file that
/// cannot be read or parsed is the definition's.
async fn load(spec: &OpenapiSpec, ctx: &Ctx) -> Result<Contract, ObserveError> {
    let client = ctx.http.get(true, false).map_err(ObserveError::Errored)?;
    let served = spec.spec.starts_with("http://") || spec.spec.starts_with("https://");
    let fetch = contract_source::Fetch { client: &client, headers: &spec.headers, jar: ctx.gate_jar(spec.cookies) };
    contract_source::load(&spec.spec, &ctx.root, fetch).await.map_err(|e| {
        let message = format!("the contract cannot be loaded: {e}");
        match e {
            SourceError::Unreachable(_) | SourceError::Invalid(_) if served => {
                ObserveError::failed(message.clone(), format!("{message}\n({})", e.hint()))
            }
            _ => ObserveError::Errored(message),
        }
    })
}

/// `base_url:`, else the contract's first absolute server URL.
fn base_url(spec: &OpenapiSpec, c: &Contract) -> Result<String, ObserveError> {
    if let Some(b) = &spec.base_url {
        return Ok(b.trim_end_matches('/').to_string());
    }
    let servers = c.doc.get("servers").and_then(Value::as_array);
    servers
        .into_iter()
        .flatten()
        .filter_map(|s| s.get("url").and_then(Value::as_str))
        .find(|u| u.starts_with("http://") || u.starts_with("https://"))
        .map(|u| u.trim_end_matches('/').to_string())
        .ok_or_else(|| {
            ObserveError::Errored(format!(
                "{} names no absolute server URL; say where the API answers with `base_url: \"${{API}}\"`",
                c.source
            ))
        })
}

/// "; did you mean `getItem`?" for a misspelt operationId or tag.
fn closest(unknown: &[String], ops: &[Operation<'_>]) -> String {
    let ids: Vec<&str> = ops.iter().filter_map(|o| o.operation_id.as_deref()).collect();
    let tags: Vec<&str> = ops.iter().flat_map(|o| o.tags.iter().map(String::as_str)).collect();
    for u in unknown {
        let name = u.split('`').nth(1).unwrap_or(u);
        let pool = if u.starts_with("tag") { &tags } else { &ids };
        if let Some(best) = pool
            .iter()
            .map(|c| (strsim::jaro_winkler(name, c), *c))
            .filter(|(s, _)| *s > 0.8)
            .max_by(|a, b| a.0.total_cmp(&b.0))
        {
            return format!("; did you mean `{}`?", best.1);
        }
    }
    if ids.is_empty() { String::new() } else { format!(" (operationIds: {})", ids.join(", ")) }
}

/// A 5xx hides its cause in the service's log: each operation that failed
/// with one gets the traceback the log ties to its request (any service of
/// the stack: the app may be behind a proxy), appended to its one line.
async fn quote_server_logs(
    ctx: &Ctx,
    since: std::time::SystemTime,
    failures: &[(usize, logged::Request)],
    cases: &mut [CaseResult],
    summary: &mut String,
) {
    let requests: Vec<&logged::Request> = failures.iter().map(|(_, r)| r).collect();
    let found = crate::server_log::tied(ctx.target.as_ref(), since, &requests, None, true).await;
    for ((i, _), found) in failures.iter().zip(found) {
        let (Some((service, said)), Some(case)) = (found, cases.get_mut(*i)) else { continue };
        let note = logged::note(&service, &said.quote);
        let line = case.message.as_deref().map_or_else(|| note.clone(), |m| format!("{m} — {note}"));
        // The summary in the check's evidence says the same.
        if let Some(m) = &case.message {
            *summary = summary.replace(&format!("✗ {} — {m}\n", case.name), &format!("✗ {} — {line}\n", case.name));
        }
        case.message = Some(line);
    }
}

/// Calls one operation and judges its response; with a 5xx that broke the
/// contract, the request sent (its traceback is looked for in the logs).
async fn call(
    spec: &OpenapiSpec,
    c: &Contract,
    op: &Operation<'_>,
    base: &str,
    client: &Client,
    sent: Sent<'_>,
    validator: &mut Validator,
) -> (CaseResult, Value, Option<logged::Request>) {
    let started = Instant::now();
    let own = spec.requests.iter().find(|(k, _)| op.is_named(k)).map(|(_, r)| r);
    let mut params: Map<String, Value> = spec.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let mut bodies = Map::new();
    if let Some(r) = own {
        params.extend(r.params.iter().map(|(k, v)| (k.clone(), v.clone())));
        if let Some(b) = &r.body {
            bodies.insert(op.operation_id.clone().unwrap_or_else(|| format!("{} {}", op.method, op.path)), b.clone());
        }
    }
    let auth = spec.auth.clone().unwrap_or_default();
    let auth = sample::Auth {
        bearer: auth.bearer,
        basic: auth.basic,
        api_key: auth.api_key,
        sent_cookies: sent.names.to_vec(),
    };
    let inputs = Inputs { params, bodies, auth };
    let label = op.label();
    let done = |status: Status, message: Option<String>, evidence: String, entry: Value| {
        (
            CaseResult { name: label.clone(), status, message, evidence: Some(evidence), duration_ms: ms(started) },
            entry,
            None,
        )
    };
    let req = match sample::request(c, op, &inputs) {
        Ok(r) => r,
        Err(NoRequest::NoCredentials(schemes)) => {
            let m = format!("needs credentials for {schemes}: give them with `auth:` (or `exclude:` the operation)");
            return done(Status::Failed, Some(m.clone()), m, json!({"operation": label, "passed": false}));
        }
    };
    let url = format!("{base}{}", req.path);
    let mut url = match reqwest::Url::parse(&url) {
        Ok(u) => u,
        Err(e) => {
            let m = format!("`{url}` is not a valid URL: {e}");
            return done(Status::Errored, Some(m.clone()), m, json!({"operation": label, "passed": false}));
        }
    };
    if !req.query.is_empty() {
        url.query_pairs_mut().extend_pairs(req.query.iter());
    }
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let asked = logged::Request::new(method.as_str(), url.as_str());
    let mut evidence = format!("{method} {url}\n");
    let mut builder = client.request(method, url.clone());
    // One `Cookie` header (RFC 6265 allows no second): the check's own
    // `Cookie` header wins, then the request's (a cookie parameter, an
    // `apiKey` in a cookie), then the gate's.
    let is_cookie = |k: &str| k.eq_ignore_ascii_case("cookie");
    let user = spec.headers.iter().find(|(k, _)| is_cookie(k)).map(|(_, v)| v.clone());
    let request = req.headers.iter().find(|(k, _)| is_cookie(k)).map(|(_, v)| v.clone());
    let gate = sent.jar.filter(|_| user.is_none()).and_then(|j| j.header_for(&url));
    let cookie = cookies::merge([user, request, gate].iter().flatten().map(String::as_str));
    let headers = spec.headers.iter().chain(req.headers.iter().map(|(k, v)| (k, v))).filter(|(k, _)| !is_cookie(k));
    let headers = headers.map(|(k, v)| (k.as_str(), v.as_str()));
    for (k, v) in headers.chain(cookie.as_deref().map(|c| ("cookie", c))) {
        builder = builder.header(k, v);
        let _ = writeln!(evidence, "{k}: {v}");
    }
    match &req.body {
        Some((media, Body::Json(v))) => {
            builder = builder.header("content-type", media.as_str()).body(v.to_string());
            let _ = write!(evidence, "\n{}\n", excerpt(&serde_json::to_string_pretty(v).unwrap_or_default(), 2048));
        }
        Some((media, Body::Text(t))) => {
            builder = builder.header("content-type", media.as_str()).body(t.clone());
            let _ = write!(evidence, "\n{}\n", excerpt(t, 2048));
        }
        None => {}
    }
    if !req.notes.is_empty() {
        let _ = writeln!(evidence, "(values: {})", req.notes.join("; "));
    }
    let (sent, retried) = client.send(builder).await;
    let retried = retried.map(|n| format!("\n{n}")).unwrap_or_default();
    let resp = match sent {
        Ok(r) => r,
        Err(e) => {
            let why = describe_reqwest_error(&e);
            let _ = write!(evidence, "\n→ no response: {why}{retried}");
            return done(
                Status::Failed,
                Some(format!("no response: {why}")),
                evidence,
                json!({"operation": label, "passed": false}),
            );
        }
    };
    let status = resp.status().as_u16();
    let content_type = resp.headers().get("content-type").and_then(|v| v.to_str().ok()).map(str::to_string);
    // What `server_said` reads: the content type, and where a redirect leads.
    let mut said_headers = Map::new();
    for name in ["content-type", "location"] {
        if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
            said_headers.insert(name.into(), Value::from(v));
        }
    }
    let declared = resp.content_length();
    let (body, over) = super::http::read_body(resp, MAX_BODY).await.unwrap_or_default();
    if over {
        // Validating the part read would judge a body the service never sent.
        let size = declared.map_or_else(
            || format!("more than {}", checkpoint_model::size::human(MAX_BODY)),
            checkpoint_model::size::human,
        );
        let why = format!(
            "{status}: the body ({size}) is larger than {}: not validated",
            checkpoint_model::size::human(MAX_BODY)
        );
        let _ = writeln!(evidence, "\n→ {status}\n({why})");
        let entry = json!({ "operation": label, "status": status, "passed": false, "problems": [why.clone()] });
        return done(Status::Errored, Some(why), evidence, entry);
    }
    let text = String::from_utf8_lossy(&body);
    let _ = writeln!(
        evidence,
        "\n→ {status} ({}){}{retried}",
        checkpoint_model::duration::human(ms(started)),
        content_type.as_deref().map(|t| format!(" content-type: {t}")).unwrap_or_default()
    );
    if !text.is_empty() {
        let shown = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| text.to_string());
        let _ = writeln!(evidence, "{}", excerpt(&shown, EVIDENCE_BODY));
    }
    let outcome = validator.response(op, status, content_type.as_deref(), &body);
    let mut problems: Vec<String> = Vec::new();
    if let Some(want) = own.and_then(|r| r.status)
        && want != status
    {
        problems.push(format!("status: expected {want}, got {status}"));
    }
    // An accepted status says why it came (`CSRF Failed: CSRF cookie not set.`):
    // an operation that was refused was not validated.
    let accepted = accepted_undeclared(spec, status, &outcome).map(|note| {
        let document = serde_json::from_slice::<Value>(&body).ok();
        match super::server_said::note(status, &said_headers, document.as_ref(), &text) {
            Some(said) => format!("{note} — {said}"),
            None => note,
        }
    });
    problems.extend(outcome.problems.iter().filter(|_| accepted.is_none()).map(ToString::to_string));
    if let Some(note) = &accepted {
        let _ = writeln!(evidence, "\ncontract: {note}; the body is not validated");
    }
    if let Some(k) = &outcome.matched {
        let _ = writeln!(
            evidence,
            "\ncontract: responses.{k}{}",
            outcome.media_type.as_deref().map(|m| format!(" → {m}")).unwrap_or_default()
        );
    }
    let entry = json!({ "operation": label, "status": status, "passed": problems.is_empty(), "problems": problems });
    if problems.is_empty() {
        return done(Status::Passed, accepted, evidence, entry);
    }
    let _ = writeln!(evidence, "problems:\n- {}", problems.join("\n- "));
    let more = match problems.len() {
        1 => String::new(),
        2 => " (and 1 more problem)".to_string(),
        n => format!(" (and {} more problems)", n - 1),
    };
    let (case, entry, _) = done(Status::Failed, Some(format!("{status}: {}{more}", problems[0])), evidence, entry);
    (case, entry, (status >= 500).then_some(asked))
}

/// The cookies every request of the check carries: the gate's (`cookies:
/// true`), unless the check's `headers` hold a `Cookie` of their own.
#[derive(Clone, Copy)]
struct Sent<'a> {
    jar: Option<&'a Jar>,
    /// Their names, for the `apiKey` schemes they satisfy.
    names: &'a [String],
}

/// The names of the cookies sent with every request: the check's `Cookie`
/// header's, else the gate's for the base URL when `cookies: true`.
fn sent_cookie_names(spec: &OpenapiSpec, jar: Option<&Jar>, base: &str) -> Vec<String> {
    let header = spec.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case("cookie")).map(|(_, v)| v.clone());
    let header = header.or_else(|| jar?.header_for(&reqwest::Url::parse(&format!("{base}/")).ok()?));
    header.as_deref().map(cookies::names).unwrap_or_default()
}

/// `undeclared 401, accepted (undeclared_status: client-errors)` when the
/// status is not declared and the check's policy accepts it: `client-errors`
/// (the default) an undeclared 4xx — frameworks such as FastAPI declare no
/// 401/403/404 —, `any` everything below 500, `strict` nothing.
fn accepted_undeclared(
    spec: &OpenapiSpec,
    status: u16,
    outcome: &checkpoint_contract::validate::Outcome,
) -> Option<String> {
    let undeclared = outcome.matched.is_none() && outcome.problems.iter().any(|p| p.rule == "status");
    let policy = spec.undeclared_status.as_deref().unwrap_or(UNDECLARED_STATUS[0]);
    let accepts = match policy {
        "strict" => false,
        "any" => status < 500,
        _ => (400..500).contains(&status),
    };
    (undeclared && accepts).then(|| format!("undeclared {status}, accepted (undeclared_status: {policy})"))
}

fn ms(since: Instant) -> f64 {
    checkpoint_model::duration::millis(since.elapsed())
}
