//! `http`: one request; status, headers, cookies it set, body (text and
//! JSON), duration. A body is `json`, `body` or a `form`; the gate's cookie
//! jar is sent and filled unless `cookies: false`.
//!
//! Also the run's HTTP clients ([`Clients`], [`Client`]) that every kind
//! sending requests uses: pooled keep-alive connections, and one resend on a
//! fresh connection when a reused one turns out closed ([`Client::send`]).

use std::cell::RefCell;
use std::fmt::Write as _;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::HttpSpec;
use checkpoint_model::matcher::Matcher;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpInfo};
use serde_json::{Map, Value};

use crate::cookies::{self, Jar};
use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

const EVIDENCE_BODY: usize = 4096;

/// HTTP clients shared by the run (connection reuse), one per redirect/TLS
/// policy. A gate's view of them ([`Clients::with_jar`]) sends the gate's
/// cookies and keeps what responses set, over the same pooled connections:
/// the jar goes with each request ([`Client::send`]), not with the client, so
/// a hundred gates do not open a hundred pools.
#[derive(Default)]
pub struct Clients {
    jar: Option<Arc<Jar>>,
    shared: Arc<[OnceLock<Result<Client, String>>; 4]>,
}

impl Clients {
    /// The same clients, sending the cookies in `jar` and keeping what
    /// responses set.
    #[must_use]
    pub fn with_jar(&self, jar: Arc<Jar>) -> Self {
        Self { jar: Some(jar), shared: self.shared.clone() }
    }

    /// The cookie jar these clients use, if any.
    pub fn jar(&self) -> Option<&Arc<Jar>> {
        self.jar.as_ref()
    }

    pub fn get(&self, follow: bool, insecure: bool) -> Result<Client, String> {
        let i = usize::from(follow) * 2 + usize::from(insecure);
        let client = self.shared[i].get_or_init(|| {
            let policy = Policy { follow, insecure };
            Ok(Client { pooled: policy.build(true)?, fresh: Arc::default(), policy, jar: None })
        });
        client.as_ref().map(|c| Client { jar: self.jar.clone(), ..c.clone() }).map_err(Clone::clone)
    }
}

/// How a client treats redirects and certificates.
#[derive(Clone, Copy)]
struct Policy {
    follow: bool,
    insecure: bool,
}

impl Policy {
    fn build(self, pooled: bool) -> Result<reqwest::Client, String> {
        let mut b = reqwest::Client::builder()
            .redirect(if self.follow {
                reqwest::redirect::Policy::limited(10)
            } else {
                reqwest::redirect::Policy::none()
            })
            .tls_danger_accept_invalid_certs(self.insecure)
            .user_agent(concat!("checkpoint/", env!("CARGO_PKG_VERSION")))
            .pool_max_idle_per_host(if pooled { 64 } else { 0 })
            .connector_layer(ConnectsLayer)
            .cookie_provider(Arc::new(SentWith));
        if !self.insecure {
            // The platform's roots, read on the first TLS handshake only
            // (`insecure` verifies nothing and reads nothing).
            b = b.tls_backend_preconfigured(crate::tls::client_config()?);
        }
        b.build().map_err(|e| format!("cannot build the HTTP client: {e}"))
    }
}

tokio::task_local! {
    /// The cookie jar of the request [`Client::send`] has in flight in this task.
    static JAR: Option<Arc<Jar>>;
}

/// The cookie store of every client: the jar the request in flight was sent
/// with ([`JAR`]), or none. reqwest reads and fills it while the request's
/// future is polled — redirects included — which is inside that scope.
struct SentWith;

impl reqwest::cookie::CookieStore for SentWith {
    fn set_cookies(&self, headers: &mut dyn Iterator<Item = &reqwest::header::HeaderValue>, url: &reqwest::Url) {
        let _ = JAR.try_with(|j| {
            if let Some(j) = j {
                j.set_cookies(headers, url);
            }
        });
    }

