//! Diagnostics for checkpoint files, rendered the way rustc and Hurl do:
//! a title, `--> file:line:col`, the offending line, carets, and a hint.
//!
//! Every definition error goes through here, so the terminal, the JUnit file
//! and the snapshot tests all see the same text (colour only on a terminal).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};

/// A 1-based position in a file.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Location {
    pub file: String,
    pub line: u32,
    pub col: u32,
}

impl Location {
    pub fn new(file: impl Into<String>, line: u32, col: u32) -> Self {
        Self { file: file.into(), line, col }
    }

    /// From a serde-saphyr location (which is 1-based; 0 means unknown).
    pub fn from_yaml(file: &str, loc: &serde_saphyr::Location) -> Self {
        Self::new(file, loc.line().max(1) as u32, loc.column().max(1) as u32)
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file, self.line, self.col)
    }
}

/// One problem in one file, with where it is and what to do about it.
#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub message: String,
    pub location: Option<Location>,
    /// Short text under the carets.
    pub label: Option<String>,
    pub hint: Option<String>,
    /// How many characters the carets cover (default: the token at the location).
    pub width: Option<usize>,
}

impl Diagnostic {
    pub fn new(message: impl Into<String>) -> Self {
        Self { message: message.into(), location: None, label: None, hint: None, width: None }
    }
    #[must_use]
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }
    /// At a location, with carets `width` characters wide (or the token there when `None`).
    #[must_use]
    pub fn span(mut self, location: Location, width: Option<usize>) -> Self {
        self.location = Some(location);
        self.width = width;
        self
    }
    /// Carets `width` characters wide.
    #[must_use]
    pub fn width(mut self, width: usize) -> Self {
        self.width = Some(width);
        self
    }
    #[must_use]
    pub fn at_opt(mut self, location: Option<Location>) -> Self {
        self.location = location;
        self
    }
    #[must_use]
    pub fn label(mut self, label: impl Into<String>) -> Self {
        self.label = Some(label.into());
        self
    }
    #[must_use]
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
    #[must_use]
    pub fn hint_opt(mut self, hint: Option<String>) -> Self {
        if hint.is_some() {
            self.hint = hint;
        }
        self
    }
}

/// All diagnostics of one load, with the sources needed to render them.
#[derive(Debug, Default)]
pub struct Diagnostics {
    pub items: Vec<Diagnostic>,
    /// Each file's text, shared with the loader that read it (a large
    /// file is not copied to be quoted).
    sources: Vec<(String, Arc<String>)>,
    /// (message, location) of every pushed item, to drop repeats cheaply.
    seen: std::collections::HashSet<(String, Option<Location>)>,
}

impl Diagnostics {
    /// Adds a diagnostic, unless the very same one (message and place) is
    /// already there: a file reached through several includes is reported once.
    pub fn push(&mut self, d: Diagnostic) {
        if self.seen.insert((d.message.clone(), d.location.clone())) {
            self.items.push(d);
        }
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Remember a file's text so its lines can be shown.
    pub fn add_source(&mut self, file: &str, text: &str) {
        if self.source(file).is_none() {
            self.sources.push((file.to_string(), Arc::new(text.to_string())));
        }
    }
    /// [`Diagnostics::add_source`] without a copy of the text.
    pub fn share_source(&mut self, file: &str, text: &Arc<String>) {
        if self.source(file).is_none() {
            self.sources.push((file.to_string(), Arc::clone(text)));
        }
    }
    pub(crate) fn source(&self, file: &str) -> Option<&str> {
        self.sources.iter().find(|(f, _)| f == file).map(|(_, t)| t.as_str())
    }

    /// Renders every diagnostic, then a count line. `color` only on a terminal.
    pub fn render(&self, color: bool) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&self.render_one(d, color));
            out.push_str("\n\n");
        }
        let n = self.items.len();
        out.push_str(&format!("error: {n} problem{} found; nothing was run\n", if n == 1 { "" } else { "s" }));
        out
    }

    pub fn render_one(&self, d: &Diagnostic, color: bool) -> String {
        let renderer = if color { Renderer::styled() } else { Renderer::plain() };
        let title = Level::ERROR.primary_title(d.message.as_str());
        let mut groups: Vec<Group<'_>> = Vec::new();
        let line_text;
        let path_text;
        let mut first = match &d.location {
            Some(loc) => {
                path_text = loc.file.clone();
                let src = self.source(&loc.file).unwrap_or("");
                line_text = src.lines().nth(loc.line.saturating_sub(1) as usize).unwrap_or("").to_string();
                let span = match d.width {
                    Some(w) => char_span(&line_text, loc.col, w),
                    None => token_span(&line_text, loc.col),
                };
                let mut ann = AnnotationKind::Primary.span(span);
                if let Some(l) = &d.label {
                    ann = ann.label(l.as_str());
                }
                if line_text.is_empty() && loc.line == 0 {
                    title.element(annotate_snippets::Origin::path(path_text.as_str()))
                } else {
                    title.element(
                        Snippet::source(line_text.as_str())
                            .line_start(loc.line as usize)
                            .path(path_text.as_str())
                            .fold(false)
                            .annotation(ann),
                    )
                }
            }
            None => Group::with_title(title),
        };
        if let Some(h) = &d.hint {
            first = first.element(Level::HELP.message(h.as_str()));
        }
        groups.push(first);
        let rendered = renderer.render(&groups);
        // annotate-snippets shows `file:line:col` from the span start; make sure
        // the column matches ours even when the line is empty.
        rendered.trim_end().to_string()
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(false))
    }
}

