//! Loading in passes: files → raw mirror ([`crate::raw`]) → validated plan
//! ([`crate::plan`]). Every problem in every selected file is collected into
//! one [`Diagnostics`] before anything runs, each pointing at `file:line:col`.
//!
//! A checkpoint `N` lives in `<dir>/N.yaml` (or `.yml`); its `checkpoint:` id
//! must match the file name. Paths inside a checkpoint (compose files, env
//! files, command `cwd`) are relative to the project root, the parent of the
//! checkpoints directory.
//!
//! This module keeps the files, includes, the checkpoint's and gates' keys,
//! variables and needs; a check's own fields are validated in `load::check`
//! (and `load::capture`), a kind's spec by its module in [`crate::kinds`].

use std::collections::BTreeSet;

// The loader's maps are keyed by paths, names and places, hashed thousands of
// times for a large file: foldhash, not SipHash (issue 13).
use foldhash::{HashMap, HashMapExt as _, HashSet, HashSetExt as _};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::LazyLock;
use std::time::Duration;

use indexmap::IndexMap;
use regex::Regex;
use serde_json::Value;
use serde_saphyr::Spanned;

use crate::diag::{Diagnostic, Diagnostics, Location, did_you_mean, did_you_mean_or, display_path};
use crate::interp::{self, Op, Template};
use crate::matcher::Matcher;
use crate::plan::{Check, Checkpoint, Criteria, Gate, Severity, Stack};
use crate::raw::{self, KINDS, RawCheckpoint, RawGate};
use crate::yaml::{self, Node};

mod capture;
mod check;

/// Files larger than this are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
pub const DEFAULT_READY_TIMEOUT: Duration = Duration::from_mins(3);

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
    /// The environment, a variable source when checking that every `${VAR}`
    /// is defined (empty: none). The CLI passes its context's environment.
    pub env: IndexMap<String, String>,
    /// `run -f FILE`: compose files on top of every checkpoint's
    /// `stack.compose` (overrides may add services, such as a seeding
    /// one-shot): service names are checked against all of them.
    pub extra_compose: Vec<PathBuf>,
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

/// Frees `x` on a thread of its own, so the caller goes on (or exits)
/// without waiting: a large tree or plan is thousands of allocations, and
/// freeing them takes milliseconds. With no thread to be had, here.
pub fn free_aside<T: Send + 'static>(x: T) {
    let _ = std::thread::Builder::new().spawn(move || drop(x));
}

/// Starts `build` on a thread named `name`, the first time `started` is
/// passed in this process: for statics that take milliseconds to build
/// (forced with `LazyLock::force`) and are needed a little later. Whoever
/// needs one first waits for it; with no thread to be had, builds it then.
pub(crate) fn build_aside(started: &'static std::sync::Once, name: &str, build: fn()) {
    started.call_once(|| {
        let _ = std::thread::Builder::new().name(name.into()).spawn(build);
    });
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
    crate::shape::prepare();
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
        if is_yaml(as_path) && as_path.is_file() {
            wanted.push(as_path.to_path_buf());
        } else if let Some(p) = all_files.iter().find(|p| stem(p) == *s) {
            wanted.push(p.clone());
        } else {
            let hint = did_you_mean_or(s, known_ids.iter().map(String::as_str), || {
                format!("checkpoints in `{}`: {}", display_path(&opts.dir), list_or_none(&known_ids))
            });
            diags.push(Diagnostic::new(format!("no checkpoint `{s}`")).hint(hint));
        }
    }
    let mut loader = Loader {
        opts,
        diags,
        parsed: HashMap::new(),
        assembled: HashMap::new(),
        spots: Spots::default(),
        all_files,
        files: Vec::new(),
    };
    let mut out = Vec::new();
    for path in wanted {
        if let Some(cp) = loader.assemble_with_origins(&path, &mut Vec::new()) {
            out.push(cp);
        }
    }
    if loader.diags.is_empty() {
        // The caches let go first, so each checkpoint is moved out, not copied
        // (one selected twice, or also included, is copied).
        loader.assembled.clear();
        let checkpoints = out.into_iter().map(|a| Rc::unwrap_or_clone(a).0).collect();
        Ok(Loaded { checkpoints, files: loader.files })
    } else {
        sort_by_place(&mut loader.diags.items);
        Err(loader.diags)
    }
}

/// Files in the order they were first reported, each file's problems top to
/// bottom (the checks on the whole checkpoint run after the file's own).
fn sort_by_place(items: &mut [Diagnostic]) {
    let mut files: Vec<String> = Vec::new();
    for d in items.iter() {
        if let Some(l) = &d.location
            && !files.contains(&l.file)
        {
            files.push(l.file.clone());
        }
    }
    items.sort_by_key(|d| {
        d.location.as_ref().map(|l| (files.iter().position(|f| *f == l.file).unwrap_or(usize::MAX), l.line, l.col))
    });
}

fn list_or_none(ids: &[String]) -> String {
    if ids.is_empty() { "none".into() } else { ids.join(", ") }
}

/// One file's own part of a checkpoint, validated.
struct FilePart {
    cp: Checkpoint,
    includes: Vec<(String, Location)>,
    /// False when validating the file found problems: its checkpoint is then
    /// assembled only to check what needs the whole (needs, variables), so
    /// those problems are reported in the same pass, and never returned.
    ok: bool,
}

