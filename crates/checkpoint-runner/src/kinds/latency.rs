//! `latency`: many requests to one URL — a number of them or for a duration —
//! at a concurrency, optionally at a fixed total rate; the response times go
//! into an HDR histogram (µs resolution, 3 significant digits), from which
//! `p50`, `p90`, `p95`, `p99`, `max`, `min` and `mean` are read.
//!
//! **The measure must be the server's.** For `http://` URLs each worker drives
//! one HTTP/1.1 keep-alive connection with hyper's low-level client in its own
//! task (no pool, no hop to a connection task), and times each request from
//! sending it to the last byte of the body. The workers are spread over one
//! thread per core, each with its own single-threaded runtime — wrk's `-t`:
//! a response wakes its worker on the thread that polls its socket, with no
//! hand-over between threads. Connections are opened (and the warmup sent)
//! before the clock starts; one the server closes is opened again, counted,
//! and that reconnect is part of the next request's time. `https://` URLs go
//! through the run's reqwest client on the run's runtime (TLS, the same
//! timing points).
//!
//! **Closed and open model.** Without `rate`, each worker sends its next
//! request when the previous one has answered (as wrk and hey do). With
//! `rate`, request *i* is due at `start + i / rate` and its time is measured
//! from when it was due, not from when a free worker sent it: a server that
//! falls behind shows its queue in the percentiles instead of slowing the
//! client down to its pace (coordinated omission, as wrk2 and k6 avoid it).
//!
//! **Errors** are transport errors (refused, reset, closed before the
//! response), redirects (a 3xx other than 304: the login page a request
//! without the session is sent to is not the page measured) and responses
//! with a status ≥ 400. Responses of any status are in
//! the percentiles; transport errors have no time. Requests still unanswered
//! when the check's timeout is near are stopped and counted as errors.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use checkpoint_model::kinds::LatencySpec;
use checkpoint_model::latency::{BUCKETS, Bucket, DEFAULT_CONCURRENCY, ErrorCount, Figures};
use checkpoint_model::matcher::{Matcher, Op};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1;
use hyper::header::{CONTENT_TYPE, COOKIE, HOST, HeaderMap, HeaderName, HeaderValue, USER_AGENT};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::cookies::Jar;
use crate::kinds::http::describe_reqwest_error;
use crate::observe::{CheckKind, Ctx, Observation, ObserveError, excerpt};

/// Highest time the histogram records, in µs (an hour); longer ones saturate.
const HIST_MAX_US: u64 = 3_600_000_000;
/// Times a worker buffers before adding them to the shared histogram.
const FLUSH_EVERY: usize = 256;
/// After failing to connect, a worker of a closed-model run waits this long
/// before it tries again, so a refused port is not hammered in a tight loop.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);
/// Most threads a run drives its connections from.
const MAX_THREADS: usize = 16;
/// Kept free at the end of the check's timeout to stop and report.
const STOP_MARGIN: Duration = Duration::from_secs(1);

pub struct Latency;

#[async_trait]
impl CheckKind for Latency {
    type Spec = LatencySpec;

    async fn observe(&self, spec: &LatencySpec, ctx: &Ctx, timeout: Duration) -> Result<Observation, ObserveError> {
        let plan = Arc::new(Plan::new(spec, ctx.gate_jar(spec.cookies))?);
        let started = Instant::now();
        let deadline = started + timeout.saturating_sub(STOP_MARGIN.min(timeout / 10));
        let transport = if plan.url.scheme() == "http" {
            Transport::Hyper(resolve(&plan).await?)
        } else {
            // The pooled client itself: a load test counts a closed connection as the error it is.
            Transport::Reqwest(ctx.http.get(false, spec.insecure).map_err(ObserveError::Errored)?.pooled().clone())
        };
        let stop = ctx.cancel.child_token();
        let run = run(plan.clone(), &transport, &stop, deadline).await;
        Ok(observation(&plan, &run, timeout))
    }
}

/// A spec made ready to send: parsed once, before the clock starts.
struct Plan {
    method: hyper::Method,
    url: reqwest::Url,
    /// `/path?query`, the request target of an HTTP/1.1 request.
    target: hyper::Uri,
    /// Headers of every request (hyper adds `content-length`).
    headers: HeaderMap,
    /// The same plus `host`, for the hyper client (reqwest adds its own).
    wire_headers: HeaderMap,
    body: Bytes,
    requests: Option<u64>,
    duration: Option<Duration>,
    concurrency: u32,
    rate: Option<f64>,
    warmup: u64,
    /// `GET http://…` plus the headers, for the evidence.
    shown: String,
}

