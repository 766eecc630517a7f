//! Security of one operation, old against new.
//!
//! An operation's effective security (its own `security`, else the
//! document's) is a list of alternatives; each alternative names schemes and
//! the scopes each needs. A client holding the credentials of an old
//! alternative keeps working when some new alternative asks for no more than
//! that (the same schemes or fewer, the same scopes or fewer). Otherwise:
//! `security-added` (there was none), `security-scope-added` (the same
//! schemes, more scopes), `security-requirement-removed`. A scheme used on
//! both sides whose definition changes how credentials are sent (type, `in`,
//! name, HTTP scheme) is `security-scheme-changed`.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::Emit;
use super::rules;
use crate::Contract;

type Alternative = BTreeMap<String, BTreeSet<String>>;

fn alternatives(reqs: &[&Map<String, Value>]) -> Vec<Alternative> {
    reqs.iter()
        .map(|r| {
            r.iter()
                .map(|(scheme, scopes)| {
                    let scopes =
                        scopes.as_array().map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect());
                    (scheme.clone(), scopes.unwrap_or_default())
                })
                .collect()
        })
        .collect()
}

/// `new` asks for no more than `old` holds.
fn satisfied_by(new: &Alternative, old: &Alternative) -> bool {
    new.iter().all(|(s, scopes)| old.get(s).is_some_and(|held| scopes.is_subset(held)))
}

fn same_schemes(a: &Alternative, b: &Alternative) -> bool {
    a.keys().eq(b.keys())
}

fn show(a: &Alternative) -> String {
    a.iter()
        .map(|(s, scopes)| {
            if scopes.is_empty() {
                format!("`{s}`")
            } else {
                format!("`{s}` ({})", scopes.iter().map(String::as_str).collect::<Vec<_>>().join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

fn emit(out: &mut Vec<Emit>, rule: &'static rules::Rule, message: String) {
    out.push(Emit { rule, location: "security".into(), message });
}

pub(crate) fn compare(
    old: &Contract,
    new: &Contract,
    o: &[&Map<String, Value>],
    n: &[&Map<String, Value>],
    out: &mut Vec<Emit>,
) {
    let (oa, na) = (alternatives(o), alternatives(n));
    match (oa.is_empty(), na.is_empty()) {
        (true, true) => return,
        (true, false) => {
            let all = na.iter().map(show).collect::<Vec<_>>().join(" or ");
            emit(out, &rules::SECURITY_ADDED, format!("security added: {all}"));
            return;
        }
        (false, true) => {
            emit(out, &rules::SECURITY_REMOVED, "security removed: no credentials needed".into());
            return;
        }
        (false, false) => {}
    }
    for a in &oa {
        if na.iter().any(|b| satisfied_by(b, a)) {
            if !na.contains(a)
                && let Some(b) = na.iter().find(|b| same_schemes(a, b) && satisfied_by(b, a))
            {
                for (s, scopes) in a {
                    for scope in scopes.difference(&b[s]) {
                        emit(
                            out,
                            &rules::SECURITY_SCOPE_REMOVED,
                            format!("scope `{scope}` no longer required for `{s}`"),
                        );
                    }
                }
            }
            continue;
        }
        if let Some(b) = na.iter().find(|b| same_schemes(a, b)) {
            for (s, scopes) in b {
                for scope in scopes.difference(&a[s]) {
                    emit(out, &rules::SECURITY_SCOPE_ADDED, format!("scope `{scope}` now required for `{s}`"));
                }
            }
        } else {
            emit(
                out,
                &rules::SECURITY_REQUIREMENT_REMOVED,
                format!("security requirement {} no longer accepted", show(a)),
            );
        }
    }
    for b in &na {
        if !oa.iter().any(|a| same_schemes(a, b)) {
            emit(
                out,
                &rules::SECURITY_REQUIREMENT_ADDED,
                format!("security requirement {} now also accepted", show(b)),
            );
        }
    }
    let used = |alts: &[Alternative]| alts.iter().flat_map(|a| a.keys().cloned()).collect::<BTreeSet<String>>();
    for name in used(&oa).intersection(&used(&na)) {
        let (Some(os), Some(ns)) = (scheme(old, name), scheme(new, name)) else { continue };
        let mut diffs = Vec::new();
        for field in ["type", "in", "name", "scheme", "openIdConnectUrl"] {
            let norm = |v: Option<&Value>| {
                v.and_then(Value::as_str)
                    .map(|s| if field == "scheme" { s.to_ascii_lowercase() } else { s.to_string() })
            };
            let (a, b) = (norm(os.get(field)), norm(ns.get(field)));
            if a != b {
                let show = |x: Option<String>| x.map_or_else(|| "none".to_string(), |s| format!("`{s}`"));
                diffs.push(format!("{field} {} → {}", show(a), show(b)));
            }
        }
        if !diffs.is_empty() {
            emit(
                out,
                &rules::SECURITY_SCHEME_CHANGED,
                format!("security scheme `{name}` changed: {}", diffs.join(", ")),
            );
        }
    }
}

fn scheme<'a>(c: &'a Contract, name: &str) -> Option<&'a Value> {
    let s = c.doc.get("components")?.get("securitySchemes")?.get(name)?;
    Some(c.resolve(s))
}
