//! The check kinds: one module per kind, each holding everything the model
//! knows about it — the spec as written (serde + JSON Schema, with its doc
//! comments), the rules serde cannot express (every problem a
//! [`Diagnostic`] pointing at the key it is about), the expectation fields
//! it observes and the services it names. The runner's side lives in
//! `checkpoint_runner::kinds`, one module per kind too.
//!
//! [`CheckSpec`] is the typed spec a plan check carries: one variant per
//! kind, matched exhaustively by the runner. Adding a kind: see
//! `ARCHITECTURE.md`, "Adding a check kind".

use std::path::Path;
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Location, did_you_mean_or};
use crate::interp::{self, InterpError, Lookup};
use crate::yaml::Node;

pub mod command;
pub mod compose;
pub mod contract_diff;
pub mod exec;
pub mod fault;
pub mod http;
pub mod latency;
pub mod listen;
pub mod metrics;
pub mod mysql;
pub mod openapi;
pub mod postgres;
pub mod reach;
pub mod redis;
pub mod sql;
pub mod tcp;
pub mod websocket;

pub use command::CommandSpec;
pub use compose::ComposeSpec;
pub use contract_diff::ContractDiffSpec;
pub use exec::ExecSpec;
pub use fault::{FaultSpec, RawFault};
pub use http::HttpSpec;
pub use latency::LatencySpec;
pub use metrics::MetricsSpec;
pub use mysql::MysqlSpec;
pub use openapi::{OpenapiAuth, OpenapiRequest, OpenapiSpec, UNDECLARED_STATUS};
pub use postgres::PostgresSpec;
pub use reach::ReachSpec;
pub use redis::RedisSpec;
pub use tcp::TcpSpec;
pub use websocket::WebsocketSpec;

/// What every kind's spec provides to the loader.
pub trait Kind: Serialize + DeserializeOwned + Clone + Into<CheckSpec> {
    /// The kind's key in a check, as written: `http`, `contract-diff`.
    const NAME: &'static str;
    /// The fields its `expect:` may name.
    const EXPECT: &'static [&'static str];

    /// The rules serde cannot express; the generic ones (`${…}` well formed,
    /// named services in the compose file) are the loader's.
    fn validate(&self, _cx: &mut Cx<'_>) {}

    /// Compose services the spec names by name (checked against the stack).
    fn services_named(&self) -> Vec<&str> {
        Vec::new()
    }

    /// The service the check concerns when the spec names it directly
    /// (otherwise the first `${service.NAME.PORT}` it uses).
    fn service(&self) -> Option<&str> {
        None
    }

    /// The check's timeout: the one written, unless the kind knows better.
    fn timeout(
        &self,
        _cx: &mut Cx<'_>,
        _written: Option<&Spanned<String>>,
        parsed: Option<Duration>,
    ) -> Option<Duration> {
        parsed
    }
}

/// A plan check's spec: one variant per kind. Strings still hold `${…}`;
/// [`CheckSpec::expand`] interpolates them at run time.
#[derive(Clone, Debug)]
pub enum CheckSpec {
    Http(HttpSpec),
    Tcp(TcpSpec),
    Postgres(PostgresSpec),
    Redis(RedisSpec),
    Command(CommandSpec),
    Compose(ComposeSpec),
    Exec(ExecSpec),
    Reach(ReachSpec),
    /// The fault itself; its nested checks are the plan check's `during` and `after`.
    Fault(FaultSpec),
    Metrics(MetricsSpec),
    Openapi(OpenapiSpec),
    Latency(LatencySpec),
    ContractDiff(ContractDiffSpec),
    Websocket(WebsocketSpec),
    Mysql(MysqlSpec),
}

/// `each!(spec, s => expr)`: `expr` for the spec of whichever kind it is.
macro_rules! each {
    ($spec:expr, $s:ident => $e:expr) => {
        match $spec {
            CheckSpec::Http($s) => $e,
            CheckSpec::Tcp($s) => $e,
            CheckSpec::Postgres($s) => $e,
            CheckSpec::Redis($s) => $e,
            CheckSpec::Command($s) => $e,
            CheckSpec::Compose($s) => $e,
            CheckSpec::Exec($s) => $e,
            CheckSpec::Reach($s) => $e,
            CheckSpec::Fault($s) => $e,
            CheckSpec::Metrics($s) => $e,
            CheckSpec::Openapi($s) => $e,
            CheckSpec::Latency($s) => $e,
            CheckSpec::ContractDiff($s) => $e,
            CheckSpec::Websocket($s) => $e,
            CheckSpec::Mysql($s) => $e,
        }
    };
}

macro_rules! into_spec {
    ($($ty:ty => $variant:ident),* $(,)?) => {
        $(impl From<$ty> for CheckSpec {
            fn from(s: $ty) -> Self {
                Self::$variant(s)
            }
        })*
    };
}

