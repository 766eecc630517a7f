//! Loading a contract: one OpenAPI document and every document its `$ref`s
//! name, bundled into one JSON value whose references are all internal.
//!
//! Sans-IO: [`Bundler`] says which documents it still needs
//! ([`Bundler::pending`]); the caller reads files or fetches URLs — async or
//! not — and hands the text back ([`Bundler::add`]). [`Bundler::finish`] then
//! places every other document under `x-checkpoint-documents` in the root and
//! rewrites each `$ref` to a pointer into that one document, so the
//! validator, the request builder and the differ never see a file or a URL.

use serde_json::{Map, Value};
use url::Url;

use crate::{Contract, LoadError, Version, normalize, pointer};

/// Where bundled documents live in the root document.
pub(crate) const DOCUMENTS: &str = "x-checkpoint-documents";

/// Most documents one contract may pull in through `$ref`s.
const MAX_DOCUMENTS: usize = 256;

/// Parses one document: JSON when it looks like JSON, YAML otherwise.
pub fn parse_document(text: &str, name: &str) -> Result<Value, LoadError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.trim_start().starts_with('{') {
        return serde_json::from_str(text).map_err(|e| {
            LoadError::new(name, format!("line {} column {}: {}", e.line(), e.column(), json_reason(&e)))
        });
    }
    serde_saphyr::from_str(text).map_err(|e| LoadError::new(name, yaml_reason(&e)))
}

