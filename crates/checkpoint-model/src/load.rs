//! Loading in passes: files → raw mirror ([`crate::raw`]) → validated plan
//! ([`crate::plan`]). Every problem in every selected file is collected into
//! one [`Diagnostics`] before anything runs, each pointing at `file:line:col`.
//!
//! A checkpoint `N` lives in `<dir>/N.yaml` (or `.yml`); its `checkpoint:` id
//! must match the file name. Paths inside a checkpoint (compose files, env
//! files, command `cwd`) are relative to the project root, the parent of the
//! checkpoints directory.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::LazyLock;
use std::time::Duration;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Location, did_you_mean, display_path};
use crate::interp::{self, Op, Template};
use crate::matcher::Matcher;
use crate::plan::{Check, Checkpoint, Criteria, Expectation, Gate, Retry, Severity, Stack, expect_fields};
use crate::raw::{self, KINDS, RawCheck, RawCheckpoint, RawExpect, RawGate};

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_secs(180);

/// Built-in variables every checkpoint can use.
pub const BUILTINS: &[&str] = &["run.id", "run.project", "run.root"];

#[derive(Clone, Debug, Default)]
pub struct LoadOptions {
    /// The checkpoints directory (default `checkpoints`).
    pub dir: PathBuf,
    /// `--var k=v`.
    pub cli_vars: IndexMap<String, String>,
    /// Values from `--env-file`.
    pub env_file_vars: IndexMap<String, String>,
    /// Whether to treat the process environment as a variable source when
    /// checking that every `${VAR}` is defined.
    pub use_env: bool,
}

impl LoadOptions {
    /// The project root: the parent of the checkpoints directory.
    pub fn root(&self) -> PathBuf {
        let dir = std::path::absolute(&self.dir).unwrap_or_else(|_| self.dir.clone());
        dir.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    }
}

/// What was loaded: the selected checkpoints, fully assembled.
#[derive(Debug)]
pub struct Loaded {
    pub checkpoints: Vec<Checkpoint>,
    /// The sources, for rendering later diagnostics.
    pub files: Vec<PathBuf>,
}

/// Every checkpoint file in `dir`, sorted (`0`, `1`, …, `final`).
pub fn checkpoint_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::new(format!("cannot read the checkpoints directory `{}`: {e}", display_path(dir)))
            .hint("run from the project root, or pass `--dir path/to/checkpoints`")
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
        .collect();
    files.sort_by_key(|p| sort_key(&stem(p)));
    Ok(files)
}

fn stem(p: &Path) -> String {
    p.file_stem().and_then(|s| s.to_str()).unwrap_or_default().to_string()
}

/// Numbers in numeric order, then names (`final` last by convention of the plans).
fn sort_key(id: &str) -> (u8, u64, String) {
    match id.parse::<u64>() {
        Ok(n) => (0, n, String::new()),
        Err(_) if id == "final" => (2, 0, String::new()),
        Err(_) => (1, 0, id.to_string()),
    }
}

/// Loads the checkpoints named in `select` (ids or paths) and what they
/// include; with `select` empty, every checkpoint in the directory.
pub fn load_checkpoints(opts: &LoadOptions, select: &[String]) -> Result<Loaded, Diagnostics> {
    let mut diags = Diagnostics::default();
    let all_files = match checkpoint_files(&opts.dir) {
        Ok(f) => f,
        Err(d) => {
            diags.push(d);
            return Err(diags);
        }
    };
    let known_ids: Vec<String> = all_files.iter().map(|p| stem(p)).collect();
    let mut wanted: Vec<PathBuf> = Vec::new();
    if select.is_empty() {
        wanted.clone_from(&all_files);
        if wanted.is_empty() {
            diags.push(
                Diagnostic::new(format!("no checkpoint files (*.yaml) in `{}`", display_path(&opts.dir)))
                    .hint("create `checkpoints/0.yaml`, or run `checkpoint init` to scaffold one from a compose file"),
            );
        }
    }
    for s in select {
        let as_path = Path::new(s);
        if (s.ends_with(".yaml") || s.ends_with(".yml")) && as_path.is_file() {
            wanted.push(as_path.to_path_buf());
        } else if let Some(p) = all_files.iter().find(|p| stem(p) == *s) {
            wanted.push(p.clone());
        } else {
            let hint = did_you_mean(s, known_ids.iter().map(String::as_str))
                .map(|m| format!("did you mean `{m}`?"))
                .unwrap_or_else(|| {
                    format!("checkpoints in `{}`: {}", display_path(&opts.dir), list_or_none(&known_ids))
                });
            diags.push(Diagnostic::new(format!("no checkpoint `{s}`")).hint(hint));
        }
    }
    let mut loader = Loader { opts, diags, parsed: HashMap::new(), all_files, files: Vec::new() };
    let mut out = Vec::new();
    for path in wanted {
        if let Some(cp) = loader.assemble(&path, &mut Vec::new()) {
            out.push(cp);
        }
    }
    if loader.diags.is_empty() { Ok(Loaded { checkpoints: out, files: loader.files }) } else { Err(loader.diags) }
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() { "none".into() } else { ids.join(", ") }
}

/// One file's own part of a checkpoint, validated.
#[derive(Clone)]
struct FilePart {
    cp: Checkpoint,
    includes: Vec<(String, Location)>,
}

struct Loader<'a> {
    opts: &'a LoadOptions,
    diags: Diagnostics,
    /// Canonical path → validated part (None if the file had errors).
    parsed: HashMap<PathBuf, Option<FilePart>>,
    all_files: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

