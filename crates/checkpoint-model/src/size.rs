//! Byte sizes as a person writes them: `8MiB`, `50MB`, `512KiB`, `1048576`.

/// The default `max_body` of an `http` check: 8 MiB.
pub const DEFAULT_MAX_BODY: u64 = 8 * 1024 * 1024;

/// `50MB` → 50 000 000, `8MiB` → 8 388 608, `1048576` → 1 048 576; units
/// `B`, `KB`/`MB`/`GB` (powers of 1000) and `KiB`/`MiB`/`GiB` (of 1024),
/// case-insensitive, spaces allowed. `None` when it is not a size.
pub fn parse(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit() && c != '.').unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().ok()?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" | "k" => 1e3,
        "mb" | "m" => 1e6,
        "gb" | "g" => 1e9,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    let bytes = n * mult;
    #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss, reason = "checked finite and non-negative")]
    (bytes.is_finite() && bytes >= 1.0).then_some(bytes as u64)
}

/// `8.0 MiB`, `512 KiB`, `300 B`.
pub fn human(bytes: u64) -> String {
    #[expect(clippy::cast_precision_loss, reason = "a figure for people")]
    let b = bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GiB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MiB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.0} KiB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse("8MiB"), Some(8 * 1024 * 1024));
        assert_eq!(parse("50 MB"), Some(50_000_000));
        assert_eq!(parse("1048576"), Some(1_048_576));
        assert_eq!(parse("1.5kb"), Some(1500));
        assert_eq!(parse("0"), None);
        assert_eq!(parse("lots"), None);
        assert_eq!(parse("5 parsecs"), None);
        assert_eq!(human(8 * 1024 * 1024), "8.0 MiB");
        assert_eq!(human(52_428_800), "50.0 MiB");
    }
}
