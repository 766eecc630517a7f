//! `checkpoint contract diff OLD NEW`: every change between two OpenAPI
//! contracts, breaking first; exit 1 when one breaks clients. OLD and NEW are
//! files or http(s) URLs, loaded (with the documents their `$ref`s name) by
//! the `contract-diff` kind's loader, so the command and the check agree.

use std::io::IsTerminal as _;
use std::path::Path;

use anstyle::{AnsiColor, Style};
use checkpoint_contract::diff::{self, Tone};
use checkpoint_contract::{Contract, LoadError};
use checkpoint_model::diag::{Diagnostic, Diagnostics, Location};
use checkpoint_model::exit;
use checkpoint_runner::contract_source::{self as loader, SourceError};
use indexmap::IndexMap;
use serde_json::json;

use crate::cli::{ColorChoice, ContractCommand, DiffArgs, DiffFormat, FailOn};

pub async fn command(color: ColorChoice, cmd: ContractCommand) -> u8 {
    match cmd {
        ContractCommand::Diff(args) => diff(color, &args).await,
    }
}

async fn diff(color: ColorChoice, args: &DiffArgs) -> u8 {
    let headers: IndexMap<String, String> = args.headers.iter().cloned().collect();
    let clients = checkpoint_runner::kinds::http::Clients::default();
    let client = match clients.get(true, args.insecure) {
        Ok(c) => c,
        Err(e) => {
            crate::errln!("error: {e}");
            return exit::INFRA;
        }
    };
    let root = Path::new(".");
    let (old, new) = tokio::join!(
        loader::load(&args.old, root, &client, &headers),
        loader::load(&args.new, root, &client, &headers)
    );
    let err_color = crate::console::use_color(color, std::io::stderr().is_terminal());
    let errors: Vec<String> = [("OLD", &old), ("NEW", &new)]
        .into_iter()
        .filter_map(|(which, r)| r.as_ref().err().map(|e| render_error(which, e, err_color)))
        .collect();
    let (Ok(old), Ok(new)) = (old, new) else {
        crate::err!("{}", errors.join("\n"));
        return exit::USAGE;
    };
    let changes = diff::diff(&old, &new);
    let floor = match args.fail_on {
        FailOn::Breaking => diff::Level::Breaking,
        FailOn::MayBreak => diff::Level::MayBreak,
    };
    let failing = changes.iter().filter(|c| c.level >= floor).count();
    match args.format {
        DiffFormat::Text => {
            let paint = painter(crate::console::use_color(color, std::io::stdout().is_terminal()));
            crate::out!("{}", diff::render(&changes, args.breaking_only, &paint));
        }
        DiffFormat::Json => crate::outln!("{}", to_json(&old, &new, &changes, args.breaking_only)),
    }
    if failing > 0 { exit::FAILED } else { exit::PASSED }
}

fn to_json(old: &Contract, new: &Contract, changes: &[diff::Change], breaking_only: bool) -> String {
    let count = |l: diff::Level| changes.iter().filter(|c| c.level == l).count();
    let shown: Vec<&diff::Change> =
        changes.iter().filter(|c| c.level != diff::Level::NonBreaking || !breaking_only).collect();
    let doc = json!({
        "old": old.source,
        "new": new.source,
        "breaking": count(diff::Level::Breaking),
        "may_break": count(diff::Level::MayBreak),
        "non_breaking": count(diff::Level::NonBreaking),
        "changes": shown,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
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
