//! Breaking-change detection: every difference between two contracts that a
//! client could notice, each classed breaking or not.
//!
//! Operations are matched by method and path; path templates that differ
//! only in their parameter names are the same path (`/items/{id}` =
//! `/items/{itemId}`), and their path parameters are matched by position.
//! For each matched operation the parameters, the request body, the
//! responses and the effective security are compared; request and response
//! schemas are walked recursively (see [`schema`] for how and why the
//! direction decides).
//!
//! A change is **breaking** when a client written against the old contract
//! can fail against the new one: a request it sends may be refused, or a
//! response it gets may not be what it can read. The full list of rules, with
//! examples, is [`rules::RULES`] and `docs/contract.md`. Choices worth
//! knowing:
//!
//! - Descriptions, summaries, titles, examples, tags, `externalDocs`,
//!   `x-…` extensions, `discriminator`, links and callbacks are not compared
//!   at all; webhooks only by name (one removed breaks its subscribers).
//! - Three levels ([`Level`]): breaking, may break (breaks only clients that
//!   rely on what the contract did not firmly promise: a removed parameter
//!   or request property, a removed optional response property, a response
//!   pattern, a renamed media type, a new `anyOf` alternative), non-breaking.
//! - Response bounds that widen (`maxLength` raised, `enum` dropped, a JSON
//!   Schema 2020-12 keyword dropped) are breaking, like a widened type;
//!   `additionalProperties` allowed in a response is not (adding properties
//!   is not either).
//! - An exact status `200` replaced by its range `2XX` is the same response
//!   (compared); a range replaced by exact codes within it is compared with
//!   each; a status, range or `default` with nothing taking its place is
//!   removed.
//! - A request `default` that changes is reported, as non-breaking; a
//!   parameter's own `default` as breaking (a client that omits it gets
//!   other behaviour).
//! - Every change carries a stable fingerprint and a JSON pointer (see
//!   [`Change`]); [`ignore`] applies ignore files.
//!
//! The result is sorted by path, method and location, so two runs over the
//! same contracts print the same bytes.

pub mod ignore;
pub mod rules;
mod schema;
mod security;

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

pub use rules::{Level, RULES, Rule};
use schema::{Cmp, Dir, Subject, Walks};

use crate::Contract;
use crate::ops::{METHODS, Operation};

/// One difference between the old and the new contract.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Whether a client of the old contract can break (`level` is `breaking`).
    pub breaking: bool,
    /// `breaking`, `may-break` or `non-breaking`.
    pub level: Level,
    /// The rule's stable id: `response-property-removed` (see [`RULES`]).
    pub rule: &'static str,
    /// `GET /items/{id}`; `None` for a change to a whole path.
    pub operation: Option<String>,
    /// The path template the change is under, as the old contract writes it
    /// (the new one's for a path or operation that is new).
    pub path: String,
    /// Where: `response 200 body /created_at`, ``parameter `limit` (query)``.
    pub location: String,
    /// One line a person understands: ``response 200 property `created_at` removed``.
    pub message: String,
    /// The same change has the same fingerprint in every run on every
    /// machine: 16 hex digits of a hash of the rule, the operation (or path),
    /// the location and the message. Ignore files name changes by it.
    pub fingerprint: String,
    /// A JSON pointer into the contract that shows the change (the old one's,
    /// or the new one's for what is added): down to the parameters, request
    /// body, response or security of the operation.
    pub pointer: String,
    /// Whether `pointer` is into the new contract.
    pub in_new: bool,
}

impl Change {
    /// The change on one line with its operation:
    /// ``GET /items/{id}: response 200 property `created_at` removed``.
    pub fn line(&self) -> String {
        match &self.operation {
            Some(op) => format!("{op}: {}", self.message),
            None => self.message.clone(),
        }
    }
}

/// A change found by a comparison, before it knows its operation.
#[derive(Debug)]
pub(crate) struct Emit {
    pub rule: &'static Rule,
    pub location: String,
    pub message: String,
}

/// Every change from `old` to `new`, sorted by path, method, then location.
pub fn diff(old: &Contract, new: &Contract) -> Vec<Change> {
    diff_within(old, new, schema::BUDGET)
}

fn diff_within(old: &Contract, new: &Contract, budget: usize) -> Vec<Change> {
    let mut d = Differ { old, new, found: Vec::new(), walks: Walks::new(budget) };
    d.paths();
    d.found.sort_by(|a, b| (&a.0, a.1, &a.2.location).cmp(&(&b.0, b.1, &b.2.location)));
    d.found.into_iter().map(|f| f.2).collect()
}

/// The summary line: `2 breaking changes, 3 non-breaking`, with `1 may
/// break` between when there are such changes, or `no changes`.
pub fn summary(changes: &[Change]) -> String {
    let count = |l: Level| changes.iter().filter(|c| c.level == l).count();
    let (breaking, may, other) = (count(Level::Breaking), count(Level::MayBreak), count(Level::NonBreaking));
    if changes.is_empty() {
        return "no changes".into();
    }
    let may = if may > 0 { format!(", {may} may break") } else { String::new() };
    format!("{breaking} breaking change{}{may}, {other} non-breaking", if breaking == 1 { "" } else { "s" })
}