impl Plan {
    /// `jar`: the gate's cookies, sent with every request as they are now.
    fn new(spec: &LatencySpec, jar: Option<&Jar>) -> Result<Self, ObserveError> {
        let bad = |m: String| ObserveError::Errored(m);
        let method_name = spec.method.as_deref().unwrap_or("GET").to_uppercase();
        let method = hyper::Method::from_bytes(method_name.as_bytes())
            .map_err(|_| bad(format!("`{method_name}` is not an HTTP method")))?;
        let url = reqwest::Url::parse(&spec.url).map_err(|e| bad(format!("`{}` is not a valid URL: {e}", spec.url)))?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(bad(format!("`{url}` is not an http(s) URL with a host")));
        }
        let path = match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_string(),
        };
        let target: hyper::Uri = path.parse().map_err(|e| bad(format!("`{url}`: {e}")))?;
        let mut headers = HeaderMap::new();
        headers.insert(USER_AGENT, HeaderValue::from_static(concat!("checkpoint/", env!("CARGO_PKG_VERSION"))));
        let mut shown = format!("{method} {url}\n");
        let body = match (&spec.json, &spec.body) {
            (Some(j), _) => {
                headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Bytes::from(serde_json::to_vec(j).unwrap_or_default())
            }
            (None, Some(b)) => Bytes::from(b.clone()),
            (None, None) => match &spec.form {
                Some(form) => {
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/x-www-form-urlencoded"));
                    Bytes::from(crate::kinds::http::form_body(form))
                }
                None => Bytes::new(),
            },
        };
        for (k, v) in &spec.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(format!("header `{k}`: {e}")))?;
            let value = HeaderValue::from_str(v).map_err(|e| bad(format!("header `{k}`: {e}")))?;
            headers.insert(name, value);
            let _ = writeln!(shown, "{k}: {v}");
        }
        if !headers.contains_key(COOKIE)
            && let Some(sent) = jar.and_then(|j| j.header_for(&url))
        {
            let value = HeaderValue::from_str(&sent).map_err(|e| bad(format!("the gate's cookies: {e}")))?;
            headers.insert(COOKIE, value);
            let _ = writeln!(shown, "cookie: {sent}");
        }
        if let Some(form) = spec.form.as_ref().filter(|_| spec.json.is_none() && spec.body.is_none()) {
            // As JSON, so the redactor masks `password` and `*token*` fields.
            let form = serde_json::to_string_pretty(form).unwrap_or_default();
            let _ = writeln!(shown, "\n(form, application/x-www-form-urlencoded)\n{}", excerpt(&form, 1024));
        } else if !body.is_empty() {
            let _ = writeln!(shown, "\n{}", excerpt(&String::from_utf8_lossy(&body), 1024));
        }
        let duration = match &spec.duration {
            Some(d) => Some(checkpoint_model::duration::parse(d).map_err(|e| bad(format!("`duration: {d}`: {e}")))?),
            None => None,
        };
        if spec.requests.is_none() == duration.is_none() {
            return Err(bad("a latency check needs exactly one of `requests` and `duration`".into()));
        }
        let mut wire_headers = headers.clone();
        if !wire_headers.contains_key(HOST) {
            let host = url.host_str().unwrap_or_default();
            let host = url.port().map_or_else(|| host.to_string(), |p| format!("{host}:{p}"));
            let value = HeaderValue::from_str(&host).map_err(|e| bad(format!("host `{host}`: {e}")))?;
            wire_headers.insert(HOST, value);
        }
        Ok(Self {
            method,
            target,
            headers,
            wire_headers,
            body,
            requests: spec.requests,
            duration,
            concurrency: spec.concurrency.unwrap_or(DEFAULT_CONCURRENCY).max(1),
            rate: spec.rate.filter(|r| *r > 0.0),
            warmup: spec.warmup.unwrap_or(0),
            shown,
            url,
        })
    }
}

/// The addresses of an `http://` URL's host, resolved once.
async fn resolve(plan: &Plan) -> Result<Vec<SocketAddr>, ObserveError> {
    let host = plan.url.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = plan.url.port_or_known_default().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| {
            let why = format!("cannot resolve `{host}`: {e}");
            ObserveError::failed(format!("{} {}: {why}", plan.method, plan.url), format!("{}\n→ {why}", plan.shown))
        })?
        .collect();
    if addrs.is_empty() {
        let why = format!("`{host}` resolves to no address");
        return Err(ObserveError::failed(format!("{} {}: {why}", plan.method, plan.url), plan.shown.clone()));
    }
    Ok(addrs)
}

