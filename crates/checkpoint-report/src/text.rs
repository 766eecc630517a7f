//! Text hygiene shared by the renderers: no ANSI escapes or control bytes in
//! any report, one-line messages, cut excerpts; and what they share about a
//! check's figures.

use checkpoint_model::latency::Figures;
use checkpoint_model::result::{CheckResult, GateResult, RunReport};

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

/// `s` [`clean`]ed, with `&`, `<`, `>` and the characters `more` names escaped:
/// the markup escaping HTML and JUnit XML share, each with its own extras.
pub(crate) fn escape_markup(s: &str, more: &[(char, &str)]) -> String {
    let mut out = String::with_capacity(s.len());
    for c in clean(s).chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c => match more.iter().find(|(m, _)| *m == c) {
                Some((_, e)) => out.push_str(e),
                None => out.push(c),
            },
        }
    }
    out
}

/// Removes ANSI escape sequences and control characters other than `\n` and `\t`.
pub(crate) fn clean(s: &str) -> String {
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

    #[test]
    fn strips_ansi_and_controls() {
        assert_eq!(clean("\u{1b}[31mred\u{1b}[0m ok\u{7}\u{0}"), "red ok");
        assert_eq!(clean("a\r\nb"), "a\nb");
        assert_eq!(one_line("a\n  b\tc", 100), "a b c");
        assert_eq!(one_line("abcdef", 4), "abc…");
    }
}
