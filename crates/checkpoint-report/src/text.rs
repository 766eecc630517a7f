//! Text hygiene shared by the renderers: no ANSI escapes or control bytes in
//! any report, one-line messages, cut excerpts; and what they share about a
//! check's figures.

use std::borrow::Cow;

use checkpoint_model::latency::Figures;
use checkpoint_model::result::{CheckResult, GateResult, RunReport, Status};

/// The figures of a `latency` check, when it measured any.
pub(crate) fn latency_figures(c: &CheckResult) -> Option<Figures> {
    if c.kind != "latency" {
        return None;
    }
    Figures::from_metrics(c.metrics.as_ref()?)
}

/// Every failed check of the run with its gate, in report order: the
/// "Failures" sections of the HTML and Markdown reports.
pub(crate) fn failed_checks(r: &RunReport) -> Vec<(&GateResult, &CheckResult)> {
    r.gates.iter().flat_map(|g| g.checks.iter().filter(|c| c.status.is_failure()).map(move |c| (g, c))).collect()
}

/// Every `latency` check of the run that measured, with its gate and figures,
/// in report order: the "Latency" sections of the HTML and Markdown reports.
pub(crate) fn measured_checks(r: &RunReport) -> Vec<(&GateResult, &CheckResult, Figures)> {
    r.gates.iter().flat_map(|g| g.checks.iter().filter_map(move |c| latency_figures(c).map(|f| (g, c, f)))).collect()
}

/// The gates of the run: all, passed, failed, and skipped or cancelled — the
/// summary lines of the HTML and Markdown reports.
pub(crate) fn gate_counts(r: &RunReport) -> (usize, usize, usize, usize) {
    let count = |f: fn(Status) -> bool| r.gates.iter().filter(|g| f(g.status)).count();
    (
        r.gates.len(),
        count(|s| s == Status::Passed),
        count(Status::is_failure),
        count(|s| matches!(s, Status::Skipped | Status::Cancelled)),
    )
}

/// `s` [`clean`]ed, with `&`, `<`, `>` and the characters `more` names escaped:
/// the markup escaping HTML and JUnit XML share, each with its own extras
/// (ASCII characters: the runs between them are copied whole).
pub(crate) fn escape_markup(s: &str, more: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 16);
    push_markup(&mut out, s, more);
    out
}

/// [`escape_markup`] appended to `out`: a report writes its texts in place.
pub(crate) fn push_markup(out: &mut String, s: &str, more: &[(char, &str)]) {
    debug_assert!(more.iter().all(|(c, _)| c.is_ascii()), "escape_markup escapes ASCII characters only");
    let s = clean(s);
    let entity = |b: u8| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        _ => more.iter().find(|(m, _)| *m as u32 == u32::from(b)).map(|(_, e)| *e),
    };
    // A lane of bytes is tested for any byte to escape at once; only a lane
    // with one is looked at byte by byte.
    // More than three extras: every lane is looked at byte by byte.
    let extra = |i: usize| more.get(i).map_or(0, |(c, _)| *c as u8);
    let whole_lanes = more.len() <= 3;
    let marks = [b'&', b'<', b'>', extra(0), extra(1), extra(2)];
    let bytes = s.as_bytes();
    out.reserve(s.len());
    let mut from = 0;
    let mut at = 0;
    while at < bytes.len() {
        let end = (at + LANE).min(bytes.len());
        if !whole_lanes || word(bytes, at).is_none_or(|x| marked_word(x, marks)) {
            for i in at..end {
                if let Some(e) = entity(bytes[i]) {
                    out.push_str(&s[from..i]);
                    out.push_str(e);
                    from = i + 1;
                }
            }
        }
        at = end;
    }
    out.push_str(&s[from..]);
}

/// The bytes [`needs_cleaning`] and [`push_markup`] test at once: a word's
/// worth, tested with integer arithmetic on all eight bytes together (SWAR).
/// Not left to the compiler's vectoriser: the release profile's link-time
/// pass runs at `opt-level = "z"`, which does not vectorise.
const LANE: usize = 8;
const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);

/// The lane at `at` as a word, None where fewer than [`LANE`] bytes are left.
#[inline]
fn word(b: &[u8], at: usize) -> Option<u64> {
    b.get(at..at + LANE).and_then(|lane| <[u8; LANE]>::try_from(lane).ok()).map(u64::from_ne_bytes)
}

/// The high bit of each byte of `low7` (bytes of at most 0x7f) equal to `v`
/// (at most 0x7f): `y + 0x7f` reaches the high bit unless `y` is 0, and no
/// byte carries into the next.
#[inline]
fn equal7(low7: u64, v: u8) -> u64 {
    let y = low7 ^ (ONES * u64::from(v));
    !(y + ONES * 0x7f) & HIGH
}

