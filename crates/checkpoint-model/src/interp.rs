//! Compose-style interpolation: `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
//! `${VAR:?message}`, `${VAR?message}`, and `$$` for a literal `$`.
//!
//! Names are environment-style (`API_URL`) or namespaced built-ins with dots:
//! `${service.api.8000}` (the published `host:port` of a service's port, resolved
//! from the running stack) and `${run.id}` (unique per run). A bare `$NAME` is
//! left alone on purpose: JSONPath (`$.status`) is common in checkpoint files.
//!
//! Templates are parsed once at load time (so a malformed or undefined
//! reference is a definition error) and expanded at run time, when captures
//! and stack endpoints are known.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub mod walk;

#[derive(Clone, Debug, PartialEq)]
pub enum Part {
    Lit(String),
    Var { name: String, op: Op, arg: Template },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `${VAR}`
    Plain,
    /// `${VAR:-d}` (unset or empty) / `${VAR-d}` (unset)
    Default { empty_too: bool },
    /// `${VAR:?msg}` / `${VAR?msg}`
    Required { empty_too: bool },
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Template {
    pub parts: Vec<Part>,
}

/// An interpolation error, with the byte offset in the string.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InterpError {
    pub message: String,
    pub hint: Option<String>,
}

impl Template {
    pub fn parse(s: &str) -> Result<Self, InterpError> {
        let mut p = Parser { chars: s.char_indices().peekable(), src: s };
        let t = p.template(false)?;
        Ok(t)
    }

    /// Every variable this template may read, defaults included.
    pub fn references(&self, out: &mut Vec<(String, Op)>) {
        for part in &self.parts {
            if let Part::Var { name, op, arg } = part {
                out.push((name.clone(), *op));
                arg.references(out);
            }
        }
    }

    pub fn is_literal(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Lit(_)))
    }

    pub fn expand(&self, vars: &dyn Lookup) -> Result<String, InterpError> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Lit(s) => out.push_str(s),
                Part::Var { name, op, arg } => {
                    let value = vars.get(name);
                    match op {
                        Op::Plain => match value {
                            Some(v) => out.push_str(&v),
                            None => {
                                return Err(InterpError {
                                    message: format!("variable `{name}` is not set"),
                                    hint: Some(format!(
                                        "set it with `--var {name}=…`, in `vars:`, in the environment, or give a default: `${{{name}:-…}}`"
                                    )),
                                });
                            }
                        },
                        Op::Default { empty_too } => match value {
                            Some(v) if !(*empty_too && v.is_empty()) => out.push_str(&v),
                            _ => out.push_str(&arg.expand(vars)?),
                        },
                        Op::Required { empty_too } => match value {
                            Some(v) if !(*empty_too && v.is_empty()) => out.push_str(&v),
                            _ => {
                                let msg = arg.expand(vars).unwrap_or_default();
                                return Err(InterpError {
                                    message: if msg.is_empty() {
                                        format!("variable `{name}` is required")
                                    } else {
                                        format!("variable `{name}` is required: {msg}")
                                    },
                                    hint: Some(format!("set it with `--var {name}=…` or in the environment")),
                                });
                            }
                        },
                    }
                }
            }
        }
        Ok(out)
    }
}

/// Where variable values come from, in precedence order (first wins).
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl Lookup for IndexMap<String, String> {
    fn get(&self, name: &str) -> Option<String> {
        IndexMap::get(self, name).cloned()
    }
}

/// Layers of variables: captures, then `--var`, then the environment, then
/// `--env-file`, then the checkpoint's `vars:`.
#[derive(Default)]
pub struct Layered<'a> {
    pub layers: Vec<&'a dyn Lookup>,
}

impl Lookup for Layered<'_> {
    fn get(&self, name: &str) -> Option<String> {
        self.layers.iter().find_map(|l| l.get(name))
    }
}

struct Parser<'a> {
    chars: std::iter::Peekable<std::str::CharIndices<'a>>,
    src: &'a str,
}