into_spec!(
    HttpSpec => Http, TcpSpec => Tcp, PostgresSpec => Postgres, RedisSpec => Redis,
    CommandSpec => Command, ComposeSpec => Compose, ExecSpec => Exec, ReachSpec => Reach,
    FaultSpec => Fault, MetricsSpec => Metrics, OpenapiSpec => Openapi, LatencySpec => Latency,
    ContractDiffSpec => ContractDiff, WebsocketSpec => Websocket, MysqlSpec => Mysql,
);

/// Every strings-with-a-path walk and name lookup, over whichever kind.
fn name_of<K: Kind>(_: &K) -> &'static str {
    K::NAME
}

fn expect_of<K: Kind>(_: &K) -> &'static [&'static str] {
    K::EXPECT
}

impl CheckSpec {
    /// The kind's name, as written in files and shown in reports: one of [`crate::raw::KINDS`].
    pub fn kind(&self) -> &'static str {
        each!(self, s => name_of(s))
    }

    /// Expectation fields this kind observes.
    pub fn expect_fields(&self) -> &'static [&'static str] {
        each!(self, s => expect_of(s))
    }

    /// Every string of the spec with its path (`http.headers.Authorization`).
    pub fn each_string(&self, f: &mut dyn FnMut(&[interp::walk::Seg], &str)) {
        each!(self, s => interp::walk::each_string(s, f));
    }

    /// Every `${…}` template in the spec, parsed (for endpoints and variable checks).
    pub fn templates(&self, out: &mut Vec<Result<interp::Template, InterpError>>) {
        self.each_string(&mut |_, s| {
            if s.contains('$') {
                out.push(interp::Template::parse(s));
            }
        });
    }

    /// The spec with every `${…}` expanded, through [`interp::expand`].
    pub fn expand(&self, vars: &dyn Lookup) -> Result<Self, InterpError> {
        Ok(each!(self, s => interp::expand(s, vars)?.into()))
    }

    /// Compose services the spec names by name.
    pub fn services_named(&self) -> Vec<&str> {
        each!(self, s => s.services_named())
    }

    /// The service the check concerns: named by the spec, or the first
    /// `${service.NAME.PORT}` in its strings.
    pub fn service(&self) -> Option<String> {
        if let Some(s) = each!(self, s => s.service()) {
            return Some(s.to_string());
        }
        let mut found = None;
        self.each_string(&mut |_, s| {
            if found.is_none()
                && s.contains("${")
                && let Ok(t) = interp::Template::parse(s)
            {
                found = interp::service_refs(std::slice::from_ref(&t)).into_iter().next().map(|(svc, _)| svc);
            }
        });
        found
    }

    /// Request headers the spec sends (`http`, `latency`, `metrics`, `openapi`, `contract-diff`).
    pub fn headers(&self) -> Option<&indexmap::IndexMap<String, String>> {
        match self {
            Self::Http(s) => Some(&s.headers),
            Self::Latency(s) => Some(&s.headers),
            Self::Metrics(s) => Some(&s.headers),
            Self::Openapi(s) => Some(&s.headers),
            Self::ContractDiff(s) => Some(&s.headers),
            Self::Websocket(s) => Some(&s.headers),
            Self::Tcp(_)
            | Self::Mysql(_)
            | Self::Postgres(_)
            | Self::Redis(_)
            | Self::Command(_)
            | Self::Compose(_)
            | Self::Exec(_)
            | Self::Reach(_)
            | Self::Fault(_) => None,
        }
    }

    pub(crate) fn validate(&self, cx: &mut Cx<'_>) {
        each!(self, s => s.validate(cx));
    }

    /// The settings of a check that listens (`websocket`, `redis` with `subscribe`/`psubscribe`):
    /// it connects first, runs its `during:` checks, then waits for messages.
    pub fn listen(&self) -> Option<listen::Listen<'_>> {
        match self {
            Self::Websocket(s) => Some(s.listen()),
            Self::Redis(s) if s.is_listener() => Some(s.listen()),
            _ => None,
        }
    }

    pub(crate) fn timeout(
        &self,
        cx: &mut Cx<'_>,
        written: Option<&Spanned<String>>,
        parsed: Option<Duration>,
    ) -> Option<Duration> {
        each!(self, s => s.timeout(cx, written, parsed))
    }
}

/// A place to point at: a location and how wide the carets are.
pub(crate) type Spot = (Location, Option<usize>);

/// `#[serde(default = "super::yes")]`: a switch that is on unless written
/// `false` (`cookies` of `http` and `latency`).
pub(crate) fn yes() -> bool {
    true
}

