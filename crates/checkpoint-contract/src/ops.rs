//! A contract's operations, and choosing some of them.

use serde_json::{Map, Value};

use crate::{Contract, pointer};

/// Methods in the order operations are listed (and called): reads before
/// writes, deletes last, so a path's GET sees what its DELETE later removes.
pub const METHODS: &[&str] = &["get", "head", "options", "put", "post", "patch", "delete", "trace"];

/// One operation of the contract.
#[derive(Clone, Debug)]
pub struct Operation<'a> {
    /// `GET`.
    pub method: String,
    /// `/items/{id}`.
    pub path: String,
    pub operation_id: Option<String>,
    pub tags: Vec<String>,
    /// The operation object.
    pub op: &'a Value,
    /// Where it is: `/paths/~1items~1{id}/get`.
    pub pointer: String,
    /// Path-level and operation-level parameters, references resolved; the
    /// operation's win (by `name` + `in`).
    pub parameters: Vec<&'a Value>,
    /// The security requirements that apply (the operation's, else the
    /// document's); empty means none.
    pub security: Vec<&'a Map<String, Value>>,
}

impl Operation<'_> {
    /// Whether `name` names this operation: its operationId, or `METHOD /path`
    /// (method in any case), as `exclude:` and `requests:` keys are written.
    pub fn is_named(&self, name: &str) -> bool {
        self.operation_id.as_deref() == Some(name)
            || name.split_once(' ').is_some_and(|(m, p)| m.eq_ignore_ascii_case(&self.method) && p == self.path)
    }

    /// Whether a `paths:` entry covers this operation: exact, or a prefix ending in `*`.
    fn on_path(&self, pattern: &str) -> bool {
        match pattern.strip_suffix('*') {
            Some(prefix) => self.path.starts_with(prefix),
            None => self.path == pattern,
        }
    }

    /// `GET /items/{id} (getItem)`: how reports name the operation.
    pub fn label(&self) -> String {
        match &self.operation_id {
            Some(id) => format!("{} {} ({id})", self.method, self.path),
            None => format!("{} {}", self.method, self.path),
        }
    }
}

impl Contract {
    /// Every operation, in the document's path order, methods as [`METHODS`].
    pub fn operations(&self) -> Vec<Operation<'_>> {
        let mut out = Vec::new();
        let Some(Value::Object(paths)) = self.doc.get("paths") else { return out };
        let global: Vec<&Map<String, Value>> = security(self.doc.get("security"));
        for (path, item) in paths {
            let item_ptr = pointer::push("/paths", path);
            let item = self.resolve(item);
            let shared: Vec<&Value> = list(item.get("parameters")).iter().map(|p| self.resolve(p)).collect();
            for m in METHODS {
                let Some(op) = item.get(*m).filter(|o| o.is_object()) else { continue };
                let own: Vec<&Value> = list(op.get("parameters")).iter().map(|p| self.resolve(p)).collect();
                let key = |p: &Value| (p.get("name").cloned(), p.get("in").cloned());
                let mut parameters: Vec<&Value> =
                    shared.iter().copied().filter(|s| !own.iter().any(|o| key(o) == key(s))).collect();
                parameters.extend(own);
                let security = match op.get("security") {
                    Some(s) => security(Some(s)),
                    None => global.clone(),
                };
                out.push(Operation {
                    method: m.to_uppercase(),
                    path: path.clone(),
                    operation_id: op.get("operationId").and_then(Value::as_str).map(str::to_string),
                    tags: list(op.get("tags")).iter().filter_map(|t| t.as_str().map(str::to_string)).collect(),
                    op,
                    pointer: pointer::push(&item_ptr, m),
                    parameters,
                    security,
                });
            }
        }
        out
    }
}

fn list(v: Option<&Value>) -> &[Value] {
    v.and_then(Value::as_array).map_or(&[], Vec::as_slice)
}

/// Security requirements; an empty requirement object (`- {}`) means
/// "anonymous is allowed", so a list holding one needs no credentials.
fn security(v: Option<&Value>) -> Vec<&Map<String, Value>> {
    let reqs: Vec<&Map<String, Value>> = list(v).iter().filter_map(Value::as_object).collect();
    if reqs.iter().any(|r| r.is_empty()) { Vec::new() } else { reqs }
}

/// Which operations to call: each list that is not empty must match.
#[derive(Clone, Debug, Default)]
pub struct Selection {
    /// Operations with at least one of these tags.
    pub tags: Vec<String>,
    /// Operations with one of these operationIds.
    pub operations: Vec<String>,
    /// Paths: exact (`/items/{id}`) or a prefix ending in `*` (`/items*`).
    pub paths: Vec<String>,
    /// Methods (any case).
    pub methods: Vec<String>,
    /// operationIds or `METHOD /path` to leave out.
    pub exclude: Vec<String>,
}

impl Selection {
    pub fn matches(&self, op: &Operation<'_>) -> bool {
        let tag = self.tags.is_empty() || op.tags.iter().any(|t| self.tags.contains(t));
        let id = self.operations.is_empty() || op.operation_id.as_ref().is_some_and(|i| self.operations.contains(i));
        let path = self.paths.is_empty() || self.paths.iter().any(|p| op.on_path(p));
        let method = self.methods.is_empty() || self.methods.iter().any(|m| m.eq_ignore_ascii_case(&op.method));
        let excluded = self.exclude.iter().any(|x| op.is_named(x));
        tag && id && path && method && !excluded
    }

    /// Names in the selection that match no operation: a typo in a filter
    /// must not silently select nothing.
    pub fn unmatched(&self, ops: &[Operation<'_>]) -> Vec<String> {
        let mut out = Vec::new();
        for t in &self.tags {
            if !ops.iter().any(|o| o.tags.contains(t)) {
                out.push(format!("tag `{t}`"));
            }
        }
        for i in &self.operations {
            if !ops.iter().any(|o| o.operation_id.as_ref() == Some(i)) {
                out.push(format!("operationId `{i}`"));
            }
        }
        for x in &self.exclude {
            if !ops.iter().any(|o| o.is_named(x)) {
                out.push(format!("excluded operation `{x}`"));
            }
        }
        for p in &self.paths {
            if !ops.iter().any(|o| o.on_path(p)) {
                out.push(format!("path `{p}`"));
            }
        }
        out
    }
}
