//! `openapi`: every selected operation of an OpenAPI contract called, each
//! response validated against the contract (status declared, content type,
//! body schema); each operation is a case of its own in the reports. Whether
//! the selected tags and operationIds exist is only known once the contract
//! is read, so the runner reports those (with a did-you-mean).

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Cx, Kind, require_http_url};
use crate::diag::{Diagnostic, did_you_mean, did_you_mean_or};

const METHODS: &[&str] = &["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/// Every selected operation of an OpenAPI contract called, each response
/// validated against the contract: status declared, content type, body schema.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenapiSpec {
    /// The contract: a file (relative to the project root, YAML or JSON) or a
    /// URL, such as the live service's own `"${API}/openapi.json"`.
    pub spec: String,
    /// Where requests go: `"${API}"`. Default: the contract's first absolute `servers` URL.
    pub base_url: Option<String>,
    /// Only operations with one of these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Only these operations (by operationId).
    #[serde(default)]
    pub operations: Vec<String>,
    /// Only these paths: exact (`/items/{id}`) or a prefix ending in `*` (`/items*`).
    #[serde(default)]
    pub paths: Vec<String>,
    /// Only these methods: `[GET]` for a read-only pass.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Operations to leave out: operationIds or `METHOD /path`.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Parameter values by name, for every operation that has the parameter: `{ id: "${ITEM_ID}" }`.
    #[serde(default)]
    pub params: IndexMap<String, Value>,
    /// Per operation (operationId or `METHOD /path`): its own parameters, body and expected status.
    #[serde(default)]
    pub requests: IndexMap<String, OpenapiRequest>,
    /// Credentials for the operations whose `security` asks for them.
    pub auth: Option<OpenapiAuth>,
    /// Headers sent with every request.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Send the gate's cookies with every request, and with the fetch of a
    /// served `spec` (default false): the
    /// session a Django login opened, and its `csrftoken` for the unsafe
    /// methods (with `headers: { X-CSRFToken: "${CSRF}" }`). The cookies are
    /// read as they are when the check starts; what the responses set is not
    /// kept, so an operation that logs out cannot end the gate's session.
    #[serde(default)]
    pub cookies: bool,
    /// What an answer with a status the contract does not declare is:
    /// `client-errors` (default: an undeclared 4xx is accepted, any other is
    /// a violation — FastAPI declares no 401/403/404), `strict` (every
    /// undeclared status is a violation) or `any` (only an undeclared 5xx is).
    #[schemars(with = "Option<UndeclaredStatus>")]
    pub undeclared_status: Option<String>,
}

/// What an `openapi` check makes of a status the contract does not declare
/// (only for the JSON Schema; validated in [`crate::kinds::openapi`]).
#[derive(JsonSchema)]
#[serde(rename_all = "kebab-case")]
#[expect(dead_code, reason = "schema only")]
enum UndeclaredStatus {
    ClientErrors,
    Strict,
    Any,
}

/// The values of `openapi`'s `undeclared_status`, the default first.
pub const UNDECLARED_STATUS: &[&str] = &["client-errors", "strict", "any"];

/// One operation's own request values.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenapiRequest {
    /// Parameter values for this operation only (they win over `params`).
    #[serde(default)]
    pub params: IndexMap<String, Value>,
    /// The request body, instead of the contract's example or a generated one.
    pub body: Option<Value>,
    /// The status this call must answer (it must also be declared): `201`.
    pub status: Option<u16>,
}

/// Credentials, applied per security scheme of the contract.
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenapiAuth {
    /// A bearer token (`http: bearer`, `oauth2`, `openIdConnect` schemes): `"${ACCESS_TOKEN}"`.
    pub bearer: Option<String>,
    /// `user:password` for `http: basic` schemes.
    pub basic: Option<String>,
    /// A key for `apiKey` schemes (header, query or cookie, as the scheme says).
    pub api_key: Option<String>,
}

