//! `checkpoint plan sync`: ticks the checklist boxes of a Markdown plan whose
//! gates passed and unticks those whose gates failed, touching no other byte.
//!
//! The plan is never re-rendered: [`doc`] finds the boxes (outside code
//! fences) and their byte ranges, matching decides which gate speaks for which
//! box, and the new text is the old one with a few box ranges replaced. So
//! line endings, a BOM, trailing spaces, emoji and every other checkbox stay
//! exactly as they were.
//!
//! Which gate speaks for which line:
//! - a gate's `plan.item` (or, when its checkpoint names a plan file and the
//!   gate has no `item`, its title — the plan's own words), matched against
//!   the text after the box: exactly first, then normalized (whitespace,
//!   case, `**`/`` ` ``/`_`/`~~` emphasis, `[text](url)` links); `↔`, emoji and
//!   punctuation stay significant;
//! - only gates whose `plan.file` (or their checkpoint's) is this plan, or
//!   that name no file;
//! - a gate's `plan.heading` narrows the search to that section; the
//!   checkpoint's heading is a preference for its own gates (used when the
//!   item is under it, else the whole plan is searched);
//! - two lines with the same text: neither is touched, a warning says why.
//!
//! Verdicts: passed ticks; failed, errored and timed out untick; skipped and
//! cancelled leave the box as it is. Several gates on one line: every one
//! must pass. Several results files: the most recent run (`started_at`, then
//! the order given) that decided the line wins.

mod diff;
mod doc;
mod norm;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};

use checkpoint_model::result::{GateResult, RunReport, Status};

pub use diff::unified_diff;
use doc::Doc;
use norm::normalize;

/// The plan being synced, and how to recognise references to it.
#[derive(Clone, Debug)]
pub struct PlanFile {
    /// How messages name it (the path as given).
    pub display: String,
    canonical: Option<PathBuf>,
    root: PathBuf,
}

impl PlanFile {
    /// `path` is the plan as given; `root` the project root that `plan.file`
    /// in the checkpoints is relative to (the parent of `checkpoints/`).
    pub fn new(path: &Path, root: &Path) -> Self {
        Self {
            display: path.display().to_string(),
            canonical: std::fs::canonicalize(path).ok(),
            root: root.to_path_buf(),
        }
    }

    /// Whether a `plan.file` of a checkpoint names this plan: the same file
    /// once resolved against the project root; or, when there is no such
    /// file under the root (the results came from another checkout), when
    /// its path is a trailing part of this plan's path
    /// (`docs/integration-plan.md` names `/src/app/docs/integration-plan.md`).
    pub fn refers_to(&self, file: &str) -> bool {
        let Some(me) = &self.canonical else { return false };
        let f = Path::new(file);
        let joined = if f.is_absolute() { f.to_path_buf() } else { self.root.join(f) };
        if let Ok(c) = std::fs::canonicalize(&joined) {
            return &c == me;
        }
        let mut want = Vec::new();
        for c in f.components() {
            match c {
                Component::Normal(p) => want.push(p),
                Component::CurDir => {}
                _ => return false,
            }
        }
        let have: Vec<_> = me.components().collect();
        !want.is_empty()
            && want.len() <= have.len()
            && have[have.len() - want.len()..]
                .iter()
                .zip(&want)
                .all(|(h, w)| matches!(h, Component::Normal(p) if p == w))
    }
}

/// One results.json and the name messages give it.
#[derive(Clone, Debug)]
pub struct ResultsFile {
    pub name: String,
    pub report: RunReport,
}

/// One box that changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// 1-based.
    pub line: usize,
    /// The marker and box as written, and as they become: `- [ ]` → `- [x]`.
    pub before: String,
    pub after: String,
    pub text: String,
    pub tick: bool,
    /// The gates that decided it, with their outcome.
    pub gates: Vec<(String, Status)>,
    /// Matched by the gate's title (it has no `plan.item`).
    pub by_title: bool,
    /// The bytes of the plan that change (the box), before and after alike.
    pub bytes: std::ops::Range<usize>,
}