    fn cookies(&self, url: &reqwest::Url) -> Option<reqwest::header::HeaderValue> {
        JAR.try_with(|j| j.as_ref().and_then(|j| j.cookies(url))).ok().flatten()
    }
}

/// A client of the run: requests go over pooled keep-alive connections; one
/// that a server had closed is sent again, once, on a fresh connection.
#[derive(Clone)]
pub struct Client {
    pooled: reqwest::Client,
    /// Built on first need: a client that keeps no connection.
    fresh: Arc<OnceLock<Result<reqwest::Client, String>>>,
    policy: Policy,
    /// Sent and filled by this client's requests.
    jar: Option<Arc<Jar>>,
}

/// The note a resent request carries in its evidence.
pub const RETRIED_NOTE: &str = "(retried once on a fresh connection: the pooled connection was closed by the server)";

impl Client {
    /// Starts a request; send it with [`Client::send`].
    pub fn request(&self, method: reqwest::Method, url: reqwest::Url) -> reqwest::RequestBuilder {
        self.pooled.request(method, url)
    }

    pub fn get(&self, url: reqwest::Url) -> reqwest::RequestBuilder {
        self.pooled.get(url)
    }

    /// The pooled client itself, for callers that time connections on their own (`latency`).
    pub fn pooled(&self) -> &reqwest::Client {
        &self.pooled
    }

    /// Sends a request built with [`Client::request`]. When it went over a
    /// *reused* connection and failed before any response arrived (the server
    /// had closed the idle connection: closed, reset, incomplete message), it
    /// is sent once more on a fresh connection and the note says so (also when
    /// that one fails). A request that failed on a fresh connection is not
    /// resent: that failure is the server's answer.
    ///
    /// Resending is safe for every method, as curl and browsers do it: a
    /// keep-alive connection the server closed while idle carried the request
    /// into a socket nobody reads, so the server never received it. The rare
    /// server that reads a request on a reused connection, acts on it and then
    /// dies without a byte of response cannot be told apart; such a server
    /// fails the resent request too, or shows the duplicate in later checks.
    pub async fn send(
        &self,
        req: reqwest::RequestBuilder,
    ) -> (Result<reqwest::Response, reqwest::Error>, Option<String>) {
        let req = match req.build() {
            Ok(r) => r,
            Err(e) => return (Err(e), None),
        };
        let again = req.try_clone();
        let pooled = self.pooled.clone();
        let (first, opened) = JAR
            .scope(
                self.jar.clone(),
                OPENED.scope(RefCell::default(), async move {
                    let r = pooled.execute(req).await;
                    (r, OPENED.with(RefCell::take))
                }),
            )
            .await;
        let e = match first {
            Ok(r) => return (Ok(r), None),
            Err(e) => e,
        };
        let Some(again) = again.filter(|_| !opened.carried(&e) && closed_before_response(&e)) else {
            return (Err(e), None);
        };
        let fresh = match self.fresh.get_or_init(|| self.policy.build(false)) {
            Ok(c) => c.clone(),
            Err(_) => return (Err(e), None),
        };
        // In an async block: reqwest reads the jar as `execute` is called.
        let resent = JAR.scope(self.jar.clone(), async move { fresh.execute(again).await }).await;
        (resent, Some(RETRIED_NOTE.to_string()))
    }
}

tokio::task_local! {
    /// The connections opened while a request of [`Client::send`] was in flight in this task.
    static OPENED: RefCell<Opened>;
}

/// The connections a request opened, by their local address (its port tells
/// one loopback connection from another).
#[derive(Default)]
struct Opened {
    count: u32,
    local: Vec<std::net::SocketAddr>,
}

impl Opened {
    /// Whether the failed request went over a connection it opened itself.
    ///
    /// hyper races a new connection against an idle one coming back to the
    /// pool and, when the idle one wins — also after the new one is up and
    /// waiting for its first request — sends the request over the idle one
    /// and parks the new one in the pool. So "a connection was opened" does
    /// not mean "the request went over it": the error names the connection
    /// it happened on, and that decides. Only when it names none (no address
    /// known), any connection opened counts as the request's.
    fn carried(&self, e: &reqwest::Error) -> bool {
        match failed_on(e) {
            Some(local) => self.local.contains(&local),
            None => self.count > 0,
        }
    }
}