fn json_reason(e: &serde_json::Error) -> String {
    let s = e.to_string();
    // serde_json appends " at line L column C", which the prefix already says.
    match s.rfind(" at line ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn yaml_reason(e: &serde_saphyr::Error) -> String {
    let text = e.to_string();
    let first = text.lines().next().unwrap_or("invalid YAML").trim();
    // serde-saphyr renders like rustc (`error: line 2 column 8: …`); the
    // caller already says it is an error.
    let first = first.strip_prefix("error: ").unwrap_or(first).to_string();
    match e.location() {
        Some(l) if !first.contains("line ") => format!("line {} column {}: {first}", l.line(), l.column()),
        _ => first,
    }
}

/// Collects a contract's documents; see the module documentation.
#[derive(Debug)]
pub struct Bundler {
    /// The root first, then every document a `$ref` named, in the order added.
    docs: Vec<(Url, Value)>,
    /// Documents named but not yet added, with the first place that named them.
    named: Vec<(Url, String)>,
}

impl Bundler {
    /// Starts from the root document: `uri` is where it came from (a `file:`
    /// URL for a file) so relative `$ref`s resolve against it.
    pub fn new(uri: Url, text: &str) -> Result<Self, LoadError> {
        let doc = parse_document(text, &display(&uri))?;
        let mut b = Self { docs: Vec::new(), named: Vec::new() };
        b.push(uri, doc)?;
        Ok(b)
    }

    /// Starts from a document already parsed (a live service's spec).
    pub fn from_value(uri: Url, doc: Value) -> Result<Self, LoadError> {
        let mut b = Self { docs: Vec::new(), named: Vec::new() };
        b.push(uri, doc)?;
        Ok(b)
    }

    /// Documents still to be read, each with the `$ref` that names it.
    pub fn pending(&self) -> Vec<(Url, String)> {
        self.named.iter().filter(|(u, _)| !self.docs.iter().any(|(d, _)| d == u)).cloned().collect()
    }

    /// Adds a document [`Self::pending`] asked for.
    pub fn add(&mut self, uri: Url, text: &str) -> Result<(), LoadError> {
        let doc = parse_document(text, &display(&uri))?;
        self.push(uri, doc)
    }

    fn push(&mut self, uri: Url, doc: Value) -> Result<(), LoadError> {
        if self.docs.len() >= MAX_DOCUMENTS {
            return Err(LoadError::new(
                display(&self.docs[0].0),
                format!("more than {MAX_DOCUMENTS} documents are referenced through `$ref`"),
            ));
        }
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        for r in refs {
            let (target, _) = split_ref(&uri, &r)
                .map_err(|e| LoadError::new(display(&uri), format!("`$ref: {r}` is not a valid reference: {e}")))?;
            if target != uri && !self.named.iter().any(|(u, _)| *u == target) {
                self.named.push((target, format!("{}: `$ref: {r}`", display(&uri))));
            }
        }
        self.docs.push((uri, doc));
        Ok(())
    }

    /// Bundles the documents into one, checks it is OpenAPI 3.0 or 3.1, and
    /// rewrites 3.0 schemas to the JSON Schema 2020-12 meaning of 3.1.
    pub fn finish(self) -> Result<Contract, LoadError> {
        if let Some((u, by)) = self.pending().first() {
            return Err(LoadError::new(by.clone(), format!("{} was never read", display(u))));
        }
        let root_name = display(&self.docs[0].0);
        let version = version_of(&self.docs[0].1).map_err(|m| LoadError::new(&root_name, m))?;
        // A key per non-root document: its file name, made unique.
        let mut keys: Vec<String> = vec![String::new()];
        let mut names = Vec::new();
        for (u, _) in &self.docs[1..] {
            let base = u.path_segments().and_then(|mut s| s.next_back()).filter(|s| !s.is_empty()).unwrap_or("doc");
            let base = percent_encoding::percent_decode_str(base).decode_utf8_lossy().into_owned();
            let mut key = base.clone();
            let mut n = 2;
            while keys.contains(&key) {
                key = format!("{base}~{n}");
                n += 1;
            }
            keys.push(key.clone());
            names.push((key, relative_to(&self.docs[0].0, u)));
        }
        let prefix = |i: usize| {
            if i == 0 { String::new() } else { format!("/{DOCUMENTS}/{}", pointer::escape(&keys[i])) }
        };
        let urls: Vec<Url> = self.docs.iter().map(|(u, _)| u.clone()).collect();
        let mut root = Value::Null;
        let mut others = Map::new();
        for (i, (u, mut doc)) in self.docs.into_iter().enumerate() {
            rewrite_refs(&mut doc, &mut |r: &str| {
                let (target, fragment) = split_ref(&u, r).ok()?;
                let j = urls.iter().position(|x| *x == target)?;
                let fragment = if fragment.is_empty() || fragment.starts_with('/') {
                    fragment
                } else {
                    // `#Name`: an anchor; left for the schema validator.
                    return (j == i).then(|| format!("#{fragment}"));
                };
                Some(format!("#{}{fragment}", prefix(j)))
            });
            if i == 0 {
                root = doc;
            } else {
                others.insert(keys[i].clone(), doc);
            }
        }
        if !others.is_empty()
            && let Some(obj) = root.as_object_mut()
        {
            obj.insert(DOCUMENTS.to_string(), Value::Object(others));
        }
        let mut contract = Contract { doc: root, version, source: root_name, documents: names };
        if version == Version::V3_0 {
            normalize::openapi30(&mut contract.doc);
        }
        contract.check_refs()?;
        Ok(contract)
    }
}

/// Every `$ref` string in a document.
fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                match (k.as_str(), x) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

/// Rewrites every `$ref` string with `f` (left alone where `f` says `None`).
pub(crate) fn rewrite_refs(v: &mut Value, f: &mut dyn FnMut(&str) -> Option<String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                if k == "$ref"
                    && let Value::String(s) = x
                {
                    if let Some(n) = f(s) {
                        *s = n;
                    }
                    continue;
                }
                rewrite_refs(x, f);
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| rewrite_refs(x, f)),
        _ => {}
    }
}

/// The document a reference points into (without fragment) and the fragment.
fn split_ref(base: &Url, r: &str) -> Result<(Url, String), url::ParseError> {
    let (doc, fragment) = match r.split_once('#') {
        Some((d, f)) => (d, f.to_string()),
        None => (r, String::new()),
    };
    let mut target = if doc.is_empty() { base.clone() } else { base.join(doc)? };
    target.set_fragment(None);
    Ok((target, fragment))
}