/// What a piece of the rendered list is, for a caller that colours it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tone {
    /// A section heading for breaking changes.
    Breaking,
    /// A section heading for changes that may break.
    MayBreak,
    /// A section heading for non-breaking changes.
    NonBreaking,
    /// An operation (or path) heading.
    Group,
    /// A rule id.
    Rule,
}

/// The list as a person reads it: breaking changes first, then those that
/// may break, then the others, grouped by operation, one line each, then the
/// summary line. `breaking_only` leaves the non-breaking ones out.
/// `paint` styles a piece of text (identity for plain text).
pub fn render(changes: &[Change], breaking_only: bool, paint: &dyn Fn(Tone, &str) -> String) -> String {
    let mut out = String::new();
    let sections = [
        (Level::Breaking, "Breaking changes", Tone::Breaking),
        (Level::MayBreak, "Changes that may break", Tone::MayBreak),
        (Level::NonBreaking, "Non-breaking changes", Tone::NonBreaking),
    ];
    for (level, title, tone) in sections {
        if level == Level::NonBreaking && breaking_only {
            continue;
        }
        let list: Vec<&Change> = changes.iter().filter(|c| c.level == level).collect();
        if list.is_empty() {
            continue;
        }
        out.push_str(&paint(tone, &format!("{title} ({}):", list.len())));
        out.push('\n');
        let mut group: Option<String> = None;
        for c in list {
            let g = c.operation.clone().unwrap_or_else(|| c.path.clone());
            if group.as_ref() != Some(&g) {
                out.push_str(&format!("  {}\n", paint(Tone::Group, &g)));
                group = Some(g);
            }
            out.push_str(&format!("    {}  {}\n", c.message, paint(Tone::Rule, &format!("[{}]", c.rule))));
        }
        out.push('\n');
    }
    let mut last = summary(changes);
    let hidden = changes.iter().filter(|c| c.level == Level::NonBreaking).count();
    if breaking_only && hidden > 0 {
        last.push_str(" (not shown)");
    }
    out.push_str(&last);
    out.push('\n');
    out
}

/// [`render`] without styling.
pub fn render_plain(changes: &[Change], breaking_only: bool) -> String {
    render(changes, breaking_only, &|_, s| s.to_string())
}

/// 16 hex digits of the 64-bit FNV-1a hash of the parts (each ended by a
/// zero byte): the same everywhere, unlike std's randomly seeded hashers.
fn fingerprint(parts: &[&str]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for b in part.bytes().chain([0]) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}

/// The pointer of what a change is about: the path, the operation, and its
/// parameters, request body, response or security after the location's
/// first words; a webhook by name.
fn pointer_to(path: &str, method: Option<&str>, location: &str) -> String {
    use crate::pointer::escape;
    if path == "webhooks" {
        let name = location.strip_prefix("webhook `").and_then(|l| l.strip_suffix('`')).unwrap_or(location);
        return format!("/webhooks/{}", escape(name));
    }
    let mut p = format!("/paths/{}", escape(path));
    let Some(m) = method else { return p };
    p.push('/');
    p.push_str(&m.to_ascii_lowercase());
    let mut words = location.split(' ');
    match words.next() {
        Some("parameter") => p.push_str("/parameters"),
        Some("request") => p.push_str("/requestBody"),
        Some("response") => {
            p.push_str("/responses");
            if let Some(code) = words.next() {
                p.push('/');
                p.push_str(&escape(code));
            }
        }
        Some("security") => p.push_str("/security"),
        _ => {}
    }
    p
}

/// `/items/{id}` → `/items/{}`: the path as matching sees it.
fn template_key(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut depth = 0;
    for ch in path.chars() {
        match ch {
            '{' => {
                if depth == 0 {
                    out.push('{');
                }
                depth += 1;
            }
            '}' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    out.push('}');
                }
            }
            _ if depth > 0 => {}
            _ => out.push(ch),
        }
    }
    out
}

/// The parameter names of a template, in order.
fn template_names(path: &str) -> Vec<String> {
    path.split('{').skip(1).filter_map(|s| s.split_once('}').map(|(n, _)| n.to_string())).collect()
}

fn method_rank(method: &str) -> usize {
    METHODS.iter().position(|m| m.eq_ignore_ascii_case(method)).map_or(METHODS.len() + 1, |i| i + 1)
}

struct Differ<'a> {
    old: &'a Contract,
    new: &'a Contract,
    /// (path, method rank — 0 for the path itself, change).
    found: Vec<(String, usize, Change)>,
    walks: Walks<'a>,
}

