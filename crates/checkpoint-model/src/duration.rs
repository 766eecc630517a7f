//! Durations as people write them in checkpoint files: `200ms`, `5s`, `1m30s`.

use std::time::Duration;

/// Parses `200ms`, `5s`, `1m 30s`, `2h`. A bare number is not accepted: a unit
/// is always required so `timeout: 5` cannot silently mean five milliseconds.
pub fn parse(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    if t.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return Err(format!("`{t}` has no unit; write e.g. `{t}ms` or `{t}s`"));
    }
    humantime::parse_duration(t).map_err(|e| format!("`{t}` is not a duration ({e}); write e.g. `200ms`, `5s`, `1m`"))
}

/// Milliseconds as a float, the unit every report uses.
pub fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `1.23s`, `45ms`, `2.3ms`, `0.42ms`, `2m03s`: short and human, for consoles
/// and Markdown. Below 10ms the fraction is kept: `expected < 2ms, got 2ms`
/// would hide why a fast bound failed.
pub fn human(ms: f64) -> String {
    use std::fmt::Write as _;

    use crate::fixed::Fixed;
    let mut out = String::with_capacity(12);
    // A figure with its fraction, less the fraction's trailing zeros.
    let mut trimmed = |x: f64, digits: usize| {
        let _ = write!(out, "{}", Fixed(x, digits));
        let keep = out.trim_end_matches('0').trim_end_matches('.').len();
        out.truncate(keep);
        out.push_str("ms");
    };
    if ms < 1.0 {
        trimmed(ms, 2);
    } else if ms < 10.0 {
        trimmed(ms, 1);
    } else if ms < 1000.0 {
        let _ = write!(out, "{}ms", Fixed(ms, 0));
    } else if ms < 60_000.0 {
        let _ = write!(out, "{}s", Fixed(ms / 1000.0, 2));
    } else {
        let s = (ms / 1000.0).round() as u64;
        let _ = write!(out, "{}m{:02}s", s / 60, s % 60);
    }
    out
}

/// A duration that does not parse, as a diagnostic: what was written, and how to write it.
pub(crate) fn problem(what: &str, value: &str, e: &str) -> crate::diag::Diagnostic {
    use crate::diag::Diagnostic;
    let v = value.trim();
    if e.contains("no unit") {
        Diagnostic::new(format!("`{what}: {v}` has no unit"))
            .label("a number without a unit")
            .hint(format!("write `{v}s` or `{v}ms`: durations always say their unit"))
    } else {
        Diagnostic::new(format!("`{what}: {v}` is not a duration"))
            .label("not a duration")
            .hint("durations are a number and a unit: `500ms`, `10s`, `2m`, `1m30s`")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `human` writes what it wrote through `format!` before it used `Fixed`.
    #[test]
    fn human_is_what_the_formatter_would_write() {
        let before = |ms: f64| -> String {
            let trimmed = |s: String| s.trim_end_matches('0').trim_end_matches('.').to_string();
            if ms < 1.0 {
                format!("{}ms", trimmed(format!("{ms:.2}")))
            } else if ms < 10.0 {
                format!("{}ms", trimmed(format!("{ms:.1}")))
            } else if ms < 1000.0 {
                format!("{ms:.0}ms")
            } else if ms < 60_000.0 {
                format!("{:.2}s", ms / 1000.0)
            } else {
                let s = (ms / 1000.0).round() as u64;
                format!("{}m{:02}s", s / 60, s % 60)
            }
        };
        let mut values = vec![0.0, -0.0, -3.0, 0.005, 0.995, 0.999, 1.0, 9.95, 9.96, 10.0, 999.5, 999.6, 59_999.0];
        values.extend((0..200_000).map(|i| f64::from(i) * 0.3137));
        values.extend([f64::NAN, f64::INFINITY, 1e300]);
        for ms in values {
            assert_eq!(human(ms), before(ms), "{ms:?}");
        }
    }

    #[test]
    fn parses_units_and_rejects_bare_numbers() {
        assert_eq!(parse("200ms").unwrap(), Duration::from_millis(200));
        assert_eq!(parse("1m 30s").unwrap(), Duration::from_secs(90));
        assert!(parse("5").unwrap_err().contains("no unit"));
        assert!(parse("soon").is_err());
    }

    #[test]
    fn human_is_short() {
        let table = [
            (12.4, "12ms"),
            (2.31, "2.3ms"),
            (3.0, "3ms"),
            (0.418, "0.42ms"),
            (0.0, "0ms"),
            (1234.0, "1.23s"),
            (123_000.0, "2m03s"),
        ];
        for (ms, want) in table {
            assert_eq!(human(ms), want, "human({ms})");
        }
    }
}