impl Parser<'_> {
    /// Parses until end of input, or until an unmatched `}` when `nested`.
    fn template(&mut self, nested: bool) -> Result<Template, InterpError> {
        let mut parts = Vec::new();
        let mut lit = String::new();
        let mut depth = 0usize;
        while let Some(&(_, c)) = self.chars.peek() {
            if nested && c == '}' && depth == 0 {
                break;
            }
            self.chars.next();
            if c == '$' {
                match self.chars.peek().map(|&(_, c)| c) {
                    Some('$') => {
                        self.chars.next();
                        lit.push('$');
                    }
                    Some('{') => {
                        self.chars.next();
                        if !lit.is_empty() {
                            parts.push(Part::Lit(std::mem::take(&mut lit)));
                        }
                        parts.push(self.var()?);
                    }
                    _ => lit.push('$'),
                }
            } else {
                // Literal braces inside a default (`${X:-{"a":1}}`) must balance.
                if nested && c == '{' {
                    depth += 1;
                } else if nested && c == '}' {
                    depth -= 1;
                }
                lit.push(c);
            }
        }
        if !lit.is_empty() {
            parts.push(Part::Lit(lit));
        }
        Ok(Template { parts })
    }

    fn var(&mut self) -> Result<Part, InterpError> {
        let mut name = String::new();
        while let Some(&(_, c)) = self.chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-' && name.starts_with("service.") {
                name.push(c);
                self.chars.next();
            } else {
                break;
            }
        }
        let bad_name =
            name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit() || c == '.') || name.ends_with('.');
        if bad_name {
            return Err(InterpError {
                message: format!("`${{{name}` is not a valid variable reference in `{}`", self.src),
                hint: Some("names are letters, digits and `_`, e.g. `${API_URL}`; write `$$` for a literal `$`".into()),
            });
        }
        let op = match self.chars.next().map(|(_, c)| c) {
            Some('}') => return Ok(Part::Var { name, op: Op::Plain, arg: Template::default() }),
            Some(':') => match self.chars.next().map(|(_, c)| c) {
                Some('-') => Op::Default { empty_too: true },
                Some('?') => Op::Required { empty_too: true },
                _ => return Err(self.unclosed(&name)),
            },
            Some('-') => Op::Default { empty_too: false },
            Some('?') => Op::Required { empty_too: false },
            _ => return Err(self.unclosed(&name)),
        };
        let arg = self.template(true)?;
        match self.chars.next() {
            Some((_, '}')) => Ok(Part::Var { name, op, arg }),
            _ => Err(self.unclosed(&name)),
        }
    }

    fn unclosed(&self, name: &str) -> InterpError {
        InterpError {
            message: format!("unterminated or malformed `${{{name}` in `{}`", self.src),
            hint: Some("use `${NAME}`, `${NAME:-default}` or `${NAME:?message}`; write `$$` for a literal `$`".into()),
        }
    }
}

/// Interpolates every string in a JSON tree (values only, never keys).
pub fn expand_value(v: &serde_json::Value, vars: &dyn Lookup) -> Result<serde_json::Value, InterpError> {
    use serde_json::Value;
    Ok(match v {
        Value::String(s) => Value::String(Template::parse(s)?.expand(vars)?),
        Value::Array(a) => Value::Array(a.iter().map(|x| expand_value(x, vars)).collect::<Result<_, _>>()?),
        Value::Object(o) => Value::Object(
            o.iter().map(|(k, x)| Ok((k.clone(), expand_value(x, vars)?))).collect::<Result<_, InterpError>>()?,
        ),
        other => other.clone(),
    })
}

/// A typed spec with every `${…}` in its strings expanded: the one way specs
/// are interpolated. Through a JSON tree on purpose — every string field of
/// every kind, present and future, is covered without a line per field.
/// A spec none of whose strings holds a `$` is its own expansion (only `$`
/// starts a reference or an escape): it is copied, not sent through the tree,
/// which was a tenth of a plain HTTP check's own time.
pub fn expand<T: Serialize + DeserializeOwned + Clone>(spec: &T, vars: &dyn Lookup) -> Result<T, InterpError> {
    let mut dollar = false;
    walk::each_string(spec, &mut |_, s| dollar |= s.contains('$'));
    if dollar { through_tree(spec, vars) } else { Ok(spec.clone()) }
}