/// What a sync found and did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// The plan with the changes applied (equal to the input when none).
    pub text: String,
    pub changes: Vec<Change>,
    /// Lines whose gates decided them, already in the right state.
    pub up_to_date: usize,
    /// Lines whose only gates were skipped or cancelled: left as they are.
    pub left_as_is: usize,
    /// Gates whose plan reference names another plan file.
    pub other_plans: usize,
    /// The files those name, as written in the checkpoints.
    pub other_plan_files: BTreeSet<String>,
    /// Not found, ambiguous, unknown headings: one line each, deduplicated.
    pub warnings: Vec<String>,
}

impl Outcome {
    /// One line per changed box:
    /// `- [ ] → - [x]  line 42: Backend ↔ Database queries working (gate db-queries passed)`.
    pub fn change_lines(&self) -> String {
        let mut o = String::new();
        for c in &self.changes {
            let gates = c.gates.iter().map(|(g, s)| format!("{g} {}", s.as_str())).collect::<Vec<_>>().join(", ");
            let noun = if c.gates.len() == 1 { "gate" } else { "gates" };
            let how = if c.by_title { ", matched by title" } else { "" };
            o.push_str(&format!("{} → {}  line {}: {} ({noun} {gates}{how})\n", c.before, c.after, c.line, c.text));
        }
        o
    }

    pub fn is_changed(&self) -> bool {
        !self.changes.is_empty()
    }
}

/// How a gate names its line.
struct Want<'r> {
    item: &'r str,
    by_title: bool,
    heading: Heading<'r>,
}

enum Heading<'r> {
    None,
    /// The gate's own `plan.heading`: only that section.
    Strict(&'r str),
    /// Its checkpoint's heading: that section if the item is there.
    Prefer(&'r str),
}

enum Found {
    One(usize),
    Many(Vec<usize>),
    /// Not there; maybe a did-you-mean.
    None(Option<String>),
    /// Not looked for: the heading does not exist (already warned).
    NoHeading,
}

/// A verdict on one line from one run.
struct Vote<'r> {
    run: usize,
    gate: &'r str,
    status: Status,
    by_title: bool,
}