/// The byte range of `width` characters from `col` (1-based), cut at the end of the line.
fn char_span(line: &str, col: u32, width: usize) -> std::ops::Range<usize> {
    let mut idx = line.char_indices().map(|(i, _)| i).chain(std::iter::once(line.len()));
    let start = idx.nth(col.saturating_sub(1) as usize).unwrap_or(line.len());
    let end = line[start..].char_indices().nth(width.max(1)).map_or(line.len(), |(i, _)| start + i);
    start..end
}

/// The byte range of the token starting at `col` (1-based, in characters):
/// up to the next `:`, whitespace or end of line, at least one character.
fn token_span(line: &str, col: u32) -> std::ops::Range<usize> {
    let start = line.char_indices().nth(col.saturating_sub(1) as usize).map_or(line.len(), |(i, _)| i);
    let rest = &line[start..];
    let mut len = 0;
    let mut in_quote = None;
    for (i, c) in rest.char_indices() {
        match (in_quote, c) {
            (None, '"' | '\'') if i == 0 => in_quote = Some(c),
            (Some(q), c2) if c2 == q && i > 0 => {
                len = i + c.len_utf8();
                break;
            }
            (None, ':' | ' ' | '\t' | ',' | ']' | '}') if i > 0 => break,
            _ => {}
        }
        len = i + c.len_utf8();
    }
    if len == 0 && start < line.len() {
        len = rest.chars().next().map_or(0, char::len_utf8);
    }
    start..start + len
}

/// The closest of `candidates` to `word`, for did-you-mean hints: a typo
/// (one or two edits, a swapped pair counting as one) or a close spelling.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let w = word.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| !c.is_empty() && *c != word)
        .map(|c| {
            let lc = c.to_lowercase();
            let edits = strsim::osa_distance(&w, &lc);
            let allowed = if w.chars().count() >= 6 { 2 } else { 1 };
            let score = if edits <= allowed && edits < w.chars().count() {
                2.0 - edits as f64 * 0.1
            } else {
                strsim::jaro_winkler(&w, &lc)
            };
            (score, c)
        })
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The hint for `word`, which is not among `candidates`: "did you mean `x`?"
/// when one is close, else `otherwise()` (which usually lists them).
pub fn did_you_mean_or<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
    otherwise: impl FnOnce() -> String,
) -> String {
    did_you_mean(word, candidates).map_or_else(otherwise, |m| format!("did you mean `{m}`?"))
}

/// Relative to the current directory when possible, for short messages.
pub fn display_path(path: &Path) -> String {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
    path.strip_prefix(&cwd).unwrap_or(path).display().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_span_stops_at_colon_and_handles_quotes() {
        assert_eq!(token_span("  sevrity: must", 3), 2..9);
        assert_eq!(token_span("  - \"a b\": x", 5), 4..9);
        assert_eq!(token_span("", 1), 0..0);
    }

    #[test]
    fn char_span_counts_characters_and_stops_at_line_end() {
        assert_eq!(char_span("  name: users table", 9, 11), 8..19);
        assert_eq!(char_span("a: €€x", 4, 2), 3..9);
        assert_eq!(char_span("ab", 2, 10), 1..2);
        assert_eq!(char_span("ab", 5, 1), 2..2);
    }

    #[test]
    fn renders_file_line_col_and_hint() {
        let mut d = Diagnostics::default();
        d.add_source("c/1.yaml", "gates:\n  - id: x\n    sevrity: must\n");
        d.push(
            Diagnostic::new("unknown key `sevrity` in a gate")
                .at(Location::new("c/1.yaml", 3, 5))
                .label("not a gate key")
                .hint("did you mean `severity`?"),
        );
        let text = d.render(false);
        assert!(text.contains("c/1.yaml:3:5"), "{text}");
        assert!(text.contains("sevrity: must"), "{text}");
        assert!(text.contains("^^^^^^^"), "{text}");
        assert!(text.contains("did you mean `severity`?"), "{text}");
        assert!(text.contains("1 problem found; nothing was run"), "{text}");
    }

    #[test]
    fn did_you_mean_finds_close_words_only() {
        assert_eq!(did_you_mean("sevrity", ["severity", "needs"]), Some("severity"));
        assert_eq!(did_you_mean("zzz", ["severity", "needs"]), None);
        assert_eq!(did_you_mean("GTE", ["GET", "PUT"]), Some("GET"));
        assert_eq!(did_you_mean("lenght", ["length", "gte"]), Some("length"));
        assert_eq!(did_you_mean("api-upp", ["api-up", "login"]), Some("api-up"));
        assert_eq!(did_you_mean("a", ["b", "c"]), None);
    }
}