enum Transport {
    /// `http://`: hyper, one connection per worker, to these addresses.
    Hyper(Vec<SocketAddr>),
    /// `https://`: the run's reqwest client.
    Reqwest(reqwest::Client),
}

/// How one request ended.
enum Outcome {
    /// A status, and where a redirect leads (3xx only: no allocation otherwise).
    Response(u16, Option<String>),
    /// A transport error; `connect` when no connection could be opened.
    Failed { why: String, connect: bool },
}

type Conn = (http1::SendRequest<Full<Bytes>>, http1::Connection<TokioIo<TcpStream>, Full<Bytes>>);

/// One worker's way of sending requests.
#[expect(clippy::large_enum_variant, reason = "one per worker, moved twice; a box would be one more hop per request")]
enum Client {
    Hyper(HyperClient),
    Reqwest(reqwest::Client),
}

struct HyperClient {
    addrs: Vec<SocketAddr>,
    /// The address that answered last (tried first).
    preferred: usize,
    conn: Option<Conn>,
    /// Whether a connection was ever open (a later open is a reconnect).
    opened: bool,
    reconnects: u64,
}

impl HyperClient {
    async fn open(&mut self) -> Result<(), String> {
        let mut last = String::new();
        for k in 0..self.addrs.len() {
            let i = (self.preferred + k) % self.addrs.len();
            match TcpStream::connect(self.addrs[i]).await {
                Ok(tcp) => {
                    let _ = tcp.set_nodelay(true);
                    let (send, conn) =
                        http1::handshake(TokioIo::new(tcp)).await.map_err(|e| describe_hyper_error(&e))?;
                    self.preferred = i;
                    if self.opened {
                        self.reconnects += 1;
                    }
                    self.opened = true;
                    self.conn = Some((send, conn));
                    return Ok(());
                }
                Err(e) => last = describe_io_error(&e),
            }
        }
        Err(last)
    }

    async fn request(&mut self, plan: &Plan) -> Outcome {
        // A connection the server closed (keep-alive timeout, `Connection:
        // close`) is replaced before sending: that is not a failed request.
        // Only a connection that fails again right after opening is.
        for again in [false, true] {
            if self.conn.as_ref().is_none_or(|(s, _)| s.is_closed())
                && let Err(why) = self.open().await
            {
                return Outcome::Failed { why, connect: true };
            }
            let Some((send, conn)) = self.conn.as_mut() else { continue };
            let (ready, closed) = drive(conn, send.ready()).await;
            if closed || !matches!(ready, Some(Ok(()))) {
                self.conn = None;
                if again {
                    let why = match ready {
                        Some(Err(e)) => describe_hyper_error(&e),
                        _ => "connection closed".into(),
                    };
                    return Outcome::Failed { why, connect: false };
                }
                continue;
            }
            let mut req = hyper::Request::new(Full::new(plan.body.clone()));
            *req.method_mut() = plan.method.clone();
            *req.uri_mut() = plan.target.clone();
            *req.headers_mut() = plan.wire_headers.clone();
            let exchange = async {
                let resp = send.send_request(req).await?;
                let status = resp.status().as_u16();
                let to = redirected_to(status, resp.headers());
                let mut body = resp.into_body();
                while let Some(frame) = body.frame().await {
                    frame?;
                }
                Ok::<_, hyper::Error>((status, to))
            };
            let (result, closed) = drive(conn, exchange).await;
            if closed {
                self.conn = None;
            }
            return match result {
                Some(Ok((status, to))) => Outcome::Response(status, to),
                Some(Err(e)) => {
                    self.conn = None;
                    Outcome::Failed { why: describe_hyper_error(&e), connect: false }
                }
                None => {
                    Outcome::Failed { why: "connection closed before the response was complete".into(), connect: false }
                }
            };
        }
        Outcome::Failed { why: "connection closed".into(), connect: false }
    }
}

/// Polls `fut` while driving the connection it needs (in this task: no
/// channel hop to a spawned connection task). When the connection ends first,
/// what it delivered is buffered: `fut` gets a moment to finish from it, and
/// the connection is reported closed (it is never polled again).
async fn drive<F: Future>(
    conn: &mut http1::Connection<TokioIo<TcpStream>, Full<Bytes>>,
    fut: F,
) -> (Option<F::Output>, bool) {
    tokio::pin!(fut);
    tokio::select! {
        biased;
        out = &mut fut => return (Some(out), false),
        _ = &mut *conn => {}
    }
    (tokio::time::timeout(Duration::from_secs(1), fut).await.ok(), true)
}