/// Syncs `text` (the plan) with the results. Reads no file (only
/// [`PlanFile::refers_to`] resolves paths); the caller writes `Outcome::text`.
pub fn sync(text: &str, plan: &PlanFile, results: &[ResultsFile]) -> Outcome {
    let doc = Doc::parse(text);
    let mut out = Outcome::default();
    let mut warnings = BTreeSet::new();
    let mut warn_order = Vec::new();
    let mut warn = |w: String| {
        if warnings.insert(w.clone()) {
            warn_order.push(w);
        }
    };
    // line item index → votes
    let mut votes: BTreeMap<usize, Vec<Vote<'_>>> = BTreeMap::new();
    let mut skipped_only: BTreeSet<usize> = BTreeSet::new();
    for (run, rf) in results.iter().enumerate() {
        let cp_plan = rf.report.checkpoint.plan.as_ref();
        for g in &rf.report.gates {
            let Some(want) = want(g, &rf.report, cp_plan, plan, &mut out) else { continue };
            let at = format!("gate `{}` ({}:{})", g.id, g.location.file, g.location.line);
            let found = resolve(&doc, &want, plan, &at, &mut warn);
            match found {
                Found::One(idx) => {
                    if matches!(g.status, Status::Skipped | Status::Cancelled) {
                        skipped_only.insert(idx);
                    } else {
                        votes.entry(idx).or_default().push(Vote {
                            run,
                            gate: &g.id,
                            status: g.status,
                            by_title: want.by_title,
                        });
                    }
                }
                Found::Many(lines) => {
                    let l = lines.iter().map(|i| (doc.items[*i].line + 1).to_string()).collect::<Vec<_>>().join(", ");
                    warn(format!(
                        "{at}: \"{}\" matches {} lines of {} (lines {l}): left them all as they are; add `heading:` to the gate's `plan:` to pick one",
                        want.item,
                        lines.len(),
                        plan.display
                    ));
                }
                Found::None(suggestion) if !want.by_title => {
                    let dym = suggestion.map(|s| format!("; did you mean {s}?")).unwrap_or_default();
                    let under = match want.heading {
                        Heading::Strict(h) => format!(" under \"{h}\""),
                        _ => String::new(),
                    };
                    warn(format!("{at}: plan item \"{}\" not found in {}{under}{dym}", want.item, plan.display));
                }
                Found::None(_) | Found::NoHeading => {}
            }
        }
    }

    let mut edits: Vec<(std::ops::Range<usize>, &'static str)> = Vec::new();
    for (idx, vs) in &votes {
        skipped_only.remove(idx);
        let item = &doc.items[*idx];
        // The most recent run that decided this line; ties: the later file given.
        let Some(latest) = vs
            .iter()
            .map(|v| v.run)
            .max_by(|a, b| results[*a].report.started_at.cmp(&results[*b].report.started_at).then(a.cmp(b)))
        else {
            continue;
        };
        let mine: Vec<&Vote<'_>> = vs.iter().filter(|v| v.run == latest).collect();
        let tick = mine.iter().all(|v| v.status.is_pass());
        let Some(bytes) = doc::retick(item, tick) else {
            out.up_to_date += 1;
            continue;
        };
        // Name the gates that decided it: all of them when it passed, the failing ones otherwise.
        let mut gates: Vec<(String, Status)> = Vec::new();
        for v in mine.iter().filter(|v| tick || !v.status.is_pass()) {
            if !gates.iter().any(|(g, _)| g == v.gate) {
                gates.push((v.gate.to_string(), v.status));
            }
        }
        let after =
            format!("{}{bytes}", &item.marker[..item.marker.len() - (item.box_range.end - item.box_range.start)]);
        out.changes.push(Change {
            line: item.line + 1,
            before: item.marker.clone(),
            after,
            text: item.text.clone(),
            tick,
            gates,
            by_title: mine.iter().all(|v| v.by_title),
            bytes: item.box_range.clone(),
        });
        edits.push((item.box_range.clone(), bytes));
    }
    out.left_as_is = skipped_only.len();
    edits.sort_by_key(|(r, _)| r.start);
    let mut new = String::with_capacity(text.len() + 8);
    let mut pos = 0;
    for (r, b) in edits {
        new.push_str(&text[pos..r.start]);
        new.push_str(b);
        pos = r.end;
    }
    new.push_str(&text[pos..]);
    out.text = new;
    out.warnings = warn_order;
    out
}

/// The reference a gate makes to this plan, if it makes one.
fn want<'r>(
    g: &'r GateResult,
    report: &'r RunReport,
    cp_plan: Option<&'r checkpoint_model::raw::RawPlanRef>,
    plan: &PlanFile,
    out: &mut Outcome,
) -> Option<Want<'r>> {
    let own = g.plan.as_ref();
    let cp_file = cp_plan.and_then(|p| p.file.as_deref());
    let file = own.and_then(|p| p.file.as_deref()).or(cp_file);
    let (item, by_title) = match own.and_then(|p| p.item.as_deref()) {
        Some(i) => (i, false),
        // The title is the plan's wording; only trusted when a plan file is named.
        None if file.is_some() && own.and_then(|p| p.heading.as_deref()).is_none() => (g.title.as_str(), true),
        None => return None,
    };
    if let Some(f) = file
        && !plan.refers_to(f)
    {
        out.other_plans += 1;
        out.other_plan_files.insert(f.to_string());
        return None;
    }
    let heading = if let Some(h) = own.and_then(|p| p.heading.as_deref()) {
        Heading::Strict(h)
    } else if let Some(h) = cp_plan.and_then(|p| p.heading.as_deref())
        && g.location.file == report.checkpoint.file
        && own.and_then(|p| p.file.as_deref()).is_none_or(|f| Some(f) == cp_file)
    {
        // Gates included from an earlier checkpoint live under that one's heading.
        Heading::Prefer(h)
    } else {
        Heading::None
    };
    let item = item.trim();
    if item.is_empty() {
        return None;
    }
    Some(Want { item, by_title, heading })
}