/// Whether a byte of `x` is other than printable ASCII, `\n` or `\t`.
#[inline]
fn unusual_word(x: u64) -> bool {
    let high = x & HIGH;
    let low7 = x & !HIGH;
    let del = (low7 + ONES) & HIGH;
    let control = !(low7 + ONES * 0x60) & HIGH & !high;
    let allowed = equal7(low7, b'\n') | equal7(low7, b'\t');
    (high | del | (control & !allowed)) != 0
}

/// Whether a byte of `x` is one of `marks` (ASCII; 0 stands for none: clean
/// text holds no NUL).
#[inline]
fn marked_word(x: u64, marks: [u8; 6]) -> bool {
    let low7 = x & !HIGH;
    let hit = marks.iter().fold(0, |m, &v| m | equal7(low7, v));
    hit & !(x & HIGH) != 0
}

/// Removes ANSI escape sequences and control characters other than `\n` and `\t`.
/// Most text has none: it is then borrowed as it is, after one pass over its bytes.
pub(crate) fn clean(s: &str) -> Cow<'_, str> {
    if !needs_cleaning(s.as_bytes()) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(clean_slow(s))
}

/// Whether `b` holds a byte [`clean_slow`] would change: a C0 control other
/// than `\n` and `\t` (ESC and `\r` among them), DEL, a C1 control
/// (U+0080–U+009F: `C2 80`–`C2 9F`), or U+FFFE / U+FFFF (`EF BF BE|BF`).
fn needs_cleaning(b: &[u8]) -> bool {
    // Most text is printable ASCII, newlines and tabs: a lane of such bytes
    // is passed over with one test of all of them; a lane with anything else
    // (or the last few bytes) is looked at byte by byte.
    let mut at = 0;
    while at < b.len() {
        let end = (at + LANE).min(b.len());
        if word(b, at).is_none_or(unusual_word) {
            let odd = (at..end).any(|i| match b[i] {
                b'\n' | b'\t' => false,
                0..0x20 | 0x7f => true,
                0xc2 => b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)),
                0xef => b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)),
                _ => false,
            });
            if odd {
                return true;
            }
        }
        at = end;
    }
    false
}

fn clean_slow(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ … final byte in @–~; OSC: ESC ] … BEL or ESC \; else drop ESC + one char.
            match chars.peek() {
                Some('[') => {
                    chars.next();
                    for d in chars.by_ref() {
                        if ('@'..='~').contains(&d) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    chars.next();
                    while let Some(d) = chars.next() {
                        if d == '\u{7}' || (d == '\u{1b}' && chars.peek() == Some(&'\\')) {
                            if d == '\u{1b}' {
                                chars.next();
                            }
                            break;
                        }
                    }
                }
                _ => {
                    chars.next();
                }
            }
            continue;
        }
        if c == '\r' {
            continue;
        }
        if c.is_control() && c != '\n' && c != '\t' {
            continue;
        }
        // Characters XML 1.0 forbids even when escaped.
        if matches!(c, '\u{FFFE}' | '\u{FFFF}') {
            continue;
        }
        out.push(c);
    }
    out
}

/// One line, at most `max` characters.
pub(crate) fn one_line(s: &str, max: usize) -> String {
    let mut out = String::new();
    push_one_line(&mut out, s, max);
    out
}

/// [`one_line`] appended to `out`.
pub(crate) fn push_one_line(out: &mut String, s: &str, max: usize) {
    push_words(out, clean(s).split_whitespace(), max);
}