fn version_of(doc: &Value) -> Result<Version, String> {
    if !doc.is_object() {
        return Err("not an OpenAPI document: the top level is not a mapping".into());
    }
    if doc.get("swagger").is_some() {
        return Err("this is a Swagger 2.0 document; only OpenAPI 3.0 and 3.1 are supported \
                    (convert it, e.g. with swagger2openapi)"
            .into());
    }
    match doc.get("openapi") {
        Some(Value::String(v)) if v.starts_with("3.0") => Ok(Version::V3_0),
        Some(Value::String(v)) if v.starts_with("3.1") || v.starts_with("3.2") => Ok(Version::V3_1),
        Some(v) => Err(format!("unsupported `openapi: {v}`; 3.0.x and 3.1.x are supported")),
        None => Err("not an OpenAPI document: no `openapi:` version field".into()),
    }
}

/// A bundled document as its author refers to it: relative to the root
/// document's folder when it is below it (`schemas/common.yaml`).
fn relative_to(root: &Url, u: &Url) -> String {
    if let Ok(base) = root.join(".")
        && let Some(rel) = u.as_str().strip_prefix(base.as_str())
    {
        return percent_encoding::percent_decode_str(rel).decode_utf8_lossy().into_owned();
    }
    display(u)
}

/// A URL as a person reads it: a path relative to the working directory for
/// local files, the URL otherwise.
pub(crate) fn display(u: &Url) -> String {
    if u.scheme() == "file"
        && let Ok(p) = u.to_file_path()
    {
        if let Ok(cwd) = std::env::current_dir()
            && let Ok(rel) = p.strip_prefix(&cwd)
        {
            return rel.display().to_string();
        }
        return p.display().to_string();
    }
    u.to_string()
}

/// Loads a contract from a file, reading every file its `$ref`s name.
/// (URLs among them need an HTTP client: use [`Bundler`].)
pub fn from_file(path: &std::path::Path) -> Result<Contract, LoadError> {
    let abs = std::path::absolute(path).map_err(|e| LoadError::new(path.display().to_string(), e.to_string()))?;
    let uri = Url::from_file_path(&abs)
        .map_err(|()| LoadError::new(path.display().to_string(), "not a file path".to_string()))?;
    let text = read(&uri, &path.display().to_string())?;
    let mut b = Bundler::new(uri, &text)?;
    loop {
        let pending = b.pending();
        if pending.is_empty() {
            break;
        }
        for (u, by) in pending {
            if u.scheme() != "file" {
                return Err(LoadError::new(by, format!("{u} is not a local file; load this contract from a URL")));
            }
            let text = read(&u, &by)?;
            b.add(u, &text)?;
        }
    }
    b.finish()
}

fn read(u: &Url, by: &str) -> Result<String, LoadError> {
    let p = u.to_file_path().map_err(|()| LoadError::new(by, format!("{u} is not a file path")))?;
    std::fs::read_to_string(&p).map_err(|e| {
        let name = display(u);
        if by == name { LoadError::new(name, e.to_string()) } else { LoadError::new(by, format!("{name}: {e}")) }
    })
}

/// Loads a contract from one self-contained document's text.
pub fn from_text(text: &str, name: &str) -> Result<Contract, LoadError> {
    let uri = Url::parse("urn:checkpoint:contract").expect("static URL");
    let doc = parse_document(text, name)?;
    let b = Bundler::from_value(uri, doc)?;
    if let Some((u, by)) = b.pending().first() {
        return Err(LoadError::new(name, format!("{by} names another document ({u}); load the contract from a file")));
    }
    let mut c = b.finish()?;
    c.source = name.to_string();
    Ok(c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn parse_errors_name_the_document_line_and_column_once() {
        let e = super::parse_document("openapi: 3.1.0\npaths: [\n", "api.yaml").unwrap_err();
        assert_eq!(e.to_string(), "api.yaml: line 2 column 8: unclosed bracket '['");
        let e = super::parse_document("{\"openapi\": 3,\n}", "api.json").unwrap_err();
        assert!(e.to_string().starts_with("api.json: line 2 column 1: "), "{e}");
    }
}
