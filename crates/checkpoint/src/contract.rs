//! `checkpoint contract diff OLD NEW`: every change between two OpenAPI
//! contracts, breaking first; exit 1 when one breaks clients. OLD and NEW are
//! files or http(s) URLs, loaded (with the documents their `$ref`s name) by
//! the `contract-diff` kind's loader, so the command and the check agree.

use std::path::Path;

use anstyle::{AnsiColor, Style};
use checkpoint_contract::diff::{self, Tone, ignore};
use checkpoint_contract::{Contract, LoadError};
use checkpoint_model::diag::{Diagnostic, Diagnostics, Location};
use checkpoint_model::exit;
use checkpoint_runner::contract_source::{self as loader, SourceError};
use indexmap::IndexMap;
use serde_json::{Value, json};

use crate::Context;
use crate::cli::{ContractCommand, DiffArgs, DiffFormat, FailOn};

pub(crate) async fn command(ctx: &Context, cmd: ContractCommand) -> u8 {
    match cmd {
        ContractCommand::Diff(args) => diff(ctx, &args).await,
    }
}

async fn diff(ctx: &Context, args: &DiffArgs) -> u8 {
    let headers: IndexMap<String, String> = args.headers.iter().cloned().collect();
    let clients = checkpoint_runner::kinds::http::Clients::default();
    let client = match clients.get(true, args.insecure) {
        Ok(c) => c,
        Err(e) => {
            crate::errln!(ctx, "error: {e}");
            return exit::INFRA;
        }
    };
    let root = Path::new(".");
    let fetch = loader::Fetch { client: &client, headers: &headers, jar: None };
    let (old, new) = tokio::join!(loader::load(&args.old, root, fetch), loader::load(&args.new, root, fetch));
    let err_color = ctx.err_color();
    let errors: Vec<String> = [("OLD", &old), ("NEW", &new)]
        .into_iter()
        .filter_map(|(which, r)| r.as_ref().err().map(|e| render_error(which, e, err_color)))
        .collect();
    let (Ok(old), Ok(new)) = (old, new) else {
        crate::err!(ctx, "{}", errors.join("\n"));
        return exit::USAGE;
    };
    let entries = match &args.ignore {
        None => Vec::new(),
        Some(path) => match std::fs::read_to_string(path) {
            Ok(text) => match ignore::parse(&text, &path.display().to_string()) {
                Ok(e) => e,
                Err(e) => {
                    crate::errln!(ctx, "error: {e}");
                    return exit::USAGE;
                }
            },
            Err(e) => {
                crate::errln!(
                    ctx,
                    "error: cannot read ignore file {}: {e}\n  = help: give an existing file, or leave out --ignore",
                    path.display()
                );
                return exit::USAGE;
            }
        },
    };
    let applied = ignore::apply(diff::diff(&old, &new), &entries, &ignore::today());
    let changes = &applied.kept;
    let floor = match args.fail_on {
        FailOn::Breaking => diff::Level::Breaking,
        FailOn::MayBreak => diff::Level::MayBreak,
    };
    let failing = changes.iter().filter(|c| c.level >= floor).count();
    let places = Places::new(&old, &new);
    match args.format {
        DiffFormat::Text => {
            let paint = painter(ctx.color_for(ctx.out_terminal));
            crate::out!(ctx, "{}", diff::render(changes, args.breaking_only, &paint));
            crate::out!(ctx, "{}", ignore_notes(&applied));
        }
        DiffFormat::Json => crate::outln!(ctx, "{}", to_json(&old, &new, &applied, args.breaking_only, &places)),
        DiffFormat::Markdown => crate::out!(ctx, "{}", to_markdown(&applied, args.breaking_only, &places)),
        DiffFormat::Junit => crate::out!(ctx, "{}", to_junit(&applied, floor, &places)),
        DiffFormat::Github => crate::out!(ctx, "{}", to_github(&applied, args.breaking_only, &places)),
    }
    // The process ends here: freeing two large documents node by node would
    // cost a tenth of a large diff's time for nothing.
    std::mem::forget((old, new));
    if failing > 0 { exit::FAILED } else { exit::PASSED }
}

/// Where a change is written: the file (when the contract was one) and line.
struct Places {
    old: Option<(String, String)>,
    new: Option<(String, String)>,
}

impl Places {
    fn new(old: &Contract, new: &Contract) -> Self {
        let file = |c: &Contract| {
            let p = Path::new(&c.source);
            (!c.source.contains("://") && p.is_file())
                .then(|| std::fs::read_to_string(p).ok().map(|t| (c.source.clone(), t)))
                .flatten()
        };
        Self { old: file(old), new: file(new) }
    }