impl Client {
    async fn request(&mut self, plan: &Plan) -> Outcome {
        match self {
            Self::Hyper(h) => h.request(plan).await,
            Self::Reqwest(c) => {
                let mut rb = c.request(plan.method.clone(), plan.url.clone()).headers(plan.headers.clone());
                if !plan.body.is_empty() {
                    rb = rb.body(plan.body.clone());
                }
                match rb.send().await {
                    Ok(mut resp) => {
                        let status = resp.status().as_u16();
                        let to = redirected_to(status, resp.headers());
                        loop {
                            match resp.chunk().await {
                                Ok(Some(_)) => {}
                                Ok(None) => break Outcome::Response(status, to),
                                Err(e) => {
                                    break Outcome::Failed {
                                        why: format!("reading the body failed: {}", describe_reqwest_error(&e)),
                                        connect: false,
                                    };
                                }
                            }
                        }
                    }
                    Err(e) => Outcome::Failed { why: short(&describe_reqwest_error(&e)), connect: e.is_connect() },
                }
            }
        }
    }

    fn reconnects(&self) -> u64 {
        match self {
            Self::Hyper(h) => h.reconnects,
            Self::Reqwest(_) => 0,
        }
    }
}

/// "connection refused (is the service up, …)" → "connection refused": the
/// advice is given once, in the reason, not per error kind.
fn short(why: &str) -> String {
    why.split(" (").next().unwrap_or(why).to_string()
}

fn describe_io_error(e: &std::io::Error) -> String {
    use std::io::ErrorKind as K;
    match e.kind() {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset by the server".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut => "connect timed out".into(),
        K::AddrNotAvailable => "address not available".into(),
        _ => e.to_string(),
    }
}

fn describe_hyper_error(e: &hyper::Error) -> String {
    if let Some(io) = super::http::causes(e).find_map(|c| c.downcast_ref::<std::io::Error>()) {
        return describe_io_error(io);
    }
    if e.is_incomplete_message() {
        "connection closed before the response was complete".into()
    } else if e.is_parse() {
        format!("invalid HTTP response ({e})")
    } else if e.is_canceled() || e.is_closed() {
        "connection closed".into()
    } else {
        e.to_string()
    }
}

/// Which requests are left, and when each is due; shared by the workers of
/// every thread. The clock starts once, when every worker is ready ([`Self::begin`]).
struct Schedule {
    next: AtomicU64,
    total: Option<u64>,
    /// No request starts after this long (`duration`).
    duration: Option<Duration>,
    rate: Option<f64>,
    start: OnceLock<Instant>,
}

impl Schedule {
    fn new(total: Option<u64>, duration: Option<Duration>, rate: Option<f64>) -> Self {
        Self { next: AtomicU64::new(0), total, duration, rate, start: OnceLock::new() }
    }

    /// Starts the clock (the first caller wins) and returns the start.
    fn begin(&self) -> Instant {
        *self.start.get_or_init(Instant::now)
    }

    fn start(&self) -> Instant {
        self.begin()
    }

    fn end(&self) -> Option<Instant> {
        self.duration.map(|d| self.start() + d)
    }

    /// How many requests were due before `t`: all of `requests` in a closed
    /// run, those scheduled before `t` (and before the end) at a rate.
    fn due_before(&self, t: Instant) -> u64 {
        let by_rate = self.rate.map(|r| {
            let until = self.end().map_or(t, |e| e.min(t));
            (until.saturating_duration_since(self.start()).as_secs_f64() * r).ceil() as u64
        });
        match (by_rate, self.total) {
            (Some(n), Some(t)) => n.min(t),
            (Some(n), None) => n,
            (None, Some(t)) => t,
            (None, None) => 0,
        }
    }

    /// The next request: None when the run is done; `Some(due)` with the time
    /// it is due in an open-model run, `Some(None)` in a closed one.
    #[allow(
        clippy::option_option,
        reason = "the two levels are documented above: done, or due (open) / not due (closed)"
    )]
    fn take(&self) -> Option<Option<Instant>> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        if self.total.is_some_and(|t| i >= t) {
            return None;
        }
        match self.rate {
            Some(r) => {
                let due = self.start() + Duration::from_secs_f64(i as f64 / r);
                if self.end().is_some_and(|e| due >= e) { None } else { Some(Some(due)) }
            }
            None => {
                if self.end().is_some_and(|e| Instant::now() >= e) {
                    None
                } else {
                    Some(None)
                }
            }
        }
    }
}

/// What one worker counted (its times go to the shared histogram).
#[derive(Default)]
struct Tally {
    requests: u64,
    errors: u64,
    unfinished: u64,
    statuses: BTreeMap<u16, u64>,
    failures: HashMap<String, u64>,
    last_done: Option<Instant>,
    reconnects: u64,
}