impl<'a> Differ<'a> {
    fn push(&mut self, path: &str, operation: Option<(&str, &str)>, e: Emit) {
        let rank = operation.map_or(0, |(m, _)| method_rank(m));
        let in_new = matches!(e.rule.id, "path-added" | "operation-added" | "webhook-added");
        let pointer = pointer_to(path, operation.map(|(m, _)| m), &e.location);
        let subject = operation.map_or_else(|| path.to_string(), |(m, p)| format!("{m} {p}"));
        let fingerprint = fingerprint(&[e.rule.id, &subject, &e.location, &e.message]);
        let change = Change {
            fingerprint,
            pointer,
            in_new,
            breaking: e.rule.breaking,
            level: e.rule.level,
            rule: e.rule.id,
            operation: operation.map(|(m, p)| format!("{m} {p}")),
            path: path.to_string(),
            location: e.location,
            message: e.message,
        };
        self.found.push((path.to_string(), rank, change));
    }

    fn paths(&mut self) {
        let keys = |c: &Contract| -> Vec<String> {
            c.doc.get("paths").and_then(Value::as_object).map(|p| p.keys().cloned().collect()).unwrap_or_default()
        };
        let (old_paths, new_paths) = (keys(self.old), keys(self.new));
        let new_by_key: BTreeMap<String, &String> = new_paths.iter().map(|p| (template_key(p), p)).collect();
        let old_by_key: BTreeMap<String, &String> = old_paths.iter().map(|p| (template_key(p), p)).collect();
        for p in &old_paths {
            if !new_by_key.contains_key(&template_key(p)) {
                let e = Emit {
                    rule: &rules::PATH_REMOVED,
                    location: "path".into(),
                    message: format!("path `{p}` removed"),
                };
                self.push(p, None, e);
            }
        }
        for p in &new_paths {
            if !old_by_key.contains_key(&template_key(p)) {
                let e =
                    Emit { rule: &rules::PATH_ADDED, location: "path".into(), message: format!("path `{p}` added") };
                self.push(p, None, e);
            }
        }
        self.webhooks();
        let old_ops = self.old.operations();
        let new_ops = self.new.operations();
        let index = |ops: &[Operation<'_>]| -> BTreeMap<(String, String), usize> {
            ops.iter().enumerate().map(|(i, o)| ((o.method.clone(), template_key(&o.path)), i)).rev().collect()
        };
        let (old_index, new_index) = (index(&old_ops), index(&new_ops));
        let find_op = |index: &BTreeMap<(String, String), usize>, o: &Operation<'_>| {
            index.get(&(o.method.clone(), template_key(&o.path))).copied()
        };
        for o in &old_ops {
            if !new_by_key.contains_key(&template_key(&o.path)) {
                continue;
            }
            match find_op(&new_index, o).map(|i| &new_ops[i]) {
                None => {
                    let e = Emit {
                        rule: &rules::OPERATION_REMOVED,
                        location: "operation".into(),
                        message: format!("operation `{} {}` removed", o.method, o.path),
                    };
                    self.push(&o.path, Some((&o.method, &o.path)), e);
                }
                Some(n) => self.operation(o, n),
            }
        }
        for n in &new_ops {
            if old_by_key.contains_key(&template_key(&n.path)) && find_op(&old_index, n).is_none() {
                let e = Emit {
                    rule: &rules::OPERATION_ADDED,
                    location: "operation".into(),
                    message: format!("operation `{} {}` added", n.method, n.path),
                };
                self.push(&n.path, Some((&n.method, &n.path)), e);
            }
        }
    }

    /// Webhooks (OpenAPI 3.1) by name: one removed is breaking for its subscribers.
    fn webhooks(&mut self) {
        let names = |c: &Contract| -> Vec<String> {
            c.doc.get("webhooks").and_then(Value::as_object).map(|w| w.keys().cloned().collect()).unwrap_or_default()
        };
        let (o, n) = (names(self.old), names(self.new));
        for (from, to, rule, what) in
            [(&o, &n, &rules::WEBHOOK_REMOVED, "removed"), (&n, &o, &rules::WEBHOOK_ADDED, "added")]
        {
            for name in from.iter().filter(|x| !to.contains(x)) {
                let e =
                    Emit { rule, location: format!("webhook `{name}`"), message: format!("webhook `{name}` {what}") };
                self.push("webhooks", None, e);
            }
        }
    }

    fn operation(&mut self, o: &Operation<'a>, n: &Operation<'a>) {
        let mut out = Vec::new();
        self.walks.exhausted = false;
        if let (Some(a), Some(b)) = (&o.operation_id, &n.operation_id)
            && a != b
        {
            out.push(Emit {
                rule: &rules::OPERATION_ID_CHANGED,
                location: "operation".into(),
                message: format!("operationId changed from `{a}` to `{b}`"),
            });
        }
        let deprecated = |op: &Operation<'_>| op.op.get("deprecated").and_then(Value::as_bool).unwrap_or(false);
        if deprecated(n) && !deprecated(o) {
            out.push(Emit {
                rule: &rules::OPERATION_DEPRECATED,
                location: "operation".into(),
                message: "operation deprecated".into(),
            });
        }
        self.parameters(o, n, &mut out);
        self.request_body(o, n, &mut out);
        self.responses(o, n, &mut out);
        security::compare(self.old, self.new, &o.security, &n.security, &mut out);
        if self.walks.exhausted {
            out.push(Emit {
                rule: &rules::DIFF_INCOMPLETE,
                location: "schemas".into(),
                message: "schemas too large to compare completely".into(),
            });
        }
        for e in out {
            self.push(&o.path, Some((&o.method, &o.path)), e);
        }
    }

    fn cmp<'o>(&'o mut self, dir: Dir, subject: Subject, out: &'o mut Vec<Emit>) -> Cmp<'a, 'o> {
        Cmp::new(self.old, self.new, dir, subject, out, &mut self.walks)
    }

    fn parameters(&mut self, o: &Operation<'a>, n: &Operation<'a>, out: &mut Vec<Emit>) {
        let op = params(o);
        let np = params(n);
        for p in &op {
            let label = format!("parameter `{}` ({})", p.name, p.location);
            let Some(q) = np.iter().find(|q| q.key == p.key) else {
                out.push(Emit {
                    rule: &rules::PARAMETER_REMOVED,
                    location: label.clone(),
                    message: format!("{label} removed"),
                });
                continue;
            };
            match (p.required, q.required) {
                (false, true) => out.push(Emit {
                    rule: &rules::PARAMETER_BECAME_REQUIRED,
                    location: label.clone(),
                    message: format!("{label} became required"),
                }),
                (true, false) => out.push(Emit {
                    rule: &rules::PARAMETER_BECAME_OPTIONAL,
                    location: label.clone(),
                    message: format!("{label} became optional"),
                }),
                _ => {}
            }
            let (a, b) = (style(p.v, &p.location), style(q.v, &q.location));
            if a != b {
                out.push(Emit {
                    rule: &rules::PARAMETER_STYLE_CHANGED,
                    location: label.clone(),
                    message: format!("{label} style changed from {} to {}", show_style(&a), show_style(&b)),
                });
            }
            let (os, mut ns) = (param_schema(p.v), param_schema(q.v));
            let list = if p.location == "body" { None } else { generalized(self.old, os, self.new, ns) };
            if let Some(items) = list {
                out.push(Emit {
                    rule: &rules::PARAMETER_TYPE_GENERALIZED,
                    location: label.clone(),
                    message: format!("{label} now takes a list"),
                });
                // Each value is compared with what one value was.
                ns = items;
            }
            let subject = Subject { prefix: label.clone(), root: label.clone(), at: label.clone() };
            let start = out.len();
            self.cmp(Dir::Request, subject, out).root(os, ns);
            if list.is_some() && self.new.resolve(ns).get("type") == Some(&Value::String("string".into())) {
                // On the wire every value is text: string items take what a number or a boolean was.
                let at = label.clone();
                let mut i = start;
                while i < out.len() {
                    if out[i].rule == &rules::REQUEST_TYPE_NARROWED && out[i].location == at {
                        out.remove(i);
                    } else {
                        i += 1;
                    }
                }
            }
            // A parameter's own default decides what a client that omits it gets.
            for e in &mut out[start..] {
                if e.rule == &rules::REQUEST_DEFAULT_CHANGED && e.location == label {
                    e.rule = &rules::PARAMETER_DEFAULT_CHANGED;
                }
            }
        }
        for q in np.iter().filter(|q| !op.iter().any(|p| p.key == q.key)) {
            let label = format!("parameter `{}` ({})", q.name, q.location);
            let (rule, message) = if q.required {
                (&rules::REQUIRED_PARAMETER_ADDED, format!("{label} added (required)"))
            } else {
                (&rules::PARAMETER_ADDED, format!("{label} added"))
            };
            out.push(Emit { rule, location: label, message });
        }
    }

    fn request_body(&mut self, o: &Operation<'a>, n: &Operation<'a>, out: &mut Vec<Emit>) {
        let body = |c: &'a Contract, op: &Operation<'a>| op.op.get("requestBody").map(|b| c.resolve(b));
        let required = |b: &Value| b.get("required").and_then(Value::as_bool).unwrap_or(false);
        let at = "request body".to_string();
        let (ob, nb) = match (body(self.old, o), body(self.new, n)) {
            (None, None) => return,
            (Some(_), None) => {
                out.push(Emit {
                    rule: &rules::REQUEST_BODY_REMOVED,
                    location: at,
                    message: "request body removed".into(),
                });
                return;
            }
            (None, Some(nb)) => {
                let (rule, message) = if required(nb) {
                    (&rules::REQUEST_BODY_BECAME_REQUIRED, "request body added (required)")
                } else {
                    (&rules::REQUEST_BODY_ADDED, "request body added")
                };
                out.push(Emit { rule, location: at, message: message.into() });
                return;
            }
            (Some(ob), Some(nb)) => (ob, nb),
        };
        match (required(ob), required(nb)) {
            (false, true) => out.push(Emit {
                rule: &rules::REQUEST_BODY_BECAME_REQUIRED,
                location: at.clone(),
                message: "request body became required".into(),
            }),
            (true, false) => out.push(Emit {
                rule: &rules::REQUEST_BODY_BECAME_OPTIONAL,
                location: at.clone(),
                message: "request body became optional".into(),
            }),
            _ => {}
        }
        let (oc, nc) = (content(ob), content(nb));
        for (mt, om) in &oc {
            match find_media(&nc, mt) {
                None => out.push(Emit {
                    rule: &rules::REQUEST_MEDIA_TYPE_REMOVED,
                    location: format!("request body ({mt})"),
                    message: format!("request media type `{mt}` removed"),
                }),
                Some(nm) => {
                    let subject = body_subject("request", mt);
                    let start = out.len();
                    self.cmp(Dir::Request, subject, out).root(media_schema(om), media_schema(nm));
                    not_json(mt, &mut out[start..]);
                }
            }
        }
        for (mt, _) in nc.iter().filter(|(mt, _)| !oc.iter().any(|(o, _)| o == mt)) {
            out.push(Emit {
                rule: &rules::REQUEST_MEDIA_TYPE_ADDED,
                location: format!("request body ({mt})"),
                message: format!("request media type `{mt}` added"),
            });
        }
    }

    fn responses(&mut self, o: &Operation<'a>, n: &Operation<'a>, out: &mut Vec<Emit>) {
        let or = responses(self.old, o.op);
        let nr = responses(self.new, n.op);
        let mut matched = vec![false; nr.len()];
        for (code, ores) in &or {
            let exact = nr.iter().position(|(c, _)| c == code);
            let targets: Vec<usize> = match exact {
                Some(i) => vec![i],
                None if is_status(code) => {
                    let range = format!("{}XX", &code[..1]);
                    nr.iter().position(|(c, _)| *c == range).into_iter().collect()
                }
                None if is_range(code) => nr
                    .iter()
                    .enumerate()
                    .filter(|(_, (c, _))| c.starts_with(&code[..1]) && is_status(c))
                    .map(|(i, _)| i)
                    .collect(),
                None => Vec::new(),
            };
            if targets.is_empty() {
                let message = if code == "default" {
                    "default response removed".to_string()
                } else {
                    format!("response status {code} removed")
                };
                out.push(Emit { rule: &rules::RESPONSE_STATUS_REMOVED, location: format!("response {code}"), message });
                continue;
            }
            for i in targets {
                matched[i] = true;
                let label = if is_status(code) || code == &nr[i].0 { code.clone() } else { nr[i].0.clone() };
                self.response(&label, ores, nr[i].1, out);
            }
        }
        for (i, (code, _)) in nr.iter().enumerate() {
            if !matched[i] {
                let message = if code == "default" {
                    "default response added".to_string()
                } else {
                    format!("response status {code} added")
                };
                out.push(Emit { rule: &rules::RESPONSE_STATUS_ADDED, location: format!("response {code}"), message });
            }
        }
    }

    fn response(&mut self, code: &str, o: &'a Value, n: &'a Value, out: &mut Vec<Emit>) {
        let side = format!("response {code}");
        let (oh, nh) = (headers(self.old, o), headers(self.new, n));
        for (key, name, oh) in &oh {
            let label = format!("{side} header `{name}`");
            let Some((_, _, nh)) = nh.iter().find(|(k, _, _)| k == key) else {
                out.push(Emit {
                    rule: &rules::RESPONSE_HEADER_REMOVED,
                    location: label.clone(),
                    message: format!("{label} removed"),
                });
                continue;
            };
            let required = |h: &Value| h.get("required").and_then(Value::as_bool).unwrap_or(false);
            if required(oh) && !required(nh) {
                out.push(Emit {
                    rule: &rules::RESPONSE_HEADER_BECAME_OPTIONAL,
                    location: label.clone(),
                    message: format!("{label} became optional"),
                });
            }
            let subject = Subject { prefix: label.clone(), root: label.clone(), at: label };
            self.cmp(Dir::Response, subject, out).root(param_schema(oh), param_schema(nh));
        }
        for (_, name, _) in nh.iter().filter(|(k, _, _)| !oh.iter().any(|(o, _, _)| o == k)) {
            let label = format!("{side} header `{name}`");
            out.push(Emit {
                rule: &rules::RESPONSE_HEADER_ADDED,
                location: label.clone(),
                message: format!("{label} added"),
            });
        }
        let (oc, nc) = (content(o), content(n));
        // A media type gone, and one new of the same syntax (`+json` is JSON): renamed.
        let gone: Vec<&String> = oc.iter().filter(|(mt, _)| find_media(&nc, mt).is_none()).map(|(mt, _)| mt).collect();
        let fresh: Vec<&(String, &Value)> = nc.iter().filter(|(mt, _)| !oc.iter().any(|(o, _)| o == mt)).collect();
        let renamed = match (gone.as_slice(), fresh.as_slice()) {
            // Only to a more specific name: `application/problem+json` read as
            // JSON is what it was; the reverse may be any JSON at all.
            ([a], [(b, _)]) if syntax(a).is_some() && syntax(a) == syntax(b) && b.contains('+') => {
                Some(((*a).clone(), b.clone()))
            }
            _ => None,
        };
        for (mt, om) in &oc {
            let nm = match (find_media(&nc, mt), &renamed) {
                (Some(nm), _) => Some(nm),
                (None, Some((a, b))) if a == mt => {
                    out.push(Emit {
                        rule: &rules::RESPONSE_MEDIA_TYPE_RENAMED,
                        location: format!("{side} body ({mt})"),
                        message: format!("{side} media type `{mt}` renamed to `{b}`"),
                    });
                    find_media(&nc, b)
                }
                (None, _) => None,
            };
            match nm {
                None => out.push(Emit {
                    rule: &rules::RESPONSE_MEDIA_TYPE_REMOVED,
                    location: format!("{side} body ({mt})"),
                    message: format!("{side} media type `{mt}` removed"),
                }),
                Some(nm) => {
                    let subject = body_subject(&side, mt);
                    let start = out.len();
                    self.cmp(Dir::Response, subject, out).root(media_schema(om), media_schema(nm));
                    not_json(mt, &mut out[start..]);
                }
            }
        }
        let renamed_to = renamed.map(|(_, b)| b);
        for (mt, _) in nc.iter().filter(|(mt, _)| !oc.iter().any(|(o, _)| o == mt) && renamed_to.as_ref() != Some(mt)) {
            out.push(Emit {
                rule: &rules::RESPONSE_MEDIA_TYPE_ADDED,
                location: format!("{side} body ({mt})"),
                message: format!("{side} media type `{mt}` added"),
            });
        }
    }
}

