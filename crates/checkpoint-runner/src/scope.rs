//! Where `${VAR}` values come from during a run, first match wins:
//! captures (this gate's earlier checks and the gates it needs) → `--var` →
//! the checkpoint's `vars:` → `--env-file` → the environment → built-ins
//! (`run.id`, `run.project`, `run.root`, `service.NAME.PORT`).
//!
//! `vars:` come before the environment on purpose: a checkpoint's `USER: alice`
//! must not turn into the shell's `$USER`. Write `${API_URL:-http://…}` in
//! `vars:` to let the environment override.

use checkpoint_model::interp::{Env, Lookup, Template};
use indexmap::IndexMap;

#[derive(Debug, Default, Clone)]
pub struct RunVars {
    pub cli: IndexMap<String, String>,
    pub vars: IndexMap<String, String>,
    pub env_file: IndexMap<String, String>,
    pub use_env: bool,
    pub builtins: IndexMap<String, String>,
    /// `service.NAME.PORT` → why it could not be resolved.
    pub endpoint_errors: IndexMap<String, String>,
}

struct Chain<'a> {
    vars: &'a RunVars,
    captures: &'a IndexMap<String, String>,
    vars_so_far: Option<&'a IndexMap<String, String>>,
}

impl Lookup for Chain<'_> {
    fn get(&self, name: &str) -> Option<String> {
        if let Some(v) = self.captures.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.vars.cli.get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.vars_so_far.unwrap_or(&self.vars.vars).get(name) {
            return Some(v.clone());
        }
        if let Some(v) = self.vars.env_file.get(name) {
            return Some(v.clone());
        }
        if self.vars.use_env
            && let Some(v) = Env.get(name)
        {
            return Some(v);
        }
        self.vars.builtins.get(name).cloned()
    }
}

impl RunVars {
    /// A lookup for a check, with its gate's captures on top.
    pub fn with<'a>(&'a self, captures: &'a IndexMap<String, String>) -> impl Lookup + 'a {
        Chain { vars: self, captures, vars_so_far: None }
    }

    /// Expands the checkpoint's `vars:` in order, each seeing the ones before it.
    pub fn expand_vars(&mut self, raw: &IndexMap<String, Template>) -> Result<(), String> {
        let empty = IndexMap::new();
        let mut done: IndexMap<String, String> = IndexMap::new();
        for (name, t) in raw {
            let value = {
                let chain = Chain { vars: self, captures: &empty, vars_so_far: Some(&done) };
                t.expand(&chain).map_err(|e| format!("vars.{name}: {}", e.message))?
            };
            done.insert(name.clone(), value);
        }
        self.vars = done;
        Ok(())
    }

    /// Every (name, value) pair, for secret detection.
    pub fn all_pairs(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for m in [&self.cli, &self.vars, &self.env_file] {
            out.extend(m.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        out
    }
}