impl Tally {
    fn add(&mut self, o: Self) {
        self.requests += o.requests;
        self.errors += o.errors;
        self.unfinished += o.unfinished;
        for (k, v) in o.statuses {
            *self.statuses.entry(k).or_default() += v;
        }
        for (k, v) in o.failures {
            *self.failures.entry(k).or_default() += v;
        }
        self.last_done = self.last_done.max(o.last_done);
        self.reconnects += o.reconnects;
    }

    fn fail(&mut self, why: String) {
        self.errors += 1;
        *self.failures.entry(why).or_default() += 1;
    }
}

/// The response times of every worker, batched to keep the lock rare.
struct Times {
    hist: Mutex<Histogram<u64>>,
}

impl Times {
    fn flush(&self, buf: &mut Vec<u64>) {
        if let Ok(mut h) = self.hist.lock() {
            for v in buf.drain(..) {
                h.saturating_record(v);
            }
        }
    }
}

/// Everything a run measured.
struct RunResult {
    tally: Tally,
    hist: Histogram<u64>,
    started: Instant,
    /// The check's timeout stopped the run (not its end, not a cancel).
    hit_deadline: bool,
}

const UNANSWERED: &str = "no response before the check's timeout";

/// What the workers of every thread share.
struct Shared {
    plan: Arc<Plan>,
    warm: Schedule,
    schedule: Schedule,
    times: Times,
    stop: CancellationToken,
    /// Every thread's workers are connected and warm: the clock may start.
    ready: tokio::sync::Barrier,
}

async fn run(plan: Arc<Plan>, transport: &Transport, stop: &CancellationToken, deadline: Instant) -> RunResult {
    // Threads: as many as cores (wrk's -t), never more than connections.
    let threads = match transport {
        Transport::Hyper(_) => std::thread::available_parallelism()
            .map_or(2, std::num::NonZero::get)
            .min(usize::try_from(plan.concurrency).unwrap_or(1))
            .clamp(1, MAX_THREADS),
        Transport::Reqwest(_) => 1,
    };
    let shared = Arc::new(Shared {
        warm: Schedule::new(Some(plan.warmup), None, None),
        schedule: Schedule::new(plan.requests, plan.duration, plan.rate),
        times: Times {
            hist: Mutex::new(Histogram::new_with_bounds(1, HIST_MAX_US, 3).expect("valid histogram bounds")),
        },
        stop: stop.clone(),
        ready: tokio::sync::Barrier::new(threads),
        plan: plan.clone(),
    });
    // Whatever happens to this future, the threads stop with it.
    let _stop_on_drop = stop.clone().drop_guard();
    let hit = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watchdog = {
        let (stop, hit) = (stop.clone(), hit.clone());
        tokio::spawn(async move {
            tokio::select! {
                () = tokio::time::sleep_until(deadline.into()) => {
                    hit.store(true, Ordering::SeqCst);
                    stop.cancel();
                }
                () = stop.cancelled() => {}
            }
        })
    };
    let mut tally = Tally::default();
    match transport {
        // Each thread runs its own single-threaded runtime with its share of
        // the connections, as wrk's threads run their own event loops: a
        // response wakes the worker on the thread that polls its socket, with
        // no hand-over between threads.
        Transport::Hyper(addrs) => {
            let c = usize::try_from(plan.concurrency).unwrap_or(1);
            let mut done = Vec::new();
            for k in 0..threads {
                let workers = c / threads + usize::from(k < c % threads);
                let (shared, addrs) = (shared.clone(), addrs.clone());
                let (tx, rx) = tokio::sync::oneshot::channel();
                let spawned = std::thread::Builder::new().name(format!("latency-{k}")).spawn(move || {
                    let tally = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(rt) => rt.block_on(shard(&shared, &Transport::Hyper(addrs), workers)),
                        Err(e) => {
                            let mut t = Tally::default();
                            t.fail(format!("cannot start a runtime for the workers: {e}"));
                            t
                        }
                    };
                    let _ = tx.send(tally);
                });
                match spawned {
                    Ok(_) => done.push(rx),
                    Err(e) => tally.fail(format!("cannot start a worker thread: {e}")),
                }
            }
            for rx in done {
                if let Ok(t) = rx.await {
                    tally.add(t);
                }
            }
        }
        Transport::Reqwest(_) => tally.add(shard(&shared, transport, c_usize(plan.concurrency)).await),
    }
    watchdog.abort();
    let hit_deadline = hit.load(Ordering::SeqCst);
    if hit_deadline {
        // Requests that were due but never sent count as unanswered too.
        let unsent = shared.schedule.due_before(deadline).saturating_sub(tally.requests);
        tally.requests += unsent;
        tally.unfinished += unsent;
        tally.errors += unsent;
        if unsent > 0 {
            *tally.failures.entry(UNANSWERED.into()).or_default() += unsent;
        }
    }
    let hist = shared.times.hist.lock().map_or_else(|e| e.into_inner().clone(), |h| h.clone());
    RunResult { tally, hist, started: shared.schedule.start(), hit_deadline }
}