impl Loader<'_> {
    fn part(&mut self, path: &Path) -> Option<FilePart> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(p) = self.parsed.get(&key) {
            return p.clone();
        }
        let before = self.diags.len();
        let part = self.read_and_validate(path);
        let part = if self.diags.len() > before { None } else { part };
        self.parsed.insert(key, part.clone());
        self.files.push(path.to_path_buf());
        part
    }

    /// Assembles a checkpoint with its includes (cycle-checked), then checks
    /// what needs the whole: gate ids unique, needs known and acyclic, variables defined.
    fn assemble(&mut self, path: &Path, chain: &mut Vec<String>) -> Option<Checkpoint> {
        let part = self.part(path)?;
        let id = part.cp.id.clone();
        if chain.contains(&id) {
            chain.push(id.clone());
            self.diags.push(
                Diagnostic::new(format!("checkpoints include each other: {}", chain.join(" → ")))
                    .at(part.includes.first().map_or_else(|| Location::new(&part.cp.file, 1, 1), |i| i.1.clone()))
                    .hint("a checkpoint may include only earlier checkpoints"),
            );
            return None;
        }
        chain.push(id.clone());
        let mut gates: Vec<Gate> = Vec::new();
        // Included gates use their own file's variables: the including
        // checkpoint inherits them (its own `vars:` override by name).
        let mut inherited_vars: IndexMap<String, Template> = IndexMap::new();
        let mut inherited_secrets: Vec<String> = Vec::new();
        let mut ok = true;
        for (inc, loc) in &part.includes {
            let Some(inc_path) = self.all_files.iter().find(|p| stem(p) == *inc).cloned() else {
                let known: Vec<String> = self.all_files.iter().map(|p| stem(p)).collect();
                self.diags.push(
                    Diagnostic::new(format!("included checkpoint `{inc}` does not exist"))
                        .at(loc.clone())
                        .label("no such checkpoint")
                        .hint_opt(
                            did_you_mean(inc, known.iter().map(String::as_str)).map(|m| format!("did you mean `{m}`?")),
                        ),
                );
                ok = false;
                continue;
            };
            match self.assemble(&inc_path, chain) {
                Some(inc_cp) => {
                    for (k, v) in inc_cp.vars {
                        inherited_vars.shift_remove(&k);
                        inherited_vars.insert(k, v);
                    }
                    inherited_secrets.extend(inc_cp.secrets);
                    for g in inc_cp.gates {
                        if !gates.iter().any(|x| x.id == g.id) {
                            gates.push(g);
                        }
                    }
                }
                None => ok = false,
            }
        }
        chain.pop();
        if !ok {
            return None;
        }
        let mut cp = part.cp.clone();
        for (k, v) in std::mem::take(&mut cp.vars) {
            inherited_vars.shift_remove(&k);
            inherited_vars.insert(k, v);
        }
        cp.vars = inherited_vars;
        for s in inherited_secrets {
            if !cp.secrets.contains(&s) {
                cp.secrets.push(s);
            }
        }
        for g in std::mem::take(&mut cp.gates) {
            if let Some(prev) = gates.iter().find(|x| x.id == g.id) {
                self.diags.push(
                    Diagnostic::new(format!("gate id `{}` is used twice", g.id))
                        .at(g.location.clone())
                        .label("second definition")
                        .hint(format!(
                            "the first is at {}; gate ids must be unique across included checkpoints",
                            prev.location
                        )),
                );
                continue;
            }
            gates.push(g);
        }
        cp.gates = gates;
        let before = self.diags.len();
        self.check_needs(&cp);
        self.check_variables(&cp);
        if self.diags.len() > before { None } else { Some(cp) }
    }

    fn read_and_validate(&mut self, path: &Path) -> Option<FilePart> {
        let file = display_path(path);
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.diags.push(Diagnostic::new(format!("cannot read `{file}`: {e}")));
                return None;
            }
        };
        if meta.len() > MAX_FILE_BYTES {
            self.diags.push(
                Diagnostic::new(format!(
                    "`{file}` is {} bytes; checkpoint files are limited to {MAX_FILE_BYTES} bytes",
                    meta.len()
                ))
                .at(Location::new(&file, 1, 1))
                .hint("split the checkpoint, or move data into fixtures referenced by the checks"),
            );
            return None;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.diags.push(Diagnostic::new(format!("cannot read `{file}`: {e}")));
                return None;
            }
        };
        let text = match String::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let col = good.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                let valid = String::from_utf8_lossy(e.as_bytes()).into_owned();
                self.diags.add_source(&file, &valid);
                self.diags.push(
                    Diagnostic::new(format!("`{file}` is not valid UTF-8"))
                        .at(Location::new(&file, line as u32, col as u32))
                        .label("invalid byte here")
                        .hint("save the file as UTF-8"),
                );
                return None;
            }
        };
        self.diags.add_source(&file, &text);
        if text.trim().lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            self.diags.push(
                Diagnostic::new(format!("`{file}` is empty"))
                    .at(Location::new(&file, 1, 1))
                    .hint("a checkpoint needs at least `checkpoint:`, `title:` and `gates:`; see `checkpoints/1.yaml` or `checkpoint schema`"),
            );
            return None;
        }
        let raw: RawCheckpoint = match serde_saphyr::from_str(&text) {
            Ok(r) => r,
            Err(e) => {
                self.diags.push(yaml_error(&file, &e));
                return None;
            }
        };
        let mut v = Validator { file: file.clone(), root: self.opts.root(), diags: &mut self.diags };
        v.checkpoint(raw, &stem(path))
    }

    fn check_needs(&mut self, cp: &Checkpoint) {
        let ids: Vec<&str> = cp.gates.iter().map(|g| g.id.as_str()).collect();
        for g in &cp.gates {
            for (i, n) in g.needs.iter().enumerate() {
                if n == &g.id {
                    self.diags.push(
                        Diagnostic::new(format!("gate `{}` needs itself", g.id))
                            .at(g.location.clone())
                            .hint("remove it from `needs`"),
                    );
                } else if !ids.contains(&n.as_str()) {
                    let _ = i;
                    self.diags.push(
                        Diagnostic::new(format!(
                            "gate `{}` needs `{n}`, which is not a gate of checkpoint {}",
                            g.id, cp.id
                        ))
                        .at(g.location.clone())
                        .hint(
                            did_you_mean(n, ids.iter().copied())
                                .map(|m| format!("did you mean `{m}`?"))
                                .unwrap_or_else(|| {
                                    "a gate may need gates of its checkpoint or of the checkpoints it includes".into()
                                }),
                        ),
                    );
                }
            }
        }
        // Cycles: depth-first search with colours; name the cycle.
        let index: HashMap<&str, usize> = cp.gates.iter().enumerate().map(|(i, g)| (g.id.as_str(), i)).collect();
        let mut state = vec![0u8; cp.gates.len()];
        let mut stack: Vec<usize> = Vec::new();
        let mut reported = HashSet::new();
        fn visit(
            i: usize,
            cp: &Checkpoint,
            index: &HashMap<&str, usize>,
            state: &mut [u8],
            stack: &mut Vec<usize>,
            found: &mut Vec<Vec<usize>>,
        ) {
            state[i] = 1;
            stack.push(i);
            for n in &cp.gates[i].needs {
                let Some(&j) = index.get(n.as_str()) else { continue };
                if j == i {
                    continue;
                }
                if state[j] == 1 {
                    let pos = stack.iter().position(|&x| x == j).unwrap_or(0);
                    found.push(stack[pos..].to_vec());
                } else if state[j] == 0 {
                    visit(j, cp, index, state, stack, found);
                }
            }
            stack.pop();
            state[i] = 2;
        }
        let mut found = Vec::new();
        for i in 0..cp.gates.len() {
            if state[i] == 0 {
                visit(i, cp, &index, &mut state, &mut stack, &mut found);
            }
        }
        for cycle in found {
            let mut key: Vec<usize> = cycle.clone();
            key.sort_unstable();
            if !reported.insert(key) {
                continue;
            }
            let mut names: Vec<&str> = cycle.iter().map(|&i| cp.gates[i].id.as_str()).collect();
            names.push(names[0]);
            let g = &cp.gates[cycle[0]];
            self.diags.push(
                Diagnostic::new(format!("gates need each other in a cycle: {}", names.join(" → ")))
                    .at(g.location.clone())
                    .hint("remove one of these `needs` so the gates can be ordered"),
            );
        }
    }

    fn check_variables(&mut self, cp: &Checkpoint) {
        let mut defined: BTreeSet<String> = BUILTINS.iter().map(|s| (*s).to_string()).collect();
        defined.extend(self.opts.cli_vars.keys().cloned());
        defined.extend(self.opts.env_file_vars.keys().cloned());
        if self.opts.use_env {
            defined.extend(std::env::vars().map(|(k, _)| k));
        }
        if let Some(stack) = &cp.stack {
            // Service endpoints are resolved from the running stack; the port is checked at run time.
            for s in &stack.services {
                defined.insert(format!("service.{s}.*"));
            }
        }
        // vars: in order; each may use the ones before it.
        let mut var_defined = defined.clone();
        for (name, t) in &cp.vars {
            self.check_template_refs(t, &var_defined, &Location::new(&cp.file, 1, 1), &format!("vars.{name}"), cp);
            var_defined.insert(name.clone());
        }
        let base = var_defined;
        // Captures: a gate sees its own earlier captures and those of the gates it needs (transitively).
        let by_id: HashMap<&str, &Gate> = cp.gates.iter().map(|g| (g.id.as_str(), g)).collect();
        for g in &cp.gates {
            let mut visible = base.clone();
            let mut seen = HashSet::new();
            let mut todo: Vec<&str> = g.needs.iter().map(String::as_str).collect();
            while let Some(n) = todo.pop() {
                if !seen.insert(n) {
                    continue;
                }
                if let Some(ng) = by_id.get(n) {
                    for c in &ng.checks {
                        visible.extend(all_captures(c));
                    }
                    todo.extend(ng.needs.iter().map(String::as_str));
                }
            }
            for c in &g.checks {
                self.check_check_vars(c, &mut visible, cp);
            }
        }
    }

    fn check_check_vars(&mut self, c: &Check, visible: &mut BTreeSet<String>, cp: &Checkpoint) {
        let mut templates = Vec::new();
        collect_templates(&c.spec, "", &mut templates);
        for e in &c.expect {
            let mut ts = Vec::new();
            matcher_templates(&e.matcher, &mut ts);
            for t in ts {
                templates.push((format!("expect.{}", e.label()), t));
            }
        }
        for (field, t) in templates {
            if let Ok(t) = Template::parse(&t) {
                self.check_template_refs(&t, visible, &c.location, &field, cp);
            }
        }
        for d in &c.during {
            self.check_check_vars(d, &mut visible.clone(), cp);
        }
        for d in &c.after {
            self.check_check_vars(d, &mut visible.clone(), cp);
        }
        for (name, _) in &c.capture {
            visible.insert(name.clone());
        }
    }

    fn check_template_refs(
        &mut self,
        t: &Template,
        defined: &BTreeSet<String>,
        loc: &Location,
        field: &str,
        cp: &Checkpoint,
    ) {
        for part in &t.parts {
            let interp::Part::Var { name, op, .. } = part else { continue };
            if matches!(op, Op::Default { .. }) {
                continue;
            }
            let is_defined = defined.contains(name)
                || interp::parse_service_ref(name).is_some_and(|(s, _)| defined.contains(&format!("service.{s}.*")));
            if is_defined {
                continue;
            }
            if let Some((svc, _)) = interp::parse_service_ref(name) {
                let services: Vec<String> = cp.stack.as_ref().map(|s| s.services.clone()).unwrap_or_default();
                let d = if cp.stack.is_none() {
                    Diagnostic::new(format!("`${{{name}}}` in `{field}` needs a stack, but checkpoint {} has no `stack:`", cp.id))
                        .at(loc.clone())
                        .hint(format!("add `stack: {{ compose: [docker-compose.yml] }}`, or set it for an external target: `--var {name}=host:port`"))
                } else {
                    Diagnostic::new(format!(
                        "`${{{name}}}` in `{field}` names service `{svc}`, which is not in the compose file"
                    ))
                    .at(loc.clone())
                    .hint(
                        did_you_mean(&svc, services.iter().map(String::as_str))
                            .map(|m| format!("did you mean `{m}`?"))
                            .unwrap_or_else(|| format!("services: {}", list_or_none(&services))),
                    )
                };
                self.diags.push(d);
                continue;
            }
            let mut d = Diagnostic::new(match op {
                Op::Required { .. } => format!("required variable `{name}` is not set (in `{field}`)"),
                _ => format!("undefined variable `${{{name}}}` in `{field}`"),
            })
            .at(loc.clone());
            let near = did_you_mean(name, defined.iter().map(String::as_str).filter(|n| !n.contains('*')));
            d = d.hint(match near {
                Some(m) => format!("did you mean `${{{m}}}`? Otherwise set it with `--var {name}=…`, `vars:`, the environment, or a default `${{{name}:-…}}`"),
                None => format!("set it with `--var {name}=…`, in `vars:`, in the environment, or give a default: `${{{name}:-…}}`"),
            });
            self.diags.push(d);
        }
    }
}