/// A parameter as matched: path parameters by position in the template,
/// headers by name in any case.
struct Param<'a> {
    key: (String, String),
    name: String,
    location: String,
    required: bool,
    v: &'a Value,
}

/// Headers the HTTP layer owns; OpenAPI says to ignore them as parameters.
const IGNORED_HEADERS: &[&str] = &["accept", "content-type", "authorization"];

fn params<'a>(op: &Operation<'a>) -> Vec<Param<'a>> {
    let names = template_names(&op.path);
    // A path parameter is matched by its position in the template. One whose
    // name the template does not write (`/items/{id}` declaring `itemId`)
    // takes the first position no declared parameter names, so a template
    // renamed on one side only is not one parameter removed and another added.
    let declared: Vec<&str> = op
        .parameters
        .iter()
        .filter(|p| p.get("in").and_then(Value::as_str).is_some_and(|l| l.eq_ignore_ascii_case("path")))
        .filter_map(|p| p.get("name").and_then(Value::as_str))
        .collect();
    let mut free = (0..names.len()).filter(|i| !declared.contains(&names[*i].as_str())).collect::<Vec<_>>().into_iter();
    let mut out = Vec::new();
    for p in &op.parameters {
        let (Some(name), Some(location)) = (p.get("name").and_then(Value::as_str), p.get("in").and_then(Value::as_str))
        else {
            continue;
        };
        let location = location.to_ascii_lowercase();
        let key = match location.as_str() {
            "path" => match names.iter().position(|n| n == name).or_else(|| free.next()) {
                Some(i) => format!("#{i}"),
                None => name.to_string(),
            },
            "header" => {
                let lower = name.to_ascii_lowercase();
                if IGNORED_HEADERS.contains(&lower.as_str()) {
                    continue;
                }
                lower
            }
            _ => name.to_string(),
        };
        let required = location == "path" || p.get("required").and_then(Value::as_bool).unwrap_or(false);
        out.push(Param { key: (location.clone(), key), name: name.to_string(), location, required, v: p });
    }
    out
}