    /// `(file, line)` of a change, when its contract is a file.
    fn of(&self, c: &diff::Change) -> Option<(&str, usize)> {
        let (file, text) = if c.in_new { self.new.as_ref()? } else { self.old.as_ref()? };
        Some((file.as_str(), checkpoint_contract::pointer::line_of(text, &c.pointer)?))
    }
}

/// After the text list: what the ignore file silenced, what counts again, what it names in vain.
fn ignore_notes(a: &ignore::Applied) -> String {
    let mut out = String::new();
    if !a.ignored.is_empty() {
        out.push_str(&format!("\nIgnored ({}):\n", a.ignored.len()));
        for (c, e) in &a.ignored {
            let until = e.expires.as_deref().map(|d| format!(" (until {d})")).unwrap_or_default();
            out.push_str(&format!("  {}  [{}] {}: {}{until}\n", c.line(), c.rule, c.fingerprint, e.reason));
        }
    }
    for e in &a.expired {
        out.push_str(&format!(
            "note: ignore entry {} expired on {}: its change counts again ({})\n",
            e.fingerprint,
            e.expires.as_deref().unwrap_or("?"),
            e.reason
        ));
    }
    for e in &a.unused {
        out.push_str(&format!("note: ignore entry {} matches no change: remove it ({})\n", e.fingerprint, e.reason));
    }
    out
}

fn shown(changes: &[diff::Change], breaking_only: bool) -> impl Iterator<Item = &diff::Change> {
    changes.iter().filter(move |c| c.level != diff::Level::NonBreaking || !breaking_only)
}

