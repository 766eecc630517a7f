//! Loading a contract for the `openapi` and `contract-diff` kinds and for
//! `checkpoint contract diff`: a file (relative to the project root) or an
//! http(s) URL, and every document its `$ref`s name — files and URLs alike —
//! through the sans-IO [`Bundler`](checkpoint_contract::Bundler). Headers
//! (a token for a protected spec) go only to the host of the URL they came with;
//! a gate's cookies (a Django session) to the URLs they are for.

use std::path::Path;
use std::time::Duration;

use checkpoint_contract::{Bundler, Contract, LoadError, parse_document};
use indexmap::IndexMap;
use reqwest::Url;

use crate::cookies::Jar;
use crate::kinds::http::{Client, describe_reqwest_error};

/// Largest contract document read (a guard: real specs are kilobytes to a few MiB).
const MAX_DOCUMENT: usize = 32 * 1024 * 1024;
/// How long one document may take to arrive.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a contract could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceError {
    /// A file that cannot be read, or a source that is neither a file nor an http(s) URL.
    Unreadable(LoadError),
    /// A URL that did not answer, or not with 2xx.
    Unreachable(LoadError),
    /// Text that is not YAML or JSON, or not an OpenAPI 3.0/3.1 document.
    Invalid(LoadError),
}

impl SourceError {
    pub fn error(&self) -> &LoadError {
        match self {
            Self::Unreadable(e) | Self::Unreachable(e) | Self::Invalid(e) => e,
        }
    }

    /// What to do about it, in one line.
    pub fn hint(&self) -> &'static str {
        match self {
            Self::Unreadable(_) => "a contract is a file (YAML or JSON) or an http(s) URL",
            Self::Unreachable(_) => {
                "the URL must answer a GET with the spec itself (FastAPI serves it at `/openapi.json`)"
            }
            Self::Invalid(_) => "a contract is an OpenAPI 3.0 or 3.1 document, in YAML or JSON",
        }
    }
}

impl std::fmt::Display for SourceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.error().fmt(f)
    }
}

/// `source` as a URL: http(s) as written, anything else a file under `root`.
fn locate(source: &str, root: &Path) -> Result<Url, SourceError> {
    let lower = source.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") || lower.starts_with("file://") {
        return Url::parse(source)
            .map_err(|e| SourceError::Unreadable(LoadError::new(source, format!("not a valid URL: {e}"))));
    }
    let path = std::path::absolute(root.join(source))
        .map_err(|e| SourceError::Unreadable(LoadError::new(source, e.to_string())))?;
    Url::from_file_path(&path).map_err(|()| SourceError::Unreadable(LoadError::new(source, "not a file path")))
}

/// How a contract's URLs are fetched: `headers` for the root document's
/// host; the cookies of `jar` the cookie rules give each URL, unless
/// `headers` has its own `Cookie`.
#[derive(Clone, Copy)]
pub struct Fetch<'a> {
    pub client: &'a Client,
    pub headers: &'a IndexMap<String, String>,
    pub jar: Option<&'a Jar>,
}

