//! Text hygiene shared by the renderers: no ANSI escapes or control bytes in
//! any report, one-line messages, cut excerpts; and what they share about a
//! check's figures.

use checkpoint_model::latency::Figures;
use checkpoint_model::result::CheckResult;

/// The figures of a `latency` check, when it measured any.
pub(crate) fn latency_figures(c: &CheckResult) -> Option<Figures> {
    if c.kind != "latency" {
        return None;
    }
    Figures::from_metrics(c.metrics.as_ref()?)
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
