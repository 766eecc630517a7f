//! A check, validated: its name, its one kind (the kind's own rules are in
//! [`crate::kinds`]), its expectations against the fields the kind
//! observes, its captures, timeout and retry.

use serde_json::Value;
use serde_saphyr::Spanned;

use super::{DEFAULT_TIMEOUT, Validator, capture};
use crate::diag::{Diagnostic, Location};
use crate::interp::Template;
use crate::kinds::{self, CheckSpec, Cx};
use crate::matcher::Matcher;
use crate::plan::{Check, Expectation, Retry};
use crate::raw::{KINDS, RawCheck, RawExpect};
use crate::yaml::{self, Node};

impl Validator<'_> {
    #[expect(clippy::too_many_lines, reason = "one linear pass over a check's fields reads best in one place")]
    pub(super) fn check(&mut self, mut c: RawCheck, node: Option<&Node>, services: Option<&[String]>) -> Check {
        let location = self.loc(&c.name);
        let name_spot = self.spot(&c.name);
        let name = c.name.value.trim().to_string();
        if name.is_empty() {
            self.err(
                Diagnostic::new("a check has an empty name")
                    .span(name_spot.0.clone(), name_spot.1)
                    .label("no text")
                    .hint("describe what it observes, e.g. `name: GET /health answers 200`"),
            );
        }
        let mut during = Vec::new();
        let mut after = Vec::new();
        let listening = std::mem::take(&mut c.during);
        let listens = !listening.is_empty();
        let kinds::Taken { first, more, fault } = kinds::take(&mut c);
        if let Some(f) = fault {
            let fault_node = node.and_then(|n| n.get("fault"));
            for (i, x) in f.during.into_iter().enumerate() {
                during.push(self.check(x, fault_node.and_then(|n| n.get("during")).and_then(|n| n.at(i)), services));
            }
            for (i, x) in f.after.into_iter().enumerate() {
                after.push(self.check(x, fault_node.and_then(|n| n.get("after")).and_then(|n| n.at(i)), services));
            }
        }
        let during_node = node.and_then(|n| n.get("during"));
        for (i, x) in listening.into_iter().enumerate() {
            during.push(self.check(x, during_node.and_then(|n| n.at(i)), services));
        }
        // A check without exactly one kind is still returned (its file is
        // marked broken): its captures keep later checks from being reported
        // as using undefined variables. It keeps a spec without strings.
        let (kind, spec) = match (first, more.first()) {
            (Some(spec), None) => (spec.kind(), Some(spec)),
            (None, _) => {
                self.err_at(
                    name_spot,
                    Diagnostic::new(format!("check `{name}` has no kind"))
                        .label("what does it observe?")
                        .hint(format!("add exactly one of: {}", KINDS.join(", "))),
                );
                ("none", None)
            }
            (Some(spec), Some(second)) => {
                let first = spec.kind();
                let names: Vec<&str> = std::iter::once(first).chain(more.iter().copied()).collect();
                self.err_at(
                    self.place(node.and_then(|n| n.key(second)), &location),
                    Diagnostic::new(format!("check `{name}` has several kinds: {}", names.join(", ")))
                        .label(format!("a second kind after `{first}`"))
                        .hint("a check observes one thing; split it into one check per kind"),
                );
                (first, None)
            }
        };
        // Every `${…}` written in this check (its nested fault checks keep their own).
        if let Some(n) = node {
            let mut strings = Vec::new();
            for (k, v) in n.as_map().unwrap_or_default() {
                match k.key_str().as_ref() {
                    "fault" => {
                        for (fk, fv) in v.as_map().unwrap_or_default() {
                            if !matches!(fk.key_str().as_ref(), "during" | "after") {
                                fv.strings(&mut strings);
                            }
                        }
                    }
                    "name" | "capture" | "during" => {}
                    _ => v.strings(&mut strings),
                }
            }
            let refs = strings.iter().flat_map(|s| yaml::var_refs(self.text, s, &self.file)).collect();
            self.spots.check_refs.insert(location.clone(), refs);
        }
        let spec_entry = node.and_then(|n| n.entry(kind));
        let expect = match &spec {
            Some(spec) => {
                self.check_spec(spec, &name, &location, spec_entry, services);
                self.expectations(
                    kind,
                    spec.expect_fields(),
                    c.expect.map(|e| *e).unwrap_or_default(),
                    node.and_then(|n| n.get("expect")),
                )
            }
            None => Vec::new(),
        };
        if let Some(spec) = &spec
            && listens
            && spec.listen().is_none()
        {
            self.err_at(
                self.place(node.and_then(|n| n.key("during")), &location),
                Diagnostic::new(format!("`during` goes with a check that listens, not with `{kind}`"))
                    .label("nothing listens while these run")
                    .hint(
                        "`websocket:`, or `redis:` with `subscribe:`, runs its `during:` checks after connecting; \
                         a fault's go under `fault: { during: … }`",
                    ),
            );
        }
        let capture = capture::captures(self, kind, &c.capture, node.and_then(|n| n.get("capture")));
        let written = c.timeout.as_ref().and_then(|t| self.duration(t, "timeout"));
        let timeout = match &spec {
            Some(spec) => {
                let mut cx = self.cx(&name, &location, spec_entry);
                spec.timeout(&mut cx, c.timeout.as_ref(), written)
            }
            None => written,
        }
        .unwrap_or(DEFAULT_TIMEOUT);
        let retry = c.retry.as_ref().and_then(|r| {
            let until = self.duration(&r.until, "retry.until");
            let every = match &r.every {
                Some(e) => self.duration(e, "retry.every"),
                None => Some(Retry::DEFAULT_EVERY),
            };
            Some(Retry { until: until?, every: every? })
        });
        // A spec without strings for a check the loader could not type: its
        // file is reported broken, so it never reaches the runner.
        let spec = spec.unwrap_or_else(|| CheckSpec::Tcp(kinds::TcpSpec::default()));
        let service = c.service.clone().or_else(|| spec.service());
        if let (Some(svc), Some(known)) = (&c.service, services)
            && !known.is_empty()
            && !known.contains(svc)
        {
            self.unknown_service(self.place(node.and_then(|n| n.get("service")), &location), svc, known);
        }
        Check { name, spec, expect, capture, timeout, retry, service, location, during, after }
    }

    /// What a kind's validation sees of this file and check.
    fn cx<'c>(&'c mut self, name: &'c str, loc: &'c Location, entry: Option<(&'c Node, &'c Node)>) -> Cx<'c> {
        let whole = self.place(entry.map(|e| e.0), loc);
        Cx { file: &self.file, root: &self.root, diags: &mut *self.diags, name, loc, node: entry.map(|e| e.1), whole }
    }

    /// The spec's rules: every `${…}` well formed, the kind's own rules, the
    /// services it names in the compose file.
    fn check_spec(
        &mut self,
        spec: &CheckSpec,
        name: &str,
        loc: &Location,
        entry: Option<(&Node, &Node)>,
        services: Option<&[String]>,
    ) {
        let node = entry.map(|e| e.1);
        let mut templates = Vec::new();
        spec_templates(spec, &mut templates);
        for (path, t) in &templates {
            if let Err(e) = Template::parse(t) {
                let mut strings = Vec::new();
                if let Some(n) = node {
                    n.strings(&mut strings);
                }
                let n = strings.into_iter().find(|s| matches!(&s.value, yaml::Value::Str(v) if v == t));
                self.err_at(
                    self.place(n, loc),
                    Diagnostic::new(format!("in `{path}`: {}", e.message)).label("malformed `${…}`").hint_opt(e.hint),
                );
            }
        }
        spec.validate(&mut self.cx(name, loc, entry));
        // Services named by stack-bound kinds must exist.
        if let Some(known) = services.filter(|k| !k.is_empty()) {
            let named = spec.services_named();
            let mut strings = Vec::new();
            if let Some(n) = node {
                for (k, v) in n.as_map().unwrap_or_default() {
                    if !matches!(k.key_str().as_ref(), "during" | "after") {
                        v.strings(&mut strings);
                    }
                }
            }
            for n in named {
                if !n.contains("${") && !known.iter().any(|k| k == n) {
                    let written = strings.iter().find(|s| matches!(&s.value, yaml::Value::Str(v) if v == n)).copied();
                    self.unknown_service(self.place(written, loc), n, known);
                }
            }
        }
    }

    fn expectations(&mut self, kind: &str, allowed: &[&str], e: RawExpect, node: Option<&Node>) -> Vec<Expectation> {
        let mut out = Vec::new();
        // The one-value fields, in this order (a check writes two or three of them).
        macro_rules! single {
            ($($field:ident),+) => {$(
                if let Some(v) = e.$field {
                    let entry = node.and_then(|n| n.entry(stringify!($field)));
                    self.expectation(kind, allowed, stringify!($field), None, &v, entry, &mut out);
                }
            )+};
        }
        single!(
            status,
            body,
            duration,
            row_count,
            reply,
            exit_code,
            stdout,
            stderr,
            value,
            series,
            conflicts,
            error_rate,
            errors,
            p50,
            p90,
            p95,
            p99,
            max,
            min,
            mean,
            rps,
            requests,
            hit_ratio,
            keyspace_hits,
            keyspace_misses,
            operations,
            violations,
            breaking,
            changes,
            messages,
            received,
            close_code,
            rows_affected,
            length,
            pending,
            lag,
            consumers,
            round_trip
        );
        let headers_node = node.and_then(|n| n.get("headers"));
        for (h, v) in &e.headers {
            let entry = headers_node.and_then(|n| n.entry(h));
            self.expectation(kind, allowed, "headers", Some(h.to_ascii_lowercase()), v, entry, &mut out);
        }
        let cookies_node = node.and_then(|n| n.get("cookies"));
        for (name, v) in &e.cookies {
            let entry = cookies_node.and_then(|n| n.entry(name));
            self.expectation(kind, allowed, "cookies", Some(name.clone()), v, entry, &mut out);
        }
        let json_node = node.and_then(|n| n.get("json"));
        for (path, v) in &e.json {
            let entry = json_node.and_then(|n| n.entry(path));
            if let Err(err) = crate::json_path::parse(path) {
                let at = self.place(entry.map(|e| e.0), &self.loc(v));
                let hint = if path.starts_with('$') {
                    "JSONPath per RFC 9535, e.g. `$.status` or `$.items[0].id`".to_string()
                } else {
                    format!("a JSONPath starts with `$`: did you mean `$.{path}`?")
                };
                self.err_at(
                    at,
                    Diagnostic::new(format!("invalid JSONPath `{path}` in `expect.json`"))
                        .label(if path.starts_with('$') {
                            jsonpath_label(&err.to_string())
                        } else {
                            "not a JSONPath".into()
                        })
                        .hint(hint),
                );
                continue;
            }
            self.expectation(kind, allowed, "json", Some(path.clone()), v, entry, &mut out);
        }
        out
    }

    #[expect(clippy::too_many_arguments, reason = "the expectation, its place, and where to collect it")]
    fn expectation(
        &mut self,
        kind: &str,
        allowed: &[&str],
        field: &str,
        key: Option<String>,
        v: &Spanned<Value>,
        entry: Option<(&Node, &Node)>,
        out: &mut Vec<Expectation>,
    ) {
        let loc = self.loc(v);
        if !allowed.contains(&field) {
            self.err_at(
                self.place(entry.map(|e| e.0), &loc),
                Diagnostic::new(format!("`expect.{field}` does not apply to {} {kind} check", kinds::article(kind)))
                    .label(format!("not observed by {kind}"))
                    .hint(format!("{} {kind} check can expect: {}", kinds::article(kind), allowed.join(", "))),
            );
            return;
        }
        match Matcher::parse(&v.value) {
            Ok(matcher) => out.push(Expectation { field: field.to_string(), key, matcher, location: loc }),
            Err(e) => {
                let label = match &key {
                    Some(k) => format!("expect.{field} {k}"),
                    None => format!("expect.{field}"),
                };
                let value_node = entry.map(|e| e.1);
                let at = match (&e.op, value_node) {
                    (Some(op), Some(n)) => {
                        let unknown = !crate::matcher::OPERATORS.contains(&op.as_str());
                        let found = find_key(n, op).map(|(k, v)| if unknown { k } else { v });
                        self.place(found.or(Some(n)), &loc)
                    }
                    _ => self.place(value_node, &loc),
                };
                self.err_at(
                    at,
                    Diagnostic::new(format!("in `{label}`: {}", e.message))
                        .label(if e.message.starts_with("unknown matcher") { "not a matcher" } else { "invalid" })
                        .hint(e.hint.unwrap_or_else(|| {
                            format!(
                                "matchers: {}; see the README's expectations section",
                                crate::matcher::OPERATORS.join(", ")
                            )
                        })),
                );
            }
        }
    }
}

/// Every string of a spec that holds `${…}`, with its path (`http.headers.Authorization`).
pub(super) fn spec_templates(spec: &CheckSpec, out: &mut Vec<(String, String)>) {
    let kind = spec.kind();
    spec.each_string(&mut |path, s| {
        if s.contains("${") {
            out.push((crate::interp::walk::path_text(kind, path), s.to_string()));
        }
    });
}

/// The first entry with key `key` in a tree of mappings, depth first.
fn find_key<'a>(n: &'a Node, key: &str) -> Option<(&'a Node, &'a Node)> {
    for (k, v) in n.as_map()? {
        if k.key_str() == key {
            return Some((k, v));
        }
        if let Some(found) = find_key(v, key) {
            return Some(found);
        }
    }
    None
}

/// serde_json_path's error, shortened to fit under the carets.
pub(super) fn jsonpath_label(e: &str) -> String {
    let e = e.split_once(", ").map_or(e, |(_, rest)| rest);
    e.trim().to_string()
}
