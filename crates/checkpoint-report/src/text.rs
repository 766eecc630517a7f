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
    debug_assert!(more.iter().all(|(c, _)| c.is_ascii()), "escape_markup escapes ASCII characters only");
    let s = clean(s);
    let entity = |b: u8| match b {
        b'&' => Some("&amp;"),
        b'<' => Some("&lt;"),
        b'>' => Some("&gt;"),
        _ => more.iter().find(|(m, _)| m.is_ascii() && *m as u32 == u32::from(b)).map(|(_, e)| *e),
    };
    let mut out = String::with_capacity(s.len() + s.len() / 16);
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        if let Some(e) = entity(b) {
            out.push_str(&s[from..i]);
            out.push_str(e);
            from = i + 1;
        }
    }
    out.push_str(&s[from..]);
    out
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
    b.iter().enumerate().any(|(i, &c)| match c {
        b'\n' | b'\t' => false,
        0..0x20 | 0x7f => true,
        0xc2 => b.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)),
        0xef => b.get(i + 1) == Some(&0xbf) && matches!(b.get(i + 2), Some(0xbe | 0xbf)),
        _ => false,
    })
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
    let flat = clean(s).split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > max {
        let cut: String = flat.chars().take(max.saturating_sub(1)).collect();
        format!("{cut}…")
    } else {
        flat
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
}
