//! Where `${VAR}` values come from during a run, first match wins:
//! captures (this gate's earlier checks and the gates it needs) → `--var` →
//! the checkpoint's `vars:` → `--env-file` → the environment → built-ins
//! (`run.id`, `run.project`, `run.root`) → stack endpoints (`service.NAME.PORT`).
//!
//! `vars:` come before the environment on purpose: a checkpoint's `USER: alice`
//! must not turn into the shell's `$USER`. Write `${API_URL:-http://…}` in
//! `vars:` to let the environment override.
//!
//! `vars:` are expanded when they are read, not once at start: a fault that
//! stops and starts a service changes its published port, and a DSN built from
//! `${service.db.5432}` must follow. Each var sees only the vars before it.

use std::sync::{Arc, RwLock};

use std::collections::BTreeSet;

use checkpoint_model::interp::{self, InterpError, Lookup, Template};
use indexmap::IndexMap;

#[derive(Debug, Default, Clone)]
pub struct RunVars {
    pub cli: IndexMap<String, String>,
    /// The checkpoint's `vars:`, in order, as templates.
    pub vars: IndexMap<String, Template>,
    pub env_file: IndexMap<String, String>,
    /// The environment (empty: not a source). Never names with a dot: those
    /// are built-ins and endpoints.
    pub env: IndexMap<String, String>,
    pub builtins: IndexMap<String, String>,
    /// `service.NAME.PORT` → `host:port`, refreshed after faults.
    pub endpoints: Arc<RwLock<IndexMap<String, String>>>,
    /// `service.NAME.PORT` → why it could not be resolved.
    pub endpoint_errors: IndexMap<String, String>,
}

struct Chain<'a> {
    vars: &'a RunVars,
    captures: &'a IndexMap<String, String>,
    /// Only `vars:` before this index are visible (while expanding var N).
    upto: usize,
}

impl Lookup for Chain<'_> {
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.captures.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.vars.cli.get(name) {
            return Some(v.clone());
        }
        if let Some(i) = self.vars.vars.get_index_of(name)
            && i < self.upto
        {
            let inner = Chain { vars: self.vars, captures: self.captures, upto: i };
            return self.vars.vars[i].expand(&inner).ok();
        }
        if let Some(v) = self.vars.env_file.get(name) {
            return Some(v.clone());
        }
        if !name.contains('.')
            && let Some(v) = self.vars.env.get(name)
        {
            return Some(v.clone());
        }
        if let Some(v) = self.vars.builtins.get(name) {
            return Some(v.clone());
        }
        self.vars.endpoints.read().ok()?.get(name).cloned()
    }
}

impl RunVars {
    /// A lookup for a check, with its gate's captures on top.
    pub fn with<'a>(&'a self, captures: &'a IndexMap<String, String>) -> impl Lookup + 'a {
        Chain { vars: self, captures, upto: self.vars.len() }
    }

    /// Sets the checkpoint's `vars:` and checks each expands now (so a
    /// `${X:?message}` stops the run before anything starts).
    pub fn expand_vars(&mut self, raw: &IndexMap<String, Template>) -> Result<(), String> {
        self.vars = raw.clone();
        let empty = IndexMap::new();
        for (i, (name, t)) in self.vars.iter().enumerate() {
            let chain = Chain { vars: self, captures: &empty, upto: i };
            t.expand(&chain).map_err(|e: InterpError| format!("vars.{name}: {}", e.message))?;
        }
        Ok(())
    }

    /// The `service.NAME.PORT` endpoints the templates use, directly or
    /// through the checkpoint's `vars:` (`${API}` → `http://${service.api.8000}`),
    /// unless `--var` set that variable. The services a check concerns.
    pub fn service_refs(&self, templates: &[Template]) -> BTreeSet<(String, u16)> {
        let mut out = BTreeSet::new();
        let mut seen: Vec<String> = Vec::new();
        let mut todo: Vec<Template> = templates.to_vec();
        while let Some(t) = todo.pop() {
            let mut refs = Vec::new();
            t.references(&mut refs);
            for (name, _) in refs {
                if let Some(r) = interp::parse_service_ref(&name) {
                    out.insert(r);
                } else if !seen.contains(&name)
                    && !self.cli.contains_key(&name)
                    && let Some(inner) = self.vars.get(&name)
                {
                    seen.push(name);
                    todo.push(inner.clone());
                }
            }
        }
        out
    }

    /// Every (name, value) pair known now, for secret detection.
    pub fn all_pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for m in [&self.cli, &self.env_file] {
            out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        let empty = IndexMap::new();
        let look = self.with(&empty);
        for name in self.vars.keys() {
            if let Some(v) = look.get(name) {
                out.push((name.clone(), v));
            }
        }
        out
    }
}