fn all_captures(c: &Check) -> Vec<String> {
    let mut v: Vec<String> = c.capture.iter().map(|(n, _)| n.clone()).collect();
    for x in c.during.iter().chain(&c.after) {
        v.extend(all_captures(x));
    }
    v
}

fn collect_templates(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::String(s) if s.contains("${") => out.push((path.to_string(), s.clone())),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                collect_templates(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(o) => {
            for (k, x) in o {
                let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                collect_templates(x, &p, out);
            }
        }
        _ => {}
    }
}

fn matcher_templates(m: &Matcher, out: &mut Vec<String>) {
    use crate::matcher::Op as M;
    for op in &m.ops {
        let mut vals: Vec<&Value> = Vec::new();
        match op {
            M::Equals(v)
            | M::NotEquals(v)
            | M::Contains(v)
            | M::NotContains(v)
            | M::Gt(v)
            | M::Gte(v)
            | M::Lt(v)
            | M::Lte(v) => {
                vals.push(v);
            }
            M::OneOf(a) => vals.extend(a.iter()),
            M::Matches(s) if s.contains("${") => out.push(s.clone()),
            M::Length(inner) => matcher_templates(inner, out),
            _ => {}
        }
        for v in vals {
            let mut ts = Vec::new();
            collect_templates(v, "", &mut ts);
            out.extend(ts.into_iter().map(|(_, t)| t));
        }
    }
}