struct Loader<'a> {
    opts: &'a LoadOptions,
    diags: Diagnostics,
    /// Canonical path → validated part (None if the file had errors). A
    /// part is taken out when its checkpoint is assembled (`assembled` has it then).
    parsed: HashMap<PathBuf, Option<FilePart>>,
    /// Canonical path → the assembled checkpoint and where each of its
    /// variables is defined (None if it or an include had errors). A
    /// checkpoint included by several others is checked once.
    assembled: HashMap<PathBuf, Option<Rc<(Checkpoint, VarOrigins)>>>,
    spots: Spots,
    all_files: Vec<PathBuf>,
    files: Vec<PathBuf>,
}

/// Variable name → the file whose `vars:` defines it.
type VarOrigins = IndexMap<String, String>;

/// A `${NAME}` written in a file: the name, where, and how wide.
type VarRef = (String, Location, usize);

/// Where things are written, for the checks that run on the assembled plan
/// (which keeps only a location per gate and check).
#[derive(Default)]
struct Spots {
    /// (gate location, needed id) → the `needs` entry.
    needs: HashMap<(Location, String), (Location, Option<usize>)>,
    /// Check location → every `${…}` in its strings (nested fault checks have their own).
    check_refs: HashMap<Location, Vec<VarRef>>,
    /// (file, variable) → every `${…}` in that variable's value.
    var_refs: HashMap<(String, String), Vec<VarRef>>,
}

