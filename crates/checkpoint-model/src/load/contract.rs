//! Validation of the `openapi` spec: where the contract is, where requests
//! go, which methods, what each operation's own request says. Whether the
//! selected tags and operationIds exist is only known once the contract is
//! read, so the check itself reports those (with a did-you-mean).

use serde_json::Value;

use super::{Validator, field_spot as spot, require_http_url};
use crate::diag::{Diagnostic, Location, did_you_mean};
use crate::raw::UNDECLARED_STATUS;
use crate::yaml::Node;

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

pub(super) fn check_openapi(v: &mut Validator<'_>, spec: &Value, loc: &Location, node: Option<&Node>) {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let contract = s("spec");
    if contract.trim().is_empty() {
        let at = spot(v, node, "spec", true, loc);
        v.err(
            Diagnostic::new("`spec` is empty")
                .span(at.0, at.1)
                .label("which contract?")
                .hint("a file such as `spec: openapi.yaml`, or the service's own `spec: \"${API}/openapi.json\"`"),
        );
    } else if contract.contains("://") {
        if !contract.starts_with("http://") && !contract.starts_with("https://") && !contract.starts_with("${") {
            let at = spot(v, node, "spec", true, loc);
            v.err(
                Diagnostic::new(format!("`{contract}` is not an http(s) URL or a file"))
                    .span(at.0, at.1)
                    .label("unsupported scheme")
                    .hint("a path relative to the project root, or an `http://`/`https://` URL"),
            );
        }
    } else if !contract.contains("${") && !v.root.join(&contract).is_file() {
        let at = spot(v, node, "spec", true, loc);
        v.err(
            Diagnostic::new(format!("contract file `{contract}` not found"))
                .span(at.0, at.1)
                .label(format!("no such file under {}", v.root.display()))
                .hint("paths are relative to the project root (the folder that holds `checkpoints/`)"),
        );
    }
    if spec.get("base_url").is_some() {
        require_http_url(v, spec, "base_url", node, loc, "where the API answers, e.g. `base_url: \"${API}\"`");
    }
    let methods_node = node.and_then(|n| n.get("methods"));
    for (i, m) in spec.get("methods").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let Some(m) = m.as_str() else { continue };
        if !m.contains("${") && !METHODS.contains(&m.to_ascii_lowercase().as_str()) {
            let at = v.place(methods_node.and_then(|n| n.at(i)), loc);
            v.err(
                Diagnostic::new(format!("`{m}` is not an HTTP method")).span(at.0, at.1).label("not a method").hint(
                    did_you_mean(&m.to_ascii_lowercase(), METHODS.iter().copied())
                        .map(|x| format!("did you mean `{}`?", x.to_uppercase()))
                        .unwrap_or_else(|| "methods: GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH, TRACE".into()),
                ),
            );
        }
    }
    if let Some(auth) = spec.get("auth").and_then(Value::as_object)
        && auth.is_empty()
    {
        let at = spot(v, node, "auth", true, loc);
        v.err(
            Diagnostic::new("`auth` gives no credentials")
                .span(at.0, at.1)
                .label("empty")
                .hint("`auth: { bearer: \"${ACCESS_TOKEN}\" }`, `basic: \"user:password\"` or `api_key: …`"),
        );
    }
    if let Some(policy) = spec.get("undeclared_status").and_then(Value::as_str)
        && !policy.contains("${")
        && !UNDECLARED_STATUS.contains(&policy)
    {
        let at = spot(v, node, "undeclared_status", true, loc);
        v.err(
            Diagnostic::new(format!("`undeclared_status: {policy}` is not a policy"))
                .span(at.0, at.1)
                .label("unknown policy")
                .hint(
                    did_you_mean(policy, UNDECLARED_STATUS.iter().copied())
                        .map(|m| format!("did you mean `{m}`?"))
                        .unwrap_or_else(|| {
                            "`client-errors` (default: an undeclared 4xx is accepted), `strict` (every status declared) or `any` (only an undeclared 5xx is a violation)".into()
                        }),
                ),
        );
    }
    let requests_node = node.and_then(|n| n.get("requests"));
    for (op, r) in spec.get("requests").and_then(Value::as_object).into_iter().flatten() {
        if let Some(status) = r.get("status").and_then(Value::as_u64)
            && !(100..=599).contains(&status)
        {
            let at = v.place(requests_node.and_then(|n| n.get(op)).and_then(|n| n.get("status")), loc);
            v.err(
                Diagnostic::new(format!("`status: {status}` is not an HTTP status"))
                    .span(at.0, at.1)
                    .label("100 to 599")
                    .hint("the status this operation must answer, e.g. `status: 201`"),
            );
        }
    }
}