/// The local address of the connection a request failed on, as hyper's
/// client error records it.
fn failed_on(e: &reqwest::Error) -> Option<std::net::SocketAddr> {
    causes(e)
        .find_map(|c| c.downcast_ref::<hyper_util::client::legacy::Error>().and_then(|h| h.connect_info()))
        .and_then(local_address)
}

/// The errors beneath `e`, outermost first.
pub(crate) fn causes<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> impl Iterator<Item = &'a (dyn std::error::Error + 'static)> {
    std::iter::successors(std::error::Error::source(e), |c| c.source())
}

fn local_address(info: &Connected) -> Option<std::net::SocketAddr> {
    let mut extensions = hyper::http::Extensions::new();
    info.get_extras(&mut extensions);
    extensions.get::<HttpInfo>().map(HttpInfo::local_addr)
}

/// Records, in [`OPENED`], the connections a request opens. hyper's pool
/// calls the connector in the task that sends the request only when it has
/// no idle connection to hand out.
#[derive(Clone, Copy)]
struct ConnectsLayer;

impl<S> tower::Layer<S> for ConnectsLayer {
    type Service = Connects<S>;
    fn layer(&self, inner: S) -> Connects<S> {
        Connects(inner)
    }
}

#[derive(Clone)]
struct Connects<S>(S);

impl<S, R> tower::Service<R> for Connects<S>
where
    S: tower::Service<R>,
    S::Response: Connection,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send>>;
    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), S::Error>> {
        self.0.poll_ready(cx)
    }
    fn call(&mut self, req: R) -> Self::Future {
        let connecting = self.0.call(req);
        // Recorded when the connection is made *in the request's task*: a
        // connect that hyper moved to a background task (an idle connection
        // won the race first) finishes where this task-local does not exist.
        Box::pin(async move {
            let r = connecting.await;
            if let Ok(conn) = &r {
                let local = local_address(&conn.connected());
                let _ = OPENED.try_with(|o| {
                    let mut o = o.borrow_mut();
                    o.count += 1;
                    o.local.extend(local);
                });
            }
            r
        })
    }
}

/// The error of a request that got no response because its connection was
/// closed under it: an incomplete message, a reset, a broken pipe — not a
/// refused connection, a timeout or a TLS failure.
fn closed_before_response(e: &reqwest::Error) -> bool {
    if e.is_timeout() || e.is_connect() || e.is_builder() || e.is_redirect() || e.is_body() || e.is_decode() {
        return false;
    }
    causes(e).any(|c| {
        c.downcast_ref::<hyper::Error>().is_some_and(|h| h.is_incomplete_message() || h.is_canceled() || h.is_closed())
            || c.downcast_ref::<std::io::Error>().is_some_and(|io| {
                matches!(
                    io.kind(),
                    std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::BrokenPipe
                        | std::io::ErrorKind::UnexpectedEof
                )
            })
    })
}

pub struct Http;

#[async_trait]
impl CheckKind for Http {
    type Spec = HttpSpec;

    /// A 2xx. A redirect is not a pass unless the check says so (`status: 302`
    /// or `follow_redirects: true`): Django's `@login_required` answers a
    /// session-less request with a 302 to the login page, and a missing
    /// trailing slash with a 301 — the view the check names never ran.
    fn default_expectations(&self) -> Vec<(&'static str, Matcher)> {
        vec![("status", Matcher { ops: vec![checkpoint_model::matcher::Op::Lt(Value::from(300))] })]
    }