impl Loader<'_> {
    /// Reads and validates a file once, into `parsed`.
    fn parse_once(&mut self, key: &Path, path: &Path) {
        if self.parsed.contains_key(key) {
            return;
        }
        let before = self.diags.len();
        let mut part = self.read_and_validate(path);
        if self.diags.len() > before
            && let Some(p) = &mut part
        {
            p.ok = false;
        }
        self.parsed.insert(key.to_path_buf(), part);
        self.files.push(path.to_path_buf());
    }

    /// Assembles a checkpoint with its includes (cycle-checked), then checks
    /// what needs the whole: gate ids unique, needs known and acyclic,
    /// variables defined. Shared: a checkpoint included by several others is
    /// assembled once.
    fn assemble_with_origins(&mut self, path: &Path, chain: &mut Vec<String>) -> Option<Rc<(Checkpoint, VarOrigins)>> {
        let key = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        if let Some(done) = self.assembled.get(&key) {
            return done.clone();
        }
        self.parse_once(&key, path);
        let id = self.parsed.get(&key)?.as_ref()?.cp.id.clone();
        if chain.contains(&id) {
            // Reported where the cycle closes: the include that leads back.
            return None;
        }
        // Taken, not copied: from here on `assembled` answers for this file.
        let part = self.parsed.get_mut(&key)?.take()?;
        chain.push(id.clone());
        let mut gates: Vec<Gate> = Vec::new();
        // Included gates use their own file's variables: the including
        // checkpoint inherits them (its own `vars:` override by name).
        let mut inherited_vars: IndexMap<String, Template> = IndexMap::new();
        let mut origins: VarOrigins = IndexMap::new();
        let mut inherited_secrets: Vec<String> = Vec::new();
        let mut ok = true;
        for (inc, loc) in &part.includes {
            let Some(inc_path) = self.all_files.iter().find(|p| stem(p) == *inc).cloned() else {
                let known: Vec<String> = self.all_files.iter().map(|p| stem(p)).filter(|k| k != &id).collect();
                self.diags.push(
                    Diagnostic::new(format!("included checkpoint `{inc}` does not exist"))
                        .at(loc.clone())
                        .label("no such checkpoint")
                        .hint(did_you_mean_or(inc, known.iter().map(String::as_str), || {
                            format!("checkpoints here: {}", list_or_none(&known))
                        })),
                );
                ok = false;
                continue;
            };
            if chain.contains(inc) {
                let mut cycle = chain.clone();
                cycle.push(inc.clone());
                let start = cycle.iter().position(|c| c == inc).unwrap_or(0);
                self.diags.push(
                    Diagnostic::new(format!("checkpoints include each other: {}", cycle[start..].join(" → ")))
                        .at(loc.clone())
                        .label(format!("checkpoint {id} includes {inc}, which leads back here"))
                        .hint("a checkpoint may include only earlier checkpoints; remove one of these includes"),
                );
                ok = false;
                continue;
            }
            match self.assemble_with_origins(&inc_path, chain) {
                Some(inc) => {
                    let (inc_cp, inc_origins) = &*inc;
                    for (k, v) in &inc_cp.vars {
                        inherited_vars.shift_remove(k);
                        origins.shift_remove(k);
                        let origin = inc_origins.get(k).cloned().unwrap_or_else(|| inc_cp.file.clone());
                        inherited_vars.insert(k.clone(), v.clone());
                        origins.insert(k.clone(), origin);
                    }
                    inherited_secrets.extend(inc_cp.secrets.iter().cloned());
                    for g in &inc_cp.gates {
                        if !gates.iter().any(|x| x.id == g.id) {
                            gates.push(g.clone());
                        }
                    }
                }
                None => ok = false,
            }
        }
        chain.pop();
        if !ok {
            self.assembled.insert(key, None);
            return None;
        }
        let FilePart { mut cp, ok: part_ok, .. } = part;
        for (k, v) in std::mem::take(&mut cp.vars) {
            inherited_vars.shift_remove(&k);
            origins.shift_remove(&k);
            inherited_vars.insert(k.clone(), v);
            origins.insert(k, cp.file.clone());
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
                        .span(g.location.clone(), Some(g.id.chars().count()))
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
        self.check_variables(&cp, &origins);
        let result = if self.diags.len() > before || !part_ok { None } else { Some(Rc::new((cp, origins))) };
        self.assembled.insert(key, result.clone());
        result
    }

    fn read_and_validate(&mut self, path: &Path) -> Option<FilePart> {
        /// From this size on, a file's shape pass and typed read run on two
        /// threads and its tree is freed on a third (below, a thread costs
        /// more than it saves).
        const PARALLEL_BYTES: usize = 32 * 1024;
        let file = display_path(path);
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) => {
                self.diags.push(Diagnostic::new(format!("cannot read `{file}`: {e}")));
                return None;
            }
        };
        if meta.len() > MAX_FILE_BYTES {
            // Only the start is read, to show which file it is.
            let mut head = Vec::new();
            if let Ok(f) = std::fs::File::open(path) {
                let _ = std::io::Read::read_to_end(&mut std::io::Read::take(f, 4096), &mut head);
            }
            let head = String::from_utf8_lossy(&head);
            self.diags.add_source(&file, head.lines().next().unwrap_or_default());
            self.diags.push(
                Diagnostic::new(format!(
                    "`{file}` is {} bytes; checkpoint files are limited to {MAX_FILE_BYTES} bytes ({} MiB)",
                    meta.len(),
                    MAX_FILE_BYTES / 1024 / 1024
                ))
                .at(Location::new(&file, 1, 1))
                .label("too large to load")
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
                let line = good.split(|&b| b == b'\n').count();
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
        let shared = std::sync::Arc::new(text);
        self.diags.share_source(&file, &shared);
        let text: &str = &shared;
        let stem = stem(path);
        if text.trim().lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
            let what = if text.trim().is_empty() { "is empty" } else { "has only comments" };
            self.diags.push(
                Diagnostic::new(format!("`{file}` {what}"))
                    .at(Location::new(&file, 1, 1))
                    .label("no checkpoint here")
                    .hint(format!(
                        "a checkpoint needs at least `checkpoint: {stem}`, `title:` and `gates:`; `checkpoint schema` prints the whole format"
                    )),
            );
            return None;
        }
        // First the tree, to find every shape problem of the file at once;
        // then the typed mirror, whose errors are the fallback for anything
        // the shape pass is too lenient to notice.
        let tree = match yaml::parse(text) {
            Ok(t) => Some(t),
            Err(e) => {
                // A few exotic inputs only the tree refuses: go on without it then.
                if serde_saphyr::from_str_with_options::<RawCheckpoint>(text, yaml::options(false)).is_err() {
                    self.diags.push(yaml_error(&file, text, &e));
                    return None;
                }
                None
            }
        };
        // The shape pass, and the typed mirror from the tree without parsing
        // the text again (what the tree cannot give exactly, the text parse
        // gives, and words the error if there is one). Both only read the
        // tree: for a large file they run side by side.
        let (problems, from_tree) = match &tree {
            None => (Vec::new(), None),
            Some(t) => {
                let shape = || crate::shape::check(t, &file, &stem);
                let typed = || yaml::typed::from_node::<RawCheckpoint>(t).ok();
                if text.len() < PARALLEL_BYTES {
                    (shape(), typed())
                } else {
                    std::thread::scope(|s| match std::thread::Builder::new().spawn_scoped(s, shape) {
                        Ok(beside) => {
                            let typed = typed();
                            (beside.join().unwrap_or_else(|p| std::panic::resume_unwind(p)), typed)
                        }
                        // No thread to be had: one after the other.
                        Err(_) => (shape(), typed()),
                    })
                }
            }
        };
        if !problems.is_empty() {
            for d in problems {
                self.diags.push(d);
            }
            return None;
        }
        let raw: RawCheckpoint = match from_tree {
            Some(r) => r,
            None => match serde_saphyr::from_str_with_options(text, yaml::options(false)) {
                Ok(r) => r,
                Err(e) => {
                    self.diags.push(yaml_error(&file, text, &e));
                    return None;
                }
            },
        };
        let mut v = Validator {
            file: file.clone(),
            root: self.opts.root(),
            extra_compose: &self.opts.extra_compose,
            diags: &mut self.diags,
            spots: &mut self.spots,
            text,
        };
        let part = v.checkpoint(raw, tree.as_ref(), &stem);
        // Tens of thousands of nodes take milliseconds to free: a large
        // file's tree is freed beside the work that goes on.
        if text.len() >= PARALLEL_BYTES
            && let Some(t) = tree
        {
            free_aside(t);
        }
        part
    }

    /// Where gate `g` writes `need` in its `needs:` (or the gate id when unknown).
    fn need_spot(&self, g: &Gate, need: &str) -> (Location, Option<usize>) {
        self.spots
            .needs
            .get(&(g.location.clone(), need.to_string()))
            .cloned()
            .unwrap_or_else(|| (g.location.clone(), Some(g.id.chars().count())))
    }

    fn check_needs(&mut self, cp: &Checkpoint) {
        let ids: Vec<&str> = cp.gates.iter().map(|g| g.id.as_str()).collect();
        for g in &cp.gates {
            for n in &g.needs {
                let (loc, width) = self.need_spot(g, n);
                if n == &g.id {
                    self.diags.push(
                        Diagnostic::new(format!("gate `{}` needs itself", g.id))
                            .span(loc, width)
                            .label("its own id")
                            .hint(format!("remove `{n}` from the `needs` of gate `{}`", g.id)),
                    );
                } else if !ids.contains(&n.as_str()) {
                    let near = did_you_mean(n, ids.iter().copied().filter(|i| *i != g.id));
                    self.diags.push(
                        Diagnostic::new(format!(
                            "gate `{}` needs `{n}`, which is not a gate of checkpoint {}",
                            g.id, cp.id
                        ))
                        .span(loc, width)
                        .label("no such gate")
                        .hint(near.map_or_else(
                            || {
                                format!(
                                    "a gate may need gates of its checkpoint or of the checkpoints it includes: {}",
                                    ids.join(", ")
                                )
                            },
                            |m| format!("did you mean `{m}`?"),
                        )),
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
            // Point at the `needs` entry that closes the cycle.
            let last = &cp.gates[cycle[cycle.len() - 1]];
            let (loc, width) = self.need_spot(last, names[0]);
            self.diags.push(
                Diagnostic::new(format!("gates need each other in a cycle: {}", names.join(" → ")))
                    .span(loc, width)
                    .label(format!("`{}` needs `{}`, which closes the cycle", last.id, names[0]))
                    .hint("remove one of these `needs` so the gates can be ordered"),
            );
        }
    }

    fn check_variables(&mut self, cp: &Checkpoint, origins: &VarOrigins) {
        let mut defined: BTreeSet<String> = BUILTINS.iter().map(|s| (*s).to_string()).collect();
        defined.extend(self.opts.cli_vars.keys().cloned());
        defined.extend(self.opts.env_file_vars.keys().cloned());
        defined.extend(self.opts.env.keys().cloned());
        if let Some(stack) = &cp.stack {
            // Service endpoints are resolved from the running stack; the port is checked at run time.
            for s in &stack.services {
                defined.insert(format!("service.{s}.*"));
            }
        }
        // vars: in order; each may use the ones before it.
        let mut var_defined = defined.clone();
        for (name, t) in &cp.vars {
            let file = origins.get(name).cloned().unwrap_or_else(|| cp.file.clone());
            let refs = self.spots.var_refs.get(&(file.clone(), name.clone())).cloned().unwrap_or_default();
            let at = Location::new(&file, 1, 1);
            let ctx = RefContext { cp, field: format!("vars.{name}"), refs: &refs, at: &at, check: None };
            self.check_template_refs(t, &Visible::new(&var_defined), &ctx);
            var_defined.insert(name.clone());
        }
        let base = var_defined;
        // Captures: a gate sees its own earlier captures and those of the gates it needs (transitively).
        let by_id: HashMap<&str, &Gate> = cp.gates.iter().map(|g| (g.id.as_str(), g)).collect();
        for g in &cp.gates {
            let mut visible = Visible::new(&base);
            let mut seen = HashSet::new();
            let mut todo: Vec<&str> = g.needs.iter().map(String::as_str).collect();
            while let Some(n) = todo.pop() {
                if !seen.insert(n) {
                    continue;
                }
                if let Some(ng) = by_id.get(n) {
                    for c in &ng.checks {
                        visible.own.extend(all_captures(c));
                    }
                    todo.extend(ng.needs.iter().map(String::as_str));
                }
            }
            for c in &g.checks {
                self.check_check_vars(c, g, &mut visible, cp);
            }
        }
    }

    fn check_check_vars(&mut self, c: &Check, g: &Gate, visible: &mut Visible<'_>, cp: &Checkpoint) {
        let mut templates = Vec::new();
        check::spec_templates(&c.spec, &mut templates);
        for e in &c.expect {
            let mut ts = Vec::new();
            matcher_templates(&e.matcher, &mut ts);
            for t in ts {
                templates.push((format!("expect.{}", e.label()), t));
            }
        }
        // Most checks write no `${…}`: their references are not even looked up.
        let refs = if templates.is_empty() {
            Vec::new()
        } else {
            self.spots.check_refs.get(&c.location).cloned().unwrap_or_default()
        };
        for (field, t) in templates {
            if let Ok(t) = Template::parse(&t) {
                let ctx = RefContext { cp, field, refs: &refs, at: &c.location, check: Some((g, c)) };
                self.check_template_refs(&t, visible, &ctx);
            }
        }
        for d in &c.during {
            self.check_check_vars(d, g, &mut visible.clone(), cp);
        }
        for d in &c.after {
            self.check_check_vars(d, g, &mut visible.clone(), cp);
        }
        for (name, _) in &c.capture {
            visible.own.insert(name.clone());
        }
    }

    fn check_template_refs(&mut self, t: &Template, defined: &Visible<'_>, ctx: &RefContext<'_>) {
        let cp = ctx.cp;
        let field = &ctx.field;
        for part in &t.parts {
            let interp::Part::Var { name, op, arg } = part else { continue };
            if matches!(op, Op::Default { .. }) {
                continue;
            }
            let is_defined = defined.contains(name)
                || interp::parse_service_ref(name).is_some_and(|(s, _)| defined.contains(&format!("service.{s}.*")));
            if is_defined {
                continue;
            }
            let (loc, width) = ctx
                .refs
                .iter()
                .find(|(n, _, _)| n == name)
                .map_or_else(|| (ctx.at.clone(), None), |(_, l, w)| (l.clone(), Some(*w)));
            if let Some((svc, _)) = interp::parse_service_ref(name) {
                let services: Vec<String> = cp.stack.as_ref().map(|s| s.services.clone()).unwrap_or_default();
                let d = if cp.stack.is_none() {
                    Diagnostic::new(format!("`${{{name}}}` in `{field}` needs a stack, but checkpoint {} has no `stack:`", cp.id))
                        .span(loc, width)
                        .label("a service address")
                        .hint(format!("add `stack: {{ compose: [docker-compose.yml] }}`, or set it for an external target: `--var {name}=host:port`"))
                } else {
                    Diagnostic::new(format!(
                        "`${{{name}}}` in `{field}` names service `{svc}`, which is not in the compose file"
                    ))
                    .span(loc, width)
                    .label("no such service")
                    .hint(did_you_mean_or(&svc, services.iter().map(String::as_str), || {
                        format!("services: {}", list_or_none(&services))
                    }))
                };
                self.diags.push(d);
                continue;
            }
            let why = template_text(arg);
            let mut d = Diagnostic::new(match op {
                Op::Required { .. } if !why.trim().is_empty() => {
                    format!("required variable `{name}` is not set (in `{field}`): {}", why.trim())
                }
                Op::Required { .. } => format!("required variable `{name}` is not set (in `{field}`)"),
                _ => format!("undefined variable `${{{name}}}` in `{field}`"),
            })
            .span(loc, width)
            .label(match op {
                Op::Required { .. } => "required, and not set",
                _ => "not defined",
            });
            let names: BTreeSet<&str> = defined.iter().map(String::as_str).filter(|n| !n.contains('*')).collect();
            let near = did_you_mean(name, names);
            let captured = captured_by(cp, name);
            d = d.hint(match (captured, near) {
                (Some((cg, cc)), _) => match ctx.check {
                    Some((g, _)) if g.id == cg.id => format!(
                        "`{name}` is captured by check `{}`, which runs after this one: move this check below it",
                        cc.name
                    ),
                    Some((g, _)) => format!(
                        "`{name}` is captured in gate `{}`: add `needs: [{}]` to gate `{}` so its captures are visible here",
                        cg.id, cg.id, g.id
                    ),
                    None => format!("`{name}` is captured by a check; captures cannot be used in `vars:`"),
                },
                (None, Some(m)) => format!("did you mean `${{{m}}}`? Otherwise set it with `--var {name}=…`, `vars:`, the environment, or a default `${{{name}:-…}}`"),
                (None, None) => match op {
                    Op::Required { .. } => format!("set it with `--var {name}=…`, in `--env-file`, or in the environment"),
                    _ => format!("set it with `--var {name}=…`, in `vars:`, in the environment, or give a default: `${{{name}:-…}}`"),
                },
            });
            self.diags.push(d);
        }
    }
}

/// The names a template may use: those every gate sees (built-ins, the
/// environment, `--var`, `vars:`, services), borrowed, and a gate's own
/// captures on top — a gate's scope costs its captures, not a copy of the
/// environment.
#[derive(Clone)]
struct Visible<'a> {
    base: &'a BTreeSet<String>,
    own: BTreeSet<String>,
}

impl<'a> Visible<'a> {
    fn new(base: &'a BTreeSet<String>) -> Self {
        Self { base, own: BTreeSet::new() }
    }

    fn contains(&self, name: &str) -> bool {
        self.base.contains(name) || self.own.contains(name)
    }

    fn iter(&self) -> impl Iterator<Item = &String> {
        self.base.iter().chain(&self.own)
    }
}

/// What a `${…}` check needs to know about where the template is.
struct RefContext<'a> {
    cp: &'a Checkpoint,
    /// `http.url`, `vars.API`, `expect.json $.id`.
    field: String,
    /// The references written in the file, to point at the right one.
    refs: &'a [VarRef],
    /// Where to point when the reference is not found in `refs`.
    at: &'a Location,
    /// The gate and check the template belongs to (None for `vars:`).
    check: Option<(&'a Gate, &'a Check)>,
}