fn resolve(doc: &Doc, want: &Want<'_>, plan: &PlanFile, at: &str, warn: &mut impl FnMut(String)) -> Found {
    let all: Vec<usize> = (0..doc.items.len()).collect();
    match want.heading {
        Heading::None => find(doc, &all, want.item),
        Heading::Prefer(h) => {
            let hs = headings(doc, h);
            let scoped = in_sections(doc, &hs);
            match find(doc, &scoped, want.item) {
                Found::None(_) => find(doc, &all, want.item),
                f => f,
            }
        }
        Heading::Strict(h) => {
            let hs = headings(doc, h);
            if hs.is_empty() {
                let names = doc.headings.iter().map(|h| h.text.as_str());
                let dym = best(h, names)
                    .and_then(|s| doc.headings.iter().find(|x| x.text == s))
                    .map(|x| format!("; did you mean \"{}\" (line {})?", x.text, x.line + 1))
                    .unwrap_or_default();
                warn(format!(
                    "{at}: heading \"{h}\" not found in {}, so \"{}\" was not looked for{dym}",
                    plan.display, want.item
                ));
                return Found::NoHeading;
            }
            match find(doc, &in_sections(doc, &hs), want.item) {
                Found::None(_) => match find(doc, &all, want.item) {
                    Found::One(i) => Found::None(Some(format!(
                        "line {} under \"{}\"",
                        doc.items[i].line + 1,
                        doc.items[i].section.map_or("(no heading)", |s| doc.headings[s].text.as_str())
                    ))),
                    Found::None(s) => Found::None(s),
                    Found::Many(_) | Found::NoHeading => Found::None(None),
                },
                f => f,
            }
        }
    }
}

/// Items under any of these headings.
fn in_sections(doc: &Doc, hs: &[usize]) -> Vec<usize> {
    (0..doc.items.len()).filter(|&i| hs.iter().any(|&h| doc.within(doc.items[i].section, h))).collect()
}

/// Headings named `want`: equal once normalized; failing that, containing it
/// as whole words (`Checkpoint 1` names `Checkpoint 1 — Day 1 🚀`, not `Checkpoint 10`).
fn headings(doc: &Doc, want: &str) -> Vec<usize> {
    let w = normalize(want);
    let eq: Vec<usize> = (0..doc.headings.len()).filter(|&i| normalize(&doc.headings[i].text) == w).collect();
    if !eq.is_empty() || w.is_empty() {
        return eq;
    }
    (0..doc.headings.len()).filter(|&i| norm::contains_words(&normalize(&doc.headings[i].text), &w)).collect()
}

/// Exact text first, then normalized; the first tier with a match decides.
fn find(doc: &Doc, scope: &[usize], want: &str) -> Found {
    let exact: Vec<usize> = scope.iter().copied().filter(|&i| doc.items[i].text == want).collect();
    let tier = if exact.is_empty() {
        let w = normalize(want);
        scope.iter().copied().filter(|&i| normalize(&doc.items[i].text) == w).collect()
    } else {
        exact
    };
    match tier.len() {
        0 => {
            let texts = doc.items.iter().map(|i| i.text.as_str());
            Found::None(best(want, texts).and_then(|s| {
                let i = doc.items.iter().find(|i| i.text == s)?;
                Some(format!("\"{s}\" (line {})", i.line + 1))
            }))
        }
        1 => Found::One(tier[0]),
        _ => Found::Many(tier),
    }
}

/// The closest candidate, if it is close enough to be what was meant.
fn best<'a>(want: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let w = normalize(want);
    candidates
        .map(|c| (strsim::normalized_levenshtein(&w, &normalize(c)), c))
        .filter(|(s, _)| *s >= 0.6)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// Writes `contents` over `path` atomically (a temp file in the same
/// directory, then rename), keeping the file's permissions. A symlink is
/// followed: its target is replaced, the link stays. `was` is the text the
/// sync read: if the file no longer holds it (someone saved the plan
/// meanwhile), nothing is written and the error says so.
pub fn write_in_place(path: &Path, was: &str, contents: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let target = std::fs::canonicalize(path)?;
    let perms = std::fs::metadata(&target)?.permissions();
    let dir = target.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().set_permissions(perms)?;
    tmp.as_file().sync_all()?;
    if std::fs::read(&target)? != was.as_bytes() {
        return Err(std::io::Error::other("the file changed while it was being synced; run the sync again"));
    }
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}