fn c_usize(c: u32) -> usize {
    usize::try_from(c).unwrap_or(1)
}

/// One thread's share: its workers connect and warm up, wait for every other
/// thread's, then take requests from the shared schedule.
async fn shard(shared: &Arc<Shared>, transport: &Transport, workers: usize) -> Tally {
    let clients = prepare(shared, transport, workers).await;
    tokio::select! {
        biased;
        () = shared.stop.cancelled() => {}
        _ = shared.ready.wait() => {}
    }
    shared.schedule.begin();
    let mut set = JoinSet::new();
    for client in clients {
        set.spawn(worker(client, shared.clone()));
    }
    let mut tally = Tally::default();
    while let Some(t) = set.join_next().await {
        if let Ok(t) = t {
            tally.add(t);
        }
    }
    tally
}

/// `workers` clients, connected, after their part of the warmup requests
/// (shared out like the measured ones, results dropped) — all before the
/// clock starts.
async fn prepare(shared: &Arc<Shared>, transport: &Transport, workers: usize) -> Vec<Client> {
    let mut set = JoinSet::new();
    for _ in 0..workers {
        let mut client = match transport {
            Transport::Hyper(addrs) => Client::Hyper(HyperClient {
                addrs: addrs.clone(),
                preferred: 0,
                conn: None,
                opened: false,
                reconnects: 0,
            }),
            Transport::Reqwest(c) => Client::Reqwest(c.clone()),
        };
        let shared = shared.clone();
        set.spawn(async move {
            tokio::select! {
                biased;
                () = shared.stop.cancelled() => {}
                () = async {
                    if let Client::Hyper(h) = &mut client {
                        let _ = h.open().await;
                    }
                    while shared.warm.take().is_some() {
                        let _ = client.request(&shared.plan).await;
                    }
                } => {}
            }
            if let Client::Hyper(h) = &mut client {
                // Opened before the clock: not reconnects.
                h.reconnects = 0;
            }
            client
        });
    }
    let mut clients = Vec::new();
    while let Some(c) = set.join_next().await {
        if let Ok(c) = c {
            clients.push(c);
        }
    }
    clients
}

/// Takes requests from the schedule until it is done or `stop` fires; a
/// request in flight (or due) when `stop` fires is counted as unanswered.
async fn worker(mut client: Client, shared: Arc<Shared>) -> Tally {
    let (plan, schedule, times, stop) = (&shared.plan, &shared.schedule, &shared.times, &shared.stop);
    let mut tally = Tally::default();
    let mut buf: Vec<u64> = Vec::with_capacity(FLUSH_EVERY);
    // One waiter for the whole run: `cancelled()` registers with the token
    // (a lock shared by every worker), which per request would be contention.
    let stopped = stop.cancelled();
    tokio::pin!(stopped);
    while !stop.is_cancelled() {
        let Some(due) = schedule.take() else { break };
        tally.requests += 1;
        // Open model: the time starts when the request was due — unless the
        // worker had to wait for that moment, when any lateness is the timer's
        // (a millisecond tick), not the server's, and it starts at the send.
        let mut sent = Instant::now();
        if let Some(due) = due
            && due > sent
        {
            tokio::select! {
                biased;
                () = &mut stopped => {
                    tally.unfinished += 1;
                    tally.fail(UNANSWERED.into());
                    break;
                }
                () = tokio::time::sleep_until(due.into()) => {}
            }
            sent = Instant::now();
        } else if let Some(due) = due {
            sent = due;
        }
        let outcome = tokio::select! {
            biased;
            () = &mut stopped => None,
            o = client.request(plan) => Some(o),
        };
        let done = Instant::now();
        match outcome {
            None => {
                tally.unfinished += 1;
                tally.fail(UNANSWERED.into());
                break;
            }
            Some(Outcome::Response(status, to)) => {
                let us = u64::try_from(done.duration_since(sent).as_micros()).unwrap_or(u64::MAX).max(1);
                buf.push(us);
                if buf.len() >= FLUSH_EVERY {
                    times.flush(&mut buf);
                }
                *tally.statuses.entry(status).or_default() += 1;
                if let Some(to) = to {
                    tally.fail(format!(
                        "{} → {to} (a redirect, not the page: log in first, or measure where it leads)",
                        status_text(status)
                    ));
                } else if status >= 400 {
                    tally.fail(status_text(status));
                }
            }
            Some(Outcome::Failed { why, connect }) => {
                tally.fail(why);
                if connect && due.is_none() {
                    tokio::select! {
                        () = &mut stopped => {}
                        () = tokio::time::sleep(CONNECT_BACKOFF) => {}
                    }
                }
            }
        }
        tally.last_done = Some(done);
    }
    times.flush(&mut buf);
    tally.reconnects = client.reconnects();
    tally
}