static UNKNOWN_FIELD: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"unknown field `([^`]*)`, expected (?:one of )?(.*)").expect("valid regex"));
static MISSING_FIELD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"missing field `([^`]*)`").expect("valid regex"));

/// A YAML or shape error from serde-saphyr, made friendlier: unknown keys get
/// a did-you-mean, missing keys say what to add.
fn yaml_error(file: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let location = e.location().map(|l| Location::from_yaml(file, &l));
    let raw_msg = e.without_snippet().to_string();
    let msg = raw_msg.lines().next().unwrap_or("").trim().to_string();
    let msg = strip_location_suffix(&msg);
    if let Some(c) = UNKNOWN_FIELD.captures(&msg) {
        let key = c[1].to_string();
        let expected: Vec<String> = c[2]
            .split(", ")
            .map(|s| s.trim_matches(|c| c == '`' || c == ' ').to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let is_check = expected.iter().any(|k| k == "http");
        let hint = match did_you_mean(&key, expected.iter().map(String::as_str)) {
            Some(m) => format!("did you mean `{m}`?"),
            None if is_check => format!(
                "a check has a `name`, one kind ({}), and optionally `expect`, `capture`, `timeout`, `retry`, `service`",
                KINDS.join(", ")
            ),
            None => format!("expected one of: {}", expected.join(", ")),
        };
        return Diagnostic::new(format!("unknown key `{key}`")).at_opt(location).label("not allowed here").hint(hint);
    }
    if let Some(c) = MISSING_FIELD.captures(&msg) {
        let key = c[1].to_string();
        let hint = match key.as_str() {
            "checkpoint" => {
                "every checkpoint file starts with `checkpoint: <id>` (the file name without .yaml)".to_string()
            }
            "title" => "add `title:` with the plan's wording".to_string(),
            "name" => "every check needs `name:`, a short description shown in the reports".to_string(),
            "id" => "every gate needs `id:`, a stable identifier like `db-migrations`".to_string(),
            "url" => "an http check needs `url:`".to_string(),
            other => format!("add `{other}:`"),
        };
        return Diagnostic::new(format!("missing key `{key}`")).at_opt(location).hint(hint);
    }
    let hint = if msg.contains("invalid type") && msg.contains("expected a sequence") {
        Some("this key takes a list: `- item` lines or `[a, b]`".to_string())
    } else if msg.contains("invalid type") && (msg.contains("expected struct") || msg.contains("expected a map")) {
        Some("this key takes a mapping of `key: value` lines".to_string())
    } else if msg.to_lowercase().contains("budget") || msg.to_lowercase().contains("alias") {
        Some("the file expands into too much data (anchors/aliases); write it out plainly".to_string())
    } else {
        None
    };
    let msg = if msg.is_empty() { "invalid checkpoint file".to_string() } else { msg };
    Diagnostic::new(msg).at_opt(location).hint_opt(hint)
}

fn strip_location_suffix(msg: &str) -> String {
    static AT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+at line \d+,? column \d+\.?$").expect("valid regex"));
    AT.replace(msg, "").to_string()
}

/// Raw → plan for one file, pushing a diagnostic for every problem.
struct Validator<'d> {
    file: String,
    root: PathBuf,
    diags: &'d mut Diagnostics,
}

