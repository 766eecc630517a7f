//! Validation of `contract-diff` specs: `base` and `live` are each a file
//! under the project root or an http(s) URL, a file that is named exists
//! (a typo in the committed contract's path is found by `validate`, not by
//! the run), the two are not the same source, and an `ignore` file exists.

use serde_json::Value;

use super::Validator;
use crate::diag::{Diagnostic, Location, did_you_mean, display_path};
use crate::yaml::Node;

const HINT: &str = "a file relative to the project root (`fixtures/demo/openapi.json`) \
                    or an http(s) URL (`\"${API}/openapi.json\"`)";

pub(super) fn check_contract_diff(v: &mut Validator<'_>, spec: &Value, loc: &Location, node: Option<&Node>) {
    let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().trim().to_string();
    for key in ["base", "live"] {
        let source = s(key);
        let at = v.place(node.and_then(|n| n.get(key)), loc);
        if source.is_empty() {
            v.err(Diagnostic::new(format!("`{key}` is empty")).span(at.0, at.1).label("no contract").hint(HINT));
            continue;
        }
        if source.contains("${") {
            continue;
        }
        if let Some((scheme, _)) = source.split_once("://") {
            if !matches!(scheme.to_ascii_lowercase().as_str(), "http" | "https") {
                v.err(
                    Diagnostic::new(format!("`{key}: {source}` is neither a file nor an http(s) URL"))
                        .span(at.0, at.1)
                        .label(format!("`{scheme}://` is not supported"))
                        .hint(HINT),
                );
            }
            continue;
        }
        if !v.root.join(&source).is_file() {
            let hint = match near(&v.root, &source) {
                Some(m) => format!("did you mean `{m}`?"),
                None => "paths are relative to the project root, the parent of `checkpoints/`; \
                         or give an http(s) URL (`\"${API}/openapi.json\"`)"
                    .to_string(),
            };
            v.err(
                Diagnostic::new(format!("`{key}: {source}` names no file"))
                    .span(at.0, at.1)
                    .label(format!("not found in `{}`", display_path(&v.root)))
                    .hint(hint),
            );
        }
    }
    let ignore = s("ignore");
    if spec.get("ignore").is_some() && !ignore.contains("${") && !v.root.join(&ignore).is_file() {
        let at = v.place(node.and_then(|n| n.get("ignore")), loc);
        v.err(
            Diagnostic::new(format!("`ignore: {ignore}` names no file"))
                .span(at.0, at.1)
                .label(format!("not found in `{}`", display_path(&v.root)))
                .hint("an ignore file is relative to the project root: a YAML list of `fingerprint`, `reason` and optional `expires: YYYY-MM-DD`"),
        );
    }
    let (base, live) = (s("base"), s("live"));
    if !base.is_empty() && base == live {
        let at = v.place(node.and_then(|n| n.get("live")), loc);
        v.err(
            Diagnostic::new("`base` and `live` are the same contract")
                .span(at.0, at.1)
                .label("compared with itself, it never changes")
                .hint("`base` is the committed contract, `live` what the running service serves: `live: \"${API}/openapi.json\"`"),
        );
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