/// A parameter's (`style`, `explode`), with the defaults of its location.
fn style(p: &Value, location: &str) -> (String, bool) {
    let default = if matches!(location, "query" | "cookie") { "form" } else { "simple" };
    let style = p.get("style").and_then(Value::as_str).unwrap_or(default).to_string();
    let explode = p.get("explode").and_then(Value::as_bool).unwrap_or(style == "form");
    (style, explode)
}

fn show_style((style, explode): &(String, bool)) -> String {
    if *explode { format!("`{style}` (exploded)") } else { format!("`{style}`") }
}

/// A parameter's or header's schema: `schema`, or its one media type's.
fn param_schema(p: &Value) -> &Value {
    p.get("schema")
        .or_else(|| {
            p.get("content").and_then(Value::as_object).and_then(|m| m.values().next()).and_then(|m| m.get("schema"))
        })
        .unwrap_or(&ANY)
}

fn media_schema(m: &Value) -> &Value {
    m.get("schema").unwrap_or(&ANY)
}

/// The schema of a place that declares none: anything.
static ANY: Value = Value::Bool(true);

/// A body's media types, lower case and without parameters.
fn content(v: &Value) -> Vec<(String, &Value)> {
    let Some(m) = v.get("content").and_then(Value::as_object) else { return Vec::new() };
    m.iter().map(|(k, x)| (k.split(';').next().unwrap_or(k).trim().to_ascii_lowercase(), x)).collect()
}

