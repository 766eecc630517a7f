//! Reading a Markdown plan without rewriting it: the lines with their byte
//! offsets, the headings (ATX and setext) and the checklist boxes outside code
//! fences. Nothing here allocates a new document: an edit is a byte range of
//! the original text and the few bytes that replace it.

use std::ops::Range;

/// A box's state as written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BoxStyle {
    /// `[ ]`, `[x]`, `[X]`.
    Brackets,
    /// `☐` (open), `☑` or `☒` (ticked).
    Ballot,
}

/// One checklist line: `- [ ] Backend ↔ Database queries working`.
#[derive(Clone, Debug)]
pub(crate) struct Item {
    /// 0-based line index.
    pub(crate) line: usize,
    /// Byte range of the box in the whole document (`[ ]`, `☐`, …).
    pub(crate) box_range: Range<usize>,
    pub(crate) style: BoxStyle,
    pub(crate) ticked: bool,
    /// The list marker and the box as written, for the report (`- [ ]`, `1. [x]`, `☐`).
    pub(crate) marker: String,
    /// The text after the box, trimmed.
    pub(crate) text: String,
    /// Index into [`Doc::headings`] of the innermost heading above, if any.
    pub(crate) section: Option<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct Heading {
    pub(crate) line: usize,
    pub(crate) level: u8,
    pub(crate) text: String,
    /// Index of the enclosing heading (the nearest above with a lower level).
    pub(crate) parent: Option<usize>,
}

#[derive(Debug)]
pub(crate) struct Doc {
    pub(crate) headings: Vec<Heading>,
    pub(crate) items: Vec<Item>,
}

const BOM: char = '\u{FEFF}';

impl Doc {
    pub(crate) fn parse(text: &str) -> Self {
        let lines = split_lines(text);
        let mut headings: Vec<Heading> = Vec::new();
        let mut items = Vec::new();
        let mut fence: Option<(u8, usize)> = None;
        // Whether the previous line could be the text of a setext heading.
        let mut prev_paragraph: Option<usize> = None;
        let mut current: Option<usize> = None;
        for (i, r) in lines.iter().enumerate() {
            let raw = &text[r.clone()];
            let (content, off) = match raw.strip_prefix(BOM) {
                Some(rest) if r.start == 0 => (rest, r.start + BOM.len_utf8()),
                _ => (raw, r.start),
            };
            let body = strip_quotes(content);
            if let Some((ch, len)) = fence {
                if is_fence_close(body, ch, len) {
                    fence = None;
                }
                prev_paragraph = None;
                continue;
            }
            if let Some(open) = fence_open(body) {
                fence = Some(open);
                prev_paragraph = None;
                continue;
            }
            if let Some((level, htext)) = atx_heading(content) {
                current = Some(push_heading(&mut headings, i, level, htext));
                prev_paragraph = None;
                continue;
            }
            if let (Some(p), Some(level)) = (prev_paragraph, setext_underline(content)) {
                let htext = text[lines[p].clone()].trim_start_matches(BOM).trim().to_string();
                current = Some(push_heading(&mut headings, p, level, htext));
                // Items between the text line and its underline cannot exist
                // (the text line was a paragraph), so nothing to re-section.
                prev_paragraph = None;
                continue;
            }
            if let Some(it) = parse_item(content) {
                items.push(Item {
                    line: i,
                    box_range: off + it.box_range.start..off + it.box_range.end,
                    style: it.style,
                    ticked: it.ticked,
                    marker: it.marker,
                    text: it.text,
                    section: current,
                });
                prev_paragraph = None;
                continue;
            }
            prev_paragraph = is_paragraph_text(content).then_some(i);
        }
        Self { headings, items }
    }

    /// Whether heading `h` is `ancestor` or lies inside it.
    pub(crate) fn within(&self, mut h: Option<usize>, ancestor: usize) -> bool {
        while let Some(i) = h {
            if i == ancestor {
                return true;
            }
            h = self.headings[i].parent;
        }
        false
    }
}

fn push_heading(headings: &mut Vec<Heading>, line: usize, level: u8, text: String) -> usize {
    let mut parent = headings.len().checked_sub(1);
    while let Some(p) = parent {
        if headings[p].level < level {
            break;
        }
        parent = headings[p].parent;
    }
    headings.push(Heading { line, level, text, parent });
    headings.len() - 1
}

/// Line content ranges, terminators excluded: `\n` ends a line, a `\r` before it
/// belongs to the terminator. A last line without a newline is a line.
pub(crate) fn split_lines(text: &str) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            let end = if i > start && text.as_bytes()[i - 1] == b'\r' { i - 1 } else { i };
            out.push(start..end);
            start = i + 1;
        }
    }
    if start < text.len() {
        out.push(start..text.len());
    }
    out
}