impl Validator<'_> {
    fn loc<T>(&self, s: &Spanned<T>) -> Location {
        Location::from_yaml(&self.file, &s.referenced)
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn checkpoint(&mut self, raw: RawCheckpoint, stem: &str) -> Option<FilePart> {
        let id_loc = self.loc(&raw.checkpoint);
        let id = match &raw.checkpoint.value {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            Value::Number(n) if n.is_u64() => n.to_string(),
            other => {
                self.err(
                    Diagnostic::new(format!(
                        "`checkpoint` must be a name or a number, not {}",
                        crate::matcher::show(other)
                    ))
                    .at(id_loc.clone())
                    .hint(format!("write `checkpoint: {stem}`")),
                );
                stem.to_string()
            }
        };
        if id != stem {
            self.err(
                Diagnostic::new(format!("checkpoint `{id}` is in a file named `{stem}`"))
                    .at(id_loc)
                    .label("does not match the file name")
                    .hint(format!("write `checkpoint: {stem}`, or rename the file to `{id}.yaml`")),
            );
        }
        if raw.title.trim().is_empty() {
            self.err(
                Diagnostic::new("`title` is empty").at(Location::new(&self.file, 1, 1)).hint("use the plan's wording"),
            );
        }
        let mut includes = Vec::new();
        for inc in &raw.includes {
            let loc = self.loc(inc);
            match &inc.value {
                Value::String(s) => includes.push((s.clone(), loc)),
                Value::Number(n) => includes.push((n.to_string(), loc)),
                other => self.err(
                    Diagnostic::new(format!("an include is a checkpoint id, not {}", crate::matcher::show(other)))
                        .at(loc),
                ),
            }
        }
        let criteria = self.criteria(raw.criteria.as_ref());
        let stack = raw.stack.as_ref().and_then(|s| self.stack(s));
        let mut vars = IndexMap::new();
        for (name, val) in &raw.vars {
            let loc = self.loc(val);
            if !valid_var_name(name) {
                self.err(
                    Diagnostic::new(format!("`{name}` is not a valid variable name"))
                        .at(loc.clone())
                        .hint("use letters, digits and `_`, starting with a letter or `_`"),
                );
            }
            match Template::parse(&val.value) {
                Ok(t) => {
                    vars.insert(name.clone(), t);
                }
                Err(e) => self.err(Diagnostic::new(e.message).at(loc).hint_opt(e.hint)),
            }
        }
        let services = stack.as_ref().map(|s| s.services.clone());
        let mut gates = Vec::new();
        let mut seen: HashMap<String, Location> = HashMap::new();
        for g in raw.gates {
            if let Some(gate) = self.gate(g, services.as_deref()) {
                if let Some(first) = seen.get(&gate.id) {
                    self.err(
                        Diagnostic::new(format!("gate id `{}` is used twice", gate.id))
                            .at(gate.location.clone())
                            .label("second definition")
                            .hint(format!("the first is at {first}; gate ids must be unique")),
                    );
                    continue;
                }
                seen.insert(gate.id.clone(), gate.location.clone());
                gates.push(gate);
            }
        }
        if gates.is_empty() && includes.is_empty() && self.diags.is_empty() {
            self.err(
                Diagnostic::new(format!("checkpoint `{id}` has no gates"))
                    .at(Location::new(&self.file, 1, 1))
                    .hint("add `gates:` with at least one gate, or `includes:` earlier checkpoints"),
            );
        }
        Some(FilePart {
            cp: Checkpoint {
                id,
                title: raw.title,
                description: raw.description,
                file: self.file.clone(),
                plan: raw.plan,
                stack,
                vars,
                secrets: raw.secrets,
                criteria,
                gates,
            },
            includes,
        })
    }

    fn percent(&mut self, v: &Spanned<Value>, what: &str) -> Option<f64> {
        let loc = self.loc(v);
        let parsed = match &v.value {
            Value::Number(n) => n.as_f64(),
            Value::String(s) => s.trim().strip_suffix('%').and_then(|p| p.trim().parse::<f64>().ok()),
            _ => None,
        };
        match parsed {
            Some(p) if (0.0..=100.0).contains(&p) => Some(p / 100.0),
            _ => {
                self.err(
                    Diagnostic::new(format!("`{what}` must be a percentage between 0% and 100%"))
                        .at(loc)
                        .hint(format!("write e.g. `{what}: 70%`")),
                );
                None
            }
        }
    }

    fn criteria(&mut self, raw: Option<&raw::RawCriteria>) -> Criteria {
        let mut c = Criteria::default();
        if let Some(r) = raw {
            if let Some(s) = &r.should {
                c.should = self.percent(s, "should").unwrap_or(c.should);
            }
            if let Some(p) = &r.pass_rate {
                c.pass_rate = self.percent(p, "pass_rate");
            }
        }
        c
    }

    fn stack(&mut self, raw: &raw::RawStack) -> Option<Stack> {
        let at = Location::new(&self.file, 1, 1);
        let mut compose_files = Vec::new();
        let mut services: Vec<String> = Vec::new();
        if raw.compose.is_empty() {
            self.err(
                Diagnostic::new("`stack` has no compose files")
                    .at(at.clone())
                    .hint("add `compose: [docker-compose.test.yml]` (paths relative to the project root)"),
            );
        }
        for f in &raw.compose {
            let p = self.root.join(f);
            match crate::compose::service_names(&p) {
                Ok(names) => {
                    for n in names {
                        if !services.contains(&n) {
                            services.push(n);
                        }
                    }
                    compose_files.push(p);
                }
                Err(e) => self.err(
                    Diagnostic::new(e)
                        .at(at.clone())
                        .hint(format!("compose paths are relative to the project root `{}`", display_path(&self.root))),
                ),
            }
        }
        let mut env_files = Vec::new();
        for f in &raw.env_file {
            let p = self.root.join(f);
            if p.is_file() {
                env_files.push(p);
            } else {
                self.err(Diagnostic::new(format!("env file `{f}` does not exist")).at(at.clone()));
            }
        }
        for s in raw.services.iter().chain(raw.ready.keys()) {
            if !services.is_empty() && !services.contains(s) {
                self.err(Diagnostic::new(format!("service `{s}` is not in the compose file")).at(at.clone()).hint_opt(
                    did_you_mean(s, services.iter().map(String::as_str)).map(|m| format!("did you mean `{m}`?")),
                ));
            }
        }
        let ready_timeout = match &raw.ready_timeout {
            Some(t) => match crate::duration::parse(t) {
                Ok(d) => d,
                Err(e) => {
                    self.err(Diagnostic::new(format!("`ready_timeout`: {e}")).at(at));
                    DEFAULT_READY_TIMEOUT
                }
            },
            None => DEFAULT_READY_TIMEOUT,
        };
        Some(Stack { raw: raw.clone(), compose_files, env_files, services, ready_timeout })
    }

    fn gate(&mut self, g: RawGate, services: Option<&[String]>) -> Option<Gate> {
        let location = self.loc(&g.id);
        let id = g.id.value.trim().to_string();
        if !valid_id(&id) {
            self.err(
                Diagnostic::new(format!("`{id}` is not a valid gate id"))
                    .at(location.clone())
                    .hint("use letters, digits, `-`, `_` and `.`, e.g. `db-migrations`"),
            );
        }
        if g.title.trim().is_empty() {
            self.err(
                Diagnostic::new(format!("gate `{id}` has an empty title"))
                    .at(location.clone())
                    .hint("use the plan's wording"),
            );
        }
        let severity = match g.severity.as_ref().map(|s| (s.value.trim().to_lowercase(), self.loc(s))) {
            None => Severity::Must,
            Some((s, _)) if s == "must" => Severity::Must,
            Some((s, _)) if s == "should" => Severity::Should,
            Some((s, _)) if s == "nice" => Severity::Nice,
            Some((s, loc)) => {
                self.err(
                    Diagnostic::new(format!("unknown severity `{s}`"))
                        .at(loc)
                        .label("expected must, should or nice")
                        .hint(
                            did_you_mean(&s, ["must", "should", "nice"])
                                .map(|m| format!("did you mean `{m}`?"))
                                .unwrap_or_else(|| "severity is `must` (default), `should` or `nice`".into()),
                        ),
                );
                Severity::Must
            }
        };
        if g.checks.is_empty() {
            self.err(
                Diagnostic::new(format!("gate `{id}` has no checks"))
                    .at(location.clone())
                    .hint("add `checks:` with at least one check, e.g. `- name: API answers` + `http: { url: … }`"),
            );
        }
        let mut checks = Vec::new();
        let mut names: HashSet<String> = HashSet::new();
        for c in g.checks {
            if let Some(check) = self.check(c, services) {
                if !names.insert(check.name.clone()) {
                    self.err(
                        Diagnostic::new(format!("check name `{}` is used twice in gate `{id}`", check.name))
                            .at(check.location.clone())
                            .hint("check names must be unique within a gate: they become JUnit test names"),
                    );
                }
                checks.push(check);
            }
        }
        Some(Gate {
            id,
            title: g.title,
            description: g.description,
            severity,
            wave: g.wave,
            tags: g.tags,
            needs: g.needs.iter().map(|n| n.value.trim().to_string()).collect(),
            plan: g.plan,
            checks,
            location,
            defined_in: self.file.clone(),
        })
    }

    fn duration(&mut self, s: &Spanned<String>, what: &str) -> Option<Duration> {
        match crate::duration::parse(&s.value) {
            Ok(d) => Some(d),
            Err(e) => {
                let loc = self.loc(s);
                self.err(Diagnostic::new(format!("`{what}`: {e}")).at(loc));
                None
            }
        }
    }

    #[expect(clippy::too_many_lines, reason = "one linear pass over a check's fields reads best in one place")]
    fn check(&mut self, c: RawCheck, services: Option<&[String]>) -> Option<Check> {
        let location = self.loc(&c.name);
        let name = c.name.value.trim().to_string();
        if name.is_empty() {
            self.err(
                Diagnostic::new("a check has an empty name").at(location.clone()).hint("describe what it observes"),
            );
        }
        let mut during = Vec::new();
        let mut after = Vec::new();
        let mut kinds: Vec<(&str, Value)> = Vec::new();
        let ser = |v: &dyn erased::Ser| v.to_value();
        if let Some(s) = &c.http {
            kinds.push(("http", ser(s)));
        }
        if let Some(s) = &c.tcp {
            kinds.push(("tcp", ser(s)));
        }
        if let Some(s) = &c.postgres {
            kinds.push(("postgres", ser(s)));
        }
        if let Some(s) = &c.redis {
            kinds.push(("redis", ser(s)));
        }
        if let Some(s) = &c.command {
            kinds.push(("command", ser(s)));
        }
        if let Some(s) = &c.compose {
            kinds.push(("compose", ser(s)));
        }
        if let Some(s) = &c.exec {
            kinds.push(("exec", ser(s)));
        }
        if let Some(s) = &c.reach {
            kinds.push(("reach", ser(s)));
        }
        if let Some(f) = c.fault {
            let spec = raw::FaultSpec {
                service: f.service,
                action: f.action,
                network: f.network,
                recover_within: f.recover_within,
            };
            kinds.push(("fault", ser(&spec)));
            for x in f.during {
                if let Some(ch) = self.check(x, services) {
                    during.push(ch);
                }
            }
            for x in f.after {
                if let Some(ch) = self.check(x, services) {
                    after.push(ch);
                }
            }
        }
        let (kind, spec) = match kinds.len() {
            1 => kinds.pop().unwrap_or(("http", Value::Null)),
            0 => {
                self.err(
                    Diagnostic::new(format!("check `{name}` has no kind"))
                        .at(location)
                        .hint(format!("add exactly one of: {}", KINDS.join(", "))),
                );
                return None;
            }
            _ => {
                let names: Vec<&str> = kinds.iter().map(|k| k.0).collect();
                self.err(
                    Diagnostic::new(format!("check `{name}` has several kinds: {}", names.join(", ")))
                        .at(location)
                        .hint("a check observes one thing; split it into one check per kind"),
                );
                return None;
            }
        };
        self.check_spec(kind, &spec, &name, &location, services);
        let expect = self.expectations(kind, c.expect.unwrap_or_default());
        let mut capture = Vec::new();
        for (var, path) in &c.capture {
            let loc = self.loc(path);
            if !valid_var_name(var) {
                self.err(
                    Diagnostic::new(format!("`{var}` is not a valid variable name to capture into"))
                        .at(loc.clone())
                        .hint("use letters, digits and `_`, e.g. `TOKEN`"),
                );
            }
            if let Err(e) = serde_json_path::JsonPath::parse(&path.value) {
                self.err(
                    Diagnostic::new(format!("invalid JSONPath `{}`: {e}", path.value))
                        .at(loc)
                        .hint("JSONPath per RFC 9535, e.g. `$.access_token` or `$[0].count`"),
                );
            }
            capture.push((var.clone(), path.value.clone()));
        }
        let timeout = c.timeout.as_ref().and_then(|t| self.duration(t, "timeout")).unwrap_or(DEFAULT_TIMEOUT);
        let retry = c.retry.as_ref().and_then(|r| {
            let until = self.duration(&r.until, "retry.until")?;
            let every = match &r.every {
                Some(e) => self.duration(e, "retry.every")?,
                None => Duration::from_millis(500),
            };
            Some(Retry { until, every })
        });
        let service = c.service.clone().or_else(|| infer_service(kind, &spec));
        if let (Some(svc), Some(known)) = (&c.service, services)
            && !known.is_empty()
            && !known.contains(svc)
        {
            self.err(
                Diagnostic::new(format!("service `{svc}` is not in the compose file")).at(location.clone()).hint(
                    did_you_mean(svc, known.iter().map(String::as_str))
                        .map(|m| format!("did you mean `{m}`?"))
                        .unwrap_or_else(|| format!("services: {}", known.join(", "))),
                ),
            );
        }
        Some(Check {
            name,
            kind: kind.to_string(),
            spec,
            expect,
            capture,
            timeout,
            retry,
            service,
            location,
            during,
            after,
        })
    }

    /// Kind-specific rules that serde cannot express.
    fn check_spec(&mut self, kind: &str, spec: &Value, name: &str, loc: &Location, services: Option<&[String]>) {
        let mut templates = Vec::new();
        collect_templates(spec, kind, &mut templates);
        for (field, t) in &templates {
            if let Err(e) = Template::parse(t) {
                self.err(Diagnostic::new(format!("in `{field}`: {}", e.message)).at(loc.clone()).hint_opt(e.hint));
            }
        }
        let s = |k: &str| spec.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        match kind {
            "http" => {
                let method = s("method");
                if !method.is_empty() && !method.contains("${") && reqwest_method_invalid(&method) {
                    self.err(
                        Diagnostic::new(format!("`{method}` is not an HTTP method")).at(loc.clone()).hint_opt(
                            did_you_mean(
                                &method.to_uppercase(),
                                ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"],
                            )
                            .map(|m| format!("did you mean `{m}`?")),
                        ),
                    );
                }
                let url = s("url");
                if !(url.contains("${") || url.starts_with("http://") || url.starts_with("https://")) {
                    self.err(
                        Diagnostic::new(format!("`{url}` is not an http(s) URL"))
                            .at(loc.clone())
                            .hint("write a full URL, e.g. `http://${service.api.8000}/health`"),
                    );
                }
                if spec.get("json").is_some() && spec.get("body").is_some() {
                    self.err(
                        Diagnostic::new("an http check has both `json` and `body`")
                            .at(loc.clone())
                            .hint("send one body: `json:` or `body:`"),
                    );
                }
            }
            "postgres" => {
                let has_query = spec.get("query").is_some();
                let has_table = spec.get("table").is_some();
                if has_query == has_table {
                    self.err(
                        Diagnostic::new(format!("postgres check `{name}` needs exactly one of `query` or `table`"))
                            .at(loc.clone())
                            .hint("`query: SELECT count(*) AS n FROM users`, or `table: users` with optional `columns: [id, email]`"),
                    );
                }
                if spec.get("columns").is_some() && !has_table {
                    self.err(Diagnostic::new("`columns` goes with `table`").at(loc.clone()));
                }
            }
            "redis" => {
                let one = spec.get("command").is_some();
                let many = spec.get("commands").is_some();
                if one == many {
                    self.err(
                        Diagnostic::new(format!("redis check `{name}` needs exactly one of `command` or `commands`"))
                            .at(loc.clone())
                            .hint("`command: [PING]`, or `commands: [[LPUSH, q, x], [RPOP, q]]`"),
                    );
                }
                if spec
                    .get("commands")
                    .and_then(Value::as_array)
                    .is_some_and(|a| a.iter().any(|c| c.as_array().is_none_or(Vec::is_empty)))
                {
                    self.err(Diagnostic::new("an empty command in `commands`").at(loc.clone()));
                }
            }
            "command" => {
                let argv = spec.get("argv").is_some();
                let shell = spec.get("shell").is_some();
                if argv == shell {
                    self.err(
                        Diagnostic::new(format!("command check `{name}` needs exactly one of `argv` or `shell`"))
                            .at(loc.clone())
                            .hint("`argv: [pg_isready, -h, localhost]`, or `shell: \"curl -s … | grep ok\"`"),
                    );
                }
            }
            "exec" if spec.get("argv").and_then(Value::as_array).is_none_or(Vec::is_empty) => {
                self.err(Diagnostic::new("an exec check needs a non-empty `argv`").at(loc.clone()));
            }
            "fault" => {
                let action = s("action");
                if !["stop", "kill", "pause", "disconnect"].contains(&action.as_str()) {
                    self.err(
                        Diagnostic::new(format!("unknown fault action `{action}`")).at(loc.clone()).hint(
                            did_you_mean(&action, ["stop", "kill", "pause", "disconnect"])
                                .map(|m| format!("did you mean `{m}`?"))
                                .unwrap_or_else(|| "actions: stop, kill, pause, disconnect".into()),
                        ),
                    );
                }
                if action == "disconnect" && spec.get("network").is_none() {
                    self.err(Diagnostic::new("`disconnect` needs `network:`").at(loc.clone()));
                }
                if let Some(r) = spec.get("recover_within").and_then(Value::as_str)
                    && let Err(e) = crate::duration::parse(r)
                {
                    self.err(Diagnostic::new(format!("`recover_within`: {e}")).at(loc.clone()));
                }
            }
            _ => {}
        }
        // Services named by stack-bound kinds must exist.
        if let Some(known) = services.filter(|k| !k.is_empty()) {
            let mut named: Vec<String> = Vec::new();
            for key in ["service", "from", "to"] {
                if let Some(v) = spec.get(key).and_then(Value::as_str) {
                    named.push(v.to_string());
                }
            }
            for key in ["services", "completed"] {
                if let Some(list) = spec.get(key).and_then(Value::as_array) {
                    named.extend(list.iter().filter_map(Value::as_str).map(str::to_string));
                }
            }
            for n in named {
                if !n.contains("${") && !known.contains(&n) {
                    self.err(
                        Diagnostic::new(format!("service `{n}` is not in the compose file")).at(loc.clone()).hint(
                            did_you_mean(&n, known.iter().map(String::as_str))
                                .map(|m| format!("did you mean `{m}`?"))
                                .unwrap_or_else(|| format!("services: {}", known.join(", "))),
                        ),
                    );
                }
            }
        }
    }

    fn expectations(&mut self, kind: &str, e: RawExpect) -> Vec<Expectation> {
        let allowed = expect_fields(kind);
        let mut out = Vec::new();
        let mut single = |me: &mut Self, field: &str, v: Option<Spanned<Value>>| {
            if let Some(v) = v {
                me.expectation(kind, allowed, field, None, &v, &mut out);
            }
        };
        single(self, "status", e.status);
        single(self, "body", e.body);
        single(self, "duration", e.duration);
        single(self, "row_count", e.row_count);
        single(self, "reply", e.reply);
        single(self, "exit_code", e.exit_code);
        single(self, "stdout", e.stdout);
        single(self, "stderr", e.stderr);
        for (h, v) in &e.headers {
            self.expectation(kind, allowed, "headers", Some(h.to_ascii_lowercase()), v, &mut out);
        }
        for (path, v) in &e.json {
            let loc = self.loc(v);
            if let Err(err) = serde_json_path::JsonPath::parse(path) {
                self.err(
                    Diagnostic::new(format!("invalid JSONPath `{path}`: {err}"))
                        .at(loc)
                        .hint("JSONPath per RFC 9535 starts with `$`, e.g. `$.status` or `$.items[0].id`"),
                );
                continue;
            }
            self.expectation(kind, allowed, "json", Some(path.clone()), v, &mut out);
        }
        out
    }

    fn expectation(
        &mut self,
        kind: &str,
        allowed: &[&str],
        field: &str,
        key: Option<String>,
        v: &Spanned<Value>,
        out: &mut Vec<Expectation>,
    ) {
        let loc = self.loc(v);
        if !allowed.contains(&field) {
            self.err(
                Diagnostic::new(format!("`expect.{field}` does not apply to a {kind} check"))
                    .at(loc)
                    .hint(format!("a {kind} check can expect: {}", allowed.join(", "))),
            );
            return;
        }
        match Matcher::parse(&v.value) {
            Ok(matcher) => out.push(Expectation { field: field.to_string(), key, matcher, location: loc }),
            Err(e) => self.err(Diagnostic::new(format!("in `expect.{field}`: {}", e.message)).at(loc).hint_opt(e.hint)),
        }
    }
}