/// The keys whose flag is set, in order: which of a spec's exclusive modes were written.
pub(crate) fn given<const N: usize>(keys: [(&str, bool); N]) -> Vec<&str> {
    keys.into_iter().filter_map(|(k, set)| set.then_some(k)).collect()
}

/// What a kind's validation sees: the spec's place in the file and where
/// to put its diagnostics.
pub struct Cx<'a> {
    pub(crate) file: &'a str,
    /// The project root: relative paths in specs are resolved against it.
    pub(crate) root: &'a Path,
    pub(crate) diags: &'a mut Diagnostics,
    /// The check's name, for messages.
    pub(crate) name: &'a str,
    /// The check's location, where to point when the tree has no node.
    pub(crate) loc: &'a Location,
    /// The spec's mapping in the file's tree.
    pub(crate) node: Option<&'a Node>,
    /// The kind's key (`http:`).
    pub(crate) whole: Spot,
}

impl<'a> Cx<'a> {
    pub(crate) fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// An error pointing at `spot` (a [`Cx::key_at`], [`Cx::value_at`] or [`Cx::place`]).
    pub(crate) fn err_at(&mut self, (location, width): Spot, d: Diagnostic) {
        self.diags.push(d.span(location, width));
    }

    /// A node's place, or the check's when the tree is not there.
    pub(crate) fn place(&self, n: Option<&Node>) -> Spot {
        n.map_or_else(|| (self.loc.clone(), None), |n| (n.location(self.file), n.width()))
    }

    /// The value node of the spec's field `key`.
    pub(crate) fn field(&self, key: &str) -> Option<&'a Node> {
        self.node.and_then(|n| n.get(key))
    }

    /// Where the value of field `key` is written.
    pub(crate) fn value_at(&self, key: &str) -> Spot {
        self.place(self.field(key))
    }

    /// Where the key `key` is written.
    pub(crate) fn key_at(&self, key: &str) -> Spot {
        self.place(self.node.and_then(|n| n.key(key)))
    }

    /// A spanned value's place, with its width when it is a scalar.
    pub(crate) fn spanned<T>(&self, s: &Spanned<T>) -> Spot {
        let len = usize::try_from(s.referenced.span().len()).unwrap_or(0);
        (Location::from_yaml(self.file, &s.referenced), (len > 1).then_some(len))
    }
}

/// `url` (field `key`) must be an http(s) URL (or contain `${…}`); `hint` says what it is for.
pub(crate) fn require_http_url(cx: &mut Cx<'_>, url: &str, key: &str, hint: &str) {
    if !(url.contains("${") || url.starts_with("http://") || url.starts_with("https://")) {
        cx.err_at(
            cx.value_at(key),
            Diagnostic::new(format!("`{url}` is not an http(s) URL"))
                .label("needs `http://` or `https://`")
                .hint(hint.to_string()),
        );
    }
}

/// An HTTP method (`method:` of `http` and `latency`), unless templated.
pub(crate) fn check_method(cx: &mut Cx<'_>, method: &str) {
    if method.is_empty() || method.contains("${") || !method_invalid(method) {
        return;
    }
    cx.err_at(
        cx.value_at("method"),
        Diagnostic::new(format!("`{method}` is not an HTTP method")).label("unknown method").hint(did_you_mean_or(
            &method.to_uppercase(),
            ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
            || "methods: GET (default), POST, PUT, PATCH, DELETE, HEAD, OPTIONS".into(),
        )),
    );
}

fn method_invalid(m: &str) -> bool {
    !m.chars().all(|c| c.is_ascii_alphabetic())
        || !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
            .contains(&m.to_uppercase().as_str())
}

/// "a" or "an" before a kind's name: an openapi check, an exec check.
pub fn article(kind: &str) -> &'static str {
    if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// What a raw check names, taken out of its `Option`s in the order of
/// [`crate::raw::KINDS`]: the first kind's spec, the names of any more (a
/// check with several is an error), and a fault's nested checks apart.
pub(crate) struct Taken {
    pub first: Option<CheckSpec>,
    pub more: Vec<&'static str>,
    pub fault: Option<RawFault>,
}

pub(crate) fn take(c: &mut crate::raw::RawCheck) -> Taken {
    let mut first: Option<CheckSpec> = None;
    let mut more = Vec::new();
    let mut put = |spec: CheckSpec| match first {
        None => first = Some(spec),
        Some(_) => more.push(spec.kind()),
    };
    macro_rules! take {
        ($($field:ident),+) => { $( if let Some(s) = c.$field.take() { put(CheckSpec::from(*s)); } )+ };
    }
    take!(http, tcp, postgres, redis, command, compose, exec, reach);
    let fault = c.fault.take().map(|f| *f);
    if let Some(f) = &fault {
        put(f.spec().into());
    }
    take!(metrics, openapi, latency, contract_diff, websocket, mysql);
    Taken { first, more, fault }
}