    async fn observe(&self, spec: &HttpSpec, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let method_name = spec.method.as_deref().unwrap_or("GET").to_uppercase();
        let method = reqwest::Method::from_bytes(method_name.as_bytes())
            .map_err(|_| ObserveError::Errored(format!("`{method_name}` is not an HTTP method")))?;
        let url = reqwest::Url::parse(&spec.url)
            .map_err(|e| ObserveError::Errored(format!("`{}` is not a valid URL: {e}", spec.url)))?;
        let clients = if spec.cookies { &ctx.gate_http } else { &ctx.http };
        let client = clients.get(spec.follow_redirects, spec.insecure).map_err(ObserveError::Errored)?;
        let _ = timeout; // the engine bounds every attempt
        let mut req = client.request(method.clone(), url.clone());
        let mut request_text = format!("{method} {url}\n");
        for (k, v) in &spec.headers {
            req = req.header(k.as_str(), v.as_str());
            let _ = writeln!(request_text, "{k}: {v}");
        }
        if !spec.headers.keys().any(|k| k.eq_ignore_ascii_case("cookie"))
            && let Some(sent) = clients.jar().and_then(|j| j.header_for(&url))
        {
            let _ = writeln!(request_text, "cookie: {sent}");
        }
        if let Some(j) = &spec.json {
            req = req.json(j);
            let _ = write!(request_text, "\n{}\n", excerpt(&serde_json::to_string_pretty(j).unwrap_or_default(), 2048));
        } else if let Some(b) = &spec.body {
            req = req.body(b.clone());
            let _ = write!(request_text, "\n{}\n", excerpt(b, 2048));
        } else if let Some(form) = &spec.form {
            if !spec.headers.keys().any(|k| k.eq_ignore_ascii_case("content-type")) {
                req = req.header(reqwest::header::CONTENT_TYPE, FORM);
            }
            req = req.body(form_body(form));
            // As JSON, so the redactor masks `password` and `*token*` fields like in a JSON body.
            let shown = serde_json::to_string_pretty(form).unwrap_or_default();
            let _ = write!(request_text, "\n(form, {FORM})\n{}\n", excerpt(&shown, 2048));
        }
        let started = Instant::now();
        let (sent, retried) = client.send(req).await;
        let retried_line = retried.map(|n| format!("\n{n}")).unwrap_or_default();
        let resp = sent.map_err(|e| {
            let why = describe_reqwest_error(&e);
            ObserveError::failed(
                format!("{method} {url}: {why}"),
                format!("{request_text}\n→ no response: {why}{retried_line}"),
            )
        })?;
        let status = resp.status();
        let final_url = resp.url().clone();
        let set_cookies = cookies::set_cookie_lines(resp.headers());
        let cookie_field = cookies::set_by(resp.headers(), &final_url);
        let mut headers = Map::new();
        for (k, v) in resp.headers() {
            let v = String::from_utf8_lossy(v.as_bytes()).into_owned();
            match headers.get_mut(k.as_str()) {
                Some(Value::String(prev)) => {
                    prev.push_str(", ");
                    prev.push_str(&v);
                }
                _ => {
                    headers.insert(k.as_str().to_string(), Value::String(v));
                }
            }
        }
        let limit = spec
            .max_body
            .as_deref()
            .and_then(checkpoint_model::size::parse)
            .unwrap_or(checkpoint_model::size::DEFAULT_MAX_BODY);
        let declared = resp.content_length();
        let (bytes, over) = read_body(resp, limit).await.map_err(|e| {
            ObserveError::failed(format!("{method} {url}: reading the body failed: {e}"), request_text.clone())
        })?;
        let elapsed = started.elapsed();
        // A body past the limit is never judged on what was read of it.
        let too_large = over.then(|| {
            use checkpoint_model::size::human;
            let size = match declared {
                Some(n) => format!("{} (Content-Length)", human(n)),
                None => format!("more than {}", human(limit)),
            };
            format!(
                "the body is larger than max_body ({}): {size}; raise `max_body:` on this check to judge it",
                human(limit)
            )
        });
        let text = if too_large.is_some() { String::new() } else { String::from_utf8_lossy(&bytes).into_owned() };
        let document = if too_large.is_some() { None } else { serde_json::from_slice::<Value>(&bytes).ok() };
        let mut evidence = request_text;
        let _ = writeln!(
            evidence,
            "\n→ {} {} ({}){retried_line}",
            status.as_u16(),
            status.canonical_reason().unwrap_or(""),
            checkpoint_model::duration::human(checkpoint_model::duration::millis(elapsed))
        );
        for (k, v) in &headers {
            if k == "set-cookie" {
                continue;
            }
            if let Value::String(v) = v {
                let _ = writeln!(evidence, "{k}: {v}");
            }
        }
        // One line per cookie: `Expires` dates hold commas, a joined header would be ambiguous.
        for line in &set_cookies {
            let _ = writeln!(evidence, "set-cookie: {line}");
        }
        if !set_cookies.is_empty() && !spec.cookies {
            evidence.push_str("(not kept: `cookies: false`)\n");
        }
        if let Some(why) = &too_large {
            let _ = write!(
                evidence,
                "\n({why}; the first {} read:)\n{}",
                checkpoint_model::size::human(EVIDENCE_BODY as u64),
                excerpt(&String::from_utf8_lossy(&bytes[..bytes.len().min(EVIDENCE_BODY)]), EVIDENCE_BODY)
            );
        } else if !text.is_empty() {
            let shown = match &document {
                Some(d) => serde_json::to_string_pretty(d).unwrap_or_else(|_| text.clone()),
                None => text.clone(),
            };
            let _ = write!(evidence, "\n{}", excerpt(&shown, EVIDENCE_BODY));
            if document.is_none() {
                evidence.push_str("\n(body is not JSON)");
            }
        }
        let mut notes = Map::new();
        if let Some(why) = too_large {
            notes.insert("json".into(), Value::String(why.clone()));
            notes.insert("body".into(), Value::String(why));
        }
        if let Some(said) = super::server_said::note(status.as_u16(), &headers, document.as_ref(), &text) {
            notes.insert("status".into(), Value::String(said));
        }
        let server_failed = status.is_server_error();
        let obs = Observation { document, evidence, notes, server_failed, ..Observation::default() }
            .field("status", status.as_u16())
            .field("headers", Value::Object(headers))
            .field("cookies", Value::Object(cookie_field))
            .duration(elapsed);
        Ok(if over { obs } else { obs.field("body", text) })
    }
}