fn reqwest_method_invalid(m: &str) -> bool {
    !m.chars().all(|c| c.is_ascii_alphabetic())
        || !["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT"]
            .contains(&m.to_uppercase().as_str())
}

/// The compose service a check concerns, when its spec says so.
fn infer_service(kind: &str, spec: &Value) -> Option<String> {
    let direct = match kind {
        "exec" | "fault" => spec.get("service"),
        "reach" => spec.get("from"),
        _ => None,
    };
    if let Some(s) = direct.and_then(Value::as_str) {
        return Some(s.to_string());
    }
    // `${service.api.8000}` in a URL or DSN.
    let mut ts = Vec::new();
    collect_templates(spec, "", &mut ts);
    ts.iter()
        .filter_map(|(_, t)| Template::parse(t).ok())
        .flat_map(|t| interp::service_refs(std::slice::from_ref(&t)))
        .map(|(s, _)| s)
        .next()
}

pub fn valid_var_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_id(n: &str) -> bool {
    !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

/// Serializing the typed kind specs to JSON, through one small object-safe trait.
mod erased {
    pub(super) trait Ser {
        fn to_value(&self) -> serde_json::Value;
    }
    impl<T: serde::Serialize> Ser for T {
        fn to_value(&self) -> serde_json::Value {
            serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
        }
    }
}

/// Reads an env file (`KEY=VALUE` lines) into variables.
pub fn read_env_file(path: &Path) -> Result<IndexMap<String, String>, Diagnostic> {
    let iter = dotenvy::from_path_iter(path).map_err(|e| {
        Diagnostic::new(format!("cannot read env file `{}`: {e}", display_path(path)))
            .hint("check the path given to `--env-file`")
    })?;
    let mut out = IndexMap::new();
    for (i, item) in iter.enumerate() {
        match item {
            Ok((k, v)) => {
                out.insert(k, v);
            }
            Err(e) => {
                return Err(Diagnostic::new(format!("env file `{}`: {e}", display_path(path)))
                    .at(Location::new(display_path(path), (i + 1) as u32, 1))
                    .hint("lines are `KEY=VALUE`; quote values with spaces"));
            }
        }
    }
    Ok(out)
}