/// The media type object serving `mt`: the same, else `type/*`, else `*/*`.
fn find_media<'a>(list: &[(String, &'a Value)], mt: &str) -> Option<&'a Value> {
    let family = format!("{}/*", mt.split('/').next().unwrap_or(mt));
    [mt, family.as_str(), "*/*"].iter().find_map(|want| list.iter().find(|(k, _)| k == want).map(|(_, v)| *v))
}

/// The syntax a media type is written in, when known: `json` for
/// `application/json` and every `…+json`, `xml` likewise.
fn syntax(mt: &str) -> Option<&'static str> {
    let sub = mt.split('/').nth(1)?;
    ["json", "xml"].into_iter().find(|s| sub == *s || sub.ends_with(&format!("+{s}")))
}

/// In a body that is not JSON, the schema's JSON type does not fix the wire
/// format (an XML element with text and one with children are both an
/// element): a type change there may break, depending on the server's mapping.
fn not_json(mt: &str, emits: &mut [Emit]) {
    if syntax(mt) == Some("json") {
        return;
    }
    for e in emits {
        if e.rule == &rules::REQUEST_TYPE_NARROWED || e.rule == &rules::RESPONSE_TYPE_CHANGED {
            e.rule = &rules::NON_JSON_TYPE_CHANGED;
        }
    }
}