/// `> > text` → `text`; leading whitespace kept out too.
fn strip_quotes(s: &str) -> &str {
    let mut t = s.trim_start_matches([' ', '\t']);
    while let Some(rest) = t.strip_prefix('>') {
        t = rest.trim_start_matches([' ', '\t']);
    }
    t
}

/// An opening fence: three or more backticks or tildes (a backtick fence's
/// info string may not contain a backtick). List indentation is allowed: a
/// fence inside a list item is still a fence.
fn fence_open(body: &str) -> Option<(u8, usize)> {
    let ch = *body.as_bytes().first()?;
    if ch != b'`' && ch != b'~' {
        return None;
    }
    let len = body.bytes().take_while(|&b| b == ch).count();
    if len < 3 {
        return None;
    }
    if ch == b'`' && body[len..].contains('`') {
        return None;
    }
    Some((ch, len))
}

fn is_fence_close(body: &str, ch: u8, len: usize) -> bool {
    let n = body.bytes().take_while(|&b| b == ch).count();
    n >= len && body[n..].trim().is_empty()
}

/// Up to three spaces, 1–6 `#`, then a space or the end; closing `#`s dropped.
fn atx_heading(s: &str) -> Option<(u8, String)> {
    let lead = s.bytes().take_while(|&b| b == b' ').count();
    if lead > 3 {
        return None;
    }
    let t = &s[lead..];
    let level = t.bytes().take_while(|&b| b == b'#').count();
    if !(1..=6).contains(&level) {
        return None;
    }
    let rest = &t[level..];
    if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let mut h = rest.trim();
    // A closing sequence is `#`s preceded by a space (or the whole rest).
    let without = h.trim_end_matches('#');
    if without.is_empty() || without.ends_with([' ', '\t']) {
        h = without.trim_end();
    }
    Some((u8::try_from(level).unwrap_or(6), h.to_string()))
}

/// `===` (level 1) or `---` (level 2) under a paragraph line.
fn setext_underline(s: &str) -> Option<u8> {
    let lead = s.bytes().take_while(|&b| b == b' ').count();
    if lead > 3 {
        return None;
    }
    let t = s[lead..].trim_end();
    let ch = *t.as_bytes().first()?;
    let level = match ch {
        b'=' => 1,
        b'-' => 2,
        _ => return None,
    };
    t.bytes().all(|b| b == ch).then_some(level)
}

/// A line that a setext underline would turn into a heading: not blank, not
/// indented code, not a list item, quote or table row.
fn is_paragraph_text(s: &str) -> bool {
    let lead = s.bytes().take_while(|&b| b == b' ').count();
    let t = s.trim();
    if lead > 3 || t.is_empty() || t.starts_with(['>', '|', '<']) {
        return false;
    }
    list_marker(t).is_none()
}

/// The length of a list marker at the start of `t` including the whitespace after it.
fn list_marker(t: &str) -> Option<usize> {
    let b = t.as_bytes();
    let mut i = match b.first()? {
        b'-' | b'*' | b'+' => 1,
        b'0'..=b'9' => {
            let d = b.iter().take_while(|c| c.is_ascii_digit()).count();
            if d > 9 || !matches!(b.get(d), Some(b'.' | b')')) {
                return None;
            }
            d + 1
        }
        _ => return None,
    };
    let ws = b[i..].iter().take_while(|&&c| c == b' ' || c == b'\t').count();
    if ws == 0 && i < b.len() {
        return None;
    }
    i += ws;
    Some(i)
}

struct Parsed {
    box_range: Range<usize>,
    style: BoxStyle,
    ticked: bool,
    marker: String,
    text: String,
}

const OPEN: char = '☐';
const CHECKED: char = '☑';
const CROSSED: char = '☒';

/// `- [ ] text`, `* [x] text`, `1. [X] text`, `- ☐ text`, `☑ text`, inside
/// any number of `>` quotes and any indentation. Ranges are relative to `s`.
fn parse_item(s: &str) -> Option<Parsed> {
    let body = strip_quotes(s);
    let body_off = s.len() - body.len();
    let (marker_len, has_marker) = match list_marker(body) {
        Some(n) => (n, true),
        None => (0, false),
    };
    let after = &body[marker_len..];
    let (blen, style, ticked) = if after.starts_with("[ ]") {
        (3, BoxStyle::Brackets, false)
    } else if after.starts_with("[x]") || after.starts_with("[X]") {
        (3, BoxStyle::Brackets, true)
    } else {
        match after.chars().next()? {
            OPEN => (OPEN.len_utf8(), BoxStyle::Ballot, false),
            c @ (CHECKED | CROSSED) => (c.len_utf8(), BoxStyle::Ballot, true),
            _ => return None,
        }
    };
    // `[ ]` is a task box only after a list marker and before whitespace or
    // the end (`[x](url)` is a link); a ballot box may stand alone.
    if style == BoxStyle::Brackets && !has_marker {
        return None;
    }
    let rest = &after[blen..];
    if style == BoxStyle::Brackets && !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
        return None;
    }
    let start = body_off + marker_len;
    let marker = format!("{}{}", body[..marker_len].trim_end(), if has_marker { " " } else { "" }) + &after[..blen];
    Some(Parsed { box_range: start..start + blen, style, ticked, marker, text: rest.trim().to_string() })
}