/// Where a redirect ([`super::server_said::is_redirect`]) leads: the
/// `location`, or `(no location)`.
fn redirected_to(status: u16, headers: &hyper::HeaderMap) -> Option<String> {
    super::server_said::is_redirect(status).then(|| {
        headers
            .get(hyper::header::LOCATION)
            .map_or_else(|| "(no location)".to_string(), |l| String::from_utf8_lossy(l.as_bytes()).into_owned())
    })
}

/// `HTTP 503 Service Unavailable`.
fn status_text(status: u16) -> String {
    let reason = hyper::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or_default();
    format!("HTTP {status} {reason}").trim_end().to_string()
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// Up to [`BUCKETS`] equal buckets from the fastest to the slowest response;
/// outliers (beyond twice p99) get a last bucket of their own, so a single
/// stall does not squash every other response into the first bar.
fn buckets(h: &Histogram<u64>) -> Vec<Bucket> {
    if h.is_empty() {
        return Vec::new();
    }
    let (min, max, p99) = (h.min(), h.max(), h.value_at_quantile(0.99));
    if max <= min {
        return vec![Bucket { le_ms: ms(max), count: h.len() }];
    }
    let mut bounds: Vec<u64> = Vec::new();
    // Outliers: beyond twice p99. The buckets span up to the slowest response
    // that is not one, and one more bucket holds the outliers.
    let regular = h.iter_recorded().map(|v| v.value_iterated_to()).filter(|v| *v <= 2 * p99).max().unwrap_or(max);
    let (top, n) = if max > 2 * p99 && regular > min { (regular, BUCKETS - 1) } else { (max, BUCKETS) };
    for k in 1..=n {
        let b = min + ((top - min) as f64 * k as f64 / n as f64).round() as u64;
        if bounds.last() != Some(&b) {
            bounds.push(b);
        }
    }
    if top < max {
        bounds.push(max);
    }
    let mut counts = vec![0_u64; bounds.len()];
    for v in h.iter_recorded() {
        let value = v.value_iterated_to();
        let i = bounds.iter().position(|b| value <= *b).unwrap_or(bounds.len() - 1);
        counts[i] += v.count_at_value();
    }
    bounds.into_iter().zip(counts).map(|(b, count)| Bucket { le_ms: ms(b), count }).collect()
}

fn observation(plan: &Plan, r: &RunResult, timeout: Duration) -> Observation {
    let t = &r.tally;
    let h = &r.hist;
    let end = t.last_done.unwrap_or(r.started).max(r.started);
    let elapsed = end.duration_since(r.started);
    let secs = elapsed.as_secs_f64();
    let completed = t.requests - t.unfinished;
    let has = !h.is_empty();
    let q = |p: f64| has.then(|| ms(h.value_at_quantile(p)));
    let mut error_kinds: Vec<ErrorCount> =
        t.failures.iter().map(|(error, count)| ErrorCount { error: error.clone(), count: *count }).collect();
    error_kinds.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.error.cmp(&b.error)));
    let fig = Figures {
        request: format!("{} {}", plan.method, plan.url),
        requests: t.requests,
        errors: t.errors,
        error_rate: if t.requests == 0 { 0.0 } else { t.errors as f64 / t.requests as f64 },
        concurrency: plan.concurrency,
        rate: plan.rate,
        warmup: plan.warmup,
        duration_ms: checkpoint_model::duration::millis(elapsed),
        rps: if secs > 0.0 { completed as f64 / secs } else { 0.0 },
        p50: q(0.50),
        p90: q(0.90),
        p95: q(0.95),
        p99: q(0.99),
        max: has.then(|| ms(h.max())),
        min: has.then(|| ms(h.min())),
        mean: has.then(|| h.mean() / 1000.0),
        histogram: buckets(h),
        status_codes: t.statuses.iter().map(|(k, v)| (k.to_string(), *v)).collect(),
        error_kinds,
        reconnects: t.reconnects,
        unfinished: t.unfinished,
    };
    let doc = serde_json::to_value(&fig).unwrap_or(Value::Null);
    let mut evidence = plan.shown.clone();
    let _ = writeln!(evidence, "\n{}", fig.headline());
    let line: Vec<String> =
        fig.percentiles().iter().map(|(k, v)| format!("{k} {}", checkpoint_model::latency::ms(*v))).collect();
    if !line.is_empty() {
        let _ = writeln!(evidence, "{}", line.join(", "));
    }
    for e in fig.error_kinds.iter().take(5) {
        let _ = writeln!(evidence, "{} × {}", e.count, e.error);
    }
    let mut obs = Observation { document: Some(doc.clone()), evidence, metrics: Some(doc), ..Observation::default() }
        .field("requests", fig.requests)
        .field("errors", fig.errors)
        .field("error_rate", fig.error_rate)
        .field("rps", fig.rps)
        .duration(elapsed);
    for (k, v) in [
        ("p50", fig.p50),
        ("p90", fig.p90),
        ("p95", fig.p95),
        ("p99", fig.p99),
        ("max", fig.max),
        ("min", fig.min),
        ("mean", fig.mean),
    ] {
        if let Some(v) = v {
            obs = obs.field(k, v);
        }
    }
    if r.hit_deadline {
        obs.problems.push(format!(
            "the check's timeout ({}) stopped the run: {} of {} requests had no response; set a longer `timeout:`",
            checkpoint_model::duration::human(checkpoint_model::duration::millis(timeout)),
            fig.unfinished,
            fig.requests
        ));
    } else if fig.requests == 0 {
        obs.problems.push("no request was measured".into());
    } else if fig.errors >= fig.requests {
        let mut why = fig.error_summary().unwrap_or_default();
        if fig.error_kinds.first().is_some_and(|e| e.error == "connection refused") {
            why.push_str(" (is the service up, and is the port published?)");
        }
        obs.problems.push(why);
    }
    // A refused port must never pass a latency gate with a tiny p95.
    obs.defaults.push(("error_rate", Matcher { ops: vec![Op::Lte(Value::from("0%"))] }));
    let context = format!(
        "({} requests, c={}{}{})",
        fig.requests,
        fig.concurrency,
        fig.rate.map(|r| format!(", {}/s", checkpoint_model::latency::rate(r))).unwrap_or_default(),
        if fig.errors > 0 { format!(", {} failed", fig.errors) } else { String::new() }
    );
    for k in ["p50", "p90", "p95", "p99", "max", "min", "mean", "rps", "requests", "duration"] {
        obs.notes.insert(k.into(), Value::from(context.clone()));
    }
    if let Some(s) = fig.error_summary() {
        obs.notes.insert("error_rate".into(), Value::from(s.clone()));
        obs.notes.insert("errors".into(), Value::from(s));
    }
    obs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_cover_every_response_and_isolate_outliers() {
        let mut h = Histogram::<u64>::new_with_bounds(1, HIST_MAX_US, 3).unwrap();
        for v in 1_000..2_000 {
            h.record(v).unwrap();
        }
        let b = buckets(&h);
        assert_eq!(b.len(), BUCKETS);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 1000);
        h.record(500_000).unwrap();
        let b = buckets(&h);
        assert_eq!(b.iter().map(|b| b.count).sum::<u64>(), 1001);
        assert_eq!(b.last().unwrap().count, 1, "the outlier has its own bucket: {b:?}");
        assert!((b.last().unwrap().le_ms - 500.0).abs() < 1.0);
        let mut one = Histogram::<u64>::new_with_bounds(1, HIST_MAX_US, 3).unwrap();
        one.record(2_000).unwrap();
        assert_eq!(buckets(&one).len(), 1);
    }

    #[test]
    fn a_schedule_spaces_requests_by_the_rate() {
        let s = Schedule::new(Some(3), None, Some(100.0));
        let start = s.begin();
        let due: Vec<Duration> = std::iter::from_fn(|| s.take()).map(|d| d.unwrap() - start).collect();
        assert_eq!(due, [Duration::ZERO, Duration::from_millis(10), Duration::from_millis(20)]);
        let s = Schedule::new(None, Some(Duration::from_millis(25)), Some(100.0));
        s.begin();
        assert_eq!(std::iter::from_fn(|| s.take()).count(), 3, "no request is due at or after the end");
        assert_eq!(s.due_before(s.start() + Duration::from_secs(1)), 3);
    }

    #[test]
    fn status_texts() {
        assert_eq!(status_text(503), "HTTP 503 Service Unavailable");
        assert_eq!(status_text(599), "HTTP 599");
        assert_eq!(short("connection refused (is the service up, and is the port published?)"), "connection refused");
    }
}