fn to_json(old: &Contract, new: &Contract, a: &ignore::Applied, breaking_only: bool, places: &Places) -> String {
    let changes = &a.kept;
    let count = |l: diff::Level| changes.iter().filter(|c| c.level == l).count();
    let with_place = |c: &diff::Change| {
        let mut v = serde_json::to_value(c).unwrap_or_default();
        if let (Some((file, line)), Some(m)) = (places.of(c), v.as_object_mut()) {
            m.insert("file".into(), json!(file));
            m.insert("line".into(), json!(line));
        }
        v
    };
    let list: Vec<Value> = shown(changes, breaking_only).map(with_place).collect();
    let ignored: Vec<Value> = a
        .ignored
        .iter()
        .map(|(c, e)| {
            let mut v = with_place(c);
            if let Some(m) = v.as_object_mut() {
                m.insert("reason".into(), json!(e.reason));
                m.insert("expires".into(), json!(e.expires));
            }
            v
        })
        .collect();
    let doc = json!({
        "old": old.source,
        "new": new.source,
        "breaking": count(diff::Level::Breaking),
        "may_break": count(diff::Level::MayBreak),
        "non_breaking": count(diff::Level::NonBreaking),
        "changes": list,
        "ignored": ignored,
        "expired": a.expired.iter().map(|e| &e.fingerprint).collect::<Vec<_>>(),
        "unused": a.unused.iter().map(|e| &e.fingerprint).collect::<Vec<_>>(),
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

fn level_word(l: diff::Level) -> &'static str {
    match l {
        diff::Level::Breaking => "breaking",
        diff::Level::MayBreak => "may break",
        diff::Level::NonBreaking => "non-breaking",
    }
}

/// `file:line`, or the pointer when the contract was not a file.
fn place(places: &Places, c: &diff::Change) -> String {
    places.of(c).map_or_else(|| c.pointer.clone(), |(f, l)| format!("{f}:{l}"))
}

/// A table for a pull request comment; pipes in messages escaped.
fn to_markdown(a: &ignore::Applied, breaking_only: bool, places: &Places) -> String {
    let cell = |s: &str| s.replace('|', "\\|");
    let mut out = String::from("## API contract changes\n\n");
    out.push_str(&format!("{}\n\n", diff::summary(&a.kept)));
    let list: Vec<&diff::Change> = shown(&a.kept, breaking_only).collect();
    if !list.is_empty() {
        out.push_str("| level | operation | change | rule | where | fingerprint |\n|---|---|---|---|---|---|\n");
        for c in list {
            out.push_str(&format!(
                "| {} | {} | {} | `{}` | `{}` | `{}` |\n",
                level_word(c.level),
                cell(c.operation.as_deref().unwrap_or(&c.path)),
                cell(&c.message),
                c.rule,
                cell(&place(places, c)),
                c.fingerprint
            ));
        }
    }
    if !a.ignored.is_empty() {
        out.push_str(&format!("\n{} ignored:\n\n", a.ignored.len()));
        for (c, e) in &a.ignored {
            out.push_str(&format!("- {} (`{}`): {}\n", cell(&c.line()), c.fingerprint, cell(&e.reason)));
        }
    }
    out
}

/// One test case per change; those at or above the failing level fail.
fn to_junit(a: &ignore::Applied, floor: diff::Level, places: &Places) -> String {
    let x = checkpoint_report::junit::attr;
    let failing = a.kept.iter().filter(|c| c.level >= floor).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    out.push_str(&format!(
        "<testsuites name=\"contract diff\" tests=\"{}\" failures=\"{failing}\">\n  <testsuite name=\"contract diff\" tests=\"{}\" failures=\"{failing}\" errors=\"0\" skipped=\"{}\">\n",
        a.kept.len() + a.ignored.len(),
        a.kept.len() + a.ignored.len(),
        a.ignored.len()
    ));
    for c in &a.kept {
        let name = x(&c.line());
        out.push_str(&format!("    <testcase classname=\"{}\" name=\"{name}\"", x(c.rule)));
        if c.level >= floor {
            out.push_str(&format!(
                ">\n      <failure message=\"{name}\" type=\"{}\">{} at {} (fingerprint {})</failure>\n    </testcase>\n",
                level_word(c.level),
                x(c.rule),
                x(&place(places, c)),
                c.fingerprint
            ));
        } else {
            out.push_str(" />\n");
        }
    }
    for (c, e) in &a.ignored {
        out.push_str(&format!(
            "    <testcase classname=\"{}\" name=\"{}\">\n      <skipped message=\"ignored: {}\" />\n    </testcase>\n",
            x(c.rule),
            x(&c.line()),
            x(&e.reason)
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// GitHub Actions workflow commands: `error` for breaking, `warning` for may
/// break, `notice` for the rest, at the change's file and line when known.
fn to_github(a: &ignore::Applied, breaking_only: bool, places: &Places) -> String {
    // Workflow command data escapes `%`, CR and LF; properties also `:` and `,`.
    let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let prop = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for c in shown(&a.kept, breaking_only) {
        let kind = match c.level {
            diff::Level::Breaking => "error",
            diff::Level::MayBreak => "warning",
            diff::Level::NonBreaking => "notice",
        };
        let at = places.of(c).map(|(f, l)| format!("file={},line={l},", prop(f))).unwrap_or_default();
        out.push_str(&format!(
            "::{kind} {at}title={}::{} ({}, fingerprint {})\n",
            prop(&format!("{} {}", level_word(c.level), c.rule)),
            data(&c.line()),
            data(&c.pointer),
            c.fingerprint
        ));
    }
    out.push_str(&format!("{}\n", diff::summary(&a.kept)));
    out
}

fn painter(color: bool) -> impl Fn(Tone, &str) -> String {
    move |tone, text| {
        if !color {
            return text.to_string();
        }
        let style = match tone {
            Tone::Breaking => Style::new().fg_color(Some(AnsiColor::Red.into())).bold(),
            Tone::MayBreak => Style::new().fg_color(Some(AnsiColor::Yellow.into())).bold(),
            Tone::NonBreaking => Style::new().fg_color(Some(AnsiColor::Green.into())).bold(),
            Tone::Group => Style::new().bold(),
            Tone::Rule => Style::new().dimmed(),
        };
        format!("{}{text}{}", style.render(), style.render_reset())
    }
}

/// `error: …` with a hint; for YAML or JSON that does not parse, the file's
/// line with carets under the column, like every other definition error.
fn render_error(which: &str, e: &SourceError, color: bool) -> String {
    let err = e.error();
    if let SourceError::Invalid(_) = e
        && let Some((file, line, col, reason)) = parse_position(err)
        && let Ok(text) = std::fs::read_to_string(&file)
    {
        let mut diags = Diagnostics::default();
        diags.add_source(&file, &text);
        let d = Diagnostic::new(format!("{which} contract `{file}` does not parse: {reason}"))
            .at(Location::new(&file, line, col))
            .label("here")
            .hint(e.hint());
        return format!("{}\n", diags.render_one(&d, color));
    }
    format!("error: cannot load {which} contract: {err}\n  = help: {}\n", e.hint())
}

/// `file: line L column C: why` (or the same after a `$ref` that named it):
/// the file, line, column and why.
fn parse_position(e: &LoadError) -> Option<(String, u32, u32, String)> {
    let candidates = [(e.origin.clone(), e.message.clone())]
        .into_iter()
        .chain(e.message.split_once(": line ").map(|(f, rest)| (f.to_string(), format!("line {rest}"))));
    for (file, message) in candidates {
        let Some(rest) = message.strip_prefix("line ") else { continue };
        let Some((line, rest)) = rest.split_once(" column ") else { continue };
        let Some((col, why)) = rest.split_once(": ") else { continue };
        if let (Ok(line), Ok(col)) = (line.parse(), col.parse())
            && Path::new(&file).is_file()
        {
            return Some((file, line, col, why.to_string()));
        }
    }
    None
}