/// A scalar parameter that now takes a list: `?id=1` is a list of one in
/// every style. `old` has no array or object type; `new` is an array
/// (possibly nullable). The new items, to compare with the old value.
fn generalized<'a>(oc: &Contract, old: &Value, nc: &'a Contract, new: &'a Value) -> Option<&'a Value> {
    let types = |c: &Contract, s: &Value| -> Option<Vec<String>> {
        let s = c.resolve(s);
        match s.get("type")? {
            Value::String(t) => Some(vec![t.clone()]),
            Value::Array(a) => Some(a.iter().filter_map(Value::as_str).map(str::to_string).collect()),
            _ => None,
        }
    };
    let (Some(o), Some(n)) = (types(oc, old), types(nc, new)) else { return None };
    let scalar = |t: &String| !matches!(t.as_str(), "array" | "object");
    let list = o.iter().all(scalar) && n.iter().any(|t| t == "array") && n.iter().all(|t| t == "array" || t == "null");
    list.then(|| nc.resolve(new).get("items").unwrap_or(&ANY))
}

fn body_subject(side: &str, mt: &str) -> Subject {
    let tag = if mt == "application/json" { String::new() } else { format!(" ({mt})") };
    Subject { prefix: format!("{side}{tag}"), root: format!("{side} body{tag}"), at: format!("{side} body{tag}") }
}

fn is_status(code: &str) -> bool {
    code.len() == 3 && code.chars().all(|c| c.is_ascii_digit())
}

fn is_range(code: &str) -> bool {
    code.len() == 3 && code.as_bytes()[0].is_ascii_digit() && &code[1..] == "XX"
}

/// Responses by status (`200`, `2XX`, `default`), references resolved.
fn responses<'a>(c: &'a Contract, op: &'a Value) -> Vec<(String, &'a Value)> {
    let Some(m) = op.get("responses").and_then(Value::as_object) else { return Vec::new() };
    m.iter()
        .map(|(k, v)| {
            let code = if k.eq_ignore_ascii_case("default") { "default".to_string() } else { k.to_ascii_uppercase() };
            (code, c.resolve(v))
        })
        .collect()
}

