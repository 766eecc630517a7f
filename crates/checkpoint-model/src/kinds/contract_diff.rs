//! `contract-diff`: breaking changes between a committed OpenAPI contract and
//! the one the running service serves (`checkpoint contract diff` as a
//! check). `base` and `live` are each a file under the project root or an
//! http(s) URL; a named file must exist (a typo in the committed contract's
//! path is found by `validate`, not by the run); the two are not the same
//! source; an `ignore` file exists.

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{Cx, Kind};
use crate::diag::{Diagnostic, did_you_mean, display_path};

const HINT: &str = "a file relative to the project root (`fixtures/demo/openapi.json`) \
                    or an http(s) URL (`\"${API}/openapi.json\"`)";

/// Breaking changes between a committed OpenAPI contract and the one the
/// running service serves (`checkpoint contract diff` as a check).
#[derive(Clone, Debug, Default, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ContractDiffSpec {
    /// The contract clients were built against: a file (relative to the
    /// project root) or an http(s) URL. `$ref`s to other files are followed.
    pub base: String,
    /// The contract now: usually the service's own, `"${API}/openapi.json"`; or a file.
    pub live: String,
    /// Request headers for fetching URLs (a token for a protected spec); sent
    /// only to the host of the URL they go with, not to hosts `$ref`s name.
    #[serde(default)]
    pub headers: IndexMap<String, String>,
    /// Accept invalid TLS certificates (self-signed staging).
    #[serde(default)]
    pub insecure: bool,
    /// Send the gate's cookies (the session an earlier `http` check logged
    /// in with) to the URLs fetched (default true): a schema view behind a
    /// login serves its contract to the session only.
    #[serde(default = "super::yes")]
    pub cookies: bool,
    /// An ignore file (relative to the project root): a YAML list of accepted
    /// changes, `fingerprint` (as `checkpoint contract diff` prints it),
    /// `reason` and optional `expires: YYYY-MM-DD`, after which the change
    /// counts again. Ignored changes are listed in the evidence, not counted.
    pub ignore: Option<String>,
}

impl Kind for ContractDiffSpec {
    const NAME: &'static str = "contract-diff";
    const EXPECT: &'static [&'static str] = &["breaking", "changes", "json", "duration"];

    fn validate(&self, cx: &mut Cx<'_>) {
        for (key, source) in [("base", self.base.trim()), ("live", self.live.trim())] {
            let at = cx.value_at(key);
            if source.is_empty() {
                cx.err_at(at, Diagnostic::new(format!("`{key}` is empty")).label("no contract").hint(HINT));
                continue;
            }
            if source.contains("${") {
                continue;
            }
            if let Some((scheme, _)) = source.split_once("://") {
                if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
                    cx.err_at(
                        at,
                        Diagnostic::new(format!("`{key}: {source}` is neither a file nor an http(s) URL"))
                            .label(format!("`{scheme}://` is not supported"))
                            .hint(HINT),
                    );
                }
                continue;
            }
            if !cx.root.join(source).is_file() {
                let hint = match near(cx.root, source) {
                    Some(m) => format!("did you mean `{m}`?"),
                    None => "paths are relative to the project root, the parent of `checkpoints/`; \
                             or give an http(s) URL (`\"${API}/openapi.json\"`)"
                        .to_string(),
                };
                cx.err_at(
                    at,
                    Diagnostic::new(format!("`{key}: {source}` names no file"))
                        .label(format!("not found in `{}`", display_path(cx.root)))
                        .hint(hint),
                );
            }
        }
        if let Some(ignore) = self.ignore.as_deref().map(str::trim)
            && !ignore.contains("${")
            && !cx.root.join(ignore).is_file()
        {
            cx.err_at(
                cx.value_at("ignore"),
                Diagnostic::new(format!("`ignore: {ignore}` names no file"))
                    .label(format!("not found in `{}`", display_path(cx.root)))
                    .hint("an ignore file is relative to the project root: a YAML list of `fingerprint`, `reason` and optional `expires: YYYY-MM-DD`"),
            );
        }
        let (base, live) = (self.base.trim(), self.live.trim());
        if !base.is_empty() && base == live {
            cx.err_at(
                cx.value_at("live"),
                Diagnostic::new("`base` and `live` are the same contract")
                    .label("compared with itself, it never changes")
                    .hint("`base` is the committed contract, `live` what the running service serves: `live: \"${API}/openapi.json\"`"),
            );
        }
    }
}

/// A file next to where `source` points whose name is close to it.
fn near(root: &std::path::Path, source: &str) -> Option<String> {
    let path = std::path::Path::new(source);
    let name = path.file_name()?.to_str()?;
    let parent = path.parent().unwrap_or_else(|| std::path::Path::new(""));
    let names: Vec<String> = std::fs::read_dir(root.join(parent))
        .ok()?
        .filter_map(Result::ok)
        .filter(|e| e.path().is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_string))
        .collect();
    let m = did_you_mean(name, names.iter().map(String::as_str))?;
    Some(parent.join(m).display().to_string())
}