/// A template as written: `set ${X} first`.
fn template_text(t: &Template) -> String {
    t.parts
        .iter()
        .map(|p| match p {
            interp::Part::Lit(s) => s.clone(),
            interp::Part::Var { name, .. } => format!("${{{name}}}"),
        })
        .collect()
}

/// The gate and check that capture `name`, if any.
fn captured_by<'a>(cp: &'a Checkpoint, name: &str) -> Option<(&'a Gate, &'a Check)> {
    fn find<'a>(c: &'a Check, name: &str) -> Option<&'a Check> {
        if c.capture.iter().any(|(n, _)| n == name) {
            return Some(c);
        }
        c.during.iter().chain(&c.after).find_map(|x| find(x, name))
    }
    cp.gates.iter().find_map(|g| g.checks.iter().find_map(|c| find(c, name)).map(|c| (g, c)))
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
        let vals: &[Value] = match op {
            M::Equals(v)
            | M::NotEquals(v)
            | M::Contains(v)
            | M::NotContains(v)
            | M::Gt(v)
            | M::Gte(v)
            | M::Lt(v)
            | M::Lte(v) => std::slice::from_ref(v),
            M::OneOf(a) => a,
            M::Matches(s) if s.contains("${") => {
                out.push(s.clone());
                continue;
            }
            M::Length(inner) => {
                matcher_templates(inner, out);
                continue;
            }
            _ => continue,
        };
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

