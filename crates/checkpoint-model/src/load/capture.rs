//! What a check's `capture:` entry may be — a JSONPath, `{ header: NAME }`
//! or `{ cookie: NAME }` (those two only from an `http` check).

use indexmap::IndexMap;
use serde_json::Value;
use serde_saphyr::Spanned;

use super::check::jsonpath_label;
use super::{Validator, valid_var_name};
use crate::diag::{Diagnostic, did_you_mean};
use crate::plan::Capture;
use crate::yaml::Node;

/// "an http check", "a latency check", "an openapi check".
fn article(kind: &str) -> &'static str {
    if kind == "http" || kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" }
}

/// The check's `capture:` entries, validated.
pub(super) fn captures(
    v: &mut Validator<'_>,
    kind: &str,
    raw: &IndexMap<String, Spanned<Value>>,
    node: Option<&Node>,
) -> Vec<(String, Capture)> {
    let mut out = Vec::new();
    for (var, spanned) in raw {
        let entry = node.and_then(|n| n.entry(var));
        if !valid_var_name(var) {
            let at = v.place(entry.map(|e| e.0), &v.loc(spanned));
            v.err_at(
                at,
                Diagnostic::new(format!("`{var}` is not a valid variable name to capture into"))
                    .label("not a name")
                    .hint("use letters, digits and `_`, e.g. `TOKEN`"),
            );
        }
        if let Some(c) = capture(v, kind, var, spanned, entry.map(|e| e.1)) {
            out.push((var.clone(), c));
        }
    }
    out
}

fn capture(
    v: &mut Validator<'_>,
    kind: &str,
    var: &str,
    spanned: &Spanned<Value>,
    node: Option<&Node>,
) -> Option<Capture> {
    let here = v.place(node, &v.loc(spanned));
    let shape_hint = "`$.access_token` (JSONPath), `{ header: location }` or `{ cookie: refresh_token }`";
    match &spanned.value {
        Value::String(path) => {
            if let Err(e) = crate::json_path::parse(path) {
                let (at, width) = v.spot(spanned);
                v.err(
                    Diagnostic::new(format!("invalid JSONPath `{path}` in `capture.{var}`"))
                        .span(at, width)
                        .label(jsonpath_label(&e.to_string()))
                        .hint("JSONPath per RFC 9535, e.g. `$.access_token` or `$[0].count`"),
                );
                return None;
            }
            Some(Capture::Json(path.clone()))
        }
        Value::Object(map) => {
            let mut found = None;
            for (k, val) in map {
                let key_at = v.place(node.and_then(|n| n.key(k)), &here.0);
                let make: fn(String) -> Capture = match k.as_str() {
                    "header" => |h| Capture::Header(h.to_ascii_lowercase()),
                    "cookie" => Capture::Cookie,
                    _ => {
                        v.err_at(
                            key_at,
                            Diagnostic::new(format!("unknown key `{k}` in `capture.{var}`"))
                                .label("not a source")
                                .hint(did_you_mean(k, ["header", "cookie"]).map_or_else(
                                || format!("a capture takes `header` or `cookie`, or is a JSONPath: {shape_hint}"),
                                |m| {
                                    format!(
                                        "did you mean `{m}`? a capture takes `header` or `cookie` (or is a JSONPath)"
                                    )
                                },
                            )),
                        );
                        return None;
                    }
                };
                if found.is_some() {
                    v.err_at(
                        key_at,
                        Diagnostic::new(format!("`capture.{var}` names two sources"))
                            .label("a second source")
                            .hint("capture one value per variable: `{ header: … }` or `{ cookie: … }`"),
                    );
                    return None;
                }
                let name = val.as_str().map(str::trim).unwrap_or_default();
                if name.is_empty() {
                    v.err_at(
                        v.place(node.and_then(|n| n.get(k)), &here.0),
                        Diagnostic::new(format!("`capture.{var}.{k}` names no {k}")).label(format!("a {k} name")).hint(
                            format!("e.g. `{{ {k}: {} }}`", if k == "header" { "location" } else { "refresh_token" }),
                        ),
                    );
                    return None;
                }
                found = Some((make(name.to_string()), key_at));
            }
            let Some((c, key_at)) = found else {
                v.err_at(
                    here,
                    Diagnostic::new(format!("`capture.{var}` is empty")).label("nothing to capture").hint(shape_hint),
                );
                return None;
            };
            if kind != "http" {
                let what = if matches!(c, Capture::Header(_)) { "header" } else { "cookie" };
                v.err_at(
                    key_at,
                    Diagnostic::new(format!(
                        "`capture.{var}` takes a {what}, but {} {kind} check has no response {what}s",
                        article(kind)
                    ))
                    .label("only from an http check")
                    .hint("capture a JSONPath into the result document: `$.…`"),
                );
                return None;
            }
            Some(c)
        }
        _ => {
            v.err_at(
                here,
                Diagnostic::new(format!("`capture.{var}` is neither a JSONPath nor a mapping"))
                    .label("not a capture")
                    .hint(shape_hint),
            );
            None
        }
    }
}