/// A response's headers: (lower-case name, name as written, header object).
fn headers<'a>(c: &'a Contract, r: &'a Value) -> Vec<(String, String, &'a Value)> {
    let Some(m) = r.get("headers").and_then(Value::as_object) else { return Vec::new() };
    m.iter()
        .filter(|(k, _)| !k.eq_ignore_ascii_case("content-type"))
        .map(|(k, v)| (k.to_ascii_lowercase(), k.clone(), c.resolve(v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn templates_match_whatever_their_parameters_are_called() {
        assert_eq!(template_key("/items/{id}"), template_key("/items/{itemId}"));
        assert_ne!(template_key("/items/{id}"), template_key("/items/{id}/tags"));
        assert_eq!(template_names("/a/{x}/b/{y}"), ["x", "y"]);
    }

    #[test]
    fn a_walk_that_runs_out_of_budget_says_so() {
        let spec = |t: &str| {
            format!(
                r#"{{"openapi": "3.1.0", "info": {{"title": "t", "version": "1"}}, "paths": {{"/a": {{"get": {{"responses": {{"200": {{"description": "ok", "content": {{"application/json": {{"schema": {{"type": "object", "properties": {{"a": {{"type": "{t}"}}, "b": {{"type": "{t}"}}}}}}}}}}}}}}}}}}}}}}"#
            )
        };
        let old = crate::from_text(&spec("string"), "old.json").unwrap();
        let new = crate::from_text(&spec("integer"), "new.json").unwrap();
        let all = diff_within(&old, &new, 1000);
        assert_eq!(all.iter().filter(|c| c.rule == "response-type-changed").count(), 2, "{all:?}");
        let cut = diff_within(&old, &new, 2);
        let rules: Vec<&str> = cut.iter().map(|c| c.rule).collect();
        assert!(rules.contains(&"diff-incomplete"), "{rules:?}");
        assert!(cut.iter().all(|c| c.breaking || c.rule != "diff-incomplete"));
    }

    /// Schemas `S0`…`Sn` that all reach each other (a dense cycle), used by
    /// `n` operations; `S1.leaf` changes type in `new`.
    fn dense(n: usize, changed: bool) -> crate::Contract {
        let mut schemas = serde_json::Map::new();
        for i in 0..n {
            let mut props = serde_json::Map::new();
            props.insert("leaf".into(), json!({"type": if changed && i == 1 { "integer" } else { "string" }}));
            for (k, j) in [(i * 7 + 1) % n, (i * 13 + 5) % n, (i + 1) % n].into_iter().enumerate() {
                props.insert(format!("r{k}"), json!({"$ref": format!("#/components/schemas/S{j}")}));
            }
            props.insert(
                "list".into(),
                json!({"type": "array", "items": {"$ref": format!("#/components/schemas/S{}", (i * 3 + 2) % n)}}),
            );
            schemas.insert(format!("S{i}"), json!({"type": "object", "properties": props}));
        }
        let mut paths = serde_json::Map::new();
        for i in 0..n {
            let body =
                json!({"content": {"application/json": {"schema": {"$ref": format!("#/components/schemas/S{i}")}}}});
            paths.insert(
                format!("/r{i}"),
                json!({"get": {"responses": {"200": {"description": "ok", "content": body["content"]}}}}),
            );
        }
        let doc = json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": paths, "components": {"schemas": schemas}});
        crate::from_text(&doc.to_string(), "dense.json").unwrap()
    }

    #[test]
    fn shared_and_cyclic_schemas_are_walked_once_per_body() {
        let (old, new) = (dense(120, false), dense(120, true));
        let all = diff(&old, &new);
        assert_eq!(all.len(), 120, "one change per operation, none incomplete: {:?}", &all[..3.min(all.len())]);
        assert!(
            all.iter().all(|c| c.rule == "response-type-changed"
                && c.message.ends_with("leaf` type changed from string to integer"))
        );
        // The change is named where it is met nearest each body's root.
        let at_r1 = all.iter().find(|c| c.path == "/r1").unwrap();
        assert_eq!(at_r1.location, "response 200 body /leaf");
        let at_r0 = all.iter().find(|c| c.path == "/r0").unwrap();
        assert_eq!(at_r0.location, "response 200 body /r0/leaf", "S0.r0 is S1");
        assert!(diff(&old, &dense(120, false)).is_empty());
    }

    #[test]
    fn a_change_reachable_only_through_a_cycle_is_found() {
        // A → B → C → A; only C changes; the body is B.
        let spec = |t: &str| {
            json!({"openapi": "3.1.0", "info": {"title": "t", "version": "1"},
                "paths": {"/b": {"get": {"responses": {"200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}}}},
                "components": {"schemas": {
                    "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
                    "B": {"type": "object", "properties": {"c": {"$ref": "#/components/schemas/C"}}},
                    "C": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}, "x": {"type": t}}}
                }}})
            .to_string()
        };
        let old = crate::from_text(&spec("string"), "old.json").unwrap();
        let new = crate::from_text(&spec("boolean"), "new.json").unwrap();
        let all = diff(&old, &new);
        let lines: Vec<String> = all.iter().map(|c| format!("{} {}", c.location, c.rule)).collect();
        assert_eq!(lines, ["response 200 body /c/x response-type-changed"]);
    }

    #[test]
    fn summary_counts_every_level() {
        let c = |level: Level| Change {
            breaking: level == Level::Breaking,
            level,
            rule: "x",
            operation: None,
            path: "/".into(),
            location: "path".into(),
            message: "m".into(),
            fingerprint: String::new(),
            pointer: "/paths/~1".into(),
            in_new: false,
        };
        let (b, m, n) = (Level::Breaking, Level::MayBreak, Level::NonBreaking);
        assert_eq!(summary(&[]), "no changes");
        assert_eq!(summary(&[c(b)]), "1 breaking change, 0 non-breaking");
        assert_eq!(summary(&[c(b), c(b), c(n)]), "2 breaking changes, 1 non-breaking");
        assert_eq!(summary(&[c(b), c(m), c(n)]), "1 breaking change, 1 may break, 1 non-breaking");
        assert_eq!(summary(&[c(n)]), "0 breaking changes, 1 non-breaking");
    }
}