/// A YAML error from serde-saphyr, made friendlier: syntax errors say what
/// to look for, a budget breach says what it means; unknown and missing keys
/// (normally found by the shape pass first) get a did-you-mean.
fn yaml_error(file: &str, text: &str, e: &serde_saphyr::Error) -> Diagnostic {
    let e = e.without_snippet();
    let location = e.location().filter(|l| l.line() > 0).map(|l| Location::from_yaml(file, &l));
    let raw_msg = e.to_string();
    // Budget breaches arrive as their own variant or wrapped in an alias
    // error; the text is the stable part.
    if let Some(breach) = raw_msg.split("budget breached: ").nth(1) {
        let what = if breach.starts_with("Depth") {
            "is nested too deeply"
        } else if breach.starts_with("Documents") {
            return Diagnostic::new(format!("`{file}` holds several YAML documents"))
                .at_opt(location)
                .label("a second document starts here")
                .hint("one checkpoint per file: remove the `---` line, or move the rest into its own file");
        } else {
            "expands to too much data"
        };
        return Diagnostic::new(format!(
            "`{file}` {what} (the limit is {} YAML values); refusing to load it",
            yaml::MAX_NODES
        ))
        .at_opt(location)
        .label("stopped expanding here")
        .hint("anchors and aliases (`&a`, `*a`) multiply what they point at; write the values out, or split the file");
    }
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
        return Diagnostic::new(format!("missing key `{key}`")).at_opt(location).hint(format!("add `{key}:`"));
    }
    let lower = msg.to_lowercase();
    if lower.contains(" tab") {
        // The scanner reports where the token started; the tab is what to fix.
        let from_line = location.as_ref().map_or(1, |l| l.line as usize);
        let tab = text.lines().enumerate().skip(from_line.saturating_sub(1)).find_map(|(i, l)| {
            let indent: String = l.chars().take_while(|c| c.is_whitespace()).collect();
            indent.find('\t').map(|_| (i + 1, indent.chars().position(|c| c == '\t').unwrap_or(0) + 1))
        });
        let at = tab.map(|(l, c)| Location::new(file, l as u32, c as u32)).or(location);
        return Diagnostic::new("a tab in the indentation")
            .at_opt(at)
            .width(1)
            .label("tab")
            .hint("YAML indents with spaces only; replace the tab with spaces");
    }
    let (message, hint) = if lower.contains("duplicate") {
        (msg.split(", set DuplicateKeyPolicy").next().unwrap_or(&msg).to_string(), "keep one of the two keys")
    } else if lower.contains("expected string scalar") || lower.contains("invalid type") {
        (format!("wrong kind of value: {msg}"), "compare with `checkpoint schema`, or a shipped checkpoint")
    } else if lower.contains("flow") {
        (
            format!("not valid YAML: {msg}"),
            "inside `{ … }` and `[ … ]`, quote text that contains `[`, `]`, `{`, `}`, `,` or `: ` (e.g. `\"$[0].n\"`), and close every bracket",
        )
    } else {
        (
            format!("not valid YAML: {msg}"),
            "check the brackets, quotes and indentation on this line and the ones above it",
        )
    };
    Diagnostic::new(message).at_opt(location).label("here").hint(hint)
}