/// The bytes a box becomes. Brackets: `[ ]` ↔ `[x]`; ballot boxes: `☐` ↔ `☑`.
/// A box already in the wanted state is never rewritten (`[X]` stays `[X]`,
/// `☒` stays `☒`), so `None`.
pub(crate) fn retick(item: &Item, tick: bool) -> Option<&'static str> {
    if item.ticked == tick {
        return None;
    }
    Some(match (item.style, tick) {
        (BoxStyle::Brackets, true) => "[x]",
        (BoxStyle::Brackets, false) => "[ ]",
        (BoxStyle::Ballot, true) => "☑",
        (BoxStyle::Ballot, false) => "☐",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(d: &Doc) -> Vec<(usize, bool, String)> {
        d.items.iter().map(|i| (i.line, i.ticked, i.text.clone())).collect()
    }

    #[test]
    fn boxes_of_every_style_and_depth() {
        let t = "- [ ] a\n* [x] b\n+ [X] c\n1. [ ] d\n  12) [ ] e\n    - [ ] f\n- ☐ g\n☑ h\n> - [ ] i\n- [x](url) no\n[ ] no\n-[ ] no\n- [ ]\n";
        let d = Doc::parse(t);
        assert_eq!(
            texts(&d),
            vec![
                (0, false, "a".into()),
                (1, true, "b".into()),
                (2, true, "c".into()),
                (3, false, "d".into()),
                (4, false, "e".into()),
                (5, false, "f".into()),
                (6, false, "g".into()),
                (7, true, "h".into()),
                (8, false, "i".into()),
                (12, false, String::new()),
            ]
        );
        assert_eq!(&t[d.items[4].box_range.clone()], "[ ]");
        assert_eq!(d.items[3].marker, "1. [ ]");
        assert_eq!(d.items[6].marker, "- ☐");
        assert_eq!(d.items[7].marker, "☑");
    }

    #[test]
    fn fences_hide_boxes_and_headings() {
        let t = "# A\n```md\n- [ ] hidden\n# not a heading\n```\n- [ ] shown\n  ~~~~\n  - [ ] hidden\n  ~~~\n  ~~~~\n- [ ] shown too\n```unclosed\n- [ ] hidden\n";
        let d = Doc::parse(t);
        assert_eq!(texts(&d), vec![(5, false, "shown".into()), (10, false, "shown too".into())]);
        assert_eq!(d.headings.len(), 1);
    }

    #[test]
    fn headings_atx_and_setext_with_nesting() {
        let t = "\u{FEFF}# Plan #\n\nDay 1\n=====\n## Wave 1 ##\n- [ ] x\nWave 2\n------\n- [ ] y\n\n---\n";
        let d = Doc::parse(t);
        let h: Vec<(usize, u8, &str, Option<usize>)> =
            d.headings.iter().map(|h| (h.line, h.level, h.text.as_str(), h.parent)).collect();
        assert_eq!(
            h,
            vec![(0, 1, "Plan", None), (2, 1, "Day 1", None), (4, 2, "Wave 1", Some(1)), (6, 2, "Wave 2", Some(1))]
        );
        assert_eq!(d.items[0].section, Some(2));
        assert_eq!(d.items[1].section, Some(3));
        assert!(d.within(Some(3), 1));
        assert!(!d.within(Some(3), 2));
    }

    #[test]
    fn a_bom_before_the_first_box_shifts_its_range() {
        let t = "\u{FEFF}- [ ] a\r\n> > 2. ☒ b\r\n";
        let d = Doc::parse(t);
        assert_eq!(texts(&d), vec![(0, false, "a".into()), (1, true, "b".into())]);
        assert_eq!(&t[d.items[0].box_range.clone()], "[ ]");
        assert_eq!(&t[d.items[1].box_range.clone()], "☒");
        assert_eq!(retick(&d.items[1], false), Some("☐"));
        assert_eq!(retick(&d.items[1], true), None);
    }

    #[test]
    fn lines_keep_their_terminators_out() {
        let t = "a\r\nb\n\nc";
        let l: Vec<&str> = split_lines(t).into_iter().map(|r| &t[r]).collect();
        assert_eq!(l, vec!["a", "b", "", "c"]);
    }
}