const FORM: &str = "application/x-www-form-urlencoded";

/// `a=1&b=x+y`: names and values percent-encoded as HTML forms do, in order;
/// numbers and booleans as written, `null` as nothing.
pub fn form_body(form: &indexmap::IndexMap<String, Value>) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in form {
        let text = match v {
            Value::String(s) => s.clone(),
            Value::Null => String::new(),
            other => other.to_string(),
        };
        out.append_pair(k, &text);
    }
    out.finish()
}

/// The body, up to `limit` bytes; `true` when there was more (the rest is
/// not read: an endless body ends here). Every kind that reads a response
/// through the run's client uses it, so none judges a cut body.
pub async fn read_body(mut resp: reqwest::Response, limit: u64) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut out = Vec::new();
    while let Some(chunk) = resp.chunk().await? {
        let room = limit.saturating_sub(out.len());
        if chunk.len() > room {
            out.extend_from_slice(&chunk[..room]);
            return Ok((out, true));
        }
        out.extend_from_slice(&chunk);
    }
    Ok((out, false))
}

/// "connection refused", "timed out", "dns error: …": the useful innermost cause.
pub fn describe_reqwest_error(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        return "timed out waiting for a response".into();
    }
    let mut cause: &dyn std::error::Error = e;
    let mut last = e.to_string();
    while let Some(next) = cause.source() {
        last = next.to_string();
        cause = next;
    }
    if last.to_lowercase().contains("connection refused") {
        "connection refused (is the service up, and is the port published?)".into()
    } else {
        last
    }
}