fn strip_location_suffix(msg: &str) -> String {
    static AT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\s+at line \d+,? column \d+\.?$").expect("valid regex"));
    AT.replace(msg, "").to_string()
}

/// A place to point at: a location and how wide the carets are.
type Spot = (Location, Option<usize>);

/// Raw → plan for one file, pushing a diagnostic for every problem. The
/// file's [`Node`] tree (when it parsed) is walked alongside the raw mirror to
/// point each diagnostic at the key or value it is about.
struct Validator<'d> {
    /// `run -f` overrides: their services count as the compose file's.
    extra_compose: &'d [PathBuf],
    file: String,
    root: PathBuf,
    diags: &'d mut Diagnostics,
    spots: &'d mut Spots,
    text: &'d str,
}

impl Validator<'_> {
    fn loc<T>(&self, s: &Spanned<T>) -> Location {
        Location::from_yaml(&self.file, &s.referenced)
    }

    /// A spanned value's place, with its width when it is a scalar.
    fn spot<T>(&self, s: &Spanned<T>) -> Spot {
        let len = usize::try_from(s.referenced.span().len()).unwrap_or(0);
        (self.loc(s), (len > 1).then_some(len))
    }

    /// A node's place, or `fallback` when the tree is not there.
    fn place(&self, n: Option<&Node>, fallback: &Location) -> Spot {
        n.map_or_else(|| (fallback.clone(), None), |n| (n.location(&self.file), n.width()))
    }

    fn err(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    /// An error pointing at `spot` (a [`Self::place`] or [`Self::spot`]).
    fn err_at(&mut self, (location, width): Spot, d: Diagnostic) {
        self.diags.push(d.span(location, width));
    }

    /// `service` is named where a compose service is meant, and the compose file has none of that name.
    fn unknown_service(&mut self, at: Spot, service: &str, known: &[String]) {
        let hint =
            did_you_mean_or(service, known.iter().map(String::as_str), || format!("services: {}", known.join(", ")));
        let d = Diagnostic::new(format!("service `{service}` is not in the compose file")).label("no such service");
        self.err_at(at, d.hint(hint));
    }

    #[expect(clippy::too_many_lines, reason = "one linear pass over the file's top-level keys")]
    #[allow(clippy::unnecessary_wraps, reason = "a validator step: None when the part is invalid, as its siblings")]
    fn checkpoint(&mut self, raw: RawCheckpoint, tree: Option<&Node>, stem: &str) -> Option<FilePart> {
        let before = self.diags.len();
        let (id_loc, id_width) = self.spot(&raw.checkpoint);
        let id = match &raw.checkpoint.value {
            Value::String(s) if !s.trim().is_empty() => s.trim().to_string(),
            Value::Number(n) if n.is_u64() => n.to_string(),
            other => {
                self.err(
                    Diagnostic::new(format!(
                        "`checkpoint` must be a name or a number, not {}",
                        crate::matcher::show(other)
                    ))
                    .span(id_loc.clone(), id_width)
                    .label("not an id")
                    .hint(format!("write `checkpoint: {stem}`, the file name without `.yaml`")),
                );
                stem.to_string()
            }
        };
        if id != stem {
            self.err(
                Diagnostic::new(format!("checkpoint `{id}` is in a file named `{stem}`"))
                    .span(id_loc, id_width)
                    .label("does not match the file name")
                    .hint(format!("write `checkpoint: {stem}`, or rename the file to `{id}.yaml`")),
            );
        }
        if raw.title.trim().is_empty() {
            self.err_at(
                self.place(tree.and_then(|t| t.key("title")), &Location::new(&self.file, 1, 1)),
                Diagnostic::new("`title` is empty")
                    .label("no text")
                    .hint("use the plan's wording, e.g. `title: \"Day 1 — backend and database\"`"),
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
                        .at(loc)
                        .label("not an id")
                        .hint("write the ids of earlier checkpoints: `includes: [0, 1]`"),
                ),
            }
        }
        let criteria = self.criteria(raw.criteria.as_ref());
        let stack = raw.stack.as_ref().and_then(|s| self.stack(s, tree.and_then(|t| t.get("stack"))));
        let mut vars = IndexMap::new();
        let vars_node: HashMap<String, (&Node, &Node)> = tree
            .and_then(|t| t.get("vars"))
            .and_then(Node::as_map)
            .map(|m| m.iter().map(|(k, v)| (k.key_text(), (k, v))).collect())
            .unwrap_or_default();
        for (name, val) in &raw.vars {
            let (loc, width) = self.spot(val);
            let entry = vars_node.get(name).copied();
            if let Some((_, vn)) = entry {
                let refs = yaml::var_refs(self.text, vn, &self.file);
                self.spots.var_refs.insert((self.file.clone(), name.clone()), refs);
            }
            if !valid_var_name(name) {
                let (kl, kw) = self.place(entry.map(|e| e.0), &loc);
                self.err(
                    Diagnostic::new(format!("`{name}` is not a valid variable name"))
                        .span(kl, kw)
                        .label("not a name")
                        .hint("use letters, digits and `_`, starting with a letter or `_`"),
                );
            }
            match Template::parse(&val.value) {
                Ok(t) => {
                    vars.insert(name.clone(), t);
                }
                Err(e) => {
                    self.err(
                        Diagnostic::new(format!("in `vars.{name}`: {}", e.message))
                            .span(loc, width)
                            .label("malformed `${…}`")
                            .hint_opt(e.hint),
                    );
                    // Still defined, so its uses are not reported as well.
                    vars.insert(name.clone(), Template::default());
                }
            }
        }
        let services = stack.as_ref().map(|s| s.services.clone());
        let mut gates = Vec::with_capacity(raw.gates.len());
        let mut seen: HashMap<String, Location> = HashMap::with_capacity(raw.gates.len());
        let gates_node = tree.and_then(|t| t.get("gates"));
        for (i, g) in raw.gates.into_iter().enumerate() {
            if let Some(gate) = self.gate(g, gates_node.and_then(|n| n.at(i)), services.as_deref()) {
                if let Some(first) = seen.get(&gate.id) {
                    self.err(
                        Diagnostic::new(format!("gate id `{}` is used twice", gate.id))
                            .span(gate.location.clone(), Some(gate.id.chars().count()))
                            .label("second definition")
                            .hint(format!("the first is at {first}; gate ids must be unique")),
                    );
                    continue;
                }
                seen.insert(gate.id.clone(), gate.location.clone());
                gates.push(gate);
            }
        }
        if gates.is_empty() && includes.is_empty() && self.diags.len() == before {
            self.err_at(
                self.place(tree.and_then(|t| t.key("gates")), &Location::new(&self.file, 1, 1)),
                Diagnostic::new(format!("checkpoint `{id}` has no gates"))
                    .label("nothing to check")
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
            ok: true,
        })
    }

    fn percent(&mut self, v: &Spanned<Value>, what: &str) -> Option<f64> {
        let (loc, width) = self.spot(v);
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
                        .span(loc, width)
                        .label("out of range")
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

    #[allow(clippy::unnecessary_wraps, reason = "a validator step: None when the part is invalid, as its siblings")]
    fn stack(&mut self, raw: &raw::RawStack, node: Option<&Node>) -> Option<Stack> {
        let fallback = Location::new(&self.file, 1, 1);
        let key = |k: &str| node.and_then(|n| n.get(k));
        let mut compose_files = Vec::new();
        let mut services: Vec<String> = Vec::new();
        if raw.compose.is_empty() {
            self.err_at(
                self.place(key("compose").or(node), &fallback),
                Diagnostic::new("`stack` has no compose files")
                    .label("no `compose:`")
                    .hint("add `compose: [docker-compose.test.yml]` (paths relative to the project root)"),
            );
        }
        for (i, f) in raw.compose.iter().enumerate() {
            let p = self.root.join(f);
            let at = self.place(key("compose").and_then(|c| c.at(i)), &fallback);
            if !p.is_file() {
                let near = compose_files_in(&self.root);
                self.err_at(
                    at,
                    Diagnostic::new(format!("compose file `{f}` does not exist"))
                        .label(format!("not found in `{}`", display_path(&self.root)))
                        .hint(
                            did_you_mean(f, near.iter().map(String::as_str)).map_or_else(|| "compose paths are relative to the project root, the parent of `checkpoints/`".into(), |m| format!("did you mean `{m}`? Paths are relative to the project root, the parent of `checkpoints/`")),
                        ),
                );
                continue;
            }
            match crate::compose::service_names(&p) {
                Ok(names) => {
                    for n in names {
                        if !services.contains(&n) {
                            services.push(n);
                        }
                    }
                    compose_files.push(p);
                }
                Err(e) => self.err_at(
                    at,
                    Diagnostic::new(e)
                        .label("this compose file")
                        .hint("`docker compose -f <file> config` shows what compose makes of it"),
                ),
            }
        }
        // `run -f` overrides, relative to where the command runs; an unreadable
        // one is the compose tool's to report when the stack starts.
        for p in self.extra_compose {
            for n in crate::compose::service_names(p).unwrap_or_default() {
                if !services.contains(&n) {
                    services.push(n);
                }
            }
        }
        let mut env_files = Vec::new();
        for (i, f) in raw.env_file.iter().enumerate() {
            let p = self.root.join(f);
            if p.is_file() {
                env_files.push(p);
            } else {
                self.err_at(
                    self.place(key("env_file").and_then(|c| c.at(i)), &fallback),
                    Diagnostic::new(format!("env file `{f}` does not exist"))
                        .label(format!("not found in `{}`", display_path(&self.root)))
                        .hint("env file paths are relative to the project root, the parent of `checkpoints/`"),
                );
            }
        }
        let listed = raw.services.iter().enumerate().map(|(i, s)| (s, key("services").and_then(|n| n.at(i))));
        let probed = raw.ready.keys().map(|s| (s, key("ready").and_then(|n| n.key(s))));
        for (s, n) in listed.chain(probed).collect::<Vec<_>>() {
            if !services.is_empty() && !services.contains(s) {
                self.unknown_service(self.place(n, &fallback), s, &services);
            }
        }
        let ready_timeout = match &raw.ready_timeout {
            Some(t) => match crate::duration::parse(t) {
                Ok(d) => d,
                Err(e) => {
                    self.err_at(
                        self.place(key("ready_timeout"), &fallback),
                        crate::duration::problem("ready_timeout", t, &e),
                    );
                    DEFAULT_READY_TIMEOUT
                }
            },
            None => DEFAULT_READY_TIMEOUT,
        };
        Some(Stack { raw: raw.clone(), compose_files, env_files, services, ready_timeout })
    }

    #[allow(clippy::unnecessary_wraps, reason = "a validator step: None when the part is invalid, as its siblings")]
    fn gate(&mut self, g: RawGate, node: Option<&Node>, services: Option<&[String]>) -> Option<Gate> {
        let location = self.loc(&g.id);
        let id = g.id.value.trim().to_string();
        let id_spot = self.spot(&g.id);
        if !valid_id(&id) {
            self.err(
                Diagnostic::new(format!("`{id}` is not a valid gate id"))
                    .span(id_spot.0.clone(), id_spot.1)
                    .label("letters, digits, `-`, `_` and `.` only")
                    .hint(format!("e.g. `{}`", suggest_id(&id))),
            );
        }
        if g.title.trim().is_empty() {
            self.err_at(
                self.place(node.and_then(|n| n.key("title")), &location),
                Diagnostic::new(format!("gate `{id}` has an empty title"))
                    .label("no text")
                    .hint("use the plan's wording"),
            );
        }
        let severity = match g.severity.as_ref().map(|s| (s.value.trim().to_lowercase(), self.spot(s))) {
            None => Severity::Must,
            Some((s, _)) if s == "must" => Severity::Must,
            Some((s, _)) if s == "should" => Severity::Should,
            Some((s, _)) if s == "nice" => Severity::Nice,
            Some((s, (loc, width))) => {
                self.err(
                    Diagnostic::new(format!("unknown severity `{s}`"))
                        .span(loc, width)
                        .label("expected must, should or nice")
                        .hint(did_you_mean_or(&s, ["must", "should", "nice"], || {
                            "severity is `must` (default), `should` or `nice`".into()
                        })),
                );
                Severity::Must
            }
        };
        for n in &g.needs {
            let spot = self.spot(n);
            self.spots.needs.insert((location.clone(), n.value.trim().to_string()), spot);
        }
        if g.checks.is_empty() {
            let at = self.place(node.and_then(|n| n.key("checks")), &location);
            let at = if node.and_then(|n| n.key("checks")).is_some() { at } else { id_spot.clone() };
            self.err_at(
                at,
                Diagnostic::new(format!("gate `{id}` has no checks"))
                    .label("nothing to run")
                    .hint("add `checks:` with at least one check, e.g. `- name: API answers` + `http: { url: … }`"),
            );
        }
        // Exact sizes: a check is ~600 bytes, and a doubling vector of them
        // copied and left unused more pages than the checks filled.
        let mut checks = Vec::with_capacity(g.checks.len());
        let mut names: HashMap<String, Location> = HashMap::with_capacity(g.checks.len());
        let checks_node = node.and_then(|n| n.get("checks"));
        for (i, c) in g.checks.into_iter().enumerate() {
            let name_spot = self.spot(&c.name);
            let check = self.check(c, checks_node.and_then(|n| n.at(i)), services);
            if let Some(first) = names.get(&check.name) {
                self.err_at(
                    name_spot,
                    Diagnostic::new(format!("check name `{}` is used twice in gate `{id}`", check.name))
                        .label("second check with this name")
                        .hint(format!(
                            "the first is at {first}; check names must be unique within a gate: they become JUnit test names"
                        )),
                );
            } else {
                names.insert(check.name.clone(), check.location.clone());
            }
            checks.push(check);
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
                let (loc, width) = self.spot(s);
                self.err(
                    crate::duration::problem(what, &s.value, &e)
                        .span(loc, width.or(Some(s.value.chars().count().max(1)))),
                );
                None
            }
        }
    }
}

/// A valid gate id resembling an invalid one: `api up!` → `api-up`.
fn suggest_id(id: &str) -> String {
    let mut out = String::new();
    for c in id.trim().chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '_' | '.') {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let out = out.trim_matches('-').to_string();
    if out.is_empty() { "db-migrations".into() } else { out }
}

/// Compose-looking files in the project root, for did-you-mean.
fn compose_files_in(root: &Path) -> Vec<String> {
    std::fs::read_dir(root)
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains("compose") && is_yaml(Path::new(n)))
                .collect()
        })
        .unwrap_or_default()
}

pub fn valid_var_name(n: &str) -> bool {
    let mut chars = n.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_id(n: &str) -> bool {
    !n.is_empty() && n.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
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

/// `.yaml` or `.yml`, in any case.
fn is_yaml(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}