fn through_tree<T: Serialize + DeserializeOwned>(spec: &T, vars: &dyn Lookup) -> Result<T, InterpError> {
    let invalid =
        |e: serde_json::Error| InterpError { message: format!("invalid spec after interpolation: {e}"), hint: None };
    let tree = serde_json::to_value(spec).map_err(invalid)?;
    serde_json::from_value(expand_value(&tree, vars)?).map_err(invalid)
}

/// The `service.NAME.PORT` references in a set of templates.
pub fn service_refs(templates: &[Template]) -> BTreeSet<(String, u16)> {
    let mut refs = Vec::new();
    for t in templates {
        t.references(&mut refs);
    }
    refs.into_iter().filter_map(|(n, _)| parse_service_ref(&n)).collect()
}

/// `service.api.8000` → `("api", 8000)`.
pub fn parse_service_ref(name: &str) -> Option<(String, u16)> {
    let rest = name.strip_prefix("service.")?;
    let (svc, port) = rest.rsplit_once('.')?;
    Some((svc.to_string(), port.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
    }

    #[test]
    fn expands_compose_forms() {
        let v = vars(&[("A", "1"), ("E", "")]);
        let t = |s: &str| Template::parse(s).unwrap().expand(&v);
        assert_eq!(t("x${A}y").unwrap(), "x1y");
        assert_eq!(t("${B:-dflt}").unwrap(), "dflt");
        assert_eq!(t("${E:-dflt}").unwrap(), "dflt");
        assert_eq!(t("${E-dflt}").unwrap(), "");
        assert_eq!(t("${B:-${A}0}").unwrap(), "10");
        assert_eq!(t("$$A and $.status").unwrap(), "$A and $.status");
        assert_eq!(t(r#"${B:-{"k":1}}"#).unwrap(), r#"{"k":1}"#);
        assert_eq!(t("${B:?give me B}").unwrap_err().message, "variable `B` is required: give me B");
        assert!(t("${B}").unwrap_err().message.contains("`B` is not set"));
    }

    /// A spec without `$` comes back as the tree would give it; one with
    /// only an escape (`$$`) still goes through it.
    #[test]
    fn a_spec_without_a_dollar_is_copied_and_one_with_an_escape_expanded() {
        use crate::kinds::{CheckSpec, HttpSpec};
        let http = |spec: serde_json::Value| -> HttpSpec { serde_json::from_value(spec).unwrap() };
        let plain = CheckSpec::Http(http(serde_json::json!({
            "url": "http://api:8000/health?q=1",
            "method": "POST",
            "headers": {"x-a": "b"},
            "json": {"k": ["v", 1, null, {"n": "w"}]},
            "follow_redirects": false,
        })));
        let v = vars(&[]);
        let copied = plain.expand(&v).unwrap();
        let CheckSpec::Http(s) = &plain else { unreachable!() };
        let tree = through_tree(s, &v).unwrap();
        let CheckSpec::Http(c) = &copied else { unreachable!() };
        assert_eq!(serde_json::to_value(c).unwrap(), serde_json::to_value(&tree).unwrap());
        let escaped = CheckSpec::Http(http(serde_json::json!({
            "url": "http://api:8000/health",
            "json": {"price": "$$5"},
        })));
        let CheckSpec::Http(e) = escaped.expand(&v).unwrap() else { unreachable!() };
        assert_eq!(e.json, Some(serde_json::json!({"price": "$5"})));
    }

    #[test]
    fn rejects_malformed_references() {
        assert!(Template::parse("${").is_err());
        assert!(Template::parse("${A").is_err());
        assert!(Template::parse("${A:x}").is_err());
        assert!(Template::parse("${1A}").is_err());
    }

    #[test]
    fn finds_service_refs() {
        let t = Template::parse("http://${service.api.8000}/x ${service.db-main.5432}").unwrap();
        let refs = service_refs(&[t]);
        assert!(refs.contains(&("api".to_string(), 8000)));
        assert!(refs.contains(&("db-main".to_string(), 5432)));
    }
}