/// `words` joined by single spaces, cut to at most `max` characters (the
/// last of them `…`) when they are longer: [`one_line`] of text known clean.
pub(crate) fn push_words<'a>(out: &mut String, words: impl Iterator<Item = &'a str>, max: usize) {
    let start = out.len();
    let mut chars = 0;
    for (i, w) in words.enumerate() {
        if i > 0 {
            out.push(' ');
            chars += 1;
        }
        out.push_str(w);
        chars += w.chars().count();
    }
    if chars > max {
        let keep = max.saturating_sub(1);
        let cut = out[start..].char_indices().nth(keep).map_or(out.len(), |(i, _)| start + i);
        out.truncate(cut);
        out.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path borrows exactly the texts the slow path leaves as they are.
    #[test]
    fn the_fast_path_agrees_with_the_slow_one() {
        let texts = [
            "GET /health → 200 OK\n\t{\"status\":\"ok\"}",
            "plain ascii",
            "",
            "colour \u{1b}[31mred\u{1b}[0m",
            "crlf\r\n",
            "bell\u{7}",
            "del\u{7f}",
            "c1 \u{85} next line, \u{9f} last C1",
            "not c1: \u{a0} nbsp, \u{a9} ©, \u{100} Ā",
            "noncharacters \u{fffe} \u{ffff}",
            "near them: \u{fffd} \u{fdd0} \u{efbf} \u{ff00}",
            "osc \u{1b}]0;title\u{7} after",
            "ends in \u{c2}", // not a C1: the char is U+00C2 (Â), encoded C3 82
            // Longer than a lane (8 bytes), the odd byte in a later or the
            // last lane, and multi-byte characters across a lane's edge.
            "0123456789abcdefghij\u{1b}[0m and more plain text after it",
            "0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnop\r",
            "0123456789abcde\u{85} a C1 whose first byte ends the first lane",
            "0123456789abcd\u{ffff} a noncharacter across the first lane's edge",
            "0123456789abcd\u{fffd} a replacement character across the edge",
            "0123456789abcde\u{a0} not a C1, across the edge, then \u{7f}",
            "GET http://127.0.0.1:18081/health\n\n→ 200 OK (0.62ms)\ncontent-type: application/json\n\n{}",
        ];
        for t in texts {
            assert_eq!(clean(t), clean_slow(t), "{t:?}");
            assert_eq!(matches!(clean(t), Cow::Borrowed(_)), clean_slow(t) == t, "{t:?}");
        }
    }

    #[test]
    fn strips_ansi_and_controls() {
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m ok\u{7}\u{0}"), "red ok");
        assert_eq!(clean("a\r\nb"), "a\nb");
        assert_eq!(one_line("a\n  b\tc", 100), "a b c");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }

    /// The word tests agree with a byte-by-byte test: every byte value at
    /// every place of a word, among printable bytes and among marks.
    #[test]
    fn word_tests_agree_with_byte_tests() {
        let marks = [b'&', b'<', b'>', b'"', b'\n', 0];
        for fill in [b'x', b' ', b'\n', b'~', b'&'] {
            for at in 0..LANE {
                for v in 0..=255u8 {
                    let mut lane = [fill; LANE];
                    lane[at] = v;
                    let x = u64::from_ne_bytes(lane);
                    let unusual = lane.iter().any(|&c| !((0x20..0x7f).contains(&c) || c == b'\n' || c == b'\t'));
                    assert_eq!(unusual_word(x), unusual, "{lane:?}");
                    let marked = lane.iter().any(|c| marks.contains(c));
                    assert_eq!(marked_word(x, marks), marked, "{lane:?}");
                }
            }
        }
    }

    #[test]
    fn one_line_flattens_and_cuts_by_characters() {
        assert_eq!(one_line("  a  \n b ", 100), "a b");
        assert_eq!(one_line("", 10), "");
        assert_eq!(one_line("abcd", 4), "abcd");
        assert_eq!(one_line("→→→→→", 3), "→→…");
        assert_eq!(one_line("ab cd", 0), "…");
        let mut out = String::from("kept: ");
        push_one_line(&mut out, "x\u{1b}[1my z", 3);
        assert_eq!(out, "kept: xy…");
    }

    /// More extras than a lane test holds are still all escaped.
    #[test]
    fn a_fourth_extra_is_escaped_too() {
        let four: &[(char, &str)] = &[('"', "&quot;"), ('\'', "&#39;"), ('\n', "&#10;"), ('\t', "&#9;")];
        assert_eq!(escape_markup("abcdefgh\tabcdefgh", four), "abcdefgh&#9;abcdefgh");
    }

    #[test]
    fn markup_is_escaped_in_place_like_into_a_new_string() {
        let extras: &[(char, &str)] = &[('"', "&quot;"), ('\n', "&#10;"), ('\t', "&#9;")];
        let s = "a <b> & \"c\"\n\td → é \u{1b}[0m>";
        let mut out = String::from("<x>");
        push_markup(&mut out, s, extras);
        assert_eq!(out, "<x>a &lt;b&gt; &amp; &quot;c&quot;&#10;&#9;d → é &gt;");
        assert_eq!(escape_markup(s, &[]), "a &lt;b&gt; &amp; \"c\"\n\td → é &gt;");
        // Against one character at a time, with what to escape at every
        // place of a lane and across lanes' edges.
        let naive = |s: &str| -> String {
            clean(s)
                .chars()
                .map(|c| match c {
                    '&' => "&amp;".to_string(),
                    '<' => "&lt;".to_string(),
                    '>' => "&gt;".to_string(),
                    c => extras.iter().find(|(m, _)| *m == c).map_or(c.to_string(), |(_, e)| (*e).to_string()),
                })
                .collect()
        };
        for len in 0..40 {
            for at in 0..len {
                for mark in ['&', '<', '>', '"', '\n', '\t', '\'', '\u{0}', 'é'] {
                    let text: String = (0..len).map(|i| if i == at { mark } else { 'x' }).collect();
                    assert_eq!(escape_markup(&text, extras), naive(&text), "{text:?}");
                }
            }
        }
    }
}
