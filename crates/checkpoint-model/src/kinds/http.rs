//! `http`: one HTTP request; the response's status, headers, cookies, body
//! and JSON are the observation. The request may carry one body (`json`,
//! `body` or `form`, form values scalars) and says how much of the response
//! to read (`max_body`).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Cx, Kind, article, check_method, given};
use crate::diag::Diagnostic;

/// An HTTP request.
#[derive(Clone, Debug, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSpec {
    /// `GET` (default), `POST`, …
    pub method: Option<String>,
    pub url: String,
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// A JSON body (sets `content-type: application/json`).
    pub json: Option<Value>,
    /// A raw text body.
    pub body: Option<String>,
    /// A form body, names to scalars, sent as `application/x-www-form-urlencoded`
    /// (percent-encoded, in order): OAuth2's password login.
    pub form: Option<IndexMap<String, Value>>,
    /// Send the gate's cookies and keep the ones the response sets (default
    /// true); `false` sends none and keeps none.
    #[serde(default = "super::yes")]
    pub cookies: bool,
    /// The most of a response body read (default `8MiB`): `50MB`, `512KiB`,
    /// `1048576`. A longer body is never judged: `json`/`body` expectations
    /// on it say its size and this setting.
    pub max_body: Option<String>,
    /// Follow redirects (default false: a redirect is an observation).
    #[serde(default)]
    pub follow_redirects: bool,
    /// Accept invalid TLS certificates (self-signed staging).
    #[serde(default)]
    pub insecure: bool,
}

impl Kind for HttpSpec {
    const NAME: &'static str = "http";
    const EXPECT: &'static [&'static str] = &["status", "headers", "cookies", "json", "body", "duration"];

    fn validate(&self, cx: &mut Cx<'_>) {
        check_method(cx, self.method.as_deref().unwrap_or_default());
        let url = &self.url;
        if !(url.contains("${") || url.starts_with("http://") || url.starts_with("https://")) {
            let at = cx.value_at("url");
            let hint = if url.contains("://") {
                "an http check speaks HTTP: use `http://` or `https://` (a `tcp` check tests other ports)".to_string()
            } else {
                format!(
                    "write a full URL: `http://{url}`, or `http://${{service.api.8000}}/health` for a stack service"
                )
            };
            cx.err_at(
                at,
                Diagnostic::new(format!("`{url}` is not an http(s) URL"))
                    .label("needs `http://` or `https://`")
                    .hint(hint),
            );
        }
        let body = Body { json: &self.json, body: &self.body, form: &self.form, max_body: self.max_body.as_deref() };
        check_body(cx, Self::NAME, &body);
    }
}

/// A request's body fields, as `http` and `latency` both write them.
#[allow(clippy::struct_field_names, reason = "`body:` is the key users write")]
pub(crate) struct Body<'a> {
    pub(crate) json: &'a Option<Value>,
    pub(crate) body: &'a Option<String>,
    pub(crate) form: &'a Option<IndexMap<String, Value>>,
    pub(crate) max_body: Option<&'a str>,
}

/// At most one of `json`, `body`, `form`; `max_body` a size; form values are scalars.
pub(crate) fn check_body(cx: &mut Cx<'_>, kind: &str, b: &Body<'_>) {
    let bodies = given([("json", b.json.is_some()), ("body", b.body.is_some()), ("form", b.form.is_some())]);
    if bodies.len() > 1 {
        let every = if kind == "latency" { " with every request" } else { "" };
        let a = if kind == "http" { "an" } else { article(kind) };
        cx.err_at(
            cx.key_at(bodies[1]),
            Diagnostic::new(format!("{a} {kind} check has both `{}` and `{}`", bodies[0], bodies[1]))
                .label("second body")
                .hint(format!("send one body{every}: `json:`, `body:` or `form:`")),
        );
    }
    if let Some(size) = b.max_body
        && !size.contains("${")
        && crate::size::parse(size).is_none()
    {
        cx.err_at(
            cx.value_at("max_body"),
            Diagnostic::new(format!("`{size}` is not a size"))
                .label("max_body")
                .hint("write bytes with a unit: `50MB`, `512KiB`, `2GiB` (default `8MiB`)"),
        );
    }
    let form_node = cx.field("form");
    for (name, value) in b.form.iter().flatten() {
        if matches!(value, Value::Array(_) | Value::Object(_)) {
            cx.err_at(
                cx.place(form_node.and_then(|n| n.get(name))),
                Diagnostic::new(format!("form field `{name}` is not a single value")).label("a list or mapping").hint(
                    "a form sends names with text: `form: { username: \"${EMAIL}\", password: \"${USER_PASSWORD}\" }`",
                ),
            );
        }
    }
}
