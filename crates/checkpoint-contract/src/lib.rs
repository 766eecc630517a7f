//! OpenAPI contracts for `checkpoint`: what the `openapi` and `contract-diff`
//! check kinds and `checkpoint contract diff` work on.
//!
//! - [`load`]: a spec from YAML or JSON, `$ref`s within and across files
//!   bundled into one document, OpenAPI 3.0 schemas rewritten to the JSON
//!   Schema 2020-12 meaning 3.1 uses (`nullable`, boolean exclusive bounds).
//! - [`ops`]: the operations, selected by tag, operationId, path or method.
//! - [`sample`]: a request for an operation from the spec's examples, or a
//!   minimal instance valid against its schema.
//! - [`diff`]: breaking changes between two contracts, each change classed
//!   breaking or not by a stable rule.
//! - [`validate`]: a response against the operation's declared statuses,
//!   media types and schemas; each problem names the JSON pointer in the body
//!   and the schema rule broken.
//!
//! Synchronous and without network I/O: fetching a spec is the caller's job
//! ([`load::Bundler`] says what to fetch).

pub mod diff;
pub mod load;
mod normalize;
pub mod ops;
pub mod pointer;
pub mod sample;
pub mod validate;
mod walk;

use serde_json::Value;

pub use load::{Bundler, from_file, from_text, parse_document};

/// Which OpenAPI: 3.0 schemas have been rewritten to 3.1's meaning on load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V3_0,
    V3_1,
}

/// A contract that cannot be loaded: where, and why, in one line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct LoadError {
    /// The file, URL or `$ref` at fault.
    pub origin: String,
    pub message: String,
}

impl LoadError {
    pub fn new(origin: impl Into<String>, message: impl Into<String>) -> Self {
        Self { origin: origin.into(), message: message.into() }
    }
}

/// A loaded contract: one document, every `$ref` in it internal (`#/…`).
#[derive(Clone, Debug)]
pub struct Contract {
    pub doc: Value,
    pub version: Version,
    /// Where the root document came from, for messages.
    pub source: String,
    /// Bundled documents: key under `x-checkpoint-documents` → file or URL.
    documents: Vec<(String, String)>,
}

/// How many `$ref` hops [`Contract::resolve`] follows before giving up (a cycle).
const MAX_HOPS: usize = 32;

impl Contract {
    /// The value at an internal reference (`#/components/schemas/Item`) or
    /// JSON pointer (`/components/schemas/Item`).
    pub fn get(&self, reference: &str) -> Option<&Value> {
        let p = reference.strip_prefix('#').unwrap_or(reference);
        pointer::get(&self.doc, p)
    }

    /// Follows `$ref`s from `v` to the object they name (parameters,
    /// responses, request bodies, path items). `v` itself when it is no reference.
    pub fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        for _ in 0..MAX_HOPS {
            match v.get("$ref").and_then(Value::as_str).and_then(|r| self.get(r)) {
                Some(next) => v = next,
                None => return v,
            }
        }
        v
    }

    /// An internal reference as its author wrote it: `common.yaml#/components/schemas/Error`.
    pub fn display_ref(&self, reference: &str) -> String {
        let p = pointer::from_fragment(reference.strip_prefix('#').unwrap_or(reference));
        let p = p.as_str();
        if let Some(rest) = p.strip_prefix(&format!("/{}/", load::DOCUMENTS)) {
            let (key, tail) = rest.split_once('/').map_or((rest, ""), |(k, t)| (k, t));
            let key = pointer::unescape(key);
            if let Some((_, name)) = self.documents.iter().find(|(k, _)| *k == key) {
                return if tail.is_empty() { name.clone() } else { format!("{name}#/{tail}") };
            }
        }
        format!("#{p}")
    }

    /// Every internal `$ref` must name something: a dangling one is a load
    /// error here, not a confusing validation failure later.
    fn check_refs(&self) -> Result<(), LoadError> {
        let mut refs = Vec::new();
        walk::refs(&self.doc, "", &mut refs);
        for (at, r) in refs {
            if r.starts_with("#/") && self.get(&r).is_none() {
                return Err(LoadError::new(
                    self.display_ref(&at),
                    format!("`$ref: {}` names nothing in the contract", self.display_ref(&r)),
                ));
            }
        }
        Ok(())
    }
}