impl Kind for OpenapiSpec {
    const NAME: &'static str = "openapi";
    const EXPECT: &'static [&'static str] = &["operations", "violations", "json", "duration"];

    /// Where the contract is, where requests go, which methods, what each
    /// operation's own request says.
    fn validate(&self, cx: &mut Cx<'_>) {
        self.check_contract(cx);
        if let Some(base) = &self.base_url {
            require_http_url(cx, base, "base_url", "where the API answers, e.g. `base_url: \"${API}\"`");
        }
        let methods_node = cx.field("methods");
        for (i, m) in self.methods.iter().enumerate() {
            if !m.contains("${") && !METHODS.contains(&m.to_ascii_lowercase().as_str()) {
                cx.err_at(
                    cx.place(methods_node.and_then(|n| n.at(i))),
                    Diagnostic::new(format!("`{m}` is not an HTTP method")).label("not a method").hint(
                        did_you_mean(&m.to_ascii_lowercase(), METHODS.iter().copied()).map_or_else(
                            || "methods: GET, PUT, POST, DELETE, OPTIONS, HEAD, PATCH, TRACE".into(),
                            |x| format!("did you mean `{}`?", x.to_uppercase()),
                        ),
                    ),
                );
            }
        }
        if let Some(auth) = &self.auth
            && auth.bearer.is_none()
            && auth.basic.is_none()
            && auth.api_key.is_none()
        {
            cx.err_at(
                cx.value_at("auth"),
                Diagnostic::new("`auth` gives no credentials")
                    .label("empty")
                    .hint("`auth: { bearer: \"${ACCESS_TOKEN}\" }`, `basic: \"user:password\"` or `api_key: …`"),
            );
        }
        if let Some(policy) = self.undeclared_status.as_deref()
            && !policy.contains("${")
            && !UNDECLARED_STATUS.contains(&policy)
        {
            cx.err_at(
                cx.value_at("undeclared_status"),
                Diagnostic::new(format!("`undeclared_status: {policy}` is not a policy"))
                    .label("unknown policy")
                    .hint(
                        did_you_mean_or(policy, UNDECLARED_STATUS.iter().copied(), || {
                                "`client-errors` (default: an undeclared 4xx is accepted), `strict` (every status declared) or `any` (only an undeclared 5xx is a violation)".into()
                            }),
                    ),
            );
        }
        let requests_node = cx.field("requests");
        for (op, r) in &self.requests {
            if let Some(status) = r.status
                && !(100..=599).contains(&status)
            {
                cx.err_at(
                    cx.place(requests_node.and_then(|n| n.get(op)).and_then(|n| n.get("status"))),
                    Diagnostic::new(format!("`status: {status}` is not an HTTP status"))
                        .label("100 to 599")
                        .hint("the status this operation must answer, e.g. `status: 201`"),
                );
            }
        }
    }
}

impl OpenapiSpec {
    /// `spec` is a file under the project root or an http(s) URL.
    fn check_contract(&self, cx: &mut Cx<'_>) {
        let contract = &self.spec;
        if contract.trim().is_empty() {
            cx.err_at(
                cx.value_at("spec"),
                Diagnostic::new("`spec` is empty")
                    .label("which contract?")
                    .hint("a file such as `spec: openapi.yaml`, or the service's own `spec: \"${API}/openapi.json\"`"),
            );
        } else if contract.contains("://") {
            if !contract.starts_with("http://") && !contract.starts_with("https://") && !contract.starts_with("${") {
                cx.err_at(
                    cx.value_at("spec"),
                    Diagnostic::new(format!("`{contract}` is not an http(s) URL or a file"))
                        .label("unsupported scheme")
                        .hint("a path relative to the project root, or an `http://`/`https://` URL"),
                );
            }
        } else if !contract.contains("${") && !cx.root.join(contract).is_file() {
            cx.err_at(
                cx.value_at("spec"),
                Diagnostic::new(format!("contract file `{contract}` not found"))
                    .label(format!("no such file under {}", cx.root.display()))
                    .hint("paths are relative to the project root (the folder that holds `checkpoints/`)"),
            );
        }
    }
}