/// A document's text: a file read, or a URL fetched as `fetch` says.
async fn read(u: &Url, shown: &str, root: &Url, fetch: Fetch<'_>) -> Result<String, SourceError> {
    let Fetch { client, headers, jar } = fetch;
    match u.scheme() {
        "file" => {
            let path =
                u.to_file_path().map_err(|()| SourceError::Unreadable(LoadError::new(shown, "not a file path")))?;
            let bytes = tokio::fs::read(&path).await.map_err(|e| {
                let why =
                    if e.kind() == std::io::ErrorKind::NotFound { "no such file".to_string() } else { e.to_string() };
                SourceError::Unreadable(LoadError::new(shown, why))
            })?;
            String::from_utf8(bytes).map_err(|_| SourceError::Invalid(LoadError::new(shown, "not UTF-8 text")))
        }
        "http" | "https" => {
            let mut req = client
                .get(u.clone())
                .header("accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
                .timeout(FETCH_TIMEOUT);
            let same_host = u.origin() == root.origin();
            if same_host {
                for (k, v) in headers {
                    req = req.header(k.as_str(), v.as_str());
                }
            }
            let own_cookie = same_host && headers.keys().any(|k| k.eq_ignore_ascii_case("cookie"));
            if let Some(cookie) = jar.filter(|_| !own_cookie).and_then(|j| j.header_for(u)) {
                req = req.header("cookie", cookie);
            }
            let unreachable = |why: String| SourceError::Unreachable(LoadError::new(shown, why));
            let mut resp = client.send(req).await.0.map_err(|e| unreachable(describe_reqwest_error(&e)))?;
            let status = resp.status();
            if !status.is_success() {
                return Err(unreachable(
                    format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or(""))
                        .trim_end()
                        .to_string(),
                ));
            }
            let mut body = Vec::new();
            while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(describe_reqwest_error(&e)))? {
                body.extend_from_slice(&chunk);
                if body.len() > MAX_DOCUMENT {
                    return Err(SourceError::Invalid(LoadError::new(
                        shown,
                        format!("larger than {} MiB", MAX_DOCUMENT / 1024 / 1024),
                    )));
                }
            }
            String::from_utf8(body).map_err(|_| SourceError::Invalid(LoadError::new(shown, "not UTF-8 text")))
        }
        other => Err(SourceError::Unreadable(LoadError::new(
            shown,
            format!("`{other}:` is neither a file nor an http(s) URL"),
        ))),
    }
}

/// A URL as messages show it: a file relative to `root` when under it.
fn show(u: &Url, root: &Path) -> String {
    if u.scheme() == "file"
        && let Ok(p) = u.to_file_path()
    {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        return p.strip_prefix(&root).unwrap_or(&p).display().to_string();
    }
    u.to_string()
}

/// The loader names the root document by its path from the working
/// directory; messages name it as the user wrote it.
fn relabel(mut e: LoadError, uri: &Url, source: &str) -> LoadError {
    let named = match uri.to_file_path() {
        Ok(p) => {
            let cwd = std::env::current_dir().unwrap_or_default();
            p.strip_prefix(&cwd).unwrap_or(&p).display().to_string()
        }
        Err(()) => uri.to_string(),
    };
    if let Some(rest) = e.origin.strip_prefix(&named) {
        e.origin = format!("{source}{rest}");
    }
    e
}

/// Loads a contract from a file (relative to `root`) or an http(s) URL, and
/// every document its `$ref`s name, files and URLs alike.
pub async fn load(source: &str, root: &Path, fetch: Fetch<'_>) -> Result<Contract, SourceError> {
    let uri = locate(source, root)?;
    let text = read(&uri, source, &uri, fetch).await?;
    // Parsed here under the name the user wrote, so errors say `api/openapi.yaml`.
    let doc = parse_document(&text, source).map_err(SourceError::Invalid)?;
    let relabel = |e: LoadError| SourceError::Invalid(relabel(e, &uri, source));
    let mut bundler = Bundler::from_value(uri.clone(), doc).map_err(relabel)?;
    loop {
        let pending = bundler.pending();
        if pending.is_empty() {
            break;
        }
        for (u, by) in pending {
            let shown = show(&u, root);
            let text = read(&u, &shown, &uri, fetch).await.map_err(|e| {
                // Which `$ref` asked for it, so a broken reference can be found.
                let named = |l: &LoadError| LoadError::new(by.clone(), format!("{}: {}", l.origin, l.message));
                match e {
                    SourceError::Unreadable(l) => SourceError::Unreadable(named(&l)),
                    SourceError::Unreachable(l) => SourceError::Unreachable(named(&l)),
                    SourceError::Invalid(l) => SourceError::Invalid(named(&l)),
                }
            })?;
            parse_document(&text, &shown).map_err(SourceError::Invalid)?;
            bundler.add(u, &text).map_err(SourceError::Invalid)?;
        }
    }
    let mut contract = bundler.finish().map_err(relabel)?;
    contract.source = source.to_string();
    Ok(contract)
}

/// `OpenAPI 3.1, 14 operations`.
pub fn describe(c: &Contract) -> String {
    let version = match c.version {
        checkpoint_contract::Version::V3_0 => "3.0",
        checkpoint_contract::Version::V3_1 => "3.1",
    };
    let n = c.operations().len();
    format!("OpenAPI {version}, {n} operation{}", if n == 1 { "" } else { "s" })
}
